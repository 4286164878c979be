"""Behaviour of the detection engine on small fixtures written for these tests
(tests/detect/data) and, where present, on the shared seed pair."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from monitor.detect import Detector, DetectSettings, SignatureError, Verdict

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def text(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8")


def paragraphs(t: str) -> list[str]:
    return [p for p in t.split("\n\n") if p.strip()]


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector(DetectSettings())


def covered(v: Verdict, start: int, end: int, side: str = "source", slack: int = 40) -> bool:
    """The passages cover [start, end) of one text, give or take a few characters at the ends."""
    spans = sorted((getattr(p, f"{side}_start"), getattr(p, f"{side}_end")) for p in v.passages)
    return spans[0][0] <= start + slack and spans[-1][1] >= end - slack


# --- the real case ------------------------------------------------------------------------

@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="shared data folder ../shared/data absent")
def test_seed_pair_is_a_spun_copy_from_what_happened_to_the_end(det: Detector) -> None:
    original = (SHARED / "seeds" / "original.txt").read_text(encoding="utf-8")
    spun = (SHARED / "seeds" / "spun.txt").read_text(encoding="utf-8")
    v = det.compare(original, spun)
    assert v.is_match and v.kind == "spun_copy"
    start = original.index("What Happened")
    end = original.index("No comments")
    assert min(p.source_start for p in v.passages) == start  # the dropped header is not claimed
    assert max(p.source_end for p in v.passages) >= end - 5
    assert max(p.source_end for p in v.passages) < end  # nor the footer
    assert 0.1 < v.spin_rate < 0.5
    assert ("military", "armed services") in v.substitutions
    det2 = Detector()
    det2.add(7, det2.signature(original))
    assert det2.candidates(spun) == [7]


# --- what must match ----------------------------------------------------------------------

def test_spun_copy_matches_with_evidence(det: Detector) -> None:
    v = det.compare(text("bridge"), text("bridge_spun"))
    assert v.is_match and v.kind == "spun_copy"
    assert v.coverage > 0.9 and v.spin_rate > 0.1
    assert v.substitutions
    d = json.loads(json.dumps(v.to_dict()))
    assert set(d) == {"match", "kind", "score", "coverage", "spin_rate", "passages", "substitutions", "reason",
                      "method", "reused_words", "longest_run", "related"}
    assert d["reused_words"] > 100 and d["longest_run"] >= 3 and d["related"] == []
    assert d["method"] == "alignment"
    assert 0 <= d["score"] <= 1


def test_plain_copy_and_small_edits_are_copies(det: Detector) -> None:
    src = text("bakery")
    v = det.compare(src, src)
    assert v.is_match and v.kind == "copy" and v.coverage > 0.97
    edited = src.replace("eleven months", "nearly a year").replace("this week", "on Tuesday")
    edited = "Updated at 10:40.\n\n" + edited + "\n\nShare this: Facebook Twitter"
    v = det.compare(src, edited)
    assert v.is_match and v.kind == "copy"


def test_reordered_paragraphs_and_dropped_header_still_match(det: Detector) -> None:
    paras = paragraphs(text("bridge_spun"))[1:]  # title dropped
    random.Random(3).shuffle(paras)
    post = "\n\n".join(paras)
    v = det.compare(text("bridge"), post)
    assert v.is_match and v.kind == "spun_copy"
    assert len(v.passages) >= 3


def test_partial_copy_reports_the_right_offsets(det: Detector) -> None:
    src = text("bridge")
    part = "\n\n".join(paragraphs(text("bridge_spun"))[3:5])  # the last two paragraphs, spun
    filler = text("garden")
    cut = filler.index("The compost heaps")
    post = filler[:cut] + part + "\n\n" + filler[cut:]
    v = det.compare(src, post)
    assert v.is_match and v.kind == "partial_copy", v.reason
    s_start = src.index("Not everyone welcomed")
    s_end = src.index("ninety years it served the town") + len("ninety years it served the town")
    assert covered(v, s_start, s_end, "source")
    assert min(p.source_start for p in v.passages) >= s_start - 40
    assert covered(v, cut, cut + len(part), "copy")
    assert all(cut - 40 <= p.copy_start and p.copy_end <= cut + len(part) + 40 for p in v.passages)


def test_a_post_copying_two_sources_yields_two_matches() -> None:
    det = Detector()
    sources = {1: text("bridge"), 2: text("bakery"), 3: text("garden"), 4: text("bridge_other")}
    for sid, t in sources.items():
        det.add(sid, det.signature(t))
    assert len(det) == 4
    post = (text("garden")[:600] + "\n\n" + "\n\n".join(paragraphs(text("bakery_spun"))[1:])
            + "\n\n" + "\n\n".join(paragraphs(text("bridge_spun"))[:3]))
    found = det.scan(post, lambda ids: {i: sources[i] for i in ids})
    assert sorted(sid for sid, _ in found) in ([1, 2], [1, 2, 3])
    assert all(v.is_match for _, v in found)
    assert {v.kind for sid, v in found if sid in (1, 2)} <= {"partial_copy", "spun_copy"}


def _lift(src: str, start: str, n_words: int) -> str:
    """n_words of src from the phrase `start` on, cut at a word's end."""
    import re

    i = src.index(start)
    ends = [m.end() for m in re.finditer(r"\w+", src[i:])]
    return src[i: i + ends[n_words - 1]]


