"""Writing tables out as CSV, XLSX or JSON, safe to open in Excel."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from clientbase.errors import UserError

if TYPE_CHECKING:
    import xlsxwriter

FORMATS = ("csv", "xlsx", "json")
# Columns whose values are identifiers: text in Excel, so leading zeros and long digits survive.
TEXT_COLUMNS = frozenset({"phone", "e164", "raw", "inn", "kpp", "ogrn", "extension", "record_ref", "record_refs"})
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?$")
_PHONE = re.compile(r"^\+\d[\d ()*;+-]{6,}$")  # masked phones and lists of phones too


def neutralise(value: object) -> object:
    """Defuse spreadsheet formula injection: a cell starting `=`, `@`, TAB or CR, or `-`/`+` that is
    neither a number nor a phone, gets a leading apostrophe."""
    if not isinstance(value, str) or not value:
        return value
    first = value[0]
    if first in "=@\t\r" or (first in "+-" and not _NUMBER.match(value) and not _PHONE.match(value)):
        return "'" + value
    return value


# Columns holding personal data, and how each is hidden; `phones` and `emails` hold lists.
MASKED = {"phone": "phone", "phones": "phone", "e164": "phone", "raw": "phone cell", "email": "email", "emails": "email",
          "contact": "person", "birthday": "date", "inn": "inn", "detail": "values"}
MASKED_IN_CONTACTS = {**MASKED, "name": "person"}  # a contact's name is a person's, not a company's
# A client that is a person (a sole trader): its name is that person's after the legal form, and so are the
# names its records were matched on.
MASKED_FOR_PERSON = {**MASKED, "name": "person client", "name_key": "person", "detail": "person values"}
# The values a match was made on, as `detail` writes them: `phone +79161234567`, `email a@b.ru`, `INN …`, `name "…"`.
_PHONE_VALUE = re.compile(r"\+\d{10,15}")
_EMAIL_VALUE = re.compile(r"[^\s,@]+@[^\s,]+")
_PERSONAL_INN = re.compile(r"(?<!\d)\d{12}(?!\d)")
_QUOTED_NAME = re.compile(r'"([^"]+)"')
_WORD = re.compile(r"[^\W\d_]{2,}\.?")  # a word of letters, with the dot of an abbreviation
_NAME_PART = re.compile(r"([^\W\d_])[^\W\d_]*\.?")  # a name, or its initial with its dot
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[.-][^\W\d_]+)*\.?")  # names or initials, joined by dots or hyphens


def mask_value(kind: str, value: str) -> str:
    """Hide personal data for lists that leave the company: enough to recognise, not to use."""
    if kind == "phone":
        digits = [ch for ch in value if ch.isdigit()]
        keep_head, keep_tail = 4, 2
        seen = 0
        out = []
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen <= keep_head or seen > len(digits) - keep_tail else "*")
            else:
                out.append(ch)
        return "".join(out)
    if kind == "phone cell":  # a phone cell as written may name who answers: `8-916-123-45-67 Григорий`
        return _WORD.sub(lambda m: m[0][0] + ".", mask_value("phone", value))
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if kind == "person":
        words = value.split()
        if len(words) == 1:  # a name alone (`Айгуль`) would name the person: its initial only
            return words[0][0] + "."
        return " ".join([words[0], *map(_initials, words[1:])]) if words else value
    if kind == "person client":
        from clientbase.companies import split_legal_form  # here: the morning commands start without its validators

        before, name, after = split_legal_form(value)
        return " ".join(part for part in (before, mask_value("person", name), after) if part)
    if kind in ("values", "person values"):
        value = _PHONE_VALUE.sub(lambda m: mask_value("phone", m[0]), value)
        value = _EMAIL_VALUE.sub(lambda m: mask_value("email", m[0]), value)
        value = _PERSONAL_INN.sub(lambda m: mask_value("inn", m[0]), value)
        return _QUOTED_NAME.sub(lambda m: f'"{mask_value("person", m[1])}"', value) if kind == "person values" else value
    if kind == "inn":
        # An organisation's 10 digits are public; a person's 12 (or a broken one, maybe a person's) keep only
        # the tax office, the first four.
        return value if len(value) == 10 else value[:4] + "*" * (len(value) - 4)
    return "****-**-**"


def _initials(word: str) -> str:
    """`Иван` -> `И.`; initials written together keep each: `И.И.` -> `И.И.`, `Анна-Мария` -> `А.-М.`. A word that
    is no name (`+7`, `12.05.1980`) keeps only its first character, as a name would."""
    return _NAME_PART.sub(r"\1.", word) if _NAME_WORD.fullmatch(word) else word[0] + "."


def mask_row(row: dict, masked: Mapping[str, str] = MASKED) -> dict:
    """The row with its personal data hidden; a row whose `person` is set names a person, not a company."""
    if row.get("person"):
        masked = MASKED_FOR_PERSON
    return {k: ";".join(mask_value(masked[k], item) for item in v.split(";"))
            if k in masked and isinstance(v, str) and v else v for k, v in row.items()}


# An audit entry's detail (JSON) holds, under these keys, what these columns hold: a merge's reason is a
# match's detail, a record's name (unmerge decisions moved or parked) a client's name.
_AUDIT_AS_COLUMN = {"why": "detail", "name": "name"}
# A snooze's reason is text as typed, which may name a person or give a phone, as a raw phone cell may.
_AUDIT_TYPED = {"snooze": {"reason": "raw"}}


def mask_audit_detail(detail: str, person: bool, action: str) -> str:
    """An audit entry's detail with its personal data hidden as mask_row hides those columns."""
    fields = json.loads(detail)
    if not isinstance(fields, dict):
        return detail
    as_column = {**_AUDIT_AS_COLUMN, **_AUDIT_TYPED.get(action, {})}
    found = {column: fields[key] for key, column in as_column.items() if isinstance(fields.get(key), str)}
    if not found:
        return detail
    masked = mask_row({**found, "person": person})
    fields.update({key: masked[column] for key, column in as_column.items() if column in found})
    return json.dumps(fields, ensure_ascii=False, sort_keys=True)  # as store.audit_many writes it


