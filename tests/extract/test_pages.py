"""Page extraction: the post's own text and nothing else."""

import html as htmllib
import json
import re

import pytest

from monitor.extract import extract_page
from monitor.extract.page import flatten_deep
from tests.extract.conftest import shared

# Chrome of the fixtures and of the seed pages: none of it may reach the text.
BLOGGER_CHROME = [
    "Buat lebih berguna", "kongsi", "Email This", "BlogThis", "Share to Twitter",
    "No comments", "Post a Comment", "Popular Posts", "Blog Archive", "Labels:",
    "Newer Post", "Older Post", "Subscribe to", "Powered by", "Pages", "World Watch",
    "Source Link", "Posted by", "Silk Road", "Monday, 6 August 2018",
]


def render_blogger(template: str, title: str, paragraphs: list[str]) -> str:
    # Blogger's editor separates paragraphs with <br /><br />, headings stay inline text.
    body = "<br /><br />".join(htmllib.escape(p) for p in paragraphs)
    return template.format(title=htmllib.escape(title), body=body)


def seed_body(path) -> tuple[str, list[str]]:
    """Title and body paragraphs of a seed text (header and footer lines removed)."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if lines[0] == "Pages":  # original.txt: Pages / date / title / Source Link / ...
        title = lines[2]
        lines = lines[4:]
    else:
        title = "Untitled"
    while lines and lines[-1] in ("Post a Comment", "No comments:", "Buat lebih berguna, kongsi:"):
        lines.pop()
    return title, lines


def assert_no_chrome(text: str, chrome: list[str]) -> None:
    found = [c for c in chrome if c.lower() in text.lower()]
    assert not found, f"chrome left in the text: {found}"


def test_blogger_fixture_keeps_post_and_drops_chrome(fixture_text):
    paras = [
        "What Happened",
        "Japan and Russia held their third 2+2 meeting of foreign and defense ministers on Aug. 1 in Moscow.",
        "Agreements were made on several points, but discussions failed to make progress on some more contentious military issues.",
    ]
    page = extract_page(render_blogger(fixture_text("blogger.html"), "Russia, Japan: Eye to Eye", paras).encode())
    assert page.text.split("\n\n") == paras
    assert page.title == "Russia, Japan: Eye to Eye"
    assert page.published and page.published.startswith("2018-08-06")
    assert page.canonical_url == "https://worldwatch.blogspot.example/2018/08/russia-japan.html"
    assert page.language == "en-GB"
    assert page.reason == ""


@pytest.mark.parametrize("seed", ["original.txt", "spun.txt"])
def test_seed_pages_as_blogger_pages_lose_header_and_share_widget(seed, fixture_text):
    title, paras = seed_body(shared("seeds") / seed)
    page = extract_page(render_blogger(fixture_text("blogger.html"), title, paras))
    assert page.text.split("\n\n") == paras
    assert_no_chrome(page.text, BLOGGER_CHROME)


def test_wordpress_page_loses_comments_related_and_share(fixture_text):
    page = extract_page(fixture_text("wordpress.html"), url="https://coastalnotes.example/?p=812")
    text = page.text
    assert text.startswith("When the first winter storms roll in")
    assert text.endswith("The survivors of winter are the parents of the summer crowd.")
    # headings, list items and block quotes are paragraphs of their own
    assert "\n\nHolding on\n\n" in text
    assert "\n\nMussels add extra byssal threads when the water gets rough.\n\n" in text
    assert "\n\nThe shore in January is a lesson in patience" in text
    assert_no_chrome(text, [
        "Share this", "Twitter", "Facebook", "Related", "kelp", "hermit", "Leave a Reply",
        "thoughts on", "sea stars tucked", "anemones actually stop", "email address",
        "Posted in", "Tagged", "Recent Posts", "About this blog", "cookies", "Proudly powered",
        "Skip to content", "Previous post", "Posted on", "Mara",
    ])
    assert page.title == "How Tide Pools Survive the Winter"
    assert page.published == "2021-02-14T08:15:00+00:00"
    assert page.canonical_url == "https://coastalnotes.example/2021/02/tide-pools-winter/"
    assert page.language == "en-US"


def test_detect_dev_blog_pages_keep_text_drop_widgets():
    path = shared("detect-dev") / "candidates.jsonl"
    pages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pages = [p for p in pages if "html" in p]
    assert pages
    for p in pages:
        page = extract_page(p["html"], url=p["url"])
        assert page.text, p["url"]
        assert_no_chrome(page.text, [
            "Share this", "Buat lebih berguna", "No comments", "Post a Comment", "Leave a Reply",
            "Popular Posts", "Blog Archive", "We use cookies", "Proudly powered", "Labels:",
        ])
        # every paragraph of the post body is kept
        for para in re.findall(r"<p>(.*?)</p>", p["html"].split('class="entry-content"')[-1].split("</div>")[0]):
            para = htmllib.unescape(re.sub(r"<[^>]+>", "", para)).strip()
            if len(para) > 40:
                assert para in page.text, (p["url"], para[:60])


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        ("", "empty"),
        ("   \n\t ", "empty"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>", "binary"),
        (bytes(range(256)) * 50, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a></nav></body></html>", "no main text"),
        ("<html><body><div><div><div></div></div></div></body></html>", "no main text"),
    ],
)
def test_empty_binary_and_textless_input_give_reason_not_exception(data, reason):
    page = extract_page(data)
    assert page.text == ""
    assert reason in page.reason


def test_huge_input_is_capped_not_fatal():
    para = "<p>" + "A sentence that repeats to make a very large page indeed. " * 20 + "</p>\n"
    big = ("<html><body><article>" + para * 16000 + "</article></body></html>").encode()
    assert len(big) > 15 * 1024 * 1024
    page = extract_page(big)
    assert page.text.startswith("A sentence")
    assert len(page.text) < 15 * 1024 * 1024


def test_deep_nesting_does_not_recurse_forever():
    depth = 5000
    html = "<div>" * depth + "<p>Deep inside the page there is still a paragraph of real text to find.</p>" + "</div>" * depth
    page = extract_page(f"<html><body>{html}</body></html>")
    assert "Deep inside the page" in page.text


@pytest.mark.parametrize(
    "opening, found",
    [("<b>", True), ("<ul><li>", True), ("<table><tr><td>", True), ("<span><a href='#'>", False)],
)
def test_deep_inline_and_list_nesting_is_capped(opening, found):
    html = opening * 6000 + "Text at the bottom of a very deep page, long enough to be a paragraph of prose."
    page = extract_page(html.encode())
    # Inside 6000 links the text is link text, not prose: dropped, with a reason.
    assert ("Text at the bottom of a very deep page" in page.text) == found
    assert "nesting deeper than 2000 flattened" in page.reason


@pytest.mark.parametrize("opening", ["<div>", "<ul><li>", "<table><tr><td>", "<div><p>step "])
def test_100k_nested_tags_are_flattened_before_parsing(opening):
    # Parsing is quadratic in depth: 100,000 nested divs took 100 s of CPU before the
    # depth scan. Timing lives in bench/extract_deep.py; here the outcome and the reason.
    n = 100_000
    close = "</" + opening[1:].split(">")[0].split()[0] + ">"
    html = "<html><body>" + opening * n + "<p>The paragraph at the bottom of a page nested far too deep.</p>" + close * n
    page = extract_page(html.encode())
    assert "The paragraph at the bottom of a page nested far too deep." in page.text
    assert page.reason.endswith("nesting deeper than 2000 flattened")


def test_ordinary_nesting_is_left_alone():
    html = "<html><body>" + "<div>" * 300 + "<p>" + "A sentence of an ordinary post. " * 10 + "</p>" + "</div>" * 300
    assert flatten_deep(html) == (html, False)
    page = extract_page(html)
    assert page.text.startswith("A sentence of an ordinary post.")
    assert page.reason == ""
