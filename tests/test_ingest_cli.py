"""Ingest and export through the real command line, on files written here."""

import csv
import hashlib
import io
import json
import sqlite3

import xlsxwriter
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table as OdsTable
from odf.table import TableCell, TableRow
from odf.text import P
from python_calamine import CalamineWorkbook

HEADER = "Контрагент;ИНН;КПП;Телефон;Адрес;Менеджер;Сумма продаж;Дата последней отгрузки"
ROWS = [
    "ООО «Ромашка»;7707083893;773601001;8 (495) 123-45-67, доб. 12;г. Москва, ул. Ленина 1;Иванов;1 234 567,89;31.12.2025",
    'Общество с ограниченной ответственностью "РОМАШКА";7707083893;;+7 495 1234567;г. Москва;Петров;100;01.10.2026',
    "ИП Сидоров;;;55-66-77;г. Тюмень, ул. Мира 2;Иванов;;",
    ";;;касса;;;;",
    "Итого;;;;;;1 234 667,89;",
]


def write_1c(path, rows=ROWS):
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("cp1251"))
    return path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def export(run, kind, *extra):
    return list(csv.DictReader(io.StringIO(run("export", kind, *extra).stdout)))


def test_a_1c_dump_is_read_completely_and_traceably(run, tmp_path):
    dump = write_1c(tmp_path / "1c.csv")
    summary = json.loads(run("ingest", str(dump), "--json").stdout)
    (source,) = summary["sources"]
    assert source["rows"] == 5 and source["ok"] == 3
    assert source["rejected"] == {"no name, phone, INN or email": 1, "totals row": 1}
    records = export(run, "records")
    assert [r["record_ref"] for r in records] == [f"1c.csv:{n}" for n in range(1, 6)]
    assert {r["record_ref"]: r["reason"] for r in records if r["status"] == "rejected"} == {
        "1c.csv:4": "no name, phone, INN or email", "1c.csv:5": "totals row"}


def test_a_row_with_more_cells_than_the_header_is_kept_but_rejected_not_shifted(run, tmp_path):
    # 1C writes an address with an unquoted `;`: every cell after it moves one column to the right.
    dump = tmp_path / "1c.csv"
    dump.write_bytes(("Контрагент;Телефон;Адрес;Менеджер;Сумма продаж;Дата последней отгрузки\r\n"
                      "ООО Вектор;+7 843 260-00-01;г. Казань; ул. Ленина, д. 1;Иванов Иван;1 234 567,89;31.10.2026\r\n"
                      "ООО Сигма;+7 843 260-00-02;г. Казань;Иванов Иван;500,00;01.11.2026;;\r\n").encode("cp1251"))
    summary = json.loads(run("ingest", str(dump), "--json").stdout)
    (source,) = summary["sources"]
    assert (source["rows"], source["ok"]) == (2, 1)  # the trailing empty cells of row 2 are no problem
    assert source["rejected"] == {"too many cells: 7 for a header of 6": 1}
    assert [(r["record_ref"], r["status"], r["reason"]) for r in export(run, "records")] == [
        ("1c.csv:1", "rejected", "too many cells: 7 for a header of 6"), ("1c.csv:2", "ok", "")]
    run("clean", "--as-of", "2026-11-20")
    assert [(c["name"], c["owner"]) for c in export(run, "clients")] == [("ООО Сигма", "Иванов Иван")]
    with sqlite3.connect(tmp_path / "cb.db") as db:  # nothing lost: the raw row holds every cell
        (raw,) = db.execute("SELECT w.raw FROM records r JOIN record_raw w ON w.record_id = r.id WHERE r.row = 1").fetchone()
    assert list(json.loads(raw).values()) == ["ООО Вектор", "+7 843 260-00-01", "г. Казань", "ул. Ленина, д. 1",
                                              "Иванов Иван", "1 234 567,89", "31.10.2026"]


def test_export_phones_has_one_row_per_number_with_its_judgement(run, tmp_path):
    run("ingest", str(write_1c(tmp_path / "1c.csv")))
    phones = export(run, "phones")
    by_ref = {p["record_ref"]: p for p in phones}
    assert by_ref["1c.csv:1"]["e164"] == "+74951234567" and by_ref["1c.csv:1"]["extension"] == "12"
    assert by_ref["1c.csv:1"]["raw"] == "8 (495) 123-45-67, доб. 12"
    assert by_ref["1c.csv:3"]["e164"] == "+73452556677"  # completed from the city in the address
    assert "3452" in by_ref["1c.csv:3"]["reason"]
    assert all(p["type"] == "fixed" and p["status"] == "ok" for p in phones)


