"""Multilingual pages: never empty when there is text, the whole post kept, chrome in any
language dropped. One fixture per failure class of the multilingual benchmark's dev half
(tests/extract/data/multi/, written for these tests after the pages that failed)."""

import gzip
import json
import re

import pytest

from monitor.extract import extract_page
from tests.extract.conftest import DATA, shared

MULTI = DATA / "multi"


def page_of(name: str):
    return extract_page((MULTI / name).read_bytes())


def assert_has(text: str, wanted: list[str]) -> None:
    missing = [w for w in wanted if w not in text]
    assert not missing, f"main text lost: {missing}"


def assert_lacks(text: str, chrome: list[str]) -> None:
    found = [c for c in chrome if c in text]
    assert not found, f"chrome kept: {found}"


def test_german_blog_post_in_page_builder_widgets_is_kept():
    # Elementor wraps every text box in "elementor-widget": a weak chrome word that
    # gave "no main text found". Mostly-prose widgets are content; the share widget,
    # the German "related" box and the comments are not.
    page = page_of("blog_de_elementor.html")
    assert page.reason == ""
    assert_has(page.text, ["Am Freitagabend sind wir mit dem Zug", "Der Aufstieg zum Brocken",
                           "Oben angekommen gab es Erbsensuppe", "durch das Ilsetal zurückgewandert"])
    assert_lacks(page.text, ["Teilen", "Facebook", "Ähnliche Beiträge", "Eine Woche an der Ostsee",
                             "Kommentare", "Wie schön, dass ihr", "Schreibe einen Kommentar", "© 2024"])


def test_recipe_keeps_ingredients_beside_the_steps():
    # The ingredient table sits in a sibling box before the steps: it joins the post.
    page = page_of("recipe_de.html")
    assert_has(page.text, ["300 g Weizenmehl", "1 Pck. Backpulver", "Belag:", "1,5 kg säuerliche Äpfel",
                           "Mehl und Backpulver in einer Rührschüssel", "lauwarm schmeckt er am besten"])
    assert page.text.index("Weizenmehl") < page.text.index("Rührschüssel")  # document order
    assert_lacks(page.text, ["Das könnte dich auch interessieren", "Zwetschgenkuchen", "Alle Rechte vorbehalten"])


def test_product_description_in_sections_with_an_ads_modifier_is_kept():
    # "Product__Section--Ads" is a section that carries ads, not an ad: BEM modifiers
    # are weak chrome. The specification list inside is main text.
    page = page_of("product_de.html")
    assert page.reason == ""
    assert_has(page.text, ["in unserer kleinen Werkstatt einzeln zugeschnitten", "bei 30 Grad waschbar",
                           "Material", "100 % Polyester-Fleece", "150 × 200 cm"])
    assert_lacks(page.text, ["Warenkorb", "Sale", "AGB", "Noch keine Bewertungen", "© 2024"])


def test_event_page_served_inside_noscript_is_read():
    # The whole page is the no-JavaScript version inside <noscript>: it was stripped as a
    # notice and the page came back empty. Event details (a dl) and description are kept.
    page = page_of("event_it.html")
    assert page.reason == ""
    assert_has(page.text, ["sabato 12 luglio, ore 21", "Parco della Rimembranza",
                           "L'orchestra giovanile della città", "In caso di pioggia"])
    assert_lacks(page.text, ["Condividi", "Facebook", "Contatti", "Tutti i diritti riservati"])


def test_about_page_with_drupal_field_classes_is_kept():
    # "field--label-hidden" hides the field's label, not its text; "node--promoted" is a
    # front-page flag; the linked site header of a short page is not a teaser card.
    page = page_of("about_de_drupal.html")
    assert page.reason == ""
    assert_has(page.text, ["Der Verein Offene Netze wurde 2009", "ein freies Funknetz",
                           "Stimmrecht in der jährlichen Mitgliederversammlung"])
    assert_lacks(page.text, ["Impressum", "Projekte"])


