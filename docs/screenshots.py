"""Take the README's screenshots of the desk with Debian's Chromium (Playwright drives it).

    .venv/bin/python docs/screenshots.py        # writes docs/desk-*.png

Builds a small SQLite database in a temporary folder from the demo's texts: the seed article as
a source, its spun copy on a few sites, one licensed, one confirmed with a note.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import config  # noqa: E402
from monitor.demo.run import seed  # noqa: E402
from monitor.domain import Post, Source  # noqa: E402
from monitor.licence import allow_site  # noqa: E402
from monitor.pipeline import Monitor  # noqa: E402
from monitor.store import Database  # noqa: E402
from monitor.store.triage import add_note  # noqa: E402
from monitor.store.users import add_user  # noqa: E402
from monitor.triage import triage_match  # noqa: E402
from tests.web.browser import browser, served  # noqa: E402

SOURCE = "https://publisher.example/2018/08/russia-japan.html"
TITLE = "Russia, Japan: Representatives Struggle to See Eye-to-Eye On Military Matters"


def build(folder: Path) -> Monitor:
    settings = config.load(None, database_url=f"sqlite:///{folder / 'desk.db'}", data_dir=str(folder))
    db = Database(settings.db_url)
    db.migrate()
    monitor = Monitor(settings, db)
    monitor.register_source(Source(SOURCE, seed("original.txt"), TITLE), "url")
    monitor.register_source(Source("https://publisher.example/2018/08/kitchen-garden.html",
                                   seed("unrelated-1.txt"), "How We Restored a 1930s Kitchen Garden"), "url")
    spun = seed("spun.txt").split("Buat lebih berguna, kongsi:")[0].strip()
    half = spun[: len(spun) // 2]
    copies = [
        ("https://berita-dunia-terkini.blogspot.com/2018/08/russia-japan-military.html", spun, "Russia, Japan: Representatives Struggle"),
        ("https://www.newsmirror24.example/world/russia-japan-2-2", spun, "Japan too Russian Federation hold talks"),
        ("https://asia-wire.example/2018/08/02/russia-japan", spun, "Russia and Japan: 2+2 meeting"),
        ("https://autonews.blogspot.com/2018/08/ministers-moscow.html", half, "Ministers in Moscow"),
        ("https://partner-press.example/syndicated/russia-japan", seed("original.txt"), TITLE),
        ("https://www.newsmirror24.example/life/kitchen-garden", seed("unrelated-1.txt"), "A 1930s kitchen garden"),
        ("https://autonews.blogspot.com/2018/08/garden.html", seed("unrelated-1.txt"), "Garden restored"),
    ]
    ids = []
    for url, text, title in copies:
        found = monitor.check_post(Post(url, text, title, html=f"<html><head><title>{title}</title></head></html>"))
        ids.append(found[0].match_id)
    add_user(db, "editor", "editor-password", "editor")
    triage_match(db, ids[1], "confirmed", "editor", note="spun copy, ads around it")
    triage_match(db, ids[1], "notice_sent", "editor", note="DMCA notice to the host")
    add_note(db, ids[1], "editor", "The host answers within 48 hours usually.")
    allow_site(db, "partner-press.example", "editor", note="syndication contract")
    return monitor


def main() -> None:
    out = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        monitor = build(Path(tmp))
        with served(monitor) as url, browser() as b:
            page = b.new_page(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
            page.goto(url + "/login")
            page.fill("input[name=name]", "editor")
            page.screenshot(path=str(out / "desk-login.png"))
            page.fill("input[name=password]", "editor-password")
            page.click("button[type=submit]")
            page.wait_for_selector("#matches")
            page.screenshot(path=str(out / "desk-inbox.png"))
            page.click("#matches tbody tr:last-child td.copy a")
            page.wait_for_selector(".evidence mark")
            page.screenshot(path=str(out / "desk-match.png"), full_page=False)
            page.goto(url + "/sites")
            page.screenshot(path=str(out / "desk-sites.png"))
        monitor.close()
    print("written:", ", ".join(p.name for p in sorted(out.glob("desk-*.png"))))


if __name__ == "__main__":
    main()
