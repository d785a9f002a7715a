"""One client, one manager: conflicts, expiry, key clients, and the commands that move clients."""

import csv
import io
import json
import subprocess
import sys
from contextlib import closing
from datetime import date

from python_calamine import CalamineWorkbook

from clientbase.ownership import Claim, LedgerEvent, one_spelling, resolve_owner
from clientbase.store import Store


def resolve(claims, event=None, last_result=None, key=False, as_of="2026-11-20", rule="earliest"):
    return resolve_owner(7, claims, event, last_result, key, date.fromisoformat(as_of), 90, rule)


IVANOV = Claim("Иванов", "2026-09-01", "crm:1")
PETROV = Claim("Петров", "2026-10-01", "1c:5")


def test_earlier_assignment_wins_a_conflict():
    owned = resolve([PETROV, IVANOV])
    assert (owned.owner, owned.since, owned.until) == ("Иванов", "2026-09-01", "2026-11-30")
    assert owned.claimants == ("Иванов", "Петров") and owned.rule == "earliest assignment wins"


def test_a_conflict_says_what_settled_it():
    def settled(claims, event=None, as_of="2026-11-20"):
        owned = resolve(claims, event, as_of=as_of)
        return owned.owner, owned.rule

    assert settled([PETROV, Claim("Андреев", "2026-10-01", "1c:6")]) == (
        "Андреев", "assigned on the same day: the first by name wins")
    assert settled([PETROV, IVANOV], LedgerEvent(7, "assign", "Петров", "2026-10-05")) == (
        "Петров", "assigned by a command")
    assert settled([PETROV, IVANOV], LedgerEvent(7, "release", None, "2026-10-05")) == (
        None, "released by a command")
    # Иванов's term ran out on 2026-11-30; Петров's claim is older than that, Сидоров's newer.
    later = Claim("Сидоров", "2026-12-10", "crm:9")
    owned = resolve([PETROV, IVANOV, later], as_of="2026-12-20")
    assert (owned.owner, owned.rule) == ("Сидоров", "claimed after the earlier owner's term ran out")
    assert (owned.expired_on, owned.expired_owner) == ("2026-11-30", "Иванов")  # the expiry is recorded too


def test_latest_rule_and_same_manager_spelled_differently_is_no_conflict():
    assert resolve([PETROV, IVANOV], rule="latest").owner == "Петров"
    same = resolve([IVANOV, Claim("иванов", "2026-10-01", "1c:2")])
    assert same.claimants == () and same.owner == "Иванов"


def test_expiry_at_day_90_not_89():
    claim = [Claim("Иванов", "2026-08-22", "crm:1")]
    assert resolve(claim, as_of="2026-11-19").owner == "Иванов"  # day 89
    expired = resolve(claim, as_of="2026-11-20")  # day 90
    assert expired.owner is None and expired.expired_on == "2026-11-20" and expired.expired_owner == "Иванов"


def test_a_result_restarts_the_term_and_key_clients_never_expire():
    claim = [Claim("Иванов", "2026-01-10", "crm:1")]
    assert resolve(claim, last_result="2026-10-01").owner == "Иванов"
    key = resolve(claim, key=True)
    assert key.owner == "Иванов" and key.until is None


def test_when_the_winner_expires_a_later_claim_takes_over():
    claims = [Claim("Иванов", "2026-01-10", "crm:1"), Claim("Петров", "2026-10-20", "1c:5")]
    owned = resolve(claims)  # Иванов's earlier claim wins, but its term ran out in April
    assert owned.owner == "Петров" and owned.since == "2026-10-20"


def test_commands_outrank_older_dump_claims():
    released = LedgerEvent(7, "release", None, "2026-11-01")
    assert resolve([IVANOV], released).owner is None
    assigned = LedgerEvent(7, "assign", "Сидорова", "2026-11-01", 30)
    owned = resolve([IVANOV], assigned)
    assert (owned.owner, owned.until) == ("Сидорова", "2026-12-01")
    newer = Claim("Петров", "2026-11-10", "crm:1")
    assert resolve([newer], assigned).owner == "Петров"  # the dump tells of a later change


HEADER = ["Компания", "ИНН", "Город", "Телефон", "Ответственный", "Дата назначения", "Прибыль"]


