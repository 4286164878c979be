"""HTML → the post's own text. Pure: HTML in, values out.

    page = extract_page(html, url="https://blog.example/post.html")
    page.title, page.text, page.published, page.canonical_url, page.language, page.reason
"""

from monitor.extract.page import Extracted, extract_page

__all__ = ["Extracted", "extract_page"]