def _in_garden(passage: str) -> str:
    filler = text("garden")
    cut = filler.index("The compost heaps")
    return filler[:cut] + passage + "\n\n" + filler[cut:]


def test_a_lifted_paragraph_of_fifty_words_is_a_partial_copy(det: Detector) -> None:
    src = text("bridge")
    lift = _lift(src, "Not everyone welcomed", 50)  # a fifth of the source: below min_coverage
    v = det.compare(src, _in_garden(lift))
    assert v.is_match and v.kind == "partial_copy", v.reason
    assert v.coverage < 0.25 and v.reused >= 50
    whole = det.compare(src, text("bridge_spun"))
    assert whole.score > v.score  # a whole copy ranks above a lifted paragraph


def test_forty_words_match_only_with_an_identical_run_of_twelve(det: Detector) -> None:
    src = text("bridge")
    lift = _lift(src, "Not everyone welcomed", 42)
    v = det.compare(src, _in_garden(lift))
    assert v.is_match and v.longest_run >= 12, v.reason
    # the same 42 words with a word swapped every 8: no run of 12 is left, and 42 < 50
    words = lift.split(" ")
    spun = " ".join("several" if k % 8 == 4 else w for k, w in enumerate(words))
    v = det.compare(src, _in_garden(spun))
    assert not v.is_match and v.longest_run < 12, v.reason


# --- what must not match ------------------------------------------------------------------

def test_same_topic_article_is_not_a_match(det: Detector) -> None:
    v = det.compare(text("bridge"), text("bridge_other"))
    assert not v.is_match and v.kind is None
    assert v.reason


def test_stock_phrases_and_short_quotes_do_not_match(det: Detector) -> None:
    src = text("bridge")
    quote = "Mayor Ingrid Halvorsen cut the ribbon at ten in the morning"
    post = text("garden").replace("The compost heaps", f'As the paper put it, "{quote}." The compost heaps')
    assert not det.compare(src, post).is_match


@pytest.mark.parametrize("post", [
    "",
    "a few words only",
    "\x00\x01\xff\ufffd" * 500,
    bytes(range(256)).decode("latin-1") * 40,
    "Наши герои знают толк не только во вкусе, но и в красоте еды. " * 60,
])
def test_bad_posts_do_not_crash_or_match(det: Detector, post: str) -> None:
    v = det.compare(text("bridge"), post)
    assert not v.is_match
    assert v.reason
    det.candidates(post)


def test_short_source_has_a_reason(det: Detector) -> None:
    v = det.compare("Just a title", text("bridge"))
    assert not v.is_match and "short" in v.reason


def test_enormous_post_is_capped_and_says_so() -> None:
    det = Detector(DetectSettings(max_words=3000))
    post = text("garden") * 40 + text("bridge_spun")
    v = det.compare(text("bridge"), post)
    assert "truncated to 3000 words" in v.reason
    det.candidates(post)


