"""The cycle: a client rests after any contact before it is called again."""

from __future__ import annotations

from datetime import date

from clientbase.values import days_after

NEVER_CONTACTED_OVERDUE = 10_000  # days: a client never called is the most overdue of all


def next_due(last_contact: str | None, rest_days: int) -> str | None:
    """The first day the client may be called again; None when it has never been contacted."""
    if not last_contact:
        return None
    return days_after(last_contact[:10], rest_days)


def is_due(due: str | None, as_of: date) -> bool:
    return due is None or due <= as_of.isoformat()


def overdue_days(due: str | None, as_of: date) -> int:
    if due is None:
        return NEVER_CONTACTED_OVERDUE
    return (as_of - date.fromisoformat(due)).days
