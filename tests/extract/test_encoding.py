"""Bytes → text: header charset, BOM, <meta charset>, detection; never mojibake."""

import codecs
import os
import re

import pytest

from monitor.extract import decode_html, extract_page
from tests.extract.conftest import shared

RU = "Новая статья о погоде: завтра в Москве ожидается сильный снегопад и гололёд на дорогах."
FR = "Le café de la gare a fermé ses portes après trente années de service à Genève, déçu."
PAGE = "<html><head>{meta}<title>t</title></head><body><article><p>{text}</p><p>{text}</p></article></body></html>"

MOJIBAKE = re.compile("Ã[\u0080-\u00bf]|â€|Ð[\u0080-\u00bf]Ð|Ñ[\u0080-\u00bf]Ñ|\ufffd")


def page(text, meta=""):
    return PAGE.format(meta=meta, text=text)


@pytest.mark.parametrize(
    "text, codec, meta, content_type",
    [
        (RU, "windows-1251", '<meta charset="windows-1251">', None),
        (RU, "koi8-r", '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">', None),
        (RU, "koi8-r", "", "text/html; charset=KOI8-R"),  # header only
        (RU, "windows-1251", "", None),  # no declaration at all: detection
        (RU, "koi8-r", "", None),
        (FR, "iso-8859-1", '<meta charset="ISO-8859-1">', None),
        (FR, "iso-8859-1", "", "text/html; charset=iso-8859-1"),
        (FR, "iso-8859-1", "", None),
        (FR, "utf-8", "", None),
        (RU, "utf-8", '<meta charset="windows-1251">', None),  # wrong declaration, valid UTF-8
        (RU, "windows-1251", "", "text/html; charset=ISO-8859-1"),  # an old server default, wrong
        (RU, "koi8-r", '<meta charset="windows-1252">', None),
    ],
)
def test_declared_and_undeclared_encodings(text, codec, meta, content_type):
    body = page(text, meta).encode(codec)
    assert text in decode_html(body, content_type)
    assert extract_page(body, content_type=content_type).text.split("\n\n") == [text, text]


@pytest.mark.parametrize("bom, codec", [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_bom_wins_over_wrong_declaration(bom, codec):
    body = bom + page(RU, '<meta charset="iso-8859-1">').encode(codec)
    assert extract_page(body, content_type="text/html; charset=iso-8859-1").text.split("\n\n") == [RU, RU]


def test_header_charset_wins_over_meta():
    body = page(FR, '<meta charset="utf-8">').encode("iso-8859-1")
    assert FR in decode_html(body, "text/html; charset=iso-8859-1")
    # the lying meta alone is not trusted either: the bytes are not UTF-8
    assert FR in decode_html(body, None)


def test_double_encoded_utf8_is_repaired():
    broken = "We don’t know what “discover“ means – café".encode("utf-8").decode("cp1252").encode("utf-8")
    assert decode_html(broken) == "We don’t know what “discover“ means – café"


def test_mostly_utf8_with_stray_latin1_bytes():
    body = "Jyväskylä and Zürich".encode("utf-8") + " — © 2009 ".encode("utf-8")[:0] + b" \xa9 2009"
    assert decode_html(body) == "Jyväskylä and Zürich © 2009"


def test_real_feeds_decode_without_mojibake():
    root = shared("feeds")
    checked = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith((".xml", ".html", ".rss", ".atom", ".txt")):
                continue
            raw = (root / dirpath / name).read_bytes()
            text = decode_html(raw)
            # Mojibake already present in the source bytes (valid UTF-8 of "â€") is not ours.
            try:
                source_bad = len(MOJIBAKE.findall(raw.decode("utf-8")))
            except UnicodeDecodeError:
                source_bad = 0
            assert len(MOJIBAKE.findall(text)) <= source_bad, name
            checked += 1
    assert checked > 100


def test_real_odd_encodings_read_right():
    root = shared("feeds") / "miniflux" / "internal" / "reader"
    expect = {
        "encoding/testdata/koi8r.xml": "Пример",
        "parser/testdata/encoding_WINDOWS-1251.xml": "Рунета",
        "parser/testdata/encoding_ISO-8859-1.xml": "ü",
        "parser/testdata/no_encoding_ISO-8859-1.xml": "é",
        "xml/testdata/iso88591_utf8_mismatch.xml": "Jürgen",
        "encoding/testdata/windows-1252.xml": "€",
        "encoding/testdata/iso-8859-1-meta-after-1024.html": "é",
    }
    for rel, needle in expect.items():
        assert needle in decode_html((root / rel).read_bytes()), rel


def test_latin_text_with_many_accents_stays_latin():
    # Accented letters, capitals and short all-accented words must not look like a
    # mis-declared Cyrillic page.
    text = "ÉTÉ À PARIS: Ça déçu. Ô été, où êtes-vous? Æðri Ísland øre ÅÄÖ. " * 6
    body = page(text, '<meta charset="iso-8859-1">').encode("cp1252")
    assert text in decode_html(body)