# --- signatures and index -----------------------------------------------------------------

def test_signature_round_trip_remove_and_version() -> None:
    det = Detector()
    sig = det.signature(text("bridge"))
    assert isinstance(sig, bytes) and len(sig) < 2000
    other = Detector()
    other.add(5, sig)  # a restart: index rebuilt from the stored bytes only
    assert other.candidates(text("bridge_spun")) == [5]
    other.remove(5)
    assert len(other) == 0 and other.candidates(text("bridge_spun")) == []
    with pytest.raises(SignatureError):
        other.add(6, b"\x09" + sig[1:])
    with pytest.raises(SignatureError):
        Detector(DetectSettings(window=30)).add(6, sig)
    assert det.signature("") and Detector().signature("") == det.signature("")


def test_candidates_ignore_unrelated_sources() -> None:
    det = Detector()
    det.add(1, det.signature(text("garden")))
    det.add(2, det.signature(text("bakery")))
    assert det.candidates(text("bridge_spun")) == []
    assert det.candidates(text("bakery_spun"))[:1] == [2]


@pytest.mark.skipif(not (SHARED / "detect-dev").is_dir(), reason="shared data folder ../shared/data absent")
def test_dev_set_negatives_never_match() -> None:
    dev = SHARED / "detect-dev"
    sources = [json.loads(line)["text"] for line in open(dev / "sources.jsonl", encoding="utf-8")]
    labels = {json.loads(l)["url"]: json.loads(l) for l in open(dev / "labels.jsonl", encoding="utf-8")}
    det = Detector()
    for i, t in enumerate(sources):
        det.add(i, det.signature(t))
    for line in open(dev / "candidates.jsonl", encoding="utf-8"):
        x = json.loads(line)
        if labels[x["url"]]["source"] is None and x.get("text"):
            assert det.scan(x["text"], lambda ids: {i: sources[i] for i in ids}) == []


def test_index_grows_and_shrinks_between_queries() -> None:
    det = Detector()
    det.add(1, det.signature(text("garden")))
    assert det.candidates(text("bridge_spun")) == []  # builds the sorted arrays
    det.add(2, det.signature(text("bridge")))  # goes to the delta
    assert det.candidates(text("bridge_spun")) == [2]
    det.add(3, det.signature(text("bakery")))
    det.remove(2)
    assert det.candidates(text("bridge_spun")) == []
    assert det.candidates(text("bakery_spun")) == [3]
    det.add(2, det.signature(text("bridge")))  # re-added under the same id
    assert det.candidates(text("bridge_spun")) == [2] and len(det) == 3


def test_stop_keys_are_skipped_in_main_and_delta_parts() -> None:
    import numpy as np

    from monitor.detect.index import BandIndex

    idx = BandIndex(max_postings=3)
    common = np.array([7], dtype=np.uint32)
    for sid in range(3):  # three holders: still evidence
        idx.add(sid, np.array([7, 100 + sid, 200 + sid], dtype=np.uint32), np.array([0, 1, 2], dtype=np.uint8))
    q = np.array([7, 100, 200], dtype=np.uint32)
    assert idx.hits(q, 3, 3, 3) == [(0, 3)]
    for sid in range(3, 40):  # a big delta merge: key 7 is now held by 40 sources
        idx.add(sid, np.array([7, 100 + sid], dtype=np.uint32), np.array([0, 1], dtype=np.uint8))
    assert idx.hits(q, 3, 3, 3) == []  # 7 is a stop key: source 0 has 2 hits left
    assert idx.hits(q, 3, 2, 2) == [(0, 2)]
    idx.add(99, np.array([7, 300, 301], dtype=np.uint32), np.array([0, 0, 0], dtype=np.uint8))  # delta
    assert idx.hits(np.array([7, 300, 301], dtype=np.uint32), 3, 3, 3) == []
    assert idx.hits(common, 3, 1, 1) == []


