"""One alert per copied post: matches explained by a better match fold into its `related`."""

from __future__ import annotations

from pathlib import Path

from monitor.detect import Detector, Verdict, fold_related
from monitor.detect.engine import Passage

DATA = Path(__file__).resolve().parent / "data"


def text(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8")


def paragraphs(t: str) -> list[str]:
    return [p for p in t.split("\n\n") if p.strip()]


def _scan(sources: dict[int, str], post: str) -> list[tuple[int, Verdict]]:
    det = Detector()
    for sid, t in sources.items():
        det.add(sid, det.signature(t))
    return det.scan(post, lambda ids: {i: sources[i] for i in ids})


def test_a_shared_background_paragraph_folds_into_the_copied_story() -> None:
    # Y, a follow-up, repeats X's second paragraph as background; the post copies X (spun).
    x = text("bridge")
    y = text("garden") + "\n\n" + paragraphs(x)[2]
    post = text("bridge_spun")
    det = Detector()
    assert det.compare(y, post).is_match  # on its own, Y "matches" through X's paragraph
    found = _scan({1: x, 2: y}, post)
    assert [sid for sid, _ in found] == [1]
    assert found[0][1].related == (2,)
    assert found[0][1].to_dict()["related"] == [2]


def test_two_articles_copied_side_by_side_stay_two_matches() -> None:
    post = ("\n\n".join(paragraphs(text("bakery_spun"))[1:]) + "\n\n"
            + "\n\n".join(paragraphs(text("bridge_spun"))[:3]))
    found = _scan({1: text("bridge"), 2: text("bakery"), 4: text("bridge_other")}, post)
    assert sorted(sid for sid, _ in found) == [1, 2]
    assert all(v.related == () for _, v in found)


def _verdict(score: float, reused: int, coverage: float, spans: list[tuple[int, int]]) -> Verdict:
    return Verdict(True, "partial_copy", score, coverage, 0.2,
                   tuple(Passage(0, 1, a, b) for a, b in spans), reused=reused)


def test_fold_keeps_a_match_that_still_stands_outside_the_better_one() -> None:
    best = _verdict(0.9, 300, 0.8, [(0, 2000)])
    inside = _verdict(0.7, 70, 0.15, [(500, 900)])
    half_out = _verdict(0.6, 200, 0.4, [(1500, 2500)])  # 100 of its words lie outside: it stands
    not_match = Verdict(False, None)
    out = fold_related([("b", inside), ("a", best), ("c", half_out), ("d", not_match)], 50, 0.25)
    assert [k for k, _ in out] == ["a", "c"]
    assert out[0][1].related == ("b",) and out[1][1].related == ()
