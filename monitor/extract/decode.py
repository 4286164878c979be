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
    declared: list[str | None] = [charset_from_content_type(content_type)]
    head = body[:4096]
    m = _META_CHARSET.search(head)
    if m:
        declared.append(_codec(m.group(1) or m.group(2)))
    for label in declared:
        if not label:
            continue
        codec = label
        if codec.startswith(("utf-16", "utf-32")) and head.isascii():
            continue  # an ASCII-readable document cannot be UTF-16: the label is wrong
        if utf8 is not None and non_ascii and codec != "utf-8" and _single_byte(codec):
            return utf8
        text = utf8 if codec == "utf-8" else _try(body, codec)
        if text is not None and _LATIN.match(codec) and _misdeclared(text):
            # A Cyrillic/Greek/... page labelled Latin-1 (an old server default): detect.
            detected = _detect(body)
            if detected is not None and not _misdeclared(detected):
                return detected
        if text is not None:
            return _repair(text) if codec == "utf-8" and _maybe_double(body) else text
    if utf8 is not None:
        return _repair(utf8) if _maybe_double(body) else utf8
    text = _mostly_utf8(body)
    if text is not None:
        return text
    text = _detect(body)
    if text is not None:
        return text
    return body.decode("cp1252" if _single_byte_plausible(body) else "utf-8", errors="replace")


def _mostly_utf8(body: bytes) -> str | None:
    """UTF-8 with a few stray Latin-1/windows-1252 bytes (a feed assembled from two
    sources): decode UTF-8 and read only the invalid bytes as windows-1252. Used when valid
    multi-byte sequences outnumber the invalid bytes."""
    text = body.decode("utf-8", errors="surrogateescape")
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    if bad == 0 or good <= bad:
        return None
    return re.sub(
        "[\udc80-\udcff]",
        lambda m: bytes([ord(m.group()) - 0xDC00]).decode("cp1252", errors="replace"),
        text,
    )


# UTF-8 that was decoded as windows-1252 and encoded again ("donâ€™t", "cafÃ©"): a lead
# character of a 2-4 byte sequence followed by continuation characters, as cp1252 shows them.
_CONT = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_DOUBLE = re.compile(f"[\u00c2-\u00df][{_CONT}]|[\u00e0-\u00ef][{_CONT}]{{2}}|[\u00f0-\u00f4][{_CONT}]{{3}}")
_DOUBLE_HINT = re.compile("[\u00c2\u00c3\u00e2\u00d0\u00d1][\u0080-\u00bf\u20ac\u2122\u2019\u201c\u201d]")


# UTF-8 bytes of "Ã", "Â", "â€", "Ð", "Ñ": a fast byte search before any regex work.

_DOUBLE_BYTES_RE = re.compile(rb"\xc3[\x82\x83\x90\x91]|\xc3\xa2\xe2\x82\xac")


def _maybe_double(body: bytes) -> bool:
    # All the markers start with 0xC3: one scan for it settles most pages.
    return b"\xc3" in body and _DOUBLE_BYTES_RE.search(body) is not None


def _as_cp1252_bytes(s: str) -> bytes:
    return b"".join(bytes([ord(c)]) if ord(c) < 256 else c.encode("cp1252") for c in s)


def _repair(text: str) -> str:
    """Undo double encoding, only where it is unambiguous: each repaired run must be valid
    UTF-8, and at least two runs must be present (one "Ã©" may be a real Ã followed by ©)."""
    if not _DOUBLE_HINT.search(text):
        return text
    runs = _DOUBLE.findall(text)
    if len(runs) < 2:
        return text

    def fix(m: re.Match) -> str:
        try:
            return _as_cp1252_bytes(m.group()).decode("utf-8")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return m.group()

    return _DOUBLE.sub(fix, text)


def _single_byte(codec: str) -> bool:
    try:
        return codecs.lookup(codec).name.startswith(("cp", "iso8859", "koi8", "mac", "latin", "tis"))
    except LookupError:
        return False


def _single_byte_plausible(body: bytes) -> bool:
    return b"\x00" not in body[:4096]


# A word of 3+ letters all in U+00C0-U+00FF ("Íîâàÿ"): how a Cyrillic, Greek, Hebrew or Arabic
# single-byte page reads in a Latin code page, where non-ASCII letters are most of every word.
# Real Latin-script words mix accented letters with ASCII ones ("déçu", "Genève", "æði").
_HIGH_WORD = re.compile("(?<![A-Za-z\u00c0-\u00ff])[\u00c0-\u00ff]{3,}(?![A-Za-z\u00c0-\u00ff])")
MISDECLARED_WORDS = 8  # about a sentence of such words; one or two may be a name in capitals


def _misdeclared(text: str) -> bool:
    return len(_HIGH_WORD.findall(text, 0, 200_000)) >= MISDECLARED_WORDS


_LATIN = re.compile(r"^(?:iso8859_(?:1|2|3|4|9|10|13|14|15|16)|cp125[02478]|mac_(?:roman|latin2|iceland)|latin_1|cp850|cp858|hp_roman8)$")


def _detect(body: bytes) -> str | None:
    """charset-normalizer's guess; among equally good guesses, windows-1252 (the web's
    default for undeclared pages, WHATWG) wins: short Western texts decode without chaos
    in many Latin code pages, and the detector's tie-break among them is arbitrary."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - it is a declared dependency
        return None
    # Detection over the whole of a large page is slow and no better than over a sample.
    matches = list(from_bytes(body[:200_000]))
    non_ascii = sum(1 for b in body[:200_000] if b > 127)
    if not matches or matches[0].percent_chaos > 10 or non_ascii < 16:
        # No convincing guess, or too few non-ASCII bytes to tell a CJK code page from a
        # Latin one: windows-1252 when it decodes (a few accented letters are the usual case).
        text = _try(body, "cp1252")
        if text is not None or not matches:
            return text
    best = matches[0]
    # Among Latin guesses the detector's choice is a coin toss on short texts (it picked
    # iso8859_10 for plain French): windows-1252 wins when it is nearly as clean.
    slack = 5.0 if _LATIN.match(best.encoding) else 0.5
    for m in matches:
        if m.percent_chaos > best.percent_chaos + slack:
            break
        if m.encoding == "cp1252" or "cp1252" in m.could_be_from_charset:
            best = m
            break
    return _try(body, best.encoding) or body.decode(best.encoding, errors="replace")
