"""`today` reads its candidates class by class through indexes; they must be exactly the clients the rules
allow, in the order a plain sort of all of them gives."""

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from clientbase.store import Store

TODAY = "2026-11-20"
DATES = ("2026-11-01", "2026-11-19", TODAY, "2026-11-21", "2027-01-10")
MANAGERS = ("Иванов Иван", "Петрова Анна")

client = st.fixed_dictionaries({
    "owner": st.sampled_from((*MANAGERS, None)),
    "abcde": st.sampled_from(("A", "B", "C", "D", "E", None)),
    "next_due": st.sampled_from((*DATES, None)),
    "state": st.sampled_from(("pool", "owned", "quarantined")),
    "recheck_on": st.sampled_from((*DATES, None)),  # None: never quarantined
    "released": st.booleans(),
    "handout_on": st.sampled_from((TODAY, "2026-11-18", None)),
})


def class_order(row: dict) -> tuple:
    return ("ABCDE".index(row["abcde"]) if row["abcde"] else 5, row["next_due"] is not None,
            row["next_due"] or "", row["id"])


def base_with(clients: list[dict], folder: Path) -> Store:
    path = folder / "cb.db"
    Store.open(path).close()  # the schema, by the migrations
    with sqlite3.connect(path) as db:
        for c in clients:
            db.execute("INSERT INTO clients (id, name, owner, abcde, next_due, state) VALUES (?, ?, ?, ?, ?, ?)",
                       (c["id"], f"ООО «Клиент {c['id']}»", c["owner"], c["abcde"], c["next_due"], c["state"]))
            if c["recheck_on"]:
                db.execute("INSERT INTO quarantine VALUES (?, 'dead numbers', '2026-10-01', ?, ?)",
                           (c["id"], c["recheck_on"], "2026-11-02" if c["released"] else None))
            if c["handout_on"]:
                db.execute("INSERT INTO ledger (client_id, kind, manager, on_date, reason) "
                           "VALUES (?, 'handout', ?, ?, 'test')", (c["id"], c["owner"], c["handout_on"]))
    return Store.open(path)


def recheck_due(c: dict) -> bool:
    return bool(c["recheck_on"]) and not c["released"] and c["recheck_on"] <= TODAY


@settings(max_examples=60, deadline=None)
@given(st.lists(client, max_size=40), st.integers(min_value=1, max_value=12))
def test_candidates_are_those_the_rules_allow_in_class_then_due_order(drawn, limit):
    clients = [{**c, "id": i} for i, c in enumerate(drawn, start=1)]
    with tempfile.TemporaryDirectory() as folder:
        store = base_with(clients, Path(folder))
        try:
            assert store.managers() == sorted({c["owner"] for c in clients if c["owner"]})
            for manager in MANAGERS:
                allowed = [c for c in clients if c["owner"] == manager and (
                    c["next_due"] is None or c["next_due"] <= TODAY or recheck_due(c) or c["handout_on"] == TODAY)]
                expected = [c["id"] for c in sorted(allowed, key=class_order)[:limit]]
                assert [row[0] for row in store.owned_candidates(manager, TODAY, limit)] == expected

            rechecks = sorted(c["id"] for c in clients
                              if c["owner"] is None and c["state"] == "quarantined" and recheck_due(c))[:limit]
            pool = sorted((c for c in clients if c["owner"] is None and c["state"] == "pool"
                           and (c["next_due"] is None or c["next_due"] <= TODAY)), key=class_order)
            expected = rechecks + [c["id"] for c in pool][:limit - len(rechecks)]
            assert [row[0] for row in store.pool_candidates(TODAY, limit)] == expected
        finally:
            store.close()
