"""Turn any dump file into tables of string cells, streamed row by row.

The content decides the format, never the extension: a zip holding `xl/` is an xlsx/xlsm workbook,
a zip holding an OpenDocument spreadsheet is ods, an OLE2 container is xls; anything else must be a
text table (CSV/TSV/TXT) in UTF-8 (with or without BOM), UTF-16 or a Cyrillic single-byte codepage,
with `;`, `,`, TAB or `|` between cells.

Row numbers: the header is the first non-empty row (single-cell title rows above a wider row, as
in 1C reports, are skipped), with the row under it when the caller's `continues_header` takes that
row for the lower half of a two-row header (sub-headers under a merged group cell). ROW is the
1-based position among the rows after the header, blank rows counted though never yielded: in a
workbook whose header ends on row H, ROW n is sheet row H + n; in a text file without multi-line
cells, ROW n is line H + n. `Row.line` gives the exact line or sheet row either way.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import dropwhile, islice, zip_longest
from pathlib import Path
from xml.etree import ElementTree

from charset_normalizer import from_bytes
from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from clientbase.errors import UserError

TOTALS_ROW = "totals row"
# A text row with text past the header's last column: an unquoted delimiter inside a cell (1C writes
# addresses with `;` as they are) has moved every cell after it, so none can be trusted.
TOO_MANY_CELLS = "too many cells"
DELIMITERS = (";", "\t", ",", "|")  # ties go to the first: `;` is what Russian Excel and 1C write
SAMPLE_BYTES = 1 << 16
# An opening quote left open is taken literally unless a closing quote turns up within this many lines.
MAX_JOINED_LINES = 100
# Single-cell rows looked at before deciding that the table simply has one column.
TITLE_ROWS = 10
# A one-column text table is split on a character that never occurs in text: the ASCII unit separator.
NO_DELIMITER = "\x1f"

# The first cell of a totals row. Group `anywhere`: labels that only ever start one ("Итого по группе",
# "Всего:"). The rest could also begin a name ("Total Oil"), so they mark a totals row only at the end of
# the table, and only when no other word follows them (or "по"/"for": "Всего по Москве").
_TOTALS = re.compile(
    r"(?P<anywhere>(?:итого?|общий итог|subtotal|sub-total|grand total)\b|(?:всего|total|totals)\s*:)"
    r"|(?:всего|total|totals)\b(?:\s+(?:по|за|for|of)\b|(?!\s*[^\W\d_]))",
    re.I,
)

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_KINDS = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive", b"Rar!": "a RAR archive", b"7z\xbc\xaf": "a 7-Zip archive", b"PK": "a zip archive",
}
# Bytes below 0x20 other than whitespace: never in text, common in binary files. NUL is counted apart.
_CONTROL_BYTES = bytes(b for b in range(1, 32) if b not in b"\t\n\r\x0b\x0c")
_CONTROL_CHARS = re.compile("[\x01-\x08\x0e-\x1f]")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
# Russian letters from the most to the least frequent: a wrong codepage turns text into rare letters and symbols.
_RUSSIAN_BY_FREQUENCY = "оеаинтсрвлкмдпуяызьбгчйхжшюцщэфъё"
_RUSSIAN_WEIGHT = {letter: len(_RUSSIAN_BY_FREQUENCY) - rank for rank, letter in enumerate(_RUSSIAN_BY_FREQUENCY)}
# Windows and 1C; DOS-era 1C. Not KOI8-R: it holds the same letters as cp1251 in another order, which
# letter counts on a short sample cannot tell apart, and the contract names cp1251.
_CYRILLIC_CODEPAGES = ("cp1251", "cp866")


class ReadError(UserError):
    """A file that cannot be read as a table; the message is one line naming the file and the problem."""


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1-based data row number within the file or sheet, header not counted
    cells: tuple[str, ...]  # every cell as read, stripped; may be longer or shorter than the header
    rejected: str | None = None  # why the reader already knows the row is unusable: TOTALS_ROW, TOO_MANY_CELLS
    line: int = 0  # 1-based line of the file, or row of the sheet, where the row starts


@dataclass(frozen=True)
class Table:
    source: str  # the file's base name, plus '#SHEET' when the workbook has several sheets
    sheet: str | None
    header: tuple[str, ...]
    header_line: int  # 1-based line or sheet row of the header; 0 when the table is empty
    total_rows: int | None  # rows after the header, for progress: exact for workbooks, estimated for text
    encoding: str | None = None  # the Python codec of a text file
    delimiter: str | None = None  # None for a workbook or a one-column text file
    titles: tuple[str, ...] = ()  # title rows skipped above the header
    _open_rows: Callable[[], Iterator[Row]] = field(default=lambda: iter(()), repr=False, compare=False)

    @property
    def rows(self) -> Iterator[Row]:
        """The data rows, streamed: each access starts a fresh pass over the file (or loaded sheet)."""
        return self._open_rows()


def set_aside_by_reader(reason: str | None) -> bool:
    """Whether a row's reason for being rejected is the reader's (see Row.rejected), not a builder's."""
    return reason is not None and (reason == TOTALS_ROW or reason.startswith(f"{TOO_MANY_CELLS}:"))


