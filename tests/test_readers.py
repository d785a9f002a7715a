"""Readers: real files of every supported kind, written into tmp_path, and every row accounted for."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import zipfile
from functools import partial
from pathlib import Path

import pytest
import xlsxwriter
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table as OdsTable
from odf.table import TableCell, TableRow
from odf.text import P

from clientbase.ingest import continues_header, header_field
from clientbase.readers import TOTALS_ROW, ReadError, Row, read_tables


def rows_of(table) -> list[tuple[int, tuple[str, ...], str | None]]:
    return [(row.number, row.cells, row.rejected) for row in table.rows]


def only_table(path: Path, sheet: str | None = None):
    tables = read_tables(path, sheet)
    assert len(tables) == 1
    return tables[0]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- text files ---------------------------------------------------------------------------------------

def test_cp1251_semicolon_csv_from_1c(tmp_path):
    path = write(tmp_path, "1c.csv",
                 "Наименование;ИНН;Телефон;Ответственный\r\n"
                 'ООО "Ромашка";7707083893;8 (495) 741-22-19;Иванов\r\n'
                 "ИП Ёлкин А.А.;500100732259;+7 905 111-20-30 доб. 12;Петров\r\n"
                 "\r\n"
                 "АО «Вектор»;7702070139;;\r\n"
                 "Итого;;;3\r\n", "cp1251")
    table = only_table(path)
    assert (table.source, table.sheet, table.encoding, table.delimiter) == ("1c.csv", None, "cp1251", ";")
    assert table.header == ("Наименование", "ИНН", "Телефон", "Ответственный")
    assert table.header_line == 1
    assert rows_of(table) == [
        (1, ('ООО "Ромашка"', "7707083893", "8 (495) 741-22-19", "Иванов"), None),
        (2, ("ИП Ёлкин А.А.", "500100732259", "+7 905 111-20-30 доб. 12", "Петров"), None),
        (4, ("АО «Вектор»", "7702070139", "", ""), None),  # the blank line 4 is row 3, not yielded
        (5, ("Итого", "", "", "3"), TOTALS_ROW),
    ]
    assert [row.line for row in table.rows] == [2, 3, 5, 6]


@pytest.mark.parametrize("text", ["Телефон\n", "ООО РОМАШКА;МОСКВА\n", "Щукин;Ёж\n"])
def test_short_cp1251_samples_are_not_taken_for_asian_codepages(tmp_path, text):
    # charset-normalizer reads b"\xd2\xe5\xeb\xe5\xf4\xee\xed" ("Телефон") as shift_jis.
    table = only_table(write(tmp_path, "short.csv", text, "cp1251"))
    assert table.encoding == "cp1251"
    assert table.header == tuple(text.strip().split(";"))


def test_encoding_is_judged_where_the_first_non_ascii_bytes_are(tmp_path):
    latin = "".join(f"Client {i};+7 495 000-{i:04d}\r\n" for i in range(4000))  # ~100 KB, past the first sample
    path = write(tmp_path, "late.csv", "Name;Phone\r\n" + latin + "ООО Ромашка;+7 916 123-45-67\r\n", "cp1251")
    table = only_table(path)
    assert table.encoding == "cp1251"
    assert list(table.rows)[-1].cells == ("ООО Ромашка", "+7 916 123-45-67")


def test_cp866_dos_export(tmp_path):
    table = only_table(write(tmp_path, "dos.txt", "Контрагент;Город\nООО Ромашка;Москва\n", "cp866"))
    assert table.encoding == "cp866"
    assert rows_of(table) == [(1, ("ООО Ромашка", "Москва"), None)]


def test_utf8_bom_comma_csv(tmp_path):
    path = write(tmp_path, "crm.csv", "Company,Phone,City\n\"Smith, Jones & Co\",+1 212 555 0100,NYC\nАльфа,8-905-111-20-30,Тюмень\n",
                 "utf-8-sig")
    table = only_table(path)
    assert (table.encoding, table.delimiter, table.header) == ("utf-8-sig", ",", ("Company", "Phone", "City"))
    assert rows_of(table) == [(1, ("Smith, Jones & Co", "+1 212 555 0100", "NYC"), None),
                              (2, ("Альфа", "8-905-111-20-30", "Тюмень"), None)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(tmp_path, encoding):
    text = "Наименование\tТелефон\r\nООО Ромашка\t+7 495 741-22-19\r\nЗАО Лютик\t8 (3452) 12-34-56\r\n"
    table = only_table(write(tmp_path, "dialer.csv", text, encoding))
    assert table.delimiter == "\t"
    assert table.header == ("Наименование", "Телефон")
    assert rows_of(table) == [(1, ("ООО Ромашка", "+7 495 741-22-19"), None), (2, ("ЗАО Лютик", "8 (3452) 12-34-56"), None)]


def test_tab_separated_file_named_csv(tmp_path):
    table = only_table(write(tmp_path, "export.csv", "Name\tPhone\tNote\nООО Ромашка\t741-22-19; 8-905-111-20-30\ta, b\n"))
    assert table.delimiter == "\t"
    assert rows_of(table) == [(1, ("ООО Ромашка", "741-22-19; 8-905-111-20-30", "a, b"), None)]


def test_pipe_separated(tmp_path):
    table = only_table(write(tmp_path, "scrape.txt", "name|phone|city\nРомашка|+7 495 1234567|Москва, центр\nЛютик|123|\n"))
    assert table.delimiter == "|"
    assert rows_of(table) == [(1, ("Ромашка", "+7 495 1234567", "Москва, центр"), None), (2, ("Лютик", "123", ""), None)]


def test_unbalanced_quotes_never_swallow_lines(tmp_path):
    path = write(tmp_path, "broken.csv",
                 "Наименование;ИНН;Город\n"
                 'ООО "Ромашка;7707083893;Москва\n'          # quote opened inside an unquoted cell
                 "ООО Лютик;7708;Тверь\n"
                 '"Василек;7709;Тула\n'                        # quote opened at a cell's start, never closed
                 'ООО "Клевер";7710;Омск\n'
                 '"Ромашка" ООО;7711;Уфа\n'                    # quoted, then more text: the quotes are literal
                 '"ООО "Мак"";7712;Пермь\n'
                 'Тюльпан;"7713;Сочи\n', "cp1251")
    table = only_table(path)
    assert rows_of(table) == [
        (1, ('ООО "Ромашка', "7707083893", "Москва"), None),
        (2, ("ООО Лютик", "7708", "Тверь"), None),
        (3, ('"Василек', "7709", "Тула"), None),
        (4, ('ООО "Клевер"', "7710", "Омск"), None),
        (5, ('"Ромашка" ООО', "7711", "Уфа"), None),
        (6, ('"ООО "Мак""', "7712", "Пермь"), None),
        (7, ("Тюльпан", '"7713', "Сочи"), None),
    ]


def test_well_formed_quotes_span_delimiters_lines_and_doubled_quotes(tmp_path):
    path = write(tmp_path, "quoted.csv",
                 'Наименование;Адрес;Комментарий\r\n'
                 '"ООО ""Ромашка""";"Москва; ул. Ленина, 5";"звонить после 12;\r\nспросить Ивана"\r\n'
                 '"АО ""Вектор""";"";"строка 1\r\nстрока 2\r\n""строка 3"""\r\n'
                 'ЗАО Лютик;Тверь;\r\n')
    table = only_table(path)
    assert rows_of(table) == [
        (1, ('ООО "Ромашка"', "Москва; ул. Ленина, 5", "звонить после 12;\r\nспросить Ивана"), None),
        (2, ('АО "Вектор"', "", 'строка 1\r\nстрока 2\r\n"строка 3"'), None),
        (3, ("ЗАО Лютик", "Тверь", ""), None),
    ]
    assert [row.line for row in table.rows] == [2, 4, 7]


