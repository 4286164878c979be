"""AI-style rewrites in German, French, Spanish, Italian and Indonesian/Malay: found per kind and
language, with the rewrite check's terms in the text's language (after) and with the English rule
for every text (before), in the same run.

    python bench/detect_multilingual.py [--dev ../shared/data/detect-dev] [--pairs]

Posts: bench/data/multilingual/posts.jsonl (written for this bench, README there): per source a
paraphrase, a heavy rewrite, a partial rewrite inside an unrelated post, and an article on the
same event written from its facts alone (must match nothing). Sources, by key: five real pages of
extract-dev-multi (their text by monitor.extract) and one Indonesian article of extract-dev.
Registered: the dev set's 55 sources, the extract-dev articles and every extract-dev-multi page of
40 words or more (about 450 more pages, two thirds German): each post is scanned against all.
Also each extract-dev-multi page is scanned against the others, and the sentence check alone
compares every same-event post and every source of this bench with every registered text.
--pairs: also the sentence check alone on every ordered pair of registered texts of one language
other than English (~115,000 pairs, ~8 minutes of CPU a pass).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEV, ROOT, load_sources  # noqa: E402
from monitor.detect import DetectSettings, Detector, languages  # noqa: E402
from monitor.detect.normalise import tokenize  # noqa: E402

POSTS = ROOT / "bench" / "data" / "multilingual" / "posts.jsonl"
MULTI = DEV.parent / "extract-dev-multi"
EXTRACT = DEV.parent / "extract-dev" / "ground-truth.json"
KINDS = ("paraphrase", "heavy", "partial", "same-event")


def multi_pages() -> dict[str, str]:
    """"multi:<key>" → main text of each extract-dev-multi page (monitor.extract) of 40 words or more."""
    from monitor.extract import extract_page

    seg = json.loads((MULTI / "segments.json").read_text(encoding="utf-8"))
    out = {}
    for key, x in seg.items():
        text = extract_page(gzip.open(MULTI / "html" / f"{key}.html.gz").read(), x["url"]).text
        if len(text.split()) >= 40:
            out[f"multi:{key}"] = text
    return out


@contextmanager
def english_rule() -> Iterator[None]:
    """Every text read by the English rule, as before languages.py (no language is chosen)."""
    real = languages.language
    languages.language = lambda words: None  # type: ignore[assignment]
    try:
        yield
    finally:
        languages.language = real


def run(name: str, sources: dict[str, str], urls: list[str], posts: list[dict], multi: list[str]) -> None:
    t0 = time.process_time()
    det = Detector(DetectSettings())
    sigs = [det.signature(sources[u]) for u in urls]
    for i, sig in enumerate(sigs):
        det.add(i, sig)
    load = lambda ids: {i: sources[urls[i]] for i in ids}  # noqa: E731
    table: dict[tuple[str, str], list[int]] = {}  # (kind, lang) → [found or clean, posts, alone]
    fps: list[tuple[str, str, str]] = []
    how = []
    for it in posts:
        sid = urls.index(it["source"])
        got = dict(det.scan(it["text"], load))
        alone = det.compare_sentences(sources[it["source"]], it["text"])
        row = table.setdefault((it["kind"], it["lang"]), [0, 0, 0])
        row[1] += 1
        if it["kind"] == "same-event":
            row[0] += not got
            row[2] += not alone.is_match
            fps += [(it["id"], urls[j], v.method) for j, v in got.items()]
        else:
            row[0] += sid in got
            row[2] += alone.is_match
            fps += [(it["id"], urls[j], v.method) for j, v in got.items() if j != sid]
            how.append(f"{it['id']} {got[sid].kind} by {got[sid].method}" if sid in got else f"{it['id']} missed")
    print(f"== {name}")
    langs = sorted({it["lang"] for it in posts})
    for kind in KINDS:
        cells = []
        for lang in langs:
            a, n, c = table.get((kind, lang), [0, 0, 0])
            if n:
                cells.append(f"{lang} {a}/{n} (alone {c}/{n})")
        total = [sum(table.get((kind, lang), [0, 0, 0])[k] for lang in langs) for k in range(3)]
        verb = "clean" if kind == "same-event" else "found"
        print(f"  {kind:<11} {verb} {total[0]}/{total[1]} (sentence check alone {total[2]}/{total[1]}): "
              + "  ".join(cells))
    print(f"  false-positive matches {len(fps)}" + "".join(f"\n    FALSE POSITIVE {p} -> {s} by {m}"
                                                           for p, s, m in fps))
    print("    " + "; ".join(how))
    # precision beyond the posts: every extract-dev-multi page against the others (the index
    # scan), and the sentence check alone on same-event posts and this bench's sources
    shared = []
    for u in multi:
        i = urls.index(u)
        det.remove(i)  # else the page matches itself, and folding hides what else it matches
        shared += [(u, urls[j], v.kind, v.method) for j, v in det.scan(sources[u], load)]
        det.add(i, sigs[i])
    own = sorted({it["source"] for it in posts})
    texts = [(it["id"], it["text"]) for it in posts if it["kind"] == "same-event"] + [(u, sources[u]) for u in own]
    alone_hits = [(a, u) for a, t in texts for u in urls if u != a and det.compare_sentences(sources[u], t).is_match]
    # not copies, but a wire story printed by two papers is shared text: listed, to be checked
    print(f"  {len(multi)} extract-dev-multi pages scanned against the other registered texts: matches {len(shared)}"
          + "".join(f"\n    SHARED TEXT {u} <- {w} {k} by {m}" for u, w, k, m in shared))
    print(f"  sentence check alone, {len(texts)} same-event posts and sources x {len(urls)} registered: "
          f"matches {len(alone_hits)}" + "".join(f"\n    SENTENCE CHECK ALONE {a} <- {u}" for a, u in alone_hits))
    print(f"  ({time.process_time() - t0:.1f} s CPU)")


def same_language(sources: dict[str, str]) -> dict[str, list[str]]:
    """language → the registered texts judged of it (not English)."""
    by_lang: dict[str, list[str]] = {}
    for u, t in sources.items():
        lang = languages.language(tokenize(t).words)
        if lang is not None:
            by_lang.setdefault(lang, []).append(u)
    return by_lang


def all_pairs(name: str, sources: dict[str, str], by_lang: dict[str, list[str]]) -> None:
    """The sentence check alone on every ordered pair of registered texts judged the same
    language (not English): articles of one language share its function words and, here, stems."""
    det, t0, n, hits = Detector(), time.process_time(), 0, []
    for lang, us in sorted(by_lang.items()):
        for a in us:
            for b in us:
                if a != b:
                    n += 1
                    if (v := det.compare_sentences(sources[a], sources[b])).is_match:
                        hits.append(f"{lang} {b} <- {a}: {v.reason}")
    print(f"== {name}: the sentence check alone on {n} ordered pairs of registered texts of one language "
          f"({', '.join(f'{k} {len(v)}' for k, v in sorted(by_lang.items()))}): matches {len(hits)} "
          f"({time.process_time() - t0:.0f} s CPU)" + "".join(f"\n    {h}" for h in hits))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dev", default=str(DEV))
    ap.add_argument("--pairs", action="store_true", help="also every same-language pair (slow)")
    args = ap.parse_args()
    sources = load_sources(Path(args.dev))
    n_dev = len(sources)
    for x in json.loads(EXTRACT.read_text(encoding="utf-8")).values():
        if len(x["articleBody"].split()) >= 40:
            sources.setdefault(x["url"], x["articleBody"])
    n_extract = len(sources) - n_dev
    pages = multi_pages()
    sources.update(pages)
    urls = list(sources)
    posts = [json.loads(line) for line in open(POSTS, encoding="utf-8") if line.strip()]
    print(f"{len(posts)} posts of {len({it['source'] for it in posts})} sources from {POSTS.relative_to(ROOT)}; "
          f"{len(urls)} registered ({n_dev} detect-dev, {n_extract} extract-dev, {len(pages)} extract-dev-multi)")
    for u in sorted({it["source"] for it in posts}):
        src_lang = languages.language(tokenize(sources[u]).words)
        post_langs = sorted({str(languages.language(tokenize(it["text"]).words)) for it in posts if it["source"] == u})
        print(f"  {u}: source {src_lang}, posts {', '.join(post_langs)}")
    with english_rule():
        run("before: the English rule for every text", sources, urls, posts, list(pages))
    run("after: terms in the text's language", sources, urls, posts, list(pages))
    if args.pairs:
        by_lang = same_language(sources)
        with english_rule():
            all_pairs("before", sources, by_lang)
        all_pairs("after", sources, by_lang)


if __name__ == "__main__":
    main()
