"""Product rules the store and the pipeline ask: pure decisions, no I/O, no SQL."""

from __future__ import annotations

# A re-checked copy whose coverage moved by this much (or whose kind changed) alerts again:
# re-fetches with new ads or a fixed typo move coverage by a few points; a copy that grew from
# a few paragraphs to the whole article moves it by tens of points.
MATERIAL_COVERAGE_CHANGE = 0.15


def material_change(before_kind: str, before_coverage: float, before_copy_hash: str,
                    kind: str, coverage: float, copy_hash: str) -> bool:
    """Whether a re-checked match is worth a new alert and a revision (the earlier one kept):
    the copy's text changed since the match was recorded, and the kind changed or the coverage
    moved by MATERIAL_COVERAGE_CHANGE or more. The same text compared again (a rescan, a new
    version of the detector) only refreshes the evidence."""
    if before_copy_hash == copy_hash:
        return False
    return before_kind != kind or abs(before_coverage - coverage) >= MATERIAL_COVERAGE_CHANGE