# Whether the second row, right under the first, continues a header: (first row's cells, second row's cells).
HeaderContinues = Callable[[tuple[str, ...], tuple[str, ...]], bool]


def read_tables(path: Path, sheet: str | None = None, continues_header: HeaderContinues | None = None) -> list[Table]:
    """Every table in the file: one per non-empty sheet of a workbook (or only `sheet`), one for a text
    file (where `sheet` is ignored). An empty file gives one table without header and rows. A header
    row followed by a row that `continues_header` accepts is read as one header with that row."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(SAMPLE_BYTES)
    except OSError as exc:
        raise ReadError(f"{path.name}: {exc.strerror or exc}") from None
    if head.startswith(_ZIP):
        return _read_workbook(path, sheet, _zip_kind(path), continues_header)
    if head.startswith(_OLE2):
        return _read_workbook(path, sheet, "xls", continues_header)
    return [_read_text(path, head, continues_header)]


# --- shared: header, blank rows, totals ---------------------------------------------------------------

Records = Iterator[tuple[int, tuple[str, ...]]]  # (line where the row starts, stripped cells), blank rows too


def _find_header(records: Records,
                 continues: HeaderContinues | None) -> tuple[int, tuple[str, ...], tuple[str, ...]] | None:
    """(line, cells, skipped titles) of the header, or None when every row is blank. A header on two rows
    is given as one at the second row's line."""
    singles: list[tuple[int, tuple[str, ...]]] = []
    for line, cells in records:
        filled = sum(1 for cell in cells if cell)
        if filled > 1:
            titles = tuple(next(cell for cell in title if cell) for _, title in singles)
            below = next(records, None) if continues is not None else None
            if below is not None and continues(cells, below[1]):
                return below[0], _one_header(cells, below[1]), titles
            return line, cells, titles
        if filled:
            singles.append((line, cells))
            if len(singles) == TITLE_ROWS:
                break
    if not singles:
        return None
    line, cells = singles[0]  # a one-column table
    return line, cells, ()


def _one_header(upper: tuple[str, ...], lower: tuple[str, ...]) -> tuple[str, ...]:
    """A header on two rows as one: each column named by its lower cell, else by the (merged) upper one."""
    width = max(len(upper), max((index + 1 for index, cell in enumerate(lower) if cell), default=0))
    return tuple(low or high for low, high in islice(zip_longest(lower, upper, fillvalue=""), width))


def _data_rows(records: Records, header_line: int, subtotals: frozenset[int] = frozenset(),
               sums: frozenset[int] = frozenset(), width: int | None = None) -> Iterator[Row]:
    """The rows after the header, numbered, blank ones skipped, totals rows and rows wider than `width` marked.

    `subtotals` are lines holding a SUBTOTAL-like formula (a total wherever it stands); `sums` are lines
    summing a column, which a running-total column also does, so they are totals only at the end."""
    number = 0
    held: list[Row] = []  # possible totals rows, decided by whether any ordinary row follows them
    for line, cells in dropwhile(lambda record: record[0] <= header_line, records):
        number += 1
        first = cells[0] if cells and cells[0] else next((cell for cell in cells if cell), None)
        if first is None:
            continue
        totals = _TOTALS.match(first)
        if (totals and totals["anywhere"]) or line in subtotals:
            held.append(Row(number, cells, TOTALS_ROW, line))
        elif totals or line in sums:
            held.append(Row(number, cells, _too_many_cells(cells, width), line))
        else:
            if held:  # an ordinary row follows: only the labels that always mean totals stay rejected
                yield from held
                held.clear()
            yield Row(number, cells, _too_many_cells(cells, width), line)
    yield from (row if row.rejected else replace(row, rejected=TOTALS_ROW) for row in held)