def test_candidates_rank_hits_in_one_window_and_the_next_first() -> None:
    """A lifted paragraph's source (hits packed in two neighbouring windows) ranks above a
    source with more hits spread over its length (what a long post's chance hits look like),
    so the cap cannot push it out."""
    import numpy as np

    from monitor.detect.index import BandIndex

    idx = BandIndex(max_postings=10)
    idx.add(1, np.arange(100, 106, dtype=np.uint32), np.array([0, 3, 6, 9, 12, 15], dtype=np.uint8))
    idx.add(2, np.arange(200, 205, dtype=np.uint32), np.array([3, 3, 3, 4, 4], dtype=np.uint8))
    idx.add(3, np.arange(300, 304, dtype=np.uint32), np.array([7, 7, 9, 20], dtype=np.uint8))
    q = np.concatenate([np.arange(100, 106), np.arange(200, 205), np.arange(300, 304)]).astype(np.uint32)
    assert idx.hits(q, 10, 4, 5) == [(2, 5), (3, 4), (1, 6)]  # 5, 2 and 1 hits in two windows


def test_the_first_build_and_a_merge_drop_the_same_stop_keys() -> None:
    """The first build writes (key, value) pairs straight into one array; later builds merge
    the main part with a delta. Both must keep exactly the entries of keys held ≤ max_postings
    times, and lookups through the bucket directory must find every kept entry."""
    import numpy as np

    from monitor.detect.index import BandIndex

    rng = np.random.default_rng(5)
    sigs = [(sid, rng.integers(0, 400, size=30).astype(np.uint32), rng.integers(0, 64, size=30).astype(np.uint8))
            for sid in range(200)]
    once, twice = BandIndex(max_postings=12), BandIndex(max_postings=12)
    for sid, k, w in sigs:
        once.add(sid, np.unique(k), w[: len(np.unique(k))])
    for sid, k, w in sigs[:150]:
        twice.add(sid, np.unique(k), w[: len(np.unique(k))])
    twice.hits(np.arange(400, dtype=np.uint32), 12, 1, 1)  # builds the main part
    for sid, k, w in sigs[150:]:
        twice.add(sid, np.unique(k), w[: len(np.unique(k))])
    q = np.arange(400, dtype=np.uint32)
    assert once.hits(q, 12, 1, 1) == twice.hits(q, 12, 1, 1) != []
    held = np.bincount(np.concatenate([np.unique(k) for _, k, _ in sigs]), minlength=400)
    main = once._main
    assert set(main.keys.tolist()) == {int(k) for k in np.flatnonzero((held > 0) & (held <= 12))}
    assert set(main.stop.tolist()) == {int(k) for k in np.flatnonzero(held > 12)}
    for key in main.keys[:: 7]:
        vals, _ = main.lookup(np.array([key], dtype=np.uint32))
        assert len(vals) == held[key]


def test_adding_a_source_again_replaces_its_keys() -> None:
    """An edited source is added again under its id: the old text's keys stop pointing at it,
    and the replaced entries never count as postings (re-adding the same signature 40 times
    used to make the source's own keys stop keys, and it stopped being found)."""
    det = Detector(DetectSettings(max_postings=32))
    det.add(1, det.signature(text("garden")))
    det.add(2, det.signature(text("bakery")))
    sig = det.signature(text("bridge"))
    for _ in range(40):  # e.g. a restart, then every reload of sources changed meanwhile
        det.add(3, sig)
        assert det.candidates(text("bridge_spun")) == [3]
    assert len(det) == 3
    det.add(2, det.signature(text("bridge")))  # source 2 edited: now the bridge article
    assert det.candidates(text("bakery_spun")) == []  # the old text no longer finds it
    assert sorted(det.candidates(text("bridge_spun"))) == [2, 3]


def test_replaced_entries_are_dropped_when_the_arrays_are_rebuilt() -> None:
    import numpy as np

    from monitor.detect.index import BandIndex

    idx = BandIndex(max_postings=3)
    keys, wins = np.arange(100, dtype=np.uint32), np.zeros(100, dtype=np.uint8)
    for _ in range(50):
        idx.add(1, keys, wins)
        idx.hits(keys, 3, 3, 3)  # builds the arrays
    assert idx.hits(keys, 3, 3, 3) == [(1, 100)]
    assert len(idx._main) + len(idx._delta) <= 2 * len(keys)  # not 50 copies
    idx.remove(1)
    assert idx.hits(keys, 3, 1, 1) == []


