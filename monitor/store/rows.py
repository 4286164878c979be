"""Small helpers shared by the desk's store modules."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (typed: Session.execute returns a Result)."""
    return cast(CursorResult[Any], result).rowcount