def test_output_dash_is_standard_output_not_a_file(run, tmp_path):
    run("ingest", str(write_1c(tmp_path / "1c.csv")))
    run("clean")
    assert run("export", "phones", "-o", "-").stdout == run("export", "phones").stdout
    refused = run("today", "-o", "-", check=2)
    assert "--json" in refused.stderr
    assert not (tmp_path / "-").exists()


def test_reingesting_the_same_file_is_a_no_op(run, tmp_path):
    dump = write_1c(tmp_path / "1c.csv")
    run("ingest", str(dump))
    before = run("export", "records").stdout
    again = json.loads(run("ingest", str(dump), "--json").stdout)
    assert again["sources"][0]["outcome"] == "unchanged"
    assert run("export", "records").stdout == before


def test_a_changed_file_replaces_its_source_and_keeps_references(run, tmp_path):
    dump = write_1c(tmp_path / "1c.csv")
    run("ingest", str(dump))
    write_1c(dump, ROWS[:2] + ["ООО Новая;;;+7 916 123-45-67;г. Москва;Сидоров;;"])
    result = json.loads(run("ingest", str(dump), "--json").stdout)
    assert result["sources"][0]["outcome"] == "replaced"
    refs = [r["record_ref"] for r in export(run, "records")]
    assert refs == ["1c.csv:1", "1c.csv:2", "1c.csv:3"]
    assert {p["e164"] for p in export(run, "phones") if p["record_ref"] == "1c.csv:3"} == {"+79161234567"}


def test_source_option_names_the_references(run, tmp_path):
    run("ingest", str(write_1c(tmp_path / "dump.csv")), "--source", "1c")
    assert export(run, "records")[0]["record_ref"] == "1c:1"


def test_two_files_of_one_name_are_refused_not_read_one_over_the_other(run, tmp_path):
    for folder in ("msk", "spb"):
        (tmp_path / folder).mkdir()
        write_1c(tmp_path / folder / "clients.csv")
    result = run("ingest", str(tmp_path / "msk" / "clients.csv"), str(tmp_path / "spb" / "clients.csv"), check=1)
    assert result.stderr.strip() == ("error: clients.csv: two files of this name would be one source, the second "
                                      "replacing the first; read each alone with its own --source")
    assert run("ingest", str(tmp_path / "msk" / "clients.csv"), "--source", "", check=1).stderr.strip() == (
        "error: --source needs a name")
    assert export(run, "records") == []


def test_the_base_s_own_files_are_refused_as_dumps_before_anything_is_read(run, tmp_path):
    # A glob over the base's folder (`ingest /data/*`) names the base, its log and its lock among the dumps.
    dump = write_1c(tmp_path / "dump.csv")
    run("ingest", str(dump))
    before = export(run, "records")
    for own, what in (("cb.db", "the base itself"), ("cb.db.lock", "a file the base keeps beside it (cb.db.lock)")):
        result = run("ingest", str(dump), str(tmp_path / own), check=1)
        assert result.stderr.strip() == f"error: {tmp_path / own}: is {what}, not a dump: name the files to read"
    assert run("calls", str(tmp_path / "cb.db"), check=1).stderr.strip() == (
        f"error: {tmp_path / 'cb.db'}: is the base itself, not a dump: name the files to read")
    assert export(run, "records") == before


def test_dry_run_writes_nothing(run, tmp_path):
    run("init")
    db = tmp_path / "cb.db"
    before = digest(db)
    result = json.loads(run("ingest", str(write_1c(tmp_path / "1c.csv")), "--dry-run", "--json").stdout)
    assert result["dry_run"] and result["rows"] == 5
    assert digest(db) == before
    assert export(run, "records") == []


def test_a_binary_file_is_a_one_line_error_and_leaves_the_database_as_it_was(run, tmp_path):
    good = write_1c(tmp_path / "1c.csv")
    run("ingest", str(good))
    before = run("export", "records").stdout
    bad = tmp_path / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    other = write_1c(tmp_path / "second.csv")
    result = run("ingest", str(other), str(bad), check=1)
    assert "photo.csv" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run("export", "records").stdout == before  # second.csv was not half-written either


