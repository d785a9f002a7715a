"""The imperative shell: one function per command. Each opens the store, runs one transaction and
returns a plain summary for the CLI to render.

The commands that read dumps or rebuild the clients (ingest, calls, numplan import, clean, unmerge)
are in pipeline.py: today and the other morning commands start without loading what only they need."""

from __future__ import annotations

import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date
from difflib import get_close_matches
from functools import partial
from pathlib import Path

from clientbase.backups import Snapshot, list_snapshots, snapshot_dir, take_snapshot
from clientbase.config import Rules, rules_to_toml
from clientbase.errors import UserError
from clientbase.export import (
    MASKED,
    MASKED_IN_CONTACTS,
    Staged,
    format_for,
    mask_audit_detail,
    mask_row,
    mask_value,
    write_table,
    write_xlsx,
)
from clientbase.models import QuarantineEntry
from clientbase.numplan import NumberingPlan, Range, zone_of_number
from clientbase.ownership import (
    LedgerEvent, Notice, client_state, conflict_notices, manager_key, manager_name, manager_order,
    similar_managers,
)
from clientbase.report import Report, build_report
from clientbase.store import DamagedBase, Store, StoreError, own_file, pending_upgrade, replace_damaged
from clientbase.values import shift
from clientbase.worklist import Candidate, PhoneOption, WorkItem, build_worklists

# How long the commands managers run in the morning queue behind a nightly clean before giving up.
READER_WAIT = 600.0


@contextmanager
def opened(db: Path) -> Iterator[Store]:
    store = Store.open(db)
    # A user who may only read the base reads the file as it stands, without SQLite's locks: a command that
    # commits meanwhile changes pages under the read, which then gives wrong rows or looks damaged. Nothing
    # read so is shown: the command is told to run again.
    before = _file_state(db) if store.read_only else None
    changed = StoreError(f"{db}: the base changed while it was read (a command wrote to it): run the command again")
    try:
        yield store
        if before is not None and _file_state(db) != before:
            raise changed
    except sqlite3.DatabaseError:
        if before is not None and _file_state(db) != before:
            raise changed from None
        raise  # the file is as it was: what SQLite says of it stands
    finally:
        store.close()


def _file_state(db: Path) -> tuple[int, int, int]:
    found = db.resolve().stat()
    return found.st_ino, found.st_size, found.st_mtime_ns


def upgrade_pending(db: Path) -> tuple[int, int] | None:
    """(the base's schema, this version's) when the next command will upgrade the base first."""
    return pending_upgrade(db)


@dataclass
class InitResult:
    db: Path
    rules_path: Path
    rules_written: bool


def init(db: Path, rules_path: Path, rules: Rules) -> InitResult:
    with opened(db):
        pass
    written = not rules_path.exists()
    if written:
        rules_path.write_text(rules_to_toml(rules), encoding="utf-8")
    return InitResult(db, rules_path, written)


def numbering_plan(store: Store) -> NumberingPlan:
    return NumberingPlan(Range(*row) for row in store.plan_ranges())


def _with_plan(row: dict, plan: NumberingPlan) -> dict:
    """The registry's region and operator for a number it holds, mobiles included."""
    found = plan.lookup(row["e164"]) if row.get("e164") else None
    return {**row, "region": found.region, "operator": found.operator} if found else row


def quarantine_list(db: Path, as_of: date) -> list[dict]:
    """Quarantined clients, with whether their re-check is due."""
    with opened(db) as store:
        rows = store.quarantined_clients()
    for row in rows:
        row["recheck_due"] = row["recheck_on"] <= as_of.isoformat()
    return rows


def quarantine_release(db: Path, client_id: int, as_of: date) -> QuarantineEntry:
    """Take a client out of the quarantine by hand; clean will not put it back without new evidence."""
    with opened(db) as store:
        with store.transaction():
            entry = store.quarantine_entry(client_id)
            if entry is None or entry.released_on is not None:
                raise UserError(f"client {client_id} is not in quarantine")
            released = replace(entry, released_on=as_of.isoformat())
            store.save_quarantine(released)
            _settle_state(store, client_id, as_of)
            store.audit("quarantine release", "release", {"reason": entry.reason, "by": "hand"}, client_id=client_id)
    return released


