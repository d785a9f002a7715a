"""One client, one manager: owners from dumps and commands, conflicts, and terms that expire."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from clientbase.config import source_rank
from clientbase.values import days_after

HOLDING_EVENTS = ("assign", "handout", "reassign")  # ledger events that give the client an owner
# What settled a conflict when the conflict rule did not: the last event (a command, or a term that ran
# out) when it stands, or a claim newer than it when one is.
SETTLED_BY_EVENT = {"assign": "assigned by a command", "handout": "handed out from the pool",
                    "reassign": "reassigned by a command", "release": "released by a command",
                    "expire": "the term ran out"}
_CLAIMED_AFTER_EVENT = {"assign": "claimed after the assignment", "handout": "claimed after the hand-out",
                        "reassign": "claimed after the reassignment", "release": "claimed after the release",
                        "expire": "claimed after the earlier owner's term ran out"}


@dataclass(frozen=True, slots=True)
class Claim:
    """An owner named in a dump: `Ответственный` / `Менеджер` of one record."""

    manager: str
    assigned_on: str | None
    ref: str


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    client_id: int
    kind: str  # assign | handout | reassign | release | expire
    manager: str | None
    on: str  # ISO date the event takes effect
    term_days: int | None = None
    reason: str = ""


@dataclass(slots=True)  # not frozen: a clean makes one per client, and a frozen one takes five times as long
class Ownership:
    client_id: int
    owner: str | None
    since: str | None
    until: str | None
    basis: str  # where the owner comes from: a record reference, a command, or 'pool'
    claimants: tuple[str, ...] = ()  # every manager claiming the client, when more than one
    rule: str | None = None  # how a conflict was resolved
    expired_on: str | None = None  # the term ran out: the caller records the client's return to the pool
    expired_owner: str | None = None  # who held it until then


@dataclass(frozen=True, slots=True)
class Notice:
    """A manager's claim that lost: the dumps name them for a client another manager holds (DOMAIN §5.2)."""

    manager: str
    client_id: int
    name: str | None
    owner: str
    why: str
    person: bool  # the client's name is a person's: masked in lists sent outside


def conflict_notices(conflicts: Iterable[tuple], day: str, managers: Sequence[str] | None = None
                     ) -> dict[str, list[Notice]]:
    """The notices of each conflict's claimants (store.conflicts_now) who do not hold the client on `day`, only
    `managers`' when given. A client back in the pool, or whose owner's term has run out, is no one's. The owner
    may have changed since the clean (a command, a hand-out): the last ledger event then says how."""
    keys: dict[str | None, str | None] = {}  # a few hundred managers name tens of thousands of conflicts

    def key_of(name: str | None) -> str | None:
        if name not in keys:
            keys[name] = manager_key(name)
        return keys[name]

    wanted = None if managers is None else {key_of(m) for m in managers}
    notices: dict[str, list[Notice]] = {}
    for client_id, claimants, resolved, settled, owner, until, event, event_manager, name, person in conflicts:
        if not owner or (until and until <= day):
            continue
        holder = key_of(owner)
        losers = [c for c in claimants.split(";") if key_of(c) != holder and (wanted is None or key_of(c) in wanted)]
        if not losers:
            continue
        by_event = event in HOLDING_EVENTS and key_of(event_manager) == holder
        if by_event and (key_of(resolved) != holder or settled in SETTLED_BY_EVENT.values()):
            why = SETTLED_BY_EVENT[event]  # a command or a hand-out, since the clean or as it saw
        elif key_of(resolved) == holder:
            why = settled
        else:
            why = "given to them since the last clean"
        for claimant in losers:
            notices.setdefault(claimant, []).append(Notice(claimant, client_id, name, owner, why, bool(person)))
    return notices


def client_state(quarantined: bool, snoozed: bool, owner: str | None) -> str:
    """What a client is now: quarantined over snoozed over owned over pool, the order that keeps it off the lists."""
    return "quarantined" if quarantined else "snoozed" if snoozed else "owned" if owner else "pool"


# Cached: a million claims name a few hundred managers, spelled a few ways each.
@lru_cache(maxsize=1 << 12)
def manager_name(text: str | None) -> str | None:
    """A manager's name as written, runs of spaces folded; names are compared by `manager_key`."""
    folded = " ".join(text.split()) if text else ""
    return folded or None


@lru_cache(maxsize=1 << 12)
def manager_key(text: str | None) -> str | None:
    """Who a manager is, however written: the name casefolded, runs of spaces folded, ё read as е and the
    words in any order, as 1C and the CRMs write the same name either way ("Иван Фёдоров", "ФЕДОРОВ ИВАН").
    Every comparison of managers goes through this. The base keeps the conflicts' claimants by it
    (conflict_claims): a change here needs a migration that writes them again."""
    name = manager_name(text)
    return " ".join(sorted(name.casefold().replace("ё", "е").split())) if name else None


@lru_cache(maxsize=1 << 12)
def manager_order(text: str) -> str:
    """How managers are listed: by the name as written, case and ё aside (manager_key sorts the words)."""
    return (manager_name(text) or "").casefold().replace("ё", "е")


def similar_managers(name: str, names: Iterable[str]) -> list[str]:
    """The managers `name` may be a typo of, or a short form with initials of (`Сидоров П.` for `Сидоров Пётр`):
    the closest few, closest first."""
    from rapidfuzz import fuzz, process  # here: only a name nobody knows needs it

    names = list(names)
    close = [other for other, _, _ in process.extract(name, names, scorer=fuzz.WRatio, score_cutoff=85, limit=3,
                                                       processor=manager_key)]
    shortened = [other for other in names if other not in close and _initials_of(name, other)]
    return close + shortened[:3]


