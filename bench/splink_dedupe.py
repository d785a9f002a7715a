"""The peer: Splink (DuckDB backend) deduplicating the same client rows that clientbase cleans.

    python bench/splink_dedupe.py DATA_DIR --out CLUSTERS.csv [--threshold 0.9]

The three client files are concatenated into one frame with unique_id (`SOURCE:ROW`, the same
reference as clientbase's and truth.csv's), name, inn, city and phone, each normalised simply:

- name: case folded, ё -> е, quotes and punctuation dropped, legal forms (ООО, ЗАО, ИП, the long
  forms, and their Latin look-alikes OOO/3AO/AHO) dropped, spaces collapsed;
- inn: digits only (`7701234567.0` and spaces fixed), a 9 or 11 digit INN gets its lost leading zero;
- city: the city column, or for 1C the `г. X` / `X г` part of the address; case folded, ё -> е;
- phone: the first number in the cell, its last 10 digits when it has 10 or 11; placeholders
  (one repeated digit, 1234567890) and anything else left empty.

Model: comparisons name (Jaro-Winkler 0.95 / 0.88), inn, city, phone (exact); blocking for
prediction on phone, and on name + city, as the brief asks; u by random sampling (seeded), the
match prior from INN equality, m by EM blocked on phone and on name. Pairs at or above the
threshold are clustered by connected components.

Prints one JSON document with the time of each phase; writes unique_id,cluster_id to --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CLIENT_FILES, csv_rows  # noqa: E402

# Column positions in each file (the generator's fixed headers).
COLUMNS = {
    # file: (name, inn, city, phone, address-for-city)
    "crm_export.csv": (0, 1, 3, 4, None),
    "1c_export.csv": (0, 1, None, 3, 4),
    "purchased_base.csv": (0, 1, 2, 3, None),
}

_LEGAL_FORMS = (
    "общество с ограниченной ответственностью", "закрытое акционерное общество",
    "открытое акционерное общество", "публичное акционерное общество", "непубличное акционерное общество",
    "акционерное общество", "индивидуальный предприниматель", "автономная некоммерческая организация",
    "научно-производственное объединение", "производственная компания", "торговый дом",
)
_FORM_WORDS = frozenset("ооо зао оао пао ао ип ано нко гуп муп фгуп пк тд нпо ooo zao oao ao 3ao aho ip".split())
_PUNCT = re.compile(r"[«»\"“”„'`.,()\-–—/\\№#&+!?:;]+")
_SPACES = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D+")
_CITY_IN_ADDRESS = re.compile(r"(?:^|,)\s*г\.\s*([^,]+)|,\s*([^,]+?)\s+г(?:,|$)")
_PHONE_SPLIT = re.compile(r"[;,/]|\s{2,}")


def norm_name(value: str) -> str | None:
    text = value.casefold().replace("ё", "е")
    for form in _LEGAL_FORMS:
        text = text.replace(form, " ")
    text = _PUNCT.sub(" ", text)
    words = [w for w in text.split() if w not in _FORM_WORDS]
    return " ".join(words) or None


def norm_inn(value: str) -> str | None:
    text = value.strip()
    if text.endswith(".0"):
        text = text[:-2]
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) in (9, 11):
        digits = "0" + digits
    return digits if len(digits) in (10, 12) else None


def norm_city(value: str | None) -> str | None:
    if not value:
        return None
    text = value.casefold().replace("ё", "е").strip()
    if text.startswith("г."):
        text = text[2:]
    text = _SPACES.sub(" ", text).strip(" .")
    return text or None


def city_from_address(address: str) -> str | None:
    match = _CITY_IN_ADDRESS.search(address)
    return norm_city(match.group(1) or match.group(2)) if match else None


def norm_phone(value: str) -> str | None:
    for part in _PHONE_SPLIT.split(value):
        part = part.strip().lstrip("'")
        if part.endswith(".0"):
            part = part[:-2]
        digits = _NOT_DIGIT.sub("", part)
        if not digits:
            continue
        if len(digits) == 11 and digits[0] in "78":
            digits = digits[1:]
        if len(digits) != 10 or len(set(digits)) == 1 or digits == "1234567890":
            return None
        return digits
    return None


def norm_phones(value: str) -> list[str] | None:
    """Every usable number in the cell (the --all-phones variant)."""
    found = []
    for part in _PHONE_SPLIT.split(value):
        digits = norm_phone(part)
        if digits and digits not in found:
            found.append(digits)
    return found or None


def load_frame(data: Path, all_phones: bool = False) -> dict[str, list]:
    phone = norm_phones if all_phones else norm_phone
    frame: dict[str, list] = {"unique_id": [], "name": [], "inn": [], "city": [], "phone": []}
    for file_name in CLIENT_FILES:
        i_name, i_inn, i_city, i_phone, i_address = COLUMNS[file_name]

        def cell(cells: list[str], index: int | None) -> str:
            return cells[index] if index is not None and index < len(cells) else ""

        for row, cells in csv_rows(data / file_name):
            city = norm_city(cell(cells, i_city)) if i_city is not None else city_from_address(cell(cells, i_address))
            frame["unique_id"].append(f"{file_name}:{row}")
            frame["name"].append(norm_name(cell(cells, i_name)))
            frame["inn"].append(norm_inn(cell(cells, i_inn)))
            frame["city"].append(city)
            frame["phone"].append(phone(cell(cells, i_phone)))
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="CSV of unique_id,cluster_id to write")
    parser.add_argument("--threshold", type=float, default=0.9, help="match probability to cluster at")
    parser.add_argument("--u-pairs", type=float, default=1e7, help="max_pairs for u estimation")
    parser.add_argument("--all-phones", action="store_true",
                        help="variant: phone is the array of every number in the cell, blocked on exploded")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)

    import duckdb
    import pyarrow as pa
    import splink
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    timings: dict[str, float] = {}
    start = time.perf_counter()
    frame = load_frame(args.data, args.all_phones)
    table = pa.table(frame)
    timings["load_and_normalise"] = time.perf_counter() - start

    mark = time.perf_counter()
    db_api = DuckDBAPI(duckdb.connect(":memory:"))
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
            cl.ExactMatch("inn"),
            cl.ExactMatch("city"),
            cl.ArrayIntersectAtSizes("phone", [1]) if args.all_phones else cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone", arrays_to_explode=["phone"]) if args.all_phones else block_on("phone"),
            block_on("name", "city"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(db_api.register(table, table_name="clients"), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("inn")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_pairs, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("inn") if args.all_phones else block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    timings["train"] = time.perf_counter() - mark

    mark = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(0.5, args.threshold))
    timings["predict"] = time.perf_counter() - mark
    pair_count = db_api.duckdb_con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]

    mark = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.threshold)
    db_api.duckdb_con.execute(f"COPY (SELECT unique_id, cluster_id FROM {clusters.physical_name}) TO ? (HEADER)",
                              [str(args.out)])
    timings["cluster_and_write"] = time.perf_counter() - mark
    total = time.perf_counter() - start

    json.dump({
        "splink": splink.__version__, "duckdb": duckdb.__version__,
        "records": len(frame["unique_id"]), "scored_pairs": pair_count, "threshold": args.threshold,
        "phones": "all" if args.all_phones else "first",
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "dedupe_seconds": round(timings["train"] + timings["predict"] + timings["cluster_and_write"], 3),
        "total_seconds": round(total, 3),
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
