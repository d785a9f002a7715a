"""The cycle: a client rests after any contact before it is called again."""

from __future__ import annotations

from datetime import date

from clientbase.values import days_after

NEVER_CONTACTED_OVERDUE = 10_000  # days: where a client never called ranks (see overdue_rank)


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


def overdue_rank(overdue: int | None) -> int:
    """How overdue, for ordering only: a client never called counts as the most overdue of all."""
    return NEVER_CONTACTED_OVERDUE if overdue is None else overdue
