"""clean clusters again only what changed: the result is the one a full clustering gives, through the CLI."""

import bisect
import csv
import io
import json
import random
import shutil
import sqlite3
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import numpy
import openpyxl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import OSA
from stdnum.ru import inn as stdnum_inn

from clientbase.changes import CompanyNames, PlaceRows
from clientbase.config import DedupeSettings
from clientbase.dedupe import (NAME_ORDERS, NAME_WINDOW, MatchRecord, _Linker, _name_items, _similar_pairs, edit_cutoff,
                               find_clusters, name_similarity, office_cities, similarity_as_written)
from test_pipeline import AS_OF, cli, table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
from generate import generate  # noqa: E402


def clean_summary(db: Path, *args: str, as_of: str = AS_OF) -> dict:
    return json.loads(cli(db, "clean", "--as-of", as_of, "--json", *args).stdout)


def clean(db: Path, *args: str) -> dict:
    return clean_summary(db, *args)["dedupe"]


def partition(db: Path) -> set[frozenset[str]]:
    """The clients as sets of record references: what a clustering decided, whatever the ids."""
    clients: dict[str, set[str]] = {}
    for row in table(db, "records"):
        if row["client_id"]:
            clients.setdefault(row["client_id"], set()).add(row["record_ref"])
    return {frozenset(refs) for refs in clients.values()}


def people(db: Path) -> dict[str, str]:
    """The person (contact) each record names, by record."""
    return {row["record_ref"]: row["contact_id"] for row in table(db, "records")}


def client_ids(db: Path) -> dict[str, str]:
    return {row["record_ref"]: row["client_id"] for row in table(db, "records") if row["client_id"]}


def standing(db: Path) -> dict[frozenset[str], tuple]:
    """What the judgement and the rules made of each client (by its records): its state, last contact,
    due date, owner and term, segment, class and dependency, its ownership conflict, and its numbers and
    reasons in quarantine."""
    quarantine: dict[str, list[tuple]] = {}
    for row in table(db, "quarantine"):
        quarantine.setdefault(row["client_id"], []).append((row["e164"], row["reason"], row["since"], row["recheck_on"]))
    conflicts = {row["client_id"]: (row["managers"], row["resolved_owner"], row["rule"])
                 for row in table(db, "conflicts")}
    claimed: dict[str, list[str]] = {}  # the claimants by whom `today --manager` finds a conflict
    with closing(sqlite3.connect(db)) as conn:
        for manager, client_id in conn.execute("SELECT manager_key, client_id FROM conflict_claims ORDER BY 1"):
            claimed.setdefault(str(client_id), []).append(manager)
    return {frozenset(c["record_refs"].split(";")): (
        c["state"], c["last_contact"], c["next_due"], c["owner"], c["owner_until"], c["segment"], c["abcde"],
        c["dependency"], conflicts.get(c["client_id"]), claimed.get(c["client_id"], []),
        sorted(quarantine.get(c["client_id"], [])))
        for c in table(db, "clients")}


def judgements(db: Path) -> dict[tuple[str, str], tuple]:
    """Each phone's judgement (status, reason, date), by record and number."""
    with sqlite3.connect(db) as conn:
        return {(ref, e164): rest for ref, e164, *rest in conn.execute(
            "SELECT r.ref, p.e164, p.judged, p.judged_reason, p.judged_on FROM phones p "
            "JOIN records r ON r.id = p.record_id")}


def review_pairs(db: Path) -> set[tuple[str, str, str, str]]:
    """The pairs a person is asked to look at, as the duplicates export lists them."""
    return {(row["record_ref_a"], row["record_ref_b"], row["rule"], row["detail"])
            for row in table(db, "duplicates") if row["decision"] == "review"}


def split_csv(source: Path, first: Path, second: Path, share: float, encoding: str, delimiter: str = ",") -> None:
    with open(source, encoding=encoding, newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=delimiter))
    cut = int(len(rows) * share)
    for target, part in ((first, rows[:cut]), (second, rows[cut:])):
        with open(target, "w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter).writerows([header, *part])


def same_as_full(db: Path, tmp_path: Path) -> tuple[dict, dict]:
    """What cleaned_as_full checks; returns both clusterings' summaries."""
    incremental, full = cleaned_as_full(db, tmp_path)
    return incremental["dedupe"], full["dedupe"]


def cleaned_as_full(db: Path, tmp_path: Path, as_of: str = AS_OF) -> tuple[dict, dict]:
    """Clean a copy incrementally and another copy from scratch; both must give the same clients, judged
    and ranked the same, with the same owners. Returns both summaries."""
    full_db = tmp_path / "full" / db.name
    full_db.parent.mkdir(exist_ok=True)
    with sqlite3.connect(db) as source, sqlite3.connect(full_db) as target:
        source.backup(target)
    incremental, full = clean_summary(db, as_of=as_of), clean_summary(full_db, "--full", as_of=as_of)
    assert full["dedupe"]["mode"] == full["phones"]["mode"] == full["rules"]["mode"] == "full"
    assert partition(db) == partition(full_db)
    assert people(db) == people(full_db)
    assert standing(db) == standing(full_db)
    assert judgements(db) == judgements(full_db)
    assert review_pairs(db) == review_pairs(full_db)
    for step in ("phones", "rules"):
        assert incremental[step] == {**full[step], "mode": incremental[step]["mode"],
                                     "clients": incremental[step]["clients"]}
    return incremental, full


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    data = tmp_path_factory.mktemp("dumps")
    generate(data, clients=300, seed=11, crm_format="both")
    split_csv(data / "purchased_base.csv", data / "purchased_old.csv", data / "purchased_new.csv", 0.8, "utf-8")
    split_csv(data / "dialer_log.csv", data / "calls_old.csv", data / "calls_new.csv", 0.6, "utf-8", ";")
    return data


@pytest.fixture
def cleaned(tmp_path, dumps):
    """The CRM, 1C and most of the purchased list, read and cleaned on AS_OF: the tests' days come after it,
    whatever day they run on."""
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(dumps / "crm_export.xlsx"), str(dumps / "1c_export.csv"), str(dumps / "purchased_old.csv"),
        "--as-of", AS_OF)
    assert clean(db)["mode"] == "full"
    return db


def test_new_records_join_incrementally_as_a_full_clean_would(cleaned, dumps, tmp_path):
    before = client_ids(cleaned)
    cli(cleaned, "ingest", str(dumps / "purchased_new.csv"))
    incremental, full = same_as_full(cleaned, tmp_path)
    assert incremental["mode"] == "incremental"
    records = incremental["records"]
    assert 0 < incremental["rechecked"] < records / 2
    assert {k: incremental[k] for k in ("records", "clients", "review_pairs", "hubs")} == \
        {k: full[k] for k in ("records", "clients", "review_pairs", "hubs")}
    after = client_ids(cleaned)
    unchanged = [ref for ref in before if after[ref] == before[ref]]
    assert len(unchanged) >= len(before) * 0.95  # the old clients keep their ids


def test_changed_and_removed_rows_are_clustered_again(cleaned, dumps, tmp_path):
    with open(dumps / "1c_export.csv", encoding="cp1251", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=";"))
    kept = [row for n, row in enumerate(rows) if n % 7]  # a seventh of the 1C rows are gone
    kept[0][1] = ""  # and one row lost its INN
    kept[1][0] = kept[1][0] + " плюс"  # and another was renamed
    changed = dumps.parent / "changed" / "1c_export.csv"
    changed.parent.mkdir(exist_ok=True)
    with open(changed, "w", encoding="cp1251", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([header, *kept])
    cli(cleaned, "ingest", str(changed), "--source", "1c_export.csv")
    incremental, _ = same_as_full(cleaned, tmp_path)
    assert incremental["mode"] == "incremental"
    refs = {row["record_ref"] for row in table(cleaned, "records")}
    with sqlite3.connect(cleaned) as conn:
        orphans = conn.execute("SELECT count(*) FROM clients c WHERE NOT EXISTS "
                               "(SELECT 1 FROM records r WHERE r.client_id = c.id)").fetchone()[0]
    assert orphans == 0  # a client whose every record is gone is gone too
    assert sum(ref.startswith("1c_export.csv:") for ref in refs) == len(kept)
    with sqlite3.connect(cleaned) as conn:
        raw_ids = {row[0] for row in conn.execute("SELECT record_id FROM record_raw")}
        record_ids = {row[0] for row in conn.execute("SELECT id FROM records")}
    assert raw_ids == record_ids  # a removed row's raw row is gone with it


def test_a_row_changed_only_in_a_column_kept_raw_changes_no_client(cleaned, dumps):
    with open(dumps / "1c_export.csv", encoding="cp1251", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=";"))
    header.append("Склад")  # no field takes it: it is kept in the raw row only
    for row in rows:
        row.append("")

    def ingest(folder: str) -> None:
        path = dumps.parent / folder / "1c_export.csv"
        path.parent.mkdir(exist_ok=True)
        with open(path, "w", encoding="cp1251", newline="") as handle:
            csv.writer(handle, delimiter=";").writerows([header, *rows])
        cli(cleaned, "ingest", str(path), "--source", "1c_export.csv")

    ingest("with_column")
    clean(cleaned)
    rows[0][-1] = "основной"
    ingest("one_cell_changed")
    assert clean(cleaned)["mode"] == "unchanged"
    with sqlite3.connect(cleaned) as conn:
        raw = conn.execute("SELECT w.raw FROM records r JOIN record_raw w ON w.record_id = r.id "
                           "WHERE r.ref = '1c_export.csv:1'").fetchone()[0]
    assert json.loads(raw)["Склад"] == "основной"  # the row is kept as read


def test_a_row_changed_in_what_matching_ignores_rebuilds_its_client_only(cleaned, dumps, tmp_path):
    # Edited as text: the 1C dump has cells with stray quotes, which Python's csv would read differently.
    header, *rows = (dumps / "1c_export.csv").read_bytes().decode("cp1251").split("\r\n")
    columns = header.split(";")
    plain = [n for n, row in enumerate(rows) if row and '"' not in row]

    def edit(n: int, column: str, value: str) -> None:
        cells = rows[n].split(";")
        cells[columns.index(column)] = value
        rows[n] = ";".join(cells)

    edit(plain[0], "Сумма продаж", "1 000 000 000,00")  # a client's sales grow: it ranks higher
    edit(plain[1], "Менеджер", "Новиков Олег")  # another client gets a new manager
    changed = tmp_path / "1c_export.csv"
    changed.write_bytes("\r\n".join([header, *rows]).encode("cp1251"))
    cli(cleaned, "ingest", str(changed), "--source", "1c_export.csv")
    incremental, _ = same_as_full(cleaned, tmp_path)
    assert (incremental["mode"], incremental["rechecked"]) == ("incremental", 0)
    assert incremental["restated"] >= 2


