"""Triage: the states a match goes through on the desk, who may move it where, and the one
function that does it (the CLI, the API and the pages all call `triage_match`).

new ─► confirmed ─► notice_sent ─► removed ─► reinstated
 └──► licensed | false_positive | ignored   (and back to new or confirmed)

`removed` and `reinstated` are facts the monitor finds when it re-reads a copy (gone, or back);
an editor cannot set them by hand.
"""

from __future__ import annotations

from monitor.domain import TriageState
from monitor.store import Database
from monitor.store.triage import MatchNotFound, MatchState, StateConflict, last_actor, match_state, set_state

STATES = tuple(TriageState)
# Still wanting an editor's attention; the rest are handled.
OPEN_STATES = (TriageState.NEW, TriageState.CONFIRMED, TriageState.NOTICE_SENT, TriageState.REINSTATED)
HANDLED_STATES = (TriageState.LICENSED, TriageState.FALSE_POSITIVE, TriageState.IGNORED, TriageState.REMOVED)
# The states an editor picks from (buttons on the match page).
EDITOR_STATES = (TriageState.CONFIRMED, TriageState.LICENSED, TriageState.FALSE_POSITIVE, TriageState.IGNORED,
                 TriageState.NOTICE_SENT, TriageState.NEW)
MONITOR = "monitor"  # the actor of changes the monitor makes itself

__all__ = ["EDITOR_STATES", "HANDLED_STATES", "MONITOR", "OPEN_STATES", "STATES", "MatchNotFound",
           "StateConflict", "TriageError", "TriageState", "triage_match"]


class TriageError(ValueError):
    """A change the rules do not allow, phrased for the editor."""


def check(from_state: str, to_state: str, by_monitor: bool) -> None:
    if to_state not in STATES:
        raise TriageError(f"unknown state {to_state!r}; states: {', '.join(STATES)}")
    if to_state == from_state:
        raise TriageError(f"the match is already {to_state}")
    if to_state in (TriageState.REMOVED, TriageState.REINSTATED) and not by_monitor:
        raise TriageError(f"{to_state} is set by the monitor when it re-reads the copy, not by hand")
    if to_state == TriageState.NOTICE_SENT and from_state not in (TriageState.CONFIRMED, TriageState.REINSTATED):
        raise TriageError("confirm the match before recording a notice as sent")
    if to_state == TriageState.REINSTATED and from_state != TriageState.REMOVED:
        raise TriageError("only a removed copy can be reinstated")


def triage_match(db: Database, match_id: int, to_state: str, actor: str, note: str | None = None,
                 version: int | None = None, reason: str | None = None) -> MatchState:
    """Change a match's state, recording who, when, from, to and the note.

    `version` is the state version the editor saw (pages and API send it): if the match
    changed since, StateConflict, and nothing is overwritten. Without it, the current one.
    """
    current = match_state(db, match_id)
    expected = current.version if version is None else version
    if expected != current.version:
        raise StateConflict(match_id, expected, current.version, current.state, last_actor(db, match_id))
    check(current.state, to_state, by_monitor=actor == MONITOR)
    return set_state(db, match_id, current.state, to_state, expected, actor, note=note, reason=reason)