# --- rewrites: re-told sentence by sentence ----------------------------------------------

def test_human_rewrite_is_found_sentence_by_sentence(det: Detector) -> None:
    src, post = text("bridge"), text("bridge_rewrite")
    v = det.compare_sentences(src, post)
    assert v.is_match and v.kind == "rewrite" and v.method == "sentences"
    assert v.coverage > 0.8 and v.score >= DetectSettings().min_score
    d = json.loads(json.dumps(v.to_dict()))
    assert d["method"] == "sentences" and d["kind"] == "rewrite" and not d["substitutions"]
    # evidence: source sentence <-> post sentence, in order; the clause moved to the front
    pairs = [(src[p.source_start:p.source_end], post[p.copy_start:p.copy_end]) for p in v.passages]
    assert len(pairs) >= 8
    assert [p.copy_start for p in v.passages] == sorted(p.copy_start for p in v.passages)
    first_src, first_post = pairs[0]
    assert first_src.startswith("Harbour Town opened the Kestrel") and first_post.startswith("After four years")
    assert det.compare(src, post).is_match  # either method


def test_same_event_article_is_not_a_rewrite(det: Detector) -> None:
    v = det.compare_sentences(text("bridge"), text("bridge_other"))
    assert not v.is_match and v.method == "sentences" and v.reason
    v = det.compare_sentences(text("bridge_other"), text("bridge"))
    assert not v.is_match


def test_rewrite_check_needs_a_run_of_sentences_in_order(det: Detector) -> None:
    src, post = text("bridge"), text("bridge_rewrite")
    paras = paragraphs(post)
    # the same re-told sentences, every other one swapped with a garden sentence: no run
    garden = [s for s in text("garden").replace("\n", " ").split(". ") if len(s.split()) > 8]
    told = [s for p in paras[1:] for s in p.split(". ")]
    mixed = ". ".join(x for pair in zip(told[::3], garden) for x in pair)
    runs_only = Detector(DetectSettings(rewrite_chain=False))
    assert not runs_only.compare_sentences(src, mixed).is_match
    # the weighted chain takes close re-tellings one unrelated line apart (that line costs as
    # much as a pair at chance), but not two lines apart: the re-told text must stand together
    two_apart = ". ".join(x for k, t in enumerate(told[::3]) for x in (t, garden[2 * k % len(garden)],
                                                                      garden[(2 * k + 1) % len(garden)]))
    assert not det.compare_sentences(src, two_apart).is_match
    # the re-told sentences in reverse order are not a re-telling either
    assert not det.compare_sentences(src, ". ".join(reversed(told))).is_match
    # and the check can be turned off
    off = Detector(DetectSettings(rewrites=False))
    assert off.compare(src, "\n\n".join(reversed(paras))).method == "alignment"


def test_heavy_rewrite_with_paragraphs_moved_is_found(det: Detector) -> None:
    # an AI "heavy" rewrite moves paragraphs: order holds inside each, not across them
    src, paras = text("bridge"), paragraphs(text("bridge_rewrite"))
    moved = "\n\n".join([paras[0]] + list(reversed(paras[1:])))
    v = det.compare_sentences(src, moved)
    assert v.is_match and v.kind == "rewrite", v.reason
    # one run of 2 sentences in order, the rest scattered, is what same-event articles share
    strict = Detector(DetectSettings(rewrite_min_local=4))
    assert not strict.compare_sentences(src, moved).is_match


def test_korean_rewrite_is_found_through_stems_without_particles(det: Detector) -> None:
    from monitor.detect.sentences import _term

    assert _term("정부가") == _term("정부는") == "정부"
    src, post = text("market_ko"), text("market_ko_rewrite")
    v = det.compare(src, post)  # particles and word order changed: only the sentence check sees it
    assert v.is_match and v.kind == "rewrite" and v.method == "sentences", v.reason
    assert not det.compare(src, text("garden")).is_match