@dataclass
class OwnerChange:
    client_id: int
    previous: str | None
    owner: str | None
    until: str | None


def _change_owner(store: Store, command: str, client_id: int, kind: str, manager: str | None, as_of: date,
                  term_days: int | None, reason: str) -> OwnerChange:
    client = store.client(client_id)
    if client is None:
        raise UserError(f"client {client_id} not found (run `clientbase clean` after ingest)")
    until = shift(as_of, term_days).isoformat() if manager and term_days else None
    store.add_ledger(LedgerEvent(client_id, kind, manager, as_of.isoformat(), term_days, reason))
    store.set_owner(client_id, manager, as_of.isoformat() if manager else None, until,
                    "owned" if manager else "pool")
    store.audit(command, kind, {"from": client["owner"], "to": manager, "until": until, "reason": reason},
                client_id=client_id)
    return OwnerChange(client_id, client["owner"], manager, until)


def assign(db: Path, rules: Rules, client_id: int, manager: str, as_of: date, days: int | None = None,
           new_manager: bool = False) -> OwnerChange:
    """Give a client to a manager for a term (default from the rules). A name close to a known manager's that
    no dump or command has named is refused as a likely typo unless `new_manager`."""
    longest = rules.ownership.max_term_days
    if days and days > longest:
        raise UserError(f"--days {days}: the rules allow a term of {longest} days at most ([ownership] "
                        "max_term_days): managers must not hoard clients")
    with opened(db) as store, store.transaction():
        name = _manager_for(store, manager, new_manager=new_manager)
        return _change_owner(store, "assign", client_id, "assign", name, as_of, days or rules.ownership.term_days,
                             "assigned by hand")


def release(db: Path, client_id: int, as_of: date) -> OwnerChange:
    """Return a client to the pool."""
    with opened(db) as store, store.transaction():
        return _change_owner(store, "release", client_id, "release", None, as_of, None, "released by hand")


def reassign(db: Path, rules: Rules, from_manager: str, to_manager: str, as_of: date,
             new_manager: bool = False) -> list[OwnerChange]:
    """Move every client of one manager to another at once (a manager leaves or is away). A `to_manager` close
    to a known manager's that no dump or command has named is refused as a likely typo unless `new_manager`."""
    with opened(db) as store, store.transaction():
        source = _known_manager(store.managers(), from_manager)
        clients = [cid for cid, owner in store.owners().items() if manager_key(owner) == manager_key(source)]
        if not clients:
            named = store.named_managers()
            if any(manager_key(other) == manager_key(source) for other in named):
                raise UserError(f"--from: {source!r} owns no clients now")
            close = similar_managers(source, store.managers())
            raise UserError(f"--from: {source!r} owns no clients: no dump or command names this manager"
                            + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""))
        target = _manager_for(store, to_manager, new_manager=new_manager, where="--to: ")
        if manager_key(source) == manager_key(target):
            raise UserError("--from and --to name the same manager")
        return [_change_owner(store, "reassign", cid, "reassign", target, as_of, rules.ownership.term_days,
                              f"reassigned from {source}") for cid in clients]


def _settle_state(store: Store, client_id: int, as_of: date) -> None:
    """The client's state after a command, as the next clean would set it: lists and exports agree at once."""
    entry, until, client = store.quarantine_entry(client_id), store.snoozed_until(client_id), store.client(client_id)
    if client is not None:
        day = as_of.isoformat()
        holding = client["owner"] if not (client["owner_until"] and client["owner_until"] <= day) else None
        store.set_state(client_id, client_state(entry is not None and entry.released_on is None,
                                                until is not None and until > day, holding))


