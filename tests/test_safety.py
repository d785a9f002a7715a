"""The base survives crashes, concurrency, bad input and prying eyes: real processes, real files."""

import csv
import hashlib
import io
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from clientbase.errors import UserError
from clientbase.export import neutralise
from clientbase.readers import read_tables
from clientbase.store import Store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
from generate import generate  # noqa: E402

SAMPLE = ROOT / "sample_data"
AS_OF = "2026-11-20"


def command(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "clientbase", "--db", str(db), *args]


def cli(db: Path, *args: str, check: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(command(db, *args), capture_output=True, text=True, cwd=db.parent)
    assert result.returncode == check, result.stderr
    return result


def state(db: Path) -> str:
    """Everything in the database, as one fingerprint."""
    with sqlite3.connect(db) as conn:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    generate(folder, clients=20000, seed=11)
    return folder


def finished(db: Path, step: str) -> bool:
    """Whether the step's transaction committed (a kill can land after the commit, before the exit)."""
    with sqlite3.connect(db) as conn:
        done = {"ingest": "SELECT count(*) > 20000 FROM records",
                "calls": "SELECT count(*) = 1 FROM sources WHERE kind = 'calls'",
                "clean": "SELECT count(*) >= 2 FROM runs"}[step]
        return bool(conn.execute(done).fetchone()[0])


def test_kill_9_at_any_moment_leaves_the_database_as_before(tmp_path, big):
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(SAMPLE / "crm_export.xlsx"), str(SAMPLE / "1c_export.csv"))
    cli(db, "clean", "--as-of", AS_OF)
    steps = [
        ("ingest", str(big / "crm_export.xlsx"), str(big / "1c_export.csv"), str(big / "purchased_base.csv")),
        ("calls", str(big / "dialer_log.csv")),
        ("clean", "--as-of", AS_OF),
    ]
    interrupted = 0
    for step in steps:
        for delay in (0.7, 1.2, 2.2):
            if finished(db, step[0]):
                break
            before = state(db)
            process = subprocess.Popen(command(db, *step), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            if not finished(db, step[0]):
                assert state(db) == before, f"{step[0]} killed after {delay}s left a change behind"
                interrupted += 1
        cli(db, *step)  # and running it again completes
        assert finished(db, step[0])
    assert interrupted >= 5, "the commands finished before they could be killed: use a larger input"
    assert json.loads(cli(db, "clean", "--as-of", AS_OF, "--json").stdout)["dedupe"]["records"] > 20000


def test_readers_are_not_blocked_into_errors_and_writers_never_interleave(tmp_path, big):
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(big / "crm_export.xlsx"), str(big / "1c_export.csv"), str(big / "purchased_base.csv"))
    cli(db, "clean", "--as-of", AS_OF)
    owner = next(r["owner"] for r in csv.DictReader(io.StringIO(cli(db, "export", "clients").stdout)) if r["owner"])
    # A full clean: with nothing new, a clean of this base can end before a second process has started.
    night = subprocess.Popen(command(db, "clean", "--full", "--as-of", "2026-11-21"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_for_the_lock(db, night)
    second = cli(db, "clean", "--as-of", "2026-11-21", check=1)
    told = " ".join(second.stderr.split())
    assert re.search(rf"another clientbase command is writing \(pid {night.pid} since [\d-]+ [\d:]+\);", told), told
    readers = [subprocess.Popen(command(db, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for args in (("export", "clients"), ("report", "--json"), ("export", "phones"),
                            ("today", "--manager", owner, "--as-of", "2026-11-21", "--json"))]
    for reader in readers:
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err
        assert out
    night.communicate(timeout=300)
    assert night.returncode == 0


def test_a_reader_closing_while_a_clean_runs_leaves_the_clean_s_log_in_place(tmp_path, big):
    # The snapshot is copied while the clean works. Had the copy let go of the clean's locks on the base, the
    # last reader to close would take itself for the last connection: it would move the log into the base
    # and delete it under the clean, whose commit other readers would then see half of.
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(big / "crm_export.xlsx"), str(big / "1c_export.csv"), str(big / "purchased_base.csv"))
    cli(db, "clean", "--as-of", AS_OF)
    snapshots = db.with_name(db.name + ".backups")
    before = len(list(snapshots.glob("*.db")))
    night = subprocess.Popen(command(db, "clean", "--full", "--as-of", "2026-11-21"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while night.poll() is None and len(list(snapshots.glob("*.db"))) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    reader = sqlite3.connect(db)
    assert reader.execute("SELECT count(*) FROM clients").fetchone()[0] > 0
    reader.close()
    still_cleaning = night.poll() is None
    log_kept = db.with_name(db.name + "-wal").exists()
    night.communicate(timeout=300)
    assert night.returncode == 0
    assert still_cleaning, "the clean ended before the reader closed: nothing was tested"
    assert log_kept


def wait_for_the_lock(db: Path, process: subprocess.Popen) -> None:
    """Until the process holds the writer lock: a loaded machine can take a while to start Python."""
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if lock.exists() and f"pid {process.pid} " in lock.read_text():
            return
        time.sleep(0.05)


def test_a_crashed_writer_leaves_no_stale_lock(tmp_path, big):
    db = tmp_path / "cb.db"
    lock = tmp_path / "cb.db.lock"
    process = subprocess.Popen(command(db, "ingest", str(big / "crm_export.xlsx")),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_the_lock(db, process)
    process.kill()
    process.wait()
    assert lock.exists()
    cli(db, "ingest", str(SAMPLE / "1c_export.csv"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4000), st.sampled_from(["x.csv", "x.xlsx", "x.xls", "x.ods", "x.txt"]))
def test_random_bytes_never_crash_a_reader(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    try:
        for table in read_tables(path):
            for row in table.rows:
                assert row.number >= 1
    except UserError as error:
        assert "\n" not in str(error) and name in str(error)


def crm_xlsx(path: Path) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Клиенты")
    sheet.write_row(0, 0, ["Компания", "Телефоны", "ИНН"])
    for row in range(1, 200):
        sheet.write_row(row, 0, [f"ООО «Фирма {row}»", f"+7 916 {row:03d}-00-{row % 90 + 10}", ""])
    book.close()
    return path


@pytest.mark.parametrize("cut", [100, 400, 1500, 3000])
def test_truncated_xlsx_is_a_one_line_error_and_changes_nothing(run, tmp_path, cut):
    whole = crm_xlsx(tmp_path / "whole.xlsx").read_bytes()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(whole[:cut])
    run("init")
    before = state(tmp_path / "cb.db")
    result = run("ingest", str(broken), check=1)
    assert "broken.xlsx" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert state(tmp_path / "cb.db") == before


def test_hostile_files_are_read_or_refused_cleanly(run, tmp_path):
    cases = {
        "nul.csv": "Компания;Телефон\nООО\x00 Альфа;+7 916 111-22-33\n".encode(),
        "wide.csv": (";".join(f"c{i}" for i in range(10000)) + "\n" + ";".join("x" for _ in range(10000))
                     + "\n").encode(),
        "huge_cell.csv": ("Компания;Комментарий\nООО Бета;" + "я" * 2_000_000 + "\n").encode(),
        "mixed.csv": "Компания;Город\nООО Гамма;Москва\n".encode() + "ООО Дельта;Тюмень\n".encode("cp1251"),
        "formulas.csv": "Компания;Телефон\n=HYPERLINK(\"http://x\");+7 916 111-22-44\n".encode(),
        "dates.csv": "Компания;Дата последней покупки\nООО Эпсилон;31.12.9999\nООО Зета;99999999\n".encode(),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = run("ingest", str(path), "--json", check=None)
        assert "Traceback" not in result.stderr, name
        if result.returncode == 0:
            summary = json.loads(result.stdout)
            assert summary["rows"] >= 1, name
        else:
            assert result.returncode == 1 and name in result.stderr, name
            assert len(result.stderr.strip().splitlines()) == 1, name


@pytest.mark.parametrize("value, safe", [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"), ("@cmd", "'@cmd"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"),
    ("+74951234567", "+74951234567"), ("+7 (495) 123-45-67", "+7 (495) 123-45-67"), ("-1500.5", "-1500.5"),
    ("ООО Ромашка", "ООО Ромашка"),
])
def test_formula_injection_is_neutralised_but_phones_stay_readable(value, safe):
    assert neutralise(value) == safe


def test_exports_are_private_scoped_masked_and_logged(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "Компания,ИНН,Телефон,Email,Ответственный,Прибыль\n"
        "=HYPERLINK(\"http://evil\"),0123456789,+7 916 123-45-67,ivan@romashka.ru,Иванов,100\n"
        "ООО Бета,,+7 916 765-43-21,petr@beta.ru,Петров,50\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    assert (tmp_path / "cb.db").stat().st_mode & 0o777 == 0o600
    out = tmp_path / "all.xlsx"
    run("export", "clients", "-o", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("clients").to_python()
    header = rows[0]
    first = dict(zip(header, rows[1]))
    assert first["name"].startswith("'=")  # not a live formula
    assert first["inn"] == "0123456789"  # text: the leading zero survives
    with zipfile.ZipFile(out) as book:
        assert "<f>" not in book.read("xl/worksheets/sheet1.xml").decode()

    mine = list(csv.DictReader(io.StringIO(run("export", "clients", "--manager", "петров").stdout)))
    assert [r["name"] for r in mine] == ["ООО Бета"]
    assert "profit" not in mine[0] and "potential" not in mine[0]
    phones = list(csv.DictReader(io.StringIO(run("export", "phones", "--manager", "Петров", "--mask").stdout)))
    assert [p["e164"] for p in phones] == ["+7916*****21"]
    log = json.loads(run("audit", "--command", "export", "--json").stdout)["items"]
    assert [json.loads(e["detail"])["rows"] for e in log] == [2, 1, 1]
    assert json.loads(log[-1]["detail"])["masked"] is True and log[-1]["user"]


def test_a_managers_list_carries_only_the_columns_the_rules_allow_a_manager(run, tmp_path):
    (tmp_path / "crm.csv").write_text(
        "Наименование;ИНН;Город;Телефон;Контактное лицо;Должность;Дата рождения;Ответственный;Прибыль;"
        "Дата последней покупки\n"
        "ООО Альфа;7707083893;Москва;+7 916 111-22-33;Смирнов Пётр Ильич;Генеральный директор;22.11.1975;Иванов Иван;"
        "100000;01.10.2026\n", encoding="utf-8")
    (tmp_path / "clientbase.toml").write_text(
        '[access]\nmanager_columns = ["client_id", "name", "manager", "phone", "reason", "last_contact"]\n',
        encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    run("clean", "--as-of", AS_OF)
    essentials = ["manager", "client_id", "name", "abcde", "phone", "reason", "last_contact"]  # CLI.md's, always
    (item,) = json.loads(run("today", "--manager", "Иванов Иван", "--as-of", AS_OF, "--json").stdout)["items"]
    assert list(item) == essentials and item["name"] == "ООО Альфа"
    assert item["reason"] == "cycle due; decision maker's birthday 22.11"  # without the person the rules keep back
    run("today", "--manager", "Иванов Иван", "--as-of", AS_OF, "-o", str(tmp_path / "list.csv"))
    written = list(csv.reader(io.StringIO((tmp_path / "list.csv").read_text(encoding="utf-8-sig"))))
    assert written[0] == essentials and not any("Смирнов" in cell for cell in written[1])
    shown = run("today", "--manager", "Иванов Иван", "--as-of", AS_OF, env={"COLUMNS": "200"})
    assert "ООО Альфа" in shown.stderr and "Смирнов" not in shown.stderr  # the table, on stderr off a terminal
    everyone = json.loads(run("today", "--as-of", AS_OF, "--json").stdout)["items"]  # the head's lists: all of it
    assert everyone[0]["contact"] == "Смирнов Пётр Ильич" and "(Смирнов Пётр Ильич)" in everyone[0]["reason"]


def test_the_audit_names_each_entry_by_its_command_and_a_mistyped_one_is_told(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("calls", str(SAMPLE / "dialer_log.csv"))
    run("export", "clients", "-o", str(tmp_path / "c.csv"))
    assert [e["action"] for e in json.loads(run("audit", "--command", "ingest", "--json").stdout)["items"]] == ["new"]
    assert len(json.loads(run("audit", "--command", "calls", "--json").stdout)["items"]) == 1
    error = run("audit", "--command", "exprot", check=1).stderr
    assert "--command 'exprot': the audit log holds no entry of it (did you mean 'export'?); it holds calls, " \
           "export, ingest" in " ".join(error.split())


def test_a_masked_contacts_export_hides_the_people(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,Контактное лицо,Телефон,Email\n"
                   "ООО Бета,Петров Пётр Ильич,+7 916 765-43-21; +7 495 123-45-67,petr@beta.ru\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    [contact] = csv.DictReader(io.StringIO(run("export", "contacts", "--mask").stdout))
    assert (contact["name"], contact["phones"], contact["emails"]) == (
        "Петров П. И.", "+7495*****67;+7916*****21", "p***@beta.ru")


def test_a_masked_contact_named_by_one_word_keeps_only_its_initial(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,Контактное лицо,Телефон\nООО Бета,Айгуль,+7 916 765-43-21\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    [contact] = csv.DictReader(io.StringIO(run("export", "contacts", "--mask").stdout))
    assert contact["name"] == "А."


def test_a_masked_phones_export_hides_who_the_phone_cell_names(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефон\nООО Бета;8-916-765-43-21 Григорий (бухгалтер)\n", encoding="utf-8")
    run("ingest", str(crm))
    [phone] = csv.DictReader(io.StringIO(run("export", "phones", "--mask").stdout))
    assert (phone["raw"], phone["e164"]) == ("8-916-***-**-21 Г. (б.)", "+7916*****21")


def test_a_masked_export_or_list_hides_a_sole_traders_name_and_inn(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Контактное лицо;Ответственный\n"
                   "ИП Тихонов Леонид Васильевич;783842100587;Санкт-Петербург;+7 981 967-21-32;"
                   "Тихонов Леонид Васильевич;Орлов Евгений\n"
                   "Тихонов Леонид Васильевич ИП;;Санкт-Петербург;+7 981 967-21-32;;Орлов Евгений\n"
                   "ООО Альфа;7729141771;Москва;+7 916 123-45-67;Петров Иван Ильич;Орлов Евгений\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    masked = [("ИП Тихонов Л. В.", "7838********"), ("ООО Альфа", "7729141771")]  # a company stays as it is
    clients = csv.DictReader(io.StringIO(run("export", "clients", "--mask").stdout))
    assert [(c["name"], c["inn"]) for c in clients] == masked
    as_json = json.loads(run("export", "clients", "--mask", "--format", "json").stdout)
    assert [(c["name"], c["inn"]) for c in as_json] == masked and "person" not in as_json[0]
    book = tmp_path / "clients.xlsx"
    run("export", "clients", "--mask", "-o", str(book))
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("clients").to_python()
    assert [(row[rows[0].index("name")], row[rows[0].index("inn")]) for row in rows[1:]] == masked
    [duplicate] = csv.DictReader(io.StringIO(run("export", "duplicates", "--mask").stdout))
    assert duplicate["detail"] == 'name "тихонов л. в.", phone +7981*****32'
    items = json.loads(run("today", "--as-of", AS_OF, "--mask", "--json").stdout)["items"]
    assert sorted((i["name"], i["contact"]) for i in items) == [("ИП Тихонов Л. В.", "Тихонов Л. В."),
                                                                 ("ООО Альфа", "Петров И. И.")]
    lists = tmp_path / "lists.csv"
    run("today", "--as-of", AS_OF, "--mask", "-o", str(lists))
    assert "Леонид" not in lists.read_text(encoding="utf-8-sig")
    assert all("Леонид" not in run("export", kind, "--mask").stdout for kind in ("records", "contacts"))
    assert "ИП Тихонов Леонид Васильевич" in run("export", "clients").stdout  # unmasked, it is all there



def test_a_masked_notice_hides_a_sole_traders_name(run, tmp_path):
    crm, one_c = tmp_path / "crm.csv", tmp_path / "1c.csv"
    crm.write_text("Компания;ИНН;Телефон;Ответственный;Дата назначения\n"
                   "ИП Тихонов Леонид Васильевич;783842100587;+7 981 967-21-32;Орлов Евгений;01.09.2026\n",
                   encoding="utf-8")
    one_c.write_text("Контрагент;ИНН;Телефон;Менеджер;Дата назначения\n"
                     "Тихонов Леонид Васильевич ИП;783842100587;89819672132;Петров Пётр;01.10.2026\n", encoding="utf-8")
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", AS_OF)

    def notices(*args):
        return [(n["manager"], n["name"], n["owner"]) for n in
                json.loads(run("today", "--as-of", AS_OF, "--manager", "Петров Пётр", "--json", *args).stdout)["notices"]]

    assert notices() == [("Петров Пётр", "ИП Тихонов Леонид Васильевич", "Орлов Евгений")]
    assert notices("--mask") == [("Петров Пётр", "ИП Тихонов Л. В.", "Орлов Евгений")]
    run("today", "--as-of", AS_OF, "--mask", "-o", str(tmp_path / "lists.csv"))
    beside = (tmp_path / "lists.notices.csv").read_text(encoding="utf-8-sig")
    assert "ИП Тихонов Л. В." in beside and "Леонид" not in beside


def test_explain_and_audit_mask_what_the_exports_mask(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Email\n"
                   "ИП Тихонов Леонид Васильевич;783842100587;Санкт-Петербург;+7 981 967-21-32;\n"
                   "Тихонов Леонид Васильевич ИП;;Санкт-Петербург;+7 981 967-21-32;\n"
                   "ИП Сидорова Мария Петровна;;Казань;+7 843 211-22-33;sidorova.m@mail.ru\n"
                   "Сидорова Мария Петровна;;Казань;+7 843 211-22-44;sidorova.m@mail.ru\n"
                   "ООО Альфа;7729141771;Москва;+7 916 123-45-67;\n"
                   "Альфа ООО;;Москва;+7 916 123-45-67;\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    ids = {c["name"]: c["client_id"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}

    def explained(name):
        return json.loads(run("explain", ids[name], "--mask", "--json").stdout)

    tikhonov = explained("ИП Тихонов Леонид Васильевич")
    assert (tikhonov["client"]["name"], tikhonov["client"]["inn"]) == ("ИП Тихонов Л. В.", "7838********")
    assert [(r["name"], r["inn"]) for r in tikhonov["records"]] == [("ИП Тихонов Л. В.", "7838********"),
                                                                      ("Тихонов Л. В. ИП", None)]
    assert [m["detail"] for m in tikhonov["matches"]] == ['name "тихонов л. в.", phone +7981*****32']
    assert [m["detail"] for m in explained("ИП Сидорова Мария Петровна")["matches"]] == [
        'name "сидорова м. п.", email s***@mail.ru']
    alfa = explained("ООО Альфа")  # a company's name and INN stay as they are, its phones do not
    assert (alfa["client"]["name"], alfa["client"]["inn"], [r["name"] for r in alfa["records"]]) == (
        "ООО Альфа", "7729141771", ["ООО Альфа", "Альфа ООО"])
    assert [m["detail"] for m in alfa["matches"]] == ['phone +7916*****67']
    assert "+7981*****32" in json.loads(tikhonov["history"][0]["detail"])["why"]

    hidden = ("Леонид", "леонид", "Мария", "мария", "783842100587", "9672132", "2112233", "1234567", "sidorova.m@")
    shown = [run("explain", client, "--mask", env={"COLUMNS": "250"}) for client in ids.values()]
    shown += [run("audit", "--mask", "--json"), run("audit", "--mask", env={"COLUMNS": "250"})]
    for result in shown:
        assert not [word for word in hidden if word in result.stdout + result.stderr], result.args
    log = json.loads(run("audit", "--mask", "--json").stdout)["items"]
    assert any("+7981*****32" in entry["detail"] for entry in log)
    unmasked = run("audit", "--json").stdout + run("explain", ids["ИП Тихонов Леонид Васильевич"], "--json").stdout
    assert all(word in unmasked for word in ("леонид", "мария", "783842100587", "+79819672132", "sidorova.m@"))
    # Split apart, then gone from the dump: the decision parked names the record, whose client is gone too.
    run("unmerge", ids["ИП Тихонов Леонид Васильевич"])
    crm.write_text("\n".join(line for line in crm.read_text(encoding="utf-8").splitlines()
                             if not line.startswith("Тихонов")) + "\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    log = json.loads(run("audit", "--mask", "--json").stdout)["items"]
    [parked] = [entry for entry in log if entry["action"] == "unmerge parked"]
    assert json.loads(parked["detail"])["name"] == "Тихонов Л. В. ИП"
    clients = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert str(parked["client_id"]) not in {c["client_id"] for c in clients}  # masked as a person's, unknown now

def test_a_masked_audit_or_explain_hides_a_snooze_reason_as_typed(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Телефон;Ответственный\nООО Альфа;7729141771;+7 916 123-45-67;Орлов Евгений\n",
                   encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    typed = "ЛПР Иванов Пётр, звонить 8-916-765-43-21 или petr.ivanov@alfa.ru; закупки через Москву"
    run("snooze", "1", "--until", "2027-11-20", "--reason", typed, "--as-of", AS_OF)
    run("release", "1", "--as-of", AS_OF)
    # Hidden as a raw phone cell is: the phone's middle digits, every word but its first letter.
    hidden = "Л. И. П., з. 8-916-***-**-21 и. p.i.@a.r.; з. ч. М."
    log = {e["action"]: json.loads(e["detail"]) for e in json.loads(run("audit", "--mask", "--json").stdout)["items"]}
    assert log["snooze"] == {"reason": hidden, "until": "2027-11-20"}
    assert log["release"]["reason"] == "released by hand"  # the tool's own words stay as they are
    history = json.loads(run("explain", "1", "--mask", "--json").stdout)["history"]
    assert json.loads(next(h["detail"] for h in history if h["action"] == "snooze"))["reason"] == hidden
    shown = [run("audit", "--mask", env={"COLUMNS": "250"}), run("explain", "1", "--mask", env={"COLUMNS": "250"})]
    assert "з. ч. М." in shown[0].stdout + shown[0].stderr
    assert not [word for word in ("Иванов", "765-43", "petr.ivanov") for result in shown
                if word in result.stdout + result.stderr]
    unmasked = json.loads(run("audit", "--json").stdout)["items"]
    assert json.loads(next(e["detail"] for e in unmasked if e["action"] == "snooze"))["reason"] == typed


@pytest.mark.parametrize("target", ["cb.db", "cb.db-wal", "cb.db.lock", "cb.db.backups/list.csv"])
def test_an_export_onto_the_base_or_its_snapshots_is_refused(run, tmp_path, target):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    # Before the first snapshot: a file there would stop every clean from making its folder.
    assert "snapshots folder" in run("export", "records", "-o", "cb.db.backups", check=1).stderr
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    before, snapshots = state(db), sorted((tmp_path / "cb.db.backups").iterdir())
    for command in (("export", "clients", "-o", target), ("today", "--as-of", AS_OF, "-o", target)):
        result = run(*command, check=1)
        assert result.stderr.startswith(f"error: {target}: is ") and "write the export elsewhere" in result.stderr
    assert "folder missing does not exist" in run("today", "--as-of", AS_OF, "-o", "missing/lists.xlsx", check=1).stderr
    assert state(db) == before  # no pool client was handed out for a list that could not be written
    assert sorted((tmp_path / "cb.db.backups").iterdir()) == snapshots


def test_an_output_named_for_a_format_that_cannot_be_written_is_refused(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    before = state(db)
    for command, name in ((("today", "--as-of", AS_OF), "list.pdf"), (("export", "clients"), "x.xls")):
        result = run(*command, "-o", name, check=1)
        suffix = name.rsplit(".", 1)[1]
        assert result.stderr.strip() == f"error: {name}: cannot write a .{suffix} file: name it .csv, .xlsx or .json"
        assert not (tmp_path / name).exists()
    assert state(db) == before  # no pool client was handed out for a list that was not written
    # A format asked for by name wins; a name without an extension, stdout and devices are CSV as before.
    run("export", "conflicts", "-o", "conflicts.txt", "--format", "csv")
    run("export", "conflicts", "-o", "conflicts")
    assert (tmp_path / "conflicts.txt").read_bytes() == (tmp_path / "conflicts").read_bytes()
    assert run("export", "conflicts", "-o", "/dev/stdout").stdout.lstrip("\ufeff").startswith("client_id,managers,")
    assert run("today", "--as-of", AS_OF, "--limit", "1", "-o", "/dev/stdout").stdout.lstrip("\ufeff").startswith(
        "manager,client_id,")


def test_an_export_through_a_symbolic_link_replaces_the_file_it_names(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "clients.csv").write_text("old\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(shared / "clients.csv")
    run("export", "records", "-o", "link.csv")
    assert (tmp_path / "link.csv").is_symlink()
    assert (shared / "clients.csv").read_text(encoding="utf-8-sig").startswith("record_ref,")


def test_a_base_reached_by_a_symbolic_link_guards_the_files_beside_the_real_one(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "cb.db")
    result = run("--db", str(link), "export", "clients", "-o", str(tmp_path / "cb.db.lock"), check=1)
    assert "a file the base keeps beside it (cb.db.lock)" in " ".join(result.stderr.split())
    run("--db", str(link), "clean", "--as-of", AS_OF)  # one set of snapshots, whichever path reaches the base
    assert "-clean.db" in run("restore", "--list").stdout


def test_a_list_that_cannot_be_written_hands_out_no_client(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    before = state(db)
    # /dev/full takes the file and fails every write to it, as a full disk would.
    result = run("today", "--as-of", AS_OF, "-o", "/dev/full", check=1)
    assert "No space left on device" in result.stderr
    assert state(db) == before
    assert json.loads(run("today", "--as-of", AS_OF, "--json").stdout)["items"]  # the pool is still there


def test_a_list_whose_hand_outs_cannot_be_committed_leaves_the_old_list(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    before = state(db)
    lists = tmp_path / "lists.csv"
    lists.write_text("yesterday's list\n", encoding="utf-8")
    # Room for the list and SQLite's 32 KB index of the log, not for the log the hand-outs write at commit.
    limit = 32_768
    result = subprocess.run(command(db, "today", "--as-of", AS_OF, "-o", str(lists)), capture_output=True,
                            text=True, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert result.returncode != 0
    assert state(db) == before
    assert lists.read_text(encoding="utf-8") == "yesterday's list\n"
    assert sorted(path.name for path in tmp_path.glob("*lists.csv*")) == ["lists.csv"]


def test_a_failed_export_leaves_the_file_it_would_replace(run, tmp_path):
    run("ingest", *(str(SAMPLE / name) for name in ("crm_export.xlsx", "1c_export.csv", "purchased_base.csv")))
    run("clean", "--as-of", AS_OF)
    out = tmp_path / "clients.json"
    out.write_text("last week's list\n", encoding="utf-8")
    # A limit on file sizes stops the export halfway: room for SQLite's 32 KB index of the log, not for
    # the 70 KB of the clients.
    limit = 40_000
    result = subprocess.run(command(tmp_path / "cb.db", "export", "clients", "-o", str(out)), capture_output=True,
                            text=True, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert result.returncode != 0
    assert out.read_text(encoding="utf-8") == "last week's list\n"
    assert sorted(path.name for path in tmp_path.glob("*clients.json*")) == ["clients.json"]


def test_managers_whose_names_excel_would_refuse_get_sheets_of_their_own(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания,Телефон,Ответственный\n"
                   "ООО Альфа,+7 916 111-11-11,Иванов/Иван\n"  # a sheet cannot hold the slash
                   "ООО Бета,+7 916 222-22-22,иванов_иван\n"
                   "ООО Гамма,+7 916 333-33-33,'Сидоров'\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    out = tmp_path / "lists.xlsx"
    run("today", "--as-of", AS_OF, "-o", str(out))
    names = CalamineWorkbook.from_path(str(out)).sheet_names
    assert len(names) == 3 and len({name.lower() for name in names}) == 3
    assert not any(name.startswith("'") or name.endswith("'") for name in names)


def test_a_snapshot_taken_while_a_reader_is_open_holds_everything_written(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    reader = sqlite3.connect(tmp_path / "cb.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM records").fetchone()  # a morning list still reading the old state
    run("ingest", str(SAMPLE / "purchased_base.csv"))
    run("clean", "--as-of", AS_OF)
    reader.rollback()
    reader.close()
    snapshot = max((tmp_path / "cb.db.backups").glob("*.db"))
    copy = sqlite3.connect(snapshot)
    sources = {name for (name,) in copy.execute("SELECT name FROM sources")}
    copy.close()
    assert sources == {"1c_export.csv", "purchased_base.csv"}


def test_snapshots_rotate_and_restore_brings_the_base_back(run, tmp_path):
    (tmp_path / "clientbase.toml").write_text("[safety]\nbackups = 2\n", encoding="utf-8")
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    kept = state(tmp_path / "cb.db")
    run("ingest", str(SAMPLE / "purchased_base.csv"))
    for day in ("2026-11-21", "2026-11-22"):
        run("clean", "--as-of", day)
    snapshots = sorted((tmp_path / "cb.db.backups").glob("*.db"))
    assert len(snapshots) == 2 and all(s.stat().st_mode & 0o777 == 0o600 for s in snapshots)
    run("restore", snapshots[0].name)  # taken before the clean of the 21st
    clients = list(csv.DictReader(io.StringIO(run("export", "clients").stdout)))
    assert not any("purchased_base.csv" in c["record_refs"] for c in clients)
    assert kept != state(tmp_path / "cb.db")  # the purchased rows are ingested but not cleaned yet
    history = json.loads(run("audit", "--command", "restore", "--json").stdout)["items"]
    assert history and snapshots[0].name in history[0]["detail"]


def test_a_snapshot_that_cannot_be_written_stops_the_clean_and_leaves_no_half_copy(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"), str(SAMPLE / "purchased_base.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    before, kept = state(db), sorted((tmp_path / "cb.db.backups").iterdir())
    # The copy is made beside the clean's work: a limit on file sizes stops it halfway, not the clean.
    limit = db.stat().st_size // 2
    result = subprocess.run(command(db, "clean", "--as-of", "2026-11-21"), capture_output=True, text=True,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: {tmp_path / 'cb.db.backups'}: cannot write the snapshot "
                                      "(File too large), so nothing was changed.")
    assert state(db) == before
    assert sorted((tmp_path / "cb.db.backups").iterdir()) == kept


def test_a_copy_cut_short_by_a_kill_is_never_listed_and_the_next_snapshot_removes_it(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    cut_short = tmp_path / "cb.db.backups" / "20261121-010000-000000-clean.db.partial"
    cut_short.write_bytes((tmp_path / "cb.db").read_bytes()[:4096])
    listed = run("restore", "--list").stdout
    assert "-clean.db" in listed and "20261121-010000" not in listed
    run("clean", "--as-of", "2026-11-21")
    assert not cut_short.exists()


def test_the_oldest_snapshot_can_be_restored_when_the_snapshots_are_full(run, tmp_path):
    (tmp_path / "clientbase.toml").write_text("[safety]\nbackups = 2\n", encoding="utf-8")
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    run("clean", "--as-of", "2026-11-21")
    run("restore")  # the newest, after a snapshot of the state it replaces
    oldest = min((tmp_path / "cb.db.backups").glob("*.db"))
    run("restore", oldest.name)  # its own rotation must not remove it first
    assert oldest.exists()
    assert oldest.name in json.loads(run("audit", "--command", "restore", "--json").stdout)["items"][0]["detail"]


def test_a_base_in_a_folder_with_a_hash_in_its_name_restores_its_snapshot(tmp_path):
    db = tmp_path / "база #1" / "cb.db"
    db.parent.mkdir()
    cli(db, "ingest", str(SAMPLE / "1c_export.csv"))
    cli(db, "clean", "--as-of", AS_OF)
    cli(db, "ingest", str(SAMPLE / "purchased_base.csv"))
    cli(db, "clean", "--as-of", "2026-11-21")
    oldest = min((db.parent / "cb.db.backups").glob("*.db"))  # the base before its first clean
    cli(db, "restore", oldest.name)
    with sqlite3.connect(db) as conn:
        sources = {name for (name,) in conn.execute("SELECT name FROM sources")}
    assert sources == {"1c_export.csv"}
    # Reading a snapshot leaves nothing beside it: the rotation counts and removes only whole snapshots.
    assert all(path.suffix == ".db" for path in (db.parent / "cb.db.backups").iterdir())


def test_a_damaged_snapshot_is_refused_and_the_base_is_kept(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    before = state(db)
    damaged = tmp_path / "cb.db.backups" / "20200101-000000-000000-clean.db"
    damaged.write_bytes(b"")
    result = run("restore", damaged.name, check=1)
    assert result.stderr.strip() == (f"error: {damaged}: not a clientbase snapshot (damaged or empty), "
                                      "so nothing was changed.")
    assert state(db) == before


def test_a_snapshot_named_by_hand_with_no_such_day_is_listed_and_rotated_by_its_age(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    odd = tmp_path / "cb.db.backups" / "20261131-000000-000000-clean.db"
    odd.write_bytes((tmp_path / "cb.db").read_bytes())
    assert odd.name in run("restore", "--list").stdout
    run("clean", "--as-of", "2026-11-21")


def test_commands_that_fail_leave_the_snapshots_as_they_were(run, tmp_path):
    (tmp_path / "clientbase.toml").write_text("[safety]\nbackups = 2\n", encoding="utf-8")
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    run("clean", "--as-of", "2026-11-21")
    kept = sorted((tmp_path / "cb.db.backups").iterdir())
    for _ in range(2):  # each failure took a copy of the unchanged base and rotated a real snapshot out
        assert "client 99999 not found" in run("unmerge", "99999", check=1).stderr
    assert sorted((tmp_path / "cb.db.backups").iterdir()) == kept


def test_the_newest_snapshot_is_restored_whatever_time_zone_each_was_taken_in(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF, env={"TZ": "Asia/Tokyo"})  # by hand, nine hours ahead
    run("assign", "1", "Петрова Анна", "--as-of", AS_OF)
    run("clean", "--as-of", AS_OF, env={"TZ": "UTC"})  # the nightly job
    run("restore")  # the newest: the state just before the nightly clean, with the assignment
    with sqlite3.connect(tmp_path / "cb.db") as conn:
        assert conn.execute("SELECT owner FROM clients WHERE id = 1").fetchone() == ("Петрова Анна",)


def test_a_base_too_damaged_to_open_is_moved_aside_and_its_snapshot_restored(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    db.write_text("client_id,name\n1,ООО Ромашка\n", encoding="utf-8")  # an export written over it
    assert "not a clientbase database" in run("today", "--as-of", AS_OF, check=1).stderr
    (tmp_path / "cb.db-wal").write_bytes(b"\0" * 100)  # and a log beside it, kept with it
    result = run("restore")
    [aside] = tmp_path.glob("cb.db.damaged-*Z")
    assert (tmp_path / f"{aside.name}-wal").read_bytes() == b"\0" * 100
    assert "moved aside to" in result.stderr and aside.name in result.stderr.replace("\n", "")
    assert aside.read_text(encoding="utf-8") == "client_id,name\n1,ООО Ромашка\n"
    with sqlite3.connect(db) as conn:
        assert {name for (name,) in conn.execute("SELECT name FROM sources")} == {"1c_export.csv"}
    assert json.loads(run("audit", "--command", "restore", "--json").stdout)["items"]


def test_a_base_with_a_corrupt_schema_is_restored_too(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    run("clean", "--as-of", AS_OF)
    db = tmp_path / "cb.db"
    with db.open("r+b") as base:  # the header stands; the schema's page behind it is overwritten
        base.seek(100)
        base.write(b"\xff" * 3996)
    assert "not a clientbase database" in run("today", "--as-of", AS_OF, check=1).stderr
    run("restore")
    with sqlite3.connect(db) as conn:
        assert {name for (name,) in conn.execute("SELECT name FROM sources")} == {"1c_export.csv"}


def test_a_full_disk_is_a_one_line_error_and_changes_nothing(run, tmp_path):
    run("ingest", str(SAMPLE / "1c_export.csv"))
    db = tmp_path / "cb.db"
    before = state(db)
    store = Store.open(db)
    try:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count={pages}")  # stands in for a full disk: no page can be added
        with pytest.raises(UserError, match=r"the disk filled up \(.* GB free now\), so nothing was changed"):
            with store.transaction():
                store.add_not_duplicates([(f"crm:{i}", f"1c:{i}") for i in range(20000)])
    finally:
        store.close()
    assert state(db) == before


def test_a_dump_cut_short_is_refused_and_read_when_allowed(run, tmp_path):
    crm, db = tmp_path / "crm.csv", tmp_path / "cb.db"
    rows = [f"ООО Клиент{i};Казань;+7 843 400-00-{i:02};Иванов Иван" for i in range(10)]
    crm.write_text("\n".join(["Компания;Город;Телефоны;Ответственный", *rows]) + "\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    before = state(db)
    for cut in ("", "Компания;Город;Телефоны;Ответственный\n",  # the export job failed: empty, or its header only
                "\n".join(["Компания;Город;Телефоны;Ответственный", *rows[:4]]) + "\n"):
        crm.write_text(cut, encoding="utf-8")
        result = run("ingest", str(crm), check=1)
        assert "where source 'crm.csv' holds 10, so nothing was read" in " ".join(result.stderr.split())
        assert state(db) == before
    run("ingest", str(crm), "--allow-shrink")  # four clients left is right: the others were sold off
    run("clean", "--as-of", AS_OF)
    assert len(list(csv.DictReader(io.StringIO(run("export", "clients").stdout)))) == 4


def test_a_dialer_log_cut_short_is_refused(run, tmp_path):
    log = tmp_path / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат\n" + "".join(
        f"+7916300000{i};2026-11-1{i} 10:00;Отвечен\n" for i in range(4)), encoding="utf-8")
    run("calls", str(log))
    log.write_text("Телефон;Дата и время;Результат\n", encoding="utf-8")
    assert "where source 'dialer.csv' holds 4" in " ".join(run("calls", str(log), check=1).stderr.split())
    run("calls", str(log), "--allow-shrink")


def test_a_masked_list_does_not_name_the_decision_maker_in_a_birthdays_reason(run, tmp_path):
    dump = tmp_path / "crm.csv"
    # The director's birthday is near, but the list calls the general director, on her mobile.
    dump.write_text("Компания;ИНН;Телефон;Контактное лицо;Должность;Дата рождения;Ответственный\n"
                    "ООО Ромашка;7729141771;+7 495 123-45-67;Петров Иван Ильич;Директор;22.11.1980;Орлов Евгений\n"
                    "ООО Ромашка;7729141771;+7 916 222-33-44;Кузнецова Мария Ивановна;Генеральный директор;;"
                    "Орлов Евгений\n", encoding="utf-8")
    run("ingest", str(dump), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    [plain] = json.loads(run("today", "--manager", "Орлов Евгений", "--as-of", "2026-11-20", "--json").stdout)["items"]
    assert "birthday 22.11 (Петров Иван Ильич)" in plain["reason"]
    masked = run("today", "--manager", "Орлов Евгений", "--as-of", "2026-11-20", "--mask", "--json").stdout
    [item] = json.loads(masked)["items"]
    assert "birthday 22.11 (Петров И. И.)" in item["reason"] and "Иван" not in masked
    assert item["contact"] == "Кузнецова М. И."


def _as_a_reader(folder: Path):
    """A way to run the CLI as a user who may read the base but not write it or its folder: the folder and the
    file read-only for a user; for root, who may write anything, the user nobody (when it can run Python here)."""
    folder.chmod(0o755)
    if os.geteuid() != 0:
        return lambda args: args
    wrap = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*wrap, sys.executable, "-c", "import clientbase"], capture_output=True, cwd=folder)
    if probe.returncode != 0:
        pytest.skip("root here, and the user nobody cannot run this Python: a reader cannot be tried")
    return lambda args: [*wrap, *args]


def test_a_user_who_may_only_read_the_base_reads_it_and_writes_nothing(tmp_path):
    folder = Path(tempfile.mkdtemp())
    try:
        db = folder / "cb.db"
        cli(db, "ingest", str(SAMPLE / "crm_export.xlsx"), str(SAMPLE / "1c_export.csv"))
        cli(db, "clean", "--as-of", AS_OF)
        reader = _as_a_reader(folder)
        db.chmod(0o444)
        folder.chmod(0o555)
        before = (state(db), sorted(p.name for p in folder.iterdir()))
        for args in (["report"], ["explain", "1"], ["audit"], ["quarantine", "list"]):
            result = subprocess.run(reader(command(db, *args)), capture_output=True, text=True, cwd=folder)
            assert result.returncode == 0 and "error" not in result.stderr, result.stderr
        for args, why in ((["export", "clients"], "the audit log records every export"),
                          (["today", "--as-of", AS_OF], "this command writes to it"),
                          (["clean", "--as-of", AS_OF], "this command writes to it")):
            result = subprocess.run(reader(command(db, *args)), capture_output=True, text=True, cwd=folder)
            assert result.returncode == 1 and not result.stdout  # no export is made that the audit misses
            assert result.stderr.strip() == (f"error: {db}: you may only read it, and {why}: run the command as a "
                                             "user who may write the file")
        assert (state(db), sorted(p.name for p in folder.iterdir())) == before  # no file left beside it
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


_READ_WHILE_WRITTEN = """if True:
    import sys
    from pathlib import Path
    from clientbase.app import opened
    from clientbase.errors import UserError

    try:
        with opened(Path(sys.argv[1])) as store:
            rows = store.audit_log(None, None, 50)
            print(store.read_only, flush=True)
            sys.stdin.readline()  # a slow read: the test writes the base meanwhile
        print(len(rows))
    except UserError as error:
        print(error)
"""


def test_a_reader_is_told_when_the_base_changed_under_its_read(tmp_path):
    folder = Path(tempfile.mkdtemp())
    try:
        db = folder / "cb.db"
        cli(db, "ingest", str(SAMPLE / "1c_export.csv"))
        reader = _as_a_reader(folder)
        db.chmod(0o444)
        folder.chmod(0o555)
        proc = subprocess.Popen(reader([sys.executable, "-c", _READ_WHILE_WRITTEN, str(db)]), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder)
        assert proc.stdout.readline().strip() == "True"  # it may only read, and has opened the base
        folder.chmod(0o755)
        db.chmod(0o644)
        cli(db, "ingest", str(SAMPLE / "purchased_base.csv"))  # commits, and its last close writes the file itself
        db.chmod(0o444)
        out, err = proc.communicate("\n", timeout=60)
        assert out.strip() == f"{db}: the base changed while it was read (a command wrote to it): run the command again"
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_masked_name_written_with_joined_initials_keeps_both(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Контактное лицо\n"
                   "ИП Иванов И.И.;783842100587;Санкт-Петербург;+7 981 967-21-32;Сидорова Анна-Мария Петровна\n"
                   "ООО Альфа;7729141771;Москва;+7 916 123-45-67;Петров Иван 8-903-765-43-21\n",
                   encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", AS_OF)
    [client, _] = csv.DictReader(io.StringIO(run("export", "clients", "--mask").stdout))
    assert client["name"] == "ИП Иванов И.И."  # was `ИП Иванов И.`: one initial dropped
    contacts = csv.DictReader(io.StringIO(run("export", "contacts", "--mask").stdout))
    assert [c["name"] for c in contacts] == ["Сидорова А.-М. П.", "Петров И. 8."]  # a number in the cell stays hidden