def test_a_row_given_another_clients_phone_is_clustered_again(cleaned, dumps, tmp_path):
    with open(dumps / "purchased_old.csv", encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    phone = header.index("Phone")
    rows[0][phone] = rows[10][phone]
    changed = tmp_path / "purchased_old.csv"
    with open(changed, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    cli(cleaned, "ingest", str(changed))
    incremental, _ = same_as_full(cleaned, tmp_path)
    assert incremental["mode"] == "incremental" and incremental["rechecked"] >= 2


def test_a_row_that_loses_the_phone_it_was_joined_by_is_clustered_again(cleaned, dumps, tmp_path):
    with open(dumps / "purchased_old.csv", encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    phone, email = header.index("Phone"), header.index("Email")

    def ingest(folder: str) -> None:
        path = tmp_path / folder / "purchased_old.csv"
        path.parent.mkdir()
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
        cli(cleaned, "ingest", str(path))

    rows[0][phone], rows[0][email] = rows[10][phone], ""
    ingest("joined")
    clean(cleaned)
    rows[0][phone] = ""  # the only row read again has no phone or email left
    ingest("parted")
    incremental, _ = same_as_full(cleaned, tmp_path)
    assert incremental["rechecked"] >= 2


def test_a_re_sorted_dump_keeps_each_companys_client_and_what_was_decided_for_it(tmp_path):
    rows = ["ООО Лотос;;Казань;+7 843 160-00-01;Иванов Иван", "Лотос;;Казань;+7 843 160-00-01;",
            "ООО Ирис;8382397078;Казань;+7 843 160-00-03;", "ООО Ирис-Плюс;8382397078;Казань;+7 843 160-00-04;"]
    crm, db = tmp_path / "crm.csv", tmp_path / "cb.db"

    def send(lines):
        crm.write_text("\n".join(["Компания;ИНН;Город;Телефоны;Ответственный", *lines]) + "\n", encoding="utf-8")
        cli(db, "ingest", str(crm), "--as-of", AS_OF)
        cli(db, "clean", "--as-of", AS_OF)  # the release's day too: a dump dates its claims the day it is read
        return {row["name"]: (row["client_id"], row["state"]) for row in table(db, "clients")}

    ids = send(rows)
    cli(db, "snooze", ids["ООО Ирис"][0], "--until", "2027-06-01", "--reason", "закупки через головной офис",
        "--as-of", AS_OF)
    cli(db, "release", ids["ООО Лотос"][0], "--as-of", AS_OF)
    before = send(rows)
    assert before == {"ООО Лотос": (ids["ООО Лотос"][0], "pool"), "ООО Ирис": (ids["ООО Ирис"][0], "snoozed")}
    # The CRM sorts its export another way, and a new company comes first: every row holds another company.
    after = send(["ООО Вектор;;Самара;+7 846 200-00-01;", *rows[2:], *rows[:2]])
    assert {name: after[name] for name in before} == before
    assert after["ООО Вектор"][0] not in {client_id for client_id, _ in before.values()}


def _sent(db: Path, name: str, lines: list[str], as_of: str) -> dict[str, list[dict]]:
    """Ingest the lines as file `name` and clean: the clients by name."""
    dump = db.parent / name
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli(db, "ingest", str(dump))
    cli(db, "clean", "--as-of", as_of)
    clients: dict[str, list[dict]] = {}
    for row in table(db, "clients"):
        clients.setdefault(row["name"], []).append(row)
    return clients


def test_a_company_renamed_in_its_row_keeps_its_client_and_snooze(tmp_path):
    db = tmp_path / "cb.db"
    lines = ["Наименование;Телефон;Город", "ООО Ромашка;+74951110002;Москва", "ООО Бета;+74951110003;Москва"]
    (client,) = _sent(db, "crm.csv", lines, AS_OF)["ООО Ромашка"]
    cli(db, "snooze", client["client_id"], "--until", "2027-06-01", "--reason", "головной офис", "--as-of", AS_OF)
    lines[1] = "ООО Ромашка-Центр;+74951110002;Москва"
    (renamed,) = _sent(db, "crm.csv", lines, AS_OF)["ООО Ромашка-Центр"]
    assert (renamed["client_id"], renamed["state"]) == (client["client_id"], "snoozed")


def test_a_name_only_close_enough_to_review_is_listed_without_clustering_its_company_again(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;Телефон;Город"
    _sent(db, "base.csv", [header, "ООО Теплоэксперт;+74951110001;Москва", "ООО Теплоэкспорд;+74951110002;Москва",
                           "ООО Бета;+74951110003;Москва"], AS_OF)
    # As close to Теплоэксперт (91.7, under merge_score) as Теплоэкспорд, whose phone it shares and joins.
    (tmp_path / "new.csv").write_text(f"{header}\nООО Типлаэксперт;+74951110002;Москва\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    incremental, _ = same_as_full(db, tmp_path)
    assert incremental["rechecked"] == 2  # the new record and the client it joins: not Теплоэксперт
    # One pair for the two clients, the first of the closest, as a full clean lists it.
    assert review_pairs(db) == {("base.csv:1", "base.csv:2", "name+city",
                                 'names "теплоэксперт" ~ "теплоэкспорд" (91.7) in москва')}


def test_a_pair_to_review_moves_to_a_new_record_that_becomes_the_first_of_its_name(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;ИНН;Телефон;Город"
    # Волгасистем has no city: its INN's tax office places it in Москва, where Бета and Гамма show that office.
    _sent(db, "base.csv", [header, f"ООО Бета;{_inn(1)};+74951110001;Москва",
                           f"ООО Гамма;{_inn(2)};+74951110002;Москва", "ООО Мегасистем;;+74951110003;Москва",
                           f"ООО Волгасистем;{_inn(3)};+74951110004;"], AS_OF)
    assert review_pairs(db) == {("base.csv:3", "base.csv:4", "name+city",
                                 'names "мегасистем" ~ "волгасистем" (85.7) in москва')}
    # A namesake in Москва itself joins it, and is now the name's first record there: the pair is its.
    (tmp_path / "new.csv").write_text(f"{header}\nООО Волгасистем;;+74951110005;Москва\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    same_as_full(db, tmp_path)
    assert review_pairs(db) == {("base.csv:3", "new.csv:1", "name+city",
                                 'names "мегасистем" ~ "волгасистем" (85.7) in москва')}


def test_a_pair_to_review_listed_under_a_company_left_out_goes_when_the_name_changes(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;Телефон;Город"
    _sent(db, "base.csv", [header, "ООО Теплоэксперт;+74951110001;Москва", "ООО Бета;+74951110003;Москва"], AS_OF)
    _sent(db, "new.csv", [header, "ООО Типлаэксперт;+74951110005;Москва"], AS_OF)
    assert review_pairs(db) == {("base.csv:1", "new.csv:1", "name+city",
                                 'names "теплоэксперт" ~ "типлаэксперт" (91.7) in москва')}
    (tmp_path / "new.csv").write_text(f"{header}\nООО Гамма;+74951110005;Москва\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    same_as_full(db, tmp_path)
    assert review_pairs(db) == set()


def test_a_name_close_only_with_its_words_sorted_is_not_listed_when_the_clustering_never_scores_it(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;Телефон;Город"
    others = [f"ООО Фирма {n};+73812000{n:03};Омск" for n in range(40)]  # a part, not the whole base
    _sent(db, "base.csv", [header, "ООО Центр Нефть Комплект;+74951110001;Москва", "ООО Бета;+74951110003;Москва",
                           *others], AS_OF)
    # 88.9 with the words sorted, but 84.6 as written: the clustering does not score it further.
    (tmp_path / "new.csv").write_text(f"{header}\nООО Нефт Центр Комплект;+74951110005;Москва\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    assert review_pairs(db) == set()


# Names of one block (their first letters alike), none close to another, that sort between тепаэкспорт and
# тепяэксперт (90.9): more than NAME_WINDOW of them put the two out of each other's window.
_BETWEEN = ("тепбурмаш", "тепвагон", "тепгидро", "тепдизель", "тепжелдор", "тепзавод", "тепизол", "тепкабель",
            "теплес", "тепмонтаж", "тепнасос")
_OTHERS = [f"ООО Фирма {n};+73812000{n:03};Омск" for n in range(60)]  # so that a clean clusters a part, not the whole
# Омск's тепаэкспорд… names put тепаэкспорт and тепаэкспорд out of each other's window in both orders of every city's names.
_SUFFIXES = ("монтаж", "лес", "пром", "сервис", "торг", "инвест", "центр", "групп", "строй", "альянс", "ресурс",
             "снабжение")


# Similar names with more than NAME_WINDOW names between them in the whole base: in one city, or one of them without
# a city, and the names of another city between them in the order of every city's names.
_FAR_APART = {
    "one city": ([f"ООО {name};+7495111{n:04};Москва" for n, name in enumerate(_BETWEEN)],
                 "ООО Тепаэкспорт;+74952220001;Москва", "ООО Тепяэксперт;+74952220002;Москва",
                 ("name+city", 'names "тепаэкспорт" ~ "тепяэксперт" (90.9) in москва')),
    "no city": ([f"ООО Тепаэкспорд{suffix};+7495111{n:04};Омск" for n, suffix in enumerate(_SUFFIXES)],
                "ООО Тепаэкспорт;+74952220001;", "ООО Тепаэкспорд;+74952220002;Москва",
                ("name", 'names "тепаэкспорт" ~ "тепаэкспорд" (95.5), city unknown vs москва')),
}


@pytest.mark.parametrize("where", _FAR_APART)
def test_two_new_names_far_apart_in_the_base_are_not_compared_as_neighbours_in_the_part(tmp_path, where):
    between, first, second, _ = _FAR_APART[where]
    db = tmp_path / "cb.db"
    header = "Наименование;Телефон;Город"
    _sent(db, "base.csv", [header, *between, *_OTHERS], AS_OF)
    # Neighbours among the part's names, but with the whole base's names between them.
    (tmp_path / "new.csv").write_text("\n".join([header, first, second]) + "\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    assert not any(ref.startswith("new.csv") for pair in review_pairs(db) for ref in pair[:2])


@pytest.mark.parametrize("where", _FAR_APART)
def test_a_pair_to_review_kept_at_the_parts_edge_goes_when_new_names_come_between(tmp_path, where):
    between, first, second, (rule, detail) = _FAR_APART[where]
    db = tmp_path / "cb.db"
    header = "Наименование;Телефон;Город"
    _sent(db, "base.csv", [header, first, second, *_OTHERS], AS_OF)
    assert review_pairs(db) == {("base.csv:1", "base.csv:2", rule, detail)}
    # A new company with the first one's phone and city joins it, so it is clustered again; the second is not.
    joining = first.replace(first.split(";")[0], "ООО Бета")
    (tmp_path / "new.csv").write_text("\n".join([header, joining, *between]) + "\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    incremental, _ = same_as_full(db, tmp_path)
    assert (incremental["mode"], incremental["rechecked"]) == ("incremental", len(between) + 2)
    assert not any(ref.startswith("base.csv") for pair in review_pairs(db) for ref in pair[:2])


def test_namesakes_kept_apart_by_a_second_inn_join_when_its_row_takes_another_name(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;ИНН;Город;Телефон"
    base = [header, "ООО Ромашка;7701000019;Москва;+74951600001", "ООО Ромашка;;Москва;+74951600002",
            "ООО Ромашко;;Москва;", *(f"ООО Фирма {n};;Омск;+73812000{n:03}" for n in range(60))]
    _sent(db, "base.csv", base, AS_OF)
    _sent(db, "bought.csv", [header, "ООО Ромашка;7701000026;Москва;+74951600003"], AS_OF)
    # Two INNs carry the name in Москва: neither the record without one nor the typo joins either.
    assert {frozenset(refs) for refs in partition(db) if "base.csv:1" in refs} == {frozenset(["base.csv:1"])}
    (tmp_path / "bought.csv").write_text(f"{header}\nООО Лютик;7701000026;Москва;+74951600003\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "bought.csv"))
    incremental, _ = same_as_full(db, tmp_path)
    assert incremental["mode"] == "incremental"
    assert {frozenset(refs) for refs in partition(db) if "base.csv:1" in refs} == {
        frozenset(["base.csv:1", "base.csv:2", "base.csv:3"])}


_LEAVING_HEADER = "Наименование;ИНН;КПП;Город;Телефон"
_LEAVING_OTHERS = [f"ООО Фирма {n};;;Омск;+73812000{n:03}" for n in range(60)]
_KEEPS_TVER = "ООО Заря;;;Тверь;+74822000009"  # an unchanged record naming Тверь


def _leaves(tmp_path: Path, before: list[str], after: list[str]) -> None:
    """Clean `before`, send `after` as the same file, clean incrementally: as a full clean would."""
    db = tmp_path / "cb.db"
    _sent(db, "base.csv", [_LEAVING_HEADER, *_LEAVING_OTHERS, *before], AS_OF)
    (tmp_path / "base.csv").write_text("\n".join([_LEAVING_HEADER, *_LEAVING_OTHERS, *after]) + "\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "base.csv"))
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"


@pytest.mark.parametrize("tver", ["only the leaving record", "another record too"])
@pytest.mark.parametrize("how", ["renamed", "moved", "removed"])
def test_namesakes_placed_by_their_tax_office_are_looked_at_when_a_second_inn_leaves_the_name(tmp_path, how, tver):
    # The last row (removing it renumbers no other) names Тверь with a second INN of tax office 6901, whose other
    # records have a blank city: placed in Тверь, its namesakes.
    leaving = "ООО Ромашка;6901000014;690101001;Тверь;+74822000001"
    placed = ["ООО Ромашка;6901000021;690101001;;+74822000002", "ООО Ромашка;;690101001;;+74822000003"]
    others = [_KEEPS_TVER] if tver == "another record too" else []
    if how == "moved":  # another record keeps office 6901 in Тверь
        others.append("ООО Вектор;6901000039;690101001;Тверь;+74822000008")
    after = {"renamed": [leaving.replace("Ромашка", "Лютик")], "moved": [leaving.replace("Тверь", "Тула")],
             "removed": []}[how]
    _leaves(tmp_path, [*others, *placed, leaving], [*others, *placed, *after])


@pytest.mark.parametrize("tver", ["only the leaving record", "another record too"])
@pytest.mark.parametrize("how", ["renamed", "moved", "removed"])
def test_a_name_without_a_city_is_listed_when_a_city_leaves_its_name(tmp_path, how, tver):
    # Found in hub_min_clients (3) cities, the name without a city is listed with none of them; in two, with each.
    leaving = "ООО Ромашка;;;Тверь;+74822000001"
    after = {"renamed": [leaving.replace("Ромашка", "Лютик")], "moved": [leaving.replace("Тверь", "Тула")],
             "removed": []}[how]
    others = [_KEEPS_TVER] if tver == "another record too" else []
    named = [*others, "ООО Ромашка;;;Москва;+74950000001", "ООО Ромашка;;;Омск;+73810000001",
             "ООО Ромашка;;;;+70000000001"]
    _leaves(tmp_path, [*named, leaving], [*named, *after])

_NAME_ROOTS = ("теплоэксперт", "стройсервис", "нефтекомплект", "альфа строй", "строй альфа м", "центр нефть комплект")
_OFFICES = {"7701": "москва", "1655": "казань"}


def _misspelt(rng: random.Random, name: str) -> str:
    """The name with up to three letters changed, dropped or added, its words now and then shuffled."""
    letters = list(name)
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        k = rng.randrange(len(letters))
        if rng.random() < 0.5:
            letters[k] = rng.choice("аеиоуыбвгдклмнпрст")
        elif len(letters) > 6:
            del letters[k]
        else:
            letters.insert(k, rng.choice("аеиоуыбвгдклмнпрст"))
    words = "".join(letters).split()
    if rng.random() < 0.1:
        rng.shuffle(words)
    return " ".join(words)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_the_pairs_listed_across_a_parts_edge_are_the_full_clusterings(seed):
    # Similar names in two cities, some without one (placed by their KPP's tax office), each record with a phone
    # of its own: every pair of them to review is listed, and each record is its name's client.
    rng, settings_ = random.Random(seed), DedupeSettings()
    rows, records = [], []
    for record_id in range(1, rng.randint(20, 120) + 1):
        name = _misspelt(rng, rng.choice(_NAME_ROOTS)) if not rows or rng.random() < 0.85 else rng.choice(rows)[5]
        city = rng.choice(["москва", "москва", "казань", None])
        kpp = None if city else rng.choice(["770101001", "165501001", None])
        inn = rng.choice([None, None, None, f"7701{record_id:06d}", f"1655{record_id:06d}"])
        rows.append((record_id, city, int(not city), kpp, inn, name))
        records.append(MatchRecord(record_id, name, False, city, inn, kpp, (), (), (f"+7495{record_id:07d}",)))
    split = {tuple(sorted(rng.sample(range(1, len(rows) + 1), 2))) for _ in range(rng.choice([0, 0, 3]))}
    full = find_clusters(records, settings_, split, _OFFICES)
    names = CompanyNames(PlaceRows.read(rows), _OFFICES)
    changed = set(rng.sample(range(1, len(rows) + 1), rng.randint(1, max(1, len(rows) // 8))))
    similar = names.similar_pairs(changed, settings_.review_score)
    reached = set(rng.sample(range(1, len(rows) + 1), rng.randint(0, len(rows) // 6)))  # by keys, say
    scope = (changed | names.namesakes(changed) | names.holders(similar.items[similar.scores >= settings_.merge_score])
             | reached | names.namesakes(reached))
    scope |= names.same_name(scope)
    relisted = names.namesakes(changed)
    across = {(pair.a, pair.b, pair.detail) for pair in full.pairs if pair.decision == "review"
              and pair.score < settings_.merge_score and (pair.a in scope) != (pair.b in scope)
              and (pair.a if pair.a in scope else pair.b) in relisted}
    listed = names.pairs_to_review_outside(similar, scope, settings_.merge_score, split)
    assert {(pair.a, pair.b, pair.detail) for pair in listed} == across


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_the_names_judged_compared_are_those_the_whole_bases_clustering_compares(seed):
    # Similar names in several cities, one of them only a tax office places records in, many without a city; one
    # name in several cities now and then, so that their order among one name's items counts.
    rng = random.Random(seed)
    rows, records = [], []
    for record_id in range(1, rng.randint(20, 120) + 1):
        name = _misspelt(rng, rng.choice(_NAME_ROOTS)) if not rows or rng.random() < 0.8 else rng.choice(rows)[5]
        city = rng.choice(["москва", "омск", "тверь", "тверь", None, None])
        kpp = None if city else rng.choice(["770101001", "165501001", None])
        rows.append((record_id, city, int(not city), kpp, None, name))
        records.append(MatchRecord(record_id, name, False, city, None, kpp, (), (), ()))
    linker = _Linker(records, DedupeSettings(), ())
    linker.home = _OFFICES
    items = _name_items(linker)
    firsts = linker.ids[numpy.array(items.firsts)]
    # Scoring from 0, the search returns every pair of items it compares.
    looked_at = {(firsts[k1], firsts[k2]) for batch in _similar_pairs(items.names, items.city_numbers, 0.0)
                 for k1, k2 in zip(batch[0].tolist(), batch[1].tolist())}
    k1, k2 = numpy.triu_indices(len(firsts), 1)
    cities = items.city_numbers
    comparable = (cities[k1] == cities[k2]) | (cities[k1] == 0) | (cities[k2] == 0)
    a, b = firsts[k1[comparable]], firsts[k2[comparable]]
    rng.shuffle(rows)
    judged = CompanyNames(PlaceRows.read(rows), _OFFICES).compared(a, b)
    assert judged.tolist() == [pair in looked_at for pair in zip(a.tolist(), b.tolist())]


def test_a_new_namesake_never_takes_the_id_of_a_client_left_out_of_the_clustering(tmp_path):
    db = tmp_path / "cb.db"
    clients = _sent(db, "base.csv", ["Наименование;Телефон;Город;Ответственный",
                                     "ИП Иванов Иван Иванович;+79161112233;Москва;Петрова Анна",
                                     "ООО Альфа;+74951234567;Москва;"], AS_OF)
    ivanov = clients["ИП Иванов Иван Иванович"][0]["client_id"]
    clients = _sent(db, "new.csv", ["Наименование;Телефон;Город", "Иванов Иван Иванович;+79035556677;Москва"], AS_OF)
    by_refs = {row["record_refs"]: row["client_id"] for rows in clients.values() for row in rows}
    assert by_refs["base.csv:1"] == ivanov and by_refs["new.csv:1"] != ivanov
    assert clients == _sent(db, "new.csv", ["Наименование;Телефон;Город",
                                            "Иванов Иван Иванович;+79035556677;Москва"], AS_OF)  # and it holds
    cli(db, "clean", "--full", "--as-of", AS_OF)
    assert {row["record_refs"]: row["client_id"] for row in table(db, "clients")} == by_refs


def test_a_namesake_with_another_inn_in_a_row_does_not_take_the_clients_snooze(tmp_path):
    db = tmp_path / "cb.db"
    header, others = "Наименование;ИНН;Телефон;Город", ["ООО Бета;7701000033;+74951110003;Москва"]
    romashka = "ООО Ромашка;7701000026;+74951110002;Москва"
    (client,) = _sent(db, "crm.csv", [header, "ООО Альфа;7701000019;+74951110001;Москва", romashka, *others],
                      AS_OF)["ООО Ромашка"]
    cli(db, "snooze", client["client_id"], "--until", "2027-06-01", "--reason", "x", "--as-of", AS_OF)
    # Another legal entity of the same name now fills Альфа's row.
    both = _sent(db, "crm.csv", [header, "ООО Ромашка;7701000058;+74951110005;Москва", romashka, *others],
                 AS_OF)["ООО Ромашка"]
    assert {(row["inn"], row["client_id"] == client["client_id"], row["state"]) for row in both} == {
        ("7701000026", True, "snoozed"), ("7701000058", False, "pool")}


def test_another_legal_entity_in_a_companys_row_never_takes_its_client(tmp_path):
    db = tmp_path / "cb.db"
    header, rest = "Наименование;ИНН;Телефон;Город", ["ООО Бета;7701000033;+74951110003;Москва"]
    (alfa,) = _sent(db, "crm.csv", [header, "ООО Альфа;7701000019;+74951110001;Москва", *rest], AS_OF)["ООО Альфа"]
    cli(db, "snooze", alfa["client_id"], "--until", "2027-06-01", "--reason", "x", "--as-of", AS_OF)
    (delta,) = _sent(db, "crm.csv", [header, "ООО Дельта;7701000058;+74951110005;Москва", *rest], AS_OF)["ООО Дельта"]
    assert delta["client_id"] != alfa["client_id"] and delta["state"] == "pool"


def test_a_company_whose_inn_was_corrected_in_a_re_sorted_dump_keeps_its_client(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;ИНН;Телефон;Город"
    beta, gamma = "ООО Бета;7701000033;+74951110003;Москва", "ООО Гамма;7701000040;+74951110004;Москва"
    (alfa,) = _sent(db, "crm.csv", [header, "ООО Альфа;7701000018;+74951110001;Москва", beta, gamma],
                    AS_OF)["ООО Альфа"]  # the INN fails its check digit
    cli(db, "snooze", alfa["client_id"], "--until", "2027-06-01", "--reason", "x", "--as-of", AS_OF)
    (again,) = _sent(db, "crm.csv", [header, beta, "ООО Альфа;7701000019;+74951110001;Москва", gamma],
                     AS_OF)["ООО Альфа"]
    assert (again["client_id"], again["state"]) == (alfa["client_id"], "snoozed")


@pytest.mark.parametrize("other", ["ООО Ромашка;7701000058;+74951110005;Москва",  # another INN
                                   "ООО Ромашка;;+78432110005;Казань"])  # another city
def test_a_namesake_moved_into_a_companys_row_does_not_take_its_client(tmp_path, other):
    db = tmp_path / "cb.db"
    header, romashka, beta = ("Наименование;ИНН;Телефон;Город", "ООО Ромашка;7701000026;+74951110002;Москва",
                              "ООО Бета;7701000033;+74951110003;Москва")
    (client,) = _sent(db, "crm.csv", [header, romashka, beta], AS_OF)["ООО Ромашка"]
    cli(db, "snooze", client["client_id"], "--until", "2027-06-01", "--reason", "x", "--as-of", AS_OF)
    both = _sent(db, "crm.csv", [header, other, beta, romashka], AS_OF)["ООО Ромашка"]
    assert {(row["record_refs"], row["client_id"] == client["client_id"], row["state"]) for row in both} == {
        ("crm.csv:3", True, "snoozed"), ("crm.csv:1", False, "pool")}


def test_a_company_whose_placeholder_inn_was_filled_in_keeps_its_client(tmp_path):
    db = tmp_path / "cb.db"
    header, beta = "Наименование;ИНН;Телефон;Город", "ООО Бета;7701000033;+74951110003;Москва"
    (client,) = _sent(db, "crm.csv", [header, "ООО Ромашка;0000000000;+74951110002;Москва", beta], AS_OF)["ООО Ромашка"]
    cli(db, "snooze", client["client_id"], "--until", "2027-06-01", "--reason", "x", "--as-of", AS_OF)
    (renamed,) = _sent(db, "crm.csv", [header, "ООО Ромашка-Центр;7701000026;+74951110002;Москва", beta],
                       AS_OF)["ООО Ромашка-Центр"]
    assert (renamed["client_id"], renamed["state"]) == (client["client_id"], "snoozed")


def _dumped(db: Path, lines: list[str], day: str, modes: list[str] | None = None) -> dict[str, dict]:
    """Ingest the lines as crm.csv read on `day` (shorter than before if need be) and clean: clients by name.
    The clean's mode goes to `modes`."""
    dump = db.parent / "crm.csv"
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli(db, "ingest", str(dump), "--as-of", day, "--allow-shrink")
    mode = json.loads(cli(db, "clean", "--as-of", day, "--json").stdout)["dedupe"]["mode"]
    if modes is not None:
        modes.append(mode)
    return {row["name"]: row for row in table(db, "clients")}


def _listed_today(db: Path, manager: str, day: str) -> set[str]:
    items = json.loads(cli(db, "today", "--manager", manager, "--as-of", day, "--json").stdout)["items"]
    return {str(item["client_id"]) for item in items}


@pytest.mark.parametrize(("owner", "decision", "standing"), [
    ("", ["snooze", "--until", "2027-05-01", "--reason", "закупки через головной офис"], ("snoozed", "")),
    ("", ["assign", "Сидоров Олег", "--days", "60"], ("owned", "Сидоров Олег")),
    ("Иванов Иван", ["release"], ("pool", "")),
], ids=["snooze", "assign", "release"])
def test_a_company_moved_up_by_a_deleted_row_keeps_its_client_and_what_was_decided(tmp_path, owner, decision,
                                                                                   standing):
    db, day, next_day = tmp_path / "cb.db", "2026-11-20", "2026-11-21"
    header = "Компания;ИНН;Город;Телефон;Ответственный"
    alfa, beta = "ООО Альфа;7701000019;Москва;8 (495) 201-00-01;", "ООО Бета;7701000026;Москва;8 (495) 201-00-02;"
    gamma = f"ООО Гамма;7701000033;Москва;8 (495) 201-00-03;{owner}"
    clients = _dumped(db, [header, alfa, beta, gamma], day)
    alfa_id, gamma_id = clients["ООО Альфа"]["client_id"], clients["ООО Гамма"]["client_id"]
    cli(db, "assign", alfa_id, "Петрова Анна", "--days", "60", "--as-of", day)
    cli(db, decision[0], gamma_id, *decision[1:], "--as-of", day)
    # Бета is deleted from the dump: Гамма moves up from row 3, which is gone, to row 2.
    gamma_now = _dumped(db, [header, alfa, gamma], next_day)["ООО Гамма"]
    assert (gamma_now["record_refs"], gamma_now["client_id"], gamma_now["state"], gamma_now["owner"]) == (
        "crm.csv:2", gamma_id, *standing)
    if standing[0] != "pool":
        assert _listed_today(db, "Петрова Анна", next_day) == {alfa_id}


@pytest.mark.parametrize("decision", [["snooze", "--until", "2027-06-01", "--reason", "закупки через головной офис"],
                                      ["assign", "Сидоров Олег", "--days", "60"]], ids=["snooze", "assign"])
def test_a_company_moved_onto_a_row_that_was_rejected_keeps_its_client_and_what_was_decided(tmp_path, decision):
    db, day, next_day = tmp_path / "cb.db", "2026-11-20", "2026-11-21"
    header, junk = "Компания;ИНН;Город;Телефон;Ответственный", ";;Москва;;Козлов Сергей"  # nothing to tell a client by
    alfa, beta = "ООО Альфа;7701000019;Москва;8 (495) 201-00-01;", "ООО Бета;7701000026;Москва;8 (495) 201-00-02;"
    clients = _dumped(db, [header, alfa, junk, beta], day)
    alfa_id, beta_id = clients["ООО Альфа"]["client_id"], clients["ООО Бета"]["client_id"]
    cli(db, decision[0], alfa_id, *decision[1:], "--as-of", day)
    before = _dumped(db, [header, alfa, junk, beta], day)
    # Sorted another way: Альфа's row is rejected now, and Альфа is in the row that was.
    after = _dumped(db, [header, junk, alfa, beta], next_day)
    assert after["ООО Альфа"]["record_refs"] == "crm.csv:2"
    assert {name: (row["client_id"], row["state"], row["owner"]) for name, row in after.items()} == {
        name: (row["client_id"], row["state"], row["owner"]) for name, row in before.items()}
    assert after["ООО Бета"]["client_id"] == beta_id


# Two firms of one name in one city, without an INN: their own email domains keep them two clients.
ROMASHKI = ["ООО Ромашка;;Казань;8 (843) 210-00-01;info@romashka-kzn.ru",
            "ООО Ромашка;;Казань;8 (843) 210-00-02;office@romashka16.ru"]
NAMESAKES_DUMP = ["ООО Альфа;7701000019;Москва;8 (495) 201-00-01;", ROMASHKI[0], "ООО Бета;;Самара;8 (846) 200-00-01;",
                  ROMASHKI[1], "ООО Гамма;7701000026;Москва;8 (495) 201-00-02;"]


@pytest.mark.parametrize("dumps", [
    [NAMESAKES_DUMP[::-1]],  # the two swap rows
    [NAMESAKES_DUMP[1:]],  # Альфа is gone: each moves up a row
    [["ООО Дельта;;Пермь;8 (342) 200-00-01;", *NAMESAKES_DUMP]],  # a new row on top: each moves down a row
    # A third namesake takes the first one's row, which moves to the end.
    [[NAMESAKES_DUMP[0], "ООО Ромашка;;Казань;8 (843) 210-00-03;zakaz@romashka-kazan.ru", *NAMESAKES_DUMP[2:],
      ROMASHKI[0]]],
    [NAMESAKES_DUMP[::-1], [*NAMESAKES_DUMP[2:], *NAMESAKES_DUMP[:2]]],  # sorted twice before a clean
], ids=["re-sorted", "row-deleted", "row-on-top", "namesake-in-its-row", "re-sorted-twice"])
def test_namesakes_without_an_inn_keep_their_clients_in_a_re_sorted_dump(tmp_path, dumps):
    db, day, next_day = tmp_path / "cb.db", "2026-11-20", "2026-11-21"
    header = "Компания;ИНН;Город;Телефон;E-mail"

    def by_phone() -> dict[str, dict]:
        """Each company's client, by the company's phone."""
        clients = {row["client_id"]: row for row in table(db, "clients")}
        return {row["e164"]: clients[row["client_id"]] for row in table(db, "phones")}

    _dumped(db, [header, *NAMESAKES_DUMP], day)
    before = by_phone()
    snoozed, assigned = before["+78432100001"]["client_id"], before["+78432100002"]["client_id"]
    assert snoozed != assigned
    cli(db, "snooze", snoozed, "--until", "2027-06-01", "--reason", "закупки через головной офис", "--as-of", day)
    cli(db, "assign", assigned, "Сидоров Олег", "--days", "60", "--as-of", day)
    before = by_phone()
    for lines in dumps[:-1]:
        (db.parent / "crm.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
        cli(db, "ingest", str(db.parent / "crm.csv"), "--as-of", next_day)
    _dumped(db, [header, *dumps[-1]], next_day)
    after = by_phone()
    assert (after["+78432100001"]["client_id"], after["+78432100001"]["state"]) == (snoozed, "snoozed")
    assert (after["+78432100002"]["client_id"], after["+78432100002"]["owner"]) == (assigned, "Сидоров Олег")
    assert {phone: client["client_id"] for phone, client in after.items() if phone in before} == {
        phone: client["client_id"] for phone, client in before.items() if phone in after}
    listed = _listed_today(db, "Петрова Анна", next_day)
    assert listed and snoozed not in listed  # the pool is handed out, but not the snoozed company
    with sqlite3.connect(db) as conn:  # the clean has used the hints, and forgotten them
        assert conn.execute("SELECT count(*) FROM raw_hints").fetchone()[0] == 0


def test_a_row_moved_with_its_text_never_gives_its_company_the_client_of_another_inn(tmp_path):
    db, day, next_day = tmp_path / "cb.db", "2026-11-20", "2026-11-21"
    header, alfa_again = "Компания;ИНН;Город;Телефон", "Альфа;;Москва;8 (495) 201-00-01"  # Альфа's by its phone
    beta = "ООО Бета;7701000026;Москва;8 (495) 201-00-02"
    clients = _dumped(db, [header, "ООО Альфа;7701000019;Москва;8 (495) 201-00-01", alfa_again, beta], day)
    alfa_id = clients["ООО Альфа"]["client_id"]
    cli(db, "snooze", alfa_id, "--until", "2027-06-01", "--reason", "головной офис", "--as-of", day)
    # Альфа's row with its INN is gone, and its number is another legal entity's now: the row without an INN,
    # moved as it was, joins that one, which must not take Альфа's client.
    after = _dumped(db, [header, beta, "ООО Гамма;7701000033;Москва;8 (495) 201-00-01", alfa_again], next_day)
    assert after["ООО Гамма"]["record_refs"] == "crm.csv:2;crm.csv:3"
    assert (after["ООО Гамма"]["client_id"], after["ООО Гамма"]["state"]) != (alfa_id, "snoozed")
    assert after["ООО Бета"]["client_id"] == clients["ООО Бета"]["client_id"]


def test_a_company_split_from_its_inns_other_client_keeps_its_client_in_a_re_sorted_dump(tmp_path):
    db, day, next_day = tmp_path / "cb.db", "2026-11-20", "2026-11-21"
    header = "Компания;ИНН;Город;Телефон;Ответственный"
    alfa, rest = "ООО Альфа;7701000019;Москва;8 (495) 201-00-01;", [
        "ООО Бета;7701000026;Москва;8 (495) 201-00-02;", "ООО Гамма;7701000033;Москва;8 (495) 201-00-03;"]
    onec = tmp_path / "1c.csv"
    onec.write_text("Контрагент;ИНН;Город;Телефон\nАльфа ООО;7701000019;Москва;8 (495) 201-00-09\n",
                    encoding="utf-8")
    cli(db, "ingest", str(onec), "--as-of", day)
    clients = _dumped(db, [header, alfa, *rest], day)
    alfa_id = clients["ООО Альфа"]["client_id"]
    cli(db, "unmerge", alfa_id, "--ref", "1c.csv:1")  # one INN, two clients: the user keeps them apart
    cli(db, "snooze", alfa_id, "--until", "2027-06-01", "--reason", "головной офис", "--as-of", day)
    before = _dumped(db, [header, alfa, *rest], day)
    after = _dumped(db, [header, *reversed(rest), alfa], next_day)
    assert after["ООО Альфа"]["record_refs"] == "crm.csv:3"
    assert {name: (row["client_id"], row["state"]) for name, row in after.items()} == {
        name: (row["client_id"], row["state"]) for name, row in before.items()}
    assert after["ООО Альфа"]["state"] == "snoozed" and after["Альфа ООО"]["client_id"] != alfa_id


def test_a_row_without_an_inn_never_gives_its_company_the_client_of_another_inn(tmp_path):
    db, day, next_day = tmp_path / "cb.db", "2026-11-20", "2026-11-21"
    header, beta = "Компания;ИНН;Город;Телефон;Ответственный", "ООО Бета;7701000026;Москва;8 (495) 201-00-02;"
    kazan, samara = ("ООО Торгдизайн;1660704213;Казань;8 (843) 200-00-01;",
                     "ООО Торгдизайн;6318808337;Самара;8 (846) 200-00-02;")
    samara_again = "ООО Торгдизайн;;Казань;8 (846) 200-00-02;"  # Самара's row again, by its phone, with Казань's city
    _dumped(db, [header, kazan, beta, samara, samara_again], day)
    ids = {row["inn"]: row["client_id"] for row in table(db, "clients")}
    cli(db, "snooze", ids["1660704213"], "--until", "2027-06-01", "--reason", "головной офис", "--as-of", day)
    # Sorted another way: Самара's row without an INN is in Казань's row, with Казань's name and city.
    _dumped(db, [header, samara_again, samara, beta, kazan], next_day)
    after = {row["inn"]: (row["client_id"], row["state"], row["record_refs"]) for row in table(db, "clients")}
    assert after == {"1660704213": (ids["1660704213"], "snoozed", "crm.csv:4"),
                     "6318808337": (ids["6318808337"], "pool", "crm.csv:1;crm.csv:2"),
                     "7701000026": (ids["7701000026"], "pool", "crm.csv:3")}


def test_a_new_company_that_takes_a_row_without_an_inn_does_not_take_its_client(tmp_path):
    db, day = tmp_path / "cb.db", "2026-11-20"
    (client,) = _dumped(db, ["Компания;ИНН;Город;Телефон", "ООО Медэксперт;;Краснодар;8 (861) 200-00-01",
                             "ООО Медэксперт;2312351583;Краснодар;8 (861) 200-00-02"], day).values()
    cli(db, "snooze", client["client_id"], "--until", "2027-06-01", "--reason", "головной офис", "--as-of", day)
    bought = tmp_path / "bought.csv"  # another legal entity on the phone of the row without an INN
    bought.write_text("Company,INN,City,Phone\nТД Медэксперт,2312133867,Краснодар,8 (861) 200-00-01\n",
                      encoding="utf-8")
    cli(db, "ingest", str(bought), "--as-of", day)
    cli(db, "clean", "--as-of", "2026-11-21")
    after = {row["inn"]: (row["client_id"], row["state"], row["record_refs"]) for row in table(db, "clients")}
    assert after["2312351583"] == (client["client_id"], "snoozed", "crm.csv:2")
    assert after["2312133867"][:2] != (client["client_id"], "snoozed")


def _inn(n: int) -> str:
    """A valid organisation INN of a made-up series."""
    stem = f"77010{n:04}"
    return stem + stdnum_inn.calc_company_check_digit(stem)


@pytest.mark.parametrize("others", [0, 40], ids=["full", "incremental"])
def test_any_order_or_deletion_of_a_dumps_rows_keeps_each_companys_client(tmp_path, others):
    """Rounds of one dump with its companies (distinct valid INNs) in any order, some left out and rejected rows
    among them: a company in two dumps in a row keeps its client, snoozed or not. `others` unchanged rows of
    another file keep the changes below half the base, so the clean clusters only part of it."""
    rng, db, day = random.Random(f"rows {others}"), tmp_path / "cb.db", "2026-11-20"
    header = "Компания;ИНН;Город;Телефон"
    words = ["Альфа", "Бета", "Гамма", "Дельта", "Сигма", "Омега", "Вега", "Орион", "Каскад"]
    rows = {word: f"ООО {word};{_inn(n)};Москва;+7 495 300-00-{n:02}" for n, word in enumerate(words, start=1)}
    junk = [";;Москва;", ";;;", ";;Казань;"]
    if others:
        extra = db.parent / "others.csv"
        extra.write_text("\n".join(["Компания;Город;Телефоны", *(f"ООО Фирма {n};Омск;+7 381 200-01-{n:02}"
                                                                  for n in range(others))]) + "\n", encoding="utf-8")
        cli(db, "ingest", str(extra))
    present: dict[str, str] = {}
    snoozed: set[str] = set()
    modes: list[str] = []
    for round_ in range(7):
        names = rng.sample(words, rng.randint(3, len(words)))
        lines = [rows[name] for name in names]
        for line in rng.sample(junk, rng.randint(0, 2)):
            lines.insert(rng.randint(0, len(lines)), line)
        clients = _dumped(db, [header, *lines], day, modes)
        ids = {name: clients[f"ООО {name}"]["client_id"] for name in names}
        assert len(set(ids.values())) == len(ids)
        kept = {name: present[name] for name in names if name in present}
        assert {name: ids[name] for name in kept} == kept, f"round {round_}: {lines}"
        assert {name for name in names if clients[f"ООО {name}"]["state"] == "snoozed"} == snoozed & set(kept)
        present, snoozed = ids, snoozed & set(kept)
        if not snoozed:
            name = rng.choice(names)
            cli(db, "snooze", ids[name], "--until", "2027-06-01", "--reason", "головной офис", "--as-of", day)
            snoozed = {name}
    assert ("incremental" in modes) == bool(others), modes


def test_the_sample_crm_dump_sorted_backwards_keeps_every_client(tmp_path):
    db, crm = tmp_path / "cb.db", tmp_path / "crm_export.xlsx"
    shutil.copy(ROOT / "sample_data" / "crm_export.xlsx", crm)
    cli(db, "ingest", str(crm), str(ROOT / "sample_data" / "1c_export.csv"),
        str(ROOT / "sample_data" / "purchased_base.csv"))
    clean(db)
    before = client_ids(db)
    # The sheet's rows the other way up: companies land on rows that were rejected, and the other way round.
    book = openpyxl.load_workbook(crm)
    sheet, source = book["Клиенты"], "crm_export.xlsx#Клиенты"
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    for number, values in enumerate(reversed(rows), start=2):
        for column, value in enumerate(values, start=1):
            sheet.cell(number, column).value = value
    book.save(crm)
    cli(db, "ingest", str(crm))
    full = tmp_path / "full" / db.name
    full.parent.mkdir()
    with sqlite3.connect(db) as base, sqlite3.connect(full) as copy:
        base.backup(copy)

    def moved(ref: str) -> str:
        if not ref.startswith(f"{source}:"):
            return ref
        return f"{source}:{len(rows) + 1 - int(ref.removeprefix(f'{source}:'))}"

    expected = {moved(ref): client_id for ref, client_id in before.items()}
    clean(db)
    assert client_ids(db) == expected
    assert clean(full, "--full")["mode"] == "full"
    assert client_ids(full) == expected


# Two companies on one phone, merged until the user split them, and one company written twice.
LOTOS, IRIS = "ООО Лотос;;Казань;+7 843 160-00-01", "ООО Ирис;;Казань;+7 843 160-00-01"
VEKTOR = ["ООО Вектор;;Самара;+7 846 200-00-01", "Вектор;;Самара;+7 846 200-00-01"]


def _send_crm(db: Path, lines: list[str]) -> None:
    dump = db.parent / "crm.csv"
    dump.write_text("\n".join(["Компания;ИНН;Город;Телефоны", *lines]) + "\n", encoding="utf-8")
    cli(db, "ingest", str(dump))


def _companies(db: Path, lines: list[str]) -> set[frozenset[str]]:
    """The clients of crm.csv as sets of the names in the rows of the `lines` their records are."""
    return {frozenset(lines[int(ref.removeprefix("crm.csv:")) - 1].split(";")[0] for ref in refs)
            for refs in partition(db) if all(ref.startswith("crm.csv:") for ref in refs)}


def _lotos_split_from_iris(db: Path) -> None:
    _send_crm(db, [LOTOS, IRIS, *VEKTOR])
    others = db.parent / "others.csv"  # so that a clean after crm.csv changed clusters only part of the base
    others.write_text("\n".join(["Компания;Город;Телефоны",
                                 *(f"ООО Фирма {n};Омск;+7 381 200-00-{n:02}" for n in range(10))]) + "\n",
                      encoding="utf-8")
    cli(db, "ingest", str(others))
    clean(db)
    [merged] = [c["client_id"] for c in table(db, "clients") if c["record_refs"] == "crm.csv:1;crm.csv:2"]
    cli(db, "unmerge", merged)


@pytest.mark.parametrize(("lines", "lotos"), [
    ([*VEKTOR, IRIS, LOTOS], {"ООО Лотос"}),  # sorted another way
    (["Лотос;;Казань;", LOTOS, IRIS, *VEKTOR], {"ООО Лотос", "Лотос"}),  # a row on top, Лотос again by name
], ids=["re-sorted", "row-on-top"])
def test_companies_split_by_hand_stay_apart_in_whichever_rows_their_dump_puts_them(tmp_path, lines, lotos):
    db = tmp_path / "cb.db"
    _lotos_split_from_iris(db)
    _send_crm(db, lines)
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    # The companies now in the rows the two were in are free to join their own duplicates.
    assert _companies(db, lines) == {frozenset(lotos), frozenset(["ООО Ирис"]), frozenset(["ООО Вектор", "Вектор"])}


def test_a_split_company_gone_from_its_dump_parks_the_decision_until_it_comes_back(tmp_path):
    db = tmp_path / "cb.db"
    _lotos_split_from_iris(db)
    without = [*VEKTOR, IRIS]
    _send_crm(db, without)
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    # Лотос's side is parked: it keeps apart nothing now in its row, nor in Ирис's old row.
    assert _companies(db, without) == {frozenset(["ООО Ирис"]), frozenset(["ООО Вектор", "Вектор"])}
    back = [*without, LOTOS]
    _send_crm(db, back)
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    assert _companies(db, back) == {frozenset(["ООО Лотос"]), frozenset(["ООО Ирис"]),
                                    frozenset(["ООО Вектор", "Вектор"])}
    told = [(entry["action"], json.loads(entry["detail"])["record"])
            for entry in json.loads(cli(db, "audit", "--command", "ingest", "--json").stdout)["items"]
            if entry["action"].startswith("unmerge")]
    assert told == [("unmerge parked", "crm.csv:1"), ("unmerge moved", "crm.csv:2"),
                    ("unmerge restored", "crm.csv:4")]


def test_a_split_company_in_two_rows_parks_the_decision_until_one_row_holds_it(tmp_path):
    db = tmp_path / "cb.db"
    _lotos_split_from_iris(db)
    # Two legal entities named Лотос in Казань: either may be the one without an INN that was split from Ирис.
    twice = [*VEKTOR, IRIS, "ООО Лотос;7701000019;Казань;+7 843 160-00-01",
             "ООО Лотос;7701000026;Казань;+7 843 160-00-07"]
    _send_crm(db, twice)
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    # Parked: neither is kept apart from Ирис, and the one with its phone joins it.
    assert _companies(db, twice) == {frozenset(["ООО Лотос", "ООО Ирис"]), frozenset(["ООО Лотос"]),
                                     frozenset(["ООО Вектор", "Вектор"])}
    # The other's row is another firm's now. The one left is in a row kept as it was: only the decision coming
    # back to it has it clustered again.
    once = [*twice[:4], "ООО Дельта;;Пермь;+7 342 200-00-01"]
    _send_crm(db, once)
    assert same_as_full(db, tmp_path)[0]["mode"] == "incremental"
    assert _companies(db, once) == {frozenset(["ООО Лотос"]), frozenset(["ООО Ирис"]), frozenset(["ООО Дельта"]),
                                    frozenset(["ООО Вектор", "Вектор"])}


def _as_read(db: Path, source: str) -> list[tuple]:
    """A source's records, phones and emails as ingest made them, by reference (ids and judgements aside)."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        records = [(row["ref"], *(row[k] for k in row.keys() if k not in ("id", "source_id", "client_id", "contact_id")))
                   for row in conn.execute("SELECT r.*, w.raw FROM records r JOIN record_raw w ON w.record_id = r.id "
                                           "JOIN sources s ON s.id = r.source_id WHERE s.name = ? ORDER BY r.row",
                                           (source,))]
        phones = conn.execute("SELECT r.ref, p.pos, p.raw, p.e164, p.type, p.status, p.reason FROM phones p "
                              "JOIN records r ON r.id = p.record_id JOIN sources s ON s.id = r.source_id "
                              "WHERE s.name = ? ORDER BY r.row, p.pos", (source,)).fetchall()
        emails = conn.execute("SELECT r.ref, e.raw, e.value, e.valid FROM emails e JOIN records r ON r.id = e.record_id "
                              "JOIN sources s ON s.id = r.source_id WHERE s.name = ? ORDER BY r.row, e.raw",
                              (source,)).fetchall()
    return [*records, *map(tuple, phones), *map(tuple, emails)]


def _phone_rows(db: Path, refs: set[str]) -> dict[str, tuple[str, str]]:
    """Each record's phones as stored: their ids, and their judgements."""
    with sqlite3.connect(db) as conn:
        return {ref: (ids, judged) for ref, ids, judged in conn.execute(
            "SELECT r.ref, group_concat(p.id, ' '), group_concat(coalesce(p.judged || ' ' || p.judged_on, '-'), ' ') "
            "FROM records r JOIN phones p ON p.record_id = r.id GROUP BY r.id") if ref in refs}


def test_a_re_exported_file_reads_only_its_changed_rows_again(cleaned, dumps, tmp_path):
    cli(cleaned, "calls", str(dumps / "dialer_log.csv"))
    clean(cleaned)  # the numbers are judged
    with open(dumps / "purchased_old.csv", encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    count = len(rows)
    rows[0][0] += " плюс"  # row 1 renamed
    rows[1][3] = "+7 916 000-00-01"  # row 2 has a new phone
    rows[-1] = [rows[5][0], "", *rows[5][2:]]  # the last row is another firm's now, without an INN
    rows.append(rows[6])  # and a row is added
    changed = tmp_path / "export" / "purchased_old.csv"
    changed.parent.mkdir()
    with open(changed, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    untouched = {f"purchased_old.csv:{n}" for n in range(3, count)}
    before = _phone_rows(cleaned, untouched)
    assert any(judged.strip("- ") for _, judged in before.values())

    ingested = json.loads(cli(cleaned, "ingest", str(changed), "--json", "--as-of", AS_OF).stdout)
    [source] = ingested["sources"]
    assert (source["outcome"], source["rows"], source["kept"]) == ("replaced", count + 1, count - 3)
    assert _phone_rows(cleaned, untouched) == before  # the same phones, judgements and all: not read again
    fresh = tmp_path / "fresh" / "cb.db"
    fresh.parent.mkdir()
    fresh_source = json.loads(cli(fresh, "ingest", str(changed), "--json", "--as-of", AS_OF).stdout)
    assert _as_read(cleaned, "purchased_old.csv") == _as_read(fresh, "purchased_old.csv")
    assert {k: v for k, v in source.items() if k not in ("outcome", "kept", "path")} == \
        {k: v for k, v in fresh_source["sources"][0].items() if k not in ("outcome", "kept", "path")}
    same_as_full(cleaned, tmp_path)


def test_rows_are_read_again_when_what_builds_them_changed(cleaned, dumps, tmp_path):
    header, *rows = (dumps / "1c_export.csv").read_bytes().decode("cp1251").split("\r\n")
    changed = tmp_path / "1c_export.csv"
    changed.write_text("\r\n".join([header, rows[0].replace(";", " плюс;", 1), *rows[1:]]), encoding="cp1251")
    rules = tmp_path / "kz.toml"
    rules.write_text('[ingest]\ndefault_region = "KZ"\n', encoding="utf-8")
    ingested = json.loads(cli(cleaned, "--rules", str(rules), "ingest", str(changed), "--source", "1c_export.csv",
                              "--json", "--as-of", AS_OF).stdout)
    assert ingested["sources"][0]["kept"] == 0  # the phones are read as Kazakh numbers now
    fresh = tmp_path / "fresh" / "cb.db"
    fresh.parent.mkdir()
    cli(fresh, "--rules", str(rules), "ingest", str(changed), "--source", "1c_export.csv", "--as-of", AS_OF)
    assert _as_read(cleaned, "1c_export.csv") == _as_read(fresh, "1c_export.csv")


def test_a_totals_row_is_read_again_when_rows_follow_it(tmp_path):
    dump = tmp_path / "crm.csv"
    rows = ["Наименование;Телефон", "ООО Ромашка;+7 495 123-45-67", "Total;+7 495 765-43-21"]
    db = tmp_path / "cb.db"

    def ingest(lines: list[str]) -> dict[str, str]:
        dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
        [source] = json.loads(cli(db, "ingest", str(dump), "--source", "crm", "--json").stdout)["sources"]
        assert source["kept"] == (0 if source["outcome"] == "new" else 1)  # ООО Ромашка, as it was
        fresh = tmp_path / f"fresh{len(list(tmp_path.glob('fresh*')))}" / "cb.db"
        fresh.parent.mkdir()
        cli(fresh, "ingest", str(dump), "--source", "crm")
        assert _as_read(db, "crm") == _as_read(fresh, "crm")
        return {row["record_ref"]: row["status"] for row in table(db, "records")}

    assert ingest(rows)["crm:2"] == "rejected"  # last, it is the export's totals
    assert ingest([*rows, "ООО Лютик;+7 495 111-22-33"])["crm:2"] == "ok"  # a firm named Total, after all
    assert ingest(rows)["crm:2"] == "rejected"


def test_a_row_with_too_many_cells_sent_again_as_it_was_is_kept_as_it_was(tmp_path):
    dump = tmp_path / "crm.csv"
    db = tmp_path / "cb.db"
    rows = ["Наименование;Адрес;Телефон", "ООО Вектор;г. Казань; ул. Ленина, д. 1;+7 843 260-00-01",
            "ООО Сигма;г. Казань;+7 843 260-00-02"]
    for lines, kept in ((rows, 0), ([*rows, "ООО Лютик;г. Казань;+7 843 260-00-03"], 2)):
        dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
        [source] = json.loads(cli(db, "ingest", str(dump), "--source", "crm", "--json").stdout)["sources"]
        assert (source["kept"], source["rejected"]) == (kept, {"too many cells: 4 for a header of 3": 1})


def test_the_same_file_is_read_again_when_the_phone_rules_change(tmp_path):
    dump = tmp_path / "k.csv"
    dump.write_text("Наименование;Телефон\nООО Ромашка;741-22-19\n", encoding="utf-8")
    rules = tmp_path / "moscow.toml"
    rules.write_text('[ingest]\ndefault_area_code = "495"\n', encoding="utf-8")
    db, fresh = tmp_path / "cb.db", tmp_path / "fresh" / "cb.db"
    fresh.parent.mkdir()
    cli(db, "ingest", str(dump))
    ingested = json.loads(cli(db, "--rules", str(rules), "ingest", str(dump), "--json").stdout)
    assert ingested["sources"][0]["outcome"] == "replaced"
    cli(fresh, "--rules", str(rules), "ingest", str(dump))
    assert _as_read(db, "k.csv") == _as_read(fresh, "k.csv")
    assert [row["e164"] for row in table(db, "phones")] == ["+74957412219"]
    again = json.loads(cli(db, "--rules", str(rules), "ingest", str(dump), "--json").stdout)
    assert again["sources"][0]["outcome"] == "unchanged"
    with sqlite3.connect(db) as conn:  # as a source ingested before schema 13 recorded its build
        conn.execute("UPDATE sources SET build = NULL")
    after_upgrade = json.loads(cli(db, "ingest", str(dump), "--json").stdout)
    assert after_upgrade["sources"][0]["outcome"] == "unchanged"  # taken as built with the rules of now
    moscow_again = json.loads(cli(db, "--rules", str(rules), "ingest", str(dump), "--json").stdout)
    assert moscow_again["sources"][0]["outcome"] == "replaced"


def test_new_calls_are_judged_incrementally_as_a_full_clean_would(cleaned, dumps, tmp_path):
    cli(cleaned, "calls", str(dumps / "calls_old.csv"))
    assert clean_summary(cleaned)["phones"]["mode"] == "incremental"  # only the called numbers
    before = standing(cleaned)
    cli(cleaned, "calls", str(dumps / "calls_new.csv"))
    cli(cleaned, "ingest", str(dumps / "purchased_new.csv"))
    same_as_full(cleaned, tmp_path)
    after = standing(cleaned)
    assert sum(before.get(refs) != status for refs, status in after.items()) > 10  # the calls changed things
    judged = clean_summary(cleaned)["phones"]  # nothing new since
    assert judged["mode"] == "incremental" and judged["clients"] == 0 and standing(cleaned) == after

    # The first log again, corrected: every third call answered after all, every fifth gone.
    with open(dumps / "calls_old.csv", encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=";"))
    corrected = [[*row[:2], "Ответ" if n % 3 == 0 else row[2], *row[3:]] for n, row in enumerate(rows) if n % 5]
    fixed = tmp_path / "fixed" / "calls_old.csv"
    fixed.parent.mkdir()
    with open(fixed, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([header, *corrected])
    cli(cleaned, "calls", str(fixed), "--source", "calls_old.csv")
    same_as_full(cleaned, tmp_path)
    assert standing(cleaned) != after

    # A dump read again, one row renamed: its phones are written anew, and keep their verdicts.
    with open(dumps / "1c_export.csv", encoding="cp1251", newline="") as handle:
        header, *rows = list(csv.reader(handle, delimiter=";"))
    rows[1][0] += " плюс"
    renamed = tmp_path / "renamed" / "1c_export.csv"
    renamed.parent.mkdir()
    with open(renamed, "w", encoding="cp1251", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows([header, *rows])
    dead = clean_summary(cleaned)["phones"]["dead"]
    cli(cleaned, "ingest", str(renamed), "--source", "1c_export.csv")
    same_as_full(cleaned, tmp_path)
    assert clean_summary(cleaned)["phones"]["dead"] == dead > 0


def test_owners_snoozes_and_terms_are_worked_out_incrementally_as_a_full_clean_would(cleaned, dumps, tmp_path):
    cli(cleaned, "calls", str(dumps / "calls_old.csv"))
    clean_summary(cleaned)
    clients = table(cleaned, "clients")
    # Potential clients: never bought, so the days passing leave their segment and class as they are.
    pool = [c["client_id"] for c in clients if c["state"] == "pool" and c["segment"] == "potential"]
    owned = [c["client_id"] for c in clients if c["state"] == "owned"]
    first, leaving, taking = sorted({c["owner"] for c in clients if c["state"] == "owned"})[:3]
    quarantined = next(c["client_id"] for c in clients if c["state"] == "quarantined")
    day = "2026-12-01"  # after every assignment the dumps date
    cli(cleaned, "assign", pool[0], first, "--as-of", day)
    cli(cleaned, "release", owned[0], "--as-of", day)
    cli(cleaned, "snooze", pool[1], "--until", "2026-12-10", "--reason", "head office buys", "--as-of", day)
    cli(cleaned, "snooze", pool[2], "--until", "2027-06-01", "--reason", "head office buys", "--as-of", day)
    cli(cleaned, "quarantine", "release", quarantined, "--as-of", day)
    cli(cleaned, "reassign", "--from", leaving, "--to", taking, "--as-of", day)
    conflict = next(row for row in table(cleaned, "conflicts") if leaving not in row["managers"])
    loser = next(m for m in conflict["managers"].split(";") if m != conflict["resolved_owner"])
    cli(cleaned, "assign", conflict["client_id"], loser, "--as-of", day)
    that_day, _ = cleaned_as_full(cleaned, tmp_path, as_of=day)
    assert (that_day["rules"]["mode"], that_day["rules"]["snoozed"]) == ("incremental", 2)

    # A month on: terms run out and the first snooze is over, with nothing clustered or judged again.
    month_on, _ = cleaned_as_full(cleaned, tmp_path, as_of="2027-01-05")
    assert (month_on["dedupe"]["mode"], month_on["phones"]["clients"]) == ("unchanged", 0)
    assert month_on["rules"]["mode"] == "incremental"
    assert 0 < month_on["rules"]["clients"] < len(clients) / 2
    assert month_on["rules"]["expired"] > 0 and month_on["rules"]["snoozed"] == 1
    after = {c["client_id"]: c for c in table(cleaned, "clients")}
    assert (after[pool[0]]["owner"], after[owned[0]]["owner"]) == (first, "")
    assert after[quarantined]["state"] != "quarantined"
    assert leaving not in {c["owner"] for c in after.values()}
    settled = next(row for row in table(cleaned, "conflicts") if row["client_id"] == conflict["client_id"])
    assert (after[conflict["client_id"]]["owner"], settled["rule"]) == (loser, "assigned by a command")

    # New calls and records, then days running backwards: everything is worked out again.
    cli(cleaned, "calls", str(dumps / "calls_new.csv"))
    cli(cleaned, "ingest", str(dumps / "purchased_new.csv"))
    later, _ = cleaned_as_full(cleaned, tmp_path, as_of="2027-01-20")
    assert later["rules"]["mode"] == "incremental"
    assert clean_summary(cleaned, as_of="2027-01-19")["rules"]["mode"] == "full"

    # Rules of rest changed: every client's due date is worked out again.
    rest = tmp_path / "rest.toml"
    rest.write_text("[cycle]\nrest_days = 10\n", encoding="utf-8")
    due = {c["client_id"]: c["next_due"] for c in table(cleaned, "clients")}
    rested = json.loads(cli(cleaned, "--rules", str(rest), "clean", "--as-of", "2027-01-20", "--json").stdout)
    assert (rested["rules"]["mode"], rested["rules"]["clients"]) == ("full", len(due))
    assert sum(c["next_due"] != due[c["client_id"]] for c in table(cleaned, "clients")) > len(due) / 4


def test_a_claim_read_again_another_day_moves_its_term_as_a_full_clean_would(tmp_path):
    dump, db = tmp_path / "crm.csv", tmp_path / "cb.db"

    def send(address: str, day: str) -> None:  # no name or INN: nothing finds the company's earlier claim date
        dump.write_text(f"Телефон;Адрес;Ответственный\n+79161112233;{address};Петрова Анна\n"
                        "+79035556677;ул. Мира 2;Сидоров Олег\n", encoding="utf-8")
        cli(db, "ingest", str(dump), "--as-of", day)

    send("ул. Ленина 1", "2026-11-01")
    clean_summary(db, as_of="2026-11-01")
    send("ул. Ленина 5", "2026-11-10")  # only the address changed: nothing is clustered or judged again
    summary, _ = cleaned_as_full(db, tmp_path, as_of="2026-11-10")
    assert (summary["dedupe"]["mode"], summary["phones"]["clients"]) == ("unchanged", 0)
    assert (summary["rules"]["mode"], summary["rules"]["clients"]) == ("incremental", 1)
    owner = next(c for c in table(db, "clients") if c["owner"] == "Петрова Анна")
    assert owner["owner_until"] == "2027-02-08"  # 90 days from the day the row was read again


def test_a_manager_written_another_way_by_most_dumps_is_renamed_in_every_standing(cleaned, tmp_path):
    clean_summary(cleaned)
    owners = Counter(c["owner"] for c in table(cleaned, "clients") if c["owner"])
    manager, held = owners.most_common(1)[0]
    shouted = manager.upper()
    more = tmp_path / "more.csv"  # more companies claimed in capitals than records name the manager so far
    more.write_text("Наименование;Телефон;Ответственный\n" + "".join(
        f"ООО Новый клиент {n};+7 912 {n:03d}-00-00;{shouted}\n" for n in range(5 * held)), encoding="utf-8")
    cli(cleaned, "ingest", str(more))
    summary, _ = cleaned_as_full(cleaned, tmp_path)
    assert summary["rules"]["mode"] == "full"
    owners = Counter(c["owner"] for c in table(cleaned, "clients") if c["owner"])
    assert owners[shouted] >= 6 * held and manager not in owners


def test_a_profit_changed_since_the_last_clean_ranks_the_channel_again_as_a_full_clean_would(tmp_path):
    dump, db = tmp_path / "crm.csv", tmp_path / "cb.db"

    def send(profits: dict[int, int]) -> tuple[str, dict[str, str]]:
        others = {n: ("Розница", 10) for n in range(10, 50)}  # enough that a clean clusters only what changed
        dump.write_text("Наименование;ИНН;Телефон;Канал;Прибыль;Дата последней покупки\n" + "".join(
            f"ООО Компания {n};{_inn(n)};+7 912 100-00-{n:02d};{channel};{profit};2026-11-01\n"
            for n, (channel, profit) in (others | {n: ("Опт", profit) for n, profit in profits.items()}).items()),
            encoding="utf-8")
        cli(db, "ingest", str(dump), "--allow-shrink")
        summary, _ = cleaned_as_full(db, tmp_path)
        return summary["rules"]["mode"], {c["name"]: c["abcde"] for c in table(db, "clients") if c["channel"] == "Опт"}

    assert send({5: 60, 1: 100, 3: 80, 4: 70, 2: 90}) == ("full", {
        "ООО Компания 1": "A", "ООО Компания 2": "A", "ООО Компания 3": "A", "ООО Компания 4": "B",
        "ООО Компания 5": "D"})
    # The fifth now earns most, in its row, and the second, the last row, is gone: the first and third, their rows
    # as they were, fall to D.
    assert send({5: 1000, 1: 100, 3: 80, 4: 70}) == ("incremental", {
        "ООО Компания 1": "D", "ООО Компания 3": "D", "ООО Компания 4": "D", "ООО Компания 5": "A"})
    summary = clean_summary(db)
    assert (summary["dedupe"]["mode"], summary["rules"]["mode"]) == ("unchanged", "incremental")
    assert next(c for c in table(db, "clients") if c["name"] == "ООО Компания 5")["dependency"] == "critical"


def test_a_base_cleaned_before_rankings_were_kept_ranks_every_client_once(cleaned, dumps, tmp_path):
    with sqlite3.connect(cleaned) as conn:  # as schema 20 left it
        conn.executescript("DROP TABLE rank_rows; DROP TABLE reranked_clients; DROP INDEX records_owner; "
                           "PRAGMA user_version = 20;")
    conn.close()
    cli(cleaned, "ingest", str(dumps / "purchased_new.csv"))
    upgraded, _ = cleaned_as_full(cleaned, tmp_path)
    # Migration 23 drops the kept places too, so the whole base is clustered once.
    assert (upgraded["dedupe"]["mode"], upgraded["rules"]["mode"]) == ("full", "full")
    assert clean_summary(cleaned)["rules"]["mode"] == "incremental"


def test_a_base_whose_kept_places_lack_the_components_is_clustered_whole_once(cleaned, dumps, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    split_csv(dumps / "purchased_new.csv", first, second, 0.5, "utf-8")
    cli(cleaned, "ingest", str(first), "--source", "purchased_new")
    assert clean(cleaned)["mode"] == "incremental"  # which keeps the places
    with sqlite3.connect(cleaned) as conn:  # as schema 22 left them
        conn.executescript("DELETE FROM place_rows WHERE part = 'components'; PRAGMA user_version = 22;")
    conn.close()
    cli(cleaned, "ingest", str(second), "--source", "purchased_new_2")
    assert clean(cleaned)["mode"] == "full"
    with sqlite3.connect(cleaned) as conn:
        assert conn.execute("SELECT count(*) FROM place_rows WHERE part = 'components'").fetchone()[0] == 1
    conn.close()
    cli(cleaned, "ingest", str(dumps / "purchased_new.csv"), "--source", "purchased_new_3")
    incremental, _ = same_as_full(cleaned, tmp_path)
    assert incremental["mode"] == "incremental"


def test_a_dialer_log_sent_again_with_more_calls_keeps_the_calls_it_had(cleaned, dumps, tmp_path):
    cli(cleaned, "calls", str(dumps / "calls_old.csv"))
    clean(cleaned)
    with sqlite3.connect(cleaned) as conn:
        before = conn.execute("SELECT id, ref, e164, at, outcome FROM calls ORDER BY id").fetchall()
    grown = tmp_path / "grown" / "calls_old.csv"
    grown.parent.mkdir()
    with open(grown, "wb") as handle:  # the day's calls appended to the log, the rows before as they were
        handle.write((dumps / "calls_old.csv").read_bytes())
        handle.write((dumps / "calls_new.csv").read_bytes().split(b"\n", 1)[1])
    [source] = json.loads(cli(cleaned, "calls", str(grown), "--json").stdout)["sources"]
    assert (source["outcome"], source["kept"]) == ("replaced", len(before))
    with sqlite3.connect(cleaned) as conn:
        after = conn.execute("SELECT id, ref, e164, at, outcome FROM calls ORDER BY id").fetchall()
    assert after[:len(before)] == before and len(after) == source["rows"] > len(before)
    same_as_full(cleaned, tmp_path)


def test_a_split_client_is_judged_at_the_next_clean(cleaned, dumps, tmp_path):
    cli(cleaned, "calls", str(dumps / "dialer_log.csv"))
    clean_summary(cleaned)
    merged = next(refs for refs in standing(cleaned) if len(refs) > 2)
    client = next(c["client_id"] for c in table(cleaned, "clients") if set(c["record_refs"].split(";")) == merged)
    cli(cleaned, "unmerge", client)
    incremental, _ = same_as_full(cleaned, tmp_path)
    assert incremental["mode"] == "unchanged"  # unmerge clustered it already: the judgement follows
    assert all(frozenset([ref]) in standing(cleaned) for ref in merged)


def test_a_new_numbering_plan_judges_every_number_again(cleaned, dumps, tmp_path):
    plan = tmp_path / "plan.csv"
    plan.write_text("АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН\n"
                    "495;0000000;9999999;10000000;ПАО Ромашка;г. Москва;г. Москва;7700000000\n", encoding="utf-8")
    cli(cleaned, "numplan", "import", str(plan))
    assert clean_summary(cleaned)["phones"]["mode"] == "full"
    assert clean_summary(cleaned)["phones"]["mode"] == "incremental"


def hubs(db: Path) -> set[tuple]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT e164, clients FROM hubs"))


def test_a_hub_that_loses_a_holder_is_counted_again(dumps, tmp_path):
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(dumps / "crm_export.csv"), str(dumps / "1c_export.csv"), str(dumps / "purchased_old.csv"))
    clean(db)
    with sqlite3.connect(db) as conn:
        found = conn.execute("SELECT h.e164, w.raw FROM hubs h JOIN phones p ON p.e164 = h.e164 "
                             "JOIN records r ON r.id = p.record_id JOIN record_raw w ON w.record_id = r.id "
                             "WHERE r.ref LIKE 'crm_export.csv:%' ORDER BY r.id LIMIT 1").fetchone()
    assert found, "the generated base has a hub number in the CRM"
    e164, raw = found
    text = (dumps / "crm_export.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    def has_number(cell: str) -> bool:
        return e164[-10:] in "".join(ch for ch in cell if ch.isdigit())

    holder = next(n for n, row in enumerate(rows) if row[0] == json.loads(raw)["Компания"] and any(map(has_number, row)))
    line = rows[holder]
    rows[holder] = ["" if has_number(cell) else cell for cell in line]  # that record no longer has the number
    assert rows[holder] != line
    changed = tmp_path / "changed" / "crm_export.csv"
    changed.parent.mkdir()
    with open(changed, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    cli(db, "ingest", str(changed))
    before = hubs(db)
    incremental, _ = same_as_full(db, tmp_path)
    assert incremental["mode"] == "incremental"
    assert hubs(db) == hubs(tmp_path / "full" / db.name) != before


def test_a_hub_shared_by_one_more_company_is_judged_again_at_every_holder(tmp_path):
    db, header, hub = tmp_path / "cb.db", "Наименование;Телефон;Город", "+74951110099"
    holders = [f"{name};{hub};Москва" for name in ("ООО Альфа", "ООО Бета", "ООО Вега")]
    others = [f"{name};+7495111{n:04d};Москва" for n, name in enumerate([
        "ООО Ромашка", "АО Лютик", "ЗАО Пион", "ООО Тюльпан", "ПАО Василёк", "ООО Нарцисс"])]
    _sent(db, "base.csv", [header, *holders, *others], AS_OF)
    assert hubs(db) == {(hub, 3)}
    (tmp_path / "new.csv").write_text(f"{header}\nООО Гамма;{hub};Москва\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    incremental, _ = cleaned_as_full(db, tmp_path)
    # The holders are clustered again with Гамма, and stay as they were: only their number's hub grew.
    assert (incremental["dedupe"]["mode"], incremental["dedupe"]["unchanged"]) == ("incremental", 3)
    assert {ref: reason for (ref, e164), (_, reason, _) in judgements(db).items() if e164 == hub} == {
        ref: "shared by 4 unrelated clients" for ref in ("base.csv:1", "base.csv:2", "base.csv:3", "new.csv:1")}


def test_nothing_changed_nothing_clustered(cleaned, dumps):
    cli(cleaned, "ingest", str(dumps / "crm_export.xlsx"), str(dumps / "1c_export.csv"))
    again = clean(cleaned)
    assert again["mode"] == "unchanged" and again["rechecked"] == 0 and again["moved_records"] == 0


def test_new_dedupe_rules_cluster_everything_again(cleaned):
    rules = cleaned.parent / "clientbase.toml"
    cli(cleaned, "--rules", str(rules), "init")
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("review_score = 85.0", "review_score = 86.0"), encoding="utf-8")
    assert "review_score = 86.0" in rules.read_text(encoding="utf-8")
    result = json.loads(cli(cleaned, "--rules", str(rules), "clean", "--as-of", AS_OF, "--json").stdout)["dedupe"]
    assert result["mode"] == "full"


def test_new_phone_rules_judge_everything_again(cleaned):
    rules = cleaned.parent / "clientbase.toml"
    cli(cleaned, "--rules", str(rules), "init")
    assert json.loads(cli(cleaned, "--rules", str(rules), "clean", "--as-of", AS_OF, "--json").stdout)[
        "phones"]["mode"] == "incremental"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("no_answer_streak = 5", "no_answer_streak = 6"), encoding="utf-8")
    assert "no_answer_streak = 6" in rules.read_text(encoding="utf-8")
    result = json.loads(cli(cleaned, "--rules", str(rules), "clean", "--as-of", AS_OF, "--json").stdout)["phones"]
    assert result["mode"] == "full"


def _company_names(rows):
    """Company names from (record id, city, name) rows, each city as the clustering places it."""
    return CompanyNames(PlaceRows.read((record_id, city, not city, None, None, name) for record_id, city, name in rows), {})


def test_names_out_of_each_others_window_in_the_whole_base_are_judged_not_compared():
    names = _company_names([(1, "москва", "тепаэкспорт"), *((n + 2, "москва", name) for n, name in enumerate(_BETWEEN)),
                            (20, "москва", "тепяэксперт"), (21, "москва", "тепбурмаш"), (30, None, "абвгд"),
                            (31, None, "абгде"), (40, "казань", "тепаэкспорт"), (50, None, "тепяэксперта")])
    compared = names.compared(numpy.array([1, 1, 30, 1, 99, 50, 50]), numpy.array([20, 21, 31, 40, 1, 1, 20]))
    # Eleven names apart; neighbours; no city, neighbours in every city's order; two cities; 99 is no record;
    # no city, more than ten names of every city between in both orders; neighbours in every city's order.
    assert compared.tolist() == [False, True, True, True, True, False, True]


def test_a_name_without_a_city_reaches_the_same_name_in_every_city():
    names = _company_names([(1, "москва", "ромашка"), (2, None, "ромашка"), (3, "казань", "ромашка"),
                            (4, "москва", "лютик")])
    assert names.same_name([2]) == {1, 2, 3}  # its tax office may put it in either city
    assert names.same_name([1]) == {1, 2}
    assert names.similar_names([4], 85.0) == set()
    assert names.similar_names([1], 85.0) == set()  # the same name is not "similar": same_name finds it
    typo = _company_names([(3, "казань", "ромашко"), (1, "москва", "ромашка"), (2, "москва", "ромашко")])
    assert typo.similar_names([1], 85.0) == {2}
    assert typo.similar_names([3], 85.0) == set()  # another city's
    assert typo.same_name([9]) == typo.similar_names([9], 85.0) == set()  # a record not among the names
    assert _company_names([]).same_name([1]) == _company_names([]).similar_names([1], 85.0) == set()


def test_a_similar_name_scoring_exactly_the_review_score_is_found():
    # One edit in ten letters scores 90.0: an OSA distance of 0.2 of five letters, which the cutoff for 90,
    # 2·(1 - 0.9), misses by a rounding when compared as floats.
    assert name_similarity("лютик", "лютек") == 90.0
    names = _company_names([(1, "москва", "лютик"), (2, "москва", "лютек"), (3, "москва", "ромашка")])
    assert names.similar_names([1], 90.0) == {2}
    assert names.similar_names([1], 90.1) == set()
    # At 50 the cutoff is 1.0, which every pair passes: "ромашка" is six edits of twelve letters away, 50.0.
    assert names.similar_names([1], 50.0) == {2, 3}
    assert names.similar_names([1], 50.1) == {2}


def test_a_similar_name_without_a_city_is_found_past_other_cities_names():
    # Its client's INN may place "ромашко" in Moscow, beside "ромашка", though in the order of all cities'
    # names fifteen from Tver sort between them.
    tver = [(10 + k, "тверь", f"ромашкв{letter}в") for k, letter in enumerate("абвгдежзиклмнпр")]
    names = _company_names([(1, "москва", "ромашка"), (2, None, "ромашко"), *tver])
    assert 2 in names.similar_names([1], 85.0)
    assert 1 in names.similar_names([2], 85.0)


def _similar_by_tuples(items: list[tuple[int, str, str]], seeds: list[int], review_score: float) -> set[int]:
    """similar_names as it was first written: each city's names sorted as (key, city, name) tuples."""
    item_of = {record_id: (city, name) for record_id, city, name in items}
    cities = {city for _, city, _ in items}
    found = set()
    for seed_city, name in {item_of[r] for r in seeds}:
        for city in (cities if not seed_city else {seed_city, ""}):
            names = sorted({n for _, c, n in items if c == city})
            for sort_key in NAME_ORDERS:
                ordered = sorted((sort_key(n), city, n) for n in names)
                position = bisect.bisect_left(ordered, (sort_key(name), seed_city, name))
                window = [n for _, _, n in ordered[max(0, position - NAME_WINDOW):position + NAME_WINDOW + 1]
                          if n != name]
                near = process.extract(name, window, scorer=OSA.normalized_distance,
                                       score_cutoff=edit_cutoff(review_score), limit=None)
                found |= {(city, window[k]) for other, _, k in near if name_similarity(name, other) >= review_score
                          and similarity_as_written(name, other) >= review_score}
    return {record_id for record_id, city, name in items if (city, name) in found}


_WORDS = st.text(alphabet="аб", min_size=4, max_size=6)


# Found by a search: "аббб" in Moscow ties with "аббб" without a city, and the windows differ past it.
_TIED_SEED = [
    ('москва', 'ааааб'), ('москва', 'аааа'), ('', 'аббба'), ('', 'абаа'), ('москва', 'баба'), ('', 'аббб'),
    ('', 'баааб'), ('', 'баааа'), ('', 'ббаа'), ('москва', 'ббабб'), ('', 'ббббаб'), ('москва', 'баааба'),
    ('', 'аббабб'), ('', 'ббааба'), ('москва', 'баааб'), ('', 'ббааб'), ('', 'бааб'), ('москва', 'аааа'),
    ('', 'аааб'), ('москва', 'аааа'), ('', 'аббаб'), ('москва', 'ааааа'), ('москва', 'ббабаб'), ('', 'бббба'),
    ('', 'бббааа'), ('', 'бабббб'), ('', 'аааа'), ('', 'бааа'), ('москва', 'аббаа'), ('москва', 'абабб'),
    ('', 'ббааб'), ('москва', 'аббб'), ('', 'аббб'), ('', 'ааба'), ('', 'бабаб'), ('', 'абабаа'),
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "", "казань", "москва"]),
                          st.lists(_WORDS, min_size=1, max_size=2).map(" ".join)), min_size=1, max_size=45),
       st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=5), st.sampled_from([60.0, 85.0]))
@example(_TIED_SEED, [31], 60.0)
def test_similar_names_are_those_of_each_citys_sorted_neighbourhood(entries, seed_numbers, review_score):
    # Names a letter or two apart, many of them the same in several cities: a seed ties with another
    # city's name, and its neighbourhood must start where the (key, city, name) order puts it.
    items = [(record_id, city, name) for record_id, (city, name) in enumerate(entries)]
    seeds = [number % len(items) for number in seed_numbers]
    names = _company_names([(r, city or None, name) for r, city, name in items])
    assert names.similar_names(seeds, review_score) == _similar_by_tuples(items, seeds, review_score)


def _rows_read(places: PlaceRows) -> list[tuple]:
    """Each record's row as the places hold it."""
    inns = {number: inn for inn in ("7707083893", "500100732259") for number in (2 * int(inn) + (len(inn) == 12) + 1,)}
    return [(record_id, places.city_list[city] or None, blank, places.office_list[kpp] or None, inns.get(inn),
             places.name_list[name] if name >= 0 else None)
            for record_id, city, blank, kpp, inn, name in zip(*(column.tolist() for column in (
                places.ids, places.cities, places.blank, places.kpp_offices, places.inns, places.names)))]


_PLACE = st.tuples(st.sampled_from([None, "казань", "москва", "тверь"]), st.sampled_from([None, "770101001", "165501001"]),
                   st.sampled_from([None, "7707083893", "500100732259"]),
                   st.sampled_from([None, "ромашка", "лютик", "мак", "тд мак", "мак тд"]))


def _place_rows(records: dict) -> list[tuple]:
    return [(record_id, city, int(not city), kpp, inn, name) for record_id, (city, kpp, inn, name) in sorted(records.items())]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 40), _PLACE, max_size=30),
       st.dictionaries(st.integers(0, 40), st.none() | _PLACE, max_size=15), st.sets(st.integers(0, 40), max_size=5))
def test_places_kept_by_the_last_clean_and_read_again_where_changed_are_the_places_read_whole(before, changes, untouched):
    # `changes`: what each changed record now reads (None: no longer usable); a record read again unchanged
    # (`untouched`) stays as it was.
    after = {record_id: row for record_id, row in {**before, **changes}.items() if row is not None}
    changed = set(changes) | untouched
    kept = PlaceRows.from_parts(PlaceRows.read(_place_rows(before)).to_parts())
    updated, replaced = kept.updated(changed, _place_rows({r: row for r, row in after.items() if r in changed}))
    whole = PlaceRows.read(_place_rows(after))
    expected = [(record_id, city, blank, kpp and kpp[:4], inn, name)
                for record_id, city, blank, kpp, inn, name in _place_rows(after)]
    assert _rows_read(updated) == _rows_read(whole) == expected
    # the rows replaced as they were, in the codes of the places now: -1 for a city no record carries now, or a name
    # no other record carries; 0 for an office no record carries now
    others = {name for record_id, (*_, name) in before.items() if record_id not in changed}

    def now(values, value):
        return values.index(value or "") if (value or "") in values else -1
    assert [(record_id, city, name, kpp) for record_id, city, name, kpp in zip(*(column.tolist() for column in (
        replaced.ids, replaced.cities, replaced.names, replaced.kpp_offices)))] == [
        (record_id, now(updated.city_list, city), now(updated.name_list, name) if name in others else -1,
         max(0, now(updated.office_list, kpp and kpp[:4])))
        for record_id, (city, kpp, _, name) in sorted(before.items()) if record_id in changed]
    # no city, office or name left that no record carries
    assert (len(updated.city_list), len(updated.office_list), len(updated.name_list)) == (
        len(whole.city_list), len(whole.office_list), len(whole.name_list))
    # the names in each order the similar names are looked for in, new ones put in their places
    for places in (updated, whole):
        assert [[places.name_list[code] for code in name_order.tolist()] for name_order in places.name_orders] == [
            sorted(set(name for *_, name in expected if name), key=sort_key) for sort_key in NAME_ORDERS]
    rows = _place_rows(after)
    kpp_cities = Counter((kpp, city) for _, city, _, kpp, _, _ in rows if kpp and city)
    assert updated.offices() == office_cities([(kpp, city, n) for (kpp, city), n in kpp_cities.items()],
                                              {(inn, city) for _, city, _, _, inn, _ in rows if inn and city})
    offices = {"7701": "москва", "1655": "казань", "5001": "тверь"}
    for record_id in after:
        assert CompanyNames(updated, offices).same_name([record_id]) == CompanyNames(whole, offices).same_name([record_id])


_REVIEWED_CRM = ("Наименование;ИНН;Город;Телефон", "ООО «Теплоагро»;7707083893;Ростов-на-Дону;+7 863 244-17-35",
                 "ООО «Теплоагра»;;Ростов-на-Дону;+7 863 298-53-61")
# Others, so that what changes stays a small part of the base and is clustered alone.
_UNRELATED_CRM = ("ООО «Гранит»;;Казань;+7 843 231-58-14", "АО «Меридиан»;;Пермь;+7 342 219-64-07",
                  "ООО «Полюс»;;Самара;+7 846 277-31-90", "ООО «Восход»;;Омск;+7 3812 35-18-62")
# A new record with Теплоагро's INN and another name: its client is clustered again, Теплоагра's is not.
_NIGHTLY_VECTOR = "ООО «Вектор-Юг»;7707083893;Ростов-на-Дону;+7 863 255-40-12"


def _reviewed_then_sent(tmp_path: Path, *more: str) -> Path:
    """A base where Теплоагро and Теплоагра are a pair to review (with `more` rows), cleaned, and the nightly's
    Вектор-Юг written to nightly.csv, not yet ingested."""
    db = tmp_path / "cb.db"
    crm, nightly = tmp_path / "crm.csv", tmp_path / "nightly.csv"
    crm.write_text("\n".join([*_REVIEWED_CRM, *more, *_UNRELATED_CRM]) + "\n", encoding="utf-8")
    cli(db, "ingest", str(crm))
    clean(db)
    nightly.write_text(f"{_REVIEWED_CRM[0]}\n{_NIGHTLY_VECTOR}\n", encoding="utf-8")
    return db


def test_a_client_joined_by_a_new_record_keeps_its_pairs_to_review(tmp_path):
    db = _reviewed_then_sent(tmp_path)
    [(first, second, _, _)] = review_pairs(db)
    assert (first, second) == ("crm.csv:1", "crm.csv:2")
    cli(db, "ingest", str(tmp_path / "nightly.csv"))
    incremental, _ = same_as_full(db, tmp_path)
    assert incremental["mode"] == "incremental" and incremental["rechecked"] == 2


def _review_clients(db: Path) -> dict[tuple[str, str], str]:
    """The client each pair to review is listed under in the duplicates export, by its two records."""
    return {(row["record_ref_a"], row["record_ref_b"]): row["client_id"]
            for row in table(db, "duplicates") if row["decision"] == "review"}


def test_a_kept_pair_to_review_follows_its_first_record_into_the_client_it_joins(tmp_path):
    # A company of two records, with the nightly's phone: it outvotes Теплоагро's one when the new record joins them.
    db = _reviewed_then_sent(tmp_path, *["ООО «Вектор-Юг»;;Ростов-на-Дону;+7 863 255-40-12"] * 2)
    before = client_ids(db)
    assert _review_clients(db) == {("crm.csv:1", "crm.csv:2"): before["crm.csv:1"]}
    # The new record joins both: Теплоагро's record takes Вектор-Юг's client. The pair to review is kept
    # (Теплоагра is not clustered again), under its first record's new client.
    cli(db, "ingest", str(tmp_path / "nightly.csv"))
    incremental, _ = same_as_full(db, tmp_path)
    assert incremental["mode"] == "incremental" and incremental["rechecked"] == 4
    after = client_ids(db)
    assert after["crm.csv:1"] == before["crm.csv:3"] != before["crm.csv:1"]
    assert _review_clients(db) == {("crm.csv:1", "crm.csv:2"): after["crm.csv:1"]}
    assert _review_clients(db) == _review_clients(tmp_path / "full" / db.name)
    shown = json.loads(cli(db, "explain", after["crm.csv:1"], "--json").stdout)
    assert [(m["ref_a"], m["ref_b"]) for m in shown["matches"] if m["decision"] == "review"] == [
        ("crm.csv:1", "crm.csv:2")]


def test_a_name_or_city_changed_since_the_last_clean_is_where_the_next_looks_for_it(tmp_path):
    # The places a clean keeps (every record's city, tax offices and name) are read again where a record
    # changed: a renamed company, and one whose city was blanked so that its KPP places it in Moscow, are
    # found under their new name and city by the next night's records.
    db = tmp_path / "cb.db"
    header = "Наименование;КПП;Город;Телефон\n"
    others = ("ООО «Гранит»;770101001;Москва;+7 495 231-58-14\nАО «Меридиан»;770101002;Москва;+7 495 219-64-07\n"
              "ООО «Полюс»;;Самара;+7 846 277-31-91\nООО «Восход»;;Омск;+7 3812 35-18-63\n"
              "ООО «Вектор»;;Пермь;+7 342 219-64-08\nООО «Лидер»;;Уфа;+7 347 219-64-09\n")
    crm = tmp_path / "crm.csv"
    crm.write_text(header + "ООО «Ромашка»;;Казань;+7 843 111-11-11\nООО «Мак»;770101003;Тверь;+7 482 222-22-22\n"
                   + others, encoding="utf-8")
    cli(db, "ingest", str(crm))
    clean(db)
    first = tmp_path / "first.csv"
    first.write_text(header + "ООО «Азимут»;;Тула;+7 487 333-33-33\n", encoding="utf-8")
    cli(db, "ingest", str(first))
    assert clean(db)["mode"] == "incremental"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM place_rows").fetchone()[0] > 0  # kept for the next clean
    crm.write_text(header + "ООО «Лютик»;;Казань;+7 843 111-11-11\nООО «Мак»;770101003;;+7 482 222-22-22\n"
                   + others, encoding="utf-8")
    cli(db, "ingest", str(crm))
    assert clean(db)["mode"] == "incremental"
    nightly = tmp_path / "nightly.csv"
    nightly.write_text(header + "ООО «Лютик»;;Казань;+7 843 999-99-99\nООО «Мак»;;Москва;+7 495 888-88-88\n",
                       encoding="utf-8")
    cli(db, "ingest", str(nightly))
    incremental, _ = same_as_full(db, tmp_path)
    assert incremental["mode"] == "incremental" and incremental["rechecked"] == 4
    assert {frozenset({"crm.csv:1", "nightly.csv:1"}), frozenset({"crm.csv:2", "nightly.csv:2"})} <= partition(db)
    clean(db, "--full")
    with sqlite3.connect(db) as conn:  # a full clean reads them whole after the clustering, and keeps them
        places = PlaceRows.from_parts(dict(conn.execute("SELECT part, data FROM place_rows")))
        usable = {ref: record_id for record_id, ref in conn.execute("SELECT id, ref FROM records WHERE status = 'ok'")}
    conn.close()
    assert sorted(places.ids.tolist()) == sorted(usable.values())
    component = dict(zip(places.ids.tolist(), places.components.tolist()))
    assert component[usable["crm.csv:1"]] == component[usable["nightly.csv:1"]] != component[usable["crm.csv:2"]]


def test_a_row_gone_from_its_dump_no_longer_places_a_tax_office(tmp_path):
    # Two Moscow records place tax office 7701 in Moscow; one of them goes from the dump. A nightly company
    # with a 7701 KPP and no city is then placed nowhere, as a full clean would, not beside Moscow's namesake.
    db = tmp_path / "cb.db"
    header = "Наименование;КПП;Город;Телефон\n"
    body = ("ООО «Гранит»;770101001;Москва;+7 495 231-58-14\nООО «Ромашка»;;Москва;+7 495 277-31-90\n"
            "ООО «Полюс»;;Самара;+7 846 277-31-91\nООО «Восход»;;Омск;+7 3812 35-18-63\n"
            "ООО «Вектор»;;Пермь;+7 342 219-64-08\nООО «Лидер»;;Уфа;+7 347 219-64-09\n")
    crm = tmp_path / "crm.csv"
    crm.write_text(header + body + "АО «Меридиан»;770101002;Москва;+7 495 219-64-07\n", encoding="utf-8")
    cli(db, "ingest", str(crm))
    clean(db)
    first = tmp_path / "first.csv"
    first.write_text(header + "ООО «Азимут»;;Тула;+7 487 333-33-33\n", encoding="utf-8")
    cli(db, "ingest", str(first))
    assert clean(db)["mode"] == "incremental"  # the places are kept from here on
    crm.write_text(header + body, encoding="utf-8")
    cli(db, "ingest", str(crm), "--allow-shrink")
    assert clean(db)["mode"] == "incremental"
    nightly = tmp_path / "nightly.csv"
    nightly.write_text(header + "ООО «Ромашка»;770109001;;+7 495 255-40-12\n", encoding="utf-8")
    cli(db, "ingest", str(nightly))
    same_as_full(db, tmp_path)
    assert frozenset({"crm.csv:2", "nightly.csv:1"}) not in partition(db)


def test_a_record_made_unusable_leaves_its_person(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;ИНН;Телефон;Контактное лицо\n"
    rows = ["ООО «Ромашка»;7707083893;+7 495 231-58-14;Иванов Иван", "ООО «Ромашка»;7707083893;+7 495 231-58-15;Петров Петр",
            "ООО «Полюс»;;+7 846 277-31-91;Сидоров Олег", "ООО «Восход»;;+7 3812 35-18-63;",
            "ООО «Вектор»;;+7 342 219-64-08;", "ООО «Лидер»;;+7 347 219-64-09;"]
    crm = tmp_path / "crm.csv"
    crm.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    cli(db, "ingest", str(crm))
    clean(db)
    assert people(db)["crm.csv:2"]
    rows[1] = ";;;Петров Петр"  # nothing left to tell its client by: rejected
    crm.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    cli(db, "ingest", str(crm))
    same_as_full(db, tmp_path)
    assert not people(db)["crm.csv:2"]


def test_a_clean_rebuilding_clients_only_keeps_the_places(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;Город;Телефон;Прибыль\n"
    rows = ["ООО «Ромашка»;Москва;+7 495 231-58-14;100", "ООО «Полюс»;Самара;+7 846 277-31-91;5",
            "ООО «Восход»;Омск;+7 3812 35-18-63;5"]
    crm = tmp_path / "crm.csv"
    crm.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    cli(db, "ingest", str(crm))
    clean(db)
    new = tmp_path / "new.csv"
    new.write_text(header + "ООО «Азимут»;Тула;+7 487 333-33-33;1\n", encoding="utf-8")
    cli(db, "ingest", str(new))
    clean(db)
    rows[0] = rows[0].replace(";100", ";200")  # nothing matching reads: the client is built again as it stands
    crm.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    cli(db, "ingest", str(crm))
    assert clean(db)["restated"] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM place_rows").fetchone()[0] > 0


def test_a_name_without_a_city_placed_by_its_kpp_is_looked_for_in_that_city_only(tmp_path):
    db = tmp_path / "cb.db"
    header = "Наименование;КПП;Город;Телефон\n"
    crm = tmp_path / "crm.csv"
    crm.write_text(header + "ООО «Гранит»;770101001;Москва;+7 495 231-58-14\n"
                   "АО «Меридиан»;770101002;Москва;+7 495 219-64-07\n"  # tax office 7701 is in Moscow
                   "ООО «Ромашка»;770101003;;+7 495 277-31-90\n"  # no city: its KPP places it in Moscow
                   "ООО «Ромашка»;;Казань;+7 843 235-18-62\n"
                   "ООО «Полюс»;;Самара;+7 846 277-31-91\nООО «Восход»;;Омск;+7 3812 35-18-63\n"
                   "ООО «Вектор»;;Пермь;+7 342 219-64-08\nООО «Лидер»;;Уфа;+7 347 219-64-09\n",
                   encoding="utf-8")
    cli(db, "ingest", str(crm))
    clean(db)
    nightly = tmp_path / "nightly.csv"
    nightly.write_text(header + "ООО «Ромашка»;;Москва;+7 495 255-40-12\n", encoding="utf-8")
    cli(db, "ingest", str(nightly))
    incremental, _ = same_as_full(db, tmp_path)
    # The new record and the one its KPP puts beside it in Moscow; not the namesake in Kazan.
    assert incremental["mode"] == "incremental" and incremental["rechecked"] == 2
    assert {"crm.csv:3", "nightly.csv:1"} in partition(db)


def test_a_new_record_reaches_past_the_record_it_shares_a_key_with(tmp_path):
    # Пион (INN 7701234560) shares +74951110002 with Лютик only; Лютик, without an INN, is joined by +74951110001 to
    # Ромашка (INN 5001007329), so Пион stays apart. Пион's keys find Лютик; Ромашка only Лютик's kept component
    # reaches: without it, Лютик alone would take Пион in.
    db, header = tmp_path / "cb.db", "Наименование;ИНН;Телефон;Телефон 2;Город"
    lines = ["ООО Ромашка;5001007329;+74951110001;;Москва", "АО Лютик;;+74951110001;+74951110002;Москва",
             *(f"ООО Компания {word};;+7495222{n:04d};;Казань" for n, word in enumerate(["Север", "Юг", "Запад"]))]
    _sent(db, "base.csv", [header, *lines], AS_OF)
    assert {frozenset({"base.csv:1", "base.csv:2"})} <= partition(db)
    (tmp_path / "new.csv").write_text(f"{header}\nЗАО Пион;7701234560;+74951110002;;Москва\n", encoding="utf-8")
    cli(db, "ingest", str(tmp_path / "new.csv"))
    incremental, _ = cleaned_as_full(db, tmp_path)
    assert incremental["dedupe"]["mode"] == "incremental" and incremental["dedupe"]["rechecked"] == 3
    assert {frozenset({"base.csv:1", "base.csv:2"}), frozenset({"new.csv:1"})} <= partition(db)


def test_a_domain_that_stops_being_a_hub_joins_its_other_holders(tmp_path):
    # d-holding.ru is on three clearly different companies: a hub, nobody joined by it. Гамма drops it; the other two
    # are then joined by it in a full clean. Neither is changed, nor shares a key with Гамма now.
    db, header = tmp_path / "cb.db", "Наименование;Телефон;Email;Город"
    lines = ["ООО Альфа;+74951110001;a@d-holding.ru;Москва", "ООО Бета;+74951110002;b@d-holding.ru;Москва",
             "ООО Гамма;+74951110003;c@d-holding.ru;Москва",
             *(f"ООО Компания {word};+7495222{n:04d};;Казань" for n, word in enumerate(["Север", "Юг", "Запад"]))]
    _sent(db, "base.csv", [header, *lines], AS_OF)
    lines[2] = "ООО Гамма;+74951110003;;Москва"
    dump = db.parent / "base.csv"
    dump.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    cli(db, "ingest", str(dump))
    incremental, _ = cleaned_as_full(db, tmp_path)  # found from Гамма's component at the last clean
    assert incremental["dedupe"]["mode"] == "incremental"
    assert frozenset({"base.csv:1", "base.csv:2"}) in partition(db)
