"""The desk under a large archive: 100,000 matches over 5,000 sites and 20,000 sources, in SQLite
and PostgreSQL; median server time of the inbox (filters, deep pages), a match page and the
sites page, measured in-process through the real app (ASGI, templates, queries; no network).

    python bench/web.py [--matches 100000] [--sites 5000] [--sources 20000] [--repeat 15]
                        [--postgres URL | --no-postgres]

Target: every page ≤ 50 ms median. The baseline printed beside each figure is the same page
over an archive of 1,000 matches, so the ratio shows how each page grows with the archive.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from urllib.parse import urlencode
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from monitor import config  # noqa: E402
from monitor.demo.run import seed  # noqa: E402
from monitor.pipeline import Monitor  # noqa: E402
from monitor.store import Database, desk  # noqa: E402
from monitor.store.models import MatchRow, PostRow, SourceRow  # noqa: E402
from monitor.store.users import add_user  # noqa: E402

STATES = ["new"] * 6 + ["confirmed", "licensed", "false_positive", "ignored", "notice_sent", "removed"]
KINDS = ["spun_copy"] * 6 + ["copy", "partial_copy", "rewrite"]
WORDS = seed("unrelated-2.txt").split()


def fill(db: Database, n_matches: int, n_sites: int, n_sources: int, seed_: int = 7) -> None:
    rnd = random.Random(seed_)
    now = datetime.now(timezone.utc)
    text_src, text_copy = seed("original.txt"), seed("spun.txt")
    passages = [{"source_start": 200, "source_end": 900, "copy_start": 0, "copy_end": 700}]
    with db.engine.begin() as c:
        rows = []
        for i in range(1, n_sources + 1):
            title = " ".join(rnd.sample(WORDS, 6))
            rows.append({"id": i, "url": f"https://publisher.example/{i}/{title.replace(' ', '-')[:40]}",
                         "title": title, "text": text_src if i <= 50 else " ".join(rnd.sample(WORDS, 60)),
                         "content_hash": "", "origin": "import", "status": "ready", "entry_hash": "",
                         "created_at": now - timedelta(days=400), "updated_at": now})
        c.execute(insert(SourceRow), rows)
        sites = [f"site{i}.{rnd.choice(['com', 'net', 'blogspot.com', 'co.uk', 'info'])}" for i in range(n_sites)]
        # a few sites copy a lot (autoblog farms), most a little
        weights = [1 / (k + 1) ** 0.8 for k in range(n_sites)]
        chunk = 10_000
        for start in range(0, n_matches, chunk):
            posts, matches = [], []
            for i in range(start + 1, min(n_matches, start + chunk) + 1):
                site = rnd.choices(sites, weights)[0]
                title = " ".join(rnd.sample(WORDS, 7))
                raw = f"<html><body><p>{title}</p></body></html>".encode()
                posts.append({"id": i, "url": f"https://www.{site}/{i}/{title.replace(' ', '-')[:40]}", "guid": str(i),
                              "title": title, "text": text_copy if i % 100 == 0 else title, "content_hash": "",
                              "raw_page": raw, "raw_sha256": hashlib.sha256(raw).hexdigest(), "http_status": 200,
                              "checked_at": now, "fetched_at": now, "entry_hash": "", "state": "checked"})
                at = now - timedelta(minutes=(n_matches - i) * 5)
                matches.append({"id": i, "source_id": rnd.randint(1, 50) if i % 100 == 0 else rnd.randint(1, n_sources),
                                "post_id": i, "kind": rnd.choice(KINDS), "score": rnd.uniform(0.5, 1.0),
                                "coverage": rnd.random(), "spin_rate": rnd.random() * 0.4,
                                "evidence": {"passages": passages, "substitutions": [["make", "brand"]]},
                                "post_content_hash": "", "revision": 0, "detected_at": at,
                                "state": rnd.choice(STATES), "state_version": 0, "site": site})
            c.execute(insert(PostRow), posts)
            c.execute(insert(MatchRow), matches)
        if db.engine.dialect.name == "postgresql":
            for t in ("sources", "posts", "matches"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
            c.execute(text("ANALYZE"))
        else:
            c.execute(text("ANALYZE"))


def server_ms(response) -> float:  # noqa: ANN001
    """The app's own time, from its Server-Timing header (the test client's thread hops aside)."""
    return float(response.headers["server-timing"].split("dur=")[1])


def timed(client, path: str, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    """(first request, median of the next `repeat`) in ms of server time."""
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return server_ms(r), statistics.median(server_ms(client.get(path)) for _ in range(repeat))


def pages(client, n_matches: int, after: str) -> dict[str, str]:  # noqa: ANN001
    one = client.get("/api/v1/matches", params={"limit": 1}).json()["matches"][0]
    site = client.get("/api/v1/sites", params={"limit": 1}).json()["sites"][0]["site"]
    mid = (n_matches // 100) * 100  # a match with the full seed texts (evidence side by side)
    word = WORDS[len(WORDS) // 2]
    return {
        "inbox, newest": "/",
        "inbox, deep page (keyset)": "/?" + urlencode({"after": after}),
        "inbox, state=open": "/?state=open",
        "inbox, state=removed": "/?state=removed",
        "inbox, kind=rewrite": "/?kind=rewrite",
        "inbox, busiest site": f"/?site={site}",
        "inbox, one source": f"/?source={one['source']['id']}",
        "inbox, score≥0.95": "/?min_score=0.95",
        "inbox, last 7 days": f"/?since={(datetime.now(timezone.utc) - timedelta(days=7)).date()}",
        "inbox, text search": f"/?q={word}",
        "match page": f"/matches/{mid}",
        "sites, most matches": "/sites",
        "sites, most recent": "/sites?order=recent",
        "site page": f"/sites/{site}",
    }


def measure(url: str, n_matches: int, n_sites: int, n_sources: int, repeat: int) -> dict[str, tuple[float, float]]:
    from fastapi.testclient import TestClient

    from monitor.web.app import create_app

    db = Database(url)
    db.migrate()
    t = time.perf_counter()
    fill(db, n_matches, n_sites, n_sources)
    print(f"  filled in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    add_user(db, "bench", "bench-password", "editor")
    settings = config.load(None, database_url=url, data_dir=tempfile.mkdtemp())
    monitor = Monitor(settings, db)
    try:
        with TestClient(create_app(monitor)) as client:
            token = client.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
            client.post("/login", data={"csrf": token, "name": "bench", "password": "bench-password"})
            # a deep page: the one after a match half-way down the archive
            after = desk.inbox(db, desk.InboxFilter(), limit=n_matches // 2).next or ""
            results = {name: timed(client, path, repeat) for name, path in pages(client, n_matches, after).items()}
            # The sites table recomputed each time (as after a new match or a triage): its cold cost.
            cold = []
            for _ in range(max(3, repeat // 3)):
                desk._sites_cache._entries.clear()
                cold.append(server_ms(client.get("/sites")))
            results["sites, table recomputed"] = (cold[0], statistics.median(cold))
            return results
    finally:
        monitor.close()


def postgres_url(base: str) -> tuple[str, callable]:  # type: ignore[valid-type]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--matches", type=int, default=100_000)
    ap.add_argument("--sites", type=int, default=5_000)
    ap.add_argument("--sources", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    backends = [("SQLite", None)] + ([] if args.no_postgres else [("PostgreSQL", args.postgres)])
    for name, base in backends:
        results = {}
        for label, (n, s, src) in (("baseline", (1_000, 50, 200)),
                                   ("large", (args.matches, args.sites, args.sources))):
            print(f"{name}: {label} archive, {n:,} matches over {s:,} sites and {src:,} sources…", file=sys.stderr)
            if base is None:
                folder = Path(tempfile.mkdtemp())
                results[label] = measure(f"sqlite:///{folder / 'bench.db'}", n, s, src, args.repeat)
            else:
                url, drop = postgres_url(base)
                try:
                    results[label] = measure(url, n, s, src, args.repeat)
                finally:
                    drop()
        print(f"\n{name}: median server time over {args.repeat} requests (first request in brackets), "
              f"{args.matches:,} matches; baseline: 1,000 matches")
        print(f"  {'page':30} {'large':>9} {'(first)':>9} {'baseline':>9} {'ratio':>6}  ≤50 ms")
        for page, (first, ms) in results["large"].items():
            b = results["baseline"][page][1]
            print(f"  {page:30} {ms:7.1f}ms {f'({first:.0f}ms)':>9} {b:7.1f}ms {ms / b:5.1f}x  "
                  f"{'yes' if ms <= 50 else 'NO'}")


if __name__ == "__main__":
    main()
