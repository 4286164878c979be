"""The product rules (monitor/rules.py): pure decisions, checked without a database."""

from monitor.rules import MATERIAL_COVERAGE_CHANGE, material_change


def test_a_copy_grown_to_the_whole_article_alerts_again() -> None:
    assert material_change("partial_copy", 0.30, "a" * 64, "partial_copy", 0.95, "b" * 64)


def test_a_changed_kind_alerts_again_even_at_the_same_coverage() -> None:
    assert material_change("partial_copy", 0.50, "a" * 64, "spun_copy", 0.50, "b" * 64)


def test_a_small_coverage_move_does_not() -> None:
    # new ads or a fixed typo move coverage by a few points
    assert not material_change("exact_copy", 0.90, "a" * 64, "exact_copy", 0.86, "b" * 64)


def test_the_threshold_itself_is_material() -> None:
    assert material_change("exact_copy", 0.50, "a", "exact_copy", 0.50 + MATERIAL_COVERAGE_CHANGE, "b")


def test_the_same_copy_compared_again_only_refreshes_the_evidence() -> None:
    # a rescan or a new detector version: the copy did not change, so no new alert or revision
    assert not material_change("partial_copy", 0.30, "a" * 64, "exact_copy", 0.95, "a" * 64)
