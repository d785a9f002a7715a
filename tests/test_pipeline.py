"""The nightly job and the morning lists, end to end through the CLI on generated dumps with known truth."""

import collections
import csv
import io
import itertools
import json
import os
import pty
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from clientbase import pipeline
from clientbase.config import load_rules

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
from generate import generate  # noqa: E402

AS_OF = "2026-11-20"


def cli(db: Path, *args: str, check: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "clientbase", "--db", str(db), *args],
                            capture_output=True, text=True, cwd=db.parent,
                            env={k: v for k, v in os.environ.items() if k != "CLIENTBASE_RULES"})
    assert result.returncode == check, result.stderr
    return result


def table(db: Path, kind: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(cli(db, "export", kind).stdout)))


def audit_rows(db: Path) -> int:
    """Audit entries other than the exports these tests make to look at the base."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM audit WHERE command != 'export'").fetchone()[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """400 generated companies in four dumps and a dialer log, ingested and cleaned once."""
    folder = tmp_path_factory.mktemp("base")
    data = folder / "dumps"
    generate(data, clients=400, seed=7)
    db = folder / "cb.db"
    cli(db, "ingest", str(data / "crm_export.xlsx"), str(data / "1c_export.csv"), str(data / "purchased_base.csv"))
    cli(db, "calls", str(data / "dialer_log.csv"))
    first = json.loads(cli(db, "clean", "--as-of", AS_OF, "--json").stdout)
    return db, data, first


def pairs(mapping: dict[str, str]) -> set[tuple[str, str]]:
    groups = collections.defaultdict(list)
    for ref, key in mapping.items():
        groups[key].append(ref)
    return {tuple(sorted(p)) for refs in groups.values() for p in itertools.combinations(refs, 2)}


def scores(db: Path, data: Path) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of the clients against the generator's truth, printed."""
    truth = {f"{r['source']}:{r['row']}": r["entity_id"] for r in csv.DictReader(open(data / "truth.csv"))}
    found = {r["record_ref"]: r["client_id"] for r in table(db, "records") if r["status"] == "ok"}
    assert set(found) <= set(truth)
    expected, got = pairs({r: truth[r] for r in found}), pairs(found)
    precision = len(expected & got) / len(got)
    recall = len(expected & got) / len(expected)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"pairwise precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f} ({len(expected)} true pairs)")
    return precision, recall, f1


def test_dedupe_finds_the_real_buyers(base):
    db, data, _ = base
    precision, recall, f1 = scores(db, data)
    assert precision >= 0.99 and recall >= 0.97 and f1 >= 0.98  # measured: 1.0000, 0.9769, 0.9883


def test_dedupe_reaches_the_f1_goal_on_5000_generated_companies(tmp_path):
    """Enough true pairs (1712) for a floor near the goal: F1 0.99, with a false merge rarer than a miss."""
    data = tmp_path / "dumps"
    generate(data, clients=5000, seed=11, crm_format="csv")
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(data / "crm_export.csv"), str(data / "1c_export.csv"), str(data / "purchased_base.csv"))
    cli(db, "clean", "--as-of", AS_OF)
    precision, recall, f1 = scores(db, data)
    assert precision >= 0.998 and recall >= 0.98 and f1 >= 0.99  # measured: 1.0000, 0.9877, 0.9938


def test_clean_twice_changes_nothing_and_writes_no_audit(base):
    db, _, first = base
    clients_before = table(db, "clients")
    phones_before = table(db, "phones")
    audits = audit_rows(db)
    second = json.loads(cli(db, "clean", "--as-of", AS_OF, "--json").stdout)
    assert second["dedupe"]["moved_records"] == 0
    assert second["phones"]["quarantined"] == 0 and second["rules"]["expired"] == 0
    assert second["rules"]["owned"] == first["rules"]["owned"]
    assert table(db, "clients") == clients_before
    assert table(db, "phones") == phones_before
    assert audit_rows(db) == audits


