"""HTML → the post's own text. Pure: HTML in, values out (no network, DB or files).

    page = extract_page(html, url="https://blog.example/post.html")
    page.title, page.text, page.published, page.canonical_url, page.language, page.reason

    text = extract_fragment(entry_content_html)     # feed content:encoded, no page chrome
    html = decode_html(body_bytes, "text/html; charset=koi8-r")
    bp = SiteBoilerplate.from_dict(stored); bp.observe(text); bp.strip(text); bp.to_dict()
"""

from monitor.extract.boilerplate import SiteBoilerplate
from monitor.extract.decode import decode_html
from monitor.extract.page import MAX_HTML_BYTES, Extracted, extract_fragment, extract_page

__all__ = ["MAX_HTML_BYTES", "Extracted", "SiteBoilerplate", "decode_html", "extract_fragment", "extract_page"]
