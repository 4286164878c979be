"""The desk's fixtures: a Monitor over SQLite or PostgreSQL with the seed article as a source,
and a way to make matches by checking posts (the real pipeline path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import config
from monitor.demo.run import seed
from monitor.domain import Post, Source
from monitor.pipeline import Monitor
from monitor.store import Database

SOURCE_URL = "https://publisher.example/russia-japan"


def spun() -> str:
    return seed("spun.txt").split("Buat lebih berguna, kongsi:")[0].strip()


class Desk:
    def __init__(self, db_url: str, tmp_path: Path, **extra) -> None:  # noqa: ANN003
        tmp_path.mkdir(parents=True, exist_ok=True)
        (tmp_path / "original.txt").write_text(seed("original.txt"), encoding="utf-8")
        self.settings = config.load(None, database_url=db_url, data_dir=str(tmp_path),
                                    sources=[{"file": str(tmp_path / "original.txt"), "url": SOURCE_URL,
                                              "title": "Russia, Japan"}],
                                    **extra)
        db = Database(db_url)
        db.migrate()
        self.monitor = Monitor(self.settings, db)
        self.db = db
        self.source_id = self.monitor.register_source(Source(SOURCE_URL, seed("original.txt"), "Russia, Japan"), "file")

    def copy(self, url: str, html: str | None = None, text: str | None = None, title: str = "A copy") -> int:
        """Check a post carrying the spun copy; returns its match id."""
        found = self.monitor.check_post(Post(url, text or spun(), title, html=html))
        assert found and found[0].match_id is not None, f"{url} was not found to copy the source"
        return found[0].match_id

    def close(self) -> None:
        self.monitor.close()


@pytest.fixture
def desk(db_url, tmp_path):  # noqa: ANN001, ANN201
    d = Desk(db_url, tmp_path, notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": "http://127.0.0.1:9/hook"}]})
    yield d
    d.close()