def test_reingesting_unchanged_files_keeps_every_client_id(base, tmp_path):
    db, data, _ = base
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    ids = {r["record_ref"]: r["client_id"] for r in table(copy, "records")}
    audits = audit_rows(copy)
    cli(copy, "ingest", str(data / "crm_export.xlsx"), str(data / "1c_export.csv"), str(data / "purchased_base.csv"))
    cli(copy, "clean", "--as-of", AS_OF)
    assert {r["record_ref"]: r["client_id"] for r in table(copy, "records")} == ids
    assert audit_rows(copy) == audits


def test_no_client_holds_two_valid_inns_and_every_merge_is_explained(base):
    db, _, _ = base
    clients = table(db, "clients")
    assert len({c["client_id"] for c in clients}) == len(clients)
    with sqlite3.connect(db) as conn:
        mixed = conn.execute(
            "SELECT client_id FROM records WHERE inn_valid GROUP BY client_id HAVING count(DISTINCT inn) > 1"
        ).fetchall()
    assert mixed == []
    merged = next(c for c in clients if ";" in c["record_refs"])
    explained = json.loads(cli(db, "explain", merged["client_id"], "--json").stdout)
    refs = set(merged["record_refs"].split(";"))
    assert {r["ref"] for r in explained["records"]} == refs
    joined = {m["ref_a"] for m in explained["matches"]} | {m["ref_b"] for m in explained["matches"]}
    assert refs <= joined and all(m["rule"] and m["detail"] for m in explained["matches"])


def test_duplicates_export_lists_merges_and_reviews(base):
    db, _, _ = base
    rows = table(db, "duplicates")
    assert {r["decision"] for r in rows} <= {"merged", "review"}
    assert any(r["decision"] == "merged" for r in rows)
    assert all(r["rule"] and r["record_ref_a"] != r["record_ref_b"] for r in rows)


def test_lists_keep_every_rule(base, tmp_path):
    db, _, _ = base
    work = tmp_path / "work.db"
    with sqlite3.connect(db) as src, sqlite3.connect(work) as dst:
        src.backup(dst)
    before = {c["client_id"]: c for c in table(work, "clients")}
    phones = table(work, "phones")
    first = json.loads(cli(work, "today", "--as-of", AS_OF, "--json").stdout)
    again = json.loads(cli(work, "today", "--as-of", AS_OF, "--json").stdout)
    assert first == again  # the same run twice gives the same lists

    items = first["items"]
    assert items, "no calls at all"
    by_manager = collections.defaultdict(list)
    for item in items:
        by_manager[item["manager"]].append(item)
    assert len(by_manager) > 1
    bad_numbers = {p["e164"] for p in phones if p["status"] in ("dead", "mismatch")}
    order = "ABCDE"
    seen_clients = [i["client_id"] for i in items]
    assert len(seen_clients) == len(set(seen_clients))  # never twice, never on two lists
    for manager, rows in by_manager.items():
        assert len(rows) <= 50
        never = 10_000  # a client never called (overdue_days null) ranks as the most overdue
        ranks = [(order.index(r["abcde"]) if r["abcde"] else 5,
                  -(never if r["overdue_days"] is None else r["overdue_days"])) for r in rows]
        assert ranks == sorted(ranks), f"{manager}'s list is not ordered A-E then most overdue"
        for row in rows:
            client = before[str(row["client_id"])]
            assert row["reason"]
            assert row["phone"].startswith("+")
            assert client["owner"] in ("", manager), "someone else's client"
            if "re-check" not in row["reason"]:
                assert client["state"] in ("pool", "owned")
                assert row["phone"] not in bad_numbers
                assert client["next_due"] == "" or client["next_due"] <= AS_OF
            if client["owner"] == "":
                assert row["reason"].startswith(("new from pool", "lost client", "re-check"))
    after = {c["client_id"]: c for c in table(work, "clients")}
    for row in items:
        assert after[str(row["client_id"])]["owner"] == row["manager"]  # handing out assigns