def test_title_rows_blank_rows_extra_cells_nul_bytes_and_lone_cr(tmp_path):
    path = write(tmp_path, "report.csv",
                 "Контрагенты на 01.12.2025;;;\r"
                 "Отбор: все;;;\r"
                 "\r"
                 "Наименование;Телефон\r"
                 "ООО Ром\x00ашка;  741-22-19 ;лишняя ячейка\r"
                 ";;\r"
                 "Лютик\r"
                 "Всего:;2\r")
    table = only_table(path)
    assert table.titles == ("Контрагенты на 01.12.2025", "Отбор: все")
    assert (table.header, table.header_line) == (("Наименование", "Телефон"), 4)
    assert rows_of(table) == [
        (1, ("ООО Ромашка", "741-22-19", "лишняя ячейка"), "too many cells: 3 for a header of 2"),
        (3, ("Лютик",), None),
        (4, ("Всего:", "2"), TOTALS_ROW),
    ]


def test_a_text_row_with_more_cells_than_the_header_is_set_aside_but_trailing_empty_cells_are_not(tmp_path):
    path = write(tmp_path, "1c.csv",
                 "Контрагент;Адрес;Телефон\r\n"
                 "ООО Вектор;г. Казань; ул. Ленина, д. 1;+7 843 260-00-01\r\n"  # an unquoted `;` in the address
                 "ООО Сигма;г. Казань;+7 843 260-00-02;;\r\n"
                 "ООО Лямбда;;;;;x;\r\n", "cp1251")
    assert rows_of(only_table(path)) == [
        (1, ("ООО Вектор", "г. Казань", "ул. Ленина, д. 1", "+7 843 260-00-01"), "too many cells: 4 for a header of 3"),
        (2, ("ООО Сигма", "г. Казань", "+7 843 260-00-02", "", ""), None),
        (3, ("ООО Лямбда", "", "", "", "", "x", ""), "too many cells: 6 for a header of 3"),
    ]


