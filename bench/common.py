"""Helpers shared by the benchmark scripts: sizes, timed child processes, reading the dumps, pairwise scores.

Nothing here imports clientbase: the benchmark measures the installed command line from outside.
"""

from __future__ import annotations

import csv
import math
import os
import re
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# Client rows the generator writes per real company (client_rows / clients, measured at 20k..1M).
ROWS_PER_COMPANY = 1.3064
CLIENT_FILES = ("crm_export.csv", "1c_export.csv", "purchased_base.csv")
CALLS_FILE = "dialer_log.csv"
# Encoding and delimiter of each CSV the generator writes (xlsx CRM is never used by the bench).
CSV_FORMATS = {
    "crm_export.csv": ("utf-8-sig", ","),
    "1c_export.csv": ("cp1251", ";"),
    "purchased_base.csv": ("utf-8", ","),
    "dialer_log.csv": ("utf-8", ";"),
}


def parse_size(text: str) -> int:
    """`100k` -> 100000, `1m` -> 1000000, `2.5m`, `10M`, or a plain number."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a size like 100k or 1m")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit])


def size_label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


@dataclass
class Measured:
    """One child process: wall time, its own peak RSS (not its siblings'), CPU time, exit code."""

    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    rc: int

    def as_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def run_measured(argv: Sequence[str], *, cwd: Path, stdout: Path, stderr: Path,
                 env: dict[str, str] | None = None) -> Measured:
    """Run one process to the end and measure it alone.

    `os.wait4` returns the resource usage of exactly that child, so the peak RSS is per process;
    `getrusage(RUSAGE_CHILDREN)` would give the maximum over every child reaped so far instead.
    """
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    return Measured(wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime, proc.returncode)


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def slope(n1: float, t1: float | None, n2: float, t2: float | None) -> float | None:
    """Exponent k in t ~ n^k between two sizes: 1.0 is linear, 2.0 quadratic."""
    if not t1 or not t2 or n1 <= 0 or n2 <= 0 or n1 == n2:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


# --- reading the generator's CSVs ------------------------------------------------------------


def csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(1-based data row, cells) of one of the generator's CSVs, header skipped.

    The generator writes one row per physical line (cells never hold a newline in its CSVs), and a
    few 1C rows open a quote they never close. Parsing each line on its own keeps such a row from
    swallowing the lines after it, so row numbers stay those of truth.csv.
    """
    encoding, delimiter = CSV_FORMATS[path.name]
    with open(path, encoding=encoding, newline="") as handle:
        next(handle, None)
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if '"' not in line:
                yield number, line.split(delimiter)
            else:
                yield number, next(csv.reader((line,), delimiter=delimiter), [])


def load_truth(path: Path) -> dict[str, str]:
    """record reference `source:row` -> entity id ('' for rows that belong to no company)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return {f"{source}:{row}": entity for source, row, entity in reader}


def load_clusters(path: Path, ref_column: str, cluster_column: str, *,
                  status_column: str | None = None) -> tuple[dict[str, str], set[str]]:
    """(ref -> cluster id, refs whose status is ok) from a CSV such as `clientbase export records`."""
    clusters: dict[str, str] = {}
    ok: set[str] = set()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            ref = row[ref_column].lstrip("'")
            clusters[ref] = row[cluster_column]
            if status_column is None or row[status_column] == "ok":
                ok.add(ref)
    return clusters, ok


@dataclass
class PairScores:
    records: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict:
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(self).items()}


def pairwise_scores(predicted: dict[str, str], truth: dict[str, str], universe: Iterable[str]) -> PairScores:
    """Pairwise precision, recall and F1 over the records in `universe`.

    Two records are a true pair when they share a non-empty entity id, a predicted pair when they
    share a non-empty cluster id. A record without either counts as alone. Counting is by group
    sizes, so it is linear in the records, not in the pairs.
    """
    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    by_entity: Counter[str] = Counter()
    by_cluster: Counter[str] = Counter()
    by_both: Counter[tuple[str, str]] = Counter()
    records = 0
    for ref in universe:
        records += 1
        entity = truth.get(ref) or f"alone:{ref}"
        cluster = predicted.get(ref) or f"alone:{ref}"
        by_entity[entity] += 1
        by_cluster[cluster] += 1
        by_both[entity, cluster] += 1
    true_pairs = sum(pairs(n) for n in by_entity.values())
    predicted_pairs = sum(pairs(n) for n in by_cluster.values())
    tp = sum(pairs(n) for n in by_both.values())
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(records, true_pairs, predicted_pairs, tp, precision, recall, f1)
