"""Ingest and calls give the same database whether worker processes build the rows or this one does; a worker
process's values and failures reach the process that asked."""

import os
import sqlite3
import sys
from pathlib import Path

import numpy
import pytest

from clientbase import pipeline
from clientbase.config import Rules
from clientbase.dedupe import _similar_pairs
from clientbase.errors import UserError
from clientbase.workers import CHUNK_ROWS, InChild

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sample_data"))
from generate import generate  # noqa: E402

TABLES = {
    "sources": "id, name, kind, path, fingerprint, rows",
    "records": "*",
    "phones": "*",
    "emails": "*",
    "calls": "*",
    "audit": "id, command, action, client_id, detail",
}


def contents(db: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(db) as conn:
        return {name: conn.execute(f"SELECT {columns} FROM {name} ORDER BY id").fetchall()
                for name, columns in TABLES.items()}


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dumps")
    generate(folder, clients=3000, seed=11, calls_per_phone=2.0, crm_format="both")  # chunks of every file
    return folder


def load(db: Path, dumps: Path, workers: int) -> dict[str, list[tuple]]:
    files = [dumps / "crm_export.csv", dumps / "crm_export.xlsx", dumps / "1c_export.csv", dumps / "purchased_base.csv"]
    summary = pipeline.ingest(db, Rules(), files, workers=workers)
    calls = pipeline.import_calls(db, Rules(), [dumps / "dialer_log.csv"], workers=workers)
    return {"summary": [summary.sources, calls.sources], **contents(db)}


def test_workers_give_the_same_database_and_summary(tmp_path, dumps):
    alone = load(tmp_path / "alone.db", dumps, workers=0)
    assert len(alone["records"]) > 2 * CHUNK_ROWS and len(alone["calls"]) > 2 * CHUNK_ROWS
    for workers in (1, 2):
        assert load(tmp_path / f"workers{workers}.db", dumps, workers=workers) == alone


def test_a_bad_file_gives_the_same_error_with_workers(tmp_path, dumps):
    # A byte that is not UTF-8 far into the file: the reader fails after workers have built many rows.
    text = (dumps / "purchased_base.csv").read_bytes()
    lines = text.splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"".join(lines[:-3]) + b"\xff\xfe broken\n" + b"".join(lines[-3:]))
    messages = []
    for workers in (0, 2):
        db = tmp_path / f"bad{workers}.db"
        with pytest.raises(UserError) as error:
            pipeline.ingest(db, Rules(), [bad], workers=workers)
        messages.append(str(error.value))
        assert contents(db)["records"] == []
    assert messages[0] == messages[1] and "bad.csv" in messages[0]


@pytest.mark.parametrize("separate", [True, False])
def test_values_and_a_failure_come_from_a_worker_process_as_from_this_one(separate):
    got = []
    with InChild(map, (int, ["1", "2", "x"]), separate) as child, pytest.raises(ValueError, match="'x'"):
        for value in child.values():
            got.append(value)
    assert got == [1, 2]


def test_a_worker_process_that_dies_is_an_error_not_a_short_result():
    with InChild(os._exit, (3,), True) as child, pytest.raises(RuntimeError, match="exit code 3"):
        list(child.values())  # as if the kernel's out-of-memory killer had ended it


def test_a_worker_process_imports_what_this_one_does_whatever_the_environment_says(tmp_path, monkeypatch):
    (tmp_path / "numpy.py").write_text('raise ImportError("a numpy of the environment, not of this process")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    names, cities = ["ромашка", "ромашко"], numpy.array([1, 1])
    with InChild(_similar_pairs, (names, cities, 85.0), True) as child:
        pairs = [pair for batch in child.values() for pair in zip(*(column.tolist() for column in batch))]
    assert pairs == [(0, 1, 92.9)]