def _too_many_cells(cells: tuple[str, ...], width: int | None) -> str | None:
    # Empty cells past the header are fine: many writers end every line with a delimiter.
    if width is None or len(cells) <= width or not any(cells[width:]):
        return None
    used = max(index for index, cell in enumerate(cells, 1) if cell)
    return f"{TOO_MANY_CELLS}: {used} for a header of {width}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --- workbooks ------------------------------------------------------------------------------------------

def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReadError(f"{path.name}: a damaged zip archive ({_one_line(exc)})") from None
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "content.xml" in names and b"spreadsheet" in mimetype:
        return "ods"
    if "word/document.xml" in names or "content.xml" in names:
        raise ReadError(f"{path.name}: a document, not a spreadsheet or a text table")
    raise ReadError(f"{path.name}: a zip archive, not a workbook or a text table")


@contextmanager
def _calamine_errors(path: Path, what: str) -> Iterator[None]:
    try:
        yield
    except CalamineError as exc:
        raise ReadError(f"{path.name}: cannot read {what} ({_one_line(exc)})") from None
    except BaseException as exc:
        # A damaged file can make calamine's Rust code panic; pyo3 raises that as a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        raise ReadError(f"{path.name}: cannot read {what} (damaged: {_one_line(exc)})") from None


def _read_workbook(path: Path, wanted: str | None, kind: str,
                   continues_header: HeaderContinues | None) -> list[Table]:
    with _calamine_errors(path, f"the {kind} workbook"):
        workbook = CalamineWorkbook.from_path(path)
        worksheets = [m for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    visible = [m.name for m in worksheets if m.visible == SheetVisibleEnum.Visible]
    if wanted is None:
        names = visible  # hidden sheets hold lookup lists for drop-downs, not clients; --sheet can name one
    else:
        wanted = _sheet_named(path, wanted, [m.name for m in worksheets])
        names = [wanted]
    # Several sheets as the user sees them; a hidden sheet picked by name is never the only one.
    several = len(visible) > 1 or wanted not in (None, *visible)
    tables = []
    for name in names:
        with _calamine_errors(path, f"sheet '{name}'"):
            loaded = workbook.get_sheet_by_name(name)
            found = _find_header(_sheet_records(loaded), continues_header)
        if found is None:
            continue
        line, header, titles = found
        source = f"{path.name}#{name}" if several else path.name
        end = loaded.end[0] + 1 if loaded.end else line
        tables.append(Table(source, name, header, line, end - line, titles=titles,
                            _open_rows=_sheet_rows(path, workbook, name, loaded, line, kind)))
    return tables or [Table(f"{path.name}#{wanted}" if wanted and several else path.name, wanted, (), 0, 0)]


def _sheet_named(path: Path, wanted: str, names: list[str]) -> str:
    """The workbook's own name of the sheet `--sheet` names: the exact name, else the one sheet equal to it
    once case and outer spaces are folded (users type `клиенты` for `Клиенты `)."""
    if wanted in names:
        return wanted
    folded = wanted.strip().casefold()
    close = [name for name in names if name.strip().casefold() == folded]
    if len(close) == 1:
        return close[0]
    if close:
        listed = ", ".join(f"'{name}'" for name in close)
        raise ReadError(f"{path.name}: sheet '{wanted}' could be any of {listed}, which differ only by case "
                        "or spaces; give its exact name")
    listed = ", ".join(f"'{name}'" for name in names) or "none"
    raise ReadError(f"{path.name}: no sheet '{wanted}' (sheets: {listed})")


def _sheet_rows(path: Path, workbook: CalamineWorkbook, name: str, loaded: CalamineSheet,
                header_line: int, kind: str) -> Callable[[], Iterator[Row]]:
    # The first pass reuses the sheet loaded to find the header, then lets it go: a big sheet is held once.
    preloaded = [loaded]

    def rows() -> Iterator[Row]:
        with _calamine_errors(path, f"sheet '{name}'"):
            sheet = preloaded.pop() if preloaded else workbook.get_sheet_by_name(name)
            subtotals, sums = _xlsx_total_formulas(path, name) if kind == "xlsx" else (frozenset(), frozenset())
            yield from _data_rows(_sheet_records(sheet), header_line, subtotals, sums)

    return rows


def _sheet_records(sheet: CalamineSheet) -> Records:
    # calamine yields every row from the sheet's first, so the index is the sheet row.
    for index, values in enumerate(sheet.iter_rows(), 1):
        yield index, tuple([value.strip() if type(value) is str and "\x00" not in value else _cell_text(value)
                            for value in values])


def _cell_text(value: object) -> str:
    """A workbook value as the text a person would type: no `.0` on whole numbers, ISO dates."""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        minutes, seconds = divmod(round(value.total_seconds()), 60)
        return f"{minutes // 60}:{minutes % 60:02}:{seconds:02}"
    return "" if value is None else str(value)


_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*>(?:_xlfn\.)?(SUBTOTAL|AGGREGATE|SUM|COUNTA?|AVERAGE|MIN|MAX)\(([^<]*)",
                      re.I)
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"")
_VERTICAL_RANGE = re.compile(rb"\$?[A-Z]{1,3}\$?(\d+):\$?[A-Z]{1,3}\$?(\d+)")


