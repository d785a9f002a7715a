"""The commands that read dumps or rebuild the clients: ingest, calls, numplan import, clean, unmerge.

Apart from app.py because they need the file readers, the phone and company parsers, the clustering
and the worker processes: the morning's commands (today, report, export...) start without loading them."""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from functools import partial
from itertools import chain, combinations, groupby
from operator import itemgetter
from pathlib import Path

import numpy

from clientbase import __version__
from clientbase.app import numbering_plan, opened
from clientbase.backups import take_snapshot
from clientbase.calls import (
    Call,
    CallBuilder,
    judge_calls,
    map_call_columns,
    missing_call_columns,
)
from clientbase.changes import CompanyNames, PartEdge, PlaceRows, joined_records, records_to_recheck
from clientbase.config import Rules
from clientbase.cycle import next_due
from clientbase.dedupe import (
    Compared,
    ContactRecord,
    MatchRecord,
    cyclic_gc_paused,
    find_clusters,
    group_contacts,
)
from clientbase.errors import UserError
from clientbase.golden import (
    Contact,
    ContactFacts,
    RecordFacts,
    golden_contact,
    golden_record,
    person_key,
    stable_ids,
)
from clientbase.ingest import (
    RecordBuilder,
    continues_header,
    fold_header,
    map_columns,
    parse_overrides,
    raw_json,
    raw_keys,
)
from clientbase.numplan import parse_range, plan_columns
from clientbase.ownership import Claim, LedgerEvent, client_state, manager_name, one_spelling, resolve_owner
from clientbase.phones import PhoneNormaliser, city_key
from clientbase.quarantine import (
    ClientVerdict,
    PhoneFacts,
    judge_phone,
    review_quarantine,
)
from clientbase.rank import KeptRanking, RankInputs, rank_clients
from clientbase.readers import TOTALS_ROW, HeaderContinues, Table, read_tables, set_aside_by_reader
from clientbase.report import run_counts
from clientbase.store import LIST_SEPARATOR, PendingSnapshot, Store, call_row, own_file, record_rows
from clientbase.values import FUTURE_DATE, shift
from clientbase.workers import Workers, default_workers

Progress = Callable[[str, int, int | None], None]


def _unreported(step: str) -> None:
    """No one watches the steps of a long command."""


@dataclass
class SourceSummary:
    source: str
    path: str
    rows: int = 0
    ok: int = 0
    kept: int = 0  # rows exactly as they were read last time, kept as stored
    unread: int = 0  # usable rows with a value (date, amount) that could not be read
    rejected: dict[str, int] = field(default_factory=dict)
    phones: dict[str, int] = field(default_factory=dict)
    outcome: str = "new"  # new | replaced | unchanged
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    typos: dict[str, str] = field(default_factory=dict)  # header -> the field it was read as, through a typo
    note: str = ""  # why every row of the table is rejected, when its header says so


@dataclass
class IngestSummary:
    sources: list[SourceSummary]
    dry_run: bool

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)

    @property
    def rejected(self) -> int:
        return sum(sum(s.rejected.values()) for s in self.sources)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counted(rows, summary: SourceSummary, progress: Progress | None, total: int | None, kept: list[int]):
    """Count each row written as it streams past, and tell the progress bar how far the reading is."""
    for item in rows:
        summary.rows += 1
        if progress and summary.rows % 5000 == 0:
            progress(summary.source, summary.rows + len(kept), total)
        yield item


def _changed_cells(table: Table, stored: bytearray, kept: list[int]) -> Iterator[tuple[int, tuple[str, ...], str | None]]:
    """A table's rows to build, as plain tuples (cheap to send to a worker). A row read before exactly as it
    is now (see _stored_digests) is not: its number goes to `kept`."""
    keys = raw_keys(table.header)
    for row in table.rows:
        at = _DIGEST_SIZE * row.number
        if stored and stored[at:at + _DIGEST_SIZE] == _row_digest(raw_json(keys, row.cells), row.rejected):
            kept.append(row.number)
        else:
            yield row.number, row.cells, row.rejected


_DIGEST_SIZE = 16


def _row_digest(raw: str, rejected_by_reader: str | None) -> bytes:
    """A row as read: its cells, and whether the reader set it aside. A totals row is told by what
    follows it, so the same cells can be a totals row in one export and a record in the next."""
    return hashlib.blake2b(f"{raw}\0{rejected_by_reader or ''}".encode(), digest_size=_DIGEST_SIZE).digest()


def _stored_digests(rows: Iterable[tuple[int, str, str | None]]) -> bytearray:
    """The digest of each stored (row, raw, reason rejected) at the row's number, zeros where no row is:
    16 MB for a million rows, where a dict of them took 123 MB (dumps of millions of rows come every night)."""
    digests = bytearray()
    for row, raw, reason in rows:
        if reason == FUTURE_DATE:  # read again: the day it is read may have come since
            continue
        end = _DIGEST_SIZE * (row + 1)
        if len(digests) < end:
            digests.extend(bytes(end - len(digests)))
        digests[end - _DIGEST_SIZE:end] = _row_digest(raw, reason if set_aside_by_reader(reason) else None)
    return digests


def _record_of(builder: RecordBuilder, row: tuple[int, tuple[str, ...], str | None]) -> tuple:
    return record_rows(*builder.build(*row))


