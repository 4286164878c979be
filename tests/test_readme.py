"""The README's code is tested: every `sql` block runs on SQLite and PostgreSQL against a migrated
database with rows in it, and the webhook verification block verifies real signed POSTs."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import WebhookVerificationError

from monitor.config import WebhookNotifier
from monitor.demo.servers import WebhookReceiver
from monitor.domain import Post, Source
from monitor.notify.message import probe_job
from monitor.notify.senders import WebhookSender
from monitor.store.models import MatchRow

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def statements() -> list[tuple[str, str]]:
    """(leading comment, statement) for every statement of every sql block."""
    found = []
    for block in blocks("sql"):
        for chunk in block.split(";"):
            comment = " ".join(x for x in chunk.strip().splitlines() if x.startswith("--"))
            sql = "\n".join(x for x in chunk.strip().splitlines() if not x.startswith("--")).strip()
            if sql:
                found.append((comment, sql))
    return found


def test_the_readme_has_sql_blocks():
    assert len(statements()) >= 5


def populate(store) -> None:
    """Source A copied three times on two sites (one copy a month old), B once; a feed alert."""
    store.sync_feeds([("https://blog1.example/", "watch", 60), ("https://blog2.example/", "watch", 60)])
    f1, f2 = (f.id for f in store.list_feeds())
    a, _ = store.upsert_source(Source("https://publisher.example/a", "A text", "A"), b"s", "url")
    b, _ = store.upsert_source(Source("https://publisher.example/b", "B text", "B"), b"s", "url")
    now = datetime.now(timezone.utc)
    for i, (source, feed, score) in enumerate([(a, f1, 0.91), (a, f1, 0.72), (a, f2, 0.66), (b, f2, 0.55)]):
        pid = store.save_post(Post(f"https://blog{feed}.example/p{i}", "copy text"), feed)
        mid, _ = store.record_match(source, pid, "spun_copy", score, 0.5, 0.2, {"passages": []},
                                    [("webhook:https://hooks.example/x", now)])
        if i == 2:
            with store.db.session() as s:
                s.get(MatchRow, mid).detected_at = now - timedelta(days=30)
    store.queue_feed_event(f1, "feed.failing", {"url": "https://blog1.example/"}, [("email:e@example", now)])


@pytest.fixture
def populated(store):
    populate(store)
    return store


def run(store, sql: str) -> list[tuple]:
    with store.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_every_readme_query_runs(populated):
    dialect = populated.db.engine.dialect.name
    ran = 0
    for comment, sql in statements():
        other = {"sqlite": "(PostgreSQL)", "postgresql": "(SQLite)"}[dialect]
        if other in comment:
            continue
        run(populated, sql)
        ran += 1
    assert ran >= 4


def query(about: str, dialect: str) -> str:
    mine = {"sqlite": "(SQLite)", "postgresql": "(PostgreSQL)"}[dialect]
    [sql] = [s for c, s in statements() if about in c and (mine in c or "(SQL" not in c and "(Postgre" not in c)]
    return sql


def test_the_queries_answer_their_questions(populated):
    dialect = populated.db.engine.dialect.name
    week = run(populated, query("last week", dialect))
    assert [float(r[2]) for r in week] == [0.91, 0.72, 0.55]  # best first, the month-old one left out
    most = run(populated, query("copied most", dialect))
    assert [(r[0], r[1], r[2]) for r in most] == [("https://publisher.example/a", 3, 2),
                                                   ("https://publisher.example/b", 1, 1)]
    pending = run(populated, query("not gone out", dialect))
    assert len(pending) == 5 and {r[1] for r in pending} == {"match.created", "feed.failing"}


def verify_block():
    [block] = [b for b in blocks("python") if "def verify(" in b]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace["verify"]


@pytest.mark.parametrize("secret", ["whsec_ZTJlLXRlc3Qtc2VjcmV0LWZvci1yZXVzZQ==", "correct horse battery staple",
                                    "pässwörd with ünïcode"])
async def test_the_readme_verifies_a_real_webhook(secret, monkeypatch):
    verify = verify_block()
    monkeypatch.setenv("T_SECRET", secret)
    with WebhookReceiver() as hook:
        cfg = WebhookNotifier(url=hook.url, secret_env="T_SECRET", github_signature=True)
        async with httpx.AsyncClient() as client:
            await WebhookSender(cfg, client).send(probe_job(cfg.name))
    [rec] = hook.received
    assert verify(secret, rec["body"].encode(), rec["headers"])["type"] == "test"
    with pytest.raises(WebhookVerificationError):
        verify("whsec_b3RoZXI=" if secret.startswith("whsec_") else secret + "!", rec["body"].encode(), rec["headers"])
