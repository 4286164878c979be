"""Bytes → str without mojibake: HTTP charset, BOM, in-document declaration, then detection."""

from __future__ import annotations

import codecs
import re

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# <meta charset=...>, <meta http-equiv=content-type content="...charset=...">, <?xml encoding=...?>
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.I
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels browsers map to a wider encoding (WHATWG Encoding Standard): a page that says
# ISO-8859-1 or ASCII is decoded as windows-1252, which is a superset and what the author saw.
_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "iso-8859-9": "cp1254", "tis-620": "cp874",
    "x-sjis": "shift_jis", "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949", "x-user-defined": "cp1252", "unicode": "utf-16", "utf8": "utf-8",
}


def _codec(label: str | bytes | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A document that declares UTF-16 but reached us as bytes matched as ASCII did not
    # really mean it (the declaration was readable as ASCII): ignore such a label.
    return name


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_CHARSET.search(content_type)
    return _codec(m.group(1)) if m else None


def _try(body: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode an HTML (or feed) body.

    Order: byte-order mark (it cannot lie), charset of the HTTP Content-Type header,
    ``<meta charset>`` / http-equiv / XML prolog in the first 4 KB, then detection with
    charset-normalizer, then UTF-8 with replacement. A declared charset that fails to
    decode strictly is treated as a lie and the next step is tried; a declared single-byte
    charset on bytes that are valid UTF-8 with non-ASCII content is also overridden
    (a common server misconfiguration), because strict UTF-8 validity is very unlikely by
    chance.
    """
    if not body:
        return ""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = _try(body[len(bom):], codec)
            if text is not None:
                return text
    utf8 = _try(body, "utf-8")
    non_ascii = not body.isascii()
    declared = [charset_from_content_type(content_type)]
    head = body[:4096]
    m = _META_CHARSET.search(head)
    if m:
        declared.append(_codec(m.group(1) or m.group(2)))
    for codec in declared:
        if not codec:
            continue
        if codec.startswith(("utf-16", "utf-32")) and head.isascii():
            continue  # an ASCII-readable document cannot be UTF-16: the label is wrong
        if utf8 is not None and non_ascii and codec != "utf-8" and _single_byte(codec):
            return utf8
        text = _try(body, codec)
        if text is not None:
            return text
    if utf8 is not None:
        return utf8
    text = _detect(body)
    if text is not None:
        return text
    return body.decode("cp1252" if _single_byte_plausible(body) else "utf-8", errors="replace")


def _single_byte(codec: str) -> bool:
    try:
        return codecs.lookup(codec).name.startswith(("cp", "iso8859", "koi8", "mac", "latin", "tis"))
    except LookupError:
        return False


def _single_byte_plausible(body: bytes) -> bool:
    return b"\x00" not in body[:4096]


def _detect(body: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - it is a declared dependency
        return None
    # Detection over the whole of a large page is slow and no better than over a sample.
    best = from_bytes(body[:200_000]).best()
    if best is None:
        return None
    return _try(body, best.encoding) or body.decode(best.encoding, errors="replace")
