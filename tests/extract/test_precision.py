"""Precision rules that generalise across sites and languages: author boxes, credits,
paywall/newsletter prompts. Each fixture is self-made after a kind of page of the
multilingual benchmark's dev half that kept the box."""

import pytest

from monitor.extract import extract_page

POST = [
    "Am Montag begann die Saison mit einem Spiel, das lange niemand vergessen wird, so knapp war es.",
    "Im zweiten Teil des Beitrags geht es um die Frage, wie die Mannschaft den Winter überstanden hat.",
    "Zum Schluss noch ein Blick auf die Tabelle, die nach dem dritten Spieltag schon recht eindeutig ist.",
]


def _post(cls: str = "entry-content", extra: str = "") -> str:
    return f"<div class='{cls}'>" + "".join(f"<p>{p}</p>" for p in POST) + extra + "</div>"


def _assert_post(text: str) -> None:
    missing = [p for p in POST if p not in text]
    assert not missing, f"main text lost: {missing}"


def test_author_box_beside_a_wordpress_post_is_dropped():
    # "author-box" looked like WordPress's "author-<name>" taxonomy class and lost its chrome word.
    bio = "Matthias Weber ist Experte für Warenwirtschaft mit langjähriger Berufserfahrung in der Beratung."
    html = ("<html><body><div id='primary'>"
            "<article class='post-12 post type-post status-publish hentry category-news author-mweber'>"
            f"{_post()}</article>"
            f"<div class='author-box'><p class='author-description'>{bio}</p></div>"
            "</div></body></html>")
    page = extract_page(html)
    _assert_post(page.text)
    assert bio not in page.text


def test_bem_post_author_bio_is_dropped():
    # "post-author__bio" is a box of the post, not a WordPress "post-<id>" class.
    bio = "Alle Blogbeiträge zu unseren Themenbereichen werden vom Redaktionsteam und externen Autoren verfasst."
    html = ("<html><body><article class='single-post'>" + _post("post-text") +
            f"<div class='post-author'><div class='post-author__bio'><p>{bio}</p></div></div>"
            "</article></body></html>")
    page = extract_page(html)
    _assert_post(page.text)
    assert bio not in page.text


def test_wordpress_author_taxonomy_class_does_not_hide_the_post():
    html = ("<html><body><article class='post-7 post type-post status-publish hentry author-admin'>"
            f"{_post('text')}</article><footer>© 2024</footer></body></html>")
    page = extract_page(html)
    _assert_post(page.text)


@pytest.mark.parametrize("credit", [
    "Titelbild: Christophe Geyres/picture-alliance", "Foto: Ingo Pertramer", "Bild: Werk/Christian Houdek",
    "Crédits photos : Bestimage", "Photo credit: Jane Doe", "Quelle: jorisvo / Fotolia.com", "Źródło: ISBnews",
    "Der Läufer will für Furore sorgen. © AFP / Marco Bertorello", "Roman Prymula, photo: Archives du Gouvernement",
    "Copyright © 2020 Piratenpartei", "Fuente: Agencia EFE",
])
def test_credit_and_copyright_lines_are_dropped(credit):
    html = f"<html><body><article>{_post(extra=f'<p><em>{credit}</em></p>')}</article></body></html>"
    page = extract_page(html)
    _assert_post(page.text)
    assert credit not in page.text


@pytest.mark.parametrize("sentence", [
    "Die Fotos zeigen, wie voll es am Samstag auf dem Marktplatz war.",
    "Source code for the plugin is on the author's page, together with a short manual.",
    "Image quality matters less than you think when the light is right.",
])
def test_sentences_about_photos_and_sources_stay(sentence):
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{sentence}</p>')}</article></body></html>")
    assert sentence in page.text


@pytest.mark.parametrize("prompt", [
    "Follow The Daily Example on Twitter and Instagram @example and on Facebook.",
    "Síguenos en Telegram, Instagram, Facebook y Twitter para recibir todas nuestras actualizaciones",
    "To view the full story, please subscribe to The Example Times.",
    "If you enjoyed reading this post – would you consider supporting our work? Just click here.",
    "KATAPULT ist unabhängig. Unterstütze unsere Arbeit und abonniere das Magazin.",
    "Empfohlener redaktioneller Inhalt",
    "Ich bin damit einverstanden, dass mir externe Inhalte angezeigt werden.",
    "*Werbung. Dieser Beitrag enthält Werbung für eine Modemarke.",
    "Bei den Verlinkungen handelt es sich um Affiliate Links.",
    "This article is the copyrighted property of Example News. Written permission must be obtained before reprint.",
    "Materiał chroniony prawem autorskim - wszelkie prawa zastrzeżone.",
    "Get the latest news straight to your phone with the Example app.",
    "Lust auf mehr? Lass dir die besten Storys jede Woche in deinen Posteingang liefern.",
])
def test_publisher_prompts_in_many_languages_are_dropped(prompt):
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{prompt}</p>')}</article></body></html>")
    _assert_post(page.text)
    assert prompt not in page.text


@pytest.mark.parametrize("sentence", [
    "Wer Netflix abonniert, zahlt seit Januar zwei Euro mehr im Monat als zuvor.",
    "Many readers follow the debate on Twitter, where the minister answered within the hour.",
    "Affiliate links are how many small blogs pay their hosting bills, the study found.",
])
def test_sentences_about_subscriptions_and_links_stay(sentence):
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{sentence}</p>')}</article></body></html>")
    assert sentence in page.text


