"""Fixtures of the takedown tests (removal tracking, notices): a loopback blog carrying a copy
of an article, and the confirmed match. Loaded by tests/conftest.py."""

import pytest

from monitor import config
from monitor.demo.servers import Blog, BlogPost, WebhookReceiver
from monitor.domain import Post, Source
from monitor.extract import extract_page
from monitor.triage import triage_match

ARTICLE = "\n".join([
    "The river town of Kellbridge rebuilt its flood walls after the winter storms of last year, "
    "and the engineers who designed them say the new barrier can hold back water two metres higher.",
    "Residents queued for hours at the council offices to see the plans, which include a walkway along "
    "the top of the wall, new pumps beneath the market square and a warning system linked to upstream gauges.",
    "The mayor said the town could not afford another season of sandbags and closed shops, and that the "
    "money came from a regional fund that had been promised for a decade before anyone signed a cheque.",
    "Critics argue that the walls will only push the water further downstream, where farmland and two "
    "smaller villages sit on lower ground with no defences of their own and no budget to build them.",
])


@pytest.fixture
async def watched(sqlite_url, monkeypatch):
    """A monitor, a loopback blog carrying a copy of the article, and the confirmed match."""
    from monitor.pipeline import Monitor

    with Blog("Berita", [BlogPost("copied", "Kellbridge walls", ARTICLE)]) as blog, WebhookReceiver() as hook:
        settings = config.Settings(database_url=sqlite_url, fetch={"allow_private_networks": True},
                                   notify={"webhooks": [{"secret_env": "TEST_WEBHOOK_SECRET", "url": hook.url}]})
        monitor = Monitor(settings)
        monitor.register_source(Source("https://publisher.example/kellbridge", ARTICLE, "Kellbridge"), "url")
        url = f"{blog.url}/copied.html"
        body, _, _ = blog.respond("/copied.html")
        text = extract_page(body, url=url).text
        [found] = monitor.check_post(Post(url=url, text=text, title="Kellbridge walls", html=body))
        assert found.match_id is not None
        triage_match(monitor.db, found.match_id, "confirmed", "editor")
        assert (await monitor.deliver_alerts()).sent == 1  # match.created
        yield monitor, blog, hook, found.match_id
        monitor.close()


