"""First extractor: drop non-content elements, keep the densest block of paragraphs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

MAX_HTML_BYTES = 15 * 1024 * 1024

_DROP = "script, style, noscript, template, iframe, svg, form, nav, header, footer, aside, button"
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd", "dt"}
_BOILERPLATE_CLASS = re.compile(
    r"comment|share|sharing|social|related|sidebar|widget|footer|header|nav|menu|breadcrumb|"
    r"cookie|banner|advert|\bads?\b|popup|subscribe|newsletter|post-footer|labels|tags",
    re.I,
)
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str
    text: str
    published: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    reason: str = ""  # why the text is empty, when it is


def extract_page(html: str | bytes, url: str | None = None, content_type: str | None = None) -> Extracted:
    if isinstance(html, bytes):
        html = html[:MAX_HTML_BYTES].decode("utf-8", errors="replace")
    html = html[:MAX_HTML_BYTES]
    if not html.strip():
        return Extracted("", "", reason="empty page")
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("h1.post-title, h3.post-title, h1.entry-title, article h1, h1") or tree.css_first("title")
    title = _clean(title_node.text()) if title_node else ""
    canonical = tree.css_first('link[rel="canonical"]')
    html_node = tree.css_first("html")
    published = None
    for sel in ('meta[property="article:published_time"]', "time[datetime]", "abbr.published"):
        node = tree.css_first(sel)
        if node:
            published = node.attributes.get("content") or node.attributes.get("datetime") or node.attributes.get("title")
            break
    for node in tree.css(_DROP):
        node.decompose()
    for node in tree.css("[class], [id]"):
        names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        if _BOILERPLATE_CLASS.search(names) and not re.search(r"post-body|entry-content|article-body", names, re.I):
            node.decompose()
    root = tree.css_first(".post-body, .entry-content, article, [itemprop=articleBody], main") or tree.body
    text = _block_text(root) if root is not None else ""
    return Extracted(
        title=title,
        text=text,
        published=published,
        canonical_url=canonical.attributes.get("href") if canonical else None,
        language=(html_node.attributes.get("lang") if html_node else None) or None,
        reason="" if text else "no main text found",
    )


def _block_text(root) -> str:
    """Text with one paragraph per block element; inline text between blocks is kept too."""
    parts: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = _clean("".join(buf))
        if line:
            parts.append(line)
        buf.clear()

    def walk(node) -> None:
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                buf.append(child.text_content or "")
            elif tag == "br":
                flush()
            elif tag in _BLOCKS or tag in {"div", "section", "article", "ul", "ol", "table", "tr"}:
                flush()
                walk(child)
                flush()
            else:
                walk(child)
            child = child.next

    walk(root)
    flush()
    return "\n\n".join(parts)


def _clean(s: str) -> str:
    return _WS.sub(" ", s).strip()