def _xlsx_total_formulas(path: Path, sheet: str) -> tuple[frozenset[int], frozenset[int]]:
    """Sheet rows holding SUBTOTAL/AGGREGATE formulas, and rows summing the rows above (SUM(D2:D90) and kin).

    python-calamine gives cached values only, so the formulas are read from the sheet's XML, streamed."""
    subtotals: set[int] = set()
    sums: set[int] = set()
    try:
        with zipfile.ZipFile(path) as archive:
            part = _xlsx_sheet_part(archive, sheet)
            if part is None:
                return frozenset(), frozenset()
            with archive.open(part) as stream:
                carry = b""
                for block in iter(lambda: stream.read(1 << 22), b""):
                    data = carry + block
                    # Scan whole rows only, so that each formula finds its <row r="N"> in the same chunk.
                    cut = data.rfind(b"row>") + 4
                    if cut < 4:
                        carry = data
                        continue
                    _scan_formulas(data[:cut], subtotals, sums)
                    carry = data[cut:]
                _scan_formulas(carry, subtotals, sums)
    except (zipfile.BadZipFile, OSError, KeyError, ElementTree.ParseError):
        return frozenset(), frozenset()  # totals then come from their labels only
    return frozenset(subtotals), frozenset(sums)


def _scan_formulas(chunk: bytes, subtotals: set[int], sums: set[int]) -> None:
    if b"</f>" not in chunk and b":f>" not in chunk:
        return  # no formula text (`</f>` or `</x:f>`): most dumps have none, and this test is fast
    for match in _FORMULA.finditer(chunk):
        tag = chunk.rfind(b"row", 0, match.start())  # <row ...> or <x:row ...>: the row this formula is in
        tag = chunk.rfind(b"<", 0, tag) if tag > 0 else -1
        row = _ROW_NUMBER.match(chunk, tag) if tag >= 0 else None
        if row is None:
            continue
        number = int(row[1])
        if match[1].upper() in (b"SUBTOTAL", b"AGGREGATE"):
            subtotals.add(number)
        elif any(low != high and max(int(low), int(high)) < number for low, high in _VERTICAL_RANGE.findall(match[2])):
            sums.add(number)  # sums rows above it: SUM(D2:D90) in row 91, not a running SUM($D$2:D5) in row 5