def test_totals_labels(tmp_path):
    path = write(tmp_path, "totals.csv",
                 "Name;Profit\n"
                 "Total Oil;5\n"            # a name, not a total
                 "Итого по группе Москва;5\n"  # a group total in the middle
                 "Всего понемногу;1\n"      # a shop's name
                 "Total;11\n"
                 "\n"
                 "Grand total:;11\n")
    assert [(number, rejected) for number, _, rejected in rows_of(only_table(path))] == [
        (1, None), (2, TOTALS_ROW), (3, None), (4, TOTALS_ROW), (6, TOTALS_ROW)]


def test_total_word_is_a_name_when_rows_follow(tmp_path):
    path = write(tmp_path, "t.csv", "Name;Phone\nTotal;1\nАльфа;2\n")
    assert [rejected for _, _, rejected in rows_of(only_table(path))] == [None, None]


def test_excel_sep_line_states_the_delimiter(tmp_path):
    table = only_table(write(tmp_path, "sep.csv", "sep=,\r\nName,Phone;Fax\r\nA,1;2\r\n"))
    assert (table.delimiter, table.header, table.header_line) == (",", ("Name", "Phone;Fax"), 2)
    assert rows_of(table) == [(1, ("A", "1;2"), None)]


def test_one_column_file(tmp_path):
    table = only_table(write(tmp_path, "phones.txt", 'Телефон\n741-22-19, 8-905-111-20-30\n"8 495 123-45-67"\n'))
    assert (table.delimiter, table.header) == (None, ("Телефон",))
    assert rows_of(table) == [(1, ("741-22-19, 8-905-111-20-30",), None), (2, ("8 495 123-45-67",), None)]


def test_empty_and_header_only_files(tmp_path):
    empty = only_table(write(tmp_path, "empty.csv", ""))
    assert (empty.source, empty.header, empty.header_line, rows_of(empty)) == ("empty.csv", (), 0, [])
    blank = only_table(write(tmp_path, "blank.csv", "\r\n;;\r\n  \r\n"))
    assert (blank.header, rows_of(blank)) == ((), [])
    header_only = only_table(write(tmp_path, "header.csv", "Наименование;ИНН\r\n", "cp1251"))
    assert (header_only.header, rows_of(header_only)) == (("Наименование", "ИНН"), [])


def test_rows_stream_and_can_be_read_again(tmp_path):
    path = write(tmp_path, "big.csv", "a;b\n" + "".join(f"{i};x\n" for i in range(5000)))
    table = only_table(path)
    stream = table.rows
    assert not isinstance(stream, list | tuple)
    assert next(stream) == Row(1, ("0", "x"), None, 2)
    assert sum(1 for _ in table.rows) == 5000
    assert 4000 < table.total_rows < 6000  # an estimate from the sample, for a progress bar


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89",
     "x.csv: not a text table (a PNG image)"),
    (random.Random(7).randbytes(4000), "x.csv: not a text table (binary content)"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x01\x02\x03\x04\x05\x06", "x.csv: not a text table (a PDF document)"),
])
def test_binary_file_named_csv(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ReadError) as error:
        read_tables(path)
    assert str(error.value) == message


