"""The cycle: a client rests after any contact before it is called again."""

from __future__ import annotations

import math
from datetime import date

from clientbase.values import days_after


def next_due(last_contact: str | None, rest_days: int) -> str | None:
    """The first day the client may be called again; None when it has never been contacted."""
    if not last_contact:
        return None
    return days_after(last_contact[:10], rest_days)


def is_due(due: str | None, as_of: date) -> bool:
    return due is None or due <= as_of.isoformat()


def overdue_days(due: str | None, as_of: date) -> int | None:
    """Days since the client fell due; None when it has never been contacted (no count to show)."""
    if due is None:
        return None
    return (as_of - date.fromisoformat(due)).days


def overdue_rank(overdue: int | None) -> float:
    """How overdue, for ordering only: a client never called comes before any other, as the store's
    candidates have it (a due date from 1990 is no reason to pass it)."""
    return math.inf if overdue is None else overdue