def _xlsx_sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    element = next((e for e in workbook.iter() if e.tag.endswith("}sheet") and e.get("name") == sheet), None)
    if element is None:
        return None
    # r:id, in the transitional or the strict OOXML namespace
    rid = next((value for key, value in element.attrib.items() if key.endswith("}id")), None)
    relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next((e.get("Target") for e in relations if e.get("Id") == rid), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


# --- text tables --------------------------------------------------------------------------------------

def _read_text(path: Path, head: bytes, continues_header: HeaderContinues | None) -> Table:
    encoding = _detect_encoding(path, head)
    # For sniffing only: a character cut at the end waits unseen, bad bytes are reported by line when read.
    sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    if len(head) == SAMPLE_BYTES:
        sample = sample[: max(sample.rfind("\n"), sample.rfind("\r")) + 1] or sample
    if len(_CONTROL_CHARS.findall(sample)) > len(sample) / 200:  # UTF-16 escapes the byte test in _detect_encoding
        raise ReadError(f"{path.name}: not a text table (binary content)")
    _refuse_markup(path, sample)
    # Excel's `sep=;` first line names the delimiter and is no row.
    stated = re.match(r"sep=([;,\t|])\r?\n", sample)
    delimiter, width = _sniff(sample[stated.end():], (stated[1],)) if stated else _sniff(sample)
    syntax = _Syntax(delimiter or NO_DELIMITER, width)
    with _text_lines(path, encoding) as lines:
        try:
            records = _text_records(lines, syntax)
            found = _find_header(islice(records, 1, None) if stated else records, continues_header)
        except UnicodeDecodeError:
            raise _undecodable(path, encoding) from None
    if found is None:
        return Table(path.name, None, (), 0, 0, encoding, delimiter)
    line, header, titles = found
    sample_lines = sum(1 for _ in io.StringIO(sample, newline=""))
    estimate = max(0, round(path.stat().st_size * sample_lines / max(1, len(head))) - line)

    def rows() -> Iterator[Row]:
        with _text_lines(path, encoding) as lines:
            try:
                # Only here can cells move: a workbook's cells stay in their columns, headed or not.
                yield from _data_rows(_text_records(lines, syntax), line, width=len(header))
            except UnicodeDecodeError:
                raise _undecodable(path, encoding) from None

    return Table(path.name, None, header, line, estimate, encoding, delimiter, titles, rows)


def _text_lines(path: Path, encoding: str) -> io.TextIOWrapper:
    # newline="" keeps line ends as written: they are data inside a quoted cell, and a lone CR ends a line.
    return path.open(encoding=encoding, errors="strict", newline="")


def _undecodable(path: Path, encoding: str) -> ReadError:
    # The text layer decodes ahead in blocks, so the failing line is found again from the bytes.
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            try:
                line += decoder.decode(block).count("\n")
            except UnicodeDecodeError as exc:
                line += exc.object[: exc.start].decode(encoding, errors="ignore").count("\n")
                bad = exc.object[exc.start: exc.end].hex(" ").upper()
                return ReadError(f"{path.name}: line {line}: bytes {bad} are not {encoding} text")
    return ReadError(f"{path.name}: line {line}: not {encoding} text")


def _refuse_markup(path: Path, sample: str) -> None:
    # CRMs (Bitrix24 among them) save "Excel" exports as HTML, and 1C can write XML spreadsheets: neither
    # is a delimited table, and read as one they would give rows of markup.
    start = sample.lstrip("\ufeff \t\r\n")[:20].lower()
    if start.startswith(("<html", "<!doctype html", "<table", "<head", "<meta", "<body")):
        raise ReadError(f"{path.name}: an HTML page, not a table file (open it in Excel and save it as .xlsx)")
    if start.startswith("<?xml"):
        raise ReadError(f"{path.name}: an XML file, not a table file (open it in Excel and save it as .xlsx)")


# --- encodings ----------------------------------------------------------------------------------------

def _detect_encoding(path: Path, head: bytes) -> str:
    """The codec of a text file, judged by its bytes: BOM, UTF-16 without BOM, strict UTF-8, Russian codepage."""
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
                          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return encoding
    if utf16 := _utf16_without_bom(head):
        return utf16
    _refuse_binary(path, head)
    sample = head if not head.isascii() else _first_non_ascii_block(path)
    if not sample:
        return "utf-8"  # plain ASCII, or empty
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # a character cut by the block's end is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    scores = {codepage: _russian_score(sample, codepage) for codepage in _CYRILLIC_CODEPAGES}
    # cp1251 first, the region's codepage: DOS cp866 wins only where cp1251 does not read as Russian.
    best = next((codepage for codepage in _CYRILLIC_CODEPAGES if scores[codepage] >= 0.45), None)
    if best is not None:
        return best
    try:
        sample.decode("cp1251")
        return "cp1251"  # too little Russian to judge (a lone surname, `№`): the region's codepage
    except UnicodeDecodeError:
        pass
    # charset-normalizer only now: on short Russian samples it guesses shift_jis or cp932.
    guess = from_bytes(sample).best()
    if guess is None:
        raise ReadError(f"{path.name}: not a text table (unknown encoding or binary content)")
    return codecs.lookup(guess.encoding).name


def _utf16_without_bom(head: bytes) -> str | None:
    # In UTF-16 text the high byte of each unit is 0 (Latin, digits, delimiters), 4 (Cyrillic) or 0x20-0x21 (dashes, №).
    units = len(head) // 2
    if units < 2:
        return None
    for encoding, high, low in (("utf-16-le", head[1::2], head[0::2]), ("utf-16-be", head[0::2], head[1::2])):
        typical = sum(high.count(b) for b in (0, 4, 0x20, 0x21))
        if high.count(0) >= units / 10 and typical >= units * 0.95 and low.count(0) < units / 20:
            try:
                head[: units * 2].decode(encoding)
            except UnicodeDecodeError:
                continue
            return encoding
    return None


def _refuse_binary(path: Path, head: bytes) -> None:
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > len(head) / 200 or head.count(0) > len(head) / 10:
        kind = next((name for magic, name in _BINARY_KINDS.items() if head.startswith(magic)), "binary content")
        raise ReadError(f"{path.name}: not a text table ({kind})")


def _first_non_ascii_block(path: Path) -> bytes:
    # Only bytes above 0x7F tell encodings apart; files often start with a Latin or numeric stretch.
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            if not block.isascii():
                start = _NON_ASCII.search(block).start()  # all ASCII before it: a character starts here
                return block[start: start + SAMPLE_BYTES]
    return b""


_NEUTRAL_MARKS = frozenset("«»№—–…“”„‘’•·\u00a0\u00b0\u00a7\u00a9\u00ae")


def _russian_score(sample: bytes, encoding: str) -> float:
    """How much the non-ASCII text reads as Russian, 0 to 1: about 0.7-0.85 for Russian in the right
    codepage, under 0.3 in a wrong one (frequent letters turn into rare ones and box-drawing symbols)."""
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return 0.0
    # Typographic marks (« » № — …) are neutral: a cell of quotes says nothing about the codepage.
    foreign = [char.lower() for char in text if char > "\x7f" and char not in _NEUTRAL_MARKS]
    if not foreign:
        return 0.0
    return sum(_RUSSIAN_WEIGHT.get(char, 0) for char in foreign) / (len(_RUSSIAN_BY_FREQUENCY) * len(foreign))


# --- delimiters and quotes ----------------------------------------------------------------------------

def _sniff(sample: str, candidates: tuple[str, ...] = DELIMITERS) -> tuple[str | None, int]:
    """The delimiter that splits the sample's rows into the most consistent cell count, then the highest,
    and that count; None, 1 when none splits them (a one-column table). Rows whose quotes break under a
    delimiter count against it: `"a;b","c"` is two cells with `,`, not with `;`."""
    best: tuple[tuple[float, int], str | None, int] = ((0.0, 0), None, 1)
    for delimiter in candidates:
        syntax = _Syntax(delimiter)
        widths = Counter(len(cells) for _, cells in _text_records(io.StringIO(sample, newline=""), syntax)
                         if len(cells) > 1 or cells[0])  # not empty lines: they have one cell whatever splits them
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        score = ((count - syntax.broken_rows) / widths.total(), width)
        if width > 1 and score > best[0]:
            best = (score, delimiter, width)
    return best[1], best[2]


class _Syntax:
    """How one text table quotes: RFC 4180 quotes where they are well-formed, literal quotes elsewhere.

    A cell is quoted only when it starts with `"` and a closing `"` is followed by the delimiter or the
    line's end; `ООО "Ромашка"` and `"Ромашка" ООО` keep their quotes as written. A quoted cell left open
    at the end of a line continues on the next lines only if they close it well-formed within
    MAX_JOINED_LINES, without breaking another quote, into a row that fits the table's cell count at
    least as well as the line alone; otherwise the opening quote is literal and each line is a row."""

    def __init__(self, delimiter: str, width: int | None = None) -> None:
        d = re.escape(delimiter)
        self.delimiter = delimiter
        self.width = width  # the table's usual cell count; None accepts any well-formed join (sniffing)
        self.quote_start = delimiter + '"'
        self.quoted = re.compile(rf'"((?:[^"]|"")*+)"(?={d}|\Z)', re.S)
        self.unclosed = re.compile(r'"(?:[^"]|"")*+\Z', re.S)
        self.closes = re.compile(r'(?:[^"]|"")*+"', re.S)  # a line that ends a cell opened on an earlier line
        self.broken_rows = 0  # rows read so far whose quotes had to be taken literally
        # csv's strict mode refuses exactly the rows that are not well-formed; one reader, fed a row at a time.
        self._feed = _Feed()
        self._csv = csv.reader(self._feed, delimiter=delimiter, strict=True)

    def split(self, text: str) -> tuple[tuple[str, ...], int, bool]:
        """The cells of one row's text; how many cells have broken quotes (taken literally); and whether
        the last cell's quote is still open at the end (taken literally, unless later lines close it)."""
        self._feed.text = text
        try:
            return tuple(map(str.strip, next(self._csv))) or ("",), 0, False  # csv gives no cell for ""
        except csv.Error:  # a quote closed before other text, left open, or a cell over csv's size limit
            pass
        cells: list[str] = []
        delimiter, position, end, broken, still_open = self.delimiter, 0, len(text), 0, False
        while True:
            match = self.quoted.match(text, position) if text.startswith('"', position) else None
            if match:
                cells.append(match[1].replace('""', '"').strip())
                position = match.end()
            else:
                if text.startswith('"', position):
                    if self.unclosed.match(text, position):
                        still_open = True
                    elif not still_open:  # after an open quote only doubled quotes remain: not broken ones
                        broken += 1
                stop = text.find(delimiter, position)
                stop = end if stop < 0 else stop
                cells.append(text[position:stop].strip())
                position = stop
            if position >= end:
                return tuple(cells), broken, still_open
            position += 1


class _Feed:
    """An iterator of the one text last put in it, and then of nothing, as many times as refilled."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        text, self.text = self.text, None
        if text is None:
            raise StopIteration
        return text


def _better_joined(syntax: _Syntax, alone: tuple[str, ...], joined: tuple[str, ...]) -> bool:
    """Whether lines joined into one row fit the table's cell count at least as well as the first line
    alone with a literal quote (a tie is a writer's multi-line cell holding the delimiter)."""
    return syntax.width is None or abs(len(joined) - syntax.width) <= abs(len(alone) - syntax.width)


def _text_records(lines: Iterable[str], syntax: _Syntax) -> Records:
    """(line number, cells) for each row of a text table; see _Syntax for the quoting rules."""
    delimiter, quote_start = syntax.delimiter, syntax.quote_start
    numbered = enumerate(lines, 1)
    backlog: deque[tuple[int, str]] = deque()  # lines read ahead for an open quote, then given back

    def following() -> Iterator[tuple[int, str]]:
        while backlog:
            yield backlog.popleft()
        yield from numbered

    def quoted_row(raw: str) -> tuple[str, ...]:
        cells, broken, still_open = syntax.split(raw.rstrip("\r\n").replace("\x00", ""))
        if still_open:
            joined, ahead = raw, []
            for item in following():
                ahead.append(item)
                joined += item[1]
                if len(ahead) == MAX_JOINED_LINES:
                    break
                if not syntax.closes.match(item[1]):
                    continue  # the quoted cell goes on
                longer, broken_joined, reopened = syntax.split(joined.rstrip("\r\n").replace("\x00", ""))
                if reopened:
                    continue  # closed, and another quoted cell opened on the same line
                # The join must close the open cell well-formed (no new broken quote) and fit the table better.
                if broken_joined == broken and _better_joined(syntax, cells, longer):
                    cells, still_open, ahead = longer, False, []
                break
            backlog.extendleft(reversed(ahead))
        if broken or still_open:
            syntax.broken_rows += 1
        return cells

    for number, raw in numbered:
        text = raw.rstrip("\r\n")
        if '"' not in text or (text[:1] != '"' and quote_start not in text):  # the common case: no quoted cell
            if "\x00" in text:
                text = text.replace("\x00", "")
            yield number, tuple(map(str.strip, text.split(delimiter)))
            continue
        yield number, quoted_row(raw)
        while backlog:  # lines read ahead in vain are rows of their own, in order
            number, raw = backlog.popleft()
            yield number, quoted_row(raw)
