"""The one module that owns the SQLite schema, its migrations and every SQL statement."""

from __future__ import annotations

import errno
import fcntl
import getpass
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy
import sqlite_utils

from clientbase.errors import UserError
from clientbase.models import QuarantineEntry, RecordRow, SourceInfo
from clientbase.ownership import LedgerEvent, manager_key
from clientbase.values import FUTURE_DATE

if TYPE_CHECKING:
    from clientbase.dedupe import Compared


class StoreError(UserError):
    """The database cannot be used; the message is one line."""


class DamagedBase(StoreError):
    """The file is not a database SQLite can read: `restore` can still put a snapshot in its place."""


# The fields whose change sends a clustered record and its client to be clustered again.
_CLUSTERED_FIELDS = (
    "status", "name", "name_key", "person", "inn", "inn_valid", "kpp", "city", "contact", "position", "birthday",
    "owner", "assigned_on", "channel", "profit", "revenue", "potential", "last_purchase", "last_contact",
    "last_result", "closed",
)
# Of those, the ones matching reads (with the phones and emails); a change of the others leaves every record
# where it is, and only its client's golden record and contacts are built again.
_MATCH_FIELDS = ("status", "name_key", "person", "inn", "inn_valid", "kpp", "city")
_CLIENT_FIELDS = tuple(field for field in _CLUSTERED_FIELDS if field not in _MATCH_FIELDS)


def _records_changed_trigger(fields: Sequence[str]) -> str:
    changed = " OR ".join(f"old.{field} IS NOT new.{field}" for field in fields)
    # A trigger's INSERT OR IGNORE takes the conflict rule of the statement that fired it: NOT EXISTS instead.
    return f"""
    CREATE TRIGGER records_changed AFTER UPDATE ON records
    WHEN old.client_id IS NOT NULL AND ({changed})
    BEGIN
        INSERT INTO dirty_records(record_id) SELECT new.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty_records WHERE record_id = new.id);
        INSERT INTO dirty_clients(client_id) SELECT old.client_id
        WHERE NOT EXISTS (SELECT 1 FROM dirty_clients WHERE client_id = old.client_id);
    END;"""


def _unruled_trigger(table: str, event: str, name: str = "", when: str = "") -> str:
    """A trigger noting the client of a row `event` (INSERT, UPDATE, DELETE, UPDATE OF ...) writes or removes in
    `table`: the next clean works out its standing again."""
    row = "new" if event == "INSERT" else "old"  # an update moves no row to another client
    name = name or f"{table}_{event.lower()}_unruled"
    return f"""
    CREATE TRIGGER {name} AFTER {event} ON {table}{f" WHEN {when}" if when else ""}
    BEGIN
        INSERT INTO unruled_clients(client_id) SELECT {row}.client_id
        WHERE NOT EXISTS (SELECT 1 FROM unruled_clients WHERE client_id = {row}.client_id);
    END;"""