@pytest.mark.skipif(not (SHARED / "detect-dev").is_dir(), reason="shared data folder ../shared/data absent")
def test_rewrite_dev_set() -> None:
    sources = {}
    for line in open(SHARED / "detect-dev" / "sources.jsonl", encoding="utf-8"):
        x = json.loads(line)
        sources[x["url"]] = x["text"]
    urls = list(sources)
    det = Detector()
    for i, u in enumerate(urls):
        det.add(i, det.signature(sources[u]))
    items = [json.loads(line) for line in open(DATA / "rewrites.jsonl", encoding="utf-8")]
    assert {i["kind"] for i in items} == {"rewrite-light", "rewrite-heavy", "rewrite-partial", "same-topic"}
    for it in items:
        found = dict(det.scan(it["text"], lambda ids: {i: sources[urls[i]] for i in ids}))
        sid = urls.index(it["source"])
        if it["kind"] == "same-topic":
            assert not found, it["id"]
            assert not det.compare_sentences(sources[it["source"]], it["text"]).is_match, it["id"]
        else:
            assert list(found) == [sid], it["id"]
    # the one the word-order alignment misses is found as a rewrite, with sentence evidence
    it = next(i for i in items if i["id"] == "morales-heavy")
    v = det.compare(sources[it["source"]], it["text"])
    assert v.is_match and v.method == "sentences" and v.kind == "rewrite" and len(v.passages) >= 4


# --- rewrite check speed-ups: they must change no verdict --------------------------------

def _rewrite_pairs() -> list[tuple[str, str]]:
    names = ["bridge", "bridge_rewrite", "bridge_other", "garden", "market_ko", "market_ko_rewrite"]
    texts = [text(n) for n in names]
    paras = paragraphs(text("bridge_rewrite"))
    texts.append("\n\n".join([paras[0]] + list(reversed(paras[1:]))))  # paragraphs moved
    return [(a, b) for a in texts for b in texts if a is not b]


def test_rewrite_prefilter_and_cache_change_no_verdict() -> None:
    fast, slow = Detector(), Detector(DetectSettings(rewrite_prefilter=False, rewrite_cache=0))
    matched = rejected = 0
    for src, post in _rewrite_pairs():
        a, b = fast.compare_sentences(src, post), slow.compare_sentences(src, post)
        assert a == b
        matched += a.is_match
        rejected += not a.is_match
    assert matched >= 4 and rejected >= 10  # both outcomes are exercised
    assert fast._split.hits > 0  # the same sources came back


def test_prefilter_rejects_an_unrelated_post_without_splitting_it() -> None:
    from monitor.detect import sentences as S
    from monitor.detect.normalise import tokenize

    src = text("bridge")
    ss = S.sentences(src, tokenize(src, 20_000))
    garden = text("garden")
    assert not S.may_retell(ss, S.terms_of(tokenize(garden, 20_000)), 4, 0.5, 4)
    rw = text("bridge_rewrite")
    assert S.may_retell(ss, S.terms_of(tokenize(rw, 20_000)), 4, 0.5, 4)
    # the bound is exact: a sentence paired by `pairs` always passes it
    post_ss = S.sentences(rw, tokenize(rw, 20_000))
    paired = {p.i for p in S.pairs(ss, post_ss, 4, 0.5)}
    terms = S.terms_of(tokenize(rw, 20_000))
    assert paired and all(len(ss[i].terms & terms) >= max(4, len(ss[i].terms) / 3) for i in paired)
    assert terms == frozenset().union(*(s.terms for s in post_ss))


def test_sentence_cache_is_bounded_and_keyed_by_text() -> None:
    det = Detector(DetectSettings(rewrite_cache=2))
    a, b, c = text("bridge"), text("garden"), text("bridge_other")
    post = text("bridge_rewrite")
    for src in (a, b, c, a):
        det.compare_sentences(src, post)
    assert len(det._split._lru) == 2 and det._split.hits == 0  # a was dropped before it came back
    det.compare_sentences(a, post)
    assert det._split.hits == 1
    edited = a.replace("Kestrel", "Falcon")  # an edited source is a new entry, not a stale one
    v = det.compare_sentences(edited, post)
    assert det._split.hits == 1 and v == Detector(DetectSettings(rewrite_cache=0)).compare_sentences(edited, post)


