"""Soak: several `monitor run` processes on one database, 500 feeds on loopback (heavy and
hostile ones among them), posts published as it runs, random kill -9's. Then it waits for the
work to settle and counts: posts checked, matches found against the expected set, alerts sent
against alerts due. It ends with a verdict: zero lost and zero duplicated, or what went wrong.

    python bench/soak.py [--minutes 3] [--kill-every 30] [--postgres-url URL] [--only postgres|sqlite]

4 processes on PostgreSQL, then 2 on SQLite, each for half of --minutes (20 at most), plus the
time the last posts and alerts take to settle (a few minutes at most). The children run with
1-minute claim leases (15 in production) so a killed process's feeds and posts come back
within the run; everything else is the shipped code.

The feeds (on 40 sites, 127.0.0.2 onwards; the user's own site on 127.0.0.1):
- 470 healthy feeds of 2 posts, gaining a post a minute; one post in five copies one of the
  user's 40 articles (20 registered from files, 20 from the user's own feed); half the feeds
  carry the full text, half only a summary (the post's page is fetched);
- 3 heavy feeds listing 400 posts each (300 are checked per feed check) (one post in 40 a copy);
- 27 hostile feeds: 500s, a hang, a trickle, a gzip bomb, a redirect loop, 20 MB, malformed
  XML, absurd Retry-After and max-age values, binary junk.
The expected set is every (article, copy) pair published on a non-hostile feed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from monitor.demo.servers import WebhookReceiver  # noqa: E402

WORDS = ("harbour crane tariff tin copper ledger minister treaty river valley engine signal market vessel "
         "cargo lantern orchard meadow quarry mill bridge canal furnace kiln weaver spindle loom barley "
         "granary tannery forge anvil chapel tower garrison").split()
FILE_SOURCES, OWN_SOURCES = 20, 20
HEALTHY, HEAVY, HEAVY_POSTS = 470, 3, 400
FIRST_POSTS = 2  # posts a healthy feed lists at the start
HOSTILE = ["500", "hang", "trickle", "bomb", "loop", "huge", "malformed", "retry", "maxage", "junk"]
LEASE_SECONDS = 60
WATCH_SITES = 40  # loopback addresses 127.0.0.2 … the watched feeds are spread over
SETTLE_LIMIT = 10 * 60  # seconds the work may take to settle after the last kill
PUBLISH_EVERY = 60.0  # seconds between new posts on a healthy feed (each feed its own phase)
BOMB = gzip.compress(b"\0" * (100 << 20), compresslevel=9)
CHILD = """
import sys, datetime
import monitor.pipeline as p
p.FEED_LEASE = p.POST_LEASE = datetime.timedelta(seconds={lease})
from monitor.cli import app
app(prog_name="monitor")
"""


def article(seed: int, words: int = 300) -> str:
    r = random.Random(seed)
    paras = []
    while sum(len(p.split()) for p in paras) < words:
        paras.append(" ".join(f"{r.choice(WORDS)} {r.randint(10, 99999)}" for _ in range(12)).capitalize() + ".")
    return "\n\n".join(paras)


def copy_of(feed: int, post: int) -> int | None:
    """Which article (0..39) post `post` of feed `feed` copies, if any: one post in five."""
    h = int.from_bytes(hashlib.blake2b(f"{feed}:{post}".encode(), digest_size=8).digest(), "big")
    rate = 5 if feed < 10_000 else 40  # a heavy feed: one in 40
    return h // 64 % (FILE_SOURCES + OWN_SOURCES) if h % rate == 0 else None


def post_text(feed: int, post: int) -> str:
    src = copy_of(feed, post)
    if src is None:
        return article(1_000_000 + feed * 10_000 + post)
    paras = article(src).split("\n\n")
    return "\n\n".join(paras[1:])  # the copier drops the first paragraph


class Sites:
    """The loopback web: the user's site, the watched feeds (growing with time), the hostile ones."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.stop_publishing_at: float | None = None
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.servers = [self._serve(f"127.0.0.{i}") for i in range(1, 2 + WATCH_SITES)]
        self.own = f"http://127.0.0.1:{self.servers[0].server_address[1]}"
        self.sites = [f"http://127.0.0.{i}:{self.servers[i - 1].server_address[1]}" for i in range(2, 2 + WATCH_SITES)]
        self.watch = self.sites[0]  # the hostile feeds' site
        self.heavy_feed = {h: self._heavy(h) for h in range(HEAVY)}

    def published(self, feed: int) -> int:
        """How many posts healthy feed `feed` lists now (2 at the start, one more a minute)."""
        now = time.monotonic() if self.stop_publishing_at is None else self.stop_publishing_at
        phase = (feed * 7.919) % PUBLISH_EVERY
        return FIRST_POSTS + max(0, int((now - self.t0 - phase) // PUBLISH_EVERY))

    def expected(self) -> set[tuple[str, str]]:
        pairs = set()
        for f in range(HEALTHY):
            for k in range(self.published(f)):
                if (src := copy_of(f, k)) is not None:
                    pairs.add((self.source_url(src), f"{self.site(f)}/p/{f}/{k}"))
        for h in range(HEAVY):
            for k in range(HEAVY_POSTS):
                if (src := copy_of(10_000 + h, k)) is not None:
                    pairs.add((self.source_url(src), f"{self.site(h)}/heavy/{h}/{k}"))
        return pairs

    def healthy_posts(self) -> set[str]:
        return ({f"{self.site(f)}/p/{f}/{k}" for f in range(HEALTHY) for k in range(self.published(f))}
                | {f"{self.site(h)}/heavy/{h}/{k}" for h in range(HEAVY) for k in range(HEAVY_POSTS)})

    def site(self, feed: int) -> str:
        """The site a feed lives on: copies spread over many sites, as in life (one site
        showing the same article many times would teach the boilerplate learner that its
        paragraphs are the site's chrome)."""
        return self.sites[feed % WATCH_SITES]

    def source_url(self, src: int) -> str:
        return f"{self.own}/a/{src}"

    def _heavy(self, h: int) -> bytes:
        return rss(f"heavy {h}", [(f"{self.site(h)}/heavy/{h}/{k}", post_text(10_000 + h, k), True)
                                  for k in range(HEAVY_POSTS)])

    def _serve(self, host: str) -> ThreadingHTTPServer:
        sites = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # noqa: ANN002
                pass

            def send(self, status: int, body: bytes, ctype: str = "application/rss+xml", **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def do_GET(self) -> None:  # noqa: N802
                with sites.lock:
                    sites.hits[self.path.split("/")[1]] += 1
                try:
                    sites.answer(self)
                except OSError:
                    pass

        httpd = ThreadingHTTPServer((host, 0), H)
        httpd.daemon_threads = True
        httpd.handle_error = lambda *a: None  # type: ignore[method-assign]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd

    def answer(self, h: BaseHTTPRequestHandler) -> None:  # noqa: C901 - one branch per kind of page
        parts = h.path.strip("/").split("/")
        send = h.send  # type: ignore[attr-defined]
        if parts == ["own.xml"]:
            items = [(self.source_url(s), article(s), True) for s in range(FILE_SOURCES, FILE_SOURCES + OWN_SOURCES)]
            send(200, rss("own", items))
        elif parts[0] == "a":  # the user's article pages
            send(200, page(article(int(parts[1]))), "text/html")
        elif parts[0] == "f":  # healthy feed: odd ones carry full text, even ones a summary
            f = int(parts[1].split(".")[0])
            items = [(f"{self.site(f)}/p/{f}/{k}", post_text(f, k), f % 2 == 1) for k in range(self.published(f))]
            send(200, rss(f"feed {f}", items[::-1]))
        elif parts[0] == "p":
            send(200, page(post_text(int(parts[1]), int(parts[2]))), "text/html")
        elif parts[0] == "heavy":
            send(200, self.heavy_feed[int(parts[1].split(".")[0])])
        elif parts[0] == "x":
            self.hostile(h, parts[1].split("-")[0])
        else:
            send(404, b"not found", "text/plain")

    def hostile(self, h: BaseHTTPRequestHandler, kind: str) -> None:
        send = h.send  # type: ignore[attr-defined]
        if kind == "500":
            send(500, b"oops", "text/plain")
        elif kind == "hang":
            time.sleep(40)
            send(200, b"late")
        elif kind == "trickle":
            h.send_response(200)
            h.send_header("Content-Length", "100000")
            h.end_headers()
            for _ in range(300):
                h.wfile.write(b" ")
                h.wfile.flush()
                time.sleep(0.1)
        elif kind == "bomb":
            send(200, BOMB, Content_Encoding="gzip")
        elif kind == "loop":
            send(302, b"", Location=f"/x/loop-{random.randint(0, 10**9)}")
        elif kind == "huge":
            send(200, b"<" * (20 << 20))
        elif kind == "malformed":
            send(200, b"<rss><channel><item><title>cut he")
        elif kind == "retry":
            send(429, b"slow down", Retry_After="99999999999999999999")
        elif kind == "maxage":
            send(200, rss("m", [(f"{self.watch}/x/maxage-post", article(777), True)]),
                 Cache_Control="max-age=99999999999999999999")
        else:
            send(200, os.urandom(4096), "application/octet-stream")

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()


def rss(title: str, items: list[tuple[str, str, bool]]) -> bytes:
    out = []
    for url, body, full in items:
        desc = "".join(f"<p>{p}</p>" for p in body.split("\n\n")) if full else body[:120]
        out.append(f"<item><title>{escape(url)}</title><link>{escape(url)}</link><guid>{escape(url)}</guid>"
                   f"<description>{escape(desc)}</description></item>")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"{''.join(out)}</channel></rss>").encode()


def page(body: str) -> bytes:
    paras = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return f"<html><head><title>t</title></head><body><article>{paras}</article></body></html>".encode()


def fresh_postgres(url: str) -> tuple[str, str]:
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def drop_postgres(url: str, schema: str) -> None:
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


class Fleet:
    """N `monitor run` processes; kill -9 one at random and start a new one in its place."""

    def __init__(self, n: int, config: Path, workdir: Path) -> None:
        self.config, self.workdir = config, workdir
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(workdir)}
        self.started = 0
        self.procs = [self._start() for _ in range(n)]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = open(self.workdir / f"process-{self.started}.log", "wb")  # noqa: SIM115 - closed with the process
        return subprocess.Popen([sys.executable, "-c", CHILD.format(lease=LEASE_SECONDS), "--config",
                                 str(self.config), "run"], env=self.env, cwd=self.workdir, stdout=log, stderr=log)

    def kill_one(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.procs))
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.kills += 1
        self.procs[i] = self._start()

    def stop(self) -> list[int]:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        return [p.wait(timeout=120) for p in self.procs]

    def errors(self) -> list[str]:
        """Each kind of unexpected error the processes logged, with its count."""
        found: Counter[str] = Counter()
        for i in range(1, self.started + 1):
            lines = (self.workdir / f"process-{i}.log").read_text(errors="replace").splitlines()
            for k, line in enumerate(lines):
                if line.startswith("Traceback"):
                    end = next((j for j in range(k + 1, len(lines)) if not lines[j].startswith((" ", "Traceback"))),
                               len(lines) - 1)
                    found[lines[end][:160]] += 1
        return [f"{n} × {what}" for what, n in found.most_common(8)]

    def tracebacks(self) -> int:
        return sum((self.workdir / f"process-{i}.log").read_text(errors="replace").count("Traceback")
                   for i in range(1, self.started + 1))


def counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        out = {
            "posts": c.execute(text("select count(*) from posts")).scalar() or 0,
            "checked": c.execute(text("select count(*) from posts where state = 'checked'")).scalar() or 0,
            "matches": c.execute(text("select count(*) from matches")).scalar() or 0,
            "due": c.execute(text("select count(*) from deliveries")).scalar() or 0,
            "sent": c.execute(text("select count(*) from deliveries where status = 'sent'")).scalar() or 0,
        }
    engine.dispose()
    return out


def phase(name: str, processes: int, db_url: str, seconds: float, kill_every: float, rng: random.Random,
          workdir: Path) -> bool:
    """One database: run, kill, settle, count. Returns whether nothing was lost or duplicated."""
    from monitor.store import Database

    db = Database(db_url)
    db.migrate()
    db.close()
    sites = Sites()
    with WebhookReceiver() as hook:
        for s in range(FILE_SOURCES):
            (workdir / f"article-{s}.txt").write_text(article(s), encoding="utf-8")
        watch = ([{"url": f"{sites.site(f)}/f/{f}.xml", "interval": 1} for f in range(HEALTHY)]
                 + [{"url": f"{sites.site(h)}/heavy/{h}.xml", "interval": 1} for h in range(HEAVY)]
                 + [{"url": f"{sites.watch}/x/{HOSTILE[i % len(HOSTILE)]}-{i}.xml", "interval": 1}
                    for i in range(500 - HEALTHY - HEAVY)])
        cfg = {"database_url": db_url, "tick_seconds": 2, "watch": watch,
               "sources": [{"file": str(workdir / f"article-{s}.txt"), "url": sites.source_url(s)}
                           for s in range(FILE_SOURCES)] + [{"feed": f"{sites.own}/own.xml"}],
               "fetch": {"allow_private_networks": True, "timeout": 5, "total_timeout": 10, "respect_robots": False,
                         "concurrency": 32, "per_host": 16},
               "notify": {"webhooks": [{"secret_env": "SOAK_WEBHOOK_SECRET", "url": hook.url, "timeout": 10}],
                          "feed_failures": 0}}
        os.environ["SOAK_WEBHOOK_SECRET"] = "soak passphrase"  # webhooks are always signed; the processes inherit it
        config = workdir / "monitor.yaml"
        config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
        print(f"[{name}] {processes} processes, {len(watch)} feeds, {seconds / 60:.1f} min, "
              f"a kill -9 every ~{kill_every:g} s", flush=True)
        fleet = Fleet(processes, config, workdir)
        began = time.monotonic()
        next_kill = began + rng.uniform(0.5, 1.5) * kill_every
        while time.monotonic() - began < seconds:
            time.sleep(1)
            if kill_every and time.monotonic() >= next_kill:
                fleet.kill_one(rng)
                next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * kill_every
        sites.stop_publishing_at = time.monotonic()
        expected, wanted_posts = sites.expected(), sites.healthy_posts()
        # Settle: killed processes' claims expire (1 min), due feeds are read again, alerts go out.
        settle_began = time.monotonic()
        while time.monotonic() - settle_began < SETTLE_LIMIT:
            got = found_pairs(db_url)
            checked = checked_posts(db_url)
            c = counts(db_url)
            if expected <= got and wanted_posts <= checked and c["sent"] == c["due"]:
                break
            time.sleep(5)
        settled = time.monotonic() - settle_began
        codes = fleet.stop()
        got, checked, c = found_pairs(db_url), checked_posts(db_url), counts(db_url)
        ids = Counter(r["headers"].get("webhook-id") for r in hook.received if 200 <= r["status"] < 300)
    sites.close()
    unexpected = got - expected
    lost_posts = wanted_posts - checked  # not checked when the soak ended (unsettled)
    lost_matches = {(src, copy) for src, copy in expected - got if copy in checked}  # checked, not found
    unsettled = {(src, copy) for src, copy in expected - got if copy not in checked}
    unsent = c["due"] - len(ids)
    replays = sum(n - 1 for n in ids.values() if n > 1)
    duplicates = c["due"] - len({(m, d) for m, d in match_destinations(db_url)})
    print(f"[{name}] ran {seconds:.0f} s + {settled:.0f} s to settle; kill -9's: {fleet.kills}; "
          f"processes started: {fleet.started}; exit codes at SIGTERM: {codes}; tracebacks in logs: {fleet.tracebacks()}")
    print(f"[{name}] posts checked: {c['checked']} of {c['posts']} stored; of the {len(wanted_posts)} "
          f"published on healthy and heavy feeds, not checked: {len(lost_posts)}")
    print(f"[{name}] matches found: {len(got)}; expected: {len(expected)}; lost (copy checked, no match): "
          f"{len(lost_matches)}; copy not checked yet: {len(unsettled)}; unexpected: {len(unexpected)}")
    print(f"[{name}] alerts due: {c['due']}; sent (distinct webhook-ids received): {len(ids)}; not sent: {unsent}; "
          f"duplicate alerts (two deliveries for one match): {duplicates}; "
          f"replayed POSTs (same webhook-id, a process killed mid-send): {replays}")
    for line in fleet.errors():
        print(f"[{name}]   in the logs: {line}")
    ok = not lost_matches and not lost_posts and unsent == 0 and duplicates == 0 and not unexpected
    print(f"[{name}] {'OK: zero lost, zero duplicated' if ok else 'FAILED'}", flush=True)
    for pair in sorted(lost_matches)[:5]:
        print(f"[{name}]   lost: {pair[1]} copies {pair[0]}")
    return ok


