"""A match's timeline: found, then each change of state (confirmed, notice sent, removed,
reinstated, …) with who made it and why (a removal carries its status and sha256)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.store import Database
from monitor.store.triage import events

WORDS = {"new": "back to new", "confirmed": "confirmed", "licensed": "licensed", "false_positive": "false positive",
         "ignored": "ignored", "notice_sent": "notice sent", "removed": "removed", "reinstated": "reinstated"}


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    what: str  # "found", "confirmed", "notice sent", "removed", …
    actor: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "what": self.what, "actor": self.actor, "note": self.note}

    def line(self) -> str:
        by = f" by {self.actor}" if self.actor else ""
        return f"{self.at:%Y-%m-%d %H:%M} UTC {self.what}{by}" + (f": {self.note}" if self.note else "")


def timeline(db: Database, match_id: int, detected_at: datetime) -> list[Step]:
    return [Step(detected_at, "found")] + [Step(e.at, WORDS.get(e.to_state, e.to_state), e.actor, e.note)
                                           for e in events(db, match_id)]