def _initials_of(short: str, full: str) -> bool:
    """Whether `short` is `full` with its other names cut to initials: `Сидоров П.`, `П. Сидоров`, `Сидоров П.И.`."""
    def words(text: str) -> list[str]:
        return (manager_order(text).replace(".", ". ")).split()

    short_words, full_words = words(short), words(full)
    initials = [w.rstrip(".") for w in short_words if len(w.rstrip(".")) == 1]
    if not initials or len(initials) == len(short_words):
        return False
    rest = [w for w in short_words if len(w.rstrip(".")) > 1]
    if not all(w in full_words for w in rest):
        return False
    others = [w for w in full_words if w not in rest]  # the first name, then the patronymic a dump may leave out
    return bool(others) and all(other.startswith(initial) for initial, other in zip(initials, others))


def one_spelling(spellings: Mapping[str, int]) -> dict[str, str]:
    """How to write each spelling of a manager: the one the dumps and commands use most for that `manager_key`
    (then the first in order), so that "ИВАНОВ ПЁТР" and "Иванов Петр" get one list, not two."""
    chosen: dict[str, str] = {}
    for name in sorted(spellings, key=lambda name: (-spellings[name], name)):
        chosen.setdefault(manager_key(name), name)
    return {name: chosen[manager_key(name)] for name in spellings}


def _source_of(claim: Claim) -> str:
    return claim.ref.rpartition(":")[0]


def _conflict_order(rule: str, priority: Sequence[str]):
    """Sort key putting the winning claim first: earliest (or latest) assignment, undated last, then the most
    trusted source (CRM and 1C read the same day are a tie), then by name."""
    def key(claim: Claim):
        dated = claim.assigned_on is not None
        when = claim.assigned_on or ""
        stamp = when if rule == "earliest" else "".join(chr(0x10FFFF - ord(ch)) for ch in when)
        return (not dated, stamp, source_rank(_source_of(claim), priority), manager_order(claim.manager), claim.ref)
    return key


def _claim_settled(newer: Sequence[Claim], best: Claim, rule: str, priority: Sequence[str],
                   event: LedgerEvent | None) -> str:
    """What made the `best` of the claims `newer` than the last event win a conflict."""
    others = [c for c in newer if manager_key(c.manager) != manager_key(best.manager)]
    if not others:  # the others' claims are older than the event (without one, every claim is newer)
        return _CLAIMED_AFTER_EVENT[event.kind]
    runner_up = min(others, key=_conflict_order(rule, priority))
    if runner_up.assigned_on != best.assigned_on:
        return f"{rule} assignment wins"
    tie = "assigned on the same day" if best.assigned_on else "no date"
    if source_rank(_source_of(runner_up), priority) > source_rank(_source_of(best), priority):
        return f"{tie}: {_source_of(best)} is the more trusted source"
    return f"{tie}: the first by name wins"


def resolve_owner(
    client_id: int,
    claims: Sequence[Claim],
    last_event: LedgerEvent | None,
    last_result: str | None,
    key_client: bool,
    as_of: date,
    term_days: int,
    rule: str,
    priority: Sequence[str] = (),
) -> Ownership:
    """Who owns the client on `as_of`.

    A command (the ledger) outranks dump claims made before it; claims dated after it are newer news.
    Several managers claiming the client in the dumps is a conflict, settled by `rule`, then by the sources'
    `priority` (most trusted first) between claims of one day. The term runs
    from the assignment or the last result, whichever is later; key clients never expire. When a
    term has run out, claims made after that day are considered in turn, so one run settles it.
    """
    if not claims and last_event is None:  # most of a large base: no owner named anywhere
        return Ownership(client_id, None, None, None, "pool")
    conflict: tuple[str, ...] = ()
    if len(claims) > 1:  # most clients have one claim or none: nothing to compare, and a million of them
        claimants = tuple(sorted({manager_key(c.manager): c.manager for c in claims}.values(), key=manager_order))
        conflict = claimants if len(claimants) > 1 else ()
    expired_on = expired_owner = None
    event = last_event
    while True:
        newer = [c for c in claims if event is None or (c.assigned_on is not None and c.assigned_on > event.on)]
        if newer:
            best = min(newer, key=_conflict_order(rule, priority)) if len(newer) > 1 else newer[0]
            owner, since, basis, event_term = best.manager, best.assigned_on, best.ref, None
            settled = _claim_settled(newer, best, rule, priority, event) if conflict else None
        elif event is not None and event.kind in HOLDING_EVENTS:
            owner, since, basis, event_term = event.manager, event.on, event.kind, event.term_days
            settled = SETTLED_BY_EVENT[event.kind] if conflict else None
        else:  # claims exist, so there is an event: the client was freed after them
            settled = SETTLED_BY_EVENT[event.kind] if conflict else None
            return Ownership(client_id, None, None, None, "pool", conflict, settled, expired_on, expired_owner)
        start = max(filter(None, (since, last_result)), default=None)
        if start is None or key_client:
            return Ownership(client_id, owner, since, None, basis, conflict, settled, expired_on, expired_owner)
        until = days_after(start, event_term or term_days)
        if as_of.isoformat() < until:
            return Ownership(client_id, owner, since, until, basis, conflict, settled, expired_on, expired_owner)
        expired_on, expired_owner = until, owner
        event = LedgerEvent(client_id, "expire", None, until, None, "term ran out")