def snooze(db: Path, client_id: int, until: date, reason: str, as_of: date) -> None:
    """Put a client aside until a date, e.g. when its purchasing is done by a head office elsewhere."""
    # DOMAIN §4: a snoozed client is put aside with its reason; the one who takes it back up must read why.
    reason = reason.strip()
    if not reason:
        raise UserError("--reason needs a text: why the client is put aside")
    if until <= as_of:
        raise UserError(f"--until {until} is not after {as_of}")
    with opened(db) as store, store.transaction():
        if store.client(client_id) is None:
            raise UserError(f"client {client_id} not found (run `clientbase clean` after ingest)")
        store.save_snooze(client_id, until.isoformat(), reason)
        _settle_state(store, client_id, as_of)
        store.audit("snooze", "snooze", {"until": until.isoformat(), "reason": reason}, client_id=client_id)


def _known_manager(owners: Iterable[str], name: str) -> str:
    """The manager's name as the base writes it, whatever the case and spaces typed; a new manager is taken
    as given, spaces folded."""
    wanted = manager_name(name)
    if wanted is None:
        raise UserError("the manager's name is empty")
    return next((o for o in owners if manager_key(o) == manager_key(wanted)), wanted)


def _manager_for(store: Store, name: str, *, new_manager: bool = False, where: str = "",
                 confirm: str | None = "add --new-manager") -> str:
    """The manager `name` means, as the base writes them: an owner now, else as a dump, dialer log or command
    named them, else the name as typed (a new manager), after `_check_named`."""
    owners = store.managers()
    found = _known_manager(owners, name)
    if found in owners:
        return found
    named = store.named_managers()
    _check_named(named, found, where, confirm, new_manager)
    return _known_manager(sorted(named), found)  # sorted: one spelling of each, whichever the order of the set


# A word of letters only: a hyphenated name is two words, each in its own alphabet.
_WORD = re.compile(r"[^\W\d_]+")
_LATIN, _CYRILLIC = re.compile("[A-Za-z]"), re.compile("[\u0400-\u04ff]")


def _mixed_word(name: str) -> str | None:
    """The first word of `name` mixing Latin and Cyrillic letters (a letter typed on the other keyboard
    layout, or a look-alike such as Latin a for а): no real name is written so."""
    return next((word for word in _WORD.findall(name) if _LATIN.search(word) and _CYRILLIC.search(word)), None)


def _check_named(named: set[str], name: str, where: str = "", confirm: str | None = "add --new-manager",
                 new_manager: bool = False) -> None:
    """Refuse a manager no dump or command has named: one whose name is close to one they have (a likely typo)
    unless `new_manager`, one mixing alphabets in a word always, and any when `confirm` is None (nobody new can
    be meant, as by an export)."""
    if any(manager_key(other) == manager_key(name) for other in named):
        return
    mixed = _mixed_word(name)
    if new_manager and not mixed:
        return
    close = similar_managers(name, named)
    hint = f" (did you mean {' or '.join(repr(other) for other in close)}?)" if close else ""
    if mixed:
        raise UserError(f"{where}{name!r} mixes Latin and Cyrillic letters in {mixed!r}, a likely typo{hint}: "
                        "type it in one alphabet")
    if confirm is None:
        raise UserError(f"{where}no dump or command names a manager {name!r}{hint}")
    if close:
        raise UserError(f"{where}no dump or command names a manager {name!r}{hint}; if {name!r} is a new manager, "
                        f"{confirm}")