# --- the weighted chain (AI rewrites, README "AI rewrites") ---------------------------------

_TOPIC = "harbour kestrel bridge"  # in every source sentence: the subject, as in any article on it


def _src_sentence(k: int) -> str:
    return " ".join([_TOPIC] + [f"fact{k}x{m}" for m in range(4)] + [f"word{k}y{m}" for m in range(3)]) + "."


def _retold(k: int) -> str:  # the sentence's four facts kept, its own words replaced, no topic words
    return " ".join([f"fact{k}x{m}" for m in range(4)] + [f"other{k}z{m}" for m in range(5)]) + "."


def _unrelated(tag: str, k: int) -> str:
    return " ".join(f"{tag}{k}h{m}" for m in range(9)) + "."


_SOURCE = " ".join(_src_sentence(k) for k in range(10))
_TOLD = (1, 3, 4, 6, 8)  # a partial rewrite drops and summarises: source sentences skipped


def _host(body: list[str]) -> str:
    return " ".join([_unrelated("host", k) for k in range(4)] + body + [_unrelated("tail", k) for k in range(4)])


def test_ai_partial_rewrite_is_found_by_the_weighted_chain() -> None:
    post = _host([_retold(k) for k in _TOLD])
    v = Detector().compare_sentences(_SOURCE, post)
    assert v.is_match and v.kind == "partial_rewrite" and v.method == "sentences", v.reason
    assert "evidence" in v.reason and len(v.passages) == len(_TOLD)
    told = [_SOURCE[p.source_start:p.source_end] for p in v.passages]
    assert [t.split()[3] for t in told] == [f"fact{k}x0" for k in _TOLD]  # source sentences, in order
    assert [p.copy_start for p in v.passages] == sorted(p.copy_start for p in v.passages)
    # each pair keeps 4 of 10 and 9 terms (Dice 0.42): below the runs' 0.5, so only the chain finds it
    assert not Detector(DetectSettings(rewrite_chain=False)).compare_sentences(_SOURCE, post).is_match
    # and the verdict is the same with the pre-filter and the cache off
    assert Detector(DetectSettings(rewrite_prefilter=False, rewrite_cache=0)).compare_sentences(_SOURCE, post) == v


def test_weighted_chain_asks_for_retold_sentences_that_stand_together_in_order() -> None:
    det = Detector()
    # the same re-told sentences, each followed by two unrelated ones: a same-event article's
    # matching sentences lie among its own; each unrelated sentence inside costs a pair at chance
    spread = _host([s for k in _TOLD for s in (_retold(k), _unrelated("own", k), _unrelated("more", k))])
    assert not det.compare_sentences(_SOURCE, spread).is_match
    # out of order: no chain
    assert not det.compare_sentences(_SOURCE, _host([_retold(k) for k in reversed(_TOLD)])).is_match
    # sharing the subject and one fact a sentence is what any article on the event does
    same_event = _host([" ".join([_TOPIC, f"fact{k}x0"] + [f"mine{k}q{m}" for m in range(6)]) + "."
                        for k in _TOLD])
    assert not det.compare_sentences(_SOURCE, same_event).is_match