def test_one_manager_list_and_xlsx_output(base, tmp_path):
    db, _, _ = base
    work = tmp_path / "work.db"
    with sqlite3.connect(db) as src, sqlite3.connect(work) as dst:
        src.backup(dst)
    owner = next(c["owner"] for c in table(work, "clients") if c["owner"])
    items = json.loads(cli(work, "today", "--manager", owner, "--as-of", AS_OF, "--limit", "7", "--json").stdout)
    assert items["as_of"] == AS_OF
    assert 0 < len(items["items"]) <= 7 and {i["manager"] for i in items["items"]} == {owner}
    for key in ("manager", "client_id", "name", "abcde", "phone", "reason", "last_contact"):
        assert key in items["items"][0]
    out = tmp_path / "lists.xlsx"
    cli(work, "today", "--as-of", AS_OF, "-o", str(out))
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(out))
    assert owner in book.sheet_names and len(book.sheet_names) > 1
    first_row = book.get_sheet_by_name(owner).to_python()[1]
    assert str(first_row[4]).startswith("+7")  # phones stay text


def test_contacts_are_the_people_at_each_client(base):
    db, _, _ = base
    contacts = table(db, "contacts")
    records = {r["record_ref"]: r for r in table(db, "records")}
    assert contacts and all(c["name"] and c["client_id"] for c in contacts)
    for contact in contacts:
        for ref in contact["record_refs"].split(";"):
            assert records[ref]["contact_id"] == contact["contact_id"]
            assert records[ref]["client_id"] == contact["client_id"]
    assert any(";" in c["record_refs"] for c in contacts), "the same person from two records is one contact"
    assert all(not c["phones"].startswith("'") for c in contacts)


# What the morning's commands do not need: the readers, parsers and clustering behind ingest, calls and clean,
# and the xlsx writer. Importing them all made up most of a second of `today`'s start-up.
NOT_IN_THE_MORNING = ("clientbase.pipeline", "clientbase.readers", "clientbase.dedupe", "clientbase.phones",
                      "clientbase.companies", "rapidfuzz", "email_validator", "stdnum", "python_calamine",
                      "charset_normalizer", "multiprocessing", "xlsxwriter")


def test_morning_commands_start_without_the_pipeline(base, tmp_path):
    db, _, _ = base
    work = tmp_path / "work.db"
    with sqlite3.connect(db) as src, sqlite3.connect(work) as dst:
        src.backup(dst)
    client = table(work, "clients")[0]
    owner = next(c["owner"] for c in table(work, "clients") if c["owner"])
    commands = [["today", "--manager", owner, "--as-of", AS_OF, "--json"], ["report", "--as-of", AS_OF, "--json"],
                ["explain", client["client_id"], "--json"], ["quarantine", "list", "--as-of", AS_OF, "--json"],
                ["audit", "--json"], ["export", "clients"]]
    loaded = tmp_path / "modules.json"
    script = """if True:
        import json, sys
        from clientbase import cli
        db, commands, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
        for args in commands:
            sys.argv = ["clientbase", "--db", db, *args]
            try:
                cli.main()
            except SystemExit as done:
                assert not done.code, (args, done.code)
        with open(out, "w") as handle:
            json.dump(sorted(sys.modules), handle)
    """
    result = subprocess.run([sys.executable, "-c", script, str(work), json.dumps(commands), str(loaded)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"items"' in result.stdout  # today really ran
    modules = json.loads(loaded.read_text())
    assert "clientbase.worklist" in modules
    assert [m for m in modules if m.split(".")[0] in NOT_IN_THE_MORNING or m in NOT_IN_THE_MORNING] == []


def test_a_clean_on_a_terminal_names_each_step_as_it_goes(tmp_path):
    generate(tmp_path / "dumps", clients=200, seed=3)
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(tmp_path / "dumps" / "1c_export.csv"), str(tmp_path / "dumps" / "purchased_base.csv"))
    leader, follower = pty.openpty()  # the spinner shows on a terminal only, as cron wants no spinner
    with subprocess.Popen([sys.executable, "-m", "clientbase", "--db", str(db), "clean", "--as-of", AS_OF],
                          stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path,
                          env={**os.environ, "TERM": "xterm", "COLUMNS": "120"}) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            shown += chunk
    os.close(leader)
    assert process.returncode == 0
    text = shown.decode("utf-8", "replace")
    assert "writing the changes" in text and "Clean 2026-11-20" in text


def test_clean_tells_each_step_in_order(tmp_path):
    generate(tmp_path / "dumps", clients=200, seed=3)
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(tmp_path / "dumps" / "1c_export.csv"))
    steps: list[str] = []
    pipeline.clean(db, load_rules(None), date(2026, 11, 20), step=steps.append)
    assert [s.split(" ")[0] for s in steps] == ["taking", "clustering", "saving", "finding", "judging", "applying",
                                               "writing"]
    assert steps[1] == "clustering all records into clients"
    with sqlite3.connect(db) as conn:
        clients = conn.execute("SELECT count(*) FROM clients").fetchone()[0]
    assert steps[2] == f"saving {clients:,} clients and their matches"


