"""HTML page → the post's own text and metadata. Pure: HTML in, values out.

How (details and thresholds in README.md next to this file):

1. Decode (``decode_html``), cap the size, parse with Lexbor, read metadata from the head.
2. Drop elements that never carry prose (scripts, styles, forms controls, hidden nodes).
3. One walk over the DOM turns the body into *blocks* (runs of inline text between
   block-level boundaries), each remembering its nearest block element, its link text and
   the chain of its ancestors. Block elements get a *hint* from their tag and class/id words
   (``entry-content`` +, ``comments``/``share``/``related``/``sidebar`` −).
4. The main container is the element whose subtree maximises a text score: long,
   link-poor blocks count for their length, link-heavy and chrome-hinted blocks against.
5. Inside it, blocks under chrome-hinted elements, link lists and short boilerplate lines
   ("Share this:", "No comments:", "Leave a Reply", "Labels:") are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from operator import sub

from selectolax.lexbor import LexborHTMLParser

from monitor.extract.decode import decode_html
from monitor.extract import meta as _meta

MAX_HTML_BYTES = 15 * 1024 * 1024  # larger input is cut here before parsing
MAX_DEPTH = 200  # below this nesting depth an element's text is taken flat (no recursion)
MAX_PARSE_DEPTH = 2000  # tags nested deeper are removed before parsing (their text kept)
SCAN_MIN_TAGS = 5000  # fewer opening tags than this cannot make parsing slow: no depth scan
# Fall back from the chosen container when it holds under FALLBACK_SHARE of the page's
# prose outside chrome, and that prose is at least FALLBACK_MIN chars.
FALLBACK_SHARE = 0.3
FALLBACK_MIN = 400
SIBLINGS_AT_BODY = False  # the body's other children are not siblings of the post (sidebars, footers)
SIBLING_PROSE = 80  # chars: a paragraph of a sibling box this long (and link-poor) joins the container
CREDIT_MAX = 160  # chars: a line this short with "©" or "Foto:" is a credit, not the post's text
PROMPT_MAX = 300  # chars: a follow/subscribe/support/disclosure prompt is one short paragraph
# Hint of a header (the <header> tag, or "header" the only chrome word of a class): chrome,
# except the lead paragraph an article's header holds (see _is_lead).
HEADER = -3
WEAK_PROSE = 160  # chars of prose that make a weak-chrome box (widget, meta) content
NOSCRIPT_PAGE = 1000  # chars: a <noscript> holding this much text is a page, not a notice
CARD_MAX = 600  # chars: a linked heading plus up to this much text is a teaser card

# Elements that never hold the post's prose. Removed in C before the Python walk.
_STRIP = [
    "script", "style", "noscript", "template", "iframe", "svg", "math", "object", "embed",
    "canvas", "button", "select", "input", "textarea", "option", "link", "meta", "head",
    "video", "audio", "map", "dialog", "menu", "title",
]
# Inline elements: their text joins the surrounding block.
_INLINE = frozenset(
    "a abbr b bdi bdo cite code data dfn em font i img kbd label mark q s samp small span strike "
    "strong sub sup time tt u var wbr del ins nobr big picture source ruby rt rp".split()
)
# Block elements that are paragraphs of the text when they hold inline text.
_PARA = frozenset("p h1 h2 h3 h4 h5 h6 li blockquote pre dd dt tr figcaption caption address".split())
_CELLS = frozenset(("td", "th"))
# What a sibling box before the container brings: rows of lists, tables and definition
# lists, paragraphs and section headings (not h1, dates or bylines: the article header).
_SIBLING_TAGS = frozenset("li tr dd dt p h2 h3 h4 h5 h6".split())
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# Tags that are chrome wherever they are.
_CHROME_TAGS = frozenset("nav aside footer header form fieldset figcaption".split())

# class/id words. Matched against each word of class and id, split on - _ and space.
_NEG_WORDS = frozenset(
    """ad ads adv advert advertisement advertising adsense sponsor sponsored promo
    banner sidebar nav navbar navigation menu breadcrumb breadcrumbs
    footer header masthead topbar toolbar share shares sharing sharedaddy addtoany a2a social
    sociable comment comments commentlist respond disqus related relatedposts recommended
    recommendations trending popular outbrain taboola newsletter subscribe subscription
    signup cookie cookies consent gdpr popup modal overlay
    skip pagination pager jump blog-pager archive feeds follow login search reactions
    tags tag tagcloud labels categories category byline author bio caption credit
    rating more
    teilen kommentare kommentar werbung anzeige verwandte aehnliche partage partager
    commentaires publicite compartir comentarios relacionados relacionadas condividi
    commenti correlati partilhar comentarios kongsi bagikan komentar berkaitan terkait
    iklan reklama autor autorin auteur autore penulis copyright credits
    paywall disclaimer disclosure postmetadata didascalia dida bildunterschrift bildtext legende""".split()
)
# Weak chrome words: often chrome, but page builders and themes also put them on the
# boxes that hold the text ("elementor-widget", Drupal's "field-label-above"). An element
# with one of these that is mostly prose is not chrome (see _analyse).
_WEAK_WORDS = frozenset(
    # "hidden" here is a word of a compound class ("hidden-xs": hidden on phones only).
    "widget widgets side meta postmeta toc promoted label print hidden teaser teasers".split()
)
# Substrings that mark chrome even inside longer words (sharedaddy, relatedposts, ...).
_NEG_SUB = re.compile(
    r"share|social|comment|related|sidebar|cookie|newsletter|breadcrumb|advert|sponsor|"
    r"outbrain|taboola|addtoany|disqus|subscri|recirc|popular|footer|"
    r"navigation|navbar|banner|kommentar|comentari|komentar|paywall|caption",
    re.I,
)
# Whole class tokens that hide an element. Compound ones ("field-label-hidden": the label
# is hidden; "hidden-xs": hidden on phones only) do not hide the element's text.
_HIDDEN_CLASSES = frozenset("hidden visually-hidden sr-only screen-reader-text d-none hide".split())
_POS_WORDS = frozenset(
    "article articlebody content entry post body story text main blog hentry prose "
    "postbody entrycontent storybody".split()
)
_EMBED_WORDS = frozenset("embed embedded tweet twitter-tweet instagram-media quote".split())
_POS_STRONG = re.compile(
    r"article[-_]?body|articlebody|entry[-_]content|post[-_]?body|post[-_]content|"
    r"story[-_]?body|article[-_]content|article[-_]text|main[-_]content|content[-_]body|"
    r"post[-_]entry|blog[-_]post|single[-_]post|text[-_]content",
    re.I,
)
_STRONG_SEL = (
    "[itemprop~=articleBody], [class*=entry-content], [class*=post-body], [class*=article-body], "
    "[class*=articleBody], [class*=story-body], [class*=post-content], [class*=article-content], "
    "[id*=post-body], [id*=article-body], p"
)
# post-<digits>/post-template-x/post-type-x are WordPress's; "post-author", "post-footer"
# are boxes and keep their chrome words.
_TAXONOMY = re.compile(
    r"(?<!\S)(?:(?:category|tag|tags|status|format|has|type|postid|label|comments?)-\S*|post-(?:\d|template|type|format)\S*)", re.I
)
# "author-<name>" is a taxonomy class only beside the other classes of WordPress's
# post_class()/body_class(); elsewhere "author-box", "author-bio" are the author box.
_AUTHOR_TAXONOMY = re.compile(r"(?<!\S)author-\S*", re.I)
_POST_CLASS = re.compile(r"(?<!\S)(?:hentry|status-\w+|type-\w+|postid-\d+|post-\d+)(?!\S)", re.I)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[\s_\-:]+")

# Short lines that are widgets or comment/share chrome, in the languages we meet.
_BOILER_LINE = re.compile(
    r"^(?:share\s+(?:this|on)\b|share\s*:|buat lebih berguna|kongsi\b|no comments?\b|"
    r"\d+\s+comments?\b|post a comment|leave a (?:reply|comment)|related(?: posts| articles)?\s*:?$|"
    r"you may also like|read more\b|labels?\s*:|tags?\s*:|filed under|posted (?:by|in)\b|"
    r"like this:|loading\.\.\.|click to share|advertisement$|sponsored$|subscribe to our\b|"
    r"sign up (?:for|to) our\b|follow us\b|newer post|older post|home$|subscribe to:|print$|email$|"
    r"tweet$|pin it$|facebook$|twitter$|whatsapp$|linkedin$|reddit$|telegram$|"
    r"we use cookies|this (?:web)?site uses cookies|copyright\b|©|all rights reserved|"
    r"related:|related tags|see also:|more from\b|recommended for you|popular posts|blog archive|"
    r"advert(?:isement)?$|this slideshow requires javascript|don'?t miss$|our latest stories|"
    r"\[\w+[^\]]*\].*\[/\w+\]$|"  # an unrendered WordPress shortcode
    r"(?=.{0,100}$).*\b(?:newsletters?|in your inbox|to your inbox)\b)",
    re.I,
)
# The same widget lines in the commonest other blog languages. One alternative per kind
# (share, comments, related, tags, author box, ads, cookies, reading prompts), so a new
# language is a few words. Anchored at the start; one-word lines also at the end, so
# "Teilen" goes but a sentence starting "Teilen Sie ..." stays.
_BOILER_INTL = re.compile(
    r"^(?:"
    # share
    r"(?:(?:seite|artikel|beitrag)\s+)?teilen\s*:?$|jetzt teilen|teile(?:n sie)? diesen|auf \w+ teilen|"
    r"partager(?: sur \w+| cet article| la publication)?\s*:?$|partagez|compartir(?: en| este)?\b.{0,30}$|"
    r"compartilh(?:e|ar)\b.{0,30}$|partilh(?:e|ar)\b.{0,30}$|condividi\b.{0,30}$|kongsi(?:kan)?\b|bagikan\b|"
    r"udostępnij\b|"
    # comments
    r"(?:\d+\s+)?(?:kommentare?|commentaires?|comentarios?|comentários?|commenti|commento|komentar|komen|"
    r"komentarze?)\s*(?:\(\d+\))?:?$|"
    r"(?:keine|kein) kommentare?|(?:schreibe|schreiben sie) einen kommentar|kommentar (?:schreiben|verfassen)|"
    r"(?:laisser|laissez|ajouter) un commentaire|deja (?:un|tu) comentario|dejar un comentario|"
    r"lascia un commento|deixe (?:um|o seu|seu) comentário|tinggalkan (?:balasan|komentar)|"
    r"sin comentarios|aucun commentaire|nessun commento|tiada komen|belum ada komentar|"
    # related, read on
    r"(?:ähnliche|verwandte|weitere|passende) (?:themen|artikel|beiträge|nachrichten|posts|rezepte)\b|"
    r"(?:das|dies)\w*(?: \w+)? könnte (?:sie|dich|euch) (?:auch |ebenfalls )?interessieren|auch interessant|mehr zum thema|lesen sie (?:auch|mehr)|"
    r"weiterführende (?:informationen|links|artikel)|empfehlungen (?:aus|der|für)\b|"
    r"(?:articles?|publications?) (?:similaires|liés|connexes|recommandés)|(?:à )?lire aussi|voir aussi|"
    r"sur le même sujet|(?:artículos|noticias|temas|entradas) relacionad[oa]s|lee también|te puede interesar|"
    r"(?:articoli|post) correlati|leggi anche|potrebbe interessarti|ti potrebbe interessare|"
    r"(?:artigos|notícias|posts) relacionad[oa]s|leia também|veja também|você (?:também )?pode gostar|"
    r"(?:artikel|berita|bacaan) (?:berkaitan|terkait|lainnya)|baca juga|zobacz (?:też|także|również)|"
    r"czytaj (?:też|także|również)|"
    # tags, categories
    r"(?:schlagw(?:orte|örter)|stichw(?:orte|örter)|themen|kategorien?|markiert mit|"
    r"étiquettes|mots-clés|catégories?|etiquetas|categorías?|etichette|categorie|tag|"
    r"categorias?|tagi|kategorie|label)\s*:?$|(?:schlagworte|themen|étiquettes|etiquetas|etichette|temas)\s*:|"
    # author box
    r"(?:über den autor|über die autorin|zum autor|zur autorin|à propos de l'auteur|sobre (?:el|o) autor|"
    r"sull'autore|tentang penulis|o autorze)\b|"
    # ads, paywall, support
    r"-?\s*(?:anzeige|werbung|publicité|publicidad|pubblicità|publicidade|iklan|reklama)\s*-?$|"
    r"(?:dieser|der) (?:artikel|beitrag) (?:gefällt|hat (?:ihnen|dir) gefallen)|artikel gefallen\?|"
    r"hat (?:ihnen|dir) (?:dieser|der) (?:artikel|beitrag) gefallen|"
    # cookies, privacy
    r"(?:wir verwenden|diese (?:web)?seite verwendet|nous utilisons des|utilizamos|utilizziamo i|"
    r"usamos|korzystamy z|kami menggunakan) (?:cookies?|kuki)\b|wir respektieren (?:deine|ihre) privatsphäre|"
    # reading prompts, print, navigation
    r"(?:weiterlesen|mehr lesen|lire la suite|leer más|leggi (?:di più|tutto)|leia mais|baca (?:selengkapnya|lagi))\b|"
    r"(?:drucken|imprimer|imprimir|stampa|cetak|drukuj)$|"
    r"(?:vorschau auf )?(?:den )?(?:nächste[nr]?|vorherige[nr]?) (?:artikel|beitrag)|article (?:précédent|suivant)|artículo (?:anterior|siguiente)|"
    r"articolo (?:precedente|successivo)|artigo (?:anterior|seguinte)|(?:artikel|pos) (?:sebelumnya|selanjutnya)|"
    r"\d+\s*min(?:ute[ns]?)?\.?\s+(?:read|lesezeit|de lecture|de lectura|di lettura|de leitura)$|"
    r"lesezeit\s*:?\s*\d+|\(?noch keine bewertungen|kommentare? schreiben|"
    # copyright
    r"alle rechte vorbehalten|vervielfältigung nur|urheberrechtlich geschützt|tous droits réservés|"
    r"todos los derechos reservados|tutti i diritti riservati|todos os direitos reservados|"
    r"hak cipta|materiał chroniony prawem"
    r")",
    re.I,
)
# Photo credits, sources and copyright lines: who owns a picture or the page, never the
# post's text. A short line holding "©", starting with a credit label, or with one after
# a caption ("Roman Prymula, photo: ...").
_CREDIT_LABEL = (
    r"(?:(?:titel|beitrags|vorschau|header|cover)?bild(?:er)?(?:quelle|nachweis)?|fotos?(?:nachweis|quelle)?|"
    r"photos?|images?|imagen|immagine|imagem|gambar|zdjęcie|fot\.|quelle|source|sources|źródło|fonte|fuente|"
    r"sumber|cr[ée]dits?(?: photos?| images?)?|(?:photo|image|picture|foto)\s+(?:credit|courtesy)s?)"
)
_CREDIT_LINE = re.compile(
    rf"©|^\(?{_CREDIT_LABEL}\s*:|[,|/–-]\s*(?:photo|foto|bild|image)\s*:",
    re.I,
)
# Prompts the publisher adds to every post: follow us, subscribe, support us, consent
# placeholders of embeds, affiliate/ad disclosures, reprint rights. Matched anywhere in a
# line under PROMPT_MAX chars; each alternative needs the publisher's voice ("our",
# "please", "uns", an imperative), so a sentence about subscriptions in a post stays.
_PROMPT_LINE = re.compile(
    r"^(?:follow|folge|folgt|folgen sie|suivez|síguenos|siguenos|seguici|siga-nos|sigam|ikuti)\b.{0,80}"
    r"\b(?:twitter|facebook|instagram|telegram|linkedin|youtube|tiktok|whatsapp)|"
    r"\b(?:please subscribe|subscribe (?:now|today|to (?:our|the))|subscribers? (?:also )?(?:get|receive)|"
    r"jetzt abonnieren|abonnieren sie|abonnez-vous|suscríbete|abbonati|assine (?:já|agora))\b|"
    r"support (?:our|us|independent) (?:work|journalism)|consider supporting|unterstütze(?:n sie)? (?:uns|unsere)\b|"
    r"jede (?:kleine )?spende|soutenez[- ]nous|apoya (?:nuestro|el periodismo)|hazte (?:miembro|socio)|"
    r"sostienici|sostieni (?:il nostro|la nostra)|apoie (?:o nosso|nosso|a nossa)|"
    r"empfohlener redaktioneller inhalt|einen externen inhalt von|ich bin damit einverstanden, dass mir externe|"
    r"(?:dieser|der) (?:beitrag|artikel|post) enthält (?:werbung|affiliate)|"
    r"(?:enthält|contains?|sind|are|handelt es sich um|sogenannte|sog\.)\s+[„\"]?affiliate[- ]links?|"
    r"all rights reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados|"
    r"tutti i diritti riservati|wszelkie prawa zastrzeżone|materiał chroniony prawem|copyrighted (?:property|material)|"
    r"(?:without|with) (?:the )?(?:prior )?written permission|"
    r"straight to your (?:phone|inbox)|download (?:our|the)\b.{0,30}\bapps?\b|in (?:deinen|ihren) posteingang|"
    r"already (?:a )?subscriber",
    re.I,
)
# A line that is only a date (and time), maybe labelled ("Veröffentlicht am", "Updated",
# "Mis à jour le"): page metadata (Extracted.published), not the post's text; a copy
# of the post carries its own date.
_DATE_LINE = re.compile(
    r"""^(?:(?:zuletzt\ )?(?:aktualisiert|geändert|veröffentlicht|erschienen|letzte\ änderung|stand|datum|last\ updated|updated|published|posted|publié|mis\ à\ jour|publicado|actualizado|pubblicato|aggiornato|diterbitkan|dikemaskini)(?:\ am|\ on|\ le|\ el|\ il|\ pada)?\s*:?\s*)?