def test_html_saved_as_xls_is_refused_with_advice(tmp_path):
    path = write(tmp_path, "bitrix.xls", '<html><head><meta charset="utf-8"></head><table><tr><td>Компания</td></tr></table></html>')
    with pytest.raises(ReadError, match=r"^bitrix\.xls: an HTML page, not a table file"):
        read_tables(path)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "letter.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ReadError, match=r"^letter\.csv: a document, not a spreadsheet or a text table$"):
        read_tables(path)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("Имя;Телефон\n".encode() + "".join(f"Имя {i};{i}\n" for i in range(20000)).encode()
                     + "Ошибка;1\n".encode("cp1251"))
    table = only_table(path)
    assert table.encoding == "utf-8"
    with pytest.raises(ReadError) as error:
        for _ in table.rows:
            pass
    assert str(error.value) == "mixed.csv: line 20002: bytes CE are not utf-8 text"


def test_missing_file(tmp_path):
    with pytest.raises(ReadError, match=r"^nope\.csv: No such file or directory$"):
        read_tables(tmp_path / "nope.csv")


# --- workbooks ----------------------------------------------------------------------------------------

@pytest.fixture
def crm_xlsx(tmp_path) -> Path:
    """Two sheets; an autofilter hiding rows; a SUBTOTAL total row with a cached value; a hidden lookup sheet."""
    path = tmp_path / "crm.xlsx"
    workbook = xlsxwriter.Workbook(path)
    day = workbook.add_format({"num_format": "dd.mm.yyyy"})
    stamp = workbook.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    clients = workbook.add_worksheet("Клиенты")
    clients.write_row(0, 0, ["Наименование", "Город", "Телефон", "Прибыль", "Дата", "Звонок", "Ключевой"])
    data = [("ООО Ромашка", "Москва", 79161234567.0, 1500.5), ("ЗАО Лютик", "Тверь", 74951234567.0, 200.0),
            ("ИП Ёлкин", "Москва", 89051112030.0, 0.1), ("АО Вектор", "Казань", 73452123456.0, 42.0)]
    for index, (name, city, phone, profit) in enumerate(data, 1):
        clients.write_row(index, 0, [name, city, phone, profit])
        clients.write_datetime(index, 4, dt.datetime(2025, 12, index), day)
        clients.write_datetime(index, 5, dt.datetime(2025, 12, index, 9, 30), stamp)
        clients.write_boolean(index, 6, index == 1)
    clients.autofilter(0, 0, len(data), 6)
    clients.filter_column(1, "x == Москва")
    for index, (_, city, _, _) in enumerate(data, 1):
        if city != "Москва":
            clients.set_row(index, options={"hidden": True})
    clients.write_formula(len(data) + 1, 3, f"=SUBTOTAL(9,D2:D{len(data) + 1})", None, 1500.6)
    managers = workbook.add_worksheet("Менеджеры")
    managers.write_row(2, 1, ["Менеджер", "Телефон"])  # the header on sheet row 3, column B
    managers.write_row(3, 1, ["Иванов", "доб. 12"])
    managers.write_row(5, 1, ["Петров", 123.0])
    managers.write_row(6, 1, ["Итого", 2])
    workbook.add_worksheet("Пустой")
    lookup = workbook.add_worksheet("Списки")
    lookup.write_column(0, 0, ["Розница", "Опт"])
    lookup.hide()
    workbook.close()
    return path


