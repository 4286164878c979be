"""The desk in a real browser (Chromium): log in, filter, open a match, mark it licensed, see the
site's row change, add a source; a hostile copy runs no script."""

from __future__ import annotations

import pytest

from monitor.store import triage as store
from monitor.store.users import add_user
from tests.web.browser import browser, chromium_path, served
from tests.web.conftest import Desk

HOSTILE = ('</textarea><script>alert("title")</script><img src=x onerror="alert(1)">'
           '<a href="javascript:alert(2)">click</a>')


@pytest.fixture
def desk_for_browser(tmp_path):  # noqa: ANN001, ANN201
    chromium_path()  # skip early when there is no browser
    d = Desk(f"sqlite:///{tmp_path / 'm.db'}", tmp_path)
    add_user(d.db, "alice", "alice-password", "editor")
    yield d
    d.close()


def test_an_editor_triages_in_a_real_browser(desk_for_browser):
    d = desk_for_browser
    spun_id = d.copy("https://autoblog.blogspot.com/2018/08/russia.html", title="Russia, Japan: spun")
    other_id = d.copy("https://www.other-copier.example/x", title="Another copy")
    hostile_id = d.copy("https://evil.example/p", title=HOSTILE,
                        html=f"<html><body>{HOSTILE}<script>alert(3)</script></body></html>")
    dialogs: list[str] = []
    errors: list[str] = []
    with served(d.monitor) as url, browser() as b:
        page = b.new_page()  # type: ignore[attr-defined]
        page.on("dialog", lambda dlg: (dialogs.append(dlg.message), dlg.dismiss()))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(url + "/")
        assert "/login" in page.url
        page.fill("input[name=name]", "alice")
        page.fill("input[name=password]", "alice-password")
        page.click("button[type=submit]")
        page.wait_for_selector("#matches")
        assert page.locator("#matches tbody tr").count() == 3

        # filter the inbox by site
        page.fill("input[name=site]", "autoblog.blogspot.com")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**site=autoblog.blogspot.com**")
        rows = page.locator("#matches tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-match") == str(spun_id)

        # open the match, mark it licensed
        page.click(f'tr[data-match="{spun_id}"] td.copy a')
        page.wait_for_selector(".evidence mark")
        assert page.locator(".cols .col").count() == 2  # side by side
        page.fill("#triage input[name=note]", "partner blog")
        page.click("#triage button[value=licensed]")
        page.wait_for_selector(".flash")
        assert "licensed" in page.locator("h1 .state").inner_text()
        assert "partner blog" in page.locator("#history").inner_text()
        assert store.match_state(d.db, spun_id).state == "licensed"

        # the site's row on the sites page: nothing open, one handled
        page.click("nav >> text=Sites")
        row = page.locator('tr[data-site="autoblog.blogspot.com"]')
        assert row.locator("td.open").inner_text() == "0" and row.locator("td.handled").inner_text() == "1"
        other = page.locator('tr[data-site="other-copier.example"]')
        assert other.locator("td.open").inner_text() == "1"

        # add a source
        page.click("nav >> text=Sources")
        page.click("details.add summary")
        page.fill("#add-source input[name=url]", "https://publisher.example/kitchen-garden")
        page.fill("#add-source input[name=title]", "Kitchen garden")
        page.fill("#add-source textarea[name=text]", "We restored a kitchen garden of the 1930s. " * 30)
        page.click("#add-source button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Kitchen garden" in page.locator("#sources").inner_text()

        # the hostile copy: shown as text, nothing runs
        page.goto(f"{url}/matches/{hostile_id}")
        page.wait_for_selector(".evidence")
        assert HOSTILE[:30] in page.locator(".evidence").inner_text()  # the title, as text
        assert page.locator('a[href^="javascript:"]').count() == 0
        assert page.locator("img[src=x]").count() == 0
        page.fill("#notes textarea", HOSTILE)
        page.click("#notes button[type=submit]")
        page.wait_for_selector(".note")
        page.goto(url + "/")
        page.wait_for_selector("#matches")
        assert HOSTILE[:20] in page.locator(f'tr[data-match="{hostile_id}"]').inner_text()
        page.wait_for_timeout(300)
    assert dialogs == [], f"a script ran: {dialogs}"
    assert not [e for e in errors if "Content Security Policy" not in e], errors
    assert store.match_state(d.db, other_id).state == "new"