def test_a_dump_without_a_header_row_is_refused_not_read_without_its_first_row(run, tmp_path):
    run("ingest", str(write_1c(tmp_path / "1c.csv")))
    db = tmp_path / "cb.db"
    before = digest(db)
    headerless = tmp_path / "nohdr.csv"
    headerless.write_text("ООО Ромашка;7729141771;8 495 123 45 67\nООО Лютик;7769074391;8 495 123 45 68\n",
                          encoding="utf-8")
    result = run("ingest", str(write_1c(tmp_path / "second.csv")), str(headerless), check=1)
    assert result.stderr.strip() == (
        "error: nohdr.csv: no header row recognised: line 1 (ООО Ромашка; 7729141771; 8 495 123 45 67) has no "
        "name, phone, INN or email column (headers such as Компания or Наименование, Телефон, ИНН, E-mail); add a "
        'header row, or if this line is the header, name its columns with --map "Header=field"')
    assert digest(db) == before  # second.csv was not written either


def test_a_lookup_sheet_beside_the_clients_is_read_with_its_rows_rejected_not_refusing_the_workbook(run, tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for title, rows in (("Клиенты", [["Наименование", "ИНН", "Телефон"], ["ООО Ромашка", "7707083893", "+7 916 123-45-67"],
                                     ["ООО Лютик", "", "+7 916 222-33-44"]]),
                        ("Справочник", [["Код", "Значение"], ["1", "Розница"]])):
        sheet = book.add_worksheet(title)
        for row, cells in enumerate(rows):
            sheet.write_row(row, 0, cells)
    book.close()
    clients, lookup = json.loads(run("ingest", str(path), "--json").stdout)["sources"]
    assert (clients["source"], clients["rows"], clients["ok"]) == ("crm.xlsx#Клиенты", 2, 2)
    assert (lookup["source"], lookup["rows"], lookup["rejected"]) == (
        "crm.xlsx#Справочник", 1, {"no name, phone, INN or email": 1})
    assert lookup["note"].startswith("no name, phone, INN or email column in the header on row 1") and not clients["note"]
    shown = run("--db", str(tmp_path / "shown.db"), "ingest", str(path), env={"COLUMNS": "200"}).stderr
    assert "crm.xlsx#Справочник: no name, phone, INN or email column in the header on row 1" in shown
    assert [(r["record_ref"], r["status"]) for r in export(run, "records")] == [
        ("crm.xlsx#Клиенты:1", "ok"), ("crm.xlsx#Клиенты:2", "ok"), ("crm.xlsx#Справочник:1", "rejected")]
    # Read alone, the lookup sheet is the whole input: refused, as a dump without a header row is.
    alone = run("--db", str(tmp_path / "alone.db"), "ingest", str(path), "--sheet", "Справочник", check=1)
    assert "crm.xlsx#Справочник: no header row recognised: row 1 (Код; Значение)" in alone.stderr


def test_a_header_the_mapping_does_not_know_is_refused_until_map_names_its_columns(run, tmp_path):
    dump = tmp_path / "export.csv"
    dump.write_text("Firma;Steuernummer\nООО Ромашка;7729141771\n", encoding="utf-8")
    assert "export.csv: no header row recognised: line 1 (Firma; Steuernummer)" in run(
        "ingest", str(dump), check=1).stderr
    run("ingest", str(dump), "--map", "Firma=name", "--map", "Steuernummer=inn")
    assert [(r["record_ref"], r["status"]) for r in export(run, "records")] == [("export.csv:1", "ok")]


def test_map_overrides_a_header_and_unknown_columns_stay_in_the_raw_record(run, tmp_path):
    dump = tmp_path / "list.csv"
    dump.write_text("Фирма,Тел.,Любимый цвет\nАльфа,+7 916 123-45-67,синий\n", encoding="utf-8")
    result = json.loads(run("ingest", str(dump), "--map", "Фирма=name", "--json").stdout)
    assert result["sources"][0]["ok"] == 1
    assert result["sources"][0]["unmapped"] == ["Любимый цвет"]
    bad = run("ingest", str(dump), "--map", "Фирма=nmae", check=1)
    assert "unknown field 'nmae'" in bad.stderr


def test_an_xlsx_with_two_sheets_gives_a_source_per_sheet(run, tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for title, names in (("Клиенты", ["Альфа", "Бета"]), ("Архив", ["Гамма"])):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, ["Компания", "Телефоны", "ИНН"])
        for row, name in enumerate(names, start=1):
            sheet.write_row(row, 0, [name, "+7 916 123-45-6" + str(row), ""])
    book.close()
    run("ingest", str(path))
    refs = [r["record_ref"] for r in export(run, "records")]
    assert refs == ["crm.xlsx#Клиенты:1", "crm.xlsx#Клиенты:2", "crm.xlsx#Архив:1"]
    only = tmp_path / "only.db"
    run("--db", str(only), "ingest", str(path), "--sheet", "Архив")
    just_one = csv.DictReader(io.StringIO(run("--db", str(only), "export", "records").stdout))
    assert [r["record_ref"] for r in just_one] == ["crm.xlsx#Архив:1"]
    missing = run("ingest", str(path), "--sheet", "Нет такого", check=1)
    assert "Нет такого" in missing.stderr


def write_ods(path, sheets):
    document = OpenDocumentSpreadsheet()
    for title, rows in sheets.items():
        table = OdsTable(name=title)
        for values in rows:
            row = TableRow()
            for value in values:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
                row.addElement(cell)
            table.addElement(row)
        document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def test_sheet_is_found_whatever_its_case_and_spaces_the_reference_keeps_the_workbooks_name(run, tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for title, name in (("Клиенты ", "Альфа"), ("Архив", "Гамма")):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, ["Компания", "Телефоны"])
        sheet.write_row(1, 0, [name, "+7 916 123-45-61"])
    book.close()
    (source,) = json.loads(run("ingest", str(path), "--sheet", " клиенты", "--json").stdout)["sources"]
    assert (source["source"], source["ok"]) == ("crm.xlsx#Клиенты ", 1)
    assert [r["record_ref"] for r in export(run, "records")] == ["crm.xlsx#Клиенты :1"]
    # Read again under the name as written, it is the same source, not a second one.
    run("ingest", str(path), "--sheet", "Клиенты ")
    assert [r["record_ref"] for r in export(run, "records")] == ["crm.xlsx#Клиенты :1"]


def test_sheet_named_exactly_wins_and_two_names_differing_only_by_case_are_refused(run, tmp_path):
    rows = [["Компания", "Телефоны"], ["Альфа", "+7 916 123-45-61"]]
    path = write_ods(tmp_path / "crm.ods", {"Клиенты": rows, "клиенты": [rows[0], ["Бета", "+7 916 123-45-62"]]})
    (source,) = json.loads(run("ingest", str(path), "--sheet", "клиенты", "--json").stdout)["sources"]
    assert source["source"] == "crm.ods#клиенты"
    ambiguous = write_ods(tmp_path / "two.ods", {"Клиенты": rows, "КЛИЕНТЫ": rows})
    refused = run("--db", str(tmp_path / "two.db"), "ingest", str(ambiguous), "--sheet", "клиенты", check=1)
    assert refused.stderr.strip() == ("error: two.ods: sheet 'клиенты' could be any of 'Клиенты', 'КЛИЕНТЫ', "
                                      "which differ only by case or spaces; give its exact name")
    assert run("--db", str(tmp_path / "two.db"), "export", "records").stdout.splitlines()[1:] == []


TWO_ROW_CLIENTS = [["ООО Альфа", "7729141771", "+7 (495) 123-45-00", "info@alfa.ru", "Петрова Анна"],
                   ["ООО Бета", "7776317060", "+7 (495) 123-45-01", "sales@beta.ru", "Петрова Анна"]]


def assert_two_row_header_read_as_one(run, path):
    (source,) = json.loads(run("ingest", str(path), "--json").stdout)["sources"]
    assert source["mapping"] == {"Компания": "name", "ИНН": "inn", "Телефон": "phone", "E-mail": "email",
                                 "Ответственный": "owner"}
    assert (source["rows"], source["ok"], source["phones"]) == (2, 2, {"ok": 2})
    assert [r["record_ref"] for r in export(run, "records")] == [f"{path.name}:1", f"{path.name}:2"]
    run("clean", "--as-of", "2026-11-20")
    assert [(c["name"], c["owner"], c["state"]) for c in export(run, "clients")] == [
        ("ООО Альфа", "Петрова Анна", "owned"), ("ООО Бета", "Петрова Анна", "owned")]


def test_a_workbook_header_on_two_rows_under_a_merged_group_cell_is_read_as_one(run, tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("База")
    for column, title in ((0, "Компания"), (1, "ИНН"), (4, "Ответственный")):
        sheet.merge_range(0, column, 1, column, title)
    sheet.merge_range(0, 2, 0, 3, "Контакты")
    sheet.write_row(1, 2, ["Телефон", "E-mail"])
    for row, cells in enumerate(TWO_ROW_CLIENTS, start=2):
        sheet.write_row(row, 0, cells)
    book.close()
    assert_two_row_header_read_as_one(run, path)


def test_a_text_header_on_two_rows_is_read_as_one_but_a_first_row_of_contacts_stays_a_record(run, tmp_path):
    path = tmp_path / "crm.csv"
    lines = ["Компания;ИНН;Контакты;;Ответственный", ";;Телефон;E-mail;", *map(";".join, TWO_ROW_CLIENTS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_two_row_header_read_as_one(run, path)
    # The same shape with a phone and an email under the group is data, not sub-headers.
    contacts_first = tmp_path / "contacts.csv"
    contacts_first.write_text("Компания;ИНН;Контакты;;Ответственный\n;;+7 (495) 123-45-02;info@gamma.ru;\n",
                              encoding="utf-8")
    (source,) = json.loads(run("ingest", str(contacts_first), "--json").stdout)["sources"]
    assert (source["rows"], source["unmapped"]) == (1, ["Контакты", ""])


def test_a_first_row_under_a_header_with_a_blank_cell_stays_a_record(run, tmp_path):
    # `Наименование` followed by a blank is a field, no group title; `Компания Вектор`, `Клиент` are values.
    path = tmp_path / "twohdr.csv"
    path.write_text("Наименование;;ИНН;Телефон\nКомпания Вектор;Клиент;;\n"
                    "ООО Ромашка;Клиент;7707083893;+7 916 222-33-44\nООО Лютик;Клиент;;+7 916 333-44-55\n",
                    encoding="utf-8")
    (source,) = json.loads(run("ingest", str(path), "--json").stdout)["sources"]
    assert (source["rows"], source["ok"]) == (3, 3)
    assert source["mapping"] == {"Наименование": "name", "ИНН": "inn", "Телефон": "phone"}
    run("clean", "--as-of", "2026-11-20")
    assert sorted(c["name"] for c in export(run, "clients")) == ["Компания Вектор", "ООО Лютик", "ООО Ромашка"]


def test_a_workbook_sent_again_with_one_sheet_left_replaces_that_sheets_source(run, tmp_path):
    path = tmp_path / "crm.xlsx"
    for sheets in ({"Клиенты": ["Альфа", "Бета"], "Архив": ["Гамма"]}, {"Клиенты": ["Альфа", "Бета", "Дельта"]}):
        book = xlsxwriter.Workbook(str(path))
        for title, names in sheets.items():
            sheet = book.add_worksheet(title)
            sheet.write_row(0, 0, ["Компания", "Телефоны", "ИНН"])
            for row, name in enumerate(names, start=1):
                sheet.write_row(row, 0, [name, f"+7 916 507-23-{80 + row}", ""])
        book.close()
        result = json.loads(run("ingest", str(path), "--json").stdout)
    assert [(s["source"], s["outcome"]) for s in result["sources"]] == [("crm.xlsx#Клиенты", "replaced")]
    refs = {r["record_ref"] for r in export(run, "records")}
    assert refs == {"crm.xlsx#Клиенты:1", "crm.xlsx#Клиенты:2", "crm.xlsx#Клиенты:3", "crm.xlsx#Архив:1"}


def test_exports_write_xlsx_with_phones_as_text_and_json(run, tmp_path):
    run("ingest", str(write_1c(tmp_path / "1c.csv")))
    out = tmp_path / "phones.xlsx"
    run("export", "phones", "-o", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("phones").to_python()
    assert rows[0][:3] == ["record_ref", "raw", "e164"]
    assert rows[1][2] == "+74951234567"
    items = json.loads(run("export", "records", "--format", "json").stdout)
    assert len(items) == 5 and items[0]["record_ref"] == "1c.csv:1"
    assert run("export", "records", "--format", "xlsx", check=2).returncode == 2
    assert run("export", "nonsense", check=2).returncode == 2


def test_help_shows_each_example_on_a_line_of_its_own(run):
    lines = run("ingest", "--help").stdout.splitlines()
    assert "    clientbase ingest crm_export.xlsx 1c_export.csv" in lines
    assert '    clientbase ingest dump.csv --source crm --map "Клиент=name" --map "Примечание="' in lines


def test_names_and_headers_in_brackets_or_colons_print_as_written(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;ИНН;Телефон;[doc] note\nООО [abc] Ромашка :fire:;7707083893;+7 495 123-45-67;x\n",
                    encoding="utf-8")
    assert "columns kept only in the raw record: [doc] note" in " ".join(run("ingest", str(dump)).stderr.split())
    run("clean", "--as-of", "2026-11-20")
    client = next(csv.DictReader(io.StringIO(run("export", "clients").stdout)))["client_id"]
    assert "ООО [abc] Ромашка :fire:" in run("explain", client).stdout


def test_an_unknown_region_is_a_usage_error_and_reads_nothing(run, tmp_path):
    dump = write_1c(tmp_path / "1c.csv")
    for region in ("XX", "РУ"):
        refused = run("ingest", str(dump), "--region", region, check=2)
        assert "--region" in refused.stderr and region in refused.stderr
    assert not (tmp_path / "cb.db").exists()
    run("ingest", str(dump), "--region", "by")  # a known country, in any case
    assert export(run, "records")


def test_1c_s_empty_date_is_no_date_and_no_news(run, tmp_path):
    # 1C exports a date field left empty as 01.01.0001: read as a date, this client would have bought in
    # the year 1 (lost, not a prospect) and its owner's term would have run out two thousand years ago.
    dump = tmp_path / "1c.csv"
    dump.write_text("Контрагент;ИНН;Телефон;Дата последней продажи;Менеджер;Дата назначения;День рождения;Прибыль\n"
                    "ООО Альфа;7707083893;+7 916 111-11-11;01.01.0001 0:00:00;Иванов И.И.;01.01.0001 0:00:00;"
                    "01.01.0001;01.01.0001\n", encoding="cp1251")
    source = json.loads(run("ingest", str(dump), "--json").stdout)["sources"][0]
    assert [source["mapping"][title] for title in ("Дата последней продажи", "Дата назначения", "День рождения")] == [
        "last_purchase", "assigned_on", "birthday"]
    # A date in the profit column is a shifted row, not an empty date: that is told.
    assert [r["unread"] for r in export(run, "records")] == ["profit '01.01.0001'"]
    run("clean")
    [client] = export(run, "clients")
    # Never bought, and held from the day the dump was read, as an undated claim is.
    assert (client["segment"], client["owner"], client["state"]) == ("potential", "Иванов И.И.", "owned")


def test_a_value_that_cannot_be_read_is_told_not_silently_blanked(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефон;Прибыль;Дата последней покупки\n"
                   "ООО Альфа;+7 916 111-11-11;12,5 тыс;31.02.2026\n"
                   "ООО Бета;+7 916 222-22-22;1 500,00;01.11.2026\n", encoding="utf-8")
    result = run("ingest", str(crm))
    assert "crm.csv: 1 rows have a date or amount that could not be read" in " ".join(result.stderr.split())
    rows = {r["record_ref"]: r for r in csv.DictReader(io.StringIO(run("export", "records").stdout))}
    assert rows["crm.csv:1"]["status"] == "ok"
    assert rows["crm.csv:1"]["unread"] == "profit '12,5 тыс', last_purchase '31.02.2026'"
    assert rows["crm.csv:2"]["unread"] == ""
    assert json.loads(run("ingest", str(crm), "--json").stdout)["sources"][0]["unread"] == 0  # unchanged: not read


def test_a_labelled_inn_kpp_cell_gives_its_inn_and_the_rows_merge_on_it(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Наименование;ИНН/КПП;Телефон\n"
                   "ООО А4;ИНН 7715000805 КПП 771501001;8 495 101 23 48\n"
                   "ООО А5;инн: 7715000805, кпп: 771501001;8 495 101 23 49\n"
                   "ООО А6;ИНН/КПП 7715000805/771501001;8 495 101 23 50\n"
                   "ООО А7;KPP 771501001 INN 7715000805;8 495 101 23 51\n"
                   "ООО А8;7715000805/771501001;8 495 101 23 52\n"
                   "ООО Б1;ИНН: 7729141771;8 495 101 23 53\n"
                   "ИП Сидоров;ИНН 500100732259;8 495 101 23 54\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    assert sorted((c["inn"], c["kpp"], c["record_refs"]) for c in export(run, "clients")) == [
        ("500100732259", "", "crm.csv:7"),
        ("7715000805", "771501001", "crm.csv:1;crm.csv:2;crm.csv:3;crm.csv:4;crm.csv:5"),
        ("7729141771", "", "crm.csv:6"),
    ]


def test_a_map_naming_no_column_read_is_refused_and_writes_nothing(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;ИНН;Тел.моб\nООО Ромашка;7729141771;+7 916 123-45-67\n", encoding="utf-8")
    refused = run("ingest", str(dump), "--map", "Тел моб.=phone", "--map", "Телефон доп=phone", check=1)
    assert refused.stderr.strip() == ('error: --map "Телефон доп=phone": no column \'Телефон доп\' in crm.csv, '
                                      "so nothing was read")
    assert "ok" not in run("export", "records").stdout
    run("ingest", str(dump), "--map", "Тел моб.=phone")  # the header as folded: case, dots and spaces do not count


def test_a_city_written_without_its_prefix_in_an_address_is_the_city(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;Телефон;Адрес\n"
                    "ООО Вектор;+7 916 100-00-01;125009, Москва, ул. Тверская, д. 1\n"
                    "ООО «Вектор»;+7 916 100-00-02;г. Москва, ул. Тверская, 1\n"
                    "ООО Вектор;+7 916 100-00-03;Казань, ул. Баумана, 5\n"
                    "ООО Казанский;+7 916 100-00-04;ул. Казанская, 5\n"
                    "ООО Вектор;+7 916 100-00-05;614036, Пермский край, Пермь г, Железнодорожная ул, дом № 143\n"
                    "ООО «Вектор»;+7 916 100-00-06;г. Пермь, ул. Ленина, 1\n"
                    "ООО Вектор;+7 916 100-00-07;420000, Татарстан, г Казань, ул. Баумана, 7\n", encoding="utf-8")
    run("ingest", str(dump))
    run("clean")
    clients = sorted((c["name"], c["city"], c["record_refs"]) for c in
                     csv.DictReader(io.StringIO(run("export", "clients").stdout)))
    # One Вектор in Moscow (name and city), one in Perm (the city after its name, as 1C writes it), another in
    # Kazan; a street is no city.
    assert clients == [("ООО Вектор", "Казань", "crm.csv:3;crm.csv:7"), ("ООО Вектор", "Москва", "crm.csv:1;crm.csv:2"),
                       ("ООО Вектор", "Пермь", "crm.csv:5;crm.csv:6"), ("ООО Казанский", "", "crm.csv:4")]


def test_an_english_sales_manager_column_is_the_owner_not_revenue(run, tmp_path):
    path = tmp_path / "en.csv"
    path.write_text("Company,INN,City,Phone,Sales manager\n"
                    "Romashka LLC,7701000019,Moscow,+7 495 201-00-01,Ivanov Ivan\n", encoding="utf-8")
    (source,) = json.loads(run("ingest", str(path), "--json").stdout)["sources"]
    assert (source["mapping"]["Sales manager"], source["unread"]) == ("owner", 0)
    run("clean", "--as-of", "2026-11-20")
    assert [(c["owner"], c["state"]) for c in export(run, "clients")] == [("Ivanov Ivan", "owned")]
    assert [r["unread"] for r in export(run, "records")] == [""]


def test_dates_written_the_1c_way_or_with_the_month_in_words_are_read(run, tmp_path):
    path = tmp_path / "1c.csv"
    path.write_bytes(("Контрагент;Телефон;Дата последней отгрузки;Сумма продаж\n"
                      "ООО Альфа;8 916 300 00 01;01.10.2026 г.;1 000,00\n"
                      "ООО Бета;8 916 300 00 02;01.10.2026г.;1 000,00\n"
                      "ООО Гамма;8 916 300 00 03;1 октября 2026 г.;1 000,00\n"
                      "ООО Дельта;8 916 300 00 04;01 окт 2026;1 000,00\n"
                      "ООО Эпсилон;8 916 300 00 05;2026.10.01;1 000,00\n"
                      "ООО Зета;8 916 300 00 06;20261001;1 000,00\n").encode("cp1251"))
    (source,) = json.loads(run("ingest", str(path), "--json").stdout)["sources"]
    assert source["unread"] == 1
    assert [r["unread"] for r in export(run, "records")] == ["", "", "", "", "", "last_purchase '20261001'"]
    run("clean", "--as-of", "2026-11-20")
    assert [c["segment"] for c in export(run, "clients")] == ["active"] * 5 + ["potential"]


def test_our_managers_phone_and_the_clients_buyer_are_no_key_and_no_owner(run, tmp_path):
    path = tmp_path / "crm.csv"
    # Two clients of one manager: her phone beside theirs must not join them, nor their buyer own them.
    path.write_text("Компания;Телефон;Менеджер по закупкам;Менеджер;Телефон менеджера;Manager e-mail;"
                    "Телефон менеджера по закупкам\n"
                    "ООО Альфа;+7 916 100-00-01;Сидоров Пётр;Петрова Анна;+7 495 777-00-01;anna@ourfirm.ru;"
                    "+7 916 200-00-01\n"
                    "ООО Бета;+7 916 100-00-02;Кузнецов Иван;Петрова Анна;+7 495 777-00-01;anna@ourfirm.ru;\n",
                    encoding="utf-8")
    (source,) = json.loads(run("ingest", str(path), "--json").stdout)["sources"]
    assert {title: source["mapping"].get(title) for title in (
        "Менеджер по закупкам", "Менеджер", "Телефон менеджера", "Manager e-mail", "Телефон менеджера по закупкам")} == {
        "Менеджер по закупкам": None, "Менеджер": "owner", "Телефон менеджера": None, "Manager e-mail": None,
        "Телефон менеджера по закупкам": "phone"}  # the client's buyer's phone is the client's
    run("clean", "--as-of", "2026-11-20")
    assert sorted((c["name"], c["owner"]) for c in export(run, "clients")) == [
        ("ООО Альфа", "Петрова Анна"), ("ООО Бета", "Петрова Анна")]


def test_headers_with_a_typo_are_read_as_their_field_and_said_so(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_bytes("Наименоваие;ИНН;Телфон;Ответсвенный;Город;Контакты\n"
                     "ООО Альфа;7707083893;8 495 111-22-33;Иванов Иван;Москва;звонить после обеда\n".encode("cp1251"))
    said = " ".join(run("ingest", str(dump)).stderr.split())
    assert ("headers read through a typo: 'Наименоваие' as name, 'Телфон' as phone, 'Ответсвенный' as owner"
            in said)
    assert "columns kept only in the raw record: Контакты" in said  # a plural is another word, not a typo
    run("clean", "--as-of", "2026-11-20")
    (client,) = export(run, "clients")
    assert (client["name"], client["owner"]) == ("ООО Альфа", "Иванов Иван")
    assert export(run, "phones")[0]["e164"] == "+74951112233"


def test_a_typo_header_gives_way_to_the_field_spelled_right_and_to_map(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_text("Наименоваие;Наименование;Телфон\nстарое имя;ООО Альфа;8 495 111-22-33\n", encoding="utf-8")
    result = json.loads(run("ingest", str(dump), "--json").stdout)["sources"][0]
    assert result["typos"] == {"Телфон": "phone"} and result["unmapped"] == ["Наименоваие"]
    result = json.loads(run("ingest", str(dump), "--json", "--map", "Телфон=").stdout)["sources"][0]
    assert result["typos"] == {} and result["unmapped"] == ["Наименоваие", "Телфон"]


def test_a_real_word_one_letter_from_a_fields_name_is_not_read_as_that_field(run, tmp_path):
    # `Кампания` (the ad campaign) is one letter from `Компания`: read as the name, it would merge the leads.
    dump = tmp_path / "leads.csv"
    dump.write_text("ФИО;Телефон;Город;Кампания\n" + "".join(
        f"Лидов Лид {n};+7 916 400-00-0{n};Москва;Весна 2026\n" for n in range(1, 4)), encoding="utf-8")
    said = " ".join(run("ingest", str(dump)).stderr.split())
    assert "typo" not in said and "columns kept only in the raw record: Кампания" in said
    run("clean", "--as-of", "2026-11-20")
    assert len(export(run, "clients")) == 3
