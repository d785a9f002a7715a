"""The command line: parse arguments, call one function of `app`, render the result."""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from clientbase import app as core
from clientbase.config import Rules, load_rules, rules_to_toml
from clientbase.errors import UserError
from clientbase.export import FORMATS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from clientbase.pipeline import IngestSummary


# rich is imported by the first command that prints through it: `today --json`, an export to stdout and cron's -q
# runs start 0.05-0.1 s faster without it.
def _console(stderr: bool = False) -> Console:
    """Without markup or emoji codes: names, headers and messages are data, and "ООО [abc]" or
    "ООО :fire:" must print as written."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False)


def _table(title: str, **options) -> Table:
    from rich.table import Table

    return Table(title=title, **options)


def _styled(*parts: str | tuple[str, str]) -> Text:
    """Text of plain strings and (text, style) pairs."""
    from rich.text import Text

    return Text.assemble(*parts)

cli = typer.Typer(
    name="clientbase",
    help="Keep a B2B client base clean and worked: ingest dumps, dedupe, judge phones, make call lists.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@dataclass
class Context:
    db_path: Path
    rules_path: Path | None
    quiet: bool

    @cached_property
    def console(self) -> Console:
        return _console(stderr=True)

    @cached_property
    def db(self) -> Path:
        """The base, for a command about to open it: an upgrade of its schema runs first, and is announced."""
        if upgrade := core.upgrade_pending(self.db_path):
            self.say(f"Upgrading {self.db_path} from schema {upgrade[0]} to {upgrade[1]} first: a base of millions "
                     "of records takes minutes. Stopping it loses nothing; the next command takes it up again.")
        return self.db_path

    def rules(self) -> Rules:
        return load_rules(self.rules_path)

    def say(self, *parts) -> None:
        if not self.quiet:
            self.console.print(*parts)


def _date_option(value: str, hint: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=hint) from None


STDOUT = Path("-")  # `-o -`, as other tools take it: standard output, not a file named "-"


def _as_of(value: Optional[str]) -> date:
    return date.today() if value is None else _date_option(value, "--as-of")


AsOf = Annotated[Optional[str], typer.Option("--as-of", help="Today's date for the run, YYYY-MM-DD (default: the local date).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
AllowShrink = Annotated[bool, typer.Option(
    "--allow-shrink", help="Read a changed file with less than half the rows its source holds (refused otherwise).")]


def _rules_path(option: Path | None) -> Path | None:
    if option is not None:
        return option
    if env := os.environ.get("CLIENTBASE_RULES"):
        return Path(env)
    default = Path("clientbase.toml")
    return default if default.exists() else None


@cli.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[Optional[Path], typer.Option("--db", help="Database file [env CLIENTBASE_DB, else ./clientbase.db].")] = None,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Rules file [env CLIENTBASE_RULES, else ./clientbase.toml if present].")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only errors (for cron).")] = False,
) -> None:
    """Keep a B2B client base clean and worked.

    Example nightly job:  clientbase ingest crm.xlsx 1c.csv && clientbase clean
    """
    db_path = db or Path(os.environ.get("CLIENTBASE_DB") or "clientbase.db")
    ctx.obj = Context(db_path, _rules_path(rules), quiet)


def _emit_json(document: object) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1, default=str) + "\n")


@cli.command()
def init(ctx: typer.Context) -> None:
    """Create the database and write a commented clientbase.toml with the defaults.

    Example:  clientbase init
    """
    c: Context = ctx.obj
    target = c.rules_path or Path("clientbase.toml")
    # init writes the rules file it is pointed at, so a missing one is not an error here.
    result = core.init(c.db, target, c.rules() if target.exists() else Rules())
    c.say(f"database: {result.db}")
    c.say(f"rules: {result.rules_path} " + ("(written with the defaults)" if result.rules_written else "(kept as it was)"))


@cli.command()
def rules(ctx: typer.Context) -> None:
    """Print the rules in force as TOML.

    Example:  clientbase --rules strict.toml rules
    """
    c: Context = ctx.obj
    sys.stdout.write(rules_to_toml(c.rules(), comments=False))


def _progress(c: Context):
    """A progress bar on stderr for long reads; silent when quiet or not a terminal."""
    if c.quiet or not c.console.is_terminal:
        return None, None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # only ingest and calls show one

    bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.completed:,} rows"),
                   TimeElapsedColumn(), console=c.console, transient=True)
    tasks: dict[str, int] = {}

    def update(source: str, done: int, total: int | None) -> None:
        if source not in tasks:
            tasks[source] = bar.add_task(source, total=total)
        bar.update(tasks[source], completed=done)

    return bar, update


def _steps(c: Context):
    """A spinner on stderr naming the step a long command is at, with the time it has taken so far;
    silent when quiet or not a terminal."""
    if c.quiet or not c.console.is_terminal:
        return None, None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(), console=c.console,
                   transient=True)
    task = bar.add_task("opening the base", total=None)
    return bar, lambda step: bar.update(task, description=step)


@cli.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="CSV/TSV/TXT or XLSX/XLSM/XLS/ODS dumps.", exists=True, dir_okay=False)],
    source: Annotated[Optional[str], typer.Option(help="Source name for the records' references (default: file name).")] = None,
    map_: Annotated[list[str], typer.Option("--map", help='Override a column mapping: "Header=field" (empty field ignores it).')] = [],
    region: Annotated[Optional[str], typer.Option(help="Country of phones without a country code (default from rules: RU).")] = None,
    sheet: Annotated[Optional[str], typer.Option(help="Read only this sheet of a workbook.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and report, write nothing.")] = False,
    allow_shrink: AllowShrink = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="The day the dumps are read, YYYY-MM-DD (default: the local date): an owner a dump names first holds the client from that day.")] = None,
    as_json: Json = False,
) -> None:
    """Read dumps into records, each traceable as SOURCE:ROW.

    The same file read the same way again is a no-op (new [ingest] phone rules or a new clientbase version
    read it again). A changed file replaces its source; its rows exactly as they were last read are kept
    as stored, so a dump sent again every night costs only its changed rows.

    Examples:

    \b
      clientbase ingest crm_export.xlsx 1c_export.csv
      clientbase ingest dump.csv --source crm --map "Клиент=name" --map "Примечание="
      clientbase ingest crm_export.xlsx --as-of 2026-11-23   # a dump of Friday's, read on Monday
    """
    from clientbase import pipeline  # here, not at the top: the morning's commands start faster without it
    from clientbase.phones import known_region

    if region is not None and not known_region(region):
        raise typer.BadParameter(f"{region!r} is not a country code such as RU, BY or KZ", param_hint="--region")
    c: Context = ctx.obj
    read_on = _as_of(as_of)
    bar, update = _progress(c)
    if bar:
        with bar:
            summary = pipeline.ingest(c.db, c.rules(), paths, source=source, mappings=map_, region=region,
                                      sheet=sheet, dry_run=dry_run, allow_shrink=allow_shrink, read_on=read_on,
                                      progress=update)
    else:
        summary = pipeline.ingest(c.db, c.rules(), paths, source=source, mappings=map_, region=region,
                                  sheet=sheet, dry_run=dry_run, allow_shrink=allow_shrink, read_on=read_on)
    if as_json:
        _emit_json({"dry_run": summary.dry_run, "rows": summary.rows, "rejected": summary.rejected,
                    "sources": [asdict(s) for s in summary.sources]})
        return
    _render_sources(c, "Ingest" + (" (dry run: nothing written)" if dry_run else ""), summary)


def _render_sources(c: Context, title: str, summary: IngestSummary) -> None:
    if c.quiet:
        return
    table = _table(title)
    for column in ("source", "outcome", "rows", "ok", "rejected", "phones by status"):
        table.add_column(column, justify="right" if column in ("rows", "ok", "rejected") else "left")
    for s in summary.sources:
        fresh = s.outcome != "unchanged"
        rejected = ", ".join(f"{n} {why}" for why, n in sorted(s.rejected.items())) or "0"
        phones = ", ".join(f"{k} {v}" for k, v in sorted(s.phones.items())) or "-"
        outcome = f"{s.outcome}, {s.kept:,} rows as they were" if s.kept else s.outcome
        table.add_row(s.source, outcome, f"{s.rows:,}", f"{s.ok:,}" if fresh else "-",
                      rejected if fresh else "-", phones if fresh else "-")
    c.console.print(table)
    for s in summary.sources:
        if s.note and s.outcome != "unchanged":
            c.console.print(_styled((f"{s.source}: {s.note}", "yellow")))
        if s.typos and s.outcome != "unchanged":
            read = ", ".join(f"{title!r} as {name}" for title, name in s.typos.items())
            c.console.print(_styled((f"{s.source}: headers read through a typo: {read} "
                                     f'(--map "Header=" keeps a column only in the raw record)', "yellow")))
        if s.unmapped and s.outcome != "unchanged":
            c.console.print(_styled((f"{s.source}: columns kept only in the raw record: {', '.join(s.unmapped)}", "dim")))
        if s.unread and s.outcome != "unchanged":
            c.console.print(_styled((f"{s.source}: {s.unread:,} rows have a date or amount that could not be read, "
                                     "or a date in the future; it is "
                                     "kept in the raw record (see the unread column of `clientbase export records`)",
                                     "yellow")))


@cli.command()
def export(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=f"What to export: {', '.join(core.EXPORTS)}.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="File to write (default: CSV on stdout).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="csv, xlsx or json (default: from the file name, else csv).")] = None,
    manager: Annotated[Optional[str], typer.Option(help="Only this manager's clients, and only the columns the rules let managers see; a name no dump or command names is refused.")] = None,
    mask: Annotated[bool, typer.Option("--mask", help="Hide personal data (phones partly, emails, names, birthdays) for lists sent outside.")] = False,
) -> None:
    """Write a table: records, phones, clients, contacts, duplicates, quarantine, conflicts.

    Examples:

    \b
      clientbase export phones > phones.csv
      clientbase export clients -o clients.xlsx
      clientbase export clients --manager "Петрова Анна" --mask -o for_anna.xlsx
    """
    c: Context = ctx.obj
    if output == STDOUT:
        output = None
    if kind not in core.EXPORTS:
        raise typer.BadParameter(f"{kind!r} is not one of: {', '.join(core.EXPORTS)}", param_hint="KIND")
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of: {', '.join(FORMATS)}", param_hint="--format")
    if fmt == "xlsx" and output is None:
        raise typer.BadParameter("xlsx needs a file: add -o FILE.xlsx", param_hint="--format")
    count = core.export(c.db, c.rules(), kind, path=output, fmt=fmt, manager=manager, mask=mask, stdout=sys.stdout)
    if output is not None:
        c.say(f"{count:,} {kind} rows written to {output}")


@cli.command()
def clean(
    ctx: typer.Context,
    as_of: AsOf = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change, write nothing.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Cluster every record again, not only the changed ones and what they may join.")] = False,
    as_json: Json = False,
) -> None:
    """The nightly job: deduplicate records into clients and apply the working rules.

    Only records changed since the last clean (and those they may join) are clustered again;
    a change of the [dedupe] rules or of the source priority re-clusters everything. Likewise only
    numbers with new calls and the clients clustered again or holding them are judged again.

    Examples:

    \b
      clientbase clean
      clientbase clean --as-of 2026-11-20 --dry-run --json
      clientbase clean --full
    """
    from clientbase import pipeline  # here, not at the top: the morning's commands start faster without it

    c: Context = ctx.obj
    bar, step = _steps(c)
    with bar or nullcontext():
        summary = pipeline.clean(c.db, c.rules(), _as_of(as_of), dry_run=dry_run, full=full, step=step)
    if as_json:
        _emit_json(asdict(summary))
    if c.quiet or as_json:
        return
    d, p, r = summary.dedupe, summary.phones, summary.rules
    table = _table(f"Clean {summary.as_of}" + (" (dry run: nothing written)" if dry_run else ""),
                   caption=f"clustering: {d.mode}, {d.rechecked:,} records clustered"
                           + (f" ({d.unchanged:,} clients unchanged)" if d.unchanged else "")
                           + (f", {d.restated:,} clients rebuilt as they stand" if d.restated else "")
                           + f"; judging: {p.mode}, {p.clients:,} clients judged"
                           + f"; rules: {r.mode}, {r.clients:,} clients' standing worked out")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("records", d.records), ("clients", d.clients), ("records merged into others", d.merged_records),
        ("pairs to review", d.review_pairs), ("hub phones (not keys)", d.hubs),
        ("records that changed client", d.moved_records),
        ("numbers dead", p.dead), ("numbers mismatched", p.mismatch), ("clients quarantined tonight", p.quarantined),
        ("clients released from quarantine", p.released), ("in quarantine", p.in_quarantine),
        ("due for re-check", p.recheck_due),
        ("owned", r.owned), ("pool", r.pool), ("snoozed", r.snoozed), ("ownership conflicts", r.conflicts),
        ("terms expired tonight", r.expired), ("key clients", r.key_clients),
    ):
        table.add_row(label, f"{value:,}")
    table.add_row("segments", ", ".join(f"{k} {v:,}" for k, v in sorted(r.segments.items())) or "-")
    table.add_row("ABCDE", ", ".join(f"{k} {v:,}" for k, v in sorted(r.abcde.items())) or "-")
    c.console.print(table)
    if r.profit_only_channels:
        c.console.print(_styled(("ranked by profit alone (no potential values):", "yellow"), " ",
                                ", ".join(ch or "(no channel)" for ch in r.profit_only_channels)))


@cli.command()
def explain(
    ctx: typer.Context,
    client: Annotated[int, typer.Argument(help="Client id.")],
    mask: Annotated[bool, typer.Option("--mask", help="Hide personal data (phones partly, emails, a person's names and INN, a snooze's reason) for output shown outside.")] = False,
    as_json: Json = False,
) -> None:
    """Why a client's records were merged, what its numbers are (dead, mismatched) and their calls, and its history.

    Examples:

    \b
      clientbase explain 42
      clientbase explain 42 --mask --json
    """
    c: Context = ctx.obj
    result = core.explain(c.db, client, mask)
    if as_json:
        _emit_json(asdict(result))
        return
    out = _console()
    g = result.client
    out.print(f"client {g['id']}: {g['name'] or '(no name)'}  INN {g['inn'] or '-'}  {g['city'] or ''}", highlight=False)
    records = _table("records")
    for column in ("ref", "name", "inn", "kpp", "city", "owner"):
        records.add_column(column)
    for r in result.records:
        records.add_row(*(str(r[k] or "") for k in ("ref", "name", "inn", "kpp", "city", "owner")))
    out.print(records)
    if result.phones:
        phones = _table("numbers")
        for column in ("number", "verdict", "why", "calls", "latest call", "records"):
            phones.add_column(column)
        for p in result.phones:
            phones.add_row(p["phone"] or p["raw"], p["verdict"], p["reason"] or "", str(p["calls"]),
                           p["last_call"] or "", p["refs"])
        out.print(phones)
    if result.matches:
        pairs = _table("why they are one client")
        for column in ("record a", "record b", "rule", "score", "decision", "values"):
            pairs.add_column(column)
        for m in result.matches:
            pairs.add_row(m["ref_a"], m["ref_b"], m["rule"], f"{m['score']:.0f}", m["decision"], m["detail"])
        out.print(pairs)
    for h in result.history:
        out.print(f"{h['at']}  {h['command']}  {h['action']}  {h['detail']}", highlight=False)


@cli.command()
def unmerge(
    ctx: typer.Context,
    client: Annotated[int, typer.Argument(help="Client id.")],
    ref: Annotated[list[str], typer.Option("--ref", help="Detach only this record (SOURCE:ROW); repeatable.")] = [],
) -> None:
    """Split a client back into its records and remember they are not duplicates.

    Examples:

    \b
      clientbase unmerge 42
      clientbase unmerge 42 --ref purchased_base.csv:17
    """
    from clientbase import pipeline  # here, not at the top: the morning's commands start faster without it

    c: Context = ctx.obj
    result = pipeline.unmerge(c.db, c.rules(), client, ref)
    c.say(f"client {result.client_id}: detached {len(result.detached)} record(s); "
          f"now clients {', '.join(map(str, result.clients))}")


@cli.command()
def calls(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Dialer or telephony exports (CSV/XLSX).", exists=True, dir_okay=False)],
    source: Annotated[Optional[str], typer.Option(help="Source name for the calls' references (default: file name).")] = None,
    sheet: Annotated[Optional[str], typer.Option(help="Read only this sheet of a workbook.")] = None,
    allow_shrink: AllowShrink = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="The day the logs are read, YYYY-MM-DD (default: the local date): a call dated after the next day is a typo, rejected.")] = None,
    as_json: Json = False,
) -> None:
    """Import call outcomes (phone, time, outcome, manager) from dialer logs.

    Outcome words are understood in Russian and English (Отвечен, Нет ответа, Занято,
    Не зарегистрирован в сети, Не тот абонент...); an unknown word rejects the row, it is never guessed.

    Example:  clientbase calls dialer_log.csv && clientbase clean
    """
    from clientbase import pipeline  # here, not at the top: the morning's commands start faster without it

    c: Context = ctx.obj
    read_on = _as_of(as_of)
    bar, update = _progress(c)
    if bar:
        with bar:
            summary = pipeline.import_calls(c.db, c.rules(), paths, source=source, sheet=sheet,
                                            allow_shrink=allow_shrink, read_on=read_on, progress=update)
    else:
        summary = pipeline.import_calls(c.db, c.rules(), paths, source=source, sheet=sheet, allow_shrink=allow_shrink,
                                        read_on=read_on)
    if as_json:
        _emit_json({"rows": summary.rows, "rejected": summary.rejected,
                    "sources": [asdict(s) for s in summary.sources]})
        return
    _render_sources(c, "Calls", summary)


quarantine_cli = typer.Typer(help="The quarantine (отстойник): clients with no working number, or closed.",
                             no_args_is_help=False, invoke_without_command=True)
cli.add_typer(quarantine_cli, name="quarantine")


@quarantine_cli.callback(invoke_without_command=True)
def quarantine_main(ctx: typer.Context, as_of: AsOf = None, as_json: Json = False) -> None:
    """List quarantined clients (the default), or release one: `quarantine release ID`."""
    if ctx.invoked_subcommand is None:
        _quarantine_list(ctx.obj, as_of, as_json)


def _group_option(ctx: typer.Context, name: str, flag: str, value):
    """An option before the subcommand (`quarantine --as-of D list`) counts as given after it; given in
    both places, the two must agree."""
    before = ctx.parent.params[name]
    if before and value and before != value:
        raise typer.BadParameter(f"given twice, as {before!r} and {value!r}", param_hint=flag)
    return value or before


@quarantine_cli.command("list")
def quarantine_list(ctx: typer.Context, as_of: AsOf = None, as_json: Json = False) -> None:
    """List quarantined clients and whether their re-check is due.

    Example:  clientbase quarantine list --as-of 2026-11-20
    """
    _quarantine_list(ctx.obj, _group_option(ctx, "as_of", "--as-of", as_of),
                     _group_option(ctx, "as_json", "--json", as_json))


def _quarantine_list(c: Context, as_of: Optional[str], as_json: bool) -> None:
    day = _as_of(as_of)
    rows = core.quarantine_list(c.db, day)
    if as_json:
        _emit_json({"as_of": day.isoformat(), "items": rows})
        return
    table = _table(f"Quarantine on {day}: {len(rows)} client(s), {sum(r['recheck_due'] for r in rows)} due for re-check")
    for column in ("client", "name", "city", "reason", "since", "re-check on"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["client_id"]), r["name"] or "", r["city"] or "", r["reason"], r["since"],
                      r["recheck_on"] + (" (due)" if r["recheck_due"] else ""))
    _console().print(table)


@quarantine_cli.command("release")
def quarantine_release(
    ctx: typer.Context,
    client: Annotated[int, typer.Argument(help="Client id.")],
    as_of: AsOf = None,
) -> None:
    """Release a client from quarantine by hand (logged).

    Example:  clientbase quarantine release 42
    """
    c: Context = ctx.obj
    if ctx.parent.params["as_json"]:
        raise typer.BadParameter("quarantine release prints no JSON", param_hint="--json")
    entry = core.quarantine_release(c.db, client, _as_of(_group_option(ctx, "as_of", "--as-of", as_of)))
    c.say(f"client {client} released from quarantine (was: {entry.reason}, since {entry.since})")


@cli.command()
def today(
    ctx: typer.Context,
    manager: Annotated[Optional[str], typer.Option(help="Only this manager's list (default: every manager).")] = None,
    as_of: AsOf = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="At most N rows per manager.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write .xlsx (a sheet per manager), .csv or .json.")] = None,
    mask: Annotated[bool, typer.Option("--mask", help="Hide personal data (phones partly, names) for lists sent outside.")] = False,
    new_manager: Annotated[bool, typer.Option("--new-manager", help="The --manager is new, though the name is close to a known one: hand them their first pool clients (otherwise refused as a likely typo).")] = False,
    as_json: Json = False,
) -> None:
    """Today's call list: own clients due, then pool clients up to the quota.

    Pool clients on the list are handed to the manager (a claim with a term). A manager the dumps name
    for a client another manager holds (an ownership conflict) gets a notice: under the lists, in --json
    ("notices"), on a "notices" sheet of an .xlsx, and beside a .csv or .json (lists.notices.csv).

    Examples:

    \b
      clientbase today --manager "Иванов Иван"
      clientbase today --as-of 2026-11-23 -o lists.xlsx
      clientbase today --manager "Петрова Алла" --new-manager   # new, though close to "Петрова Анна"
    """
    c: Context = ctx.obj
    if output == STDOUT:
        raise typer.BadParameter("the lists go to a file: name it .xlsx, .csv or .json; for stdout use --json",
                                 param_hint="-o")
    if new_manager and not manager:
        raise typer.BadParameter("names no one: give the new manager with --manager", param_hint="--new-manager")
    result = core.today(c.db, c.rules(), _as_of(as_of), manager, limit, output, mask, new_manager)
    lists = core.list_rows(result, mask)
    rows = [item for items in lists.values() for item in items]
    notices = core.notice_rows(result, mask)
    if as_json:
        _emit_json({"as_of": result.as_of.isoformat(), "items": rows, "notices": notices})
    if output is not None:
        c.say(f"{len(rows):,} calls for {len(lists)} manager(s) written to {output}")
    if output is not None and not as_json:
        _say_notices(c, notices, f"in {result.notices_file}" if result.notices_file else "with --json")
    if as_json or output is not None or c.quiet:
        return
    out = _console(stderr=not sys.stdout.isatty())
    for name, items in lists.items():
        table = _table(f"{name}: {len(items)} calls on {result.as_of}")
        table.add_column("class")
        table.add_column("client", justify="right")
        table.add_column("name", ratio=3)
        table.add_column("phone", no_wrap=True)
        table.add_column("why", ratio=2)
        table.add_column("last contact", no_wrap=True)
        table.add_column("call (MSK)", no_wrap=True)
        for i in items:
            window = i.get("call_window", "-")  # a column the rules may keep from one manager's list
            msk = window.split("(")[-1].removesuffix(" MSK)") if "MSK" in window else window.removesuffix(" local")
            table.add_row(i["abcde"] or "-", str(i["client_id"]), i["name"] or "", i["phone"], i["reason"],
                          i["last_contact"] or "never", msk)
        out.print(table)
    c.say(f"{result.handed_out} pool client(s) handed out")
    _say_notices(c, notices, "with --json or -o lists.xlsx")


_NOTICES_SHOWN = 10  # a base of a million clients has tens of thousands of conflicts: the rest are in a file


def _say_notices(c: Context, notices: list[dict], where: str) -> None:
    """Tell each manager of the claims they lost (DOMAIN §5.2): the dumps name them, but another holds the client."""
    for n in notices[:_NOTICES_SHOWN]:
        c.say(f"Notice for {n['manager']}: client {n['client_id']} ({n['name'] or 'no name'}) is {n['owner']}'s "
              f"({n['why']}), though the dumps name you as its manager")
    if len(notices) > _NOTICES_SHOWN:
        c.say(f"… {len(notices) - _NOTICES_SHOWN:,} more notice(s), all {len(notices):,} {where}")


@cli.command()
def assign(
    ctx: typer.Context,
    client: Annotated[int, typer.Argument(help="Client id.")],
    manager: Annotated[str, typer.Argument(help="Manager's name.")],
    days: Annotated[Optional[int], typer.Option(min=1, help="Term in days (default from the rules: 90, at most their max_term_days: 365).")] = None,
    as_of: AsOf = None,
    new_manager: Annotated[bool, typer.Option("--new-manager", help="The manager is new, though the name is close to a known one (otherwise refused as a likely typo).")] = False,
) -> None:
    """Give a client to a manager for a term (logged).

    A name close to a known manager's that no dump or command has named is refused as a likely typo.

    Examples:

    \b
      clientbase assign 42 "Петрова Анна" --days 60
      clientbase assign 42 "Петрова Алла" --new-manager   # new, though close to "Петрова Анна"
    """
    c: Context = ctx.obj
    change = core.assign(c.db, c.rules(), client, manager, _as_of(as_of), days, new_manager)
    c.say(f"client {client}: {change.previous or 'pool'} -> {change.owner} until {change.until}")


@cli.command()
def release(ctx: typer.Context, client: Annotated[int, typer.Argument(help="Client id.")], as_of: AsOf = None) -> None:
    """Return a client to the pool (logged).

    Example:  clientbase release 42
    """
    c: Context = ctx.obj
    change = core.release(c.db, client, _as_of(as_of))
    c.say(f"client {client}: {change.previous or 'pool'} -> pool")


@cli.command()
def reassign(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="The manager who leaves or is away.")],
    to: Annotated[str, typer.Option("--to", help="The manager who takes the clients.")],
    as_of: AsOf = None,
    new_manager: Annotated[bool, typer.Option("--new-manager", help="The --to manager is new, though the name is close to a known one (otherwise refused as a likely typo).")] = False,
    as_json: Json = False,
) -> None:
    """Move every client of one manager to another at once (logged).

    A --to close to a known manager's that no dump or command has named is refused as a likely typo.

    Examples:

    \b
      clientbase reassign --from "Иванов Иван" --to "Петрова Анна"
      clientbase reassign --from "Иванов Иван" --to "Петрова Алла" --new-manager   # new, though close to "Петрова Анна"
    """
    c: Context = ctx.obj
    changes = core.reassign(c.db, c.rules(), from_, to, _as_of(as_of), new_manager)
    if as_json:
        _emit_json({"moved": [asdict(ch) for ch in changes]})
    c.say(f"{len(changes)} client(s) moved from {from_} to {changes[0].owner}")


@cli.command()
def snooze(
    ctx: typer.Context,
    client: Annotated[int, typer.Argument(help="Client id.")],
    until: Annotated[str, typer.Option(help="Return date, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why, e.g. 'purchasing done by the head office in Москва'.")],
    as_of: AsOf = None,
) -> None:
    """Put a client aside until a date, with the reason (not deleted, not called).

    Example:  clientbase snooze 42 --until 2027-11-22 --reason "закупки через головной офис"
    """
    c: Context = ctx.obj
    core.snooze(c.db, client, _date_option(until, "--until"), reason, _as_of(as_of))
    c.say(f"client {client} snoozed until {until}: {reason}")


@cli.command()
def report(ctx: typer.Context, as_of: AsOf = None, as_json: Json = False) -> None:
    """The health of the base: rows and rejections, duplicates, phones, quarantine, ownership,
    load per manager, ABCDE by channel, key-client dependency, and what changed since the last run.

    Example:  clientbase report --as-of 2026-11-20
    """
    c: Context = ctx.obj
    result = core.report(c.db, c.rules(), _as_of(as_of))
    if as_json:
        _emit_json({"as_of": result.as_of, "sections": {
            s.title: {"rows": [dict(zip(s.columns, row)) for row in s.rows], "note": s.note}
            for s in result.sections}})
        return
    out = _console(stderr=not sys.stdout.isatty())
    out.rule(f"clientbase report, {result.as_of}")
    for section in result.sections:
        table = _table(section.title, caption=section.note, title_justify="left")
        for column in section.columns:
            table.add_column(column)
        for row in section.rows:
            table.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        out.print(table)


@cli.command()
def restore(
    ctx: typer.Context,
    snapshot: Annotated[Optional[str], typer.Argument(help="Snapshot name (default: the newest).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the snapshots instead.")] = False,
) -> None:
    """Bring back a snapshot taken before clean/unmerge (the current state is snapshotted first).

    Examples:

    \b
      clientbase restore --list
      clientbase restore 20261120-001500-123456Z-clean.db
    """
    c: Context = ctx.obj
    if list_:
        table = _table(f"Snapshots of {c.db}")
        for column in ("name", "taken", "size"):
            table.add_column(column)
        for snap in core.snapshots(c.db):
            table.add_row(snap.name, snap.taken, f"{snap.size:,}")
        _console().print(table)
        return
    restored = core.restore(c.db, c.rules(), snapshot)
    if restored.set_aside:
        c.say(f"the base could not be opened: moved aside to {restored.set_aside}")
    c.say(f"restored {restored.snapshot.name} (taken {restored.snapshot.taken})")


@cli.command()
def audit(
    ctx: typer.Context,
    client: Annotated[Optional[int], typer.Option(help="Only this client's entries.")] = None,
    command: Annotated[Optional[str], typer.Option(help="Only entries of this command (clean, export, reassign...).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest N entries.")] = 50,
    mask: Annotated[bool, typer.Option("--mask", help="Hide personal data (phones partly, emails, a person's names and INN, a snooze's reason) in the details.")] = False,
    as_json: Json = False,
) -> None:
    """Show the audit log: every merge, reassignment, quarantine move and export.

    Examples:

    \b
      clientbase audit --command export --limit 20
      clientbase audit --client 42 --mask
    """
    c: Context = ctx.obj
    rows = core.audit_log(c.db, client, command, limit, mask)
    if as_json:
        _emit_json({"items": rows})
        return
    table = _table("Audit log")
    for column in ("at", "user", "command", "action", "client", "detail"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["at"], r["user"] or "", r["command"], r["action"], str(r["client_id"] or ""), r["detail"])
    _console(stderr=not sys.stdout.isatty()).print(table)


numplan_cli = typer.Typer(help="The official Russian numbering plan (the ministry's registry files).",
                          no_args_is_help=True)
cli.add_typer(numplan_cli, name="numplan")


@numplan_cli.command("import")
def numplan_import(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="ABC-3xx, ABC-4xx, ABC-8xx, DEF-9xx files (CSV or XLSX).", exists=True, dir_okay=False)],
    as_json: Json = False,
) -> None:
    """Load the registry: operator and region for every range, mobiles included; numbers in
    unallocated ranges become dead at the next clean; lists show the region's local time.

    Example:  clientbase numplan import ABC-3xx.csv ABC-4xx.csv ABC-8xx.csv DEF-9xx.csv
    """
    from clientbase import pipeline  # here, not at the top: the morning's commands start faster without it

    c: Context = ctx.obj
    summary = pipeline.numplan_import(c.db, paths)
    if as_json:
        _emit_json(asdict(summary))
        return
    for name, count in summary.files.items():
        c.say(f"{name}: {count:,} ranges" + (f", {summary.skipped[name]:,} rows skipped" if summary.skipped[name] else ""))
    c.say(f"{summary.ranges:,} ranges loaded")


def main() -> None:
    """Click reports usage errors itself (exit 2); our own errors become one line and exit 1."""
    args = sys.argv[1:]
    # Cron lines put -q anywhere; it is a global option, so move it before the command.
    quiet = [a for a in args if a in ("-q", "--quiet")]
    try:
        cli(args=quiet + [a for a in args if a not in ("-q", "--quiet")], prog_name="clientbase")
    except UserError as exc:
        _console(stderr=True).print(_styled(("error:", "red"), f" {exc}"), highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:  # a last line of defence: one line, never a traceback
        if os.environ.get("CLIENTBASE_DEBUG"):
            raise
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc}\n")
        sys.exit(1)