def test_xlsx_every_sheet_every_row(crm_xlsx):
    clients, managers = read_tables(crm_xlsx)
    assert (clients.source, clients.sheet, clients.header_line, clients.total_rows) == ("crm.xlsx#Клиенты", "Клиенты", 1, 5)
    assert clients.header == ("Наименование", "Город", "Телефон", "Прибыль", "Дата", "Звонок", "Ключевой")
    assert (clients.encoding, clients.delimiter) == (None, None)
    assert rows_of(clients) == [  # the rows hidden by the filter are rows too
        (1, ("ООО Ромашка", "Москва", "79161234567", "1500.5", "2025-12-01", "2025-12-01T09:30:00", "TRUE"), None),
        (2, ("ЗАО Лютик", "Тверь", "74951234567", "200", "2025-12-02", "2025-12-02T09:30:00", "FALSE"), None),
        (3, ("ИП Ёлкин", "Москва", "89051112030", "0.1", "2025-12-03", "2025-12-03T09:30:00", "FALSE"), None),
        (4, ("АО Вектор", "Казань", "73452123456", "42", "2025-12-04", "2025-12-04T09:30:00", "FALSE"), None),
        (5, ("", "", "", "1500.6", "", "", ""), TOTALS_ROW),  # no label: known by its SUBTOTAL formula
    ]
    assert (managers.source, managers.header, managers.header_line) == ("crm.xlsx#Менеджеры", ("Менеджер", "Телефон"), 3)
    assert rows_of(managers) == [(1, ("Иванов", "доб. 12"), None), (3, ("Петров", "123"), None),
                                 (4, ("Итого", "2"), TOTALS_ROW)]
    assert [row.line for row in managers.rows] == [4, 6, 7]


def test_xlsx_sheet_option(crm_xlsx):
    table = only_table(crm_xlsx, "Менеджеры")
    assert (table.source, table.sheet) == ("crm.xlsx#Менеджеры", "Менеджеры")
    hidden = only_table(crm_xlsx, "Списки")  # a hidden sheet is read when named
    assert (hidden.header, rows_of(hidden)) == (("Розница",), [(1, ("Опт",), None)])
    empty = only_table(crm_xlsx, "Пустой")
    assert (empty.source, empty.header, rows_of(empty)) == ("crm.xlsx#Пустой", (), [])


def test_missing_sheet_lists_the_sheets(crm_xlsx):
    with pytest.raises(ReadError) as error:
        read_tables(crm_xlsx, "Clients")
    assert str(error.value) == "crm.xlsx: no sheet 'Clients' (sheets: 'Клиенты', 'Менеджеры', 'Пустой', 'Списки')"


def test_xlsx_renamed_to_csv_is_read_as_excel(crm_xlsx, tmp_path):
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(crm_xlsx.read_bytes())
    clients, managers = read_tables(renamed)
    assert clients.source == "export.csv#Клиенты"
    assert rows_of(clients) == rows_of(read_tables(crm_xlsx)[0])


def test_single_sheet_workbook_has_no_sheet_suffix_and_running_sums_are_data(tmp_path):
    path = tmp_path / "one.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Лист1")
    sheet.write_row(0, 0, ["Name", "Profit", "Running"])
    for row in range(1, 4):
        sheet.write_row(row, 0, [f"Client {row}", row])
        sheet.write_formula(row, 2, f"=SUM($B$2:B{row + 1})", None, row * (row + 1) / 2)
    sheet.write_formula(4, 1, "=SUM(B2:B4)", None, 6)  # a total without a label, at the end
    workbook.close()
    table = only_table(path)
    assert table.source == "one.xlsx"
    assert rows_of(table) == [(1, ("Client 1", "1", "1"), None), (2, ("Client 2", "2", "3"), None),
                              (3, ("Client 3", "3", "6"), None), (4, ("", "6", ""), TOTALS_ROW)]


def test_xls(tmp_path):
    path = tmp_path / "1c.xls"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("ТОРГ")
    sheet.write(0, 0, "Контрагенты")  # a title above the header
    for column, title in enumerate(["Контрагент", "ИНН", "Телефон", "Дата"]):
        sheet.write(2, column, title)
    date_style = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    sheet.write(3, 0, "ООО Ромашка")
    sheet.write(3, 1, 7707083893)
    sheet.write(3, 2, 79161234567.0)
    sheet.write(3, 3, dt.date(2025, 12, 31), date_style)
    sheet.write(4, 0, "Итого")
    sheet.write(4, 1, 1)
    book.save(str(path))
    table = only_table(path)
    assert (table.source, table.titles, table.header_line) == ("1c.xls", ("Контрагенты",), 3)
    assert table.header == ("Контрагент", "ИНН", "Телефон", "Дата")
    assert rows_of(table) == [(1, ("ООО Ромашка", "7707083893", "79161234567", "2025-12-31"), None),
                              (2, ("Итого", "1", "", ""), TOTALS_ROW)]


