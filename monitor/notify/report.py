"""The evidence report: one self-contained HTML page a takedown notice can cite.

Source and copy side by side, reused passages highlighted with matching numbers, the swapped
words, the copy's URL, fetch time, HTTP status and the sha256 of the stored raw page. Every value
is escaped: the copy's text is untrusted, and only http(s) URLs are links.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from typing import Any

from monitor.detect import kept_words
from monitor.notify.message import link
from monitor.store import MatchRecord, RevisionInfo

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:78em;color:#222}
h1{font-size:1.4em} table.meta td{padding:.15em .8em .15em 0;vertical-align:top}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
.col{border:1px solid #ccc;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}
mark{background:#ffe58a} u.swap{text-decoration:2px underline #c00;background:#fdd}
b.kept{font-weight:600;text-decoration:2px underline #2a7} sup{color:#a60;font-weight:bold} code{font-size:.9em}
"""


_WORD = re.compile(r"\w+")


def _changed(source: str, copy: str, passages: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character ranges of the words that differ between each source passage and its copy.

    Exactly what was swapped in each aligned pair of passages, not every occurrence of a word
    the spinner swapped somewhere."""
    src_out: list[tuple[int, int]] = []
    cpy_out: list[tuple[int, int]] = []
    for p in passages:
        s_words = list(_WORD.finditer(source, p["source_start"], p["source_end"]))
        c_words = list(_WORD.finditer(copy, p["copy_start"], p["copy_end"]))
        sm = difflib.SequenceMatcher(None, [m.group().casefold() for m in s_words],
                                     [m.group().casefold() for m in c_words], autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                continue
            if i2 > i1:
                src_out.append((s_words[i1].start(), s_words[i2 - 1].end()))
            if j2 > j1:
                cpy_out.append((c_words[j1].start(), c_words[j2 - 1].end()))
    return src_out, cpy_out


def _kept(source: str, copy: str, passages: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character ranges of the words each re-told passage kept of its original (names,
    numbers, word stems; detect.kept_words): for a rewrite, what came across is the evidence."""
    src_out: list[tuple[int, int]] = []
    cpy_out: list[tuple[int, int]] = []
    for p in passages:
        s0, c0 = p["source_start"], p["copy_start"]
        a, b = kept_words(source[s0:p["source_end"]], copy[c0:p["copy_end"]])
        src_out += [(s0 + x, s0 + y) for x, y in a]
        cpy_out += [(c0 + x, c0 + y) for x, y in b]
    return src_out, cpy_out


_SWAPPED = '<u class="swap">{}</u>'
_KEPT = '<b class="kept">{}</b>'


def _highlight(text: str, start: int, end: int, ranges: list[tuple[int, int]], tag: str = _SWAPPED) -> str:
    """Escape text[start:end], wrapping the ranges inside it in `tag`."""
    out, pos = [], start
    for a, b in ranges:
        a, b = max(a, pos), min(b, end)
        if b <= a:
            continue
        out.append(html.escape(text[pos:a]))
        out.append(tag.format(html.escape(text[a:b])))
        pos = b
    out.append(html.escape(text[pos:end]))
    return "".join(out)


def _marked(text: str, spans: list[tuple[int, int, int]], ranges: list[tuple[int, int]], tag: str = _SWAPPED) -> str:
    """Escape text, wrapping each (start, end, number) span in <mark> with its number and the
    ranges inside the spans in `tag`."""
    ranges = sorted(ranges)
    out, pos = [], 0
    for start, end, n in sorted(spans):
        start = max(start, pos)
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<sup>{n}</sup><mark>{_highlight(text, start, end, ranges, tag)}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


_SWAPPED_NOTE = "Underlined: within each passage, the words that differ between original and copy."
_KEPT_NOTE = ("The copy re-tells these sentences in other words. Bold and underlined: within each passage, "
              "the words it kept of the original (names, numbers and word stems); the rest was reworded.")


def _how(match: MatchRecord) -> str:
    """How the copy was found, in the words of its method (the verdict's spin_rate means
    swapped words, changed terms, or 1 − the mean sentence similarity)."""
    method = match.evidence.get("method")
    if method == "sentences":
        return (f"{match.spin_rate:.0%} of the content words of re-told sentences changed "
                "(found sentence by sentence, word order aside)")
    if method == "semantic":
        return (f"sentences re-told by meaning, mean similarity {1 - match.spin_rate:.2f} "
                "(sentence embeddings, word order and wording aside)")
    return f"{match.spin_rate:.0%} of aligned words swapped"


def evidence_html(match: MatchRecord, source_text: str, copy_text: str,
                  extra_rows: Sequence[tuple[str, str]] = ()) -> str:
    """The evidence as an HTML fragment: facts, the texts side by side, the swapped words.

    The report below and the desk's match page both show this. Every value is escaped."""
    e = html.escape
    passages: list[dict[str, Any]] = match.evidence.get("passages", [])
    src_spans = [(p["source_start"], p["source_end"], i) for i, p in enumerate(passages, 1)]
    cpy_spans = [(p["copy_start"], p["copy_end"], i) for i, p in enumerate(passages, 1)]
    pairs = match.evidence.get("substitutions", [])[:40]
    subs = "".join(f"<li><code>{e(a)}</code> &rarr; <code>{e(b)}</code></li>" for a, b in pairs)
    # word order (alignment): underline what the spinner swapped; a re-telling (sentences,
    # semantic) changes most words, so show instead what it kept
    retold = match.evidence.get("method") in ("sentences", "semantic")
    src_words, cpy_words = (_kept if retold else _changed)(source_text, copy_text, passages)
    tag = _KEPT if retold else _SWAPPED
    fetched = match.fetched_at.isoformat(timespec="seconds") if match.fetched_at else "—"
    rows = [
        ("Original", f"{link(match.source_url)} {e(match.source_title)}"),
        ("Copy", f"{link(match.copy_url)} {e(match.copy_title)}"),
        ("Verdict", f"{e(match.kind.replace('_', ' '))}: score {match.score:.2f}, "
                    f"{match.coverage:.0%} of the original reused, " + _how(match)),
        ("Detected", e(match.detected_at.isoformat(timespec="seconds"))),
        ("Copy fetched", f"{e(fetched)}, HTTP status {e(str(match.http_status or '—'))}"
                         + (" — the post has changed since; shown as it was when this was found"
                            if match.copy_changed else "")),
        # The page's bytes as served (after content decoding, as `curl --compressed` saves
        # them); a post read from its feed's entry has no page: the entry's HTML, as UTF-8.
        ("Raw page sha256" if match.http_status is not None else "Feed entry HTML sha256 (UTF-8)",
         f"<code>{e(match.raw_sha256 or '—')}</code>"
         + (" — of the bytes as the server sent them (after gzip/deflate decoding)"
            if match.http_status is not None and match.raw_sha256 else "")),
        ("Passages", str(len(passages))),
        *extra_rows,
    ]
    related = [r for r in match.evidence.get("related", []) if isinstance(r, dict)]
    if related:  # sources matched only through text they share with this one (one copy, one match)
        rows.append(("Related", "Also matched through text they share with the original: " + "; ".join(
            f'{link(str(r.get("source_url")))} {e(str(r.get("source_title") or ""))}' for r in related)))
    meta = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"""<table class="meta">{meta}</table>
<h2>Side by side</h2><p>Highlighted and numbered: the passages of the original found in the copy.
{_KEPT_NOTE if retold else _SWAPPED_NOTE}</p>
<div class="cols"><div><h3>Original</h3><div class="col">{_marked(source_text, src_spans, src_words, tag)}</div></div>
<div><h3>Copy</h3><div class="col">{_marked(copy_text, cpy_spans, cpy_words, tag)}</div></div></div>
{f"<h2>Words swapped</h2><ul>{subs}</ul>" if subs else ""}"""


def render(match: MatchRecord, source_text: str, copy_text: str,
           revisions: Sequence[RevisionInfo] = (), timeline: Sequence[str] = ()) -> str:
    """The evidence page; `revisions` are the match's other revisions, listed by number;
    `timeline` the match's steps (found, notice sent, removed, …) as lines."""
    e = html.escape
    extra = []
    if len(timeline) > 1:
        extra.append(("Timeline", "<br>".join(e(line) for line in timeline)))
    if revisions or match.revision:
        others = "; ".join(
            f"{r.revision}: {e(r.kind.replace('_', ' '))}, {r.coverage:.0%} reused, found "
            f"{e(r.detected_at.isoformat(timespec='seconds'))} "
            f"(<code>monitor report {match.id} --revision {r.revision}</code>)" for r in revisions)
        extra.append(("Revision", f"{match.revision}" + (f"; others: {others}" if others else "")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence: match {match.id}</title>
<style>{_CSS}</style></head><body>
<h1>Evidence of reuse — match {match.id}</h1>
{evidence_html(match, source_text, copy_text, extra)}
<p><small>Generated by Reuse Monitor. The raw page as fetched is stored in the database (posts.raw_page, or
matches.copy_raw_page once the post has changed); its sha256 above identifies it.</small></p>
</body></html>"""
