FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md LICENSE alembic.ini ./
COPY alembic ./alembic
COPY monitor ./monitor
RUN pip install ".[postgres]" && useradd --create-home monitor && mkdir -p /data && chown monitor /data
USER monitor
ENV MONITOR_DATA_DIR=/data MONITOR_CONFIG=/config/monitor.yaml
VOLUME ["/data"]
# Migrations first (the only way the schema changes), then the long-running poller.
CMD ["sh", "-c", "monitor migrate && exec monitor run"]
