"""Golden records: for each client, the best value of every field from its records, and stable ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clientbase.config import source_rank
from clientbase.phones import area_codes_for_city, city_key


# Not frozen: a clean makes one per record, and frozen ones take eight times as long to make.
@dataclass(slots=True)
class RecordFacts:
    """What survivorship needs of one record."""

    id: int
    ref: str
    source: str
    client_id: int | None
    name: str | None
    name_key: str | None
    person: bool
    inn: str | None
    inn_valid: bool
    kpp: str | None
    city: str | None
    channel: str | None
    owner: str | None
    assigned_on: str | None
    profit: float | None
    revenue: float | None
    potential: float | None
    last_purchase: str | None
    last_contact: str | None
    last_result: str | None
    closed: bool


@dataclass(slots=True)  # not frozen: one per client, as for RecordFacts
class Golden:
    id: int
    name: str | None
    name_key: str | None
    person: bool
    inn: str | None
    kpp: str | None
    city: str | None
    channel: str | None
    profit: float | None
    revenue: float | None
    potential: float | None
    last_purchase: str | None
    last_contact: str | None
    last_result: str | None
    closed: bool
    domestic: bool  # a Russian INN or a Russian city: a foreign number for it is suspect
    record_ids: tuple[int, ...]


def survivorship_order(records: Sequence[RecordFacts], priority: Sequence[str]) -> list[RecordFacts]:
    """Best record first: valid INN, most trusted source, most recent activity, then the oldest reference."""
    if len(records) == 1:
        return list(records)
    return sorted(records, key=lambda r: (not r.inn_valid, source_rank(r.source, priority), _later_first(r), r.id))


def _later_first(record: RecordFacts) -> int:
    """Sort key that puts the record with the latest ISO date first, and records without dates last."""
    recent = max(record.last_contact or "", record.last_purchase or "", record.last_result or "",
                 record.assigned_on or "")
    return -int(recent[:10].replace("-", "")) if recent else 1


def _first(ordered: Sequence[RecordFacts], attr: str):
    for record in ordered:
        value = getattr(record, attr)
        if value not in (None, ""):
            return value
    return None


def _latest(records: Sequence[RecordFacts], attr: str) -> str | None:
    values = [getattr(r, attr) for r in records if getattr(r, attr)]
    return max(values) if values else None


def golden_record(client_id: int, records: Sequence[RecordFacts], priority: Sequence[str]) -> Golden:
    if len(records) == 1:
        return _alone(client_id, records[0])
    ordered = survivorship_order(records, priority)
    inn_record = next((r for r in ordered if r.inn_valid), None)
    best_city = _best_city(ordered)
    return Golden(
        id=client_id,
        name=_first(ordered, "name"),
        name_key=_first(ordered, "name_key"),
        person=ordered[0].person,
        inn=inn_record.inn if inn_record else _first(ordered, "inn"),
        kpp=(inn_record.kpp if inn_record and inn_record.kpp else _first(ordered, "kpp")),
        city=best_city,
        channel=_first(ordered, "channel"),
        profit=_first(ordered, "profit"),
        revenue=_first(ordered, "revenue"),
        potential=_first(ordered, "potential"),
        last_purchase=_latest(records, "last_purchase"),
        last_contact=_latest(records, "last_contact"),
        last_result=_latest(records, "last_result"),
        closed=any(r.closed for r in records),
        domestic=inn_record is not None or bool(area_codes_for_city(best_city)),
        record_ids=tuple(sorted(r.id for r in records)),
    )


def _best_city(ordered: Sequence[RecordFacts]) -> str | None:
    """The most trusted record's city, unless the records clearly say another: one city (however written, as
    the clustering compares them) in more than half of them wins, in its most common spelling, then the most
    trusted one. `Москва`, `г. Москва` and `Москва г` beside one `Санкт-Петербург` are Moscow."""
    written = [r.city for r in ordered if r.city]
    if not written or len(set(written)) == 1:
        return written[0] if written else None
    counts = Counter(map(city_key, written))
    key, count = counts.most_common(1)[0]
    if count * 2 <= len(ordered):
        return written[0]
    spellings = Counter(city for city in written if city_key(city) == key)
    return max(spellings, key=spellings.__getitem__)  # the first of the most common, in trust order


def _alone(client_id: int, r: RecordFacts) -> Golden:
    """A client of one record: its values as they are (most clients are; this skips the sorting)."""
    return Golden(
        id=client_id, name=r.name or None, name_key=r.name_key or None, person=r.person,
        inn=r.inn if r.inn_valid else r.inn or None,
        kpp=r.kpp or None, city=r.city or None, channel=r.channel or None, profit=r.profit, revenue=r.revenue,
        potential=r.potential, last_purchase=r.last_purchase or None, last_contact=r.last_contact or None,
        last_result=r.last_result or None, closed=bool(r.closed),
        domestic=bool(r.inn_valid) or bool(area_codes_for_city(r.city or None)), record_ids=(r.id,),
    )


def stable_ids(claims: Iterable[tuple[int, int, int, int]], count: int, next_id: int) -> list[int]:
    """Give each of `count` clusters the client id most of its records had before, so ids survive re-ingests.

    claims: (cluster index, its first record id, an old client id, how many of its records had it).
    An old id goes to the cluster holding most of its records (ties: the cluster with the lowest record id);
    every other cluster gets a fresh id, counting up from `next_id`.
    """
    # A list, not a dict (a first clean of 1M records makes 768k clusters); 0 for none yet: ids count from 1.
    ids = [0] * count
    used: set[int] = set()
    for index, _, old_id, _ in sorted(claims, key=lambda c: (-c[3], c[1], c[0], c[2])):
        if not ids[index] and old_id not in used:
            ids[index] = old_id
            used.add(old_id)
    for index in range(count):
        if not ids[index]:
            while next_id in used:
                next_id += 1
            ids[index] = next_id
            next_id += 1
    return ids


@dataclass(frozen=True, slots=True)
class ContactFacts:
    record_id: int
    name: str
    position: str | None
    birthday: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Contact:
    id: int  # the person's first record id: stable while that record is
    client_id: int
    name: str
    position: str | None
    birthday: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    record_ids: tuple[int, ...]


def person_key(name: str) -> str:
    """A person's name folded for matching: case, ё, dots and spaces."""
    return " ".join(name.casefold().replace("ё", "е").replace(".", " ").split())


def golden_contact(client_id: int, facts: Sequence[ContactFacts]) -> Contact:
    """One person from their records: the fullest spelling of the name, the first position and birthday."""
    ordered = sorted(facts, key=lambda f: f.record_id)
    return Contact(
        id=ordered[0].record_id,
        client_id=client_id,
        name=max((f.name for f in ordered), key=lambda n: (len(n.split()), len(n))),
        position=next((f.position for f in ordered if f.position), None),
        # A full date over one without its year (`--MM-DD`), then the first.
        birthday=min((f.birthday for f in ordered if f.birthday), key=lambda b: b.startswith("--"), default=None),
        phones=tuple(sorted({p for f in ordered for p in f.phones})),
        emails=tuple(sorted({e for f in ordered for e in f.emails})),
        record_ids=tuple(f.record_id for f in ordered),
    )
