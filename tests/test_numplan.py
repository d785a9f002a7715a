"""The numbering-plan registry: imported from the ministry's files, it dates, places and times every number."""

import csv
import io
import json

import pytest
import xlsxwriter

from clientbase.numplan import NumberingPlan, Range, zone_of_region

REGISTRY = (
    "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН\n"
    "916;0000000;9999999;10000000;ПАО \"МТС\";г. Москва и Московская область;;7740000076\n"
    "912;0000000;4999999;5000000;ПАО \"МегаФон\";Свердловская обл.;;7812014560\n"
)
OLD_LAYOUT = ("АВС/ DEF;От;До;Емкость;Оператор;Регион\n3452;;;;;\n345;2000000;2999999;1000000;ПАО \"Ростелеком\";Тюменская обл.\n"
              "345;3000000;3999999;1000000;ООО Связь; Сервис;Тюменская обл.\n")  # a `;` in the operator moved the region


def test_lookup_by_range_and_zones():
    plan = NumberingPlan([Range("912", 0, 4_999_999, "МегаФон", "Свердловская обл.", None),
                          Range("912", 6_000_000, 6_999_999, "Т2", "Томская обл.", None)])
    assert plan.lookup("+79121112233").operator == "МегаФон"
    assert plan.lookup("+79126500000").region == "Томская обл."
    assert plan.lookup("+79125500000") is None and plan.covers("+79125500000")
    assert not plan.covers("+79161112233")
    assert zone_of_region("Томская обл.") == "Asia/Novosibirsk"
    assert zone_of_region("Омская обл.") == "Asia/Omsk"
    assert zone_of_region("г. Санкт-Петербург") == "Europe/Moscow"
    assert zone_of_region("Приморский край") == "Asia/Vladivostok"


@pytest.fixture
def base(run, tmp_path):
    clients = tmp_path / "c.csv"
    clients.write_text("Компания;Телефон;Город\nООО Альфа;+7 916 111-22-33;Москва\n"
                       "ООО Бета;+7 912 611-22-33;Екатеринбург\nООО Гамма;+7 912 111-22-33;Екатеринбург\n"
                       "ООО Дельта;8 (3452) 25-00-00;Тюмень\n", encoding="utf-8")
    run("ingest", str(clients))
    return tmp_path


def phones(run):
    return {p["e164"]: p for p in csv.DictReader(io.StringIO(run("export", "phones").stdout))}


def test_import_then_clean_dates_places_and_times_every_number(run, base):
    (base / "DEF-9xx.csv").write_bytes(REGISTRY.encode("utf-8-sig"))
    (base / "ABC-3xx.csv").write_text(OLD_LAYOUT, encoding="utf-8")
    summary = json.loads(run("numplan", "import", str(base / "DEF-9xx.csv"), str(base / "ABC-3xx.csv"),
                             "--json").stdout)
    assert summary["ranges"] == 3 and summary["skipped"]["ABC-3xx.csv"] == 2
    run("clean", "--as-of", "2026-11-20")
    found = phones(run)
    assert (found["+79161112233"]["region"], found["+79161112233"]["operator"]) == (
        "г. Москва и Московская область", 'ПАО "МТС"')
    assert found["+79126112233"]["status"] == "dead"
    assert found["+79126112233"]["reason"] == "not allocated in the numbering plan"
    assert found["+73452250000"]["operator"] == 'ПАО "Ростелеком"'
    items = json.loads(run("today", "--manager", "Анна", "--new-manager", "--as-of", "2026-11-20", "--json").stdout)["items"]
    zones = {i["phone"]: (i["timezone"], i["call_window"]) for i in items}
    assert zones["+79121112233"] == ("Asia/Yekaterinburg", "09:00-20:00 local (07:00-18:00 MSK)")
    assert "+79126112233" not in zones


def test_an_xlsx_copy_is_read_and_a_wrong_file_is_refused(run, base):
    book_path = base / "DEF.xlsx"
    book = xlsxwriter.Workbook(str(book_path))
    sheet = book.add_worksheet()
    for row, line in enumerate(REGISTRY.strip().splitlines()):
        sheet.write_row(row, 0, line.split(";"))
    book.close()
    assert json.loads(run("numplan", "import", str(book_path), "--json").stdout)["ranges"] == 2
    wrong = base / "wrong.csv"
    wrong.write_text("Компания;Телефон\nООО;1\n", encoding="utf-8")
    failed = run("numplan", "import", str(wrong), check=1)
    assert "not a numbering-plan registry" in failed.stderr and "wrong.csv" in failed.stderr


def test_a_kaliningrad_line_is_called_in_kaliningrad_hours_in_summer(run, tmp_path):
    # phonenumbers gives area code 401 a zone abroad that keeps summer time; Kaliningrad keeps none.
    (tmp_path / "crm.csv").write_text("Компания;ИНН;Город;Телефон;Ответственный\n"
                                      "ООО Янтарь;7728168971;Калининград;+7 4012 55-66-77;Иванов Иван\n",
                                      encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"), "--as-of", "2027-07-01")
    run("clean", "--as-of", "2027-07-10")
    for day in ("2027-07-10", "2027-01-10"):
        (item,) = json.loads(run("today", "--manager", "Иванов Иван", "--as-of", day, "--json").stdout)["items"]
        assert (item["timezone"], item["call_window"]) == ("Europe/Kaliningrad", "09:00-20:00 local (10:00-21:00 MSK)")