MIGRATIONS: list[str] = [
    # 1: sources, immutable records with their normalised facts, phones, emails, audit.
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        ingested_at TEXT NOT NULL,
        rows INTEGER NOT NULL
    );
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        row INTEGER NOT NULL,
        ref TEXT NOT NULL UNIQUE,
        raw TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        name TEXT, name_key TEXT, legal_form TEXT, person INTEGER NOT NULL DEFAULT 0,
        inn TEXT, inn_valid INTEGER NOT NULL DEFAULT 0, inn_note TEXT,
        kpp TEXT, ogrn TEXT, city TEXT, address TEXT,
        contact TEXT, position TEXT, birthday TEXT,
        owner TEXT, assigned_on TEXT, channel TEXT,
        profit REAL, revenue REAL, potential REAL,
        last_purchase TEXT, last_contact TEXT, last_result TEXT,
        closed INTEGER NOT NULL DEFAULT 0, comment TEXT,
        client_id INTEGER, contact_id INTEGER
    );
    CREATE INDEX records_source ON records(source_id, row);
    CREATE TABLE phones (
        id INTEGER PRIMARY KEY,
        record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        pos INTEGER NOT NULL,
        raw TEXT NOT NULL,
        e164 TEXT, extension TEXT, type TEXT NOT NULL, region TEXT, country TEXT,
        status TEXT NOT NULL, reason TEXT
    );
    CREATE INDEX phones_record ON phones(record_id);
    CREATE INDEX phones_e164 ON phones(e164);
    CREATE TABLE emails (
        id INTEGER PRIMARY KEY,
        record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        raw TEXT NOT NULL, value TEXT, valid INTEGER NOT NULL, domain TEXT, free_mail INTEGER NOT NULL
    );
    CREATE INDEX emails_record ON emails(record_id);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        command TEXT NOT NULL,
        action TEXT NOT NULL,
        client_id INTEGER,
        detail TEXT NOT NULL
    );
    """,
    # 2: clients after deduplication, the pairs that joined them, and pairs the user said are not duplicates.
    """
    CREATE TABLE clients (
        id INTEGER PRIMARY KEY,
        name TEXT, name_key TEXT, person INTEGER NOT NULL DEFAULT 0,
        inn TEXT, kpp TEXT, city TEXT, channel TEXT,
        profit REAL, revenue REAL, potential REAL,
        last_purchase TEXT, last_contact TEXT, last_result TEXT,
        closed INTEGER NOT NULL DEFAULT 0,
        domestic INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX records_client ON records(client_id);
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        client_id INTEGER,
        ref_a TEXT NOT NULL,
        ref_b TEXT NOT NULL,
        rule TEXT NOT NULL,
        score REAL NOT NULL,
        decision TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX matches_client ON matches(client_id);
    CREATE TABLE not_duplicates (
        ref_a TEXT NOT NULL,
        ref_b TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (ref_a, ref_b)
    );
    CREATE TABLE hubs (
        e164 TEXT PRIMARY KEY,
        clients INTEGER NOT NULL
    );
    """,
    # 3: call outcomes, the health of each number, and the quarantine.
    """
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        row INTEGER NOT NULL,
        ref TEXT NOT NULL UNIQUE,
        raw TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        phone_raw TEXT, e164 TEXT, at TEXT, outcome TEXT, outcome_raw TEXT, manager TEXT, duration INTEGER
    );
    CREATE INDEX calls_e164 ON calls(e164, at);
    CREATE TABLE phone_health (
        e164 TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        reason TEXT,
        decided_on TEXT,
        last_answered TEXT
    );
    CREATE TABLE quarantine (
        client_id INTEGER PRIMARY KEY,
        reason TEXT NOT NULL,
        since TEXT NOT NULL,
        recheck_on TEXT NOT NULL,
        released_on TEXT
    );
    ALTER TABLE phones ADD COLUMN judged TEXT;
    ALTER TABLE phones ADD COLUMN judged_reason TEXT;
    ALTER TABLE phones ADD COLUMN judged_on TEXT;
    """,
    # 4: the working rules: ownership ledger, conflicts, snoozes, and each client's standing.
    """
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        client_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        manager TEXT,
        on_date TEXT NOT NULL,
        term_days INTEGER,
        reason TEXT NOT NULL
    );
    CREATE INDEX ledger_client ON ledger(client_id, id);
    CREATE TABLE conflicts (
        client_id INTEGER PRIMARY KEY,
        managers TEXT NOT NULL,
        resolved_owner TEXT,
        rule TEXT NOT NULL
    );
    CREATE TABLE snoozes (
        client_id INTEGER PRIMARY KEY,
        until TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    ALTER TABLE clients ADD COLUMN owner TEXT;
    ALTER TABLE clients ADD COLUMN owner_since TEXT;
    ALTER TABLE clients ADD COLUMN owner_until TEXT;
    ALTER TABLE clients ADD COLUMN segment TEXT;
    ALTER TABLE clients ADD COLUMN abcde TEXT;
    ALTER TABLE clients ADD COLUMN dependency TEXT;
    ALTER TABLE clients ADD COLUMN next_due TEXT;
    ALTER TABLE clients ADD COLUMN state TEXT;
    CREATE INDEX clients_owner ON clients(owner, state);
    CREATE INDEX clients_pool ON clients(state, abcde, next_due);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        as_of TEXT NOT NULL,
        counts TEXT NOT NULL
    );
    """,
    # 5: who did it.
    """
    ALTER TABLE audit ADD COLUMN user TEXT;
    """,
    # 6: the official numbering plan, imported by the user.
    """
    CREATE TABLE numplan (
        code TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        operator TEXT NOT NULL,
        region TEXT NOT NULL,
        territory TEXT,
        PRIMARY KEY (code, start)
    );
    """,
    # 7: the people at each client, deduplicated across records.
    """
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        client_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        position TEXT,
        birthday TEXT,
        phones TEXT NOT NULL,
        emails TEXT NOT NULL
    );
    CREATE INDEX contacts_client ON contacts(client_id);
    """,
    # 8: what changed since the last clean, so that clean re-clusters only the clients it touches,
    # and the indexes that find the records sharing a key with a changed one.
    """
    CREATE TABLE dedupe_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        settings TEXT NOT NULL
    );
    CREATE TABLE dirty_records (record_id INTEGER PRIMARY KEY);
    CREATE TABLE dirty_clients (client_id INTEGER PRIMARY KEY);
    """ + _records_changed_trigger(("raw", *_CLUSTERED_FIELDS)) + """
    CREATE TRIGGER records_removed AFTER DELETE ON records WHEN old.client_id IS NOT NULL
    BEGIN
        INSERT INTO dirty_clients(client_id) SELECT old.client_id
        WHERE NOT EXISTS (SELECT 1 FROM dirty_clients WHERE client_id = old.client_id);
    END;
    CREATE INDEX records_inn ON records(inn) WHERE inn_valid;
    CREATE INDEX emails_value ON emails(value);
    CREATE INDEX emails_domain ON emails(domain);
    """,
    # 9: what changed since the last judgement of numbers and clients, so that clean judges only those.
    """
    CREATE TABLE judge_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        settings TEXT NOT NULL
    );
    -- A number once per changed call: appending is cheap where a unique key would slow `calls` by 40 %.
    CREATE TABLE unjudged_numbers (e164 TEXT NOT NULL);
    CREATE TABLE unjudged_clients (client_id INTEGER PRIMARY KEY);
    CREATE TRIGGER calls_added AFTER INSERT ON calls WHEN new.e164 IS NOT NULL
    BEGIN
        INSERT INTO unjudged_numbers(e164) VALUES (new.e164);
    END;
    CREATE TRIGGER calls_changed AFTER UPDATE ON calls
    WHEN old.e164 IS NOT new.e164 OR old.status IS NOT new.status OR old.at IS NOT new.at
        OR old.outcome IS NOT new.outcome
    BEGIN
        INSERT INTO unjudged_numbers(e164) SELECT e164 FROM (SELECT old.e164 AS e164 UNION SELECT new.e164)
        WHERE e164 IS NOT NULL;
    END;
    CREATE TRIGGER calls_removed AFTER DELETE ON calls WHEN old.e164 IS NOT NULL
    BEGIN
        INSERT INTO unjudged_numbers(e164) VALUES (old.e164);
    END;
    CREATE INDEX phones_judged ON phones(judged) WHERE judged IS NOT NULL;
    -- Numbers a record no longer holds: who still holds them is clustered again (a hub may have shrunk).
    CREATE TABLE dropped_numbers (e164 TEXT NOT NULL);
    """,
    # 10: `today` reads a manager's list by class and due date, and the few re-checks and hand-outs due,
    # through indexes rather than sorting every client the manager owns.
    """
    CREATE INDEX clients_owner_class ON clients(owner, abcde, next_due);
    CREATE INDEX quarantine_recheck ON quarantine(recheck_on) WHERE released_on IS NULL;
    CREATE INDEX ledger_day ON ledger(on_date, kind);
    """,
    # 11: a nightly clean reads the tax offices' cities of the whole base from these, not from every record.
    """
    CREATE INDEX records_kpp_city ON records(kpp, city, status) WHERE status = 'ok' AND kpp != '' AND city != '';
    CREATE INDEX records_inn_city ON records(inn, city, status, inn_valid)
        WHERE status = 'ok' AND inn_valid AND city != '';
    """,
    # 12: each record's raw row in a table of its own. A clean rewrites the row of every record it moves
    # to another client, and the raw row was half of it: a first clean of 10M records wrote a 15 GB log.
    """
    CREATE TABLE record_raw (record_id INTEGER PRIMARY KEY, raw TEXT NOT NULL);
    INSERT INTO record_raw(record_id, raw) SELECT id, raw FROM records ORDER BY id;
    DROP TRIGGER records_changed;
    ALTER TABLE records DROP COLUMN raw;
    """ + _records_changed_trigger(_CLUSTERED_FIELDS) + """
    CREATE TRIGGER record_raw_changed AFTER UPDATE ON record_raw WHEN old.raw IS NOT new.raw
    BEGIN
        INSERT INTO dirty_records(record_id) SELECT r.id FROM records r WHERE r.id = new.record_id
        AND r.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dirty_records WHERE record_id = r.id);
        INSERT INTO dirty_clients(client_id) SELECT r.client_id FROM records r WHERE r.id = new.record_id
        AND r.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dirty_clients WHERE client_id = r.client_id);
    END;
    CREATE TRIGGER record_raw_removed AFTER DELETE ON records
    BEGIN
        DELETE FROM record_raw WHERE record_id = old.id;
    END;
    """,
    # 13: what a source's rows were built with (version, settings, header), so that the rows of a changed
    # file that are exactly as they were can be kept as stored instead of built and written again.
    """
    ALTER TABLE sources ADD COLUMN build TEXT;
    """,
    # 14: a record changed in what matching reads (its fields, phones or emails) is clustered again with all
    # it may join; one changed in anything else only has its client built again (stale_clients). Its raw
    # row says nothing more: ingest compares the phones and emails it reads from it.
    """
    CREATE TABLE stale_clients (client_id INTEGER PRIMARY KEY);
    DROP TRIGGER records_changed;
    DROP TRIGGER record_raw_changed;
    """ + _records_changed_trigger(_MATCH_FIELDS) + f"""
    CREATE TRIGGER records_restated AFTER UPDATE ON records
    WHEN old.client_id IS NOT NULL AND ({" OR ".join(f"old.{field} IS NOT new.{field}" for field in _CLIENT_FIELDS)})
    BEGIN
        INSERT INTO stale_clients(client_id) SELECT old.client_id
        WHERE NOT EXISTS (SELECT 1 FROM stale_clients WHERE client_id = old.client_id);
    END;
    """,
    # 15: the day each record was first read with its owner. A claim without an assignment date dates from it:
    # dated by the latest reading, every changed dump renewed every term and undid the reassignments since.
    """
    ALTER TABLE records ADD COLUMN owner_read_on TEXT;
    UPDATE records SET owner_read_on = (SELECT substr(s.ingested_at, 1, 10) FROM sources s WHERE s.id = records.source_id)
    WHERE owner IS NOT NULL;
    """,
    # 16: the values a record could not read (a date or an amount), told rather than left blank unnoticed.
    """
    ALTER TABLE records ADD COLUMN unread TEXT;
    """,
    # 17: the sides of not-duplicates decisions whose company is gone from its dump or cannot be told apart in
    # it, with what finds it again. not_duplicates names such a side by `side`, which is no record's reference.
    """
    CREATE TABLE parked_sides (
        side TEXT PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        ref TEXT NOT NULL,
        raw TEXT NOT NULL,
        name TEXT, inn TEXT, name_key TEXT, city TEXT, client_id INTEGER,
        at TEXT NOT NULL
    );
    CREATE INDEX parked_sides_source ON parked_sides(source_id);
    """,
    # 18: the client whose row held a record's very text before the ingest that wrote it: a re-sorted dump moves
    # a company to another row, and its text finds it there where its name cannot (a namesake without an INN).
    # Derived: the next clean reads them, and forgets them with the other changes since the last clean.
    """
    CREATE TABLE raw_hints (record_id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL);
    """,
    # 19: what the last clean's working rules were worked out with, and the clients a command changed since
    # (an owner, a snooze, the quarantine), so that clean works out again only the standing that may change.
    """
    CREATE TABLE rules_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        settings TEXT NOT NULL,
        as_of TEXT NOT NULL,
        spellings TEXT NOT NULL
    );
    CREATE TABLE unruled_clients (client_id INTEGER PRIMARY KEY);
    """ + _unruled_trigger("ledger", "INSERT") + "".join(
        _unruled_trigger(table, event) for table in ("snoozes", "quarantine") for event in ("INSERT", "UPDATE", "DELETE"))
    # A claim's date is nothing clustering or judging reads: a row read again dates its claim anew.
    + _unruled_trigger("records", "UPDATE OF owner_read_on", "records_claim_redated",
                       "old.client_id IS NOT NULL AND old.owner_read_on IS NOT new.owner_read_on"),
    # 20: where each usable record is and the company it names, as the last clean read them (changes.PlaceRows),
    # in parts: the next reads only the records changed since, and not the tax offices' cities from the indexes
    # of 11. Every clean writes them anew or drops them; a migration changing records must drop them.
    # A record dropped from its dump is noted as changed too: the places must forget it.
    """
    CREATE TABLE place_rows (part TEXT PRIMARY KEY, data BLOB NOT NULL);
    DROP INDEX records_kpp_city;
    DROP INDEX records_inn_city;
    DROP TRIGGER records_removed;
    CREATE TRIGGER records_removed AFTER DELETE ON records WHEN old.client_id IS NOT NULL
    BEGIN
        INSERT INTO dirty_records(record_id) SELECT old.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty_records WHERE record_id = old.id);
        INSERT INTO dirty_clients(client_id) SELECT old.client_id
        WHERE NOT EXISTS (SELECT 1 FROM dirty_clients WHERE client_id = old.client_id);
    END;
    """,
    # 21: every client's ranking facts and the standing the last clean's ranking gave them (rank.KeptRanking), in
    # parts, and the clients whose golden record was written since: the next clean reads only theirs, and
    # compares classes without reading every client's. Every clean writes them anew; a full clustering drops
    # them, and so must a migration changing clients. Without them, a clean works out every standing.
    """
    CREATE TABLE rank_rows (part TEXT PRIMARY KEY, data BLOB NOT NULL);
    CREATE TABLE reranked_clients (client_id INTEGER PRIMARY KEY);
    """,
    # 22: the kept places hold the company names' orders too: the next clean reads the places whole once. The
    # managers' spellings are counted from an index of the owners (with the status, so that it alone is read): a
    # few dozen names, so a new record's entry goes at the end of its owner's, where a scan of the records took
    # 0.45 s at 1M.
    """
    DELETE FROM place_rows;
    CREATE INDEX records_owner ON records(owner, status) WHERE status = 'ok' AND owner IS NOT NULL;
    """,
    # 23: the kept places hold each record's component under keys and clients too, so that a clean looks up
    # only the changed records' keys: without them, the next clean clusters the whole base once.
    "DELETE FROM place_rows;",
    # 24: the pairs to review by their second record, so that a clean of part of the base finds a pair listed under a
    # client outside it (its first record's) with a record in it.
    "CREATE INDEX IF NOT EXISTS matches_review_b ON matches(ref_b) WHERE decision = 'review';",
    # 25: the owned clients by the end of their term, so that a clean finds the terms run out without reading
    # every client (0.34 s at 1M).
    "CREATE INDEX IF NOT EXISTS clients_owner_until ON clients(owner_until) WHERE owner_until IS NOT NULL;",
    # 26: each conflict's claimants by who they are (manager_key), so that one manager's notices find the conflicts
    # naming them by an index: reading every conflict's claimants took 73-93 ms of `today` at 1M. Run again on a
    # base that has it, it changes nothing.
    """
    CREATE TABLE IF NOT EXISTS conflict_claims (
        manager_key TEXT NOT NULL,
        client_id INTEGER NOT NULL,
        PRIMARY KEY (manager_key, client_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO conflict_claims(manager_key, client_id)
    WITH RECURSIVE claimant(client_id, name, rest) AS (
        SELECT client_id, NULL, managers || char(59) FROM conflicts
        UNION ALL
        SELECT client_id, substr(rest, 1, instr(rest, char(59)) - 1), substr(rest, instr(rest, char(59)) + 1)
        FROM claimant WHERE instr(rest, char(59)) > 0
    )
    SELECT manager_key(name), client_id FROM claimant WHERE manager_key(name) IS NOT NULL;
    """,
]

# A client's golden record, as clients holds it.
_GOLDEN_COLUMNS = ("name, name_key, person, inn, kpp, city, channel, profit, revenue, potential, last_purchase, "
                   "last_contact, last_result, closed, domestic")
_EXCLUDED_GOLDEN = ", ".join(f"excluded.{column}" for column in _GOLDEN_COLUMNS.split(", "))

# Stored in records; a record's raw row goes to record_raw.
_RECORD_COLUMNS = (
    "source_id", "row", "ref", "status", "reason", "name", "name_key", "legal_form", "person",
    "inn", "inn_valid", "inn_note", "kpp", "ogrn", "city", "address", "contact", "position", "birthday",
    "owner", "assigned_on", "channel", "profit", "revenue", "potential", "last_purchase", "last_contact",
    "last_result", "closed", "comment", "unread",
)


def _candidate_order(row: tuple) -> tuple:
    """A call-list candidate's place: class (unranked last), the never-called first, most overdue, id."""
    abcde, next_due = row[4], row[6]
    return (abcde is None, abcde or "", next_due is not None, next_due or "", row[0])


# The records held by hold_clusters, with their cluster (c) and its client id (cc); CROSS JOIN keeps the
# temporary table outermost, as the planner knows nothing of its size.
# What a golden record needs of each of its records (see golden.RecordFacts).
_GOLDEN_FACTS = ("r.id, r.ref, s.name, r.client_id, r.name, r.name_key, r.person, r.inn, r.inn_valid, r.kpp, r.city, "
                 "r.channel, r.owner, r.assigned_on, r.profit, r.revenue, r.potential, r.last_purchase, "
                 "r.last_contact, r.last_result, r.closed")
_CLUSTERED_RECORDS = ("FROM temp.clustered c CROSS JOIN records r ON r.id = c.record_id "
                      "CROSS JOIN temp.cluster_client cc ON cc.cluster = c.cluster")


# `+` keeps the planner off the records' client index: all of a large base's records are read in their
# own order and sorted, where the index reads them in client order, which is at random.
_NOT_BY_CLIENT = "+r.client_id"

# A record's usable phones and its valid emails, each as one string: a query row per record.
LIST_SEPARATOR = "\x1f"
_USABLE_PHONES = ("(SELECT group_concat(p.e164, char(31)) FROM phones p "
                  "WHERE p.record_id = r.id AND p.status = 'ok' AND p.e164 IS NOT NULL)")
_VALID_EMAILS = "(SELECT group_concat(e.value, char(31)) FROM emails e WHERE e.record_id = r.id AND e.valid)"


def _valid_inn(text: str | None) -> bool:
    from clientbase.companies import is_valid_inn  # here: the morning's commands start without it

    return is_valid_inn(text)


def _inn_conflict(record: str, client: str) -> str:
    """Whether the record has a valid INN and the client another valid one: then they are two legal entities,
    whatever their names."""
    return (f"({record}.inn_valid AND {client}.inn IS NOT NULL AND {client}.inn != {record}.inn "
            f"AND valid_inn({client}.inn))")


def _other_inn(inn: str, client: str) -> str:
    """Whether the client has a valid INN other than `inn` (an SQL expression, NULL for none)."""
    return f"({inn} IS NOT NULL AND {client}.inn IS NOT NULL AND {client}.inn != {inn} AND valid_inn({client}.inn))"


def _text_digest(raw: bytes) -> bytes:
    """A record's raw row (UTF-8) in 16 bytes: what a re-sorted dump's rows are matched by, where the texts
    themselves would take a third of a GB at a million rows."""
    return hashlib.blake2b(raw, digest_size=16).digest()


def _gigabytes(size: int) -> str:
    return f"{size / 2**30:.1f} GB"


def _within(scope: str, table: str, alias: str, column: str, scoped: bool) -> str:
    """`table alias`, or only its rows whose `column` is an id in the temporary table `scope`: the scope
    first (CROSS JOIN fixes the order), as the planner knows nothing of a temporary table's size and would
    read the whole table, looking each row up in the scope."""
    if not scoped:
        return f"{table} {alias}"
    return f"temp.{scope} {scope} CROSS JOIN {table} {alias} ON {alias}.{column} = {scope}.id"


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration: split at the semicolons that end one, not those inside a trigger."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending


_PHONE_FIELDS = ("raw", "e164", "extension", "type", "region", "country", "status", "reason")
_EMAIL_FIELDS = ("raw", "value", "valid", "domain", "free_mail")
_CALL_COLUMNS = ("row", "ref", "raw", "status", "reason", "phone_raw", "e164", "at", "outcome", "outcome_raw",
                 "manager", "duration")
_BATCH_ROWS = 10_000
# Python 3.11's sqlite3 binds exact ints, floats and strs at once, but first tries to adapt any other value, None
# and bool among them, through two attribute lookups that fail: about 1 µs a value, and a 1M ingest binds some
# 17M of them. With an adapter registered they are bound as the same NULL and integer in under half the time
# (3.12 and 3.13 bind them about as fast either way).
sqlite3.register_adapter(type(None), {}.get)
sqlite3.register_adapter(bool, int)
_BULK_CACHE_KB = 2 * 1024 * 1024
# Writing the standing of more than 1 / _MOST_ROWS of the clients builds the indexes it changes again.
_MOST_ROWS = 4
_TEMP_CACHE_KB = 512 * 1024  # the held clusters in memory: a (record, cluster) pair per record
_record_values = attrgetter("row", "ref", "raw", *_RECORD_COLUMNS[3:])
_phone_values = attrgetter(*_PHONE_FIELDS)
_email_values = attrgetter(*_EMAIL_FIELDS)
_call_values = attrgetter(*_CALL_COLUMNS)


def record_rows(record: RecordRow, phones: Iterable, emails: Iterable) -> tuple[tuple, list[tuple], list[tuple]]:
    """A built record with its phones and emails as the plain tuples `replace_records` writes: cheap to
    send from a worker process. The record's tuple starts (row, ref, raw, status, reason)."""
    return _record_values(record), [_phone_values(p) for p in phones], [_email_values(e) for e in emails]


def call_row(call) -> tuple:
    """A built call as the plain tuple `replace_calls` writes; it starts (row, ref, raw, status, reason)."""
    return _call_values(call)


@lru_cache(maxsize=1)
def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


_HOLDER_WIDTH = 64  # the lock file's text: who holds it, for the next command to say


@contextmanager
def only_writer(db: Path, wait: float = 0) -> Iterator[None]:
    """Two writers never interleave: the second waits up to `wait` seconds, then is told who holds it.

    An OS lock on a side file: it dies with its process, so a crash leaves no stale lock behind.
    """
    lock_path = base_files(db)[-1]
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                    raise StoreError(f"{db}: another clientbase command is writing ({holder}); "
                                     "try again when it has finished") from None
                time.sleep(0.2)
        # Written over the last holder, padded, not truncated first: after a clean, truncating the file waits for
        # the disk's journal to take the gigabytes written (0.7 s measured).
        os.pwrite(fd, f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}".ljust(_HOLDER_WIDTH).encode(), 0)
        yield
    finally:
        os.close(fd)


def replace_damaged(db: Path, snapshot: Path) -> Path:
    """Put a snapshot in place of a base SQLite cannot read, under the writer lock; the damaged base (and
    its log) is moved aside, not deleted, and its new name returned."""
    db = db.resolve()
    with only_writer(db):
        if not _unreadable(db):  # busy a moment ago, or repaired since: it is no case for this
            raise StoreError(f"{db}: not damaged after all (it may have been busy), so nothing was changed: "
                             "run restore again")
        source = _open_snapshot(snapshot)
        source.close()
        aside = db.with_name(f"{db.name}.damaged-{datetime.now(timezone.utc):%Y%m%d-%H%M%S-%f}Z")
        copy = db.with_name(db.name + ".restoring")
        try:
            shutil.copyfile(snapshot, copy)
            os.chmod(copy, 0o600)
        except OSError as exc:
            copy.unlink(missing_ok=True)
            raise StoreError(f"{db}: cannot copy the snapshot beside it ({exc.strerror or exc}), "
                             "so nothing was changed.") from exc
        for own in base_files(db)[:-1]:  # the base, its log and the log's index; the lock stays
            if own.exists():
                os.replace(own, aside.with_name(aside.name + own.name[len(db.name):]))
        os.replace(copy, db)
        return aside


def _open_snapshot(snapshot: Path) -> sqlite3.Connection:
    """A snapshot opened to be read; refused when it holds no clientbase base."""
    # A URI of the path itself: `#` or `?` in a folder's name would open another, empty, database.
    # Immutable: nothing writes a snapshot, and reading one must not leave -wal and -shm beside it.
    source = sqlite3.connect(snapshot.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    if not _holds_a_base(source):
        source.close()
        raise StoreError(f"{snapshot}: not a clientbase snapshot (damaged or empty), so nothing was changed.")
    return source


def base_files(db: Path) -> list[Path]:
    """The database and the files SQLite and clientbase keep beside it (the writer lock last). Beside the
    file itself: SQLite follows a symbolic link to the base, and so must the lock."""
    real = db.resolve()
    return [real, *(real.with_name(real.name + suffix) for suffix in ("-wal", "-shm", "-journal", ".lock"))]


def own_file(db: Path, path: Path) -> str | None:
    """What `path` is among the base's own files (base_files), however reached; None when it is none of them."""
    files = base_files(db)
    target = path.resolve()
    for own in files:
        if target == own or (target.exists() and own.exists() and os.path.samefile(target, own)):
            return "the base itself" if own == files[0] else f"a file the base keeps beside it ({own.name})"
    return None


# What SQLite says of a file that holds no database it can read: not a busy base, nor a failing disk.
_DAMAGE = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def _unreadable(db: Path) -> bool:
    try:
        conn = _connect_read_only(db)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the schema's pages, not the header only
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return exc.sqlite_errorcode in _DAMAGE
    return False


def _connect_read_only(db: Path) -> sqlite3.Connection:
    """A connection that writes nothing, not even the files SQLite keeps beside a base: the user may not create
    them, or the base's owner could then not write them. Without a log beside it, no command is writing:
    the file is read as it stands. With one, SQLite reads the log too."""
    query = "mode=ro" if base_files(db)[1].exists() else "mode=ro&immutable=1"
    return sqlite3.connect(f"{db.resolve().as_uri()}?{query}", uri=True, isolation_level=None, timeout=30)


def _holds_a_base(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0] > 0 and bool(
            conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'records'").fetchone())
    except sqlite3.DatabaseError:
        return False


def pending_upgrade(path: Path) -> tuple[int, int] | None:
    """(the base's schema, this version's) when opening the base will upgrade it; None otherwise.

    Read without opening it for writing, so that the caller can say so first: an upgrade may rewrite
    the records table, which takes minutes on a base of millions of records."""
    if not path.is_file():
        return None
    try:
        conn = _connect_read_only(path)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None  # opening it says what is wrong
    return (version, len(MIGRATIONS)) if 0 < version < len(MIGRATIONS) else None


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only: the client base is not for everyone's eyes."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)


class PendingSnapshot(Protocol):
    """A copy of the base being taken before a command changes it."""

    def wait(self) -> None:
        """Until the copy is whole: before the command's commit."""

    def keep(self) -> None:
        """After the commit: the copy joins the snapshots, and the oldest go."""

    def discard(self) -> None:
        """After a failure: the base is as the copy holds it, and the snapshots are left as they were."""


class _FileCopy:
    """A file copied by another process, waited for by a thread: the copy runs beside this process's work.

    Not here: closing a file this process opened on the base drops every POSIX lock SQLite holds on it. A
    reader closing its connection meanwhile would then take itself for the last one, move the log into the
    base and delete it under the running transaction, whose commit other readers would then see half of.
    """

    def __init__(self, source: Path, partial: Path, target: Path,
                 failed: Callable[[Path, BaseException], BaseException]) -> None:
        self._error: BaseException | None = None
        # Not Thread.join: a Ctrl-C inside join marks a thread still copying as finished (Python 3.11).
        self._done = threading.Event()
        threading.Thread(target=self._copy, args=(source, partial, target, failed), daemon=True).start()

    def _copy(self, source: Path, partial: Path, target: Path,
              failed: Callable[[Path, BaseException], BaseException]) -> None:
        try:
            copied = subprocess.run([sys.executable, "-I", "-c", _COPY_FILE, str(source), str(partial)],
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")
            if copied.returncode:
                said = copied.stderr.strip().splitlines()[-1:] or [f"the copying process ended with {copied.returncode}"]
                code, _, why = said[0].partition(" ")
                raise OSError(int(code), why) if copied.returncode == 1 and code.isdigit() else OSError(said[0])
            os.replace(partial, target)
        except BaseException as exc:  # whatever it is, the commit must not take it for a snapshot
            self._error = exc
            with suppress(Exception):
                self._error = failed(partial, exc)
        finally:
            self._done.set()

    def wait(self) -> None:
        self._done.wait()
        if self._error is not None:
            raise self._error


# The copying process: errors as "errno strerror", for a full disk to be told apart.
_COPY_FILE = ("import shutil, sys\n"
              "try:\n    shutil.copyfile(sys.argv[1], sys.argv[2])\n"
              "except OSError as exc:\n    sys.exit(f'{exc.errno} {exc.strerror}')")


@dataclass
class Store:
    """An open database. Use `transaction()` around every command that writes."""

    path: Path
    db: sqlite_utils.Database
    read_only: bool = False  # the user may read the file but not write it

    @classmethod
    def open(cls, path: Path) -> Store:
        path = Path(path)
        if path.exists() and path.is_dir():
            raise StoreError(f"{path}: is a folder, not a database file")
        if not path.exists():
            if not path.parent.exists():
                raise StoreError(f"{path}: folder {path.parent} does not exist")
            _create_private(path)
        read_only = not os.access(path, os.W_OK)
        try:
            if read_only:
                conn = _connect_read_only(path)
            else:
                conn = sqlite3.connect(path, isolation_level=None, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.create_function("valid_inn", 1, _valid_inn, deterministic=True)
            conn.create_function("manager_key", 1, manager_key, deterministic=True)
            conn.create_function("text_digest", 1, _text_digest, deterministic=True)
            # Without sqlite-utils plugins: whatever else is installed must not change the connection, and
            # finding them (sqlite-utils 4 does on the first connection) costs every command 40 ms.
            store = cls(path, sqlite_utils.Database(conn, execute_plugins=False), read_only)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            if read_only and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_READONLY:
                raise StoreError(f"{path}: you may only read it, and another clientbase command is writing it: "
                                 "try again when it has finished") from None
            damaged = exc.sqlite_errorcode in _DAMAGE
            raise (DamagedBase if damaged else StoreError)(
                f"{path}: {'not a clientbase database' if damaged else 'cannot be opened'} ({exc})") from None
        return store

    def close(self) -> None:
        self.db.conn.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.db.conn

    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: made by a newer clientbase (schema {version})")
        if version < len(MIGRATIONS) and self.read_only:
            raise StoreError(f"{self.path}: {'holds no clientbase database' if not version else 'needs an upgrade'}, "
                             "and you may only read it: run a clientbase command as a user who may write it")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in _statements(script):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version={number}")

    def _only_writer(self, wait: float = 0):
        self.must_write()
        return only_writer(self.path, wait)

    def must_write(self, why: str = "this command writes to it") -> None:
        """Refuse, before anything is done, a command that writes to a base the user may only read."""
        if self.read_only:
            raise StoreError(f"{self.path}: you may only read it, and {why}: run the command as a user who may "
                             "write the file")

    @contextmanager
    def transaction(self, first: Callable[[], PendingSnapshot | None] | None = None,
                    wait: float = 0) -> Iterator[None]:
        """One transaction: all of it is written, or none of it.

        `first` runs under the writer lock before the transaction opens: a snapshot taken inside
        the connection's own write transaction would wait on itself. The snapshot it starts, if any,
        is waited for before the commit, kept after it, and discarded when the transaction fails: the
        base is then as the copy holds it. `wait` is how long to queue behind another writer: the
        morning's lists wait for the night's clean instead of failing.
        """
        with self._only_writer(wait):
            pending = first() if first is not None else None
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield
                if pending is not None:
                    pending.wait()
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:  # SQLite itself rolls back on some errors, a full disk among them
                    self._conn.execute("ROLLBACK")
                if pending is not None:  # the copy ends first (a Ctrl-C waits for it too)
                    with suppress(Exception):  # this error is the news, not the copy's
                        pending.discard()
                if isinstance(exc, sqlite3.OperationalError) and exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                    raise StoreError(self._disk_full()) from exc
                raise
            if pending is not None:
                pending.keep()

    def _disk_full(self) -> str:
        size, free = self.path.stat().st_size, shutil.disk_usage(self.path.parent).free
        return (f"{self.path}: the disk filled up ({_gigabytes(free)} free now), so nothing was changed. "
                f"A first or full clean rewrites most of the base: leave free at least its size "
                f"({_gigabytes(size)}) for the write-ahead log, and as much again for the snapshot.")

    @contextmanager
    def rehearsal(self) -> Iterator[None]:
        """A transaction that is always rolled back: for --dry-run."""
        with self._only_writer():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                self._conn.execute("ROLLBACK")

    # --- sources -------------------------------------------------------------------------

    def source(self, name: str) -> SourceInfo | None:
        row = self._conn.execute(
            "SELECT id, name, kind, path, fingerprint, ingested_at, rows, build FROM sources WHERE name = ?", (name,)
        ).fetchone()
        return SourceInfo(*row) if row else None

    def save_source(self, name: str, kind: str, path: str, fingerprint: str, rows: int, build: str) -> int:
        now = datetime.now().isoformat(timespec="seconds")
        self._conn.execute(
            "INSERT INTO sources(name, kind, path, fingerprint, ingested_at, rows, build) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, path=excluded.path, "
            "fingerprint=excluded.fingerprint, ingested_at=excluded.ingested_at, rows=excluded.rows, "
            "build=excluded.build",
            (name, kind, path, fingerprint, now, rows, build),
        )
        return self._conn.execute("SELECT id FROM sources WHERE name = ?", (name,)).fetchone()[0]

    def adopt_build(self, name: str, build: str) -> None:
        """Record how a source stored before builds were recorded (schema 13) counts as built."""
        self._conn.execute("UPDATE sources SET build = ? WHERE name = ? AND build IS NULL", (build, name))

    def stored_rows(self, kind: str, source_id: int) -> Iterator[tuple[int, str, str | None]]:
        """(row, raw, why it was rejected or None) of each row a source of records or calls holds, as it was read;
        FUTURE_DATE for a record with a date set aside as such."""
        if kind == "calls":
            return self._conn.execute("SELECT row, raw, CASE WHEN status = 'rejected' THEN reason END FROM calls "
                                      "WHERE source_id = ?", (source_id,))
        return self._conn.execute("SELECT r.row, w.raw, CASE WHEN r.status = 'rejected' THEN r.reason "
                                  "WHEN instr(r.unread, ?) THEN ? END "
                                  "FROM records r JOIN record_raw w ON w.record_id = r.id WHERE r.source_id = ?",
                                  (f"({FUTURE_DATE})", FUTURE_DATE, source_id))

    def source_tally(self, kind: str, source_id: int) -> tuple[int, dict[str, int], dict[str, int], int]:
        """(usable rows, rejected rows by reason, phones by status, usable rows with values not read) of a source
        of records or calls, as stored."""
        table, unread = ("calls", "NULL") if kind == "calls" else ("records", "unread")
        statuses = self._conn.execute(
            f"SELECT status = 'ok', coalesce(reason, 'rejected'), count(*), count({unread}) FROM {table} "
            "WHERE source_id = ? GROUP BY 1, 2", (source_id,)).fetchall()
        phones = {} if table == "calls" else dict(self._conn.execute(
            "SELECT p.status, count(*) FROM records r CROSS JOIN phones p ON p.record_id = r.id "
            "WHERE r.source_id = ? GROUP BY p.status", (source_id,)))
        ok = sum(n for usable, _, n, _ in statuses if usable)
        return (ok, {reason: n for usable, reason, n, _ in statuses if not usable}, phones,
                sum(n for usable, _, _, n in statuses if usable))

    # --- records -------------------------------------------------------------------------

    def replace_records(self, source_id: int, records: Iterable[tuple[tuple, list[tuple], list[tuple]]],
                        kept: Sequence[int], read_on: str) -> int:
        """Write a source's records with their phones and emails, keeping each reference's record id.

        `records` are `record_rows` tuples. The rows in `kept` are unchanged since they were read last: their
        records stay as stored, phones and judgements included (the list may fill while `records` is read).
        `read_on` (ISO date) is the day the rows are read: an owner a row names first dates from it.
        Records of the source that the new content neither writes nor keeps are removed. Returns how many
        were written. Ids are handed out here, so that rows go to SQLite in batches rather than one
        statement each.
        """
        conn = self._conn
        self._bulk_cache()
        ids_by_row = dict(conn.execute("SELECT row, id FROM records WHERE source_id = ?", (source_id,)))
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM records").fetchone()[0]
        # The claims of the rows written over or removed, to date a company's claim by the row it moved from.
        conn.execute("DROP TABLE IF EXISTS temp.held_claims")
        conn.execute("CREATE TEMP TABLE held_claims(owner_key TEXT, inn TEXT, name_key TEXT, city TEXT, read_on TEXT)")
        # Their texts with their clients, to tell which company each row written holds.
        conn.execute("DROP TABLE IF EXISTS temp.held_texts")
        conn.execute("CREATE TEMP TABLE held_texts(digest BLOB PRIMARY KEY, client_id INTEGER) WITHOUT ROWID")
        self._hold_decided_sides(source_id)
        # The records written over a source read before: their claims may be dated today, their texts be moved.
        dated: list[int] = []
        columns = ("id", *_RECORD_COLUMNS, "owner_read_on")
        insert_record = f"INSERT INTO records({','.join(columns)}) VALUES ({','.join('?' for _ in columns)})"
        insert_raw = "INSERT INTO record_raw(record_id, raw) VALUES (?,?)"
        insert_phone = f"INSERT INTO phones(record_id, pos, {','.join(_PHONE_FIELDS)}) VALUES (?,?,?,?,?,?,?,?,?,?)"
        insert_email = f"INSERT INTO emails(record_id, {','.join(_EMAIL_FIELDS)}) VALUES (?,?,?,?,?,?)"
        # A record new to the base takes a plain INSERT, which costs half an upsert.
        upsert_record = f"{insert_record} ON CONFLICT(id) DO UPDATE SET {','.join(f'{c}=excluded.{c}' for c in columns[1:])}"
        upsert_raw = f"{insert_raw} ON CONFLICT(record_id) DO UPDATE SET raw = excluded.raw WHERE raw IS NOT excluded.raw"
        # In this order: phones and emails refer to their record.
        batches: dict[str, list[tuple]] = {
            sql: [] for sql in (insert_record, upsert_record, insert_raw, upsert_raw, insert_phone, insert_email)
        }
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS held_numbers(record_id INTEGER, e164 TEXT)")
        conn.execute("DELETE FROM temp.held_numbers")
        written: list[int] = []
        rewritten: list[int] = []  # records read before, about to lose their phones and emails
        contacts = (batches[insert_phone], batches[insert_email])
        pending = 0
        for values, phones, emails in records:
            row = values[0]
            record_id = ids_by_row.get(row)
            if record_id is None:
                record_id, next_id = next_id, next_id + 1
                record_sql, raw_sql = insert_record, insert_raw
            else:
                rewritten.append(record_id)
                record_sql, raw_sql = upsert_record, upsert_raw
            written.append(row)
            if ids_by_row:
                dated.append(record_id)
            batches[record_sql].append((record_id, source_id, values[0], values[1], *values[3:], read_on))
            batches[raw_sql].append((record_id, values[2]))
            batches[insert_phone].extend((record_id, pos, *phone) for pos, phone in enumerate(phones))
            batches[insert_email].extend((record_id, *email) for email in emails)
            pending += 1
            if pending >= _BATCH_ROWS:
                self._hold_leaving(rewritten)
                self._release_contacts(rewritten, contacts)
                self._flush(batches)
                pending = 0
        self._hold_leaving(rewritten)
        self._release_contacts(rewritten, contacts)
        self._flush(batches)
        seen = {*written, *kept}
        removed = [record_id for row, record_id in ids_by_row.items() if row not in seen]
        self._hold_leaving(removed)
        self._date_moved_claims(dated, read_on)
        self._release_contacts(removed)
        self._drop_unseen("records", source_id, seen)
        self._follow_decided_sides(source_id)
        self._hint_moved_texts(dated)
        conn.execute("INSERT INTO dropped_numbers(e164) SELECT DISTINCT h.e164 FROM temp.held_numbers h "
                     "WHERE NOT EXISTS (SELECT 1 FROM phones p JOIN records r ON r.id = p.record_id "
                     "WHERE p.record_id = h.record_id AND p.e164 = h.e164 AND p.status = 'ok' AND r.status = 'ok')")
        return len(written)

    def _hold_leaving(self, record_ids: Sequence[int]) -> None:
        """Set aside, before these records are written over or removed, what follows their companies to the rows
        they are in now: the owner each names, with its company and the day it was first read (held_claims); and
        its text with its client (held_texts), when the text is the one the client was built from (the record is
        unchanged since the last clean) or a hint names its client. A text held for two clients tells neither.
        A text with a valid INN is not held: the INN finds its client (cluster_votes), and most rows have one,
        so that a re-sorted dump costs little more to read. The records' hints go with their texts."""
        if not record_ids:
            return
        conn = self._conn
        self._fill_ids("leaving", record_ids)
        conn.execute(
            "INSERT INTO temp.held_claims(owner_key, inn, name_key, city, read_on) SELECT manager_key(r.owner), "
            "CASE WHEN r.inn_valid THEN r.inn END, r.name_key, r.city, r.owner_read_on "
            "FROM temp.leaving x CROSS JOIN records r ON r.id = x.id WHERE r.owner IS NOT NULL")
        # The text as a blob, its UTF-8 as stored: a str would be decoded for the digest only to be encoded again.
        conn.execute(
            "INSERT INTO temp.held_texts(digest, client_id) SELECT text_digest(CAST(w.raw AS BLOB)), "
            "coalesce(h.client_id, r.client_id) "
            "FROM temp.leaving x CROSS JOIN records r ON r.id = x.id CROSS JOIN record_raw w ON w.record_id = r.id "
            "LEFT JOIN raw_hints h ON h.record_id = r.id WHERE NOT r.inn_valid AND (h.client_id IS NOT NULL "
            "OR (r.client_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dirty_records d WHERE d.record_id = r.id))) "
            "ON CONFLICT(digest) DO UPDATE SET client_id = NULL WHERE client_id IS NOT excluded.client_id")
        conn.execute("DELETE FROM raw_hints WHERE record_id IN (SELECT id FROM temp.leaving)")

    def _hint_moved_texts(self, record_ids: list[int]) -> None:
        """Hint each of these records, just written, that holds a text held by _hold_leaving at the client of that
        text: a record is its source's row, and a re-sorted dump puts a company's very text in another row, where
        its name may not tell it from a namesake. Only the records the next clean clusters again (new or
        changed) are hinted, and that clean forgets the hints (see cluster_votes)."""
        conn = self._conn
        if not conn.execute("SELECT EXISTS (SELECT 1 FROM temp.held_texts)").fetchone()[0]:
            return
        self._fill_ids("written", record_ids)
        conn.execute(
            "INSERT INTO raw_hints(record_id, client_id) SELECT r.id, h.client_id FROM temp.written x "
            "CROSS JOIN records r ON r.id = x.id CROSS JOIN record_raw w ON w.record_id = r.id "
            "CROSS JOIN temp.held_texts h ON h.digest = text_digest(CAST(w.raw AS BLOB)) "
            "WHERE h.client_id IS NOT NULL AND r.status = 'ok' AND NOT r.inn_valid "
            "AND (r.client_id IS NULL OR EXISTS (SELECT 1 FROM dirty_records d WHERE d.record_id = r.id))")

    def _date_moved_claims(self, record_ids: list[int], read_on: str) -> None:
        """A row written is dated today; but when its company had that owner before (however spelled), in this
        row or another (the dump was sorted another way), the claim keeps the day it was first read. The
        company is told by its valid INN, or by its name and city without another valid INN."""
        conn = self._conn
        if not record_ids or not conn.execute("SELECT EXISTS (SELECT 1 FROM temp.held_claims)").fetchone()[0]:
            return
        conn.execute("CREATE INDEX temp.held_claims_inn ON held_claims(inn, owner_key)")
        conn.execute("CREATE INDEX temp.held_claims_name ON held_claims(name_key, city, owner_key)")
        self._fill_ids("dated", record_ids)
        same_name = ("h.name_key != '' AND h.name_key = records.name_key AND h.city IS records.city "
                     f"AND NOT {_inn_conflict('records', 'h')}")
        earlier = ("SELECT min(h.read_on) FROM temp.held_claims h WHERE h.owner_key = manager_key(records.owner) "
                   f"AND h.read_on < ? AND ((records.inn_valid AND h.inn = records.inn) OR ({same_name}))")
        conn.execute(
            f"UPDATE records SET owner_read_on = coalesce(({earlier}), owner_read_on) "
            "WHERE id IN (SELECT id FROM temp.dated) AND owner IS NOT NULL AND owner_read_on = ?", (read_on, read_on))

    def _hold_decided_sides(self, source_id: int) -> None:
        """Set aside, before any row is written over or removed, each side of a not-duplicates decision in this
        source with its company: the records the decisions name, and the sides parked."""
        conn = self._conn
        conn.execute("DROP TABLE IF EXISTS temp.held_sides")
        conn.execute("CREATE TEMP TABLE held_sides(side TEXT PRIMARY KEY, ref TEXT, raw TEXT, name TEXT, inn TEXT, "
                     "name_key TEXT, city TEXT, client_id INTEGER, parked INTEGER, settled INTEGER NOT NULL DEFAULT 0)")
        columns = "side, ref, raw, name, inn, name_key, city, client_id, parked"
        conn.execute(
            f"INSERT INTO temp.held_sides({columns}) SELECT r.ref, r.ref, w.raw, r.name, "
            "CASE WHEN r.inn_valid THEN r.inn END, r.name_key, r.city, r.client_id, 0 "
            "FROM (SELECT ref_a AS ref FROM not_duplicates UNION SELECT ref_b FROM not_duplicates) n "
            "CROSS JOIN records r ON r.ref = n.ref CROSS JOIN record_raw w ON w.record_id = r.id WHERE r.source_id = ?",
            (source_id,))
        conn.execute(f"INSERT INTO temp.held_sides({columns}) SELECT {columns.replace('parked', '1')} "
                     "FROM parked_sides WHERE source_id = ?", (source_id,))

    def _follow_decided_sides(self, source_id: int) -> None:
        """Point each side held by _hold_decided_sides at the row its company is in now: a record is its source's
        row, and a dump sorted another way puts another company in it.

        A side goes to the only row with the raw text it had; else it stays in its row while that holds the same
        company; else it goes to the only row that does (the same valid INN, or the same name and city without
        another valid INN). A side whose company is in no such row, or in a row another side takes too, is
        parked: it names no record, and is looked for again at the source's next ingest. Each move is audited,
        and the records the decisions name are clustered again at the next clean."""
        conn = self._conn
        conn.execute("UPDATE temp.held_sides SET settled = 1 WHERE NOT parked AND raw = (SELECT w.raw FROM records r "
                     "CROSS JOIN record_raw w ON w.record_id = r.id WHERE r.ref = held_sides.ref)")
        sought = {side: (ref, parked, name, client_id) for side, ref, parked, name, client_id in conn.execute(
            "SELECT side, ref, parked, name, client_id FROM temp.held_sides WHERE NOT settled ORDER BY side")}
        if not sought:
            return
        found = self._rows_of_sides(source_id, {side: ref for side, (ref, *_) in sought.items()})
        taken = Counter([*(row for row, _ in found.values()), *(row[0] for row in conn.execute(
            "SELECT ref FROM temp.held_sides WHERE settled"))])
        now = datetime.now().isoformat(timespec="seconds")
        next_parked = conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM parked_sides").fetchone()[0]
        renamed: list[tuple[str, str]] = []
        entries: list[tuple[str, dict, int | None]] = []
        for side, (ref, parked, name, client_id) in sought.items():
            target, holding = found[side]
            if target is not None and taken[target] > 1:
                target = None  # another side's company is in that row too: neither can be told apart there
            if target == side or (parked and target is None):
                continue
            if target is None:
                # Not a reference: the text after its last colon is no row number.
                parked_as, next_parked = f"{ref} parked {next_parked}", next_parked + 1
                conn.execute("INSERT INTO parked_sides(side, source_id, ref, raw, name, inn, name_key, city, "
                             "client_id, at) SELECT ?, ?, ref, raw, name, inn, name_key, city, client_id, ? "
                             "FROM temp.held_sides WHERE side = ?", (parked_as, source_id, now, side))
                renamed.append((side, parked_as))
                why = f"cannot be told apart in {', '.join(holding)}" if holding else "gone from the dump"
                entries.append(("unmerge parked", {"record": ref, "name": name, "why": why}, client_id))
            elif parked:
                conn.execute("DELETE FROM parked_sides WHERE side = ?", (side,))
                renamed.append((side, target))
                entries.append(("unmerge restored", {"record": target, "was": ref, "name": name}, client_id))
            else:
                renamed.append((side, target))
                entries.append(("unmerge moved", {"record": ref, "to": target, "name": name}, client_id))
        self._rename_decided_sides(renamed)
        self.audit_many("ingest", entries)

    def _rows_of_sides(self, source_id: int, refs: dict[str, str]) -> dict[str, tuple[str | None, list[str]]]:
        """(the row its company is in now or None, the rows that may hold it) of each side sought, by the rules of
        _follow_decided_sides; `refs` maps each to the row it was in. One pass over the source's rows, made only
        when a decided row was written over or a side is parked."""
        conn = self._conn
        for column in ("raw", "inn", "name_key"):  # looked up once per row of the source, however many sides
            conn.execute(f"CREATE INDEX IF NOT EXISTS temp.held_sides_{column} ON held_sides({column})")
        identical: dict[str, dict[str, None]] = defaultdict(dict)  # dicts: the rows in order, each once
        holding: dict[str, dict[str, None]] = defaultdict(dict)
        for side, ref, same_raw in conn.execute(
                "SELECT h.side, r.ref, 1 FROM records r CROSS JOIN record_raw w ON w.record_id = r.id "
                "CROSS JOIN temp.held_sides h ON h.raw = w.raw WHERE r.source_id = ? AND NOT h.settled "
                "UNION ALL SELECT h.side, r.ref, 0 FROM records r CROSS JOIN temp.held_sides h ON h.inn = r.inn "
                "WHERE r.source_id = ? AND r.inn_valid AND NOT h.settled "
                "UNION ALL SELECT h.side, r.ref, 0 FROM records r CROSS JOIN temp.held_sides h ON h.name_key = r.name_key "
                f"WHERE r.source_id = ? AND h.name_key != '' AND r.city IS h.city AND NOT {_inn_conflict('r', 'h')} "
                "AND NOT h.settled", (source_id,) * 3):
            (identical if same_raw else holding)[side][ref] = None

        def row_of(side: str) -> str | None:
            if len(identical[side]) == 1:
                return next(iter(identical[side]))
            if refs[side] in holding[side]:
                return refs[side]
            return next(iter(holding[side])) if len(holding[side]) == 1 else None

        return {side: (row_of(side), list(holding[side] or identical[side])) for side in refs}

    def _rename_decided_sides(self, renamed: Sequence[tuple[str, str]]) -> None:
        """Rename (side, new name) sides in not_duplicates, and mark the records their decisions named and name
        now as changed."""
        if not renamed:
            return
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS renamed_sides(side TEXT PRIMARY KEY, now TEXT NOT NULL)")
        conn.execute("DELETE FROM temp.renamed_sides")
        conn.executemany("INSERT INTO temp.renamed_sides(side, now) VALUES (?,?)", renamed)
        conn.execute("DROP TABLE IF EXISTS temp.renamed_decisions")
        conn.execute("CREATE TEMP TABLE renamed_decisions AS SELECT coalesce(a.now, n.ref_a) AS a, "
                     "coalesce(b.now, n.ref_b) AS b, n.at FROM not_duplicates n "
                     "LEFT JOIN temp.renamed_sides a ON a.side = n.ref_a "
                     "LEFT JOIN temp.renamed_sides b ON b.side = n.ref_b "
                     "WHERE a.side IS NOT NULL OR b.side IS NOT NULL")
        conn.execute("DELETE FROM not_duplicates WHERE ref_a IN (SELECT side FROM temp.renamed_sides) "
                     "OR ref_b IN (SELECT side FROM temp.renamed_sides)")
        # OR IGNORE: a reference left naming no record (its row removed before decisions followed their
        # companies) may name the row a side moved to, and the pair be decided already.
        conn.execute("INSERT OR IGNORE INTO not_duplicates(ref_a, ref_b, at) SELECT min(a, b), max(a, b), at "
                     "FROM temp.renamed_decisions")
        named = ("WITH named AS (SELECT a AS ref FROM temp.renamed_decisions "
                 "UNION SELECT b FROM temp.renamed_decisions UNION SELECT side FROM temp.renamed_sides) "
                 "SELECT {} FROM named CROSS JOIN records r ON r.ref = named.ref WHERE r.client_id IS NOT NULL")
        conn.execute("INSERT OR IGNORE INTO dirty_records(record_id) " + named.format("r.id"))
        conn.execute("INSERT OR IGNORE INTO dirty_clients(client_id) " + named.format("DISTINCT r.client_id"))

    def _release_contacts(self, record_ids: list[int],
                          rewritten_with: tuple[Sequence[tuple], Sequence[tuple]] | None = None) -> None:
        """Take the phones and emails off records about to be removed, or written anew with the phones and
        emails rows `rewritten_with`, and empty the list.

        A rewritten record whose phones or emails differ is clustered again. Their judged clients are judged
        again, and the numbers their clients held are noted, to tell after the writes which of them no record
        holds any more (dropped_numbers)."""
        if not record_ids:
            return
        conn = self._conn
        self._fill_ids("released", record_ids)
        record_ids.clear()
        if rewritten_with is not None:
            self._mark_new_contacts(*rewritten_with)
        conn.execute("INSERT OR IGNORE INTO unjudged_clients(client_id) SELECT DISTINCT r.client_id "
                     "FROM temp.released x CROSS JOIN records r ON r.id = x.id CROSS JOIN phones p ON p.record_id = r.id "
                     "WHERE p.judged IS NOT NULL AND r.client_id IS NOT NULL")
        conn.execute("INSERT INTO temp.held_numbers SELECT p.record_id, p.e164 FROM temp.released x "
                     "CROSS JOIN records r ON r.id = x.id CROSS JOIN phones p ON p.record_id = r.id "
                     "WHERE r.status = 'ok' AND r.client_id IS NOT NULL AND p.status = 'ok' AND p.e164 IS NOT NULL")
        conn.execute("DELETE FROM phones WHERE record_id IN (SELECT id FROM temp.released)")
        conn.execute("DELETE FROM emails WHERE record_id IN (SELECT id FROM temp.released)")

    def _mark_new_contacts(self, phones: Sequence[tuple], emails: Sequence[tuple]) -> None:
        """Mark changed each released record whose new phones or emails rows are not its stored ones."""
        conn = self._conn
        released = {row[0] for row in conn.execute("SELECT id FROM temp.released")}
        stored: dict[int, list[tuple]] = defaultdict(list)
        for row in conn.execute(f"SELECT p.record_id, 'phone', p.pos, {', '.join(f'p.{f}' for f in _PHONE_FIELDS)} "
                                "FROM temp.released x CROSS JOIN phones p ON p.record_id = x.id"):
            stored[row[0]].append(row[1:])
        for row in conn.execute(f"SELECT e.record_id, 'email', {', '.join(f'e.{f}' for f in _EMAIL_FIELDS)} "
                                "FROM temp.released x CROSS JOIN emails e ON e.record_id = x.id"):
            stored[row[0]].append(row[1:])
        written: dict[int, list[tuple]] = defaultdict(list)
        for row in phones:
            if row[0] in released:
                written[row[0]].append(("phone", *row[1:]))
        for row in emails:
            if row[0] in released:
                written[row[0]].append(("email", *row[1:]))
        changed = [(record_id,) for record_id in released
                   if sorted(stored.get(record_id, ())) != sorted(written.get(record_id, ()))]
        conn.executemany("INSERT OR IGNORE INTO dirty_records(record_id) SELECT id FROM records "
                         "WHERE id = ? AND client_id IS NOT NULL", changed)
        conn.executemany("INSERT OR IGNORE INTO dirty_clients(client_id) SELECT client_id FROM records "
                         "WHERE id = ? AND client_id IS NOT NULL", changed)

    def _bulk_cache(self) -> None:
        # A big load touches index pages all over (phones by e164, records by ref): with SQLite's default
        # 2 MB cache they are written out and read back again and again. At 10M rows 256 MB was too little:
        # `calls` passed 180 GB to write() to load 8.7M calls. The cache keeps what is touched: a 1M ingest
        # peaks at 1.4 GB of RSS with it, against 0.4 GB with 256 MB.
        self._conn.execute(f"PRAGMA cache_size=-{_BULK_CACHE_KB}")

    def _flush(self, batches: dict[str, list[tuple]]) -> None:
        for sql, rows in batches.items():
            self._conn.executemany(sql, rows)
            rows.clear()

    def _drop_unseen(self, table: str, source_id: int, rows: Iterable[int]) -> None:
        """Remove a source's rows that its new content no longer has."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS seen_rows(row INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM seen_rows")
        conn.executemany("INSERT OR IGNORE INTO seen_rows(row) VALUES (?)", ((r,) for r in rows))
        conn.execute(f"DELETE FROM {table} WHERE source_id = ? AND row NOT IN (SELECT row FROM seen_rows)", (source_id,))

    def replace_calls(self, source_id: int, calls: Iterable[tuple], kept: Sequence[int]) -> int:
        """Write a dialer log's (`call_row` tuple, phones) pairs, keeping each reference's id, and the rows in
        `kept` as stored (see replace_records); returns how many were written."""
        sql = (f"INSERT INTO calls(source_id, {','.join(_CALL_COLUMNS)}) VALUES (?, {','.join('?' for _ in _CALL_COLUMNS)}) "
               f"ON CONFLICT(ref) DO UPDATE SET {','.join(f'{c}=excluded.{c}' for c in _CALL_COLUMNS)}")
        self._bulk_cache()
        seen: list[int] = []
        batch: list[tuple] = []
        for values, _ in calls:
            seen.append(values[0])
            batch.append((source_id, *values))
            if len(batch) >= _BATCH_ROWS:
                self._conn.executemany(sql, batch)
                batch.clear()
        self._conn.executemany(sql, batch)
        self._drop_unseen("calls", source_id, [*seen, *kept])
        return len(seen)

    def export_records(self) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT r.ref AS record_ref, r.client_id, r.contact_id, r.status, r.reason, r.unread "
            "FROM records r ORDER BY r.source_id, r.row"
        )

    def export_phones(self) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT r.ref AS record_ref, p.raw, p.e164, p.extension, p.type, p.region, "
            "coalesce(p.judged, p.status) AS status, coalesce(p.judged_reason, p.reason) AS reason, "
            "r.client_id FROM phones p JOIN records r ON r.id = p.record_id ORDER BY r.source_id, r.row, p.pos"
        )

    def _dicts(self, sql: str, params: tuple = ()) -> Iterator[dict]:
        cursor = self._conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row))

    # --- deduplication -------------------------------------------------------------------

    def clustered_facts(self, scoped: bool = False) -> Iterator[tuple]:
        """(client id, then what survivorship needs) of each record held by hold_clusters, by client and record;
        scoped, those of the clients held unchanged (hold_unchanged_clients) left out.

        Read in this order, one client's records at a time are enough to build the golden records."""
        return self._conn.execute(
            f"SELECT cc.client_id, {_GOLDEN_FACTS} {_CLUSTERED_RECORDS} JOIN sources s ON s.id = r.source_id "
            f"{'WHERE cc.client_id NOT IN temp.unchanged ' if scoped else ''}ORDER BY c.cluster, r.id")

    def match_facts(self, scoped: bool = False) -> Iterator[tuple]:
        """(id, name key, person, city, INN, INN valid, KPP, phones, emails, email domains) of every usable record
        (of the scope), in record order. The last three are joined by LIST_SEPARATOR, or None: the usable
        phones, a person's valid emails, a company's own email domains (free mail excluded)."""
        return self._conn.execute(
            f"SELECT r.id, r.name_key, r.person, r.city, r.inn, r.inn_valid, r.kpp, {_USABLE_PHONES}, "
            f"CASE WHEN r.person THEN {_VALID_EMAILS} END, "
            "CASE WHEN NOT r.person THEN (SELECT group_concat(e.domain, char(31)) FROM emails e "
            "WHERE e.record_id = r.id AND e.valid AND e.domain <> '' AND NOT e.free_mail) END "
            f"FROM {_within('scope', 'records', 'r', 'id', scoped)} WHERE r.status = 'ok' ORDER BY r.id")

    def _settings_of(self, state: str) -> str | None:
        row = self._conn.execute(f"SELECT settings FROM {state}").fetchone()
        return row[0] if row else None

    def _settle(self, state: str, settings: str, pending: Sequence[str]) -> None:
        """Record finished work with the settings it was done with, and forget what was pending for it."""
        self._conn.execute(f"INSERT INTO {state}(id, settings) VALUES (1, ?) "
                           "ON CONFLICT(id) DO UPDATE SET settings = excluded.settings", (settings,))
        for table in pending:
            self._conn.execute(f"DELETE FROM {table}")

    def dedupe_settings(self) -> str | None:
        """The settings of the last clean's clustering; None before the first clean."""
        return self._settings_of("dedupe_state")

    def save_dedupe_state(self, settings: str, place_rows: dict[str, bytes]) -> None:
        """Record a finished clustering, and the records' places it read: nothing is left to re-check until
        records change again."""
        self._settle("dedupe_state", settings,
                     ("dirty_records", "dirty_clients", "dropped_numbers", "stale_clients", "raw_hints", "place_rows"))
        self._conn.executemany("INSERT INTO place_rows(part, data) VALUES (?, ?)", place_rows.items())

    def place_rows(self) -> dict[str, bytes]:
        """The records' places the last clean read, in parts; empty when it kept none."""
        return dict(self._conn.execute("SELECT part, data FROM place_rows"))

    def records_to_reread(self) -> set[int]:
        """Every record that is new, changed, removed or taken out of its client since the last clean, usable or
        not (a rejected row never had a client, and is no place)."""
        return {row[0] for row in self._conn.execute(
            "SELECT id FROM records WHERE client_id IS NULL AND status = 'ok' UNION ALL SELECT record_id FROM dirty_records")}

    def detach_records(self, refs: Sequence[str]) -> None:
        """Take records out of their client, as new records: the next clustering gives them a client."""
        self._conn.executemany("UPDATE records SET client_id = NULL WHERE ref = ?", ((ref,) for ref in refs))

    def mark_clients_changed(self, client_ids: Iterable[int]) -> None:
        self._conn.executemany("INSERT OR IGNORE INTO dirty_clients(client_id) VALUES (?)",
                               ((c,) for c in client_ids))

    def changed_records(self) -> set[int]:
        """Usable records that are new, changed, in a client that changed, or holding a number another
        record dropped, since the last clean."""
        return {row[0] for row in self._conn.execute(
            "SELECT id FROM records WHERE client_id IS NULL AND status = 'ok' "
            "UNION ALL SELECT r.id FROM dirty_records d CROSS JOIN records r ON r.id = d.record_id WHERE r.status = 'ok' "
            "UNION ALL SELECT r.id FROM dirty_clients d CROSS JOIN records r ON r.client_id = d.client_id "
            "WHERE r.status = 'ok' "
            "UNION ALL SELECT r.id FROM dropped_numbers d CROSS JOIN phones p ON p.e164 = d.e164 "
            "CROSS JOIN records r ON r.id = p.record_id WHERE p.status = 'ok' AND r.status = 'ok'")}

    def changed_clients(self) -> set[int]:
        return {row[0] for row in self._conn.execute("SELECT client_id FROM dirty_clients")}

    def has_stale_clients(self) -> bool:
        """Whether a client has a record changed since the last clean in what matching does not read."""
        return self._conn.execute("SELECT EXISTS (SELECT 1 FROM stale_clients)").fetchone()[0] == 1

    def hold_stale_clients(self) -> int:
        """Hold the stale clients the clustering did not replace, to be written again (restated_facts,
        add_clients): they join the replaced clients, their records the scope (for the contacts), and they are
        judged again. Returns how many."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS replaced(id INTEGER PRIMARY KEY)")
        self._fill_ids("restated", ())
        conn.execute("INSERT INTO temp.restated(id) SELECT s.client_id FROM stale_clients s "
                     "WHERE s.client_id NOT IN temp.replaced AND EXISTS (SELECT 1 FROM clients WHERE id = s.client_id)")
        conn.execute("INSERT INTO temp.replaced(id) SELECT id FROM temp.restated")
        conn.execute("INSERT OR IGNORE INTO temp.scope(id) SELECT r.id FROM temp.restated x "
                     "CROSS JOIN records r ON r.client_id = x.id WHERE r.status = 'ok'")
        conn.execute("INSERT OR IGNORE INTO unjudged_clients(client_id) SELECT id FROM temp.restated")
        return conn.execute("SELECT count(*) FROM temp.restated").fetchone()[0]

    def restated_facts(self) -> Iterator[tuple]:
        """What clustered_facts gives, for the records of the stale clients held by hold_stale_clients."""
        return self._conn.execute(
            f"SELECT r.client_id, {_GOLDEN_FACTS} FROM temp.restated x CROSS JOIN records r ON r.client_id = x.id "
            "JOIN sources s ON s.id = r.source_id WHERE r.status = 'ok' ORDER BY r.client_id, r.id")

    def add_clients(self, goldens: Iterable) -> None:
        """Write the golden records; a client already there is written only where its golden record changed, and
        keeps its standing for the rules to compare with: a clustered part's clients are mostly as they were.
        While the last ranking is kept, the clients written are noted for the next to read again."""
        conn = self._conn
        noted: list[int] | None = [] if self.kept_ranking_held() else None

        def rows() -> Iterator[tuple]:
            for g in goldens:
                if noted is not None:
                    noted.append(g.id)
                yield (g.id, g.name, g.name_key, g.person, g.inn, g.kpp, g.city, g.channel, g.profit, g.revenue,
                       g.potential, g.last_purchase, g.last_contact, g.last_result, g.closed, g.domestic)

        conn.executemany(
            f"INSERT INTO clients(id, {_GOLDEN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            f"ON CONFLICT(id) DO UPDATE SET ({_GOLDEN_COLUMNS}) = ({_EXCLUDED_GOLDEN}) "
            f"WHERE ({_GOLDEN_COLUMNS}) IS NOT ({_EXCLUDED_GOLDEN})", rows())
        if noted:
            conn.executemany("INSERT OR IGNORE INTO reranked_clients(client_id) VALUES (?)", ((i,) for i in noted))

    def record_places(self, record_ids: Iterable[int] | None = None
                      ) -> Iterator[tuple[int, str | None, int, str | None, str | None, str | None]]:
        """(record id, city, whether the city is blank, KPP, valid INN, company name key) of every usable record
        (of those given); the name key None for a person or a record without a name."""
        if record_ids is not None:
            self._fill_batch(record_ids)
        return self._conn.execute(
            "SELECT r.id, r.city, coalesce(trim(r.city), '') = '', r.kpp, CASE WHEN r.inn_valid THEN r.inn END, "
            "CASE WHEN NOT r.person AND r.name_key != '' THEN r.name_key END "
            f"FROM {_within('batch', 'records', 'r', 'id', record_ids is not None)} WHERE r.status = 'ok'")

    def keys_of(self, record_ids: Iterable[int]) -> set[tuple[str, object]]:
        """(kind, value) of every key the records carry: phone, inn, email, domain, and their client."""
        self._fill_batch(record_ids)
        # CROSS JOIN: the batch first, whatever the planner guesses of its size; it would scan whole tables.
        return set(self._conn.execute(
            "SELECT 'phone', p.e164 FROM temp.batch b CROSS JOIN phones p ON p.record_id = b.id "
            "WHERE p.status = 'ok' AND p.e164 IS NOT NULL "
            "UNION ALL SELECT 'inn', r.inn FROM temp.batch b CROSS JOIN records r ON r.id = b.id WHERE r.inn_valid "
            "UNION ALL SELECT 'email', e.value FROM temp.batch b CROSS JOIN emails e ON e.record_id = b.id WHERE e.valid "
            "UNION ALL SELECT 'domain', e.domain FROM temp.batch b CROSS JOIN emails e ON e.record_id = b.id "
            "WHERE e.valid AND NOT e.free_mail AND e.domain IS NOT NULL "
            "UNION ALL SELECT 'client', r.client_id FROM temp.batch b CROSS JOIN records r ON r.id = b.id "
            "WHERE r.client_id IS NOT NULL"))

    def records_with_keys(self, keys: Iterable[tuple[str, object]]) -> set[int]:
        """Records, usable or not, carrying any of the (kind, value) keys of `keys_of`. The caller tells the
        usable apart: reading each record to do so cost more than the rest (a large base's records sit anywhere)."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted(kind TEXT, value)")
        conn.execute("DELETE FROM temp.wanted")
        conn.executemany("INSERT INTO temp.wanted(kind, value) VALUES (?, ?)", keys)
        return {row[0] for row in conn.execute(
            "SELECT p.record_id FROM temp.wanted k CROSS JOIN phones p ON p.e164 = k.value "
            "WHERE k.kind = 'phone' AND p.status = 'ok' "
            "UNION ALL SELECT r.id FROM temp.wanted k CROSS JOIN records r ON r.inn = k.value WHERE k.kind = 'inn' AND r.inn_valid "
            "UNION ALL SELECT e.record_id FROM temp.wanted k CROSS JOIN emails e ON e.value = k.value "
            "WHERE k.kind = 'email' AND e.valid "
            "UNION ALL SELECT e.record_id FROM temp.wanted k CROSS JOIN emails e ON e.domain = k.value "
            "WHERE k.kind = 'domain' AND e.valid "
            "UNION ALL SELECT r.id FROM temp.wanted k CROSS JOIN records r ON r.client_id = k.value WHERE k.kind = 'client'")}

    def _fill_batch(self, record_ids: Iterable[int]) -> None:
        self._fill_ids("batch", record_ids)

    def _fill_ids(self, table: str, ids: Iterable[int]) -> None:
        """A temporary table of ids to join with: lighter than a statement with a million parameters."""
        conn = self._conn
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}(id INTEGER PRIMARY KEY)")
        conn.execute(f"DELETE FROM temp.{table}")
        conn.executemany(f"INSERT OR IGNORE INTO temp.{table}(id) VALUES (?)", ((i,) for i in ids))

    def set_scope(self, record_ids: Iterable[int], changed: Iterable[int]) -> None:
        """The records a scoped clustering reads and rewrites (the `scoped=True` queries below), and those
        of them changed since the last clean."""
        self._fill_ids("scope", record_ids)
        self._fill_ids("changed", changed)

    def hold_clusters(self, clusters: Sequence[Sequence[int]]) -> None:
        """Keep the cluster (its index) of each clustered record in a temporary table, for the queries that
        save the clusters: a base's records are then read one client at a time instead of all at once."""
        conn = self._conn
        conn.execute(f"PRAGMA temp.cache_size=-{_TEMP_CACHE_KB}")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS clustered(record_id INTEGER PRIMARY KEY, cluster INTEGER NOT NULL)")
        conn.execute("DELETE FROM temp.clustered")
        conn.executemany("INSERT INTO temp.clustered(record_id, cluster) VALUES (?,?)",
                         ((record_id, index) for index, cluster in enumerate(clusters) for record_id in cluster))

    def cluster_votes(self) -> Iterator[tuple[int, int, int]]:
        """(cluster, client id, weight of its records' votes): the client ids the clustered records had.

        A record is its source's row, so a re-sorted dump puts another company in it. A record without a valid INN
        that ingest found holding the very text of another row (a hint, see _hint_moved_texts) votes for that
        row's client (3): its company is that client's as surely as an unchanged record's is. A record unchanged
        since the last clean, or changed but still with its client's name or valid INN, votes for its client (3),
        but the second only while no hint traces that client's text to another record: a namesake without an INN
        now in its row must not take it. Another changed record, or a new one, votes for the only client among
        the clustered records' with its valid INN, or failing one with its name and city and no other valid INN
        (2); a changed one that finds none still votes for its own (1). So a snooze or an assignment stays with
        its company, not with a row number, and a client whose records are not clustered again is never given
        away.

        The clients looked in are those of the clustered records, and the changed clients left with no usable
        record outside the clustering: a company's row may be gone (a shorter dump) or rejected now, its
        company in another row. Of two clients with the INN (kept apart by unmerge), the vote goes to the one
        that no record votes for as its own any more. No record votes for a client whose valid INN is not its
        cluster's, not even by a hint: a record without an INN goes with whichever company the clustering puts
        it with.
        """
        if not self._conn.execute("SELECT EXISTS (SELECT 1 FROM temp.clustered c CROSS JOIN records r "
                                  "ON r.id = c.record_id WHERE r.client_id IS NOT NULL) "
                                  "OR EXISTS (SELECT 1 FROM dirty_clients)").fetchone()[0]:
            return iter(())  # a first clean: there is no client to keep
        return self._conn.execute(
            # The valid INN of each cluster, for its records without one.
            "WITH companies AS MATERIALIZED (SELECT c.cluster, max(r.inn) AS inn "
            "FROM temp.clustered c CROSS JOIN records r ON r.id = c.record_id WHERE r.inn_valid GROUP BY c.cluster), "
            "bereft AS (SELECT d.client_id FROM dirty_clients d WHERE NOT EXISTS (SELECT 1 FROM records r "
            "WHERE r.client_id = d.client_id AND r.status = 'ok' "
            "AND r.id NOT IN (SELECT record_id FROM temp.clustered))), "
            # The clustered records a hint traces to a held client of no other valid INN than their company's (a
            # hinted record has none of its own). Read from the hints, so that a clean after no re-sorted dump reads
            # no more than it did before them.
            "traced AS MATERIALIZED (SELECT c.cluster, c.record_id, o.id AS client_id FROM raw_hints h "
            "CROSS JOIN temp.clustered c ON c.record_id = h.record_id CROSS JOIN clients o ON o.id = h.client_id "
            "LEFT JOIN companies m ON m.cluster = c.cluster "
            # The client's records, each looked up in the clustering: `x.id IN temp.clustered` went the other way
            # round, every clustered record for every hint (4 minutes for a re-sorted dump of 50k rows).
            "WHERE (EXISTS (SELECT 1 FROM records x CROSS JOIN temp.clustered y ON y.record_id = x.id "
            "WHERE x.client_id = o.id) "
            f"OR o.id IN (SELECT client_id FROM bereft)) AND NOT {_other_inn('m.inn', 'o')}), "
            "voters AS MATERIALIZED (SELECT c.cluster, r.client_id, r.inn, r.inn_valid, r.name_key, r.city, "
            "m.inn AS company_inn, c.record_id IN (SELECT record_id FROM traced) AS hinted, r.client_id IS NOT NULL "
            "AND c.record_id NOT IN (SELECT record_id FROM traced) "
            "AND (NOT EXISTS (SELECT 1 FROM dirty_records d WHERE d.record_id = r.id) "
            "OR (r.client_id NOT IN (SELECT client_id FROM traced) "
            "AND EXISTS (SELECT 1 FROM clients o WHERE o.id = r.client_id AND ((o.name_key = r.name_key "
            f"AND o.city IS r.city AND NOT {_inn_conflict('r', 'o')}) OR (r.inn_valid AND o.inn = r.inn))))) "
            "AND CASE WHEN m.inn IS NULL THEN 1 ELSE NOT EXISTS (SELECT 1 FROM clients o WHERE o.id = r.client_id "
            f"AND {_other_inn('m.inn', 'o')}) END AS faithful "
            "FROM temp.clustered c CROSS JOIN records r ON r.id = c.record_id "
            "LEFT JOIN companies m ON NOT r.inn_valid AND m.cluster = c.cluster), "
            "strays AS MATERIALIZED (SELECT * FROM voters WHERE NOT faithful AND NOT hinted), "
            "held AS MATERIALIZED (SELECT k.id, k.inn, k.name_key, k.city, "
            "k.id NOT IN (SELECT client_id FROM voters WHERE faithful UNION SELECT client_id FROM traced) AS loose "
            "FROM clients k WHERE k.id IN (SELECT client_id FROM voters UNION SELECT client_id FROM bereft)), "
            # Two clients of one INN (kept apart by unmerge): the one none of whose rows still holds its company.
            "by_inn AS (SELECT inn, CASE WHEN count(*) = 1 THEN min(id) ELSE max(CASE WHEN loose THEN id END) END "
            "AS id FROM held WHERE inn IN (SELECT inn FROM strays WHERE inn_valid) "
            "GROUP BY inn HAVING count(*) = 1 OR sum(loose) = 1), "
            "by_name AS (SELECT name_key, city, min(id) AS id, max(inn) AS inn FROM held WHERE name_key != '' "
            "AND name_key IN (SELECT name_key FROM strays) GROUP BY name_key, city HAVING count(*) = 1), "
            "votes AS (SELECT cluster, client_id, 3 AS weight FROM voters WHERE faithful "
            "UNION ALL SELECT cluster, client_id, 3 FROM traced "
            "UNION ALL SELECT s.cluster, coalesce(i.id, n.id, CASE WHEN NOT "
            f"({_inn_conflict('s', 'o')} OR {_other_inn('s.company_inn', 'o')}) THEN s.client_id END), "
            "CASE WHEN coalesce(i.id, n.id) IS NOT NULL THEN 2 ELSE 1 END FROM strays s "
            "LEFT JOIN by_inn i ON s.inn_valid AND i.inn = s.inn "
            f"LEFT JOIN by_name n ON n.name_key = s.name_key AND n.city IS s.city AND NOT {_inn_conflict('s', 'n')} "
            f"AND NOT {_other_inn('s.company_inn', 'n')} "
            "LEFT JOIN held o ON o.id = s.client_id) "
            "SELECT cluster, client_id, sum(weight) FROM votes WHERE client_id IS NOT NULL "
            "GROUP BY cluster, client_id")

    def name_clusters(self, client_ids: Sequence[int]) -> None:
        """The client id of each held cluster, in cluster order."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS cluster_client(cluster INTEGER PRIMARY KEY, client_id INTEGER)")
        conn.execute("DELETE FROM temp.cluster_client")
        conn.executemany("INSERT INTO temp.cluster_client(cluster, client_id) VALUES (?,?)", enumerate(client_ids))

    def hold_unchanged_clients(self) -> int:
        """Of the clusters of a clustered part, hold the clients they leave as they were: the same records, none
        changed since the last clean. Their golden records, people and judgements stand (a stale one is then
        restated: hold_stale_clients); most of a part's clients are such. Returns how many."""
        conn = self._conn
        self._fill_ids("unchanged", ())
        conn.execute(
            "INSERT INTO temp.unchanged(id) SELECT cc.client_id FROM temp.clustered c "
            "CROSS JOIN temp.cluster_client cc ON cc.cluster = c.cluster CROSS JOIN records r ON r.id = c.record_id "
            "GROUP BY c.cluster HAVING max(r.client_id IS NOT cc.client_id OR r.id IN temp.changed) = 0 "
            "AND count(*) = (SELECT count(*) FROM records o WHERE o.client_id = cc.client_id)")
        return conn.execute("SELECT count(*) FROM temp.unchanged").fetchone()[0]

    def moved_records(self) -> Iterator[tuple[int, str, int | None, int, int]]:
        """(record id, ref, client id before, client id now, cluster) of each clustered record changing client."""
        return self._conn.execute(
            f"SELECT r.id, r.ref, r.client_id, cc.client_id, c.cluster {_CLUSTERED_RECORDS} "
            "WHERE r.client_id IS NOT cc.client_id ORDER BY r.id")

    def not_duplicate_ids(self, scoped: bool = False) -> list[tuple[int, int]]:
        """(record id, record id) of each pair marked not duplicates, both usable (and of the scope)."""
        both_in_scope = "JOIN temp.scope sa ON sa.id = a.id JOIN temp.scope sb ON sb.id = b.id" if scoped else ""
        return self._conn.execute(
            "SELECT a.id, b.id FROM not_duplicates n JOIN records a ON a.ref = n.ref_a "
            f"JOIN records b ON b.ref = n.ref_b {both_in_scope} WHERE a.status = 'ok' AND b.status = 'ok'").fetchall()

    def add_not_duplicates(self, pairs: Iterable[tuple[str, str]]) -> None:
        now = datetime.now().isoformat(timespec="seconds")
        self._conn.executemany(
            "INSERT OR IGNORE INTO not_duplicates(ref_a, ref_b, at) VALUES (?,?,?)",
            [(min(a, b), max(a, b), now) for a, b in pairs],
        )

    def max_client_id(self) -> int:
        return self._conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM clients), 0), coalesce((SELECT max(client_id) FROM records), 0))"
        ).fetchone()[0]

    def save_clients(self, goldens: Iterable, pairs: Iterable, hubs: dict[str, int], scoped: bool,
                     relisted: Iterable[int] = (), compared: Compared | None = None) -> None:
        """Replace the derived client tables with the held clusters' and point each record at its client.

        Scoped, only the clients of the held records (before and after) and the changed ones are replaced,
        and the hubs among their phones. The clients held unchanged keep their golden record and people, and are
        judged again only where a number's hub changed; the replaced clients and the scope are then the others.
        The pairs to review across the scope's edge stand as they were, but those of similar names that a clustering
        of the whole base no longer compares (`compared`; see _save_part_matches).
        """
        conn = self._conn
        if not scoped:
            conn.execute("DELETE FROM clients")
            conn.execute("DELETE FROM matches")
            conn.execute("DELETE FROM hubs")
            conn.execute("DELETE FROM judge_state")  # every client is new: judge them all
            self._drop_kept_ranking()  # and rank them all
        else:
            self._fill_ids("replaced", ())
            conn.execute("INSERT OR IGNORE INTO temp.replaced(id) SELECT client_id FROM dirty_clients")
            conn.execute("INSERT OR IGNORE INTO temp.replaced(id) SELECT r.client_id FROM temp.clustered c "
                         "CROSS JOIN records r ON r.id = c.record_id WHERE r.client_id IS NOT NULL")
            conn.execute("INSERT OR IGNORE INTO temp.replaced(id) SELECT client_id FROM temp.cluster_client")
            rebuilt = "SELECT id FROM temp.replaced WHERE id NOT IN temp.unchanged"
            conn.execute(f"INSERT OR IGNORE INTO unjudged_clients(client_id) {rebuilt}")
            if self.kept_ranking_held():
                conn.execute(f"INSERT OR IGNORE INTO reranked_clients(client_id) {rebuilt}")
            conn.execute("DELETE FROM clients WHERE id IN (SELECT id FROM temp.replaced "
                         "WHERE id NOT IN (SELECT client_id FROM temp.cluster_client))")
            # Hub by hub: they are few, and the scope's numbers many.
            hubs_before = dict(conn.execute(
                "DELETE FROM hubs WHERE EXISTS (SELECT 1 FROM phones p CROSS JOIN temp.scope s ON s.id = p.record_id "
                "WHERE p.e164 = hubs.e164) RETURNING e164, clients"))
        self.add_clients(goldens)
        # A record made unusable since the last clean is among the changed ones, which hold every such record. It
        # leaves its person too: a full clean's contacts forget it, and a clustered part's does not read it.
        conn.execute("UPDATE records SET client_id = NULL, contact_id = NULL WHERE status != 'ok' AND client_id IS NOT NULL"
                     + (" AND id IN (SELECT record_id FROM dirty_records)" if scoped else ""))
        # A first clean gives every record its client.
        first = not scoped and not conn.execute("SELECT EXISTS (SELECT 1 FROM records WHERE client_id IS NOT NULL)"
                                                ).fetchone()[0]
        with self._indexes_rebuilt("records", ("client_id",), first):
            conn.execute("UPDATE records SET client_id = cc.client_id FROM temp.clustered c JOIN temp.cluster_client cc "
                         "ON cc.cluster = c.cluster WHERE records.id = c.record_id "
                         "AND records.client_id IS NOT cc.client_id")
        # A pair is listed under its first record's client. The pairs go in as they are, then to matches in one
        # statement: a statement per pair looking its records up takes two thirds longer.
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS pairs(a INTEGER, b INTEGER, rule TEXT, score REAL, "
                     "decision TEXT, detail TEXT)")
        conn.execute("DELETE FROM temp.pairs")
        conn.executemany("INSERT INTO temp.pairs(a, b, rule, score, decision, detail) VALUES (?,?,?,?,?,?)",
                         ((p.a, p.b, p.rule, p.score, p.decision, p.detail) for p in pairs))
        # The pairs' records are read once each, in record order, into a narrow table: a pair's two records
        # sit anywhere in the base, and reading them pair by pair reads a large base at random.
        self._fill_ids("paired_ids", ())
        conn.execute("INSERT OR IGNORE INTO temp.paired_ids(id) "
                     "SELECT a FROM temp.pairs UNION ALL SELECT b FROM temp.pairs")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS paired(id INTEGER PRIMARY KEY, ref TEXT, client_id INTEGER)")
        conn.execute("DELETE FROM temp.paired")
        conn.execute("INSERT INTO temp.paired(id, ref, client_id) SELECT r.id, r.ref, r.client_id "
                     "FROM temp.paired_ids i CROSS JOIN records r ON r.id = i.id")
        columns = "client_id, ref_a, ref_b, rule, score, decision, detail"
        found = ("SELECT a.client_id, a.ref AS ref_a, b.ref AS ref_b, p.rule, p.score, p.decision, p.detail"
                 f"{', p.a, p.b' if scoped else ''} FROM temp.pairs p CROSS JOIN temp.paired a ON a.id = p.a "
                 "CROSS JOIN temp.paired b ON b.id = p.b ORDER BY p.rowid")
        if not scoped:
            with self._indexes_rebuilt("matches", ("ref_b",), True):
                conn.execute(f"INSERT INTO matches({columns}) {found}")
        else:
            self._save_part_matches(found, columns, relisted, compared)
        conn.execute("DELETE FROM temp.pairs")
        conn.executemany("INSERT INTO hubs(e164, clients) VALUES (?,?)", hubs.items())
        if scoped:  # a hub's count is in its numbers' judgement, of unchanged clients too
            conn.executemany("INSERT INTO unjudged_numbers(e164) VALUES (?)", (
                (e164,) for e164 in hubs_before.keys() | hubs.keys() if hubs_before.get(e164) != hubs.get(e164)))
            conn.execute("DELETE FROM temp.scope WHERE id IN (SELECT c.record_id FROM temp.clustered c "
                         "CROSS JOIN temp.cluster_client cc ON cc.cluster = c.cluster WHERE cc.client_id IN temp.unchanged)")
            conn.execute("DELETE FROM temp.replaced WHERE id IN temp.unchanged")

    def _save_part_matches(self, found: str, columns: str, relisted: Iterable[int], compared: Compared | None
                           ) -> None:
        """Replace the replaced clients' matches, and the pairs to review listed under a client outside the scope with
        a record in it, with the pairs `found` (a query of `columns`, then the records' ids, in their order).

        A pair found as it stands is left in place: most of a clustered part's clients are as they were, and
        their pairs with them. A pair to review between a record of the scope and one outside it is found again
        only for the `relisted` records (the changed ones and their namesakes); for another it stands as it was:
        it is kept, listed under its first record's client, which may be new, unless it is a pair of similar names
        that a clustering of the whole base no longer compares (`compared`). Of the pairs to review
        between a client of the scope and one outside it, found or kept, only the closest is listed, as a clustering
        of the whole lists one for each two clients."""
        conn = self._conn
        self._fill_ids("relisted", relisted)
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS found({columns}, a INTEGER, b INTEGER)")
        conn.execute("DELETE FROM temp.found")
        conn.execute(f"INSERT INTO temp.found({columns}, a, b) {found}")
        conn.execute("CREATE INDEX IF NOT EXISTS temp.found_refs ON found(ref_a, ref_b)")
        # The replaced clients' matches, and the pairs to review listed under a client outside the scope (their first
        # record's) whose second record is in it.
        self._fill_ids("touched", ())
        conn.execute("INSERT INTO temp.touched(id) SELECT m.id FROM temp.replaced x CROSS JOIN matches m "
                     "ON m.client_id = x.id")
        conn.execute("INSERT OR IGNORE INTO temp.touched(id) SELECT m.id FROM temp.scope s CROSS JOIN records r "
                     "ON r.id = s.id CROSS JOIN matches m ON m.ref_b = r.ref AND m.decision = 'review'")
        # A clustering finds each pair of records once, so a stored pair stands for one found pair at most.
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS standing_pairs(match_id INTEGER PRIMARY KEY, found_row INTEGER)")
        conn.execute("DELETE FROM temp.standing_pairs")
        conn.execute(
            "INSERT INTO temp.standing_pairs(match_id, found_row) SELECT m.id, f.rowid FROM temp.touched t "
            "CROSS JOIN matches m ON m.id = t.id CROSS JOIN temp.found f ON f.ref_a = m.ref_a "
            "AND f.ref_b = m.ref_b WHERE f.client_id IS m.client_id AND f.rule = m.rule AND f.score = m.score "
            "AND f.decision = m.decision AND f.detail = m.detail")
        # The kept pairs to review, with their first record's client now.
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS kept_pairs(match_id INTEGER PRIMARY KEY, client_id INTEGER, "
                     "a INTEGER, b INTEGER, score REAL)")
        conn.execute("DELETE FROM temp.kept_pairs")
        conn.execute(
            "INSERT INTO temp.kept_pairs(match_id, client_id, a, b, score) SELECT m.id, a.client_id, a.id, b.id, "
            "m.score FROM temp.touched t CROSS JOIN matches m ON m.id = t.id CROSS JOIN records a ON a.ref = m.ref_a "
            "CROSS JOIN records b ON b.ref = m.ref_b WHERE m.decision = 'review' "
            "AND m.id NOT IN (SELECT match_id FROM temp.standing_pairs) AND a.status = 'ok' AND b.status = 'ok' AND ("
            "(a.id IN temp.scope AND a.id NOT IN temp.relisted AND b.id NOT IN temp.scope) OR "
            "(b.id IN temp.scope AND b.id NOT IN temp.relisted AND a.id NOT IN temp.scope))")
        if compared is not None:  # new names between two similar ones push them out of each other's window
            kept = numpy.array(conn.execute("SELECT k.match_id, k.a, k.b FROM temp.kept_pairs k CROSS JOIN matches m "
                                            "ON m.id = k.match_id WHERE m.rule IN ('name+city', 'name')").fetchall(),
                               dtype=numpy.int64).reshape(-1, 3)
            self._fill_ids("stale", kept[~compared(kept[:, 1], kept[:, 2]), 0].tolist())
            conn.execute("DELETE FROM temp.kept_pairs WHERE match_id IN temp.stale")
        self._list_closest_across()
        conn.execute("DELETE FROM matches WHERE id IN (SELECT id FROM temp.touched) "
                     "AND id NOT IN (SELECT match_id FROM temp.standing_pairs) "
                     "AND id NOT IN (SELECT match_id FROM temp.kept_pairs)")
        # By id: an UPDATE ... FROM scans the matches.
        conn.execute("UPDATE matches SET client_id = (SELECT k.client_id FROM temp.kept_pairs k WHERE k.match_id = "
                     "matches.id) WHERE id IN (SELECT k.match_id FROM temp.kept_pairs k CROSS JOIN matches m "
                     "ON m.id = k.match_id WHERE m.client_id IS NOT k.client_id)")
        conn.execute(f"INSERT INTO matches({columns}) SELECT {columns} FROM temp.found "
                     "WHERE rowid NOT IN (SELECT found_row FROM temp.standing_pairs) ORDER BY rowid")
        conn.execute("DELETE FROM temp.found")

    def _list_closest_across(self) -> None:
        """Leave, of the pairs to review found or kept between a client of the scope and one outside it, the
        closest for each two clients (then the first by their records), as a clustering lists them."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS across(found_row INTEGER, match_id INTEGER, a INTEGER, "
                     "b INTEGER, score REAL)")
        conn.execute("DELETE FROM temp.across")
        conn.execute("INSERT INTO temp.across(found_row, a, b, score) SELECT f.rowid, f.a, f.b, f.score "
                     "FROM temp.found f WHERE f.decision = 'review' AND (f.a IN temp.scope) != (f.b IN temp.scope)")
        conn.execute("INSERT INTO temp.across(match_id, a, b, score) SELECT match_id, a, b, score FROM temp.kept_pairs")
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS farther AS SELECT found_row, match_id FROM temp.across WHERE 0")
        conn.execute("DELETE FROM temp.farther")
        conn.execute(
            "INSERT INTO temp.farther(found_row, match_id) SELECT found_row, match_id FROM ("
            "SELECT x.found_row, x.match_id, row_number() OVER (PARTITION BY min(ca.client_id, cb.client_id), "
            "max(ca.client_id, cb.client_id) ORDER BY x.score DESC, x.a, x.b) AS place FROM temp.across x "
            "CROSS JOIN records ca ON ca.id = x.a CROSS JOIN records cb ON cb.id = x.b) WHERE place > 1")
        conn.execute("DELETE FROM temp.found WHERE rowid IN (SELECT found_row FROM temp.farther)")
        conn.execute("DELETE FROM temp.standing_pairs WHERE found_row IN (SELECT found_row FROM temp.farther)")
        conn.execute("DELETE FROM temp.kept_pairs WHERE match_id IN (SELECT match_id FROM temp.farther)")

    def contact_facts(self, scoped: bool = False) -> Iterator[tuple]:
        """(record id, client id, contact name, position, birthday, phones, emails) of every record (of the scope)
        naming a person; its usable phones and valid emails are joined by LIST_SEPARATOR, or None."""
        return self._conn.execute(
            f"SELECT r.id, r.client_id, r.contact, r.position, r.birthday, {_USABLE_PHONES}, {_VALID_EMAILS} "
            f"FROM {_within('scope', 'records', 'r', 'id', scoped)} "
            f"WHERE r.status = 'ok' AND r.contact IS NOT NULL AND {_NOT_BY_CLIENT} IS NOT NULL "
            f"ORDER BY {_NOT_BY_CLIENT}, r.id")

    def save_contacts(self, contacts: Iterable, scoped: bool = False) -> None:
        """Replace the derived contacts (of the replaced clients) and point each record at its person."""
        conn = self._conn
        conn.execute("DELETE FROM contacts" + (" WHERE client_id IN (SELECT id FROM temp.replaced)" if scoped else ""))
        rows, links = [], []
        for c in contacts:
            rows.append((c.id, c.client_id, c.name, c.position, c.birthday, ";".join(c.phones), ";".join(c.emails)))
            links.extend((c.id, record_id, c.id) for record_id in c.record_ids)
        conn.executemany("INSERT INTO contacts(id, client_id, name, position, birthday, phones, emails) "
                         "VALUES (?,?,?,?,?,?,?)", rows)
        links.sort(key=itemgetter(1))  # in record order: a large base's records are written in one pass
        # A contact's id is its first record's: most records of a clustered part keep theirs, and are not written.
        if scoped:
            self._fill_ids("linked", (record_id for _, record_id, _ in links))
            conn.execute("UPDATE records SET contact_id = NULL WHERE id IN (SELECT id FROM temp.scope "
                         "WHERE id NOT IN temp.linked) AND contact_id IS NOT NULL")
        else:
            conn.execute("UPDATE records SET contact_id = NULL WHERE contact_id IS NOT NULL")
        conn.executemany("UPDATE records SET contact_id = ? WHERE id = ? AND contact_id IS NOT ?", links)

    def dedupe_totals(self) -> tuple[int, int, int]:
        """(clients, review pairs, hub phones) after a clustering."""
        return self._conn.execute(
            "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM matches WHERE decision = 'review'), "
            "(SELECT count(*) FROM hubs)").fetchone()

    def usable_records(self) -> int:
        return self._conn.execute("SELECT count(*) FROM records WHERE status = 'ok'").fetchone()[0]

    def export_contacts(self) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT client_id, id AS contact_id, name, position, birthday, phones, emails, "
            # Through the client's records (indexed): a contact's own are not, and a scan each took hours.
            "(SELECT group_concat(ref, ';') FROM records WHERE client_id = contacts.client_id "
            "AND contact_id = contacts.id) AS record_refs "
            "FROM contacts ORDER BY client_id, id"
        )

    def client_records(self, client_id: int) -> list[dict]:
        return list(self._dicts(
            "SELECT r.id, r.ref, r.name, r.inn, r.kpp, r.city, r.owner, r.status, r.person FROM records r "
            "WHERE r.client_id = ? ORDER BY r.id", (client_id,)))

    def clients_of(self, refs: Sequence[str]) -> list[int]:
        marks = ",".join("?" for _ in refs)
        return [row[0] for row in self._conn.execute(
            f"SELECT DISTINCT client_id FROM records WHERE ref IN ({marks}) ORDER BY client_id", tuple(refs))]

    def client(self, client_id: int) -> dict | None:
        return next(self._dicts("SELECT * FROM clients WHERE id = ?", (client_id,)), None)

    def client_phones(self, client_id: int) -> list[dict]:
        """Each number of the client's records once (one of the cells writing it as `raw`): what it is now (ok, dead
        or mismatch, or why it cannot be called), why, its usable calls and the latest of them, and the records
        giving it. A number's rows share their verdict: it is judged by its calls and its client."""
        return list(self._dicts(
            "SELECT p.e164 AS phone, min(p.raw) AS raw, "
            "CASE WHEN max(p.status) != 'ok' THEN max(p.status) ELSE coalesce(max(p.judged), 'ok') END AS verdict, "
            "coalesce(max(p.judged_reason), max(p.reason)) AS reason, max(p.judged_on) AS decided_on, "
            "(SELECT count(*) FROM calls c WHERE c.e164 = p.e164 AND c.status = 'ok') AS calls, "
            "(SELECT c.at || ' ' || c.outcome FROM calls c WHERE c.e164 = p.e164 AND c.status = 'ok' "
            "ORDER BY c.at DESC, c.id DESC LIMIT 1) AS last_call, group_concat(r.ref, ', ') AS refs "
            "FROM records r JOIN phones p ON p.record_id = r.id WHERE r.client_id = ? "
            "GROUP BY coalesce(p.e164, p.raw) ORDER BY min(p.id)", (client_id,)))

    def client_matches(self, client_id: int) -> list[dict]:
        return list(self._dicts(
            "SELECT ref_a, ref_b, rule, score, decision, detail FROM matches WHERE client_id = ? ORDER BY id",
            (client_id,)))

    def history(self, client_id: int) -> list[dict]:
        return list(self._dicts(
            "SELECT at, command, action, detail FROM audit WHERE client_id = ? ORDER BY id", (client_id,)))

    def export_duplicates(self) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT client_id, ref_a AS record_ref_a, ref_b AS record_ref_b, rule, score, decision, detail, "
            "(SELECT person FROM clients WHERE id = matches.client_id) AS person "
            "FROM matches ORDER BY decision, client_id, id"
        )

    def export_clients(self) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT c.id AS client_id, c.name, c.inn, c.kpp, c.city, c.channel, c.owner, c.owner_until, c.segment, "
            "c.abcde, c.profit, c.potential, c.last_contact, c.next_due, c.state, c.dependency, "
            "(SELECT group_concat(ref, ';') FROM records WHERE client_id = c.id) AS record_refs, c.person "
            "FROM clients c ORDER BY c.id"
        )

    # --- phone health and quarantine ------------------------------------------------------

    def judge_settings(self) -> str | None:
        """The settings of the last judgement; None when every number and client must be judged again."""
        return self._settings_of("judge_state")

    def save_judge_state(self, settings: str) -> None:
        """Record a finished judgement: nothing is left to judge until calls or clients change again."""
        self._settle("judge_state", settings, ("unjudged_numbers", "unjudged_clients"))

    def set_judge_scope(self) -> int:
        """Scope the `scoped=True` judging queries below to the numbers whose calls changed since the
        last judgement, and to the clients clustered again since or holding such a number; returns
        how many clients that is."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS judge_numbers(e164 TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.judge_numbers")
        conn.execute("INSERT OR IGNORE INTO temp.judge_numbers(e164) SELECT e164 FROM unjudged_numbers")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS judge_clients(id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM temp.judge_clients")
        conn.execute("INSERT OR IGNORE INTO temp.judge_clients(id) SELECT client_id FROM unjudged_clients")
        # The numbers first, each looked up, unless they are a large share of the phones: the planner scanned
        # the phones for any (at 1M phones, 20k numbers: 0.69 s against 0.24 s; 200k: even; 1M: 2.9 s against 7.9 s).
        # The phones' largest id stands for their count, read in no time: a re-read row's phones get new ids.
        numbers, phones = conn.execute("SELECT (SELECT count(*) FROM temp.judge_numbers), "
                                       "(SELECT coalesce(max(id), 0) FROM phones)").fetchone()
        holders = ("temp.judge_numbers n CROSS JOIN phones p ON p.e164 = n.e164" if numbers * 10 < phones
                   else "phones p CROSS JOIN temp.judge_numbers n ON n.e164 = p.e164")
        conn.execute(f"INSERT OR IGNORE INTO temp.judge_clients(id) SELECT r.client_id FROM {holders} "
                     "CROSS JOIN records r ON r.id = p.record_id WHERE r.client_id IS NOT NULL")
        return conn.execute("SELECT count(*) FROM temp.judge_clients").fetchone()[0]

    def calls_by_phone(self, scoped: bool = False) -> Iterator[tuple[str, str, str]]:
        """(e164, at, outcome) of every usable call (to a number of the scope), grouped by phone and in time order."""
        # All of them: reading the table through the index looks up each call's row apart, three times slower
        # than a scan and a sort.
        calls = "temp.judge_numbers n CROSS JOIN calls c ON c.e164 = n.e164" if scoped else "calls c NOT INDEXED"
        return self._conn.execute(
            f"SELECT c.e164, c.at, c.outcome FROM {calls} WHERE c.status = 'ok' ORDER BY c.e164, c.at"
        )

    def save_phone_health(self, health: Iterable[tuple], scoped: bool = False) -> None:
        """(e164, status, reason, decided_on, last_answered) of every called number (of the scope); writes
        only what changed."""
        conn = self._conn
        health_rows = ("temp.judge_numbers n CROSS JOIN phone_health h ON h.e164 = n.e164" if scoped
                       else "phone_health h")
        current = set(conn.execute(
            f"SELECT h.e164, h.status, h.reason, h.decided_on, h.last_answered FROM {health_rows}"))
        new = set(health)
        kept = {row[0] for row in new}
        # In number order, as the sets come in none: a large base's numbers are then written in one pass.
        conn.executemany("DELETE FROM phone_health WHERE e164 = ?", sorted((row[0],) for row in current - new
                                                                            if row[0] not in kept))
        conn.executemany("INSERT OR REPLACE INTO phone_health(e164, status, reason, decided_on, last_answered) "
                         "VALUES (?,?,?,?,?)", sorted(new - current))

    def phones_to_judge(self, scoped: bool = False) -> Iterator[tuple]:
        """Each usable phone of each client (of the scope), with what the judgement needs, in no order: none is
        needed, and a large base's phones would be sorted through a temporary file."""
        phones = (f"{_within('judge_clients', 'records', 'r', 'client_id', True)} "
                  "CROSS JOIN phones p ON p.record_id = r.id"
                  if scoped else "phones p JOIN records r ON r.id = p.record_id")
        return self._conn.execute(
            "SELECT p.id, r.client_id, p.e164, p.type, p.country, p.region, c.city, c.domestic, "
            "h.status, h.reason, h.decided_on, (SELECT clients FROM hubs WHERE e164 = p.e164), "
            f"p.judged, p.judged_reason, p.judged_on FROM {phones} "
            "JOIN clients c ON c.id = r.client_id LEFT JOIN phone_health h ON h.e164 = p.e164 "
            "WHERE r.status = 'ok' AND p.status = 'ok'"
        )

    def save_phone_judgements(self, judged: Iterable[tuple], scoped: bool = False) -> None:
        """(status, reason, decided_on, phone id) of every judged phone (of the scope's clients); the others
        lose an earlier judgement, as do phones no client may call any more."""
        conn = self._conn
        outside = ("AND (r.client_id IN (SELECT id FROM temp.judge_clients) OR r.client_id IS NULL "
                   "OR r.status != 'ok' OR p.status != 'ok')") if scoped else ""
        current = set(conn.execute(
            "SELECT p.judged, p.judged_reason, p.judged_on, p.id FROM phones p JOIN records r ON r.id = p.record_id "
            f"WHERE p.judged IS NOT NULL {outside}"))
        new = set(judged)
        kept = {row[3] for row in new}
        # In phone order, as the sets come in none: a large base's phones are then written in one pass.
        conn.executemany("UPDATE phones SET judged = NULL, judged_reason = NULL, judged_on = NULL WHERE id = ?",
                         sorted((row[3],) for row in current - new if row[3] not in kept))
        conn.executemany("UPDATE phones SET judged = ?, judged_reason = ?, judged_on = ? WHERE id = ?",
                         sorted(new - current, key=itemgetter(3)))

    def judgement_totals(self) -> dict[str, int]:
        """How many callable phones stand judged dead and mismatched: after save_phone_judgements, only callable
        phones hold a judgement."""
        return dict(self._conn.execute("SELECT judged, count(*) FROM phones WHERE judged IS NOT NULL GROUP BY judged"))

    def closed_clients(self, scoped: bool = False) -> set[int]:
        return {row[0] for row in self._conn.execute(
            f"SELECT c.id FROM {_within('judge_clients', 'clients', 'c', 'id', scoped)} WHERE c.closed")}

    def client_ids(self, scoped: bool = False) -> list[int]:
        return [row[0] for row in self._conn.execute(
            f"SELECT c.id FROM {_within('judge_clients', 'clients', 'c', 'id', scoped)} ORDER BY c.id")]

    def quarantine_entries(self, scoped: bool = False) -> dict[int, QuarantineEntry]:
        """The quarantine's entries (of the clients judged, when `scoped`)."""
        return {row[0]: QuarantineEntry(*row) for row in self._conn.execute(
            "SELECT q.client_id, q.reason, q.since, q.recheck_on, q.released_on "
            f"FROM {_within('judge_clients', 'quarantine', 'q', 'client_id', scoped)}")}

    def quarantine_entry(self, client_id: int) -> QuarantineEntry | None:
        row = self._conn.execute("SELECT client_id, reason, since, recheck_on, released_on FROM quarantine "
                                 "WHERE client_id = ?", (client_id,)).fetchone()
        return QuarantineEntry(*row) if row else None

    def quarantined_ids(self) -> set[int]:
        """The ids of the clients in quarantine now (not released)."""
        return {row[0] for row in self._conn.execute("SELECT client_id FROM quarantine WHERE released_on IS NULL")}

    def quarantine_totals(self, as_of: str) -> tuple[int, int]:
        """(clients in quarantine now, those of them due for a re-check on `as_of`)."""
        return self._conn.execute("SELECT count(*), coalesce(sum(recheck_on <= ?), 0) FROM quarantine "
                                  "WHERE released_on IS NULL", (as_of,)).fetchone()

    def save_quarantine(self, entry: QuarantineEntry) -> None:
        self._conn.execute(
            "INSERT INTO quarantine(client_id, reason, since, recheck_on, released_on) VALUES (?,?,?,?,?) "
            "ON CONFLICT(client_id) DO UPDATE SET reason = excluded.reason, since = excluded.since, "
            "recheck_on = excluded.recheck_on, released_on = excluded.released_on",
            (entry.client_id, entry.reason, entry.since, entry.recheck_on, entry.released_on),
        )

    def drop_quarantine(self, client_ids: Iterable[int]) -> None:
        self._conn.executemany("DELETE FROM quarantine WHERE client_id = ?", ((i,) for i in client_ids))

    def drop_quarantine_of_gone_clients(self) -> None:
        self._conn.execute("DELETE FROM quarantine WHERE client_id NOT IN (SELECT id FROM clients)")

    def last_answered(self, scoped: bool = False) -> dict[int, str]:
        """The latest answered call of each client (of the scope), through any of its phones."""
        if scoped:
            return dict(self._conn.execute(
                f"SELECT r.client_id, max(c.at) FROM {_within('judge_clients', 'records', 'r', 'client_id', True)} "
                "CROSS JOIN phones p ON p.record_id = r.id CROSS JOIN calls c ON c.e164 = p.e164 "
                "WHERE c.status = 'ok' AND c.outcome = 'answered' GROUP BY r.client_id"))
        # Narrowed step by step, each step's rows sorted for the next one's lookups: joining each call to its
        # records directly reads a large base's records in random order, which took half an hour at 10M.
        return dict(self._conn.execute(
            "WITH answered AS MATERIALIZED (SELECT e164, max(at) AS at FROM calls "
            "WHERE status = 'ok' AND outcome = 'answered' GROUP BY +e164), "
            "by_record AS MATERIALIZED (SELECT p.record_id, max(a.at) AS at FROM answered a "
            "JOIN phones p ON p.e164 = a.e164 GROUP BY p.record_id) "
            "SELECT r.client_id, max(b.at) FROM by_record b JOIN records r ON r.id = b.record_id "
            "WHERE r.client_id IS NOT NULL GROUP BY r.client_id"))

    def quarantined_clients(self) -> list[dict]:
        return list(self._dicts(
            "SELECT q.client_id, c.name, c.city, q.reason, q.since, q.recheck_on FROM quarantine q "
            "LEFT JOIN clients c ON c.id = q.client_id WHERE q.released_on IS NULL ORDER BY q.recheck_on, q.client_id"
        ))

    def last_contacts(self, scoped: bool = False) -> Iterator[tuple[int, str | None, str | None]]:
        """(client id, its last contact, the latest its records give) of every client (of the scope)."""
        if scoped:
            return self._conn.execute(
                "SELECT c.id, c.last_contact, (SELECT max(r.last_contact) FROM records r WHERE r.client_id = c.id "
                "AND r.status = 'ok' AND r.last_contact != '') "
                f"FROM {_within('judge_clients', 'clients', 'c', 'id', True)}")
        return self._conn.execute(
            "WITH latest AS MATERIALIZED (SELECT r.client_id, max(r.last_contact) AS at FROM records r "
            f"WHERE r.status = 'ok' AND r.last_contact != '' AND {_NOT_BY_CLIENT} IS NOT NULL "
            f"GROUP BY {_NOT_BY_CLIENT}) "
            "SELECT c.id, c.last_contact, l.at FROM clients c LEFT JOIN latest l ON l.client_id = c.id")

    def set_last_contacts(self, changes: Iterable[tuple[str | None, int]]) -> None:
        """(last contact, client id) pairs."""
        self._conn.executemany("UPDATE clients SET last_contact = ? WHERE id = ?", changes)

    def export_quarantine(self, recheck_days: int) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT q.client_id, NULL AS e164, q.reason, q.since, q.recheck_on FROM quarantine q "
            "WHERE q.released_on IS NULL "
            "UNION ALL "
            "SELECT DISTINCT r.client_id, p.e164, p.judged || ': ' || p.judged_reason, p.judged_on, "
            "coalesce(date(p.judged_on, '+' || ? || ' days'), '9999-12-31') FROM phones p "  # date() is NULL past 9999-12-31
            "JOIN records r ON r.id = p.record_id WHERE p.judged IN ('dead', 'mismatch') "
            "ORDER BY 1, 2",
            (recheck_days,),
        )

    # --- working rules ---------------------------------------------------------------------

    def rank_inputs(self, client_ids: Iterable[int] | None = None) -> Iterator[tuple]:
        """(id, channel, profit, potential, last purchase, revenue), a RankInput, of every client (of those given),
        by id."""
        if client_ids is not None:
            self._fill_batch(client_ids)
        return self._conn.execute(
            "SELECT c.id, c.channel, c.profit, c.potential, c.last_purchase, c.revenue "
            f"FROM {_within('batch', 'clients', 'c', 'id', client_ids is not None)} ORDER BY c.id")

    def kept_ranking(self) -> dict[str, bytes]:
        """The last clean's ranking (rank.KeptRanking), in parts; empty when none is kept."""
        return dict(self._conn.execute("SELECT part, data FROM rank_rows"))

    def kept_ranking_held(self) -> bool:
        return self._conn.execute("SELECT EXISTS (SELECT 1 FROM rank_rows)").fetchone()[0]

    def reranked_clients(self) -> set[int]:
        """The clients whose golden record was written, or who were removed, since the kept ranking."""
        return {row[0] for row in self._conn.execute("SELECT client_id FROM reranked_clients")}

    def _drop_kept_ranking(self) -> None:
        self._conn.execute("DELETE FROM rank_rows")
        self._conn.execute("DELETE FROM reranked_clients")

    def rules_state(self) -> tuple[str, str, str] | None:
        """(settings, as_of, spellings) the last clean's working rules were worked out with; None when every
        client's standing must be worked out again."""
        return self._conn.execute("SELECT settings, as_of, spellings FROM rules_state").fetchone()

    def save_rules_state(self, settings: str, as_of: str, spellings: str, ranking: dict[str, bytes]) -> None:
        """Record worked-out standings and the `ranking` they were worked out with (rank.KeptRanking, in parts):
        nothing is left to work out until a client or a command changes it."""
        self._conn.execute("INSERT INTO rules_state(id, settings, as_of, spellings) VALUES (1, ?, ?, ?) "
                           "ON CONFLICT(id) DO UPDATE SET settings = excluded.settings, as_of = excluded.as_of, "
                           "spellings = excluded.spellings", (settings, as_of, spellings))
        self._conn.execute("DELETE FROM unruled_clients")
        self._drop_kept_ranking()
        self._conn.executemany("INSERT INTO rank_rows(part, data) VALUES (?, ?)", ranking.items())

    def set_rules_scope(self, as_of: str, reclassed: Iterable[int]) -> None:
        """Scope the `scoped=True` rules queries below to the clients whose standing may have changed since the
        last clean: those judged again (clustered again, or holding a number whose calls changed), those a
        command changed (an owner, a snooze, the quarantine), the snoozed (a snooze ends by the day), those whose
        owner's term has run out by `as_of`, those never worked out, and the `reclassed` (segment, class or
        dependency changed)."""
        self._fill_ids("rules_clients", reclassed)
        conn = self._conn
        conn.execute("INSERT OR IGNORE INTO temp.rules_clients(id) SELECT id FROM temp.judge_clients")
        conn.execute("INSERT OR IGNORE INTO temp.rules_clients(id) SELECT client_id FROM unruled_clients")
        conn.execute("INSERT OR IGNORE INTO temp.rules_clients(id) SELECT id FROM clients "
                     "WHERE owner_until <= ? OR state IS NULL OR state = 'snoozed'", (as_of,))

    def standings(self, scoped: bool = False) -> Iterator[tuple]:
        """(id, last contact, last result or else last purchase, then the standing the last clean left: owner,
        owner_since, owner_until, segment, abcde, dependency, next_due, state) of every client (of the scope),
        by id."""
        return self._conn.execute(
            "SELECT c.id, c.last_contact, coalesce(c.last_result, c.last_purchase), c.owner, c.owner_since, "
            "c.owner_until, c.segment, c.abcde, c.dependency, c.next_due, c.state "
            f"FROM {_within('rules_clients', 'clients', 'c', 'id', scoped)} ORDER BY c.id")

    def owner_claims(self, scoped: bool = False) -> Iterator[tuple]:
        """(client_id, manager, assigned_on or the day its company was first read with that owner, record ref) of
        every named owner (of a client of the scope), by record: each client's claims in record order, without
        sorting half a million."""
        return self._conn.execute(
            "SELECT r.client_id, r.owner, coalesce(r.assigned_on, r.owner_read_on), r.ref "
            f"FROM {_within('rules_clients', 'records', 'r', 'client_id', scoped)} "
            f"WHERE r.status = 'ok' AND r.owner IS NOT NULL AND {_NOT_BY_CLIENT} IS NOT NULL ORDER BY r.id")

    def owner_spellings(self) -> Iterator[tuple[str, int]]:
        """(manager as written, how many records name them) of the owners owner_claims gives: the usable
        records', each in a client once clustered."""
        return self._conn.execute(
            "SELECT owner, count(*) FROM records WHERE status = 'ok' AND owner IS NOT NULL GROUP BY owner")

    def last_ledger_events(self, scoped: bool = False) -> dict[int, LedgerEvent]:
        """Each client's (of the scope) last ledger event."""
        return {row[0]: LedgerEvent(*row) for row in self._conn.execute(
            "SELECT client_id, kind, manager, on_date, term_days, reason FROM ledger WHERE id IN "
            f"(SELECT max(l.id) FROM {_within('rules_clients', 'ledger', 'l', 'client_id', scoped)} "
            "GROUP BY l.client_id)")}

    def event_spellings(self) -> Iterator[tuple[str, int]]:
        """(manager, how many clients' last ledger event names them)."""
        return self._conn.execute(
            "SELECT manager, count(*) FROM ledger WHERE id IN (SELECT max(id) FROM ledger GROUP BY client_id) "
            "AND manager IS NOT NULL GROUP BY manager")

    def state_totals(self) -> dict[str, int]:
        return dict(self._conn.execute("SELECT state, count(*) FROM clients GROUP BY state").fetchall())

    def add_ledger(self, *events: LedgerEvent) -> None:
        self._conn.executemany(
            "INSERT INTO ledger(client_id, kind, manager, on_date, term_days, reason) VALUES (?,?,?,?,?,?)",
            ((e.client_id, e.kind, e.manager, e.on, e.term_days, e.reason) for e in events),
        )

    def conflicts(self) -> dict[int, tuple[str, str | None, str]]:
        return {row[0]: row[1:] for row in
                self._conn.execute("SELECT client_id, managers, resolved_owner, rule FROM conflicts")}

    def conflicts_claimed_by(self, managers: Iterable[str]) -> list[int]:
        """The clients of the last clean's conflicts that one of `managers` claims, however their names are written."""
        keys = sorted({manager_key(m) for m in managers} - {None})
        return [row[0] for row in self._conn.execute(
            f"SELECT DISTINCT client_id FROM conflict_claims WHERE manager_key IN ({', '.join('?' * len(keys))}) "
            "ORDER BY client_id", keys)]

    def conflicts_now(self, client_ids: Iterable[int] | None = None) -> list[tuple]:
        """(client, claimants, owner by the last clean, how it was settled, owner now, until, the last ledger
        event's kind and manager, name, person) of each conflict of the last clean (of these clients)."""
        conflicts = "conflicts f"
        if client_ids is not None:
            self._fill_ids("conflicts_read", client_ids)
            conflicts = "temp.conflicts_read x CROSS JOIN conflicts f ON f.client_id = x.id"
        return self._conn.execute(
            "SELECT f.client_id, f.managers, f.resolved_owner, f.rule, c.owner, c.owner_until, l.kind, l.manager, "
            f"c.name, c.person FROM {conflicts} JOIN clients c ON c.id = f.client_id "
            "LEFT JOIN ledger l ON l.id = (SELECT max(id) FROM ledger WHERE client_id = f.client_id) "
            "ORDER BY f.client_id").fetchall()

    def save_conflicts(self, rows: Iterable[tuple], scoped: bool = False) -> int:
        """The conflicts of every client (of the scope, those of clients gone dropped too); returns how many
        conflicts there are now."""
        rows = list(rows)
        self._conn.execute("DELETE FROM conflicts WHERE client_id IN temp.rules_clients "
                           "OR client_id NOT IN (SELECT id FROM clients)" if scoped else "DELETE FROM conflicts")
        self._conn.execute("DELETE FROM conflict_claims WHERE client_id NOT IN (SELECT client_id FROM conflicts)"
                           if scoped else "DELETE FROM conflict_claims")
        self._conn.executemany(
            "INSERT INTO conflicts(client_id, managers, resolved_owner, rule) VALUES (?,?,?,?)", rows)
        self._conn.executemany(
            "INSERT OR IGNORE INTO conflict_claims(manager_key, client_id) VALUES (?,?)",
            ((manager_key(name), client_id) for client_id, claimants, *_ in rows for name in claimants.split(";")))
        return self._conn.execute("SELECT count(*) FROM conflicts").fetchone()[0]

    def snoozes(self) -> dict[int, tuple[str, str]]:
        return {row[0]: row[1:] for row in self._conn.execute("SELECT client_id, until, reason FROM snoozes")}

    def snoozed_until(self, client_id: int) -> str | None:
        row = self._conn.execute("SELECT until FROM snoozes WHERE client_id = ?", (client_id,)).fetchone()
        return row[0] if row else None

    def save_snooze(self, client_id: int, until: str, reason: str) -> None:
        self._conn.execute(
            "INSERT INTO snoozes(client_id, until, reason) VALUES (?,?,?) "
            "ON CONFLICT(client_id) DO UPDATE SET until = excluded.until, reason = excluded.reason",
            (client_id, until, reason),
        )

    _STANDING = "owner, owner_since, owner_until, segment, abcde, dependency, next_due, state, last_contact"

    def hold_standing(self) -> None:
        """Set every client's standing aside (owner, state, class, dates), for restore_standing."""
        self._conn.execute("DROP TABLE IF EXISTS temp.held_standing")
        self._conn.execute(f"CREATE TEMP TABLE held_standing AS SELECT id, {self._STANDING} FROM clients")

    def restore_standing(self) -> None:
        """Give each client that kept its id the standing set aside: a clustering builds the clients it
        touches without one, and only the rules (clean) work it out. Only the rows that differ are written."""
        columns = self._STANDING.split(", ")
        held, current = (", ".join(f"{table}.{column}" for column in columns) for table in ("h", "clients"))
        self._conn.execute(
            f"UPDATE clients SET ({self._STANDING}) = ({held}) FROM temp.held_standing h "
            f"WHERE clients.id = h.id AND ({current}) IS NOT ({held})")
        self._conn.execute("DROP TABLE temp.held_standing")

    def save_standing(self, rows: Sequence[tuple]) -> None:
        """(owner, owner_since, owner_until, segment, abcde, dependency, next_due, state, client id) of the clients
        whose standing changed."""
        most = len(rows) * _MOST_ROWS > self._conn.execute("SELECT count(*) FROM clients").fetchone()[0]
        with self._indexes_rebuilt("clients", ("owner", "owner_until", "abcde", "next_due", "state"), most):
            self._conn.executemany(
                "UPDATE clients SET owner = ?, owner_since = ?, owner_until = ?, segment = ?, abcde = ?, "
                "dependency = ?, next_due = ?, state = ? WHERE id = ?",
                rows,
            )

    @contextmanager
    def _indexes_rebuilt(self, table: str, columns: Sequence[str], rebuilt: bool) -> Iterator[None]:
        """When `rebuilt`, drop the table's indexes on any of `columns` and create them again once the block has
        written them, within the block's transaction. Writing most of a table's rows updates such an index a
        row at a time, at random: at 1M clients their standing took 15.8 s so, and 7.7 s with the indexes built
        again, their 1M records' clients 6.9 s and 4.3 s."""
        conn = self._conn
        marks = ",".join("?" for _ in columns)
        indexes = conn.execute(
            "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type = 'index' AND m.tbl_name = ? AND m.sql IS NOT NULL "
            f"AND EXISTS (SELECT 1 FROM pragma_index_info(m.name) i WHERE i.name IN ({marks}))",
            (table, *columns)).fetchall() if rebuilt else []
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        yield  # a failure rolls the transaction back, the indexes with it
        for _, sql in indexes:
            conn.execute(sql)

    def set_owner(self, client_id: int, owner: str | None, since: str | None, until: str | None,
                  state: str) -> None:
        self._conn.execute(
            "UPDATE clients SET owner = ?, owner_since = ?, owner_until = ?, "
            "state = CASE WHEN state IN ('pool', 'owned') THEN ? ELSE state END WHERE id = ?",
            (owner, since, until, state, client_id),
        )

    def set_state(self, client_id: int, state: str) -> None:
        self._conn.execute("UPDATE clients SET state = ? WHERE id = ?", (state, client_id))

    def managers(self) -> list[str]:
        """Every manager who owns a client now: one index seek per manager, not a scan of the owned."""
        found: list[str] = []
        step = "SELECT min(owner) FROM clients WHERE owner > ?"
        current = self._conn.execute("SELECT min(owner) FROM clients WHERE owner IS NOT NULL").fetchone()[0]
        while current is not None:
            found.append(current)
            current = self._conn.execute(step, (current,)).fetchone()[0]
        return found

    def named_managers(self) -> set[str]:
        """Every manager a dump, a dialer log or a command has named, as written, whether or not they own a client
        now."""
        return {row[0] for row in self._conn.execute(
            "SELECT DISTINCT owner FROM records WHERE owner IS NOT NULL "
            "UNION SELECT DISTINCT manager FROM calls WHERE manager IS NOT NULL "
            "UNION SELECT DISTINCT manager FROM ledger WHERE manager IS NOT NULL")}

    def owners(self) -> dict[int, str]:
        return dict(self._conn.execute("SELECT id, owner FROM clients WHERE owner IS NOT NULL ORDER BY id"))

    _CANDIDATE = (
        "SELECT c.id, c.name, c.owner, c.state, c.abcde, c.segment, c.next_due, c.last_contact, "
        "coalesce(q.recheck_on <= :as_of, 0), "
        "(SELECT manager FROM ledger l WHERE l.client_id = c.id AND l.kind = 'handout' AND l.on_date = :as_of "
        " ORDER BY l.id DESC LIMIT 1), c.person "
        "FROM clients c LEFT JOIN quarantine q ON q.client_id = c.id AND q.released_on IS NULL "
    )

    _CLASSES = ("A", "B", "C", "D", "E", None)
    # Re-checks due and today's hand-outs are few, and found through their own indexes.
    _RECHECK_DUE = "SELECT client_id FROM quarantine WHERE released_on IS NULL AND recheck_on <= :as_of"
    _HANDED_OUT_TODAY = "SELECT client_id FROM ledger WHERE on_date = :as_of AND kind = 'handout'"

    def _by_class(self, where: str, params: dict, limit: int) -> list[tuple]:
        """Candidates in class order (A first, unranked last), each class the never-called then the longest
        overdue: one indexed query per class until `limit` are found, so no sort of every candidate."""
        found: list[tuple] = []
        for letter in self._CLASSES:
            if len(found) >= limit:
                break
            found += self._conn.execute(
                self._CANDIDATE + f"WHERE {where} AND c.abcde IS :letter "
                "AND (c.next_due IS NULL OR c.next_due <= :as_of) ORDER BY c.next_due, c.id LIMIT :limit",
                {**params, "letter": letter, "limit": limit - len(found)}).fetchall()
        return found

    def owned_candidates(self, manager: str, as_of: str, limit: int) -> list[tuple]:
        """A manager's clients that may be called today (due, re-check due, or handed out today), best first."""
        params = {"as_of": as_of, "manager": manager}
        due = self._by_class("c.owner = :manager", params, limit)
        due_today = f"c.id IN ({self._RECHECK_DUE} UNION {self._HANDED_OUT_TODAY})"
        extra = self._conn.execute(self._CANDIDATE + f"WHERE c.owner = :manager AND {due_today}", params).fetchall()
        rows = {row[0]: row for row in (*due, *extra)}
        return sorted(rows.values(), key=_candidate_order)[:limit]

    def pool_candidates(self, as_of: str, limit: int) -> list[tuple]:
        """Unowned clients whose re-check is due, then those that may be called today, best first."""
        params = {"as_of": as_of}
        found = self._conn.execute(
            self._CANDIDATE + "WHERE c.owner IS NULL AND c.state = 'quarantined' "
            f"AND c.id IN ({self._RECHECK_DUE}) ORDER BY c.id LIMIT :limit", {**params, "limit": limit}).fetchall()
        return found + self._by_class("c.state = 'pool' AND c.owner IS NULL", params, limit - len(found))

    def phone_options(self, client_ids: Sequence[int]) -> Iterator[tuple]:
        """(client, e164, type, working, contact, position, birthday) of each usable number of these clients: the
        person as the client's contacts merged them (a row without the position still holds the director's mobile)."""
        for start in range(0, len(client_ids), 500):
            chunk = client_ids[start:start + 500]
            yield from self._conn.execute(
                "SELECT r.client_id, p.e164, p.type, p.judged IS NULL, coalesce(k.name, r.contact), "
                "coalesce(k.position, r.position), coalesce(k.birthday, r.birthday) "
                "FROM records r JOIN phones p ON p.record_id = r.id LEFT JOIN contacts k ON k.id = r.contact_id "
                f"WHERE r.client_id IN ({','.join('?' for _ in chunk)}) AND r.status = 'ok' AND p.status = 'ok' "
                "ORDER BY r.client_id, r.id, p.pos",
                chunk,
            )

    def export_conflicts(self) -> Iterator[dict]:
        yield from self._dicts(
            "SELECT client_id, managers, resolved_owner, rule FROM conflicts ORDER BY client_id")

    # --- numbering plan --------------------------------------------------------------------

    def replace_plan(self, ranges: Sequence) -> None:
        """Replace the ranges of every code the new files cover; other codes keep theirs."""
        self._conn.execute("DELETE FROM judge_state")  # every number is judged again against the new plan
        codes = sorted({r.code for r in ranges})
        self._conn.executemany("DELETE FROM numplan WHERE code = ?", ((c,) for c in codes))
        self._conn.executemany(
            "INSERT OR REPLACE INTO numplan(code, start, end, operator, region, territory) VALUES (?,?,?,?,?,?)",
            ((r.code, r.start, r.end, r.operator, r.region, r.territory) for r in ranges),
        )

    def plan_ranges(self) -> Iterator[tuple]:
        return self._conn.execute("SELECT code, start, end, operator, region, territory FROM numplan")

    # --- report --------------------------------------------------------------------------

    def counts(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of (group..., count) for one of the report's fixed queries."""
        return self._conn.execute(sql, params).fetchall()

    def report_figures(self, as_of: str) -> dict[str, list[tuple]]:
        q = self.counts
        return {
            "records": q("SELECT s.name, r.status, coalesce(r.reason, ''), count(*) FROM records r "
                         "JOIN sources s ON s.id = r.source_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
            "calls": q("SELECT status, coalesce(reason, ''), count(*) FROM calls GROUP BY 1, 2 ORDER BY 1, 2"),
            "duplicates": q("SELECT decision, count(*) FROM matches GROUP BY 1 ORDER BY 1"),
            "hubs": q("SELECT e164, clients FROM hubs ORDER BY clients DESC, e164 LIMIT 10"),
            # Numbers, not the rows that write them: a number in three records is one number (one unread each).
            "phones": q("SELECT coalesce(judged, status), count(DISTINCT coalesce(e164, 'row ' || id)) FROM phones "
                        "GROUP BY 1 ORDER BY 1"),
            "quarantine": q("SELECT reason, count(*), sum(recheck_on <= ?) FROM quarantine "
                            "WHERE released_on IS NULL GROUP BY 1 ORDER BY 1", (as_of,)),
            "states": q("SELECT coalesce(state, 'unranked'), count(*) FROM clients GROUP BY 1 ORDER BY 1"),
            "segments": q("SELECT coalesce(segment, '-'), count(*) FROM clients GROUP BY 1 ORDER BY 1"),
            "managers": q("SELECT owner, count(*), sum(abcde = 'A'), sum(state = 'quarantined'), "
                          "sum(next_due IS NULL OR next_due <= ?) FROM clients WHERE owner IS NOT NULL "
                          "GROUP BY 1 ORDER BY 2 DESC, 1", (as_of,)),
            "abcde": q("SELECT coalesce(channel, ''), abcde, count(*) FROM clients WHERE abcde IS NOT NULL "
                       "GROUP BY 1, 2 ORDER BY 1, 2"),
            "dependency": q("SELECT id, name, dependency, profit FROM clients "
                            "WHERE dependency IS NOT NULL ORDER BY profit DESC"),
            "conflicts": q("SELECT count(*) FROM conflicts"),
            # SQLite's date() is NULL past 9999-12-31: a week running past it ends on it, as values.shift has it.
            "expiring": q("SELECT count(*) FROM clients WHERE owner_until IS NOT NULL "
                          "AND owner_until <= coalesce(date(?, '+7 days'), '9999-12-31')", (as_of,)),
            "expired": q("SELECT count(*) FROM ledger WHERE kind = 'expire' AND on_date > date(?, '-30 days')", (as_of,)),
            # The company's profit as dependency counts it (rank._dependencies): no lost client's, no sales.
            "profit": q("SELECT sum(profit) FROM clients WHERE profit > 0 AND segment IS NOT 'lost'"),
        }

    def save_run(self, as_of: str, counts: dict) -> None:
        self._conn.execute("INSERT INTO runs(at, as_of, counts) VALUES (?,?,?)",
                           (datetime.now().isoformat(timespec="seconds"), as_of, json.dumps(counts, sort_keys=True)))

    def last_runs(self, n: int = 2) -> list[tuple[str, str, dict]]:
        return [(at, as_of, json.loads(counts)) for at, as_of, counts in self._conn.execute(
            "SELECT at, as_of, counts FROM runs ORDER BY id DESC LIMIT ?", (n,))]

    # --- audit ---------------------------------------------------------------------------

    def audit(self, command: str, action: str, detail: dict, client_id: int | None = None) -> None:
        self.audit_many(command, [(action, detail, client_id)])

    def audit_many(self, command: str, entries: Iterable[tuple[str, dict, int | None]]) -> int:
        """(action, detail, client id) entries of one command, all stamped with this moment; returns their count."""
        at, user = datetime.now().isoformat(timespec="seconds"), _user()
        return self._conn.executemany(
            "INSERT INTO audit(at, command, action, client_id, detail, user) VALUES (?,?,?,?,?,?)",
            ((at, command, action, client_id, json.dumps(detail, ensure_ascii=False, sort_keys=True), user)
             for action, detail, client_id in entries),
        ).rowcount

    def audit_log(self, client_id: int | None, command: str | None, limit: int) -> list[dict]:
        where, params = [], []
        if client_id is not None:
            where.append("client_id = ?")
            params.append(client_id)
        if command is not None:
            where.append("command = ?")
            params.append(command)
        sql = ("SELECT id, at, user, command, action, client_id, detail, "
               "(SELECT person FROM clients WHERE id = audit.client_id) AS person FROM audit"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?")
        return list(self._dicts(sql, (*params, limit)))[::-1]

    def audit_commands(self) -> list[str]:
        """The commands the audit log holds entries of."""
        return [row[0] for row in self._conn.execute("SELECT DISTINCT command FROM audit ORDER BY command")]

    # --- backups -------------------------------------------------------------------------

    def backup_to(self, target: Path) -> Callable[[], None]:
        """Start a consistent copy, readable by the owner only; taken under the writer lock. Returns what waits
        for the copy to end, and raises if it failed: call it before the lock's transaction commits.

        When a checkpoint has moved every logged page into the main file, nothing writes that file
        until our own transaction's checkpoint, at its commit: the file is copied by another process
        meanwhile, beside the transaction's work, in half the time of SQLite's backup API. A reader still on an older
        state keeps pages in the log; then the backup API copies, before this returns. The copy takes the
        target's name only when whole: a copy cut short is never taken for a snapshot.
        """
        partial = target.with_name(target.name + ".partial")
        busy, logged, moved = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        try:
            _create_private(partial)
            # busy: another connection's checkpoint may still be writing the file; no interpreter to copy it with
            if busy or logged != moved or not sys.executable:
                copy = sqlite3.connect(partial)
                try:
                    self._conn.backup(copy)
                finally:
                    copy.close()
                os.replace(partial, target)
                return lambda: None
        except (OSError, sqlite3.OperationalError) as exc:
            error = self._snapshot_failed(partial, exc)
            if error is exc:
                raise
            raise error from exc
        return _FileCopy(self.path, partial, target, self._snapshot_failed).wait

    def _snapshot_failed(self, partial: Path, exc: BaseException) -> BaseException:
        """The error to raise for a failed snapshot, once its half is removed: half a snapshot restores nothing."""
        partial.unlink(missing_ok=True)
        if getattr(exc, "errno", None) == errno.ENOSPC or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return StoreError(f"{partial.parent}: no room for the snapshot of {_gigabytes(self.path.stat().st_size)} "
                              f"({_gigabytes(shutil.disk_usage(partial.parent).free)} free), so nothing was changed. "
                              "Free space, or keep fewer snapshots ([safety] backups).")
        if isinstance(exc, OSError):
            return StoreError(f"{partial.parent}: cannot write the snapshot ({exc.strerror or exc}), "
                              "so nothing was changed.")
        return exc

    def restore_from(self, snapshot: Path, first: Callable[[], PendingSnapshot | None] | None = None) -> None:
        """Replace the whole database with a snapshot, under the writer lock; `first` as for transaction,
        waited for before the database is replaced."""
        with self._only_writer():
            pending = first() if first is not None else None
            try:
                if pending is not None:
                    pending.wait()
                source = _open_snapshot(snapshot)
                try:
                    source.backup(self._conn)
                finally:
                    source.close()
            except BaseException:
                if pending is not None:
                    with suppress(Exception):
                        pending.discard()
                raise
            if pending is not None:
                pending.keep()