def write_dumps(tmp_path):
    crm = tmp_path / "crm.csv"
    rows = [
        ["ООО «Ромашка»", "7707083893", "Москва", "+7 916 200-00-01", "Иванов Иван", "01.10.2026", "100"],
        ["ООО «Лютик»", "", "Москва", "+7 916 200-00-02", "Иванов Иван", "01.10.2026", "5"],
        ["ООО «Василёк»", "", "Тюмень", "+7 916 200-00-03", "Петров Пётр", "2026-10-15", "3"],
    ]
    one_c = tmp_path / "1c.csv"
    with crm.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    with one_c.open("w", encoding="cp1251", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([
            ["Контрагент", "ИНН", "Телефон", "Менеджер", "Дата назначения"],
            ["Ромашка ООО", "7707083893", "8 916 200 00 01", "Петров Пётр", "15.09.2026"],
        ])
    return crm, one_c


def clients(run):
    return {c["name"]: c for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}


def test_a_manager_spelled_in_two_cases_is_one_manager(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,Телефон,Ответственный\n"
                   "ООО Альфа,+7 916 507-23-81,Иванов Иван\n"
                   "ООО Бета,+7 916 634-18-29,ИВАНОВ ИВАН\n"
                   "ООО Гамма,+7 916 782-45-90,Иванов  Иван\n"
                   "ООО Дельта,+7 916 291-37-64,Петрова Анна\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    assert {c["owner"] for c in clients(run).values()} == {"Иванов Иван", "Петрова Анна"}
    lists = json.loads(run("today", "--as-of", "2026-11-20", "--json").stdout)["items"]
    assert {item["manager"] for item in lists} == {"Иванов Иван", "Петрова Анна"}
    run("reassign", "--from", "ИВАНОВ ИВАН", "--to", "Петрова Анна", "--as-of", "2026-11-20")
    assert {c["owner"] for c in clients(run).values()} == {"Петрова Анна"}


def test_a_manager_written_with_yo_or_ye_is_one_manager(run, tmp_path):
    crm, one_c = tmp_path / "crm.csv", tmp_path / "1c.csv"
    crm.write_text("Компания;ИНН;Телефон;Ответственный\n"
                   "ООО Альфа;7729141771;+7 916 123-45-67;Сидоров Пётр\n"
                   "ООО Бета;7776317060;+7 916 123-45-68;Сидоров Пётр\n"
                   "ООО Гамма;7769074391;+7 916 123-45-69;Сидоров Пётр\n"
                   "ООО Дельта;7701000019;+7 916 123-45-70;Петрова Анна\n", encoding="utf-8")
    one_c.write_text("Контрагент;ИНН;Менеджер\nАльфа ООО;7729141771;Сидоров Петр\n", encoding="utf-8")
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", "2026-11-20")
    owners = {name: c["owner"] for name, c in clients(run).items()}
    assert owners == {"ООО Альфа": "Сидоров Пётр", "ООО Бета": "Сидоров Пётр", "ООО Гамма": "Сидоров Пётр",
                      "ООО Дельта": "Петрова Анна"}  # the spelling used most, its ё kept
    assert run("export", "conflicts").stdout.splitlines()[1:] == []
    items = json.loads(run("today", "--as-of", "2026-11-20", "--manager", "Сидоров Петр", "--json").stdout)["items"]
    assert {(item["manager"], item["name"]) for item in items} == {
        ("Сидоров Пётр", name) for name in ("ООО Альфа", "ООО Бета", "ООО Гамма")}
    delta = clients(run)["ООО Дельта"]["client_id"]
    run("assign", delta, "СИДОРОВ ПЕТР", "--as-of", "2026-11-20")
    assert clients(run)["ООО Дельта"]["owner"] == "Сидоров Пётр"
    run("release", delta, "--as-of", "2026-11-20")
    run("reassign", "--from", "сидоров петр", "--to", "Петрова Анна", "--as-of", "2026-11-20")
    owners = {name: c["owner"] for name, c in clients(run).items()}
    assert owners == {"ООО Альфа": "Петрова Анна", "ООО Бета": "Петрова Анна", "ООО Гамма": "Петрова Анна",
                      "ООО Дельта": ""}


def test_a_manager_with_first_name_first_is_the_same_manager(run, tmp_path):
    crm, one_c = tmp_path / "crm.csv", tmp_path / "1c.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Ответственный\n"
                   "ООО А;1650000017;Казань;+79170000001;Фёдоров Иван\n"
                   "ООО Б;1650000024;Казань;+79170000002;федоров  иван\n"
                   "ООО В;1650000031;Казань;+79170000003;Иван Фёдоров\n", encoding="utf-8")
    one_c.write_text("Контрагент;ИНН;Телефон;Адрес;Менеджер\nООО А;1650000017;+79170000001;г. Казань;Иван Федоров\n",
                     encoding="utf-8")
    run("ingest", str(crm), str(one_c), "--as-of", "2026-03-01")
    run("clean", "--as-of", "2026-03-01")
    assert len({c["owner"] for c in clients(run).values()}) == 1
    assert run("export", "conflicts").stdout.splitlines()[1:] == []  # no conflict with himself
    items = json.loads(run("today", "--as-of", "2026-03-01", "--json").stdout)
    assert sorted(item["name"] for item in items["items"]) == ["ООО А", "ООО Б", "ООО В"] and items["notices"] == []


def test_claims_of_one_day_go_to_the_more_trusted_source_not_the_alphabet(run, tmp_path):
    crm, one_c = tmp_path / "crm.csv", tmp_path / "1c.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Ответственный\nООО А;1650000017;Казань;+79170000001;Петрова Анна\n",
                   encoding="utf-8")
    one_c.write_text("Контрагент;ИНН;Телефон;Адрес;Менеджер\nООО А;1650000017;+79170000001;г. Казань;Иванов Иван\n",
                     encoding="utf-8")
    run("ingest", str(crm), str(one_c), "--as-of", "2026-03-01")  # both claims date from that day
    run("clean", "--as-of", "2026-03-01")
    conflicts = list(csv.DictReader(io.StringIO(run("export", "conflicts").stdout)))
    assert [(c["resolved_owner"], c["rule"]) for c in conflicts] == [
        ("Петрова Анна", "assigned on the same day: crm.csv is the more trusted source")]


