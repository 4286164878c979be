"""Domain values passed between stages.

Small frozen dataclasses: the stages exchange these, never ORM rows (those stay in `store/`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    """An article the user registered and wants protected."""

    url: str
    text: str
    title: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """A post seen on a watched feed or blog, after extraction."""

    url: str
    text: str
    title: str = ""
    guid: str = ""
    feed_url: str = ""
    published: datetime | None = None
    # The raw page as evidence: bytes as served (after content decoding, what `curl
    # --compressed` saves), hashed as they are; str: HTML carried in a feed entry (kept as UTF-8).
    html: bytes | str | None = None
    http_status: int | None = None
    fetched_at: datetime | None = None
    headers: dict[str, str] | None = None  # the page's response headers (lower-case names), as evidence


@dataclass(frozen=True, slots=True)
class Passage:
    """A reused passage: character offsets into the source text and into the copy's text."""

    source_start: int
    source_end: int
    copy_start: int
    copy_end: int


@dataclass(frozen=True, slots=True)
class Match:
    """The detector's verdict that a post copies a source, with its evidence."""

    source_url: str
    copy_url: str
    kind: str  # "copy" | "spun_copy" | "partial_copy"
    score: float  # 0..1, how sure the detector is
    coverage: float  # share of the source reused
    spin_rate: float  # share of aligned words that were substituted
    passages: tuple[Passage, ...] = ()
    substitutions: tuple[tuple[str, str], ...] = ()
    source_title: str = ""
    copy_title: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        """The JSON-ready evidence kept with the match and sent in alerts."""
        return {
            "kind": self.kind,
            "score": round(self.score, 4),
            "coverage": round(self.coverage, 4),
            "spin_rate": round(self.spin_rate, 4),
            "passages": [asdict(p) for p in self.passages],
            "substitutions": [list(s) for s in self.substitutions],
            **self.details,
        }
