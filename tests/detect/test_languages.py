"""The rewrite check's terms in the text's language (monitor/detect/languages.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.detect import Detector, languages
from monitor.detect import sentences as S
from monitor.detect.normalise import tokenize

DATA = Path(__file__).parent / "data"


def terms(text: str) -> list[frozenset[str]]:
    return [s.terms for s in S.sentences(text, tokenize(text))]


def shared_first(a: str, b: str) -> frozenset[str]:
    """The terms the first sentence of `a` shares with the first sentence of `b`."""
    return terms(a)[0] & terms(b)[0]


# A re-told opening sentence, then enough ordinary text that the language can be told.
_DE_TAIL = (" Das ist nach Angaben der Behörde auch für die nächsten Jahre so geplant, und es gibt "
            "bisher keinen Grund, daran zu zweifeln. Wer mehr wissen will, kann sich bei der Stadt melden.")
_FR_TAIL = (" C'est ce que la mairie a indiqué dans un communiqué, et elle n'a pas donné plus de "
            "détails sur les raisons de cette décision. Les habitants pourront poser leurs questions lors de la séance.")
_ES_TAIL = (" Es lo que informó el ayuntamiento en un comunicado, y no dio más detalles sobre las "
            "razones de esta decisión. Los vecinos podrán hacer sus preguntas en la sesión del pleno.")
_ID_TAIL = (" Hal itu disampaikan oleh pihak kepolisian kepada wartawan pada hari Senin, dan mereka "
            "belum memberikan keterangan lebih lanjut. Warga diminta untuk tetap tenang dan tidak mudah percaya.")


def test_german_inflections_meet_and_function_words_do_not_count() -> None:
    a = "Die Regierung erhöhte die Steuern für die Unternehmen im Jahr 2024." + _DE_TAIL
    b = "Im Jahr 2024 wurden von den Regierungen höhere Steuern für Unternehmen beschlossen." + _DE_TAIL
    assert languages.language(tokenize(a).words) == languages.language(tokenize(b).words) == "de"
    common = shared_first(a, b)
    assert {"de:regier", "de:steu", "de:unternehm", "2024"} <= common, common
    assert not {t for t in terms(a)[0] | terms(b)[0] if t.split(":")[-1] in {"die", "der", "den", "fur", "im", "von"}}


def test_romance_stems_meet_and_function_words_do_not_count() -> None:
    fr_a = "Les trottinettes électriques seront interdites dans les rues de Montréal." + _FR_TAIL
    fr_b = "À Montréal, la trottinette électrique sera interdite dans ses rues." + _FR_TAIL
    assert languages.language(tokenize(fr_a).words) == "fr"
    assert {"fr:trottinet", "fr:electr", "fr:interdit", "fr:ru", "fr:montreal"} <= shared_first(fr_a, fr_b)
    assert not any(t in {"fr:les", "fr:de", "fr:dans", "fr:la", "fr:ses"} for t in terms(fr_a)[0] | terms(fr_b)[0])
    es_a = "El operador ucraniano interrumpió el tránsito del gas ruso hacia Europa." + _ES_TAIL
    es_b = "Los operadores ucranianos interrumpen el tránsito de gas rusa a Europa." + _ES_TAIL
    assert languages.language(tokenize(es_a).words) == "es"
    assert {"es:oper", "es:ucranian", "es:transit", "es:gas", "es:rus", "es:europ"} <= shared_first(es_a, es_b)
    assert not any(t in {"es:el", "es:del", "es:los", "es:de", "es:a"} for t in terms(es_a)[0] | terms(es_b)[0])


def test_indonesian_affixes_meet_and_function_words_do_not_count() -> None:
    a = "Polisi menangkap seorang pemuda yang membenci tetangganya di Medan." + _ID_TAIL
    b = "Seorang pemuda yang dibenci tetangga ditangkap oleh polisi di Medan." + _ID_TAIL
    assert languages.language(tokenize(a).words) == "id"
    common = shared_first(a, b)
    assert {"id:polisi", "id:benci", "id:tetangga", "id:medan"} <= common, common  # membenci, dibenci
    assert not {t for t in terms(a)[0] | terms(b)[0] if t in {"id:yang", "id:di", "id:seorang", "id:oleh"}}
    # Malay function words are on the same list ("iaitu", "kerana", "bahawa")
    ms = ("Polis menahan seorang pemuda kerana dia membenci jirannya, iaitu seorang peniaga. Polis berkata "
          "bahawa siasatan masih dijalankan dan orang ramai diminta supaya tidak membuat sebarang spekulasi.")
    assert languages.language(tokenize(ms).words) == "id"
    assert not {t for t in terms(ms)[0] if t in {"id:kerana", "id:iaitu", "id:bahawa", "id:dia"}}


@pytest.mark.parametrize("name", ["bridge", "bridge_rewrite", "bridge_other", "garden", "bakery", "bakery_spun"])
def test_english_terms_are_the_english_rule(name: str) -> None:
    text = (DATA / f"{name}.txt").read_text(encoding="utf-8")
    tok = tokenize(text)
    assert languages.language(tok.words) is None
    assert S.terms_of(tok) == frozenset(map(S._term, tok.words)) - {""}


def test_english_terms_sample() -> None:
    got = {w: S._term(w) for w in ["the", "investigated", "investigation", "zelenskyy", "2024", "meetings", "a"]}
    assert got == {"the": "", "investigated": "invest", "investigation": "invest", "zelenskyy": "zelenskyy",
                   "2024": "2024", "meetings": "meetin", "a": ""}


def test_too_little_text_keeps_the_english_rule() -> None:
    assert languages.language(tokenize("Die Regierung erhöhte die Steuern.").words) is None
    assert languages.language([]) is None


def test_a_translation_shares_no_stems() -> None:
    de = "Die Regierung erhöhte die Steuern für die Unternehmen im Jahr 2024." + _DE_TAIL
    en = "The government raised taxes for the companies in 2024, the ministry said on Monday in Berlin."
    common = terms(de)[0] & terms(en)[0]
    assert common == {"2024"}  # numbers are the same in every language; stems carry their language


def test_kept_words_of_a_german_passage() -> None:
    a = "Die Regierung erhöhte die Steuern für die Unternehmen im Jahr 2024." + _DE_TAIL
    b = "Im Jahr 2024 wurden von den Regierungen höhere Steuern für Unternehmen beschlossen." + _DE_TAIL
    ka, _ = S.kept_words(a, b)
    kept = {a[x:y] for x, y in ka}
    assert {"Regierung", "Steuern", "Unternehmen", "2024"} <= kept and "die" not in kept


_DE_SOURCE = """Das Landesamt für Statistik hat am Dienstag die neuen Zahlen zur Bevölkerung vorgelegt.
Demnach lebten Ende des vergangenen Jahres 2,14 Millionen Menschen im Bundesland, rund 12.000 mehr als ein Jahr zuvor.
Das Wachstum geht fast vollständig auf Zuwanderung aus dem Ausland zurück, während die Zahl der Geburten erneut sank.
Besonders stark wuchsen die Landeshauptstadt und die umliegenden Gemeinden, ländliche Regionen verloren dagegen Einwohner.
Der Präsident des Landesamtes, Markus Feldhaus, sprach von einer Entwicklung, die sich seit zehn Jahren abzeichne.
Die Gemeinden müssten sich auf weniger Kinder und mehr ältere Menschen einstellen, sagte Feldhaus.
Für das laufende Jahr erwartet das Amt ein geringeres Wachstum, weil weniger Menschen aus der Ukraine kommen."""

_DE_REWRITE = """Neue Statistik: Das Bundesland zählt 2,14 Millionen Einwohner.
Wie das Statistische Landesamt am Dienstag mitteilte, wohnten zum Jahresende 2,14 Millionen Menschen im Land, ein Plus von etwa 12.000 gegenüber dem Vorjahr.
Zurückzuführen sei der Zuwachs beinahe ausschließlich auf Menschen, die aus dem Ausland zugewandert sind; Geburten gab es wieder weniger.
Zugelegt haben vor allem die Landeshauptstadt und ihre Nachbargemeinden, während die ländlichen Regionen Einwohner verloren.
Landesamtspräsident Markus Feldhaus sieht darin eine Entwicklung, die sich bereits seit einem Jahrzehnt abzeichnet.
Nach seinen Worten müssen sich die Gemeinden auf mehr ältere Menschen und weniger Kinder einstellen.
Im laufenden Jahr dürfte das Wachstum geringer ausfallen, da weniger Menschen aus der Ukraine ins Land kommen, erwartet das Amt."""


def test_german_rewrite_is_found_only_with_german_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    v = Detector().compare_sentences(_DE_SOURCE, _DE_REWRITE)
    assert v.is_match and v.method == "sentences", v.reason
    monkeypatch.setattr(languages, "language", lambda words: None)  # the English rule, as before
    assert not Detector().compare_sentences(_DE_SOURCE, _DE_REWRITE).is_match


def _language_by_definition(words: list[str]) -> str | None:
    """The rule as the module docstring states it, one set intersection per language."""
    sample = words[: languages.SAMPLE_WORDS]
    seen = set(sample)
    best, most = "en", 0
    for lang, telling in languages._telling().items():
        if len(seen & telling) > most:
            best, most = lang, len(seen & telling)
    if best == "en":
        return None
    hits = sum(w in languages.stop_lists()[best] for w in sample)
    return None if hits < languages.MIN_STOPWORDS or hits < languages.MIN_SHARE * len(sample) else best


def test_language_counts_telling_words_as_its_definition_does() -> None:
    # mixes of several languages' stop words with content words, in proportions near the
    # decision's edges (ties, too few stop words, a short text): one pass and a count per
    # language must choose as one intersection per language does
    import random

    rng = random.Random(5)
    lists = {lang: sorted(ws) for lang, ws in languages.stop_lists().items()}
    filler = [f"word{k}" for k in range(300)]
    for _ in range(400):
        words = rng.choices(filler, k=rng.randint(0, 120))
        for lang in rng.sample(sorted(lists), rng.randint(1, 3)):
            words += rng.choices(lists[lang], k=rng.randint(0, 25))
        rng.shuffle(words)
        assert languages.language(words) == _language_by_definition(words), words