def _everyone(owners: list[str], team: Sequence[str], named: Callable[[], set[str]]) -> list[str]:
    """Every manager who owns a client now, and every one of the team, each once, as the base writes them.

    A team name nobody has named but close to one that is (a typo in the rules) is refused: it would take
    pool clients every morning.
    """
    managers = {manager_key(owner): owner for owner in owners}
    newcomers = {manager_key(name): name for name in (_known_manager(owners, member) for member in team)
                 if manager_key(name) not in managers}
    if newcomers:
        known = named()
        spellings = sorted(known)  # one spelling of each, whichever the order of the set
        for key, name in newcomers.items():
            _check_named(known, name, "the rules' [today] team: ", f"run `today --manager {name!r} --new-manager` once")
            managers[key] = _known_manager(spellings, name)
    if not managers:
        # Lists for managers who own nothing would hand the pool to whoever the dumps once named, a manager who
        # has left too: who works the pool is the team's to say.
        spellings = {manager_key(name): name for name in sorted(named(), reverse=True)}  # the first spelling wins
        if not spellings:
            raise UserError("no manager owns a client yet, and no dump, dialer log or command names one: name one "
                            "with --manager, or list the team in the rules ([today] team)")
        names = sorted(spellings.values(), key=manager_order)
        shown = ", ".join(map(repr, names[:3])) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise UserError(f"no manager owns a client now (their terms ran out or the clients were released; the base "
                        f"names {shown}): list the team in the rules ([today] team) or name one with --manager")
    return sorted(managers.values(), key=manager_order)


@dataclass
class TodayResult:
    as_of: date
    lists: dict[str, list[WorkItem]]
    handed_out: int
    notices: dict[str, list[Notice]]  # the claims each manager lost to another's (DOMAIN §5.2)
    columns: tuple[str, ...]  # what the lists carry: TODAY_COLUMNS, for one manager those the rules allow
    notices_file: Path | None = None  # the file they were written to: the .xlsx itself, or one beside a CSV or JSON


def today(db: Path, rules: Rules, as_of: date, manager: str | None = None, limit: int | None = None,
          output: Path | None = None, mask: bool = False, new_manager: bool = False) -> TodayResult:
    """Build the call lists and hand the pool clients on them to their managers (a claim with a term).

    A `manager` no dump or command has named, but close to one that has, is refused unless `new_manager`: a
    typo would take the pool.
    `limit` shortens each list below the day's quota; only the clients on the lists are handed out.
    The lists for `output` are written aside before the hand-outs are committed and take its place
    after: a list that cannot be written hands nobody out, and a commit that fails leaves the old list.
    """
    check_output(db, output)
    fmt = format_for(output, None)
    stage = Staged(output) if output is not None else None
    aside = notices_file(output) if fmt != "xlsx" else None
    check_output(db, aside)
    aside_stage = Staged(aside) if aside is not None else None
    try:
        result = _hand_out(db, rules, as_of, manager, limit, (stage, aside_stage), fmt, mask, new_manager)
    except BaseException:
        for staged in (stage, aside_stage):
            if staged is not None:
                staged.discard()
        raise
    if stage is not None:  # the hand-outs are committed: the lists take their place
        stage.put_in_place()
        if fmt == "xlsx" and result.notices:
            result.notices_file = output
    if aside_stage is not None and (result.notices or aside_stage.path.exists()):
        aside_stage.put_in_place()  # an empty table replaces yesterday's notices, but is not written otherwise
        result.notices_file = aside
    elif aside_stage is not None:
        aside_stage.discard()
    return result


def notices_file(output: Path | None) -> Path | None:
    """Where the notices go beside a CSV or JSON call list, which holds calls only: lists.csv -> lists.notices.csv.
    None beside a terminal or a pipe."""
    if output is None or (output.exists() and not output.is_file()):
        return None
    return output.with_name(f"{output.stem}.notices{output.suffix}")


