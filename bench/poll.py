"""Poll 1,000 feeds on a loopback server: a full cycle's wall time and fetches per second,
beside a plain serial httpx loop over the same feeds, and memory over repeated cycles; with
the default sizes, also the previous HTTP engine's figures (BEFORE) beside today's.

    python bench/poll.py [--feeds 1000] [--latency 0.02] [--cycles 5] [--database-url URL]

20 ms is a very fast server; real feed servers answer in 100-500 ms, so also run it with
`--latency 0.15`: the serial loop waits for every response in turn, the monitor overlaps them.

The server runs in its own process (so it does not share the GIL with the monitor) and answers
each request after `latency` seconds, standing in for the network and a real server's time.
Odd-numbered feeds send an ETag and answer 304 to a conditional GET; even ones answer 200,
a share of them (--changing) with bytes that change every time (a new comment) but the same
entries, so they are re-parsed and their entries found already checked; the rest with the
same bytes, skipped by the body hash. Each feed carries 5 full-text entries (no page fetches).
The first monitor cycle is cold (5,000 new posts extracted and checked); later ones are the
steady state that matters for months of polling.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOSTS = 250  # 1,000 feeds on 250 sites: 4 feeds a site, as blogs with category feeds

# The same bench with the previous HTTP engine (an own h11 transport, monitor/fetch/pool.py until
# it was replaced by aiohttp), from the README: (latency, database) → serial loop s, steady cycle
# s, CPU s, ratio. Another day's figures on the same 2-core machine, so compare the ratios.
BEFORE = {(0.02, "SQLite"): (22.0, 0.55, 0.42, 40.1), (0.02, "PostgreSQL"): (22.1, 0.71, 0.54, 31.1),
          (0.15, "SQLite"): (152.0, 2.60, 0.59, 58.5)}

WORDS = "the of and to in that it with as for was on are by this be from at or an have not".split()


@functools.cache
def items(i: int, base: str) -> str:
    out = []
    for k in range(5):
        text = " ".join(f"w{(i * 31 + k * 7 + j) % 997} {WORDS[j % len(WORDS)]}" for j in range(120))
        out.append(f"<item><title>Post {i}-{k}</title><link>{base}/p/{i}/{k}</link><guid>{i}-{k}</guid>"
                   f"<description><![CDATA[<p>{text}</p>]]></description></item>")
    return "".join(out)


def feed(i: int, n: int, base: str, changing: float) -> bytes:
    # Of the feeds that answer 200, a share changes its bytes each time (re-parsed; entries
    # found already checked); the others serve identical bytes (skipped by the body hash).
    # The entries are built once: the server shares the machine's 2 cores with the monitor,
    # and a remote server's CPU is not the monitor's.
    stamp = f"<!-- served {n} -->" if i % 2 == 0 and (i // 2) % 100 < changing * 100 else ""
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>{stamp}'
            f"{items(i, base)}</channel></rss>").encode()


async def serve(port: int, latency: float, changing: float) -> None:
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        host = writer.get_extra_info("sockname")[0]
        base = f"http://{host}:{port}"
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                await asyncio.sleep(latency)
                served += 1
                extra = ""
                if path.startswith("/f"):
                    i = int(path[2:].split(".")[0])
                    etag = f'"feed-{i}"'
                    if i % 2 and headers.get("if-none-match") == etag:
                        status, body = "304 Not Modified", b""
                    else:
                        status, body = "200 OK", feed(i, served, base, changing)
                    if i % 2:
                        extra = f"ETag: {etag}\r\n"
                else:
                    status, body = "404 Not Found", b"no"
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n{extra}"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    hosts = [f"127.0.0.{h}" for h in range(1, HOSTS + 1)]  # all of 127/8 is loopback on Linux
    server = await asyncio.start_server(handle, hosts, port, backlog=2048)
    async with server:
        await server.serve_forever()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serial(urls: list[str]) -> float:
    import httpx

    began = time.perf_counter()
    with httpx.Client() as client:
        for url in urls:
            client.get(url)
    return time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--changing", type=float, default=0.2,
                    help="share of the 200-answering feeds whose body changes every cycle")
    ap.add_argument("--database-url")
    ap.add_argument("--profile", action="store_true", help="profile one steady cycle instead")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.latency, args.changing))
        return

    from datetime import datetime, timezone

    from sqlalchemy import text

    from monitor import config
    from monitor.demo.servers import free_port
    from monitor.pipeline import Monitor
    from monitor.store import Database

    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--latency", str(args.latency),
                               "--changing", str(args.changing)])
    try:
        time.sleep(1.0)
        urls = [f"http://127.0.0.{1 + i % HOSTS}:{port}/f{i}.xml" for i in range(args.feeds)]
        tmp = tempfile.mkdtemp(prefix="bench-poll-")
        db_url = args.database_url or f"sqlite:///{tmp}/monitor.db"
        s = config.load(None, database_url=db_url, data_dir=tmp, watch=[{"url": u} for u in urls],
                        fetch={"allow_private_networks": True, "respect_robots": False,
                               "concurrency": args.concurrency})  # per_host: the default 2
        db = Database(s.db_url)
        db.migrate()
        m = Monitor(s, db)
        database = "PostgreSQL" if db.is_postgres else "SQLite"
        print(f"{args.feeds} feeds on {HOSTS} loopback hosts, {args.latency * 1000:.0f} ms per response, concurrency {args.concurrency}, "
              f"half answer 304, half 200 of which {args.changing:.0%} change every time, "
              f"{database}")

        if args.profile:
            import cProfile
            import pstats
            asyncio.run(m.run_cycle())
            with m.db.engine.begin() as c:
                c.execute(text("UPDATE feeds SET next_check_at = :t"), {"t": datetime.now(timezone.utc)})
            cProfile.runctx("asyncio.run(m.run_cycle())", globals(), locals(), "/tmp/poll.prof")
            pstats.Stats("/tmp/poll.prof").sort_stats("cumulative").print_stats(40)
            return
        base = serial(urls)
        print(f"serial httpx loop:  {base:7.2f} s  {args.feeds / base:8.1f} fetches/s")
        steady, cpus, rss = [], [], []
        for n in range(args.cycles):
            with m.db.engine.begin() as c:  # every feed due now, as if their interval had passed
                c.execute(text("UPDATE feeds SET next_check_at = :t"), {"t": datetime.now(timezone.utc)})
            began, cpu = time.perf_counter(), time.process_time()
            report = asyncio.run(m.run_cycle())
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
            gc.collect()
            label = "cold (all posts new)" if n == 0 else "steady"
            print(f"cycle {n + 1} {label:21s} {wall:7.2f} s  {args.feeds / wall:8.1f} fetches/s  "
                  f"{wall and base / wall:6.1f}x serial  checked {report.feeds_checked}, "
                  f"unchanged {report.feeds_unchanged}, failed {report.feeds_failed}, "
                  f"posts {report.posts_checked}  CPU {cpu:5.2f} s  RSS {rss_mb():6.1f} MB")
            rss.append(rss_mb())
            if n:
                steady.append(wall)
                cpus.append(cpu)
        if steady:
            mid = statistics.median(steady)
            print(f"steady state at {args.latency * 1000:.0f} ms: median {mid:.2f} s over {len(steady)} cycles "
                  f"(CPU {statistics.median(cpus):.2f} s) = {base / mid:.1f}x the serial loop (target >= 20x); "
                  f"best {min(steady):.2f} s = {base / min(steady):.1f}x; "
                  f"RSS: {rss[1] - rss[0]:+.1f} MB from cycle 1 to 2, {rss[-1] - rss[1]:+.1f} MB from cycle 2 to {len(rss)}")
            before = BEFORE.get((args.latency, database)) if args.feeds == 1000 and args.concurrency == 64 else None
            if before:
                b_serial, b_cycle, b_cpu, b_ratio = before
                print(f"before (h11 engine, README): serial {b_serial:.1f} s, steady {b_cycle:.2f} s (CPU {b_cpu:.2f} s) "
                      f"= {b_ratio:.1f}x;  now (aiohttp): serial {base:.1f} s, steady {mid:.2f} s "
                      f"(CPU {statistics.median(cpus):.2f} s) = {base / mid:.1f}x;  "
                      f"steady now/before {mid / b_cycle:.2f} (target <= 1.3 at 20 ms), "
                      f"ratio to the serial loop now/before {base / mid / b_ratio:.2f}")
        m.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
