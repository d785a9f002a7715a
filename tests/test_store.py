import shutil
import sqlite3
from pathlib import Path

import pytest

from clientbase.store import MIGRATIONS, Store, StoreError, _statements, replace_damaged

def _schema_11_base(db):
    """A base as clientbase made it at schema 11, before the raw rows moved to a table of their own."""
    with sqlite3.connect(db) as conn:
        for script in MIGRATIONS[:11]:
            for statement in _statements(script):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 11")
        conn.execute("INSERT INTO sources(id, name, kind, path, fingerprint, ingested_at, rows) "
                     "VALUES (1, 'crm.csv', 'records', 'crm.csv', 'f', '2026-11-01T00:00:00', 2)")
        conn.executemany("INSERT INTO records(id, source_id, row, ref, raw, status, name, client_id) "
                         "VALUES (?, 1, ?, ?, ?, 'ok', ?, ?)",
                         [(1, 2, "crm.csv:2", '{"Компания": "ООО Ромашка"}', "Ромашка", 1),
                          (2, 3, "crm.csv:3", '{"Компания": "Лютик"}', "Лютик", None)])
    conn.close()


def test_a_base_made_before_the_raw_rows_moved_keeps_every_record_as_read(tmp_path):
    db = tmp_path / "old.db"
    _schema_11_base(db)
    Store.open(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert "raw" not in {row[1] for row in conn.execute("PRAGMA table_info(records)")}
        assert conn.execute("SELECT r.ref, w.raw FROM records r JOIN record_raw w ON w.record_id = r.id "
                            "ORDER BY r.id").fetchall() == [("crm.csv:2", '{"Компания": "ООО Ромашка"}'),
                                                           ("crm.csv:3", '{"Компания": "Лютик"}')]


def test_the_command_that_upgrades_an_old_base_says_so_first_and_only_once(tmp_path, run):
    db = tmp_path / "cb.db"
    _schema_11_base(db)
    assert "Upgrading" not in run("rules").stderr + run("today", "--help").stderr  # neither opens the base
    assert "Upgrading" not in run("-q", "report").stderr
    _schema_11_base(tmp_path / "other.db")
    first = " ".join(run("--db", str(tmp_path / "other.db"), "report").stderr.split())  # as rich wraps it
    assert f"Upgrading {tmp_path / 'other.db'} from schema 11 to {len(MIGRATIONS)} first" in first
    assert "Upgrading" not in run("--db", str(tmp_path / "other.db"), "report").stderr


def test_a_base_that_opens_is_never_moved_aside_as_damaged(tmp_path):
    # restore moves a base aside only when SQLite finds no database in it: not one busy a moment ago.
    db = tmp_path / "cb.db"
    Store.open(db).close()
    snapshot = tmp_path / "snapshot.db"
    shutil.copyfile(db, snapshot)
    with pytest.raises(StoreError, match="not damaged after all"):
        replace_damaged(db, snapshot)
    assert not list(tmp_path.glob("cb.db.damaged-*")) and db.read_bytes() == snapshot.read_bytes()


def test_an_upgraded_base_dates_its_claims_from_the_day_their_dump_was_read(tmp_path):
    db = tmp_path / "old.db"
    _schema_11_base(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE records SET owner = 'Иванов Иван' WHERE id = 1")
    conn.close()
    store = Store.open(db)
    assert list(store.owner_claims()) == [(1, "Иванов Иван", "2026-11-01", "crm.csv:2")]
    store.close()


def _indexes(db):
    with sqlite3.connect(db) as conn:
        found = sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    conn.close()
    return found


def test_a_clean_that_rewrites_most_clients_and_records_leaves_every_index_in_place(tmp_path, run):
    # A first clean writes every client's standing and every record's client with their indexes set aside.
    samples = Path(__file__).parent.parent / "sample_data"
    run("ingest", *(str(samples / name) for name in ("crm_export.xlsx", "1c_export.csv", "purchased_base.csv")))
    db = tmp_path / "cb.db"
    made = _indexes(db)
    assert {"clients_owner", "clients_pool", "clients_owner_class", "records_client"} <= {name for name, _ in made}
    run("clean", "--dry-run")
    assert _indexes(db) == made
    run("clean")
    assert _indexes(db) == made
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM records WHERE client_id IS NULL AND status = 'ok'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM clients WHERE state IS NULL").fetchone() == (0,)
        plan = " ".join(row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM clients WHERE owner = 'x' ORDER BY abcde, next_due"))
        assert "clients_owner_class" in plan
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_an_installed_sqlite_utils_plugin_does_not_touch_the_bases_connection(tmp_path):
    from sqlite_utils import hookimpl
    from sqlite_utils.plugins import pm

    class Planted:
        @hookimpl
        def prepare_connection(self, conn):
            conn.create_function("planted", 0, lambda: 1)

    plugin = pm.register(Planted())
    try:
        store = Store.open(tmp_path / "base.db")
        with pytest.raises(sqlite3.OperationalError, match="no such function: planted"):
            store.db.conn.execute("SELECT planted()")
        store.close()
    finally:
        pm.unregister(name=plugin)


CONFLICTS = [(1, "ПЕТРОВ ПЁТР;Иванов Иван", "Иванов Иван", "earliest assignment wins"),
             (2, "Иванов Иван;Сидорова Анна", "Иванов Иван", "earliest assignment wins"),
             (3, "Петров  Петр;Козлов Олег", "Козлов Олег", "earliest assignment wins"),
             (4, "ПЕТРОВ ПЁТР;Иванов Иван", "Иванов Иван", "earliest assignment wins")]


def _claimed(store):
    return (store.conflicts_claimed_by(["Пётр  Петров"]), store.conflicts_claimed_by(["сидорова анна", "козлов олег"]),
            store.conflicts_claimed_by(["Орлов Олег"]))


def test_the_conflicts_a_manager_claims_are_found_however_the_name_is_written(tmp_path):
    store = Store.open(tmp_path / "base.db")
    with store.transaction():
        store.save_conflicts(CONFLICTS)
    assert _claimed(store) == ([1, 3, 4], [2, 3], [])
    with store.transaction():  # the next clean's conflicts replace them
        store.save_conflicts(CONFLICTS[1:3])
    assert _claimed(store) == ([3], [2, 3], [])
    store.close()


def test_a_base_upgraded_to_claims_by_manager_finds_its_conflicts_claimants(tmp_path):
    store = Store.open(tmp_path / "base.db")
    with store.transaction():
        store.save_conflicts(CONFLICTS)
    store.close()
    with sqlite3.connect(tmp_path / "base.db") as conn:  # as the last clean left a base of schema 25
        conn.execute("DROP TABLE conflict_claims")
        conn.execute("PRAGMA user_version=25")
    conn.close()
    store = Store.open(tmp_path / "base.db")
    assert store.schema_version() == len(MIGRATIONS) and _claimed(store) == ([1, 3, 4], [2, 3], [])
    store.close()
