"""clean clusters again only what changed: the result is the one a full clustering gives, through the CLI."""

import csv
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from clientbase.changes import CompanyNames
from test_pipeline import AS_OF, cli, table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
from generate import generate  # noqa: E402


def clean(db: Path, *args: str) -> dict:
    return json.loads(cli(db, "clean", "--as-of", AS_OF, "--json", *args).stdout)["dedupe"]


def partition(db: Path) -> set[frozenset[str]]:
    """The clients as sets of record references: what a clustering decided, whatever the ids."""
    clients: dict[str, set[str]] = {}
    for row in table(db, "records"):
        if row["client_id"]:
            clients.setdefault(row["client_id"], set()).add(row["record_ref"])
    return {frozenset(refs) for refs in clients.values()}


def client_ids(db: Path) -> dict[str, str]:
    return {row["record_ref"]: row["client_id"] for row in table(db, "records") if row["client_id"]}


def split_csv(source: Path, first: Path, second: Path, share: float, encoding: str) -> None:
    with open(source, encoding=encoding, newline="") as handle:
        header, *rows = list(csv.reader(handle))
    cut = int(len(rows) * share)
    for target, part in ((first, rows[:cut]), (second, rows[cut:])):
        with open(target, "w", encoding=encoding, newline="") as handle:
            csv.writer(handle).writerows([header, *part])


def same_as_full(db: Path, tmp_path: Path) -> tuple[dict, dict]:
    """Clean a copy incrementally and another copy from scratch; both must give the same clients."""
    full_db = tmp_path / "full" / db.name
    full_db.parent.mkdir(exist_ok=True)
    with sqlite3.connect(db) as source, sqlite3.connect(full_db) as target:
        source.backup(target)
    incremental, full = clean(db), clean(full_db, "--full")
    assert full["mode"] == "full"
    assert partition(db) == partition(full_db)
    return incremental, full


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    data = tmp_path_factory.mktemp("dumps")
    generate(data, clients=300, seed=11)
    split_csv(data / "purchased_base.csv", data / "purchased_old.csv", data / "purchased_new.csv", 0.8, "utf-8")
    return data


@pytest.fixture
def cleaned(tmp_path, dumps):
    """The CRM, 1C and most of the purchased list, cleaned once."""
    db = tmp_path / "cb.db"
    cli(db, "ingest", str(dumps / "crm_export.xlsx"), str(dumps / "1c_export.csv"), str(dumps / "purchased_old.csv"))
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


def test_a_name_without_a_city_reaches_the_same_name_in_every_city():
    names = CompanyNames([(1, "москва", "ромашка"), (2, None, "ромашка"), (3, "казань", "ромашка"),
                          (4, "москва", "лютик")])
    assert names.same_name([2]) == {1, 2, 3}  # its tax office may put it in either city
    assert names.same_name([1]) == {1, 2}
    assert names.similar_names([4], 85.0) == set()
    assert names.similar_names([1], 85.0) == set()  # the same name is not "similar": same_name finds it
    typo = CompanyNames([(1, "москва", "ромашка"), (2, "москва", "ромашко"), (3, "казань", "ромашко")])
    assert typo.similar_names([1], 85.0) == {2}
