"""How late the event loop runs while one heavy feed is checked: the CPU work on the loop (as
before) beside the CPU work on the monitor's worker thread (as shipped), in the same process.

    python bench/loop_lag.py [--entries 300] [--runs 3]

A ticker wakes every 10 ms and records how late it woke: that lateness is what every other
feed's network timeouts see. Also prints the heavy feed's wall time (the thread hand-offs and
the GIL's 5 ms switch interval cost some throughput).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor import config  # noqa: E402
from monitor.pipeline import Monitor  # noqa: E402
from monitor.store import Database  # noqa: E402

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def feed(base: str, n: int, seed: int) -> bytes:
    r = random.Random(seed)
    items = "".join(f"<item><title>{i}</title><link>{base}/p/{seed}/{i}</link><description>"
                    f"{' '.join(r.choice(WORDS) for _ in range(200))}</description></item>" for i in range(n))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>{items}</channel></rss>'.encode()


def serve(pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


async def measure(m: Monitor, url: str) -> tuple[list[float], float]:
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - t - 0.01)

    tick = asyncio.create_task(ticker())
    began = time.perf_counter()
    await m.run_cycle(only_urls=[url])
    wall = time.perf_counter() - began
    done.set()
    await tick
    return lags, wall


def run(entries: int, on_loop: bool, seed: int) -> tuple[list[float], float]:
    pages: dict[str, bytes] = {}
    httpd = serve(pages)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    pages["/big.xml"] = feed(base, entries, seed)
    with tempfile.TemporaryDirectory() as tmp:
        s = config.load(None, database_url=f"sqlite:///{tmp}/m.db", data_dir=tmp, watch=[{"url": base + "/big.xml"}],
                        fetch={"allow_private_networks": True, "respect_robots": False})
        db = Database(s.db_url)
        db.migrate()
        m = Monitor(s, db)
        if on_loop:  # the CPU work inline, on the event loop, as before
            async def inline(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
                return fn(*args, **kwargs)
            m._off_loop = inline  # type: ignore[method-assign]
        try:
            return asyncio.run(measure(m, base + "/big.xml"))
        finally:
            m.close()
            httpd.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"one feed of {args.entries} new full-text posts; event-loop lateness of a 10 ms ticker "
          f"(median of {args.runs} runs)")
    rows = {}
    for name, on_loop in (("on the event loop (before)", True), ("on the worker thread", False)):
        maxes, p99s, walls = [], [], []
        for r in range(args.runs):
            lags, wall = run(args.entries, on_loop, seed=r)
            lags.sort()
            maxes.append(lags[-1])
            p99s.append(lags[int(len(lags) * 0.99)])
            walls.append(wall)
        rows[name] = (statistics.median(maxes), statistics.median(p99s), statistics.median(walls))
        print(f"  {name:28} max lateness {rows[name][0] * 1000:8.1f} ms   p99 {rows[name][1] * 1000:8.1f} ms   "
              f"feed checked in {rows[name][2]:.2f} s")
    (b_max, _, b_wall), (a_max, _, a_wall) = rows.values()
    print(f"  max lateness ratio before/after: {b_max / max(a_max, 1e-6):.0f}x; "
          f"wall time ratio after/before: {a_wall / b_wall:.2f}")


if __name__ == "__main__":
    main()