def test_a_title_then_a_header_on_two_rows_under_merged_cells(tmp_path):
    path = tmp_path / "1c.xls"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Клиенты")
    sheet.write(0, 0, "Контрагенты на 01.12.2025")
    sheet.write_merge(1, 2, 0, 0, "Контрагент")
    sheet.write_merge(1, 1, 1, 2, "Связь")
    sheet.write(2, 1, "Телефон")
    sheet.write(2, 2, "Эл. почта")
    sheet.write(3, 0, "ООО Ромашка")
    sheet.write(3, 1, "+7 495 123-45-67")
    book.save(str(path))
    (table,) = read_tables(path, continues_header=partial(continues_header, overrides={}))
    assert (table.titles, table.header, table.header_line) == (
        ("Контрагенты на 01.12.2025",), ("Контрагент", "Телефон", "Эл. почта"), 3)
    assert rows_of(table) == [(1, ("ООО Ромашка", "+7 495 123-45-67", ""), None)]


def test_ods(tmp_path):
    path = tmp_path / "base.ods"
    document = OpenDocumentSpreadsheet()
    for name, rows in (("Клиенты", [["Наименование", "Телефон", "Дата"],
                                    ["ООО Ромашка", 79161234567, dt.date(2025, 1, 2)], [], ["ЗАО Лютик", 0.5, None]]),
                       ("Пусто", [])):
        sheet = OdsTable(name=name)
        for values in rows:
            row = TableRow()
            for value in values:
                if isinstance(value, str):
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=value))
                elif isinstance(value, dt.date):
                    cell = TableCell(valuetype="date", datevalue=value.isoformat())
                elif value is None:
                    cell = TableCell()
                else:
                    cell = TableCell(valuetype="float", value=value)
                row.addElement(cell)
            sheet.addElement(row)
        document.spreadsheet.addElement(sheet)
    document.save(str(path))
    table = only_table(path)  # the empty sheet is skipped, but the workbook still has two
    assert (table.source, table.header) == ("base.ods#Клиенты", ("Наименование", "Телефон", "Дата"))
    assert rows_of(table) == [(1, ("ООО Ромашка", "79161234567", "2025-01-02"), None), (3, ("ЗАО Лютик", "0.5", ""), None)]


def test_damaged_workbook(tmp_path, crm_xlsx):
    path = tmp_path / "cut.xlsx"
    path.write_bytes(crm_xlsx.read_bytes()[:2000])
    with pytest.raises(ReadError, match=r"^cut\.xlsx: a damaged zip archive"):
        read_tables(path)
    ole = tmp_path / "old.xls"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(ReadError, match=r"^old\.xls: cannot read the xls workbook \(.+\)$"):
        read_tables(ole)


# --- any table written by a csv writer reads back exactly -------------------------------------------------

DELIMITERS = (";", ",", "\t", "|")
LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯabcxyzABCXYZ0123456789"


@st.composite
def written_tables(draw):
    delimiter = draw(st.sampled_from(DELIMITERS))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    others = "".join(d for d in DELIMITERS if d != delimiter) if quoting == csv.QUOTE_MINIMAL else ""
    # Under minimal quoting another delimiter in a bare cell would make the file ambiguous.
    alphabet = LETTERS + ' "\'\n\r.-№«»+()' + delimiter + ("" if others else ";,\t|")
    cell = st.text(alphabet=alphabet, max_size=12).map(str.strip)
    width = draw(st.integers(2, 5))
    header = ["Наименование"] + draw(st.lists(cell.filter(bool), min_size=width - 1, max_size=width - 1))
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=12))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
    return delimiter, quoting, encoding, header, rows


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(written_tables())
def test_csv_writer_output_reads_back_exactly(tmp_path, table):
    delimiter, quoting, encoding, header, rows = table
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "generated.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))

    read = only_table(path)
    assert read.delimiter == delimiter
    assert read.header == tuple(header)
    assert [(row.number, row.cells) for row in read.rows] == [
        (number, tuple(cells)) for number, cells in enumerate(rows, 1) if any(cells)]