@pytest.mark.parametrize("box", [
    "<div class='TestReport__AuthorBox'><blockquote>{t}</blockquote></div>",  # camelCase words
    "<div id='kommentarModul'><p>{t}</p></div>",  # German compound
    "<div class='content-form-account-paywall'><h2>{t}</h2></div>",
    "<p class='aawp-disclaimer'>{t}</p>",
    "<p class='disclosure-text'>{t}</p>",
    "<div class='dida'>{t}</div>",  # Italian caption (didascalia)
    "<p class='postmetadata alt'>{t}</p>",  # WordPress classic themes' filed-under line
    "<div class='imageCaption'>{t}</div>",
])
def test_boxes_named_as_chrome_in_any_language_are_dropped(box):
    t = "Ein Satz in einem Kasten, der nicht zum Beitrag gehört, aber lang genug ist, um Prosa zu sein."
    page = extract_page(f"<html><body><article>{_post(extra=box.format(t=t))}</article></body></html>")
    _assert_post(page.text)
    assert t not in page.text


@pytest.mark.parametrize("header", [
    "<header class='entry-header'><h1>Der Titel</h1><p class='entry-excerpt'>{lead}</p></header>",
    "<div class='article-header'><h1>Der Titel</h1><div class='summary'>{lead}</div></div>",
])
def test_the_lead_in_an_articles_header_is_kept_and_its_byline_is_not(header):
    # The standfirst sits in the article's header, a chrome tag: it is the post's first paragraph.
    lead = "Seit Dezember 2015 verschickt die Kanzlei Abmahnungen, und nun hat ein Gericht darüber entschieden."
    byline = "Von Anna Beispiel, 12.01.2022"
    html = (f"<html><body><header class='site-header'><p>Das Magazin für Recht</p></header><article>"
            f"{header.format(lead=lead + '</p><p>' + byline if '<p' in header else lead)}"
            f"{_post()}</article></body></html>")
    page = extract_page(html)
    _assert_post(page.text)
    assert lead in page.text
    assert byline not in page.text
    assert "Das Magazin für Recht" not in page.text


@pytest.mark.parametrize("line", [
    "11 Jan 2019", "Letzte Änderung 14.02.2019", "12.12.2022, 08:30 Uhr", "Veröffentlicht am 06.12.2022",
    "Posted on April 29, 2022", "Dienstag, 2. November 2021", "Actualizado 27/04/2022 00:00", "Mis à jour le 3 mars 2021",
    "2021-03-04", "19:49",
])
def test_date_lines_are_dropped(line):
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{line}</p>')}</article></body></html>")
    _assert_post(page.text)
    assert line not in page.text


@pytest.mark.parametrize("line", ["Preis: 12.99", "12.99", "Am 3. März 2021 begann der Umbau des Bahnhofs.",
                                  "Kapitel 12"])
def test_lines_with_dates_or_numbers_in_a_sentence_stay(line):
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{line}</p>')}</article></body></html>")
    assert line in page.text


def test_a_subtitle_of_sentences_without_a_final_full_stop_is_a_lead():
    sub = ("Piogge, temporali e nevicate previste per oggi nelle regioni centrali. "
           "Neve sull'Appennino sopra i 1400 metri. Il bel tempo tornerà in poche ore")
    html = ("<html><body><article><header class='entry__header'><h2>Il titolo</h2>"
            f"<p class='entry__subtitle'>{sub}</p><p>di Mario Rossi</p></header>{_post()}</article></body></html>")
    page = extract_page(html)
    _assert_post(page.text)
    assert sub in page.text
    assert "Mario Rossi" not in page.text


@pytest.mark.parametrize("credit", [
    "Judy Eddy/WENN.com", "Natalie Naccache | Bloomberg | Getty Images",
    "Das Hermelin ist im Winter gut getarnt. (mlharing / iStock.com)", "Von David Hutzler, dpa",
])
def test_agency_credits_are_dropped(credit):
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{credit}</p>')}</article></body></html>")
    _assert_post(page.text)
    assert credit not in page.text


def test_a_news_lead_naming_its_agency_stays():
    lead = "Berlin (dpa) - Die Bundesregierung will das Gesetz noch vor der Sommerpause beschließen."
    page = extract_page(f"<html><body><article>{_post(extra=f'<p>{lead}</p>')}</article></body></html>")
    assert lead in page.text


def test_a_teaser_box_inside_the_post_is_dropped_unless_it_is_prose():
    box = ("<div class='contact-teaser'><div class='media-body'><strong>Naher Osten, Nordafrika</strong>"
           "<p>Referentin Anna Beispiel</p></div></div>")
    prose = ("Der Vorspann dieses Beitrags steht in einem Kasten, den das Layout Teaser nennt, "
             "und er ist doch ein langer Absatz aus ganzen Sätzen, der zum Beitrag gehört und den man lesen soll.")
    html = (f"<html><body><article>{_post(extra=box)}"
            f"<div class='article-teaser'><p>{prose}</p></div></article></body></html>")
    page = extract_page(html)
    _assert_post(page.text)
    assert "Naher Osten" not in page.text
    assert prose in page.text
