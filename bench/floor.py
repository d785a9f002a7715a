"""The physical floor: how long it takes just to read the same dumps, with no cleaning at all.

    python bench/floor.py duckdb DATA_DIR      # DuckDB read_csv into an in-memory table, all text
    python bench/floor.py polars DATA_DIR      # polars.read_csv, all text
    python bench/floor.py python DATA_DIR      # the standard csv module, one pass

Prints one JSON document: seconds and rows per file and in total. bench/run.py runs it as a child
process, so the peak RSS it reports is this reader's alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CALLS_FILE, CLIENT_FILES, CSV_FORMATS  # noqa: E402

FILES = (*CLIENT_FILES, CALLS_FILE)
# A few 1C rows open a quote they never close. A quote-aware fast reader then swallows the rest of
# the file (or gives up), so the fast engines scan 1C with quoting off: its cells hold no `;`, and
# the scan still touches every byte. The csv module reads it as written.
UNQUOTED = {"1c_export.csv"}


def scan_duckdb(paths: list[Path]) -> dict[str, tuple[float, int]]:
    import duckdb

    con = duckdb.connect(":memory:")
    out = {}
    for i, path in enumerate(paths):
        encoding, delimiter = CSV_FORMATS[path.name]
        # DuckDB decodes only UTF-8, UTF-16 and Latin-1 without an extension; Latin-1 maps every
        # byte to one character like cp1251 does, so the scan costs the same.
        encoding = "latin-1" if encoding == "cp1251" else "utf-8"
        quote = "" if path.name in UNQUOTED else '"'
        start = time.perf_counter()
        con.execute(
            f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?, delim=?, header=true, quote='{quote}', "
            f"escape='{quote}', all_varchar=true, strict_mode=false, null_padding=true, encoding='{encoding}')",
            [str(path), delimiter],
        )
        rows = con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
        out[path.name] = (time.perf_counter() - start, rows)
    return out


def scan_polars(paths: list[Path]) -> dict[str, tuple[float, int]]:
    import polars as pl

    out = {}
    for path in paths:
        encoding, delimiter = CSV_FORMATS[path.name]
        start = time.perf_counter()
        # polars reads UTF-8 only; "utf8-lossy" lets it scan the cp1251 file at the same cost.
        frame = pl.read_csv(path, separator=delimiter, infer_schema=False,
                            quote_char=None if path.name in UNQUOTED else '"',
                            encoding="utf8-lossy", truncate_ragged_lines=True)
        out[path.name] = (time.perf_counter() - start, frame.height)
    return out


def scan_python(paths: list[Path]) -> dict[str, tuple[float, int]]:
    out = {}
    for path in paths:
        encoding, delimiter = CSV_FORMATS[path.name]
        start = time.perf_counter()
        rows = 0
        with open(path, encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            next(reader, None)
            for _ in reader:
                rows += 1
        out[path.name] = (time.perf_counter() - start, rows)
    return out


ENGINES = {"duckdb": scan_duckdb, "polars": scan_polars, "python": scan_python}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    paths = [args.data / name for name in FILES]
    start = time.perf_counter()
    scanned = ENGINES[args.engine](paths)
    total = time.perf_counter() - start
    clients = [scanned[name] for name in CLIENT_FILES]
    json.dump({
        "engine": args.engine,
        "files": {name: {"seconds": round(s, 3), "rows": n} for name, (s, n) in scanned.items()},
        "client_files_seconds": round(sum(s for s, _ in clients), 3),
        "client_rows": sum(n for _, n in clients),
        "seconds": round(total, 3),
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