def test_weights_and_evidence_chain() -> None:
    from monitor.detect import sentences as S
    from monitor.detect.normalise import tokenize

    ss = S.sentences(_SOURCE, tokenize(_SOURCE, 20_000))
    w = S.weights(ss)
    assert w["harbou"] < 0.1 < w["fact1x0"]  # the topic (in all 10 sentences) against a detail (in 1)
    ps = S.sentences(_host([_retold(k) for k in _TOLD]), tokenize(_host([_retold(k) for k in _TOLD]), 20_000))
    # a merge (two source sentences told in one post sentence) re-tells one sentence's worth:
    # 4 source sentences in 3 post sentences are not the 4 a chain needs
    pairs = [S.Pair(0, 4, 4, 0.8), S.Pair(1, 4, 4, 0.8), S.Pair(2, 5, 4, 0.8), S.Pair(3, 6, 4, 0.8)]
    assert S.evidence_chain(pairs, ps, 1 / 3, 4, 2, 4) == (0.0, [])
    ev, chain = S.evidence_chain(pairs + [S.Pair(4, 7, 4, 0.8)], ps, 1 / 3, 4, 2, 4)
    assert len(chain) == 5 and abs(ev - 5 * (0.8 - 1 / 3)) < 1e-9
    # a post sentence between two re-told ones that could have paired costs the chance level
    ev, chain = S.evidence_chain([S.Pair(0, 4, 4, 0.8), S.Pair(1, 6, 4, 0.8), S.Pair(2, 7, 4, 0.8),
                                  S.Pair(3, 8, 4, 0.8)], ps, 1 / 3, 4, 2, 4)
    assert len(chain) == 4 and abs(ev - (4 * (0.8 - 1 / 3) - 1 / 3)) < 1e-9


def test_the_c_matcher_and_difflib_give_the_same_blocks() -> None:
    """cdifflib (the [fast] extra) only speeds difflib up: an install without it aligns alike."""
    import difflib

    cdifflib = pytest.importorskip("cdifflib")
    src = (DATA / "bridge.txt").read_text(encoding="utf-8").lower().split()
    cpy = (DATA / "bridge_spun.txt").read_text(encoding="utf-8").lower().split()
    fast = cdifflib.CSequenceMatcher(None, src, cpy, autojunk=False).get_matching_blocks()
    plain = difflib.SequenceMatcher(None, src, cpy, autojunk=False).get_matching_blocks()
    assert [tuple(b) for b in fast] == [tuple(b) for b in plain] and len(plain) > 10
    from monitor.detect.align import _Matcher  # cdifflib's, without its per-word hash() check

    ours = _Matcher(None, src, cpy, autojunk=False).get_matching_blocks()
    assert [tuple(b) for b in ours] == [tuple(b) for b in plain]


def test_chains_from_numpy_candidates_are_those_of_the_plain_loop() -> None:
    """A copy's chains (hundreds of seeds) take their candidates from numpy; the result is the
    plain loop's, ties and all, also when the candidates are taken in small blocks."""
    from monitor.detect import align
    from monitor.detect.normalise import tokenize

    src = tokenize(text("bridge")).words
    cases = [(src, tokenize(text("bridge_spun")).words), (src, tokenize(text("bridge_other")).words),
             (src * 6, src * 4)]  # a repetitive page: many seeds a window
    for a, b in cases:
        pairs = align.seeds(a, b)
        for gap in (20, 3):
            assert align._longest_np(pairs, gap) == align._longest(pairs, gap)
        assert align._longest_np(pairs, 20, at_once=7) == align._longest(pairs, 20)
    assert len(align.seeds(src * 6, src * 4)) > align._MANY_SEEDS


def test_sentence_ends_are_those_of_the_plain_pattern() -> None:
    """_END starts with one character class (fast to search); its matches are those of the
    plain pattern it replaced on every short string of the characters that matter."""
    import itertools
    import re

    from monitor.detect.sentences import _END

    plain = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|\n")
    for n in range(1, 5):
        for chars in itertools.product(".!?\n\"’) a", repeat=n):
            t = "".join(chars)
            assert [m.span() for m in _END.finditer(t)] == [m.span() for m in plain.finditer(t)], repr(t)


def test_compare_each_is_compare_with_each_source(seed_pair):
    """A check's candidates compared at once (the post split once) give compare's verdicts."""
    original, spun = seed_pair
    det = Detector()
    sources = {1: original, 2: spun[: len(spun) // 3], 3: "an unrelated text about gardens " * 20, 4: ""}
    each = det.compare_each(spun, sources)
    assert list(each) == [1, 2, 3, 4]
    assert {k: v.to_dict() for k, v in each.items()} == {k: det.compare(t, spun).to_dict() for k, t in sources.items()}
    assert each[1].is_match and not each[3].is_match