def _hand_out(db: Path, rules: Rules, as_of: date, manager: str | None, limit: int | None,
              stages: tuple[Staged | None, Staged | None], fmt: str, mask: bool, new_manager: bool) -> TodayResult:
    quota = min(rules.today.quota, limit) if limit else rules.today.quota
    day = as_of.isoformat()
    with opened(db) as store:
        with store.transaction(wait=READER_WAIT):
            if manager:
                managers = [_manager_for(store, manager, new_manager=new_manager)]
            else:
                managers = _everyone(sorted(store.managers(), key=manager_order), rules.today.team,
                                     store.named_managers)
            # Twice the quota: room for the few that turn out to have no number to call.
            own = {m: store.owned_candidates(m, day, 2 * quota) for m in managers}
            pool = store.pool_candidates(day, quota * len(managers) * 3)
            rows = [row for m in managers for row in own[m]] + pool
            phones: dict[int, dict[str, PhoneOption]] = defaultdict(dict)
            for cid, e164, kind, working, contact, position, birthday in store.phone_options([r[0] for r in rows]):
                option = PhoneOption(e164, kind, bool(working), contact, position, birthday)
                known_option = phones[cid].get(e164)
                if known_option is None or (option.decision_maker and not known_option.decision_maker):
                    phones[cid][e164] = option

            def candidate(row: tuple) -> Candidate:
                return Candidate(*row[:8], bool(row[8]), row[9], bool(row[10]), tuple(phones[row[0]].values()))

            t = rules.today
            plan = numbering_plan(store)
            lists = build_worklists(
                managers, {m: [candidate(r) for r in own[m]] for m in managers}, [candidate(r) for r in pool],
                as_of, quota=quota, birthday_days=t.birthday_days, call_from=t.call_from, call_until=t.call_until,
                zone_of=partial(zone_of_number, plan),
            )
            until = shift(as_of, rules.ownership.term_days).isoformat()
            for client_id, to in lists.handouts:
                store.add_ledger(LedgerEvent(client_id, "handout", to, day, None, "handed out from the pool"))
                store.set_owner(client_id, to, day, until, "owned")
                store.audit("today", "handout", {"manager": to, "until": until}, client_id=client_id)
            store.audit("today", "list", {m: len(items) for m, items in lists.lists.items()})
            claimed = store.conflicts_claimed_by(managers) if manager else None
            notices = conflict_notices(store.conflicts_now(claimed), day, managers if manager else None)
            result = TodayResult(as_of, lists.lists, len(lists.handouts), notices, today_columns(rules, bool(manager)))
            stage, aside = stages
            if stage is not None:
                write_lists(result, stage, fmt, mask)
            if aside is not None:
                write_table(NOTICE_COLUMNS, notice_rows(result, mask), path=aside.path, fmt=fmt, stage=aside)
    return result


TODAY_COLUMNS = ("manager", "client_id", "name", "abcde", "phone", "reason", "last_contact", "next_due",
                 "overdue_days", "contact", "segment", "timezone", "call_window")
# What every call list carries (CLI.md), whatever the rules allow a manager: a list to call from.
_LIST_ESSENTIALS = ("manager", "client_id", "name", "abcde", "phone", "reason", "last_contact")


def today_columns(rules: Rules, one_manager: bool) -> tuple[str, ...]:
    """The lists' columns: one manager's carry only those `[access] manager_columns` allows beside the essentials."""
    if not one_manager:
        return TODAY_COLUMNS
    return tuple(c for c in TODAY_COLUMNS if c in _LIST_ESSENTIALS or c in rules.access.manager_columns)


def list_rows(result: TodayResult, mask: bool) -> dict[str, list[dict]]:
    """Each manager's list as rows of the result's columns, personal data hidden when `mask`."""
    def row(item: WorkItem) -> dict:
        fields = asdict(item)
        if mask:
            fields = mask_row(fields)
        if item.birthday_of and "contact" not in result.columns:  # the rules keep the people from this list
            fields["reason"] = item.reason.replace(f" ({item.birthday_of})", "")
        elif item.birthday_of and mask:  # a birthday's reason names the decision maker, who may be another contact
            fields["reason"] = item.reason.replace(item.birthday_of, mask_value("person", item.birthday_of))
        return {column: fields[column] for column in result.columns}

    return {m: [row(item) for item in items] for m, items in result.lists.items()}


NOTICE_COLUMNS = ("manager", "client_id", "name", "owner", "why")


def notice_rows(result: TodayResult, mask: bool) -> list[dict]:
    """The notices as rows of NOTICE_COLUMNS, by manager; the client's name hidden as in the lists when `mask`."""
    rows = []
    for manager in sorted(result.notices, key=manager_order):
        for notice in result.notices[manager]:
            # Not asdict, which copies deep: 42 ms of `today` for one manager's 2,203 notices at 1M.
            fields = {field: getattr(notice, field) for field in (*NOTICE_COLUMNS, "person")}
            fields = mask_row(fields) if mask else fields
            rows.append({column: fields[column] for column in NOTICE_COLUMNS})
    return rows


