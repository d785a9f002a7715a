"""Judging numbers and clients: what is dead or suspect, and who goes to (and leaves) the quarantine."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from clientbase.models import QuarantineEntry
from clientbase.phones import area_codes_for_city
from clientbase.values import days_after, shift


# Not frozen: a full clean makes one per usable phone, and frozen ones take five times as long to make.
@dataclass(slots=True)
class PhoneFacts:
    """One usable phone of one client, with the call verdict on its number."""

    phone_id: int
    client_id: int
    e164: str
    type: str
    country: str | None
    region: str | None
    client_city: str | None
    client_domestic: bool
    call_status: str | None  # from judge_calls: ok | dead | mismatch, None without calls
    call_reason: str | None
    call_decided_on: str | None
    hub_clients: int | None
    judged: str | None  # the judgement of the previous run, to keep its date when nothing changed
    judged_reason: str | None
    judged_on: str | None
    allocated: bool | None = None  # whether the numbering plan holds the number; None without a plan


def suspicion(phone: PhoneFacts) -> str | None:
    """Why the data alone makes the number suspect (a mismatch), or None."""
    if phone.hub_clients:
        return f"shared by {phone.hub_clients} unrelated clients"
    if phone.client_domestic and phone.country and phone.country != "RU":
        return f"foreign number ({phone.country}) for a domestic client"
    if phone.type == "fixed" and phone.country == "RU" and phone.client_city:
        codes = area_codes_for_city(phone.client_city)
        if codes and not phone.e164[2:].startswith(codes):
            return f"fixed line of {phone.region or 'another region'}, client in {phone.client_city}"
    return None


def judge_phone(phone: PhoneFacts, as_of: date) -> tuple[str | None, str | None, str | None]:
    """(status, reason, decided_on) for the number on this client; status None means it works.

    Calls outweigh data: an answered number is ok even if the data looks odd.
    """
    if phone.call_status in ("dead", "mismatch"):
        return phone.call_status, phone.call_reason, phone.call_decided_on
    if phone.call_status == "ok" and phone.call_decided_on:
        return None, None, None
    if phone.allocated is False:
        status, reason = "dead", "not allocated in the numbering plan"
    else:
        status, reason = "mismatch", suspicion(phone)
    if reason is None:
        return None, None, None
    same = phone.judged == status and phone.judged_reason == reason
    return status, reason, phone.judged_on if same and phone.judged_on else as_of.isoformat()


@dataclass(frozen=True, slots=True)
class ClientVerdict:
    client_id: int
    working: int  # numbers that may be called
    judged: int  # numbers found dead or mismatched
    closed: bool
    last_answered: str | None  # date of the latest answered call to any of its numbers
    last_decided: str | None  # date of the latest call that decided any of its numbers: alive, dead or mismatched
    last_condemned: str | None  # date of the latest call that found one of its numbers dead or mismatched


@dataclass(frozen=True, slots=True)
class QuarantineChange:
    client_id: int
    action: str  # quarantine | release | reason | recheck
    entry: QuarantineEntry | None


def quarantine_reason(verdict: ClientVerdict) -> str | None:
    if verdict.closed:
        return "closed"
    if verdict.working:
        return None
    return "all numbers dead or mismatched" if verdict.judged else "no working number"


def review_quarantine(verdict: ClientVerdict, entry: QuarantineEntry | None, as_of: date,
                      recheck_days: int) -> QuarantineChange | None:
    """What the quarantine does with one client tonight, or None when nothing changes.

    A quarantined client leaves only when a call after it went in shows it alive (or by hand);
    one released by hand does not go back for the same reason without new evidence: a call on a later
    day that decides one of its numbers (dead or mismatched). A call on or
    after the re-check date that decides one of its numbers without releasing it (dead or
    mismatched again) is the re-check done: the next one is due `recheck_days` after that call.
    """
    reason = quarantine_reason(verdict)
    active = entry is not None and entry.released_on is None
    if active:
        alive = verdict.last_answered is not None and verdict.last_answered >= entry.since
        if reason is None and alive:
            return QuarantineChange(verdict.client_id, "release", None)
        updated = QuarantineEntry(entry.client_id, reason or entry.reason, entry.since,
                                  _next_recheck(entry.recheck_on, verdict, recheck_days))
        if updated == entry:
            return None
        return QuarantineChange(verdict.client_id, "reason" if updated.recheck_on == entry.recheck_on else "recheck",
                                updated)
    if reason is None:
        return None
    if entry is not None and entry.released_on:
        condemned_since = verdict.last_condemned is not None and verdict.last_condemned > entry.released_on
        if entry.reason == "closed" and verdict.closed:
            # Released from "closed" by hand, the mark is set aside: its numbers alone may put it back.
            reason = quarantine_reason(replace(verdict, closed=False))
            if reason is None or not condemned_since:
                return None
        elif reason == entry.reason and not condemned_since:
            return None  # released by hand, and no call since has condemned a number: no new evidence
    recheck_on = _next_recheck(shift(as_of, recheck_days).isoformat(), verdict, recheck_days)
    return QuarantineChange(verdict.client_id, "quarantine",
                            QuarantineEntry(verdict.client_id, reason, as_of.isoformat(), recheck_on))


def _next_recheck(recheck_on: str, verdict: ClientVerdict, recheck_days: int) -> str:
    """The re-check date, moved on past a call that decided a number on or after it: that re-check is done.
    Unanswered calls decide nothing until they make a whole streak; a date held at the calendar's end stays."""
    if verdict.last_decided is not None and verdict.last_decided >= recheck_on:
        return days_after(verdict.last_decided, recheck_days)
    return recheck_on