def cell_text(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return value


def format_for(path: Path | None, requested: str | None) -> str:
    """The format asked for, else the file's extension, else CSV (stdout, a device, a name without one).
    Another extension is refused: CSV written under list.pdf or x.xls opens as a broken file."""
    if requested:
        return requested
    suffix = path.suffix.lower().lstrip(".") if path is not None else ""
    if suffix and suffix not in FORMATS:
        listed = ", ".join(f".{f}" for f in FORMATS[:-1]) + f" or .{FORMATS[-1]}"
        raise UserError(f"{path}: cannot write a .{suffix} file: name it {listed}")
    return suffix or "csv"


class Staged:
    """An output written aside, beside `path`, mode 0600 (exports carry the client base), and put in its
    place only when whole: an export that fails leaves the file it would have replaced as it was. A
    terminal or a pipe (/dev/stdout) is written in place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.target = None if path.exists() and not path.is_file() else path.resolve()  # through a link
        if self.target is None:
            self.written = path
            return
        try:
            fd, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".partial")
        except OSError as exc:
            raise UserError(f"{path}: cannot write the export there ({exc.strerror or exc})") from exc
        os.close(fd)
        self.written = Path(name)

    def put_in_place(self) -> None:
        if self.target is not None:
            os.replace(self.written, self.target)

    def discard(self) -> None:
        if self.target is not None:
            self.written.unlink(missing_ok=True)


@contextmanager
def replacing(path: Path, stage: Staged | None = None) -> Iterator[Path]:
    """The file to write for `path`, put in place once written; with `stage`, that staged file, which its
    owner puts in place later (after a commit) or discards. A failure discards it, in one line."""
    output = stage or Staged(path)
    try:
        yield output.written
        if stage is None:
            output.put_in_place()
    except BaseException as exc:
        output.discard()
        if isinstance(exc, OSError):
            raise UserError(f"{path}: cannot write the export ({exc.strerror or exc}); nothing was written there") \
                from exc
        raise


def write_csv(handle, columns: Sequence[str], rows: Iterable[dict]) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if row.get(c) is None else neutralise(cell_text(row.get(c))) for c in columns])
        count += 1
    return count


def write_json(handle, columns: Sequence[str], rows: Iterable[dict]) -> int:
    items = [{c: cell_text(row.get(c)) for c in columns} for row in rows]
    json.dump(items, handle, ensure_ascii=False, indent=1)
    handle.write("\n")
    return len(items)


def write_xlsx(path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[dict]]],
               stage: Staged | None = None) -> int:
    """One worksheet per entry, frozen header, widths set, identifiers written as text."""
    with replacing(path, stage) as written:
        return _write_book(written, sheets)


def _write_book(path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[dict]]]) -> int:
    import xlsxwriter  # here, not at the top: only xlsx output needs it, and today starts faster without it

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    text = book.add_format({"num_format": "@"})
    total = 0
    for title, (columns, rows) in sheets.items():
        sheet = book.add_worksheet(_sheet_name(title, book))
        widths = [len(c) for c in columns]
        for col, name in enumerate(columns):
            sheet.write_string(0, col, name, header)
        line = 0
        for line, row in enumerate(rows, start=1):
            for col, name in enumerate(columns):
                value = cell_text(row.get(name))
                if value is None or value == "":
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool) and name not in TEXT_COLUMNS:
                    sheet.write_number(line, col, value)
                else:
                    value = str(neutralise(str(value)))
                    sheet.write_string(line, col, value, text if name in TEXT_COLUMNS else None)
                widths[col] = max(widths[col], min(len(str(value)), 60))
        total += line
        sheet.freeze_panes(1, 0)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width + 2)
    book.close()
    os.chmod(path, 0o600)
    return total


def _sheet_name(title: str, book: xlsxwriter.Workbook) -> str:
    """A worksheet name as Excel takes it: at most 31 UTF-16 units, none of []:*?/\\, no apostrophe at
    either end, and unique with case ignored (two names may differ only in case, or in what Excel refuses)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", title).strip("'") or "Sheet"
    taken = {sheet.get_name().lower() for sheet in book.worksheets()}
    name, n = _fitted(base, ""), 2
    while name.lower() in taken:
        name = _fitted(base, f"~{n}")
        n += 1
    return name


def _fitted(base: str, suffix: str) -> str:
    """`base` cut to leave room for `suffix` within the 31 units, then `suffix`."""
    while len((base + suffix).encode("utf-16-le")) > 62:
        base = base[:-1]
    return (base.rstrip("'") or "Sheet") + suffix


def write_table(columns: Sequence[str], rows: Iterable[dict], *, path: Path | None, fmt: str,
                sheet: str = "export", stdout: io.TextIOBase | None = None, stage: Staged | None = None) -> int:
    """Write a table to a file, or to stdout when no path is given; returns the row count."""
    if fmt == "xlsx":
        if path is None:
            raise UserError("xlsx needs a file: add -o FILE.xlsx")
        return write_xlsx(path, {sheet: (columns, rows)}, stage)
    writer = write_csv if fmt == "csv" else write_json
    if path is None:
        return writer(stdout, columns, rows)
    with replacing(path, stage) as written, open(written, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8",
                                          newline="") as handle:
        return writer(handle, columns, rows)