def _call_of(builder: CallBuilder, row: tuple[int, tuple[str, ...], str | None]) -> tuple:
    # Calls have no phone rows of their own: the empty tuple keeps the shape _counted reads.
    return call_row(builder.build(*row)), ()


def _worker_count(paths: Sequence[Path], workers: int | None) -> int:
    if workers is not None:
        return workers
    # Forked before the database is opened: a missing file is reported by the reader, not here.
    return default_workers(sum(path.stat().st_size for path in paths if path.is_file()))


def _latest_past_day(read_on: date) -> str:
    """The last day a date of the past in a file read on `read_on` may fall on: a day after it (the time zones)
    and never before today, as a file read with an --as-of in the past may hold later days."""
    return shift(max(read_on, date.today()), 1).isoformat()


def _build_settings(rules: Rules) -> str:
    """What of the rules a built record or call depends on: the phones' default region and area code."""
    return json.dumps([rules.ingest.default_region, rules.ingest.default_area_code])


def _phone_normaliser(rules: Rules, region: str | None) -> PhoneNormaliser:
    return PhoneNormaliser(default_region=(region or rules.ingest.default_region).upper(),
                           default_area_code=rules.ingest.default_area_code or None)


def _load_sources(
    store: Store,
    kind: str,
    paths: Sequence[Path],
    *,
    source: str | None,
    sheet: str | None,
    settings: str,
    build_settings: str,
    load: Callable[[str, Table, SourceSummary, Iterable], Iterable],
    write: Callable[[int, Iterable, Sequence[int]], int],
    progress: Progress | None,
    allow_shrink: bool,
    continues_header: HeaderContinues | None = None,
    check: Callable[[list[Table]], None] | None = None,
) -> list[SourceSummary]:
    """Read each table of each file as a source: unchanged content is a no-op, changed content replaces it.

    `load` builds the rows to write from the cells of the rows to build. `settings` are the reading's and
    `build_settings` what else the built rows depend on: a change of either reads the file again. Of a
    changed file read with the same build settings and header, the rows exactly as they were are kept.
    A changed file with far fewer rows than its source holds is refused unless `allow_shrink`.
    `continues_header` tells the lower row of a two-row header (see read_tables). `check` sees the tables of
    each file before any is loaded, and may refuse the file.
    """
    if source is not None and not source.strip():
        raise UserError("--source needs a name")
    if source is not None and len(paths) > 1:
        raise UserError(f"--source names one file, but {len(paths)} were given")
    if repeated := next((name for name, count in Counter(p.name for p in paths).items() if count > 1), None):
        raise UserError(f"{repeated}: two files of this name would be one source, the second replacing the "
                        "first; read each alone with its own --source")
    for path in paths:  # reading it here would also drop SQLite's locks on it (see store._FileCopy)
        if what := own_file(store.path, path):
            raise UserError(f"{path}: is {what}, not a dump: name the files to read")
    summaries: list[SourceSummary] = []
    for path in paths:
        digest = _file_digest(path)
        tables = read_tables(path, sheet=sheet, continues_header=continues_header)
        if check:
            check(tables)
        for table in tables:
            name = table.source if source is None else source + table.source[len(path.name):]
            by_sheet = f"{name}#{table.sheet}"
            if table.sheet and not name.endswith(f"#{table.sheet}") and store.source(name) is None \
                    and store.source(by_sheet) is not None:
                # A workbook whose other sheets are gone this time: its sheet is still the source it was.
                name = by_sheet
            summary = SourceSummary(source=name, path=str(path))
            summaries.append(summary)
            fingerprint = hashlib.sha256(f"{kind}{digest}{name}{settings}".encode()).hexdigest()
            build = hashlib.sha256(json.dumps([kind, __version__, settings, build_settings, table.header],
                                              ensure_ascii=False).encode()).hexdigest()
            known = store.source(name)
            if known and known.kind != kind:
                raise UserError(f"{path}: source {name!r} already holds {known.kind}; give it another --source")
            # A source stored before builds were recorded (schema 13) counts as built as now, once: reading
            # a 10M base again unasked after an upgrade would take hours, and later rule changes must show.
            if known and known.fingerprint == fingerprint and known.build in (None, build):
                if known.build is None:
                    store.adopt_build(name, build)
                load(name, table, summary, ())  # for the column mapping it reports
                summary.outcome, summary.rows = "unchanged", known.rows
                continue
            stored = _stored_digests(store.stored_rows(kind, known.id) if known and known.build == build else ())
            kept: list[int] = []
            rows = load(name, table, summary, _changed_cells(table, stored, kept))
            summary.outcome = "replaced" if known else "new"
            source_id = store.save_source(name, kind, str(path), fingerprint, 0, build)
            write(source_id, _counted(rows, summary, progress, table.total_rows, kept), kept)
            summary.kept = len(kept)
            summary.rows += summary.kept
            if known and not allow_shrink:
                _check_shrink(path, name, summary.rows, known.rows)
            summary.ok, summary.rejected, summary.phones, summary.unread = store.source_tally(kind, source_id)
            store.save_source(name, kind, str(path), fingerprint, summary.rows, build)
            command = "ingest" if kind == "records" else kind  # as `audit --command` names it
            store.audit(command, summary.outcome, {"source": name, "path": str(path), "rows": summary.rows,
                                                   "kept": summary.kept})
    return summaries