def write_lists(result: TodayResult, stage: Staged, fmt: str, mask: bool) -> None:
    """An xlsx with a sheet per manager (and one of notices), or one CSV or JSON table, written aside until put
    in place."""
    lists = list_rows(result, mask)
    if fmt == "xlsx":
        sheets = {m: (result.columns, items) for m, items in lists.items()}
        if notices := notice_rows(result, mask):
            sheets["notices"] = (NOTICE_COLUMNS, notices)
        write_xlsx(stage.path, sheets, stage)
    else:
        write_table(result.columns, [row for items in lists.values() for row in items], path=stage.path,
                    fmt=fmt, stage=stage)


def snapshots(db: Path) -> list[Snapshot]:
    return list_snapshots(db)


@dataclass
class Restored:
    snapshot: Snapshot
    set_aside: Path | None  # where a base too damaged to open was moved


def restore(db: Path, rules: Rules, name: str | None) -> Restored:
    """Bring back a snapshot (the newest by default); the state it replaces is snapshotted first, or,
    when the base is too damaged to open, moved aside."""
    available = list_snapshots(db)
    if not available:
        raise UserError(f"{db}: no snapshots in {snapshot_dir(db)}")
    chosen = available[0] if name is None else next((s for s in available if s.name == name), None)
    if chosen is None:
        raise UserError(f"no snapshot {name!r}; there are: {', '.join(s.name for s in available[:5])}")
    set_aside = None
    try:
        with opened(db) as store:
            store.restore_from(chosen.path, first=partial(take_snapshot, store, "restore", rules.safety.backups + 1,
                                                          chosen.path))
    except DamagedBase:
        set_aside = replace_damaged(db, chosen.path)
    with opened(db) as store, store.transaction():
        store.audit("restore", "restore", {"snapshot": chosen.name,
                                           "damaged_base_moved_to": str(set_aside) if set_aside else None})
    return Restored(chosen, set_aside)


def audit_log(db: Path, client_id: int | None = None, command: str | None = None, limit: int = 50,
              mask: bool = False) -> list[dict]:
    """The newest entries, oldest first; personal data in their details hidden when `mask`."""
    with opened(db) as store:
        rows = store.audit_log(client_id, command, limit)
        if command is not None and not rows and command not in (commands := store.audit_commands()):
            close = get_close_matches(command, commands, n=1)
            raise UserError(f"--command {command!r}: the audit log holds no entry of it"
                            f"{f' (did you mean {close[0]!r}?)' if close else ''}; it holds "
                            f"{', '.join(commands) or 'none yet'}")
    for row in rows:
        person = row.pop("person")
        if mask:
            # A client gone since (merged into another, split apart) may have been a person: hidden as one.
            gone = person is None and row["client_id"] is not None
            row["detail"] = mask_audit_detail(row["detail"], bool(person) or gone, row["action"])
    return rows


EXPORTS = {
    "records": ("record_ref", "client_id", "contact_id", "status", "reason", "unread"),
    "clients": ("client_id", "name", "inn", "kpp", "city", "channel", "owner", "owner_until", "segment", "abcde",
                "profit", "potential", "last_contact", "next_due", "state", "dependency", "record_refs"),
    "duplicates": ("client_id", "record_ref_a", "record_ref_b", "rule", "score", "decision", "detail"),
    "quarantine": ("client_id", "e164", "reason", "since", "recheck_on"),
    "conflicts": ("client_id", "managers", "resolved_owner", "rule"),
    "contacts": ("client_id", "contact_id", "name", "position", "birthday", "phones", "emails", "record_refs"),
    "phones": ("record_ref", "raw", "e164", "extension", "type", "region", "status", "reason", "client_id",
               "operator"),
}