def test_a_1c_dump_named_in_cyrillic_is_trusted_as_1c(run, tmp_path):
    one_c, purchased = tmp_path / "1С выгрузка.csv", tmp_path / "purchased.csv"  # a Cyrillic С, as offices write it
    one_c.write_text("Контрагент;ИНН;Телефон;Адрес;Менеджер\nООО А;1650000017;+79170000001;г. Казань;Иванов Иван\n",
                     encoding="utf-8")
    purchased.write_text("Компания;ИНН;Город;Телефон;Ответственный\nООО А;1650000017;Казань;+79170000001;Петрова Анна\n",
                         encoding="utf-8")
    run("ingest", str(one_c), str(purchased), "--as-of", "2026-03-01")
    run("clean", "--as-of", "2026-03-01")
    conflicts = list(csv.DictReader(io.StringIO(run("export", "conflicts").stdout)))
    assert [(c["resolved_owner"], c["rule"]) for c in conflicts] == [
        ("Иванов Иван", "assigned on the same day: 1С выгрузка.csv is the more trusted source")]


def test_the_spelling_used_most_names_the_manager():
    assert one_spelling({"ИВАНОВ ИВАН": 1, "Иванов Иван": 3, "иванов иван": 3, "Сидоров Петр": 1,
                         "Сидоров Пётр": 2}) == {
        "ИВАНОВ ИВАН": "Иванов Иван", "Иванов Иван": "Иванов Иван", "иванов иван": "Иванов Иван",
        "Сидоров Петр": "Сидоров Пётр", "Сидоров Пётр": "Сидоров Пётр"}  # a tie goes to the first in order


def test_conflicts_are_resolved_listed_and_logged(run, tmp_path):
    crm, one_c = write_dumps(tmp_path)
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", "2026-11-20")
    romashka = clients(run)["ООО «Ромашка»"]
    assert romashka["owner"] == "Петров Пётр"  # his claim (15.09) is earlier than Иванов's (01.10)
    conflicts = list(csv.DictReader(io.StringIO(run("export", "conflicts").stdout)))
    assert conflicts == [{"client_id": romashka["client_id"], "managers": "Иванов Иван;Петров Пётр",
                          "resolved_owner": "Петров Пётр", "rule": "earliest assignment wins"}]
    history = json.loads(run("explain", romashka["client_id"], "--json").stdout)["history"]
    assert any(h["action"] == "conflict" for h in history)


