"""Whole-process start-up of the `monitor` command: wall and CPU time, median of several runs.

    python bench/startup.py [--runs 7] [--sources 500]

Each command runs as its own process (as a user or cron runs it) on a SQLite database holding
`--sources` registered articles, beside baselines run the same way in the same session:
the bare interpreter, and what every command used to cost before the lazy imports (the
config, the store, extraction and the pipeline imported, and the detector index built from
the stored signatures).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def synthetic_sources(n: int, path: Path) -> None:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(5000)] + "the of and to in that with for on as by".split()
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = " ".join(rng.choice(words) for _ in range(400))
            fh.write(json.dumps({"url": f"https://publisher.example/{i}", "title": f"Article {i}", "text": text}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--sources", type=int, default=500)
    args = ap.parse_args()

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'monitor.db'}"
        env = {**os.environ, "MONITOR_DATABASE_URL": db}
        env.pop("MONITOR_CONFIG", None)
        jsonl = Path(tmp) / "sources.jsonl"
        synthetic_sources(args.sources, jsonl)
        subprocess.run([py, "-m", "monitor", "sources", "import", str(jsonl)], env=env, cwd=tmp,
                       check=True, capture_output=True)
        eager = ("import monitor.config, monitor.store, monitor.extract, monitor.pipeline, monitor.cli; "
                 "from monitor.config import load; from monitor.store import Database; "
                 "from monitor.pipeline import Monitor; "
                 "s = load(None, database_url=%r); Monitor(s, Database(s.db_url)).close()" % db)
        cases = [
            ("python -c pass (interpreter alone)", [py, "-c", "pass"]),
            ("old start-up: every module + index", [py, "-c", eager]),
            ("monitor --help", [py, "-m", "monitor", "--help"]),
            ("monitor sources list", [py, "-m", "monitor", "sources", "list"]),
            ("monitor matches", [py, "-m", "monitor", "matches"]),
        ]
        results: dict[str, tuple[float, float]] = {}
        for _ in range(2):  # warm the file cache and .pyc files
            for _, argv in cases:
                timed(argv, env, tmp)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in cases}
        for _ in range(args.runs):  # interleaved, so machine noise hits every case alike
            for name, argv in cases:
                samples[name].append(timed(argv, env, tmp))
        for name, runs in samples.items():
            results[name] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))

    base_cpu = results["old start-up: every module + index"][1]
    print(f"whole-process start-up, median of {args.runs} runs, {args.sources} sources registered "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"{'command':38} {'wall s':>8} {'CPU s':>8} {'CPU vs old start-up':>20}")
    for name, (wall, cpu) in results.items():
        print(f"{name:38} {wall:8.3f} {cpu:8.3f} {cpu / base_cpu:19.2f}x")


if __name__ == "__main__":
    main()