def test_a_birthday_written_without_its_year_is_read_and_flags_the_list(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;ИНН;Телефон;Контактное лицо;Должность;Дата рождения;Ответственный\n"
                    "ООО Ромашка;7729141771;+7 916 123-45-67;Петров Иван Ильич;Директор;23.11;Орлов Евгений\n"
                    "ООО Лютик;7776317060;+7 916 123-45-68;Белова Анна;Директор;29.02.;Орлов Евгений\n"
                    "ООО Василёк;7702070139;+7 916 123-45-69;Сидоров Пётр;Директор;31.02;Орлов Евгений\n",
                    encoding="utf-8")
    run("ingest", str(dump), "--as-of", "2026-11-20")
    unread = {r["record_ref"]: r["unread"] for r in csv.DictReader(io.StringIO(run("export", "records").stdout))}
    assert unread == {"crm.csv:1": "", "crm.csv:2": "", "crm.csv:3": "birthday '31.02'"}  # no such day
    run("clean", "--as-of", "2026-11-20")
    contacts = {c["name"]: c["birthday"] for c in json.loads(run("export", "contacts", "--format", "json").stdout)}
    assert contacts == {"Петров Иван Ильич": "--11-23", "Белова Анна": "--02-29", "Сидоров Пётр": None}
    items = json.loads(run("today", "--manager", "Орлов Евгений", "--as-of", "2026-11-20", "--json").stdout)["items"]
    reasons = {i["name"]: i["reason"] for i in items}
    assert "birthday 23.11 (Петров Иван Ильич)" in reasons["ООО Ромашка"]
    assert "birthday" not in reasons["ООО Лютик"] + reasons["ООО Василёк"]
    # 29 February is kept on 1 March in a common year.
    later = json.loads(run("today", "--manager", "Орлов Евгений", "--as-of", "2027-02-27", "--json").stdout)["items"]
    assert "birthday 01.03 (Белова Анна)" in next(i["reason"] for i in later if i["name"] == "ООО Лютик")


