"""The sample-data generator: deterministic, consistent with its truth, and the committed set is current."""
import csv
import importlib.util
import io
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
from stdnum.ru import inn as stdnum_inn

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
SCRIPT = SAMPLE / "generate.py"

_spec = importlib.util.spec_from_file_location("sample_generate", SCRIPT)
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

DATA_FILES = (gen.ONEC_CSV, gen.PURCHASED_CSV, gen.DIALER_CSV, gen.TRUTH_CSV)


@pytest.fixture(scope="module")
def fresh_sample(tmp_path_factory):
    """The sample set regenerated with the documented parameters, and the generator's summary."""
    out = tmp_path_factory.mktemp("sample")
    return out, gen.generate(out, gen.SAMPLE_CLIENTS, gen.SAMPLE_SEED)


def read_csv(path: Path, encoding: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Rows of a generated CSV. Lines never hold a newline inside a field, so a line is a row; this
    also reads the one 1C row whose unbalanced opening quote would swallow the rest in csv.reader."""
    lines = path.read_bytes().decode(encoding).split("\r\n")
    assert lines[-1] == "", f"{path.name} must end with CRLF"
    out = []
    for line in lines[:-1]:
        row = next(csv.reader([line], delimiter=delimiter))
        out.append(row)
    header = out[0]
    rows = [r if len(r) == len(header) else line.split(delimiter) for r, line in zip(out[1:], lines[1:-1])]
    return header, rows


def read_sources(out: Path) -> dict[str, tuple[list, list[list]]]:
    """Every client source of a generated set: {source: (header, rows)}."""
    sources = {}
    if (out / gen.CRM_XLSX).exists():
        wb = openpyxl.load_workbook(out / gen.CRM_XLSX, read_only=True)
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            sources[f"{gen.CRM_XLSX}#{ws.title}"] = (rows[0], rows[1:])
        wb.close()
    if (out / gen.CRM_CSV).exists():
        sources[gen.CRM_CSV] = read_csv(out / gen.CRM_CSV, "utf-8-sig", ",")
    sources[gen.ONEC_CSV] = read_csv(out / gen.ONEC_CSV, "cp1251", ";")
    sources[gen.PURCHASED_CSV] = read_csv(out / gen.PURCHASED_CSV, "utf-8", ",")
    return sources


def read_truth(out: Path) -> dict[str, dict[int, str]]:
    truth: dict[str, dict[int, str]] = defaultdict(dict)
    with open(out / gen.TRUTH_CSV, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["source", "row", "entity_id"]
        for source, row, entity in reader:
            assert int(row) not in truth[source], f"{source}:{row} twice in truth.csv"
            truth[source][int(row)] = entity
    return truth


def column(header, *names) -> int:
    return next(i for i, h in enumerate(header) if h in names)


def normal_inn(value) -> str | None:
    """What a careful reader makes of an INN cell: text, a number cell, '…​.0', a lost leading zero."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) in (9, 11):
        text = "0" + text
    return text


def test_same_seed_gives_identical_bytes(tmp_path):
    for d in ("a", "b"):
        gen.generate(tmp_path / d, 400, 7)
    for name in (gen.CRM_XLSX, *DATA_FILES):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seed_gives_different_files(tmp_path):
    gen.generate(tmp_path / "a", 150, 1)
    gen.generate(tmp_path / "b", 150, 2)
    for name in (gen.CRM_XLSX, *DATA_FILES):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


def test_committed_sample_is_what_the_generator_makes(fresh_sample):
    out, _ = fresh_sample
    hint = "sample_data/ is stale: regenerate with `python sample_data/generate.py --out sample_data`"
    for name in DATA_FILES:
        assert (SAMPLE / name).read_bytes() == (out / name).read_bytes(), f"{name}: {hint}"
    # The workbook is compared by content, so that another xlsxwriter version cannot fail it.
    committed, fresh = read_sources(SAMPLE), read_sources(out)
    for source in fresh:
        if source.startswith(gen.CRM_XLSX):
            assert committed[source] == fresh[source], f"{source}: {hint}"
    assert not (SAMPLE / gen.CRM_CSV).exists()
    for name in (gen.CRM_XLSX, *DATA_FILES):
        assert (SAMPLE / name).stat().st_size < 100_000, f"{name} is too big to commit"


def test_row_counts_match_truth(fresh_sample):
    out, summary = fresh_sample
    truth = read_truth(out)
    sources = read_sources(out)
    assert set(truth) == set(sources) == {f"{gen.CRM_XLSX}#{gen.SHEET_MAIN}", f"{gen.CRM_XLSX}#{gen.SHEET_ARCHIVE}",
                                          gen.ONEC_CSV, gen.PURCHASED_CSV}
    for source, (header, rows) in sources.items():
        assert sorted(truth[source]) == list(range(1, len(rows) + 1)), source
        assert summary["rows"][source] == len(rows), source
        assert all(len(r) == len(header) for r in rows), source
    assert sources[f"{gen.CRM_XLSX}#{gen.SHEET_MAIN}"][0] == gen.CRM_HEADER
    assert sources[gen.PURCHASED_CSV][0] == gen.PURCHASED_HEADER


def test_onec_file_is_cp1251_with_semicolons_and_a_totals_row(fresh_sample):
    out, _ = fresh_sample
    raw = (out / gen.ONEC_CSV).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1251")
    lines = text.split("\r\n")[:-1]
    assert lines[0] == ";".join(gen.ONEC_HEADER)
    assert all(line.count(";") == len(gen.ONEC_HEADER) - 1 for line in lines), "a ';' inside a 1C field"
    total = lines[-1].split(";")
    assert total[0] == "Итого" and re.fullmatch(r"-?\d{1,3}( \d{3})*,\d\d", total[6])
    assert read_truth(out)[gen.ONEC_CSV][len(lines) - 1] == ""
    header, rows = read_csv(out / gen.ONEC_CSV, "cp1251", ";")
    money = [r[6] for r in rows[:-1]]
    assert all(re.fullmatch(r"-?\d{1,3}([ \u00a0]\d{3})*,\d\d", m) for m in money)
    assert all(re.fullmatch(r"(\d\d\.\d\d\.\d{4}( 0:00:00)?)?", r[7]) for r in rows[:-1])
    assert any(line.startswith('"') and line.count('"') % 2 for line in lines), "the unbalanced-quote row"


def test_inns_meant_valid_are_valid_and_name_one_company(tmp_path, fresh_sample):
    # The sample (xlsx CRM) and a bigger set with the CSV CRM dump.
    big = tmp_path / "big"
    sets = [fresh_sample, (big, gen.generate(big, 3000, 11, crm_format="csv"))]
    for out, summary in sets:
        truth = read_truth(out)
        inns_of: dict[str, set] = defaultdict(set)
        companies_of: dict[str, set] = defaultdict(set)
        invalid = lost_zero = 0
        for source, (header, rows) in read_sources(out).items():
            i = column(header, "ИНН", "INN")
            for n, row in enumerate(rows, 1):
                inn = normal_inn(row[i])
                if inn is None:
                    continue
                if inn != str(row[i]).strip().removesuffix(".0"):
                    lost_zero += 1
                if not stdnum_inn.is_valid(inn):
                    invalid += 1
                    continue
                assert truth[source][n], f"{source}:{n} has an INN but no company"
                inns_of[truth[source][n]].add(inn)
                companies_of[inn].add(truth[source][n])
        assert invalid == summary["stats"]["inn_invalid"], "only deliberately broken INNs may fail"
        assert lost_zero == summary["stats"]["inn_lost_zero"]
        assert not {e: s for e, s in inns_of.items() if len(s) > 1}, "a company with two valid INNs"
        assert not {i: s for i, s in companies_of.items() if len(s) > 1}, "one INN on two companies"
        assert summary["stats"]["inn_lost_zero"] > 0 and invalid > 0


def test_rows_without_a_company_identify_nothing(fresh_sample):
    out, summary = fresh_sample
    truth = read_truth(out)
    junk = 0
    for source, (header, rows) in read_sources(out).items():
        keys = [column(header, *names) for names in (("Компания", "Контрагент", "Company"), ("ИНН", "INN"),
                                                      ("Телефоны", "Телефон", "Phone"))]
        keys += [i for i, h in enumerate(header) if h == "Email"]
        for n, row in enumerate(rows, 1):
            if truth[source][n] == "":
                if row[0] == "Итого":
                    continue
                junk += 1
                assert all(row[k] in (None, "") for k in keys), f"{source}:{n}"
            else:
                assert any(row[k] not in (None, "") for k in keys), f"{source}:{n} identifies nothing"
    stats = summary["stats"]
    assert junk == stats["junk_rows_crm"] + stats["junk_rows_1c"] + stats["junk_rows_purchased"] >= 3


def test_dialer_log_is_plausible(fresh_sample):
    out, summary = fresh_sample
    as_of = date.fromisoformat(summary["as_of"])
    text = (out / gen.DIALER_CSV).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == gen.DIALER_HEADER
    calls = defaultdict(list)
    formats = Counter()
    for phone, when, outcome, operator, duration in rows[1:]:
        e164 = "+7" + phone[1:] if phone.startswith("8") else phone if phone.startswith("+") else "+" + phone
        number = phonenumbers.parse(e164)
        assert phonenumbers.is_valid_number(number), phone
        if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:00", when):
            stamp, formats["iso"] = datetime.strptime(when, "%Y-%m-%d %H:%M:%S"), formats["iso"] + 1
        else:
            stamp, formats["ru"] = datetime.strptime(when, "%d.%m.%Y %H:%M"), formats["ru"] + 1
        assert as_of - timedelta(days=60) <= stamp.date() < as_of and 9 <= stamp.hour < 20
        assert outcome in gen.OUTCOMES and operator in (*gen.MANAGERS, gen.ROBOT)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", duration)
        calls[e164].append((stamp, outcome))
    assert formats["iso"] and formats["ru"]
    assert len(rows) - 1 == summary["rows"][gen.DIALER_CSV]

    def streak(history):    # >= 5 no-answers over >= 14 days with no answer in between
        run = []
        for stamp, outcome in sorted(history):
            if outcome in ("Нет ответа", "Занято"):
                run.append(stamp)
                if len(run) >= 5 and (run[-1] - run[0]).days >= 14:
                    return True
            elif outcome in ("Отвечен", "Разговор"):
                run = []
        return False

    last = {p: sorted(h)[-1][1] for p, h in calls.items()}
    assert sum(map(streak, calls.values())) >= 2
    assert any(o in ("Не зарегистрирован в сети", "Номер не существует") for o in last.values())
    assert any(o in ("Не тот абонент", "Неверный номер") for o in last.values())
    assert sum(o in ("Отвечен", "Разговор") for o in last.values()) >= 10
    assert any(o == "Абонент недоступен" for h in calls.values() for _, o in h)


def test_sample_shows_every_kind_of_mess(fresh_sample):
    out, summary = fresh_sample
    stats = summary["stats"]
    for key in ("name_latin", "name_long", "name_typo", "name_form_last", "name_upper", "inn_lost_zero",
                "inn_invalid", "inn_missing", "phone_float", "phone_sci", "phone_extension", "phone_label",
                "phone_person_name", "phone_placeholder", "phone_local_6digit", "phone_nbsp", "phone_endash",
                "phone_apos", "phone_multi_cell", "email_free", "email_company", "email_invalid",
                "crm_dup_rows", "crm_branch_row", "crm_archive_dup_rows", "onec_dup_rows", "purchased_dup_rows",
                "owner_conflict_in_crm", "owner_conflict_crm_vs_1c", "profit_negative", "potential_missing",
                "same_name_pairs", "onec_unbalanced_quote", "date_excel_serial", "birthday_no_year"):
        assert stats.get(key, 0) > 0, key
    assert stats["hubs"] >= 1 and stats["hub_members"] >= 3
    overlap = stats["entities_crm_and_1c"] / stats["entities_in_crm"]
    assert 0.2 <= overlap <= 0.35, overlap
    truth = read_truth(out)
    companies = defaultdict(set)
    for source, rows in truth.items():
        for entity in rows.values():
            companies[entity].add(source.split("#")[0])
    assert any(len(files) == 3 for e, files in companies.items() if e), "a company in all three files"
    # A hub's phone is written for at least three unrelated companies.
    hub = summary["hub_phones"][0]
    local = f"{hub[-7:-4]}-{hub[-4:-2]}-{hub[-2:]}"
    header, rows = read_sources(out)[f"{gen.CRM_XLSX}#{gen.SHEET_MAIN}"]
    holders = {truth[f"{gen.CRM_XLSX}#{gen.SHEET_MAIN}"][n] for n, r in enumerate(rows, 1)
               if r[4] and (local in str(r[4]) or hub[-10:] in re.sub(r"\D", "", str(r[4])))}
    assert len(holders) >= 3, holders


def test_cli(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "o"), "--clients", "60",
                          "--seed", "5", "--calls-per-phone", "2", "--crm-format", "csv", "--json"],
                         capture_output=True, text=True, check=True)
    summary = json.loads(run.stdout)
    assert summary["clients"] == 60 and summary["seed"] == 5
    assert (tmp_path / "o" / gen.CRM_CSV).read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (tmp_path / "o" / gen.CRM_XLSX).exists()
    assert set(read_truth(tmp_path / "o")) == {gen.CRM_CSV, gen.ONEC_CSV, gen.PURCHASED_CSV}
    bad = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x"), "--clients", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "clients" in bad.stderr
