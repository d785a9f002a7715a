"""Today's call list: for each manager, whom to call, on which number, and why."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import MAXYEAR, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clientbase.cycle import is_due, overdue_days, overdue_rank
from clientbase.values import birthday_on

CLASS_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3, "E": 4}
_DECISION_MAKER = re.compile(
    r"лпр|директор|руководител|владел|собственник|учредител|президент|начальник|глава|заведующ|"
    r"director|ceo|owner|founder|head|president|chief",
    re.IGNORECASE,
)
_TYPE_ORDER = {"mobile": 0, "fixed": 1}
REFERENCE_ZONE = "Europe/Moscow"


@dataclass(frozen=True, slots=True)
class PhoneOption:
    e164: str
    type: str
    working: bool  # not judged dead or mismatched
    contact: str | None
    position: str | None
    birthday: str | None

    @property
    def decision_maker(self) -> bool:
        return bool(self.position and _DECISION_MAKER.search(self.position))


@dataclass(frozen=True, slots=True)
class Candidate:
    client_id: int
    name: str | None
    owner: str | None
    state: str
    abcde: str | None
    segment: str | None
    next_due: str | None
    last_contact: str | None
    recheck_due: bool
    handed_out_to: str | None  # the manager this client was handed to from the pool on the as-of date
    person: bool  # a sole trader or a private person: the name is that person's
    phones: tuple[PhoneOption, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkItem:
    manager: str
    client_id: int
    name: str | None
    abcde: str | None
    phone: str
    reason: str
    last_contact: str | None
    next_due: str | None
    overdue_days: int | None  # None: never contacted
    contact: str | None
    segment: str | None
    timezone: str | None
    call_window: str
    person: bool  # the client's name is a person's: masked in lists sent outside
    birthday_of: str | None = None  # the decision maker the reason names: masked too


@dataclass
class Worklists:
    lists: dict[str, list[WorkItem]] = field(default_factory=dict)
    handouts: list[tuple[int, str]] = field(default_factory=list)  # (client, manager) newly handed out of the pool


def best_phone(candidate: Candidate) -> PhoneOption | None:
    """The number to call: a working one, the decision maker's mobile first.

    A re-check calls the numbers that failed instead, to learn whether they came back to life.
    """
    if candidate.recheck_due:
        choices = [p for p in candidate.phones if not p.working] or list(candidate.phones)
    else:
        choices = [p for p in candidate.phones if p.working]
    if not choices:
        return None
    return min(choices, key=lambda p: (not p.decision_maker, _TYPE_ORDER.get(p.type, 2), p.e164))


def _birthday_soon(candidate: Candidate, as_of: date, days: int) -> tuple[str, str | None] | None:
    """(why, whose) for a decision maker whose birthday is within `days`."""
    for phone in candidate.phones:
        if not (phone.birthday and phone.decision_maker):
            continue
        for year in range(as_of.year, min(as_of.year + 1, MAXYEAR) + 1):  # no year after 9999
            upcoming = birthday_on(phone.birthday, year)
            if 0 <= (upcoming - as_of).days <= days:
                why = f"decision maker's birthday {upcoming:%d.%m}" + (f" ({phone.contact})" if phone.contact else "")
                return why, phone.contact
    return None


def call_window(zone: str | None, as_of: date, call_from: str, call_until: str) -> str:
    """The local calling hours, and the same hours in Moscow time when the client lives elsewhere."""
    local = f"{call_from}-{call_until} local"
    if zone is None or zone == REFERENCE_ZONE:
        return local
    try:
        there, here = ZoneInfo(zone), ZoneInfo(REFERENCE_ZONE)
    except ZoneInfoNotFoundError:
        return local

    def moscow(hhmm: str) -> str:
        moment = datetime.combine(as_of, time.fromisoformat(hhmm), there)
        return moment.astimezone(here).strftime("%H:%M")

    return f"{local} ({moscow(call_from)}-{moscow(call_until)} MSK)"


def _order(item: WorkItem) -> tuple:
    return (CLASS_ORDER.get(item.abcde or "", 5), -overdue_rank(item.overdue_days), item.client_id)


def _item(manager: str, candidate: Candidate, phone: PhoneOption, reason: tuple[str, str | None], as_of: date,
          call_from: str, call_until: str, zone_of: Callable[[str], str | None]) -> WorkItem:
    zone = zone_of(phone.e164)
    return WorkItem(manager, candidate.client_id, candidate.name, candidate.abcde, phone.e164, reason[0],
                    candidate.last_contact, candidate.next_due, overdue_days(candidate.next_due, as_of),
                    phone.contact, candidate.segment, zone, call_window(zone, as_of, call_from, call_until),
                    candidate.person, reason[1])


def _reason(candidate: Candidate, as_of: date, birthday_days: int, from_pool: bool) -> tuple[str, str | None]:
    """Why the client is on the list, and the decision maker it names, if any."""
    if candidate.recheck_due:
        base = "re-check"
    elif candidate.segment == "lost":
        base = "lost client to win back"
    elif from_pool:
        base = "new from pool"
    else:
        base = "cycle due"
    birthday = _birthday_soon(candidate, as_of, birthday_days)
    return (f"{base}; {birthday[0]}", birthday[1]) if birthday else (base, None)


def build_worklists(
    managers: Sequence[str],
    own: dict[str, Sequence[Candidate]],
    pool: Sequence[Candidate],
    as_of: date,
    *,
    quota: int,
    birthday_days: int,
    call_from: str,
    call_until: str,
    zone_of: Callable[[str], str | None],
) -> Worklists:
    """Each manager's due clients first, then pool clients dealt round-robin in rank order up to the quota.

    Never: a snoozed or quarantined client (unless its re-check is due), a client within its cycle,
    a client without a number to call, or a client on two lists.
    """
    result = Worklists()
    taken: set[int] = set()

    def eligible(candidate: Candidate) -> PhoneOption | None:
        if candidate.client_id in taken or candidate.state == "snoozed":
            return None
        if candidate.state == "quarantined" and not candidate.recheck_due:
            return None
        if not candidate.recheck_due and not is_due(candidate.next_due, as_of) and candidate.handed_out_to is None:
            return None
        return best_phone(candidate)

    def rank(candidate: Candidate) -> tuple:
        overdue = overdue_rank(overdue_days(candidate.next_due, as_of))
        return CLASS_ORDER.get(candidate.abcde or "", 5), -overdue, candidate.client_id

    for manager in managers:
        items: list[WorkItem] = []
        ranked = sorted(own.get(manager, ()), key=rank)
        for candidate in ranked:
            if len(items) >= quota:
                break
            if phone := eligible(candidate):
                from_pool = candidate.handed_out_to is not None and candidate.handed_out_to == manager
                items.append(_item(manager, candidate, phone, _reason(candidate, as_of, birthday_days, from_pool),
                                   as_of, call_from, call_until, zone_of))
                taken.add(candidate.client_id)
        result.lists[manager] = items

    open_managers = [m for m in managers if len(result.lists[m]) < quota]
    for candidate in sorted(pool, key=rank):
        if not open_managers:
            break
        phone = eligible(candidate)
        if phone is None:
            continue
        # Deal to whoever has the shortest list, so the best pool clients are shared fairly.
        manager = min(open_managers, key=lambda m: (len(result.lists[m]), managers.index(m)))
        result.lists[manager].append(_item(manager, candidate, phone, _reason(candidate, as_of, birthday_days, True),
                                           as_of, call_from, call_until, zone_of))
        result.handouts.append((candidate.client_id, manager))
        taken.add(candidate.client_id)
        if len(result.lists[manager]) >= quota:
            open_managers.remove(manager)
    for manager in managers:
        result.lists[manager].sort(key=_order)
    return result