# A changed dump with fewer than this share of its source's rows is refused unless allowed: an export cut short
# (or empty) would remove the rest of the source's records, and their clients with them.
_SHRINK_SHARE = 0.5


def _check_shrink(path: Path, source: str, rows: int, held: int) -> None:
    if rows < held * _SHRINK_SHARE:
        raise UserError(f"{path}: {rows:,} rows where source {source!r} holds {held:,}, so nothing was read. An "
                        "export cut short would remove the others and their clients: if the file is right, read it "
                        "again with --allow-shrink")


def ingest(
    db: Path,
    rules: Rules,
    paths: Sequence[Path],
    *,
    source: str | None = None,
    mappings: Sequence[str] = (),
    region: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    allow_shrink: bool = False,
    read_on: date | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> IngestSummary:
    """Read every file into records, all in one transaction: a failure anywhere writes nothing.

    `read_on` is the day the files are read (default: today): an owner a record names first dates from it.
    `workers` processes build the records while this one reads and writes (default: one per spare core,
    none for small inputs); the result is the same with any number."""
    read_on = read_on or date.today()
    latest = _latest_past_day(read_on)
    overrides = parse_overrides(mappings)
    phones = _phone_normaliser(rules, region)

    def load(name: str, table: Table, summary: SourceSummary, cells: Iterable) -> Iterable:
        columns = map_columns(table.header, overrides)
        if table.header and not columns.identifies:  # a sheet beside the clients' (see refuse_unrecognised)
            summary.note = (f"no name, phone, INN or email column in the header on {_place(table)} "
                            f"{table.header_line}: every row is rejected; if it holds clients, name its columns "
                            'with --map "Header=field"')
        summary.mapping = columns.describe(table.header)
        summary.unmapped = list(columns.unmapped)
        summary.typos = dict(columns.typos)
        builder = RecordBuilder(name, table.header, columns, phones, latest)
        return pool.map(partial(_record_of, builder), cells)

    headers_read: set[str] = set()  # folded, as --map names them

    def refuse_unrecognised(tables: list[Table]) -> None:
        # A header naming no identifying column, alone in its file or in no better company, is most often a
        # dump without a header row, whose first row taken for one would be lost unseen. A sheet beside one
        # that names such a column (a lookup list beside the clients) is read, its rows rejected in sight.
        headers_read.update(fold_header(title) for table in tables for title in table.header)
        unrecognised = [t for t in tables if t.header and not map_columns(t.header, overrides).identifies]
        if unrecognised and (len(tables) == 1 or len(unrecognised) == len(tables)):
            raise UserError(_unrecognised_header(unrecognised[0]))

    with Workers(_worker_count(paths, workers)) as pool, opened(db) as store:
        with store.rehearsal() if dry_run else store.transaction():
            summaries = _load_sources(
                store, "records", paths, source=source, sheet=sheet, progress=progress, load=load,
                check=refuse_unrecognised,
                allow_shrink=allow_shrink, continues_header=partial(continues_header, overrides=overrides),
                write=partial(store.replace_records, read_on=read_on.isoformat()),
                settings=json.dumps([sorted(overrides.items()), region, sheet]),
                build_settings=_build_settings(rules),
            )
            # A --map naming no column read is a typo, and the column it meant went unmapped: nothing is kept.
            if absent := next((pair for pair in mappings if fold_header(pair.partition("=")[0]) not in headers_read),
                              None):
                raise UserError(f'--map "{absent}": no column {absent.partition("=")[0].strip()!r} in '
                                f'{", ".join(path.name for path in paths)}, so nothing was read')
    return IngestSummary(summaries, dry_run)


def _place(table: Table) -> str:
    return "row" if table.sheet is not None else "line"


def _unrecognised_header(table: Table) -> str:
    place = _place(table)
    shown = "; ".join(cell[:30] for cell in table.header[:4]) + ("; ..." if len(table.header) > 4 else "")
    return (f"{table.source}: no header row recognised: {place} {table.header_line} ({shown}) has no name, "
            "phone, INN or email column (headers such as Компания or Наименование, Телефон, ИНН, E-mail); add a "
            f'header row, or if this {place} is the header, name its columns with --map "Header=field"')


def import_calls(
    db: Path,
    rules: Rules,
    paths: Sequence[Path],
    *,
    source: str | None = None,
    sheet: str | None = None,
    allow_shrink: bool = False,
    read_on: date | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> IngestSummary:
    """Read dialer logs into calls, in one transaction, with the same source rules as ingest; `read_on` and
    `workers` as for ingest."""
    phones = _phone_normaliser(rules, None)
    latest = _latest_past_day(read_on or date.today())

    def refuse_unrecognised(tables: list[Table]) -> None:
        # As ingest does: a sheet beside one holding the calls (a summary) is read, its rows rejected in sight.
        lacking = [(table, gap) for table in tables if (gap := missing_call_columns(map_call_columns(table.header)))]
        if lacking and len(lacking) == len(tables):
            table, gap = lacking[0]
            raise UserError(f"{table.source}: no {gap} column in a call log "
                            f"(headers: {', '.join(table.header) or 'none'})")

    def load(name: str, table: Table, summary: SourceSummary, cells: Iterable) -> Iterable:
        columns = map_call_columns(table.header)
        if gap := missing_call_columns(columns):
            summary.note = (f"no {gap} column in the header on {_place(table)} {table.header_line}: every row is "
                            "rejected (another sheet of the workbook holds the calls)")
        summary.mapping = {table.header[i]: f for f, i in columns.items()}
        builder = CallBuilder(name, table.header, columns, phones, latest)
        return pool.map(partial(_call_of, builder), cells)

    with Workers(_worker_count(paths, workers)) as pool, opened(db) as store:
        with store.transaction():
            summaries = _load_sources(store, "calls", paths, source=source, sheet=sheet, progress=progress,
                                      allow_shrink=allow_shrink, load=load, check=refuse_unrecognised,
                                      write=store.replace_calls,
                                      settings=json.dumps([sheet]),
                                      build_settings=_build_settings(rules))
    return IngestSummary(summaries, dry_run=False)


@dataclass
class PlanSummary:
    files: dict[str, int]
    skipped: dict[str, int]
    ranges: int


def numplan_import(db: Path, paths: Sequence[Path]) -> PlanSummary:
    """Load the ministry's registry files (CSV or XLSX); each replaces the codes it covers."""
    ranges, files, skipped = [], {}, {}
    for path in paths:
        for table in read_tables(path):
            try:
                columns = plan_columns(table.header)
            except UserError as exc:
                raise UserError(f"{table.source}: {exc}") from None
            # A row with too many cells may hold a range whose region moved: skipped, and counted so.
            found = [None if row.rejected else parse_range(row.cells, columns)
                     for row in table.rows if row.rejected != TOTALS_ROW]
            usable = [r for r in found if r is not None]
            files[table.source], skipped[table.source] = len(usable), len(found) - len(usable)
            ranges.extend(usable)
    if not ranges:
        raise UserError("no numbering ranges in " + ", ".join(p.name for p in paths))
    with opened(db) as store, store.transaction():
        store.replace_plan(ranges)
        store.audit("numplan import", "import", {"files": files, "ranges": len(ranges)})
    return PlanSummary(files, skipped, len(ranges))


@dataclass
class DedupeSummary:
    records: int = 0
    clients: int = 0
    merged_records: int = 0
    review_pairs: int = 0
    hubs: int = 0
    moved_records: int = 0
    mode: str = "full"  # full | incremental | unchanged
    rechecked: int = 0  # records clustered again
    restated: int = 0  # clients built again without clustering: their records changed in nothing matching reads
    unchanged: int = 0  # clients clustered again as they were: their golden records, people and judgements stand


# A change touching more than this share of the records is clustered from scratch: it is faster.
_INCREMENTAL_SHARE = 0.5


def _dedupe_settings(rules: Rules) -> str:
    """What the clusters depend on besides the records: a change re-clusters everything."""
    return json.dumps([__version__, asdict(rules.dedupe), list(rules.ingest.source_priority)])


def _records_to_recheck(store: Store, rules: Rules, changed: set[int], places: PlaceRows, names: CompanyNames,
                        former: set[int], replaced: PlaceRows | None) -> tuple[set[int] | None, PartEdge]:
    """The records changed since the last clean (`changed`, some) and all they may join, None when all must be
    clustered; and the pairs to review between them and the rest of the base. `former` holds the records of
    their components at the last clean, `replaced` their places then (see _record_places).

    A record without a city is looked for in the city its KPP or its own INN places it in, as the
    clustering puts it there; without either, in every city.
    """
    limit = int(len(places.ids) * _INCREMENTAL_SHARE)  # of the usable records
    if len(changed) > limit:  # a dump re-exported with every row touched: no need to look for names
        return None, PartEdge.none()
    settings = rules.dedupe
    # A record that leaves a name may have kept its namesakes apart (a second INN carrying it in the city): they are
    # looked at again as the changed records are.
    namesakes = names.former_namesakes(replaced) if replaced is not None else set()
    sought = changed | namesakes
    similar = names.similar_pairs(sought, settings.review_score)
    scope = records_to_recheck(changed, store.keys_of, lambda keys: places.usable(store.records_with_keys(keys)),
                               names, places, places.usable(former) | namesakes,
                               names.holders(similar.items[similar.scores >= settings.merge_score]), limit)
    if scope is None:
        return None, PartEdge.none()
    banned = {(min(a, b), max(a, b)) for a, b in store.not_duplicate_ids()}
    return scope, PartEdge(names.pairs_to_review_outside(similar, scope, settings.merge_score, banned),
                           sought | names.namesakes(changed))


def _record_places(store: Store, kept: dict[str, bytes]) -> tuple[PlaceRows, set[int], PlaceRows | None]:
    """The usable records' places as the base now reads them: those the last clean kept (`kept`), with every record
    changed since read again; all of them without. And the records of the changed records' components at the
    last clean (PlaceRows.joined), and the changed records' places then (see PlaceRows.updated)."""
    def read(record_ids: Iterable[int] | None = None) -> Iterator:
        return ((record_id, city_key(city), blank, kpp, inn, name)
                for record_id, city, blank, kpp, inn, name in store.record_places(record_ids))
    if not kept:
        return PlaceRows.read(read()), set(), None
    changed = store.records_to_reread()
    last = PlaceRows.from_parts(kept)
    places, replaced = last.updated(changed, read(changed))
    return places, last.joined(changed), replaced


def _deduplicate(store: Store, rules: Rules, command: str, *, full: bool = False,
                 step: Callable[[str], None] = _unreported) -> DedupeSummary:
    """Cluster records into clients, keep ids stable, and log each record that changed client.

    Only the records changed since the last clean in what matching reads, and those they may join, are
    clustered again, unless `full`, the clustering settings changed or the last clean kept no places (with the
    records' components); a client whose records changed in nothing else is built again as it stands.
    """
    settings = _dedupe_settings(rules)
    kept = store.place_rows() if not full and store.dedupe_settings() == settings else {}
    incremental = bool(kept)
    changed = store.changed_records() if incremental else set()
    # The tax offices' cities as the whole base shows them, for a clustering of part of it.
    places, former, replaced = (_record_places(store, kept) if changed or (incremental and store.changed_clients())
                                else (None, set(), None))
    offices = places.offices() if places else {}
    scope: set[int] | None = set()
    edge = PartEdge.none()
    names = CompanyNames(places, offices) if incremental and places is not None else None
    if not incremental:
        scope = None
    elif changed or (replaced is not None and len(replaced.ids)):  # a record removed may have kept namesakes apart
        scope, edge = _records_to_recheck(store, rules, changed, places, names, former, replaced)
    reclustered = scope is None or bool(scope) or bool(store.changed_clients())
    if not reclustered and not store.has_stale_clients():
        return _dedupe_totals(store, DedupeSummary(mode="unchanged"), places)
    if incremental and places is None:  # kept all the same: the next clean then reads only what changed since
        places = _record_places(store, kept)[0]
    scoped = scope is not None
    if not scoped:  # read again after the clustering, whose memory it would add to
        places = None
    else:
        store.set_scope(scope, changed)
    summary, joins = (_save_clusters(store, rules, command, offices if scoped else None, edge,
                                     names.compared if scoped and names is not None else None, step) if reclustered
                      else (DedupeSummary(mode="incremental"), None))
    del names
    # Worked out once the clustering's memory is free, before the places are read whole after a full one.
    components = (joins[0], joined_records(*joins)) if joins and len(joins[0]) else None
    del joins
    if scoped:  # a client whose records changed only in what matching does not read is built again as it stands
        summary.restated = store.hold_stale_clients()
        store.add_clients(_goldens(store.restated_facts(), rules))
    step("finding the people at each client")
    store.save_contacts(_contacts(store, scoped), scoped)
    if not scoped:
        places = _record_places(store, {})[0]
    if components is not None:
        places = places.with_components(*components)
    store.save_dedupe_state(settings, places.to_parts())
    return _dedupe_totals(store, summary, places)


def _save_clusters(store: Store, rules: Rules, command: str, offices: dict[str, str] | None, edge: PartEdge,
                   compared: Compared | None, step: Callable[[str], None]
                   ) -> tuple[DedupeSummary, tuple[numpy.ndarray, ...]]:
    """Cluster the records (of the scope, when the whole base's `offices` are given, with the names a clustering
    of the whole base would compare, `compared`), save their clients and matches (with the pairs to review
    between the scope and the rest, `edge`), and log each record that moved.
    Returns the records clustered, and the smallest record their keys join each to and an id standing for its
    cluster (DedupeResult.ids, joined and cluster_of).

    The clustering reads only what matching needs. The clusters then wait in the base, and the records'
    facts are read back one client at a time: the golden records cost no memory beside the clustering's.
    """
    scoped = offices is not None
    candidates = (  # a generator: find_clusters reads each record into its own columns
        MatchRecord(
            record_id=record_id, name_key=name_key,
            person=bool(person), city=city_key(city), inn=inn if inn_valid else None,
            kpp=kpp, phones=_listed(phones), emails=_listed(emails),
            email_domains=_listed(domains),
        )
        for record_id, name_key, person, city, inn, inn_valid, kpp, phones, emails, domains in store.match_facts(scoped)
    )
    step(f"clustering {'the changed' if scoped else 'all'} records into clients")
    result = find_clusters(candidates, rules.dedupe, store.not_duplicate_ids(scoped), offices, compared=compared)
    clusters = result.clusters
    store.hold_clusters(clusters)
    claims = [(cluster, clusters[cluster][0], old_id, votes) for cluster, old_id, votes in store.cluster_votes()]
    store.name_clusters(stable_ids(claims, len(clusters), store.max_client_id() + 1))
    del claims
    unchanged = store.hold_unchanged_clients() if scoped else 0

    why: dict[int, int] = {}  # a record -> the place in the pairs of the first merge that joined it
    for k, pair in enumerate(result.pairs):
        if pair.decision == "merged":
            why.setdefault(pair.b, k)
            why.setdefault(pair.a, k)
    logged = (
        ("merge" if len(clusters[cluster]) > 1 else "split",
         {"record": ref, "from": before, "to": after,
          "why": "{0.rule}: {0.detail}".format(result.pairs[why[record_id]]) if record_id in why else "alone"}, after)
        for record_id, ref, before, after, cluster in store.moved_records()
        if before is not None or len(clusters[cluster]) > 1  # a new record alone is no news
    )
    moved = store.audit_many(command, logged)
    del why

    step(f"saving {len(clusters):,} clients" + (f" ({unchanged:,} unchanged)" if unchanged else "")
         + " and their matches")
    store.save_clients(_goldens(store.clustered_facts(scoped), rules), chain(result.pairs, edge.pairs), result.hubs,
                       scoped, edge.relisted, compared)
    return (DedupeSummary(mode="incremental" if scoped else "full", rechecked=sum(map(len, clusters)),
                          moved_records=moved, unchanged=unchanged), (result.ids, result.joined, result.cluster_of))


def _goldens(facts: Iterable[tuple], rules: Rules) -> Iterator:
    """The golden record of each client from its records' facts, read one client after another."""
    for client_id, rows in groupby(facts, key=itemgetter(0)):
        yield golden_record(client_id, [RecordFacts(*row[1:]) for row in rows], rules.ingest.source_priority)


def _listed(values: str | None) -> tuple[str, ...]:
    """A record's values as the store joins them: sorted and distinct, as a tuple (a quarter of a set's size)."""
    if values is None:
        return ()
    if LIST_SEPARATOR not in values:
        return (values,)
    return tuple(sorted(set(values.split(LIST_SEPARATOR))))


def _dedupe_totals(store: Store, summary: DedupeSummary, places: PlaceRows | None) -> DedupeSummary:
    """The totals after a clustering; the usable records are those of `places` when read (a count of them all
    scans the base)."""
    summary.clients, summary.review_pairs, summary.hubs = store.dedupe_totals()
    summary.records = len(places.ids) if places else store.usable_records()
    summary.merged_records = summary.records - summary.clients
    return summary


def _contacts(store: Store, scoped: bool) -> list[Contact]:
    """The people at each client: records naming the same person (by name, phone or email) become one."""
    contacts: list[Contact] = []
    for client_id, rows in groupby(store.contact_facts(scoped), key=itemgetter(1)):
        facts = {record_id: ContactFacts(record_id, name, position, birthday, _listed(phones), _listed(emails))
                 for record_id, _, name, position, birthday, phones, emails in rows}
        people = [list(facts)] if len(facts) == 1 else group_contacts(
            [ContactRecord(f.record_id, person_key(f.name), f.phones, f.emails) for f in facts.values()])
        contacts.extend(golden_contact(client_id, [facts[r] for r in group]) for group in people)
    return contacts


@dataclass
class JudgeSummary:
    dead: int = 0
    mismatch: int = 0
    quarantined: int = 0
    released: int = 0
    in_quarantine: int = 0
    recheck_due: int = 0
    mode: str = "full"  # full | incremental
    clients: int = 0  # clients judged


def _judge_settings(rules: Rules) -> str:
    """What the judgements depend on besides calls and clients: a change judges everything again."""
    return json.dumps([__version__, asdict(rules.phones), asdict(rules.quarantine)])


def _judge(store: Store, rules: Rules, as_of: date, command: str) -> JudgeSummary:
    """Judge the numbers from their calls and the data, then move clients in and out of the quarantine.

    Only the numbers whose calls changed since the last clean, and the clients clustered again, holding
    such a number or whose phones were read again, are judged again; everything after a change of the
    settings or the numbering plan, or a full clustering.
    """
    settings = _judge_settings(rules)
    scoped = store.judge_settings() == settings
    summary = JudgeSummary(mode="incremental" if scoped else "full")
    if scoped:
        summary.clients = store.set_judge_scope()
    health = []
    for e164, group in groupby(store.calls_by_phone(scoped), key=itemgetter(0)):
        calls = [Call(at, outcome) for _, at, outcome in group]
        h = judge_calls(calls, rules.phones.no_answer_streak, rules.phones.no_answer_min_days)
        health.append((e164, h.status, h.reason, h.decided_on, h.last_answered))
    store.save_phone_health(health, scoped)

    judgements = []
    working: Counter[int] = Counter()
    judged: Counter[int] = Counter()
    decided: dict[int, str] = {}  # the latest call that decided any number of each client: a re-check's result
    condemned: dict[int, str] = {}  # the latest call that found a number of each client dead or someone else's
    plan = numbering_plan(store)
    for phone in (PhoneFacts(*row) for row in store.phones_to_judge(scoped)):
        if plan and plan.covers(phone.e164):
            phone = replace(phone, allocated=plan.lookup(phone.e164) is not None)
        if phone.call_decided_on and phone.call_decided_on > decided.get(phone.client_id, ""):
            decided[phone.client_id] = phone.call_decided_on
        status, reason, decided_on = judge_phone(phone, as_of)
        if status and phone.call_status == status and decided_on and decided_on > condemned.get(phone.client_id, ""):
            condemned[phone.client_id] = decided_on
        if status:
            judgements.append((status, reason, decided_on, phone.phone_id))
            judged[phone.client_id] += 1
        else:
            working[phone.client_id] += 1
    store.save_phone_judgements(judgements, scoped)
    totals = store.judgement_totals()
    summary.dead, summary.mismatch = totals.get("dead", 0), totals.get("mismatch", 0)
    answered = store.last_answered(scoped)
    changes = []  # the later of the records' date and the latest answered call: a call corrected away no longer counts
    for client_id, current, recorded in store.last_contacts(scoped):
        call = answered.get(client_id)
        latest = max(filter(None, (recorded, call[:10] if call else None)), default=None)
        if latest != current:
            changes.append((latest, client_id))
    store.set_last_contacts(changes)

    store.drop_quarantine_of_gone_clients()
    entries = store.quarantine_entries(scoped)
    clients = store.client_ids(scoped)
    if not scoped:
        summary.clients = len(clients)
    closed = store.closed_clients(scoped)
    logged = []
    for client_id in clients:
        last = answered.get(client_id)
        verdict = ClientVerdict(client_id, working[client_id], judged[client_id], client_id in closed,
                                last[:10] if last else None, decided.get(client_id), condemned.get(client_id))
        change = review_quarantine(verdict, entries.get(client_id), as_of, rules.quarantine.recheck_days)
        if change is None:
            continue
        if change.entry is None:
            store.drop_quarantine([client_id])
            summary.released += 1
        else:
            store.save_quarantine(change.entry)
            summary.quarantined += change.action == "quarantine"
        if change.entry is None:
            detail = {"reason": "answered a call"}
        elif change.action == "recheck":
            detail = {"reason": change.entry.reason, "recheck_on": change.entry.recheck_on}
        else:
            detail = {"reason": change.entry.reason}
        logged.append((change.action, detail, client_id))
    store.audit_many(command, logged)
    store.save_judge_state(settings)
    summary.in_quarantine, summary.recheck_due = store.quarantine_totals(as_of.isoformat())
    return summary


@dataclass
class RulesSummary:
    owned: int = 0
    pool: int = 0
    snoozed: int = 0
    quarantined: int = 0
    conflicts: int = 0
    expired: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    abcde: dict[str, int] = field(default_factory=dict)
    key_clients: int = 0
    profit_only_channels: list[str] = field(default_factory=list)
    mode: str = "full"  # full | incremental
    clients: int = 0  # clients whose standing was worked out


def _rules_settings(rules: Rules) -> str:
    """What the standings depend on besides the clients, commands and the day: a change works out every one."""
    return json.dumps([__version__, asdict(rules.rank), asdict(rules.ownership), asdict(rules.cycle),
                       list(rules.ingest.source_priority)])


def _spellings(store: Store) -> dict[str, str]:
    """How to write each manager's name (one_spelling), from what the dumps and the last ledger events say."""
    spellings: Counter[str] = Counter()
    for manager, records in store.owner_spellings():
        if name := manager_name(manager):
            spellings[name] += records
    spellings.update(dict(store.event_spellings()))
    return one_spelling(spellings)


def _apply_rules(store: Store, rules: Rules, as_of: date, command: str, judged_in_part: bool) -> RulesSummary:
    """Segments and ABCDE, then ownership (conflicts, expiry), the cycle, and each client's state.

    Every client is ranked, as a class is a share of the channel. The rest is worked out again only for the
    clients whose standing may have changed since the last clean (Store.set_rules_scope), when the judgement
    was of part of the base too and the settings, the managers' spellings and the day allow; for every client
    otherwise.
    """
    kept = store.kept_ranking()
    last_ranking = KeptRanking.from_parts(kept) if kept else None
    if last_ranking:
        reranked = store.reranked_clients()
        inputs = last_ranking.inputs.updated(reranked, store.rank_inputs(reranked))
    else:
        inputs = RankInputs.read(store.rank_inputs())
    ranking = rank_clients(inputs, as_of, rules.rank)
    summary = RulesSummary(profit_only_channels=ranking.profit_only_channels)
    spelled = _spellings(store)
    settings, day = _rules_settings(rules), as_of.isoformat()
    last = store.rules_state()
    # A manager first named since is named only by the clients of the scope; one written another way now is
    # written so in every client's standing.
    scoped = (judged_in_part and last is not None and last_ranking is not None and last[0] == settings
              and last[1] <= day
              and all(json.loads(last[2]).get(name, written) == written for name, written in spelled.items()))
    ids, segments, classes, dependencies = ranking.client_ids, ranking.segments, ranking.abcde, ranking.dependencies
    if scoped:
        summary.mode = "incremental"
        store.set_rules_scope(day, ranking.moved(last_ranking))
    claims: dict[int, list[Claim]] = defaultdict(list)
    for client_id, manager, assigned_on, ref in store.owner_claims(scoped):
        if name := manager_name(manager):
            claims[client_id].append(Claim(name, assigned_on, ref))
    events = store.last_ledger_events(scoped)
    quarantined = store.quarantined_ids()
    snoozed = {cid for cid, (until, _) in store.snoozes().items() if until > day}
    previous_conflicts = store.conflicts()
    conflicts, changed, expiries, logged = [], [], [], []
    rest_days = {abcde: rules.cycle.rest_for(abcde) for abcde in (None, "A", "B", "C", "D", "E")}
    k = 0  # the client's place in the ranking: both are by id
    for cid, last_contact, last_result, *stood in store.standings(scoped):
        summary.clients += 1
        k = bisect_left(ids, cid, k)
        segment, abcde, dependency = segments[k], classes[k], dependencies[k]
        owner = since = until = None
        if cid in claims or cid in events:  # most of a large base has no owner named anywhere
            ownership = resolve_owner(cid, claims.get(cid, ()), events.get(cid), last_result, dependency is not None,
                                      as_of, rules.ownership.term_days, rules.ownership.conflict_rule,
                                      rules.ingest.source_priority)
            owner, since, until = ownership.owner and spelled[ownership.owner], ownership.since, ownership.until
            if ownership.expired_on:
                expired_owner = ownership.expired_owner and spelled[ownership.expired_owner]
                summary.expired += 1
                expiries.append(LedgerEvent(cid, "expire", None, ownership.expired_on, None, "term ran out"))
                logged.append(("expire", {"owner": expired_owner, "until": ownership.expired_on}, cid))
            if ownership.claimants:
                claimants = [spelled[name] for name in ownership.claimants]
                row = (cid, ";".join(claimants), owner, ownership.rule)
                conflicts.append(row)
                if previous_conflicts.get(cid) != row[1:]:
                    logged.append(("conflict", {"managers": claimants, "owner": owner, "rule": ownership.rule},
                                   cid))
        standing = (owner, since, until, segment, abcde, dependency, next_due(last_contact, rest_days[abcde]),
                    client_state(cid in quarantined, cid in snoozed, owner))
        if standing != tuple(stood):  # most clients stand where they stood last night
            changed.append((*standing, cid))
    store.add_ledger(*expiries)
    store.audit_many(command, logged)
    summary.conflicts = store.save_conflicts(conflicts, scoped)
    store.save_standing(changed)
    store.save_rules_state(settings, day, json.dumps(spelled, ensure_ascii=False, sort_keys=True),
                           KeptRanking(inputs, ranking.standing).to_parts())
    states = store.state_totals()
    summary.owned, summary.pool, summary.snoozed, summary.quarantined = (
        states.get("owned", 0), states.get("pool", 0), states.get("snoozed", 0), states.get("quarantined", 0))
    summary.segments = dict(Counter(ranking.segments))
    summary.abcde = dict(Counter(filter(None, ranking.abcde)))
    summary.key_clients = len(ranking.dependencies) - ranking.dependencies.count(None)
    return summary


@dataclass
class CleanSummary:
    as_of: date
    dry_run: bool
    dedupe: DedupeSummary
    phones: JudgeSummary
    rules: RulesSummary


def clean(db: Path, rules: Rules, as_of: date, *, dry_run: bool = False, full: bool = False,
          step: Callable[[str], None] | None = None) -> CleanSummary:
    """The nightly job, in one transaction: deduplicate, then the rules that follow from it.

    `step` is told which step the job is at: at 10M records a clean takes an hour.
    """
    step = step or _unreported
    with opened(db) as store:
        def snapshot() -> PendingSnapshot | None:
            step("taking a snapshot of the base")
            return take_snapshot(store, "clean", rules.safety.backups)

        with store.rehearsal() if dry_run else store.transaction(first=snapshot), cyclic_gc_paused():
            dedupe = _deduplicate(store, rules, "clean", full=full, step=step)
            step("judging the phone numbers")
            phones = _judge(store, rules, as_of, "clean")
            step("applying the working rules")
            standing = _apply_rules(store, rules, as_of, "clean", phones.mode == "incremental")
            summary = CleanSummary(as_of, dry_run, dedupe, phones, standing)
            store.save_run(as_of.isoformat(), run_counts(asdict(summary)))
            step("writing the changes")
    return summary


@dataclass
class UnmergeResult:
    client_id: int
    detached: list[str]
    clients: list[int]


def unmerge(db: Path, rules: Rules, client_id: int, refs: Sequence[str] = ()) -> UnmergeResult:
    """Split a client into its records (or detach the given ones) and remember they are not duplicates."""
    with opened(db) as store:
        with store.transaction(first=partial(take_snapshot, store, "unmerge", rules.safety.backups)):
            records = store.client_records(client_id)
            if not records:
                raise UserError(f"client {client_id} not found (run `clientbase clean` after ingest)")
            all_refs = [r["ref"] for r in records]
            unknown = [ref for ref in refs if ref not in all_refs]
            if unknown:
                raise UserError(f"client {client_id} has no record {unknown[0]}; its records: {', '.join(all_refs)}")
            if len(all_refs) < 2:
                raise UserError(f"client {client_id} has a single record: nothing to unmerge")
            if refs and set(refs) == set(all_refs):  # nothing would be left to detach them from
                raise UserError(f"--ref names every record of client {client_id}: to split it into its records, "
                                f"run `clientbase unmerge {client_id}`")
            detached = list(dict.fromkeys(refs)) or all_refs
            if refs:
                pairs = [(a, b) for a in refs for b in all_refs if b not in refs]
            else:
                pairs = list(combinations(all_refs, 2))
            store.add_not_duplicates(pairs)
            store.mark_clients_changed([client_id])
            if refs:  # the client, its id and what was decided for it stay with the records not detached
                store.detach_records(detached)
            store.audit("unmerge", "unmerge", {"records": detached}, client_id=client_id)
            # The clustering rebuilds namesakes and neighbours too: they, and the client, stand as they stood
            # (owner, state, class) until the next clean works the standing out.
            store.hold_standing()
            _deduplicate(store, rules, "unmerge")
            store.restore_standing()
            after = store.clients_of(all_refs)
    return UnmergeResult(client_id, detached, after)
