"""Plain dataclasses that cross module boundaries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    name: str
    kind: str
    path: str
    fingerprint: str
    ingested_at: str
    rows: int
    build: str | None  # what its rows were built with; None before schema 13


@dataclass(slots=True)
class RecordRow:
    """One source row, as read (`raw`) and as normalised; `status` is `ok` or `rejected`."""

    row: int
    ref: str
    raw: str
    status: str = "ok"
    reason: str | None = None
    name: str | None = None
    name_key: str | None = None
    legal_form: str | None = None
    person: bool = False
    inn: str | None = None
    inn_valid: bool = False
    inn_note: str | None = None
    kpp: str | None = None
    ogrn: str | None = None
    city: str | None = None
    address: str | None = None
    contact: str | None = None
    position: str | None = None
    birthday: str | None = None
    owner: str | None = None
    assigned_on: str | None = None
    channel: str | None = None
    profit: float | None = None
    revenue: float | None = None
    potential: float | None = None
    last_purchase: str | None = None
    last_contact: str | None = None
    last_result: str | None = None
    closed: bool = False
    comment: str | None = None
    unread: str | None = None  # values that could not be read, e.g. "profit '12,5 тыс'": blank in the record


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    client_id: int
    reason: str
    since: str
    recheck_on: str
    released_on: str | None = None