def test_the_manager_who_lost_a_conflict_gets_a_notice(run, tmp_path):
    crm, one_c = write_dumps(tmp_path)
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", "2026-11-20")
    romashka = clients(run)["ООО «Ромашка»"]["client_id"]

    def notices(*args):
        return json.loads(run("today", "--as-of", "2026-11-20", "--json", *args).stdout)["notices"]

    lost = {"manager": "Иванов Иван", "client_id": int(romashka), "name": "ООО «Ромашка»", "owner": "Петров Пётр",
            "why": "earliest assignment wins"}
    assert notices("--manager", "иванов иван") == [lost]
    assert notices("--manager", "Петров Пётр") == []
    assert notices() == [lost]
    said = run("today", "--as-of", "2026-11-20", "--manager", "Иванов Иван")
    assert "Notice for Иванов Иван: client" in said.stderr + said.stdout
    run("today", "--as-of", "2026-11-20", "-o", str(tmp_path / "lists.xlsx"))
    sheet = CalamineWorkbook.from_path(str(tmp_path / "lists.xlsx")).get_sheet_by_name("notices").to_python()
    assert sheet[0] == ["manager", "client_id", "name", "owner", "why"] and sheet[1][0] == "Иванов Иван"
    # A cron job writing CSV quietly: the notices go to a file beside the list, which holds calls only.
    run("-q", "today", "--as-of", "2026-11-20", "-o", str(tmp_path / "lists.csv"))
    beside = list(csv.DictReader(io.StringIO((tmp_path / "lists.notices.csv").read_text(encoding="utf-8-sig"))))
    assert [(row["manager"], row["owner"]) for row in beside] == [("Иванов Иван", "Петров Пётр")]
    # The head gives it to Иванов by a command: Петров is told at once, and why, and so after the next clean.
    run("assign", romashka, "Иванов Иван", "--as-of", "2026-11-20")
    moved = {**lost, "manager": "Петров Пётр", "owner": "Иванов Иван", "why": "assigned by a command"}
    assert notices() == [moved]
    run("clean", "--as-of", "2026-11-21")
    assert notices() == [moved]
    conflicts = list(csv.DictReader(io.StringIO(run("export", "conflicts").stdout)))
    assert [c["rule"] for c in conflicts] == ["assigned by a command"]
    # Released, it is no one's, and handed out again: the notice says so.
    run("release", romashka, "--as-of", "2026-11-21")
    assert clients(run)["ООО «Ромашка»"]["owner"] == ""
    run("today", "--as-of", "2026-11-21", "--manager", "Иванов Иван")
    assert notices() == [{**moved, "why": "handed out from the pool"}]
    # Петров's claim is gone from 1C: no conflict, and yesterday's notices file is emptied, not left standing.
    with one_c.open("w", encoding="cp1251", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([["Контрагент", "ИНН", "Менеджер"], ["Лютик ООО", "", "Иванов Иван"]])
    run("ingest", str(one_c))
    run("clean", "--as-of", "2026-11-22")
    assert notices("--manager", "Петров Пётр") == []
    with closing(Store.open(tmp_path / "cb.db")) as store:  # a clean of the changed clients forgets his claim
        assert store.conflicts_claimed_by(["Петров Пётр", "Иванов Иван"]) == []
    run("today", "--as-of", "2026-11-22", "-o", str(tmp_path / "lists.csv"))
    assert (tmp_path / "lists.notices.csv").read_text(encoding="utf-8-sig").splitlines() == [
        "manager,client_id,name,owner,why"]


def test_many_notices_are_counted_on_the_terminal_and_kept_whole_in_the_file(run, tmp_path):
    crm, one_c = tmp_path / "crm.csv", tmp_path / "1c.csv"
    crm.write_text("Компания;Город;Телефон;Ответственный;Дата назначения\n" + "".join(
        f"ООО Альфа {i};Казань;+7 917 000-00-{i:02d};Иванов Иван;01.10.2026\n" for i in range(12)), encoding="utf-8")
    one_c.write_text("Контрагент;Город;Телефон;Менеджер;Дата назначения\n" + "".join(
        f"Альфа {i} ООО;Казань;8 917 000 00 {i:02d};Петров Пётр;01.09.2026\n" for i in range(12)), encoding="utf-8")
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", "2026-11-20")
    said = run("today", "--as-of", "2026-11-20", "--manager", "Иванов Иван")
    told = said.stdout + said.stderr
    assert told.count("Notice for Иванов Иван") == 10 and "2 more notice(s), all 12 with --json" in told
    said = run("today", "--as-of", "2026-11-20", "-o", str(tmp_path / "lists.json"))
    assert "all 12 in " in said.stdout + said.stderr
    assert len(json.loads((tmp_path / "lists.notices.json").read_text(encoding="utf-8"))) == 12


def test_a_managers_notices_are_those_of_everyones_that_name_them(run, tmp_path):
    crm, one_c = tmp_path / "crm.csv", tmp_path / "1c.csv"
    crm.write_text("Компания;Город;Телефон;Ответственный;Дата назначения\n" + "".join(
        f"ООО Альфа {i};Казань;+7 917 000-00-{i:02d};Иванов Иван;{'01.09.2026' if i < 3 else '01.10.2026'}\n"
        for i in range(5)), encoding="utf-8")
    one_c.write_text("Контрагент;Город;Телефон;Менеджер;Дата назначения\n" + "".join(
        f"Альфа {i} ООО;Казань;8 917 000 00 {i:02d};{'ПЕТРОВ ПЁТР;01.10.2026' if i < 3 else 'Сидорова Анна;01.09.2026'}\n"
        for i in range(5)), encoding="utf-8")
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", "2026-11-20")

    def notices(*args):
        found = json.loads(run("today", "--as-of", "2026-11-20", "--json", *args).stdout)["notices"]
        return sorted((n["manager"], n["name"], n["owner"]) for n in found)

    losing = {"Пётр Петров": notices("--manager", "Пётр Петров"), "иванов иван": notices("--manager", "иванов иван"),
              "Сидорова Анна": notices("--manager", "Сидорова Анна")}
    everyones = notices()
    assert [len(found) for found in losing.values()] == [3, 2, 0] and len(everyones) == 5
    assert sorted(losing["Пётр Петров"] + losing["иванов иван"]) == everyones
    assert {owner for _, _, owner in losing["Пётр Петров"]} == {"Иванов Иван"}


def test_expiry_through_clean(run, tmp_path):
    crm, _ = write_dumps(tmp_path)
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-12-29")  # day 89 for Лютик
    assert clients(run)["ООО «Лютик»"]["owner"] == "Иванов Иван"
    summary = json.loads(run("clean", "--as-of", "2026-12-30", "--json").stdout)  # day 90
    after = clients(run)
    assert after["ООО «Лютик»"]["owner"] == "" and after["ООО «Лютик»"]["state"] == "pool"
    # Ромашка earns 100 of 108: a key client (a mono-client, even), exempt from expiry.
    assert after["ООО «Ромашка»"]["owner"] == "Иванов Иван" and after["ООО «Ромашка»"]["dependency"] == "mono"
    assert summary["rules"]["expired"] == 1
    again = json.loads(run("clean", "--as-of", "2026-12-30", "--json").stdout)
    assert again["rules"]["expired"] == 0


def test_assign_release_and_reassign(run, tmp_path):
    crm, _ = write_dumps(tmp_path)
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    ids = {name: c["client_id"] for name, c in clients(run).items()}
    moved = json.loads(run("reassign", "--from", "иванов иван", "--to", "Сидорова Анна", "--as-of", "2026-11-20",
                           "--json").stdout)["moved"]
    assert {str(m["client_id"]) for m in moved} == {ids["ООО «Ромашка»"], ids["ООО «Лютик»"]}
    run("clean", "--as-of", "2026-11-21")  # the ledger outlives a clean
    after = clients(run)
    assert after["ООО «Лютик»"]["owner"] == "Сидорова Анна"
    assert after["ООО «Василёк»"]["owner"] == "Петров Пётр"
    run("release", ids["ООО «Лютик»"], "--as-of", "2026-11-21")
    # a term of decades would be hoarding: refused, and the client stays with whoever had it
    refused = run("assign", ids["ООО «Василёк»"], "Сидорова Анна", "--days", "10000", "--as-of", "2026-11-21", check=1)
    assert refused.stderr.strip() == ("error: --days 10000: the rules allow a term of 365 days at most ([ownership] "
                                      "max_term_days): managers must not hoard clients")
    assert clients(run)["ООО «Василёк»"]["owner"] == "Петров Пётр"
    run("assign", ids["ООО «Василёк»"], "Сидорова Анна", "--days", "10", "--as-of", "2026-11-21")
    run("clean", "--as-of", "2026-11-22")
    final = clients(run)
    assert final["ООО «Лютик»"]["owner"] == ""
    assert (final["ООО «Василёк»"]["owner"], final["ООО «Василёк»"]["owner_until"]) == ("Сидорова Анна", "2026-12-01")
    assert "owns no clients" in run("reassign", "--from", "Никто", "--to", "Петров Пётр", check=1).stderr
    history = json.loads(run("explain", ids["ООО «Лютик»"], "--json").stdout)["history"]
    assert [h["action"] for h in history if h["command"] != "clean"] == ["reassign", "release"]


# Runs the CLI with the wall clock at a given day: what a dump's claims are dated from is the day it is read.
_CLOCK = '''
import datetime, runpy, sys
day = datetime.datetime.fromisoformat(sys.argv.pop(1))
class Clock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return day
class Calendar(datetime.date):
    @classmethod
    def today(cls):
        return day.date()
datetime.datetime, datetime.date = Clock, Calendar
sys.argv[0] = "clientbase"
runpy.run_module("clientbase", run_name="__main__")
'''


class Calendar:
    """The CLI run on a given day, against one base in `folder`."""

    def __init__(self, folder):
        self.folder, self.clock = folder, folder / "clock.py"
        self.clock.write_text(_CLOCK, encoding="utf-8")

    def on(self, day, *args):
        result = subprocess.run([sys.executable, str(self.clock), day, "--db", str(self.folder / "cb.db"), *args],
                                capture_output=True, text=True, cwd=self.folder)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def owners(self, day):
        return {row["name"]: (row["owner"], row["state"])
                for row in csv.DictReader(io.StringIO(self.on(day, "export", "clients")))}


def test_a_dump_read_again_keeps_its_claims_first_dates(tmp_path):
    crm, calendar = tmp_path / "crm.csv", Calendar(tmp_path)
    on, owners = calendar.on, calendar.owners

    rows = [f"ООО Клиент{i};Казань;+7 843 500-00-0{i};Иванов Иван" for i in range(3)]
    crm.write_text("\n".join(["Компания;Город;Телефоны;Ответственный", *rows]) + "\n", encoding="utf-8")
    on("2026-11-01", "ingest", str(crm))
    on("2026-11-01", "clean")
    on("2026-11-10", "reassign", "--from", "Иванов Иван", "--to", "Петрова Анна")
    # The CRM still names the manager who left, and has one new row: the reassignment stands.
    crm.write_text(crm.read_text(encoding="utf-8") + "ООО Новый;Казань;+7 843 500-00-99;Сидоров Сидор\n",
                   encoding="utf-8")
    on("2026-11-11", "ingest", str(crm))
    on("2026-11-11", "clean")
    assert {owners("2026-11-11")[f"ООО Клиент{i}"] for i in range(3)} == {("Петрова Анна", "owned")}
    # Another changed dump later does not renew the term: 90 days from the reassignment, they go to the pool.
    crm.write_text(crm.read_text(encoding="utf-8") + "ООО Ещё;Казань;+7 843 500-00-98;Сидоров Сидор\n",
                   encoding="utf-8")
    on("2027-01-25", "ingest", str(crm))
    on("2027-02-15", "clean")
    assert {owners("2027-02-15")[f"ООО Клиент{i}"] for i in range(3)} == {("", "pool")}


def test_ingest_as_of_dates_the_claims_so_a_run_of_past_days_reproduces(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Телефон;Ответственный\nООО Ромашка;7729141771;+7 916 123-45-67;Орлов Евгений\n",
                   encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    [client] = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert (client["owner"], client["owner_until"]) == ("Орлов Евгений", "2027-02-18")  # 90 days from the reading
    run("reassign", "--from", "Орлов Евгений", "--to", "Белов Дмитрий", "--as-of", "2026-11-21")
    run("clean", "--as-of", "2026-11-22")  # the dump's claim is older than the reassignment: it stands
    [client] = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert (client["owner"], client["owner_until"]) == ("Белов Дмитрий", "2027-02-19")
    assert "YYYY-MM-DD" in run("ingest", str(crm), "--as-of", "20.11.2026", check=2).stderr


def test_a_mistyped_manager_takes_no_pool_clients_and_a_new_one_is_said_to_be_new(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Телефон;Ответственный\n"
                   "ООО Ромашка;7729141771;+7 916 123-45-67;Орлов Евгений\n"
                   "ООО Лютик;7776317060;+7 916 123-45-68;\n", encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    refused = run("today", "--manager", "Орлов Евгенй", "--as-of", "2026-11-20", check=1)
    assert "did you mean 'Орлов Евгений'" in refused.stderr and "--new-manager" in refused.stderr
    owners = {c["name"]: c["owner"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    assert owners == {"ООО Ромашка": "Орлов Евгений", "ООО Лютик": ""}  # nobody handed out
    run("today", "--manager", "орлов  евгений", "--as-of", "2026-11-20")  # case and spaces do not make a typo
    run("release", str(next(c["client_id"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))
                            if c["owner"])), "--as-of", "2026-11-21")
    items = json.loads(run("today", "--manager", "Новикова Ольга", "--as-of", "2026-11-21", "--json").stdout)["items"]
    assert {i["manager"] for i in items} == {"Новикова Ольга"}  # a name like nobody's is a new manager
    assert run("today", "--manager", "Орлова Евгения", "--as-of", "2026-11-21", check=1).stderr
    run("today", "--manager", "Орлова Евгения", "--new-manager", "--as-of", "2026-11-21")
    assert run("today", "--new-manager", check=2).stderr


def test_a_manager_named_only_in_a_dialer_log_is_known_to_today(run, tmp_path):
    crm, log = tmp_path / "crm.csv", tmp_path / "dialer.csv"
    crm.write_text("Компания;ИНН;Телефон;Ответственный\n"
                   "ООО Ромашка;7729141771;+7 916 123-45-67;Соколова Инна\n"
                   "ООО Лютик;7776317060;+7 916 123-45-68;\n", encoding="utf-8")
    log.write_text("Телефон;Дата и время;Результат;Менеджер\n+7 916 123-45-68;05.11.2026 10:00;Отвечен;Соколова Ирина\n",
                   encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-11-20")
    run("calls", str(log))
    run("clean", "--as-of", "2026-11-20")
    # Close to Соколова Инна, but the dialer log names her: no typo.
    run("today", "--manager", "Соколова Ирина", "--as-of", "2026-11-20")


def test_unmerge_leaves_the_other_clients_as_they_stand(run, tmp_path):
    """Three Ромашки of Екатеринбург with three INNs: unmerging one clusters the others again, as namesakes."""
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефоны;Ответственный;Дата назначения\n"
                   "ООО Ромашка;6604876472;Екатеринбург;+7 343 222-33-40;Иванов Иван;2026-11-01\n"
                   "ООО Ромашка;2914177766;Екатеринбург;+7 343 222-33-41;Петрова Анна;2026-11-01\n"
                   "Ромашка ООО;0115244934;Екатеринбург;+7 343 222-33-45;Сидоров Сидор;2026-11-01\n"
                   "ООО Ромашка;0115244934;Екатеринбург;;;\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")

    def standing():
        return {c["inn"] + " " + c["record_refs"]: (c["owner"], c["state"], c["last_contact"], c["next_due"])
                for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}

    before = standing()
    split = next(c["client_id"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))
                 if c["inn"] == "0115244934")
    run("unmerge", split)
    after = standing()
    for key in ("6604876472 crm.csv:1", "2914177766 crm.csv:2"):
        assert after[key] == before[key] and after[key][:2] != ("", "")
    assert after["0115244934 crm.csv:3"][:2] == ("Сидоров Сидор", "owned")  # its record names the owner
    items = json.loads(run("today", "--as-of", "2026-11-20", "--manager", "Иванов Иван", "--json").stdout)["items"]
    assert [item["name"] for item in items] == ["ООО Ромашка"]
    run("clean", "--as-of", "2026-11-20")
    assert {k: v for k, v in standing().items() if k != "0115244934 crm.csv:4"} == {
        k: v for k, v in after.items() if k != "0115244934 crm.csv:4"}


def test_assign_stores_the_managers_spelling_and_lists_the_client_at_once(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,Телефон,Ответственный\n"
                   "ООО Альфа,+7 916 507-23-81,Петрова Анна\n"
                   "ООО Бета,+7 916 634-18-29,Иванов Иван\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    beta = clients(run)["ООО Бета"]["client_id"]
    assert "-> Петрова Анна until" in run("assign", beta, "  петрова   анна ", "--as-of", "2026-11-20").stderr
    assert clients(run)["ООО Бета"]["owner"] == "Петрова Анна"
    assert "name is empty" in run("assign", beta, "  ", check=1).stderr
    items = json.loads(run("today", "--as-of", "2026-11-20", "--json").stdout)["items"]
    assert {(item["manager"], item["name"]) for item in items} == {("Петрова Анна", "ООО Альфа"),
                                                                   ("Петрова Анна", "ООО Бета")}


def test_a_dump_sorted_another_way_does_not_renew_its_claims(tmp_path):
    crm, calendar = tmp_path / "crm.csv", Calendar(tmp_path)
    header = "Наименование;ИНН;Телефон;Город;Ответственный"
    alfa, beta = "ООО Альфа;7701000019;+74951110001;Москва;Иванов Пётр", "ООО Бета;7701000033;+74951110003;Москва;Петрова Анна"
    gamma = "ООО Гамма;7701000040;+74951110004;Москва;"
    crm.write_text("\n".join([header, alfa, beta, gamma]) + "\n", encoding="utf-8")
    calendar.on("2026-06-01", "ingest", str(crm))
    calendar.on("2026-11-29", "clean")  # 90 days from June are over: both terms ran out
    assert {calendar.owners("2026-11-29")[name] for name in ("ООО Альфа", "ООО Бета")} == {("", "pool")}
    crm.write_text("\n".join([header, beta, alfa, gamma]) + "\n", encoding="utf-8")
    calendar.on("2026-11-29", "ingest", str(crm))
    calendar.on("2026-11-29", "clean")
    assert {calendar.owners("2026-11-29")[name] for name in ("ООО Альфа", "ООО Бета")} == {("", "pool")}


def test_a_row_that_now_holds_another_company_of_the_same_manager_does_not_lend_it_its_date(tmp_path):
    crm, calendar = tmp_path / "crm.csv", Calendar(tmp_path)
    header = "Наименование;ИНН;Телефон;Город;Ответственный"
    alfa, beta = "ООО Альфа;7701000019;+74951110001;Москва;Иванов Пётр", "ООО Бета;7701000033;+74951110003;Москва;"
    crm.write_text("\n".join([header, alfa, beta]) + "\n", encoding="utf-8")
    calendar.on("2026-06-01", "ingest", str(crm))
    beta += "Иванов Пётр"  # assigned in August
    crm.write_text("\n".join([header, alfa, beta]) + "\n", encoding="utf-8")
    calendar.on("2026-08-01", "ingest", str(crm))
    crm.write_text("\n".join([header, beta, alfa]) + "\n", encoding="utf-8")  # sorted another way
    calendar.on("2026-09-05", "ingest", str(crm))
    calendar.on("2026-09-05", "clean")
    owners = calendar.owners("2026-09-05")
    assert (owners["ООО Альфа"], owners["ООО Бета"]) == (("", "pool"), ("Иванов Пётр", "owned"))


def test_a_claim_keeps_its_date_when_the_manager_is_written_another_way(tmp_path):
    crm, calendar = tmp_path / "crm.csv", Calendar(tmp_path)
    header = "Наименование;ИНН;Телефон;Город;Ответственный"
    crm.write_text(f"{header}\nООО Альфа;7701000019;+74951110001;Москва;Иванов Пётр\n", encoding="utf-8")
    calendar.on("2026-06-01", "ingest", str(crm))
    crm.write_text(f"{header}\nООО Альфа;7701000019;+74951110009;Москва;ИВАНОВ  ПЕТР\n", encoding="utf-8")
    calendar.on("2026-09-05", "ingest", str(crm))
    calendar.on("2026-09-05", "clean")  # the June claim ran out on 30 August, however the CRM spells him now
    assert calendar.owners("2026-09-05")["ООО Альфа"] == ("", "pool")


def test_the_team_in_the_rules_gets_lists_when_their_clients_have_all_expired(run, tmp_path):
    crm, rules = tmp_path / "crm.csv", tmp_path / "rules.toml"
    crm.write_text("Компания;ИНН;Телефон;Ответственный\n"
                   "ООО Ромашка;7729141771;+7 916 123-45-67;Орлов Евгений\n"
                   "ООО Лютик;7776317060;+7 916 123-45-68;Белова Анна\n"
                   "ООО Василёк;7702070139;+7 916 123-45-69;\n"
                   "ООО Клевер;7704217370;+7 916 123-45-70;\n", encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-01-10")
    run("clean", "--as-of", "2026-11-20")  # Орлов's and Белова's terms ran out in April: nobody owns a client
    assert "no manager owns a client" in run("today", "--as-of", "2026-11-20", check=1).stderr
    team = {"CLIENTBASE_RULES": str(rules)}
    rules.write_text('[today]\nteam = ["орлов евгений", "Белова  Анна", "Белова Анна"]\n', encoding="utf-8")
    items = json.loads(run("today", "--as-of", "2026-11-20", "--json", env=team).stdout)["items"]
    # Each once, as the dumps write them, with pool clients to call: all four, none twice.
    assert {i["manager"] for i in items} == {"Орлов Евгений", "Белова Анна"}
    assert sorted(i["name"] for i in items) == ["ООО Василёк", "ООО Клевер", "ООО Лютик", "ООО Ромашка"]
    rules.write_text('[today]\nteam = ["Белова Анна", "Орлов Евгенй"]\n', encoding="utf-8")
    typo = run("today", "--as-of", "2026-11-21", env=team, check=1).stderr
    assert "[today] team" in typo and "did you mean 'Орлов Евгений'" in typo
    rules.write_text('[today]\nteam = [" "]\n', encoding="utf-8")
    assert "[today] team" in run("today", "--as-of", "2026-11-21", env=team, check=1).stderr


def _three_managers(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Ответственный\n"
                   "ООО Ромашка;1650000017;Казань;+79170000001;Иванов Иван\n"
                   "ООО Лютик;1650000024;Казань;+79170000003;Петрова Анна\n"
                   "ООО Василёк;1650000031;Казань;+79170000004;Сидоров Олег\n", encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-12-01")
    run("clean", "--as-of", "2026-12-01")
    return {name: c["client_id"] for name, c in clients(run).items()}


def test_assign_and_reassign_refuse_a_mistyped_manager_as_today_does(run, tmp_path):
    ids = _three_managers(run, tmp_path)
    owners = {name: c["owner"] for name, c in clients(run).items()}
    typo = run("reassign", "--from", "Петрова Анна", "--to", "Петрова Ана", "--as-of", "2026-12-02", check=1).stderr
    assert "--to" in typo and "did you mean 'Петрова Анна'" in typo and "--new-manager" in typo
    wrong_from = run("reassign", "--from", "Петрова Ана", "--to", "Иванов Иван", "--as-of", "2026-12-02", check=1)
    assert "--from" in wrong_from.stderr and "did you mean 'Петрова Анна'" in wrong_from.stderr
    # A Latin r in a Cyrillic word is no one's name: refused even as a new manager.
    for new in ((), ("--new-manager",)):
        mixed = run("assign", ids["ООО Василёк"], "Сидоров Олеr", *new, "--as-of", "2026-12-02", check=1).stderr
        assert "mixes Latin and Cyrillic letters in 'Олеr'" in mixed and "did you mean 'Сидоров Олег'" in mixed
    assert "did you mean 'Сидоров Олег'" in run("assign", ids["ООО Василёк"], "Сидоров Олк", "--as-of", "2026-12-02",
                                               check=1).stderr
    # A short form with initials is the same manager written another way, not a new one.
    assert "did you mean 'Сидоров Олег'" in run("assign", ids["ООО Василёк"], "Сидоров О.", "--as-of", "2026-12-02",
                                               check=1).stderr
    assert {name: c["owner"] for name, c in clients(run).items()} == owners  # nothing moved
    # The refused names were not recorded: today still takes them for typos.
    run("today", "--manager", "Петрова Ана", "--as-of", "2026-12-02", check=1)
    # A new manager with a close name says so once; a name like nobody's needs nothing.
    run("reassign", "--from", "Петрова Анна", "--to", "Петрова Алла", "--new-manager", "--as-of", "2026-12-02")
    run("assign", ids["ООО Ромашка"], "Новикова Ольга", "--as-of", "2026-12-02")
    assert {name: c["owner"] for name, c in clients(run).items()} == {
        "ООО Ромашка": "Новикова Ольга", "ООО Лютик": "Петрова Алла", "ООО Василёк": "Сидоров Олег"}
    run("assign", ids["ООО Василёк"], "петрова  алла", "--as-of", "2026-12-02")  # named now: as the base writes it
    assert clients(run)["ООО Василёк"]["owner"] == "Петрова Алла"
    assert "owns no clients now" in run("reassign", "--from", "Петрова Анна", "--to", "Петрова Алла", check=1).stderr


def test_export_for_a_manager_refuses_a_name_no_one_has_named(run, tmp_path):
    _three_managers(run, tmp_path)
    typo = run("export", "clients", "--manager", "Петрова Анн", check=1)
    assert "did you mean 'Петрова Анна'" in typo.stderr and typo.stdout == ""
    assert "no dump or command names" in run("export", "clients", "--manager", "Новикова Ольга", check=1).stderr
    rows = list(csv.DictReader(io.StringIO(run("export", "clients", "--manager", "петрова анна").stdout)))
    assert [row["name"] for row in rows] == ["ООО Лютик"]


def test_the_lists_for_everyone_once_no_one_owns_a_client_say_what_happened_and_what_to_do(run, tmp_path):
    crm, lists = tmp_path / "crm.csv", tmp_path / "lists.xlsx"
    crm.write_text("Компания;ИНН;Город;Телефон;Ответственный;Дата назначения\n"
                   "ООО А;1650000017;Казань;+79170000001;Иванов Иван;01.01.2026\n"
                   "ООО Б;1650000024;Казань;+79170000002;иванов иван;01.01.2026\n"
                   "ООО В;1650000031;Казань;+79170000003;Петрова Анна;01.01.2026\n", encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-01-01")
    run("clean", "--as-of", "2026-01-01")
    run("today", "--as-of", "2026-01-01", "-o", str(lists))
    first = lists.read_bytes()
    run("clean", "--as-of", "2026-05-01")  # every term ran out in April: the pool is nobody's
    error = run("today", "--as-of", "2026-05-01", "-o", str(lists), check=1).stderr
    assert "no manager owns a client now (their terms ran out" in error and "yet" not in error
    assert "the base names 'Иванов Иван', 'Петрова Анна'" in error  # each once
    assert "[today] team" in error and "--manager" in error and len(error.strip().splitlines()) == 1
    assert lists.read_bytes() == first  # yesterday's lists stand; nobody was handed out
    assert {c["owner"] for c in clients(run).values()} == {""}


def test_the_lists_for_everyone_in_a_base_no_one_has_owned_say_so(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон\nООО А;1650000017;Казань;+79170000001\n", encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-01-01")
    run("clean", "--as-of", "2026-01-01")
    error = run("today", "--as-of", "2026-01-01", check=1).stderr
    assert "no manager owns a client yet, and no dump, dialer log or command names one" in error