@st.composite
def hand_made_lines(draw):
    """1C-style rows: nothing is quoted on purpose, so a quote may open a cell but never closes one."""
    delimiter = draw(st.sampled_from(DELIMITERS))
    cell = st.text(alphabet=LETTERS[::3] + ' "«»', max_size=10).map(str.strip).filter(lambda text: not text.endswith('"'))
    width = draw(st.integers(2, 5))
    lines = draw(st.lists(st.lists(cell, min_size=width, max_size=width).filter(any), min_size=1, max_size=30))
    return delimiter, ["Наименование"] + [f"column {i}" for i in range(1, width)], lines


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hand_made_lines())
def test_stray_quotes_keep_every_line_a_row(tmp_path, table):
    delimiter, header, lines = table
    path = tmp_path / "hand.csv"
    # UTF-8: this property is about quotes; a few letters of cp1251 are too little to tell its codepage.
    path.write_bytes("".join(delimiter.join(cells) + "\r\n" for cells in [header, *lines]).encode("utf-8"))
    assert [row.cells for row in only_table(path).rows] == [tuple(cells) for cells in lines]


@pytest.mark.parametrize("cells", [["«««", "«««"], ["ЁЁ", "ЁЁЁФ"]])
def test_fuzz_found_cp1251_samples_of_few_letters_stay_cp1251(tmp_path, cells):
    """Hypothesis found these: in cp866 the same bytes read as frequent letters (`ллл`, `иии`)."""
    path = tmp_path / "few.csv"
    path.write_bytes(("Наименование;Город\r\n" + ";".join(cells) + "\r\n").encode("cp1251"))
    assert [row.cells for row in only_table(path).rows] == [tuple(cells)]


# --- a header on two rows reads as one, and never takes a data row with it ---------------------------------

SUB_HEADERS = ["Телефон", "E-mail", "Город", "Ответственный", "Комментарий"]
CELLS = ["", "ООО Альфа", "Компания Вектор", "Телефон", "E-mail", "Ответственный", "7729141771", "+7 495 123-45-67",
         "info@alfa.ru", "звонить после 18", "Москва", "12"]


@st.composite
def headed_tables(draw):
    """(upper header row, lower header row or None, the header they make, data rows): the lower row holds the
    sub-headers of a group cell left blank to its right, as a merged cell reads; without one, the header may
    have blank cells and the first data row anything at all."""
    width = draw(st.integers(2, 6))
    names = draw(st.lists(st.sampled_from(["Компания", "ИНН", *SUB_HEADERS]), min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=width, max_size=width), min_size=1, max_size=6))
    if draw(st.booleans()):
        start = draw(st.integers(0, width - 2))
        end = draw(st.integers(start + 2, width))
        sub = draw(st.lists(st.sampled_from(SUB_HEADERS), min_size=end - start, max_size=end - start))
        names[start:end] = sub
        upper = names[:start] + ["Контакты"] + [""] * (end - start - 1) + names[end:]
        lower = [""] * start + sub + [""] * (width - end)
        return upper, lower, names, rows
    blanks = draw(st.sets(st.integers(0, width - 1), max_size=width - 2))
    header = ["" if index in blanks else name for index, name in enumerate(names)]
    return header, None, header, rows


def holds_identifying_data(cells):
    return any(cell in ("7729141771", "+7 495 123-45-67", "info@alfa.ru") for cell in cells)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headed_tables())
def test_a_two_row_header_reads_as_one_and_no_data_row_is_lost(tmp_path, drawn):
    upper, lower, header, rows = drawn
    path = tmp_path / "two.csv"
    path.write_text("".join(";".join(cells) + "\n" for cells in [upper, *([lower] if lower else []), *rows]),
                    encoding="utf-8")
    (table,) = read_tables(path, continues_header=partial(continues_header, overrides={}))
    read = [(row.number, row.cells) for row in table.rows]
    if lower is not None or table.header_line == 1:
        assert table.header == tuple(header)
        assert read == [(number, tuple(cells)) for number, cells in enumerate(rows, 1) if any(cells)]
    else:  # only a row of field names, without a phone, INN or email, may be taken for sub-headers
        assert table.header_line == 2 and not holds_identifying_data(rows[0])
        assert all(header_field(cell, {}) for cell in rows[0] if cell)
        assert read == [(number, tuple(cells)) for number, cells in enumerate(rows[1:], 1) if any(cells)]