def check_output(db: Path, path: Path | None) -> None:
    """Refuse, before any work, an output that cannot be written, or that is the base, a file beside it or
    in its snapshots: writing it would replace it."""
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"{path}: is a folder: name a file to write")
    if path.exists() and not path.is_file():  # /dev/stdout, a pipe: written in place
        return
    target = path.resolve()
    if what := own_file(db, path):
        raise UserError(f"{path}: is {what}: write the export elsewhere")
    snapshots = snapshot_dir(db).resolve()
    if target == snapshots or snapshots in target.parents:
        raise UserError(f"{path}: is the base's snapshots folder {snapshot_dir(db)} or in it: write the export "
                        "elsewhere")
    if not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
        raise UserError(f"{path}: folder {path.parent} does not exist or cannot be written")


def export(db: Path, rules: Rules, kind: str, *, path: Path | None, fmt: str | None, manager: str | None = None,
           mask: bool = False, stdout=None) -> int:
    """Write one table, as `fmt` or as the file's name says; for a manager only that manager's clients and
    the columns the rules allow.

    Every export is logged: who, what, how many rows, where to.
    """
    check_output(db, path)
    fmt = format_for(path, fmt)
    with opened(db) as store:
        store.must_write("the audit log records every export")  # before the file is written
        if kind == "quarantine":
            rows = store.export_quarantine(rules.quarantine.recheck_days)
        else:
            rows = getattr(store, f"export_{kind}")()
        if kind == "phones" and (plan := numbering_plan(store)):
            rows = (_with_plan(r, plan) for r in rows)
        columns = EXPORTS[kind]
        owner = None
        if manager:
            # Nobody new has anything to export: an unknown name is a typo, not an empty file.
            owner = _manager_for(store, manager, confirm=None)
            mine = {cid for cid, name in store.owners().items() if manager_key(name) == manager_key(owner)}
            rows = (r for r in rows if r.get("client_id") in mine)
            columns = tuple(c for c in columns if c in rules.access.manager_columns)
        if mask:
            masked = MASKED_IN_CONTACTS if kind == "contacts" else MASKED
            rows = (mask_row(r, masked) for r in rows)
        count = write_table(columns, rows, path=path, fmt=fmt, sheet=kind, stdout=stdout)
        with store.transaction(wait=READER_WAIT):
            store.audit("export", kind, {"rows": count, "manager": owner, "masked": mask,
                                         "to": str(path) if path else "stdout", "columns": list(columns)})
    return count


def report(db: Path, rules: Rules, as_of: date) -> Report:
    with opened(db) as store:
        return build_report(as_of.isoformat(), store.report_figures(as_of.isoformat()), store.last_runs(2), rules.rank)


@dataclass
class Explanation:
    client: dict
    records: list[dict]
    phones: list[dict]
    matches: list[dict]
    history: list[dict]


def explain(db: Path, client_id: int, mask: bool = False) -> Explanation:
    """A client's golden record, records, numbers with their verdicts and calls, matches and history; personal data
    hidden when `mask`."""
    with opened(db) as store:
        client = store.client(client_id)
        if client is None:
            raise UserError(f"client {client_id} not found (run `clientbase clean` after ingest)")
        records, phones, matches, history = (store.client_records(client_id), store.client_phones(client_id),
                                             store.client_matches(client_id), store.history(client_id))
    if mask:
        person = bool(client["person"])
        client = mask_row(client)
        # A record is a person's when it or its client is: a sole trader merged into a company by mistake too.
        records = [mask_row({**r, "person": r["person"] or person}) for r in records]
        phones = [mask_row(p) for p in phones]
        matches = [_without_person(mask_row({**m, "person": person})) for m in matches]
        history = [{**h, "detail": mask_audit_detail(h["detail"], person, h["action"])} for h in history]
    return Explanation(client, [_without_person(r) for r in records], phones, matches, history)


def _without_person(row: dict) -> dict:
    """The row without the flag masking reads (the output keeps its columns)."""
    return {k: v for k, v in row.items() if k != "person"}
