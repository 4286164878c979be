"""A source's text from what the user gives: a file's bytes, a fetched page, an HTML string.

The one reading every route shares (config `file:`/`url:`, `sources add`, `sources import`,
`monitor.pipeline.Monitor.read_source`): HTML is extracted like a watched page, text is
decoded like a page (BOM, declared charset, detection), binary input is refused naming it.
Pure: bytes or str in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.extract import decode_html, extract_page

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")

# Formats a user might point at by mistake: what each is called in the error message.
_MAGIC = (
    (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a ZIP archive (or a Word/OpenDocument file)"),
    (b"\x1f\x8b", "a gzip archive"), (b"BZh", "a bzip2 archive"), (b"\x7fELF", "a program"),
    (b"RIFF", "a RIFF (audio/video/WebP) file"), (b"OggS", "an Ogg file"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"), (b"{\\rtf", "an RTF document"),
)
_UTF16_32 = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


class SourceError(ValueError):
    """A source that cannot be registered; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class SourceText:
    text: str
    title: str  # the page's title (HTML), else ""


def binary_kind(raw: bytes) -> str | None:
    """What a binary input looks like ("a PDF document", "binary data"), or None for text."""
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            return what
    if raw.startswith(_UTF16_32):
        return None  # UTF-16/32 text has NULs, and a BOM
    head = raw[:4096]
    controls = len(head) - len(head.translate(None, _CONTROL))
    return "binary data" if b"\x00" in head or controls > len(head) * 0.05 else None


def looks_like_html(raw: bytes | str, content_type: str | None = None) -> bool:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("text/html", "application/xhtml+xml"):
        return True
    if ct.startswith("text/") and ct != "text/html":
        return False
    head = raw[:1024]
    if isinstance(head, bytes):
        head = head.decode("latin-1")
    head = head.lstrip("\ufeff\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml", "<!--", "<meta", "<p>", "<div"))


def read_source(data: bytes | str, *, name: str, url: str | None = None, content_type: str | None = None,
                is_html: bool | None = None) -> SourceText:
    """The text (and title) to register for `data`: HTML when `is_html`, or when None and the
    content type or the first bytes say so; else text. `name` (a file, a URL, an import line)
    is what an error names. Raises SourceError."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if not data.strip():
            raise SourceError(f"{name}: empty")
        kind = binary_kind(data)
        if kind is not None:
            raise SourceError(f"{name}: {kind}, not text or HTML; give the article as a text or HTML file")
    if is_html is None:
        is_html = looks_like_html(data, content_type)
    if is_html:
        page = extract_page(data, url=url, content_type=content_type)
        if not page.text.strip():
            raise SourceError(f"{name}: {page.reason or 'no text found on the page'}")
        return SourceText(page.text, page.title)
    text = decode_html(data, content_type) if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise SourceError(f"{name}: no text")
    if "\x00" in text:
        raise SourceError(f"{name}: binary data, not text or HTML")
    return SourceText(text, "")