def found_pairs(db_url: str) -> set[tuple[str, str]]:
    engine = create_engine(db_url)
    with engine.connect() as c:
        rows = c.execute(text("select s.url, p.url from matches m join sources s on s.id = m.source_id "
                              "join posts p on p.id = m.post_id")).all()
    engine.dispose()
    return {(a, b) for a, b in rows}


def checked_posts(db_url: str) -> set[str]:
    engine = create_engine(db_url)
    with engine.connect() as c:
        rows = c.execute(text("select url from posts where state = 'checked'")).scalars().all()
    engine.dispose()
    return set(rows)


def match_destinations(db_url: str) -> list[tuple[int, str]]:
    engine = create_engine(db_url)
    with engine.connect() as c:
        rows = c.execute(text("select match_id, destination from deliveries")).all()
    engine.dispose()
    return [(a, b) for a, b in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="running time of both phases (at most 20)")
    ap.add_argument("--kill-every", type=float, default=30.0, help="seconds between kill -9's (0: none)")
    ap.add_argument("--postgres-url", default=os.environ.get(
        "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--only", choices=["postgres", "sqlite"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, SQLite file)")
    args = ap.parse_args()
    minutes = min(args.minutes, 20.0)
    rng = random.Random(args.seed)
    phases = [p for p in ("postgres", "sqlite") if args.only in (None, p)]
    seconds = minutes * 60 / len(phases)
    results = []
    tmp = tempfile.mkdtemp(prefix="soak-")
    try:
        print("work folder:", tmp)
        for name in phases:
            workdir = Path(tmp) / name
            workdir.mkdir()
            if name == "postgres":
                url, schema = fresh_postgres(args.postgres_url)
                try:
                    results.append(phase(name, 4, url, seconds, args.kill_every, rng, workdir))
                finally:
                    drop_postgres(args.postgres_url, schema)
            else:
                results.append(phase(name, 2, f"sqlite:///{workdir / 'monitor.db'}", seconds, args.kill_every,
                                     rng, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("soak:", "OK" if all(results) else "FAILED")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