def test_prose_only_in_chrome_looking_boxes_falls_back_and_says_so():
    paras = [
        "The first paragraph of a post whose theme labels every box as something else entirely.",
        "The second paragraph of the same post, long enough to be prose and not a caption line.",
        "A third paragraph, because a post of three paragraphs is still a post worth comparing.",
    ]
    html = ("<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav>"
            f"<div class='related-story'><p>{paras[0]}</p><p>{paras[1]}</p></div>"
            f"<div class='share-box-text'><p>{paras[2]}</p></div></body></html>")
    page = extract_page(html)
    assert_has(page.text, paras)
    assert page.reason.startswith("fallback: ")
    assert_lacks(page.text, ["Home", "About"])


def test_text_of_a_page_with_only_short_lines_is_not_lost():
    html = "<html><body><div class='sidebar'><p>Opening hours</p><p>Mon–Fri 9–17</p></div></body></html>"
    page = extract_page(html)
    assert "Mon–Fri 9–17" in page.text
    assert page.reason.startswith("fallback: ")


@pytest.mark.parametrize("line", [
    "Teilen", "Seite teilen", "Partager", "Partager sur Facebook", "Compartir", "Condividi", "Compartilhe",
    "Kongsi", "Bagikan", "Udostępnij", "Ähnliche Beiträge", "Das könnte Sie auch interessieren!",
    "Articles similaires", "À lire aussi", "Artículos relacionados", "Lee también", "Articoli correlati",
    "Leggi anche", "Artigos relacionados", "Leia também", "Baca juga", "Artikel berkaitan", "Zobacz także",
    "Schreibe einen Kommentar", "3 Kommentare", "Laisser un commentaire", "Deja un comentario",
    "Lascia un commento", "Deixe um comentário", "Tinggalkan Balasan", "Über den Autor", "Schlagworte:",
    "Étiquettes :", "Anzeige", "- Anzeige -", "Publicité", "Weiterlesen", "Lire la suite", "Leer más",
    "Dieser Artikel gefällt Ihnen?", "Alle Rechte vorbehalten", "Tous droits réservés", "4 Min. Lesezeit",
    "Das Thema könnte dich auch interessieren:", "Vorschau auf den nächsten Artikel",
])
def test_widget_lines_in_other_languages_are_dropped(line):
    post = "<p>" + "Ein Satz aus dem eigentlichen Beitrag, lang genug für einen Absatz. " * 3 + "</p>"
    html = f"<html><body><article>{post}<p>{line}</p>{post}</article></body></html>"
    page = extract_page(html)
    assert "Ein Satz aus dem eigentlichen Beitrag" in page.text
    assert line not in page.text


@pytest.mark.parametrize("sentence", [
    "Teilen Sie die Äpfel in Viertel und entfernen Sie das Kerngehäuse.",
    "Partager un repas avec des inconnus était le but de la soirée.",
    "Compartir la mesa con desconocidos fue lo mejor del viaje, y lo repetiremos.",
    "Kommentare wie dieser zeigen, wie sehr das Thema die Leute bewegt.",
])
def test_sentences_that_start_like_widget_lines_stay(sentence):
    post = "<p>" + "Ein Satz aus dem eigentlichen Beitrag, lang genug für einen Absatz. " * 3 + "</p>"
    page = extract_page(f"<html><body><article>{post}<p>{sentence}</p>{post}</article></body></html>")
    assert sentence in page.text


@pytest.mark.slow
def test_dev_half_has_no_empty_page():
    """On the benchmark's dev half (when present) no page with main text comes back empty."""
    base = shared("extract-dev-multi")
    segs = json.loads((base / "segments.json").read_text(encoding="utf-8"))
    empty = []
    for key, seg in segs.items():
        if not seg.get("with"):
            continue
        page = extract_page(gzip.decompress((base / "html" / f"{key}.html.gz").read_bytes()), url=seg.get("url"))
        if not re.sub(r"\s+", "", page.text):
            empty.append((key, page.reason))
    assert not empty