def test_birthdays_and_dates_with_the_month_in_russian_or_english_words_are_read(run, tmp_path):
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;ИНН;Телефон;Контактное лицо;Должность;Дата рождения;Ответственный;Последний контакт\n"
                    "ООО Ромашка;7729141771;+7 916 123-45-67;Петров Иван Ильич;Директор;23 ноября;Орлов Евгений;"
                    "23-Sep-2026\n"
                    "ООО Лютик;7776317060;+7 916 123-45-68;Белова Анна;Директор;24 нояб.;Орлов Евгений;"
                    "Oct 1, 2026\n"
                    "ООО Василёк;7702070139;+7 916 123-45-69;Сидоров Пётр;Директор;22 November 1980;Орлов Евгений;"
                    "2 October 2026\n"
                    "ООО Клевер;7707083893;+7 916 123-45-70;Кузнецов Олег;Директор;Nov 21, 1975;Орлов Евгений;"
                    "1 октября 2026 г.\n", encoding="utf-8")
    run("ingest", str(dump), "--as-of", "2026-11-20")
    unread = {r["record_ref"]: r["unread"] for r in csv.DictReader(io.StringIO(run("export", "records").stdout))}
    assert set(unread.values()) == {""}
    run("clean", "--as-of", "2026-11-20")
    contacts = {c["name"]: c["birthday"] for c in json.loads(run("export", "contacts", "--format", "json").stdout)}
    assert contacts == {"Петров Иван Ильич": "--11-23", "Белова Анна": "--11-24", "Сидоров Пётр": "1980-11-22",
                        "Кузнецов Олег": "1975-11-21"}
    clients = {c["name"]: c["last_contact"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    assert clients == {"ООО Ромашка": "2026-09-23", "ООО Лютик": "2026-10-01", "ООО Василёк": "2026-10-02",
                       "ООО Клевер": "2026-10-01"}
    items = json.loads(run("today", "--manager", "Орлов Евгений", "--as-of", "2026-11-20", "--json").stdout)["items"]
    reasons = {i["name"]: i["reason"] for i in items}
    assert "birthday 23.11 (Петров Иван Ильич)" in reasons["ООО Ромашка"]
    assert "birthday 22.11 (Сидоров Пётр)" in reasons["ООО Василёк"]
    assert "birthday 21.11 (Кузнецов Олег)" in reasons["ООО Клевер"]
    assert "birthday" not in reasons["ООО Лютик"]  # 24.11: four days on, past the rules' three


def test_every_command_taking_as_of_works_on_the_calendars_last_day(run, tmp_path):
    far = "9999-12-31"
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;ИНН;Телефон;Контактное лицо;Должность;Дата рождения;Ответственный\n"
                    "ООО Ромашка;7729141771;+7 916 123-45-67;Петров Иван Ильич;Директор;01.01.1980;Орлов Евгений\n"
                    "ООО Лютик;7776317060;+7 916 123-45-68;Белова Анна;Директор;;Орлов Евгений\n"
                    "ООО Василёк;7702070139;+7 916 123-45-69;;;;\n", encoding="utf-8")
    log = tmp_path / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат\n79161234569;2026-11-10 10:00;Номер не существует\n",
                   encoding="utf-8")
    run("ingest", str(dump), "--as-of", far)
    run("calls", str(log))
    run("clean", "--as-of", far)
    ids = {c["name"]: c["client_id"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    # A term or a re-check that would run past the calendar ends on its last day.
    [entry] = json.loads(run("quarantine", "list", "--as-of", far, "--json").stdout)["items"]
    assert (entry["name"], entry["recheck_on"], entry["recheck_due"]) == ("ООО Василёк", far, True)
    # The birthday on 1 January would fall in the year 10000: no reason, no error.
    items = json.loads(run("today", "--manager", "Орлов Евгений", "--as-of", far, "--json").stdout)["items"]
    assert sorted(i["name"] for i in items) == ["ООО Василёк", "ООО Лютик", "ООО Ромашка"]
    assert "re-check" in next(i["reason"] for i in items if i["name"] == "ООО Василёк")
    assert not [i for i in items if "birthday" in i["reason"]]
    run("today", "--as-of", far, "-o", str(tmp_path / "lists.xlsx"))
    run("assign", ids["ООО Лютик"], "Петрова Анна", "--as-of", far)
    assert json.loads(run("audit", "--command", "assign", "--json").stdout)["items"][-1]["detail"].count(far) == 1
    run("reassign", "--from", "Петрова Анна", "--to", "Орлов Евгений", "--as-of", far)
    run("release", ids["ООО Лютик"], "--as-of", far)
    refused = run("snooze", ids["ООО Ромашка"], "--until", far, "--reason", "x", "--as-of", far, check=1)
    assert refused.stderr == f"error: --until {far} is not after {far}\n"
    ownership = json.loads(run("report", "--as-of", far, "--json").stdout)["sections"]["Ownership"]["rows"]
    assert {"what": "terms ending within 7 days", "count": 2} in ownership  # the two Орлов was handed today
    run("quarantine", "release", ids["ООО Василёк"], "--as-of", far)
    run("clean", "--as-of", far)


def test_a_date_at_the_calendars_end_in_a_dump_does_not_stop_the_clean(run, tmp_path):
    # Some systems write 31.12.9999 for a date that never comes.
    dump = tmp_path / "crm.csv"
    dump.write_text("Компания;Телефон;Ответственный;Дата назначения;Дата последнего контакта\n"
                    "ООО Альфа;+7 916 507-23-81;Петрова Анна;31.12.9999;31.12.9999\n"
                    "ООО Бета;+7 916 634-18-29;Петрова Анна;01.11.2026;01.10.2026\n"
                    "ООО Гамма;+7 916 634-18-30;;;\n", encoding="utf-8")
    log = tmp_path / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат\n79166341830;31.12.9999 10:00;Номер не существует\n",
                   encoding="utf-8")
    run("ingest", str(dump), "--as-of", "2026-11-20")
    # An assignment, a contact or a call on a day to come is none: kept raw, it holds or rests nobody until the
    # calendar's end. Альфа's owner holds it from the day the dump named him.
    assert json.loads(run("calls", str(log), "--json").stdout)["sources"][0]["rejected"] == {"date in the future": 1}
    run("clean", "--as-of", "2026-11-20")
    assert list(csv.DictReader(io.StringIO(run("export", "quarantine").stdout))) == []
    clients = {c["name"]: (c["owner_until"], c["next_due"])
               for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    assert clients == {"ООО Альфа": ("2027-02-18", ""), "ООО Бета": ("2027-01-30", "2026-10-31"),
                       "ООО Гамма": ("", "")}
    items = json.loads(run("today", "--manager", "Петрова Анна", "--as-of", "2026-11-20", "--json").stdout)["items"]
    assert sorted(i["name"] for i in items) == ["ООО Альфа", "ООО Бета", "ООО Гамма"]  # Гамма from the pool


def test_a_client_never_called_has_no_overdue_days_and_still_comes_first(tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефон;Ответственный;Дата последнего контакта\n"
                   "ООО Альфа;+7 916 507-23-81;Петрова Анна;1980-09-01\n"
                   "ООО Бета;+7 916 634-18-29;Петрова Анна;\n"
                   "ООО Гамма;+7 916 634-18-30;Петрова Анна;2026-10-01\n", encoding="utf-8")
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(crm))
    cli(db, "clean", "--as-of", AS_OF)
    items = json.loads(cli(db, "today", "--as-of", AS_OF, "--json").stdout)["items"]
    # Due 30 days after the last contact: Альфа on 1 October 1980, Гамма on 31 October; Бета never called comes
    # first all the same, as the store's candidates have it.
    assert [(i["name"], i["last_contact"], i["overdue_days"]) for i in items] == [
        ("ООО Бета", None, None), ("ООО Альфа", "1980-09-01", 16851), ("ООО Гамма", "2026-10-01", 20)]
    for out in (tmp_path / "lists.csv", tmp_path / "lists.json"):
        cli(db, "today", "--as-of", AS_OF, "-o", str(out))
    written = list(csv.DictReader(io.StringIO((tmp_path / "lists.csv").read_text(encoding="utf-8-sig"))))
    assert [row["overdue_days"] for row in written] == ["", "16851", "20"]
    assert [row["overdue_days"] for row in json.loads((tmp_path / "lists.json").read_text())] == [None, 16851, 20]
    book = tmp_path / "lists.xlsx"
    cli(db, "today", "--as-of", AS_OF, "-o", str(book))
    from python_calamine import CalamineWorkbook

    header, *rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Петрова Анна").to_python()
    assert [row[header.index("overdue_days")] for row in rows] == ["", 16851, 20]


def test_the_list_calls_the_merged_decision_makers_mobile_whichever_row_gave_it(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,ИНН,Город,Телефон,Контактное лицо,Должность,Ответственный\n"
                   "ООО «Альфа»,7707083893,Казань,+7 843 555-12-34,Левин Степан Тимурович,Генеральный директор,"
                   "Петрова Анна\n"
                   'ООО «Альфа»,7707083893,Казань,"+7 843 555-12-34; +7 917 111-22-33",Степан Тимурович,,Петрова Анна\n',
                   encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    [contact] = json.loads(run("export", "contacts", "--format", "json").stdout)
    assert contact["position"] == "Генеральный директор"  # one person from the two rows
    [item] = json.loads(run("today", "--as-of", "2026-11-21", "--json").stdout)["items"]
    assert (item["phone"], item["contact"]) == ("+79171112233", "Левин Степан Тимурович")


def test_a_client_s_city_is_the_one_most_of_its_records_name_however_written(run, tmp_path):
    # The most trusted dump has the company in Saint Petersburg; the three others have Moscow, each its own
    # way. It is a Moscow company: its Moscow landline is no mismatch.
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,ИНН,Город,Телефон\nООО «Вектор»,7707083893,Санкт-Петербург,+7 495 100-00-01\n",
                   encoding="utf-8")
    one_c = tmp_path / "1c.csv"
    one_c.write_text("Контрагент,ИНН,Город\nВектор ООО,7707083893,г. Москва\n", encoding="utf-8")
    bought = tmp_path / "bought.csv"
    bought.write_text("Company,INN,City\nВектор,7707083893,Москва г\nООО Вектор,7707083893,Moscow\n",
                      encoding="utf-8")
    run("ingest", str(crm), str(one_c), str(bought), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    clients = list(csv.DictReader(io.StringIO(run("export", "clients").stdout)))
    assert [(c["name"], c["city"], c["state"]) for c in clients] == [("ООО «Вектор»", "Москва", "pool")]


def test_one_city_written_several_ways_is_one_city_for_the_names(run, tmp_path):
    # No phone, INN or e-mail in common: only the name in one city joins them, however the city is written.
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,Город,Телефон\n"
                   "ООО «Вектор»,Москва г,+7 495 100-00-01\n"
                   "ООО «Ладога»,Санкт-Петербург,+7 812 100-00-03\n"
                   "ООО «Дон-Агро»,Ростов-на-Дону,+7 863 100-00-05\n"
                   "ООО «Вектор»,Казань,+7 843 100-00-07\n"
                   "ООО «Ока»,Киров,+7 8332 10-00-08\n", encoding="utf-8")
    bought = tmp_path / "bought.csv"
    bought.write_text("Company,City,Phone\n"
                      "Вектор ООО,Moscow,+7 495 100-00-02\n"
                      "ООО Ладога,СПб,+7 812 100-00-04\n"
                      "ООО Дон-Агро,Rostov-on-Don,+7 863 100-00-06\n"
                      "ООО Ока,Киров (Калужская обл.),+7 48456 1-00-09\n", encoding="utf-8")  # a town of that name
    run("ingest", str(crm), str(bought), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    clients = list(csv.DictReader(io.StringIO(run("export", "clients").stdout)))
    assert sorted((c["name"], c["city"]) for c in clients) == [
        ("ООО «Вектор»", "Казань"), ("ООО «Вектор»", "Москва г"), ("ООО «Дон-Агро»", "Ростов-на-Дону"),
        ("ООО «Ладога»", "Санкт-Петербург"), ("ООО «Ока»", "Киров"), ("ООО Ока", "Киров (Калужская обл.)")]
    # Its line in the Kaluga region is no mismatch: the town is not Kirov, whose code is 8332.
    assert {c["city"]: c["state"] for c in clients}["Киров (Калужская обл.)"] == "pool"
    merges = json.loads(run("export", "duplicates", "--format", "json").stdout)
    assert [(m["record_ref_b"], m["rule"], m["decision"], m["detail"]) for m in merges] == [
        ("bought.csv:1", "name+city", "merged", 'name "вектор" in москва'),
        ("bought.csv:2", "name+city", "merged", 'name "ладога" in санкт-петербург'),
        ("bought.csv:3", "name+city", "merged", 'name "дон агро" in ростов-на-дону')]