(?:(?:mo|di|mi|do|fr|sa|so|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?
(?:\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\.?\s+[^\W\d]{3,10}\.?,?\s+\d{4}|[^\W\d]{3,10}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}:\d{2})
(?:,?\s*(?:um\ |at\ |à\ |-\ |\|\ )?\d{1,2}[:.]\d{2}(?:\s*(?:uhr|h|am|pm|cet|cest|mez|utc))?)?\s*$""",
    re.I | re.X,
)
# A short line ending with a picture or news agency after "|", "/" or "(" is a credit
# ("Judy Eddy/WENN.com", "Natalie Naccache | Bloomberg | Getty Images", "(dpa)" after a
# caption); a news lead naming its agency first ("Berlin (dpa) - ...") goes on and stays.
_AGENCY_CREDIT = re.compile(
    r"""(?:^|[|/]\s*|\(\s*)[^|/()]{0,40}?\b(?:getty\s?images|istock(?:photo)?(?:\.com)?|shutterstock(?:\.com)?|adobe\s?stock|stock\.adobe\.com|fotolia(?:\.com)?|unsplash(?:\.com)?|pixabay(?:\.com)?|pexels(?:\.com)?|dpa|picture[-\ ]alliance|imago(?:\ images)?|afp|reuters|ap\ photo|epa|keystone|wenn(?:\.com)?|depositphotos|123rf|alamy|freepik|bloomberg)\W*$""",
    re.I | re.X,
)
# Words one of which every _PROMPT_LINE / _AGENCY_CREDIT alternative holds: a substring
# test on these is far cheaper than an unanchored search with many alternatives.
_PROMPT_KEYS = (
    "twitter facebook instagram telegram linkedin youtube tiktok whatsapp subscri abonn suscr abbona "
    "assine support unterstütz spende soutenez apoya hazte sostien apoie inhalt einverstanden enthält "
    "affiliate rights rechte droits derechos diritti prawa chroniony copyright permission straight "
    "download posteingang"
).split()
_AGENCY_KEYS = (
    "getty istock shutterstock stock fotolia unsplash pixabay pexels dpa alliance imago afp reuters "
    "ap photo epa keystone wenn depositphotos 123rf alamy freepik bloomberg"
).split()


def _has_key(text: str, keys: list[str]) -> bool:
    low = text.lower()
    return any(k in low for k in keys)


_URL_LINE = re.compile(r"^(?:https?://|www\.)\S+$")
_ELLIPSIS_END = re.compile(r"(?:\.\.\.|…|\[…\]|\[\.\.\.\])\s*$")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u200b\u2009\u202f\ufeff]+")
_SENT_IN = re.compile(r"[^\W\d]{2}[.!?] [^\W\d]")  # a sentence ends inside the text
_SENT_END = re.compile(r"[.!?。！？…\"”»)]\s*$")


@dataclass(frozen=True, slots=True)
class Extracted:
    title: str
    text: str
    published: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    # Why the text is empty, when it is; otherwise how it was found when not by the normal
    # container choice ("fallback: densest prose region", "nesting deeper than 2000 flattened").
    reason: str = ""


class _Block:
    __slots__ = ("raw", "link", "elem", "text", "tag", "len", "score")
    raw: str
    link: int
    elem: int
    text: str
    tag: str
    len: int
    score: float

    def __init__(self, raw, link, elem, tag):
        self.raw = raw
        self.link = link
        self.elem = elem
        self.tag = tag


def extract_page(
    html: str | bytes,
    url: str | None = None,
    content_type: str | None = None,
) -> Extracted:
    """Title, main text ("\\n\\n" between paragraphs), date, canonical URL, language.

    Never raises on bad input: an empty, binary or text-less page gives ``text == ""`` and
    a ``reason``.
    """
    html, reason = _prepare(html, content_type)
    if reason:
        return Extracted("", "", reason=reason)
    html, flattened = flatten_deep(html)
    try:
        tree = LexborHTMLParser(html)
    except Exception as exc:  # lexbor refuses very odd input
        return Extracted("", "", reason=f"unparseable HTML: {exc}")
    info = _meta.read(tree, url)
    body = tree.body
    if body is None:
        return Extracted(info.title, "", info.published, info.canonical_url, info.language, "no body")
    try:
        text, how = _extract_text(tree, body, info.title)
    except RecursionError:  # a safety net: MAX_DEPTH should make this unreachable
        return Extracted(info.title, "", info.published, info.canonical_url, info.language, "page nested too deeply")
    return Extracted(
        title=info.title,
        text=text,
        published=info.published,
        canonical_url=info.canonical_url,
        language=info.language,
        reason="; ".join(filter(None, (
            (f"fallback: {how}" if how else "") if text else "no main text found",
            f"nesting deeper than {MAX_PARSE_DEPTH} flattened" if flattened else "",
        ))),
    )


def extract_fragment(html: str | bytes, url: str | None = None, content_type: str | None = None) -> str:
    """Text of an HTML fragment that is the post itself (feed ``content:encoded``).

    No container search: there is no page chrome around it. Share widgets, link lists and
    boilerplate lines inside it are still dropped.
    """
    html, reason = _prepare(html, content_type)
    if reason:
        return ""
    html = flatten_deep(html)[0]
    try:
        tree = LexborHTMLParser(f"<html><body>{html}</body></html>")
    except Exception:
        return ""
    if tree.body is None:
        return ""
    try:
        return _main_text(tree, tree.body, "", fragment=True)
    except RecursionError:
        return ""


def _prepare(html: str | bytes, content_type: str | None) -> tuple[str, str]:
    if html is None:
        return "", "empty input"
    if isinstance(html, (bytes, bytearray, memoryview)):
        raw = bytes(html[:MAX_HTML_BYTES])
        if not raw.strip():
            return "", "empty input"
        if _looks_binary(raw):
            return "", "binary input, not HTML"
        html = decode_html(raw, content_type)
    elif not isinstance(html, str):
        return "", f"unsupported input type {type(html).__name__}"
    if len(html) > MAX_HTML_BYTES:
        html = html[:MAX_HTML_BYTES]
    if not html.strip():
        return "", "empty input"
    if "\x00" in html[:2048]:
        if html.count("\x00", 0, 2048) > 8:
            return "", "binary input, not HTML"
        html = html.replace("\x00", "")
    return html, ""


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*>?")
# Tags that do not nest: void elements, and the ones a new sibling closes implicitly
# (an unclosed run of <p>, <li>, <td> does not go deeper).
_FLAT_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr p li dt dd option tr td th".split()
)
_NESTING = re.compile(r"<(/?)(?!(?:" + "|".join(sorted(_FLAT_TAGS, key=len, reverse=True)) + r")[\s/>])[A-Za-z]", re.I)
_STEP = {"": 1, "/": -1}


def flatten_deep(html: str) -> tuple[str, bool]:
    """The HTML with the tags nested deeper than MAX_PARSE_DEPTH removed (their text
    kept), and whether any were. Parsing is quadratic in the nesting depth (100,000 nested
    divs: minutes of CPU); real pages stay under a few hundred levels.

    Cheap on ordinary pages: with fewer than SCAN_MIN_TAGS opening tags the parse is
    bounded anyway (quadratic in at most that many), so no scan; otherwise the depth is
    computed in C (a running sum of +1/-1 that never goes below 0)."""
    if html.count("<") - html.count("</") < SCAN_MIN_TAGS:
        return html, False
    sums = list(accumulate(map(_STEP.__getitem__, _NESTING.findall(html)), initial=0))
    if max(map(sub, sums, accumulate(sums, min))) <= MAX_PARSE_DEPTH:
        return html, False
    depth = excess = 0

    def keep(m: re.Match) -> str:
        # Below the cap every tag goes (li, p, td too: each would make the parser search
        # the deep stack of open elements), and each closing tag first closes a dropped one.
        nonlocal depth, excess
        flat = m.group(2).lower() in _FLAT_TAGS
        if m.group(1):
            if flat:
                return " " if excess else m.group(0)
            if excess:
                excess -= 1
                return " "
            depth = depth - 1 if depth else 0
            return m.group(0)
        if depth >= MAX_PARSE_DEPTH:
            if not flat:
                excess += 1
            return " "
        if not flat:
            depth += 1
        return m.group(0)

    return _TAG.sub(keep, html), True


_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\x7fELF", b"RIFF", b"OggS", b"\x00\x00\x01\x00")


_CONTROL_BYTES = bytes(b for b in range(32) if b < 9 or 13 < b)


def _looks_binary(raw: bytes) -> bool:
    if raw.startswith(_BINARY_MAGIC):
        return True
    head = raw[:2048]
    # UTF-16 text has many NULs too, but then it starts with a BOM or '<' in UTF-16.
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) * 0.1


# --------------------------------------------------------------------------------------
# The walk: DOM → elements (block-level) and blocks (text runs)


class _Walker:
    __slots__ = ("parent", "tags", "hints", "blocks", "buf", "link", "skip_max")

    def __init__(self, skip_max: int = 0):
        self.skip_max = skip_max  # chrome subtrees with less text than this are read flat
        self.parent: list[int] = [-1]  # element index → parent element index
        self.tags: list[str] = ["body"]
        self.hints: list[int] = [0]  # -1 chrome, 0 neutral, 1 content, 2 strong content
        self.blocks: list[_Block] = []
        self.buf: list[str] = []
        self.link = 0

    def flush(self, elem: int) -> None:
        text = "".join(self.buf)
        if text and not text.isspace():
            self.blocks.append(_Block(text, self.link, elem, self.tags[elem]))
        self.buf = []
        self.link = 0

    def walk(self, node, elem: int, in_link: bool, depth: int) -> None:
        # Hot path: one Python call per block element and per inline element that has
        # element children; plain inline elements and links are read in C with .text().
        if depth > MAX_DEPTH:
            # Pathological nesting (block or inline): the rest is read flat, in C.
            t = node.text(separator=" ")
            if t:
                self.buf.append(" " + t + " ")
            return
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                t = child.text_content
                if t:
                    self.buf.append(t)
                    if in_link:
                        self.link += len(t.strip())
            elif tag in _INLINE:
                if tag == "a":
                    t = child.text()
                    if t:
                        self.buf.append(t)
                        self.link += len(t.strip())
                elif tag == "img":
                    pass
                else:
                    first = child.child
                    if first is None:
                        pass
                    elif first.next is None and first.tag == "-text":
                        t = first.text_content
                        if t:
                            self.buf.append(t)
                            if in_link:
                                self.link += len(t.strip())
                    else:
                        self.walk(child, elem, in_link, depth + 1)
            elif tag in _CELLS and _simple_cell(child):
                # A data cell: its text joins the row (one paragraph per table row).
                self.buf.append(" ")
                self.walk(child, elem, in_link, depth + 1)
                self.buf.append(" ")
            elif tag == "br" or tag == "hr":
                if self.buf:
                    self.flush(elem)
            elif tag == "-comment":
                pass
            else:
                if self.buf:
                    self.flush(elem)
                hint = _hint(tag, child.attributes)
                if (hint == -1 or hint == HEADER) and self.skip_max:
                    # Chrome (sidebar, comments, footer): its blocks are never output, so
                    # read it in C as one chrome block instead of walking it in Python —
                    # unless it is big enough to be a mislabelled wrapper of the post, or
                    # holds a paragraph or a strong content marker (those need the full walk).
                    t = child.text()
                    if len(t) < self.skip_max and child.css_first(_STRONG_SEL) is None:
                        idx = len(self.tags)
                        self.parent.append(elem)
                        self.tags.append(tag)
                        self.hints.append(hint)
                        if t and not t.isspace():
                            # Short ones get their real link text (a card's linked
                            # <header> must still look like a linked heading).
                            link = sum(len(a.text(strip=True)) for a in child.css("a")) if len(t) < 300 else len(t)
                            self.blocks.append(_Block(t, link, idx, tag))
                        child = child.next
                        continue
                if hint != -9:  # -9: hidden, skipped entirely
                    idx = len(self.tags)
                    self.parent.append(elem)
                    self.tags.append(tag)
                    self.hints.append(hint)
                    self.walk(child, idx, in_link, depth + 1)
                    if self.buf:
                        self.flush(idx)
            child = child.next


def _simple_cell(node) -> bool:
    """A table cell holding only inline content (not a layout cell with paragraphs)."""
    child = node.child
    while child is not None:
        tag = child.tag
        if tag != "-text" and tag != "-comment" and tag not in _INLINE and tag != "br":
            return False
        child = child.next
    return True


_HINT_CACHE: dict[tuple, int] = {}


def _hint(tag: str, attrs: dict) -> int:
    """-9 hidden, -1 chrome, -2 weak chrome, 0 neutral, 1 content, 2 strong content. Memoised: class
    names repeat across elements and pages, and this is the hot path of the walk."""
    if not attrs:
        return _chrome_tag(tag) if tag in _CHROME_TAGS else 0
    g = attrs.get
    # Only the attributes the hint reads: href, src, data-* vary per element and would
    # defeat the cache.
    key = (tag, g("class"), g("id"), g("role"), g("itemprop"), g("style"), g("aria-hidden"), "hidden" in attrs)
    h = _HINT_CACHE.get(key)
    if h is None:
        if len(_HINT_CACHE) > 50000:
            _HINT_CACHE.clear()
        h = _HINT_CACHE[key] = _hint_uncached(tag, attrs)
    return h


def _hint_uncached(tag: str, attrs: dict) -> int:
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return -9
    style = attrs.get("style")
    if style and "none" in style and re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", style):
        return -9
    ip = attrs.get("itemprop")
    if ip and ("articleBody" in ip or "text" == ip):
        return 2
    cls = attrs.get("class")
    if cls and not _HIDDEN_CLASSES.isdisjoint(cls.split()):
        return -1
    mods = ""
    if cls and "--" in cls:
        # BEM modifiers ("Section--Ads": a section that carries ads) describe a variant
        # of the element, not what it is: their chrome words are weak.
        parts = [tok.partition("--") for tok in cls.split()]
        cls = " ".join(p[0] for p in parts)
        mods = " ".join(p[2] for p in parts if p[2])
    names = " ".join(v for v in (cls, attrs.get("id")) if v)
    if names and "author-" in names.lower() and _POST_CLASS.search(names):
        names = _AUTHOR_TAXONOMY.sub(" ", names)
    if names and _TAXONOMY.search(names):
        # WordPress/Blogger post_class() adds category-x tag-y has-z: not chrome words.
        names = _TAXONOMY.sub(" ", names)
    role = attrs.get("role")
    if role in ("navigation", "complementary", "contentinfo", "banner", "search", "dialog", "menu"):
        return -1
    if not names:
        return _chrome_tag(tag) if tag in _CHROME_TAGS else (1 if tag in ("article", "main") else 0)
    if _POS_STRONG.search(names):
        return 2
    # camelCase names are words too ("AuthorBox", "shareButtons").
    words = [w.lower() for w in _WORD_SPLIT.split(_CAMEL.sub(" ", names)) if w]
    negs = {w for w in words if w in _NEG_WORDS}
    neg = -1 if negs or _NEG_SUB.search(names) else 0
    if negs == {"header"} and not _NEG_SUB.search(names):
        neg = HEADER
    if not neg and (any(w in _WEAK_WORDS for w in words) or "widget" in names.lower()):
        neg = -2
    if not neg and mods:
        mwords = [w.lower() for w in _WORD_SPLIT.split(mods) if w]
        if any(w in _NEG_WORDS or w in _WEAK_WORDS for w in mwords) or _NEG_SUB.search(mods):
            neg = -2
    if neg and any(w in _EMBED_WORDS for w in words):
        return 0  # an embedded tweet/post quoted by the article is part of it
    pos = tag in ("article", "main") or any(w in _POS_WORDS for w in words)
    if neg and not (pos and tag in ("article", "main")):
        return neg
    if tag in _CHROME_TAGS:
        return _chrome_tag(tag)
    return 1 if pos else 0


def _chrome_tag(tag: str) -> int:
    return HEADER if tag == "header" else -1


# --------------------------------------------------------------------------------------
# Scoring and selection


class _Page:
    """What the walk and the scoring know about one page (kept together for the fallbacks)."""

    __slots__ = ("blocks", "parent", "hints", "tags", "prose", "chars", "links", "chrome", "root")
    blocks: list[_Block]
    parent: list[int]
    hints: list[int]
    tags: list[str]
    prose: list[int]
    chars: list[int]
    links: list[int]
    chrome: list[bool]
    root: int


def _main_text(tree, body, title: str, fragment: bool = False) -> str:
    return _extract_text(tree, body, title, fragment)[0]


def _extract_text(tree, body, title: str, fragment: bool = False) -> tuple[str, str]:
    """(text, how): ``how`` is "" for the normal container choice, else the fallback used."""
    noscripts = tree.css("noscript")
    if noscripts:
        page_chars = len(body.text())
        for ns in noscripts:
            # A page served whole inside <noscript> (the no-JavaScript version of the site):
            # its text is the page. Small ones ("enable JavaScript", tracking pixels) go.
            n = len(ns.text())
            if n >= NOSCRIPT_PAGE or n * 2 > page_chars:
                ns.unwrap()
    tree.strip_tags(_STRIP)
    w = _Walker(0 if fragment else len(body.text()) // 3)
    w.walk(body, 0, False, 0)
    if w.buf:
        w.flush(0)
    blocks = []
    for b in w.blocks:
        if b.tag == "pre":  # code and verse keep their lines
            t = "\n".join(ln for ln in (_WS.sub(" ", x).rstrip() for x in b.raw.strip("\n").split("\n")) if ln)
        else:
            t = _WS.sub(" ", b.raw).strip()
        if t:
            b.text = t
            b.len = len(t)
            blocks.append(b)
    if not blocks:
        return "", ""
    pg = _analyse(blocks, w.parent, w.hints, w.tags)
    if fragment:
        return _join(_output_blocks(_inside(pg, 0), title)), ""
    pg.root, best = _best_root(pg)
    # No element scores above zero: no prose anywhere, the "best" is the least bad line.
    kept = _output_blocks(_with_siblings(pg, pg.root), title) if best > 0 else []
    # The page's prose outside chrome: what a reader sees as text.
    free = sum(b.len for b in blocks if b.len >= 80 and b.link < b.len * 0.3 and not pg.chrome[b.elem])
    got = sum(b.len for b in kept if b.len >= 80)
    small = got < FALLBACK_MIN // 2 and pg.prose[0] >= FALLBACK_MIN  # a caption, not a post
    if kept and not small and not (free >= FALLBACK_MIN and got < FALLBACK_SHARE * free):
        return _join(kept), ""
    # The container holds nothing, or too little of the page's prose (the post is split
    # over sibling boxes, or mislabelled as chrome): fall back, and say which way.
    dense = _dense_blocks(pg, title)
    if _prose_len(dense) > got:
        return _join(dense), "densest prose region"
    if kept:
        return _join(kept), ""
    rest = _output_blocks([(b, pg.chrome[b.elem]) for b in blocks], title)
    if rest:
        return _join(rest), "body minus chrome"
    rest = _output_blocks([(b, False) for b in blocks], title)
    return _join(rest), "whole body" if rest else ""


def _analyse(blocks: list[_Block], parent: list[int], hints: list[int], tags: list[str]) -> _Page:
    n = len(tags)
    # prose[e]: chars of prose paragraphs (long, link-poor) in e's subtree; chars[e]: all text.
    prose = [0] * n
    chars = [0] * n
    links = [0] * n  # link text in the subtree
    for b in blocks:
        good = b.len >= 80 and b.link < b.len * 0.3
        lk = min(b.link, b.len)
        e = b.elem
        while e >= 0:
            chars[e] += b.len
            links[e] += lk
            if good:
                prose[e] += b.len
            e = parent[e]
    total = prose[0] or 1
    for e in range(1, n):
        h = hints[e]
        if h < 0 and prose[e] > 0.75 * total and prose[e] >= 400:
            # A chrome-looking element that holds most of the prose is a wrapper, not
            # chrome ("site-content has-sidebar" around everything).
            hints[e] = 0
        elif h == -2 and prose[e] >= WEAK_PROSE and prose[e] >= 0.5 * chars[e]:
            # A weak chrome word (widget, meta, author, ...) on an element that is mostly
            # prose: page builders wrap every text box in an "elementor-widget".
            hints[e] = 0
    # Teaser cards: a linked heading (or linked first line) with a short excerpt, the
    # unit of "related"/"latest stories" lists. The card is the largest ancestor of the
    # linked heading holding under CARD_MAX chars; it is marked chrome. An article's own
    # headings are rarely links, and when one is, its ancestors are far larger.
    for b in blocks:
        if (b.tag in _HEADINGS or b.tag == "header") and b.link >= 0.8 * b.len and b.len < 200:
            e, card = b.elem, -1
            while e > 0 and chars[e] < CARD_MAX:
                card = e
                e = parent[e]
            # A card is a small part of the page: not the box holding most of its prose
            # (a short page whose linked site header sits beside the post).
            if card >= 0 and chars[card] > b.len and prose[card] <= 0.5 * prose[0]:
                hints[card] = -1
    # chrome[e]: e or an ancestor is chrome-hinted (computed top-down: parents come first).
    chrome = [False] * n
    for e in range(1, n):
        # A strong content marker (articleBody, entry-content, post-body) inside a
        # chrome-looking wrapper (Blogger's "widget Blog") starts content again.
        chrome[e] = (chrome[parent[e]] or hints[e] < 0) and hints[e] != 2

    # Block score: prose counts for its length, links and chrome against.
    for b in blocks:
        L = b.len
        ld = min(1.0, b.link / L)
        if ld > 0.5 or (ld > 0.1 and _ELLIPSIS_END.search(b.text)):
            s = -float(L)  # link text, or a teaser: linked headline + excerpt cut with "..."
        elif L < 30 and not _SENT_END.search(b.text):
            s = -8.0 if b.tag not in _HEADINGS else 2.0
        else:
            s = L * (1.0 - 2 * ld)
            if L > 80:
                s += 40  # a paragraph of prose: worth more than its length alone
        if chrome[b.elem]:
            s = -abs(s) * 0.6
        b.score = s
    pg = _Page()
    pg.blocks, pg.parent, pg.hints, pg.tags = blocks, parent, hints, tags
    pg.prose, pg.chars, pg.links, pg.chrome, pg.root = prose, chars, links, chrome, 0
    return pg


def _best_root(pg: _Page) -> tuple[int, float]:
    """The element maximising the sum of its blocks' scores (content hints weigh more)."""
    parent, hints = pg.parent, pg.hints
    score = [0.0] * len(parent)
    for b in pg.blocks:
        e = b.elem
        s = b.score
        while e >= 0:
            score[e] += s
            e = parent[e]
    best, root = float("-inf"), 0
    for e in range(len(parent)):
        s = score[e]
        if hints[e] > 0:
            s *= 1.15 if hints[e] == 1 else 1.3
        if s > best:
            best, root = s, e
    return root, best


def _inside(pg: _Page, root: int) -> list[tuple[_Block, bool]]:
    """Blocks inside the container, each with True when it is under chrome below it."""
    parent, hints = pg.parent, pg.hints
    inside = []
    for b in pg.blocks:
        e = b.elem
        ok = False
        bad = False
        safe = False  # below a strong content marker: chrome hints above it do not count
        while e >= 0:
            if e == root:
                ok = True
                break
            h = hints[e]
            if h < 0 and not safe and not (h == HEADER and _is_lead(b)):
                bad = True
            elif h == 2 and not bad:
                safe = True
            e = parent[e]
        if ok:
            inside.append((b, bad))
    return inside


def _is_lead(b: _Block) -> bool:
    """A prose paragraph, as an article's lead (standfirst) in its header is: long,
    link-poor, made of sentences — not a byline, date or the site's tagline."""
    return (
        b.len >= SIBLING_PROSE
        and b.link < b.len * 0.2
        and b.tag not in _HEADINGS
        and (_SENT_END.search(b.text) is not None or _SENT_IN.search(b.text) is not None)
    )


def _prose_len(blocks: list[_Block]) -> int:
    return sum(b.len for b in blocks if b.len >= 80 and b.link < b.len * 0.3)


def _join(blocks: list[_Block]) -> str:
    return "\n\n".join(b.text for b in blocks)


def _dense_blocks(pg: _Page, title: str) -> list[_Block]:
    """The densest prose region: the element maximising prose minus link and short text,
    chrome hints ignored (they are what went wrong), preferably around the container."""
    parent = pg.parent
    score = [0.0] * len(parent)
    for b in pg.blocks:
        L = b.len
        ld = min(1.0, b.link / L)
        if ld > 0.5:
            s = -float(L)
        elif L < 30 and not _SENT_END.search(b.text):
            s = -8.0
        else:
            s = L * (1.0 - 2 * ld) + (40 if L > 80 else 0)
        e = b.elem
        while e >= 0:
            score[e] += s
            e = parent[e]
    # Around the chosen container first (its ancestors): the post is usually near the
    # element that looked best; the whole page only when nothing around it holds more.
    near, e = [], pg.root
    while e > 0:
        near.append(e)
        e = parent[e]
    root = max(near, key=score.__getitem__) if near else 0
    if score[root] <= 0 or pg.prose[root] <= pg.prose[pg.root]:
        root = max(range(len(parent)), key=score.__getitem__)
    inside = []
    for b in pg.blocks:
        e = b.elem
        while e >= 0 and e != root:
            e = parent[e]
        if e == root:
            inside.append((b, False))
    return _output_blocks(inside, title)


def _with_siblings(pg: _Page, root: int) -> list[tuple[_Block, bool]]:
    """The container's blocks, plus what its siblings add to the post.

    The post is often split over sibling boxes: a lead paragraph before the body, a last
    paragraph after an embedded widget, a recipe's ingredient list before its steps, a
    product's specifications before its description. Wrappers that add next to nothing
    are climbed first. From a sibling box before the container that is neither chrome nor
    link-heavy, and not larger than the container, the rows of its lists, tables and
    definition lists, its paragraphs and section headings join; from any sibling, prose
    paragraphs (long, link-poor, not chrome) join."""
    parent, chars = pg.parent, pg.chars
    up = parent[root]
    while up > 0 and chars[up] <= chars[root] * 1.1 and parent[up] > 0:
        up = parent[up]
    if up < 0 or (up == 0 and not SIBLINGS_AT_BODY):
        return _inside(pg, root)
    own = {id(b): bad for b, bad in _inside(pg, root)}
    whole: dict[int, bool] = {}
    out = []
    for b, bad in _inside(pg, up):
        if id(b) in own:
            out.append((b, own[id(b)]))
            continue
        if bad:
            continue
        c = b.elem
        while c != up and parent[c] != up:
            c = parent[c]
        ok = whole.get(c) if c != up else False
        if ok is None:
            # Elements are numbered in document order: c < root is a box before the container.
            ok = whole[c] = (
                c < root and not pg.chrome[c] and pg.links[c] < 0.4 * chars[c] and chars[c] <= max(chars[root], 300)
            )
        if (
            (ok and b.tag in _SIBLING_TAGS)
            or (b.len >= SIBLING_PROSE and b.link < b.len * 0.2 and b.score > 0)
            or _is_lead(b)
        ):
            out.append((b, False))
    return out


def _heading_like(b: _Block) -> bool:
    return b.tag in _HEADINGS or (b.len < 60 and b.tag != "li" and not _SENT_END.search(b.text))


def _output_blocks(cands: list[tuple[_Block, bool]], title: str) -> list[_Block]:
    """The blocks to output from the container's blocks (True: under chrome), in order.

    Drops chrome, link-list items and widget lines, and the headings at the end whose
    sections were dropped ("Ähnliche Themen", "Weiterführende Informationen" above a list
    of links): a language-neutral way to lose the titles of link boxes."""
    keep = []
    for b, bad in cands:
        t = b.text
        L = b.len
        ld = b.link / L
        if bad:
            ok = False
        elif ld > 0.6 and (L < 200 or b.tag == "li") and not _URL_LINE.match(t):
            ok = False  # a link list item, unless it is a URL the author pasted
        elif L < 120 and (_BOILER_LINE.match(t) or _BOILER_INTL.match(t)):
            ok = False
        elif L < CREDIT_MAX and _CREDIT_LINE.search(t):
            ok = False
        elif L < PROMPT_MAX and _has_key(t, _PROMPT_KEYS) and _PROMPT_LINE.search(t):
            ok = False
        elif L < 80 and _DATE_LINE.match(t):
            ok = False
        elif L < 100 and _has_key(t, _AGENCY_KEYS) and _AGENCY_CREDIT.search(t):
            ok = False
        elif title and b.tag in _HEADINGS and t == title:
            ok = False
        else:
            ok = True
        keep.append(ok)
    # Trailing headings over dropped content are the titles of the link boxes after the
    # post: drop them, from the end back, while each has dropped blocks after it.
    last = len(cands)
    for i in range(len(cands) - 1, -1, -1):
        if not keep[i]:
            continue
        if cands[i][0].tag in _HEADINGS and i + 1 < last and not any(keep[i + 1 : last]):
            keep[i] = False
            continue
        break
    out = [b for (b, _bad), ok in zip(cands, keep) if ok]
    return out
