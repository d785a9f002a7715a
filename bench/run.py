"""Scale benchmark of the clientbase command line, with the physical floor and a peer beside it.

    python bench/run.py --sizes 100k,1m [--runs 3] [--out bench/out]

For each size (client rows across the three client files) it generates the dumps once with
sample_data/generate.py (cached under OUT/data-SIZE), then, in a fresh directory and database for
every run, times each command as a whole process, the way cron runs it:

    ingest  clientbase ingest crm_export.csv 1c_export.csv purchased_base.csv
    calls   clientbase calls dialer_log.csv
    clean   clientbase clean --as-of 2026-11-20
    today   clientbase today --manager <busiest manager> --as-of 2026-11-20 --json
    export  clientbase export clients -o clients.csv
    records clientbase export records -o records.csv          (feeds the F1 below)
    nightly_ingest  clientbase ingest nightly_10k.csv --source purchased_nightly   (10k new rows)
    nightly_clean   clientbase clean --as-of 2026-11-20                             (on the grown base)
    reexport_ingest clientbase ingest reexport/crm_export.csv   (the CRM dump again, 1 % of rows with a new profit)
    reexport_clean  clientbase clean --as-of 2026-11-20

and reports the median wall time and the peak RSS of each process. Beside them, once per run:
the floor (DuckDB, polars and Python's csv module just reading the same files) and the peer
(Splink with DuckDB deduplicating the same client rows), with pairwise precision/recall/F1 of
both against truth.csv. Prints tables, writes OUT/results.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CALLS_FILE,
    CLIENT_FILES,
    ROWS_PER_COMPANY,
    csv_rows,
    load_clusters,
    load_truth,
    median,
    pairwise_scores,
    parse_size,
    run_measured,
    size_label,
    slope,
)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
GENERATOR = REPO / "sample_data" / "generate.py"
STEPS = ("ingest", "calls", "clean", "today", "export", "records", "nightly_ingest", "nightly_clean",
         "reexport_ingest", "reexport_clean")
# The share of the CRM dump's rows whose profit the re-exported dump changes.
REEXPORT_SHARE = 0.01
FLOORS = ("duckdb", "polars", "python")
# Purchased-list rows the generator writes per company (for sizing the nightly extra file).
PURCHASED_PER_COMPANY = 0.357
TARGETS = {
    "ingest_clean_s": 60.0,
    "ingest_clean_rss_mb": 2048.0,
    "nightly_s": 10.0,
    "today_s": 1.0,
}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def clientbase_command(python: str) -> list[str]:
    """The console script next to the interpreter when there is one, else `python -m clientbase`."""
    script = Path(python).with_name("clientbase")
    return [str(script)] if script.exists() else [python, "-m", "clientbase"]


# --- data ------------------------------------------------------------------------------------


def generate(out: Path, clients: int, seed: int, python: str, *, calls_per_phone: float | None = None) -> dict:
    """Generate one set into `out`, or reuse it when the same clients and seed are already there."""
    summary_path = out / "generate.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        files_there = all((out / name).exists() for name in (*CLIENT_FILES, CALLS_FILE, "truth.csv"))
        if summary.get("clients") == clients and summary.get("seed") == seed and files_there:
            return summary
    out.mkdir(parents=True, exist_ok=True)
    argv = [python, str(GENERATOR), "--out", str(out), "--clients", str(clients), "--seed", str(seed),
            "--crm-format", "csv", "--json"]
    if calls_per_phone is not None:
        argv += ["--calls-per-phone", str(calls_per_phone)]
    log(f"generating {out.name}: {clients:,} companies, seed {seed}")
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    summary["bench_generate_seconds"] = round(time.perf_counter() - start, 1)
    summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return summary


def busiest_manager(data: Path) -> tuple[str, int]:
    """The manager named on most CRM rows: the longest `today` list there is."""
    owners: Counter[str] = Counter()
    for _, cells in csv_rows(data / "crm_export.csv"):
        if len(cells) > 9 and cells[9].strip():
            owners[cells[9].strip()] += 1
    name, rows = owners.most_common(1)[0]
    return name, rows


def nightly_file(extra: Path, rows: int) -> Path:
    """The first `rows` data rows of the extra set's purchased list, as one new file."""
    target = extra / f"nightly_{size_label(rows)}.csv"
    if not target.exists():
        with open(extra / "purchased_base.csv", encoding="utf-8", newline="") as src, \
                open(target, "w", encoding="utf-8", newline="") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
    return target


def reexport_file(data: Path, seed: int) -> Path:
    """The CRM dump exported again the next night: the same rows, REEXPORT_SHARE of them with a new profit.

    Edited line by line, so that every other row stays byte for byte as it was. Streamed: a child's peak
    RSS counts this process's memory at the fork, so the harness must stay small."""
    target = data / "reexport" / "crm_export.csv"
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        rnd = random.Random(seed)
        partial = target.with_suffix(".part")
        with open(data / "crm_export.csv", encoding="utf-8", newline="") as src, \
                open(partial, "w", encoding="utf-8", newline="") as dst:
            lines = _crlf_lines(src)
            header, end = next(lines)
            dst.write(header + end)
            profit = next(csv.reader([header.lstrip("\ufeff")])).index("Прибыль")
            for line, end in lines:
                if line and rnd.random() < REEXPORT_SHARE:
                    cells = next(csv.reader([line]))
                    cells[profit] = f"{rnd.uniform(1000, 200000):.2f}"
                    buffer = io.StringIO()
                    csv.writer(buffer, lineterminator="").writerow(cells)
                    line = buffer.getvalue()
                dst.write(line + end)
        partial.replace(target)
    return target


def _crlf_lines(handle) -> Iterator[tuple[str, str]]:
    """(line, its end) of a file the generator wrote: rows end in CRLF, and a lone CR or LF is inside a row."""
    pending = ""
    for piece in handle:
        pending += piece
        if pending.endswith("\r\n"):
            yield pending[:-2], "\r\n"
            pending = ""
    yield pending, ""


# --- one run ---------------------------------------------------------------------------------


def run_pipeline(cb: list[str], data: Path, nightly: Path, reexport: Path, manager: str, as_of: str, work: Path,
                 skip: set[str]) -> dict[str, dict]:
    """Every step once, in a fresh directory and database; stops at the first step that fails."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db = ["--db", str(work / "clientbase.db")]
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("CLIENTBASE_RULES", None)
    env.pop("CLIENTBASE_DB", None)
    commands = {
        "ingest": [*cb, *db, "ingest", *(str(data / f) for f in CLIENT_FILES)],
        "calls": [*cb, *db, "calls", str(data / CALLS_FILE)],
        "clean": [*cb, *db, "clean", "--as-of", as_of],
        "today": [*cb, *db, "today", "--manager", manager, "--as-of", as_of, "--json"],
        "export": [*cb, *db, "export", "clients", "-o", str(work / "clients.csv")],
        "records": [*cb, *db, "export", "records", "-o", str(work / "records.csv")],
        "nightly_ingest": [*cb, *db, "ingest", str(nightly), "--source", "purchased_nightly"],
        "nightly_clean": [*cb, *db, "clean", "--as-of", as_of],
        "reexport_ingest": [*cb, *db, "ingest", str(reexport)],
        "reexport_clean": [*cb, *db, "clean", "--as-of", as_of],
    }
    results: dict[str, dict] = {}
    for step in STEPS:
        if step in skip:
            continue
        m = run_measured(commands[step], cwd=work, stdout=work / f"{step}.out", stderr=work / f"{step}.err", env=env)
        results[step] = m.as_dict()
        log(f"  {step:15s} {m.wall_s:8.2f} s  {m.peak_rss_mb:8.0f} MB  cpu {m.cpu_s:7.2f} s  rc {m.rc}")
        if m.rc != 0:
            tail = (work / f"{step}.err").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            results[step]["error"] = "\n".join(tail)
            log(f"  {step} failed: {results[step]['error']}")
            break
    return results


def today_items(work: Path) -> int | None:
    try:
        return len(json.loads((work / "today.out").read_text(encoding="utf-8"))["items"])
    except (OSError, ValueError, KeyError):
        return None


def file_digest(path: Path) -> str | None:
    if not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# --- baselines -------------------------------------------------------------------------------


def run_floor(python: str, engine: str, data: Path, scratch: Path) -> dict:
    m = run_measured([python, str(BENCH / "floor.py"), engine, str(data)], cwd=scratch,
                     stdout=scratch / f"floor-{engine}.json", stderr=scratch / f"floor-{engine}.err")
    out = m.as_dict()
    if m.rc == 0:
        out.update(json.loads((scratch / f"floor-{engine}.json").read_text(encoding="utf-8")))
    else:
        out["error"] = (scratch / f"floor-{engine}.err").read_text(errors="replace").strip().splitlines()[-1:]
    return out


def run_splink(python: str, data: Path, scratch: Path, threshold: float) -> dict:
    clusters = scratch / "splink-clusters.csv"
    m = run_measured([python, str(BENCH / "splink_dedupe.py"), str(data), "--out", str(clusters),
                      "--threshold", str(threshold)],
                     cwd=scratch, stdout=scratch / "splink.json", stderr=scratch / "splink.err")
    out = m.as_dict()
    if m.rc == 0:
        out.update(json.loads((scratch / "splink.json").read_text(encoding="utf-8")))
        out["clusters_csv"] = str(clusters)
    else:
        out["error"] = "\n".join((scratch / "splink.err").read_text(errors="replace").strip().splitlines()[-5:])
    return out


# --- summaries -------------------------------------------------------------------------------


def summarise_steps(runs: list[dict[str, dict]]) -> dict[str, dict]:
    out = {}
    for step in STEPS:
        done = [r[step] for r in runs if step in r and r[step]["rc"] == 0]
        if not done:
            continue
        out[step] = {
            "median_s": round(median(d["wall_s"] for d in done), 3),
            "min_s": round(min(d["wall_s"] for d in done), 3),
            "max_s": round(max(d["wall_s"] for d in done), 3),
            "median_cpu_s": round(median(d["cpu_s"] for d in done), 3),
            "peak_rss_mb": round(max(d["peak_rss_mb"] for d in done), 1),
            "median_rss_mb": round(median(d["peak_rss_mb"] for d in done), 1),
            "runs": len(done),
        }
    return out


def summarise_baseline(runs: list[dict], key: str = "wall_s") -> dict:
    done = [r for r in runs if r.get("rc") == 0]
    if not done:
        return {"error": runs[0].get("error") if runs else "not run", "runs": 0}
    first = dict(done[0])
    first.pop("wall_s", None)
    first.update({
        "median_s": round(median(r[key] for r in done), 3),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in done), 1),
        "runs": len(done),
        "all_s": [r[key] for r in done],
    })
    if "dedupe_seconds" in done[0]:
        first["median_dedupe_s"] = round(median(r["dedupe_seconds"] for r in done), 3)
        first["median_load_s"] = round(median(r["seconds"]["load_and_normalise"] for r in done), 3)
    return first


def quality(data: Path, records_csv: Path | None, splink_csv: Path | None) -> dict:
    """Pairwise scores of clientbase and Splink, both over the records clientbase keeps as ok."""
    truth = load_truth(data / "truth.csv")
    out: dict = {}
    ok: set[str] | None = None
    if records_csv and records_csv.exists():
        clusters, ok = load_clusters(records_csv, "record_ref", "client_id", status_column="status")
        unknown = sum(ref not in truth for ref in clusters)
        out["clientbase"] = pairwise_scores(clusters, truth, sorted(ok)).as_dict()
        out["clientbase"]["refs_not_in_truth"] = unknown
        out["clientbase"]["rejected_records"] = len(clusters) - len(ok)
        out["clientbase"]["rejected_with_entity"] = sum(1 for r in clusters if r not in ok and truth.get(r))
    if splink_csv and splink_csv.exists():
        clusters, _ = load_clusters(splink_csv, "unique_id", "cluster_id")
        universe = sorted(ok) if ok is not None else [r for r, e in truth.items() if e]
        out["splink"] = pairwise_scores(clusters, truth, universe).as_dict()
        out["splink_all_company_rows"] = pairwise_scores(
            clusters, truth, [r for r, e in truth.items() if e]).as_dict()
    return out


def cpu_model() -> str | None:
    """The processor's name: two machines of one size (2 cores, 24 GB) differed 1.9-2.8x in speed."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment() -> dict:
    def version(module: str) -> str | None:
        try:
            from importlib.metadata import version as v
            return v(module)
        except Exception:
            return None

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                             text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "clientbase"], cwd=REPO,
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        rev, dirty = None, None
    return {
        "when": datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(), "machine": platform.machine(), "cpu": cpu_model(), "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "git": rev, "clientbase_dirty": dirty,
        "versions": {m: version(m) for m in ("clientbase", "duckdb", "polars", "splink", "phonenumbers", "rapidfuzz")},
    }


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_tables(results: dict) -> None:
    sizes = [s for s in results["sizes"].values() if s.get("steps")]
    if not sizes:
        return
    out = sys.stdout
    out.write("\n== clientbase: median wall seconds / peak RSS MB (per process) ==\n")
    header = f"{'step':16s}" + "".join(f"{s['label'] + ' s':>12s}{s['label'] + ' MB':>11s}" for s in sizes)
    out.write(header + "\n")
    for step in STEPS:
        line = f"{step:16s}"
        for s in sizes:
            st = s["steps"].get(step)
            line += f"{fmt(st and st['median_s']):>12s}{fmt(st and st['peak_rss_mb'], 0):>11s}"
        out.write(line + "\n")
    for label, parts in (("ingest+clean", ("ingest", "clean")), ("nightly total", ("nightly_ingest", "nightly_clean")),
                         ("re-export total", ("reexport_ingest", "reexport_clean"))):
        line = f"{label:16s}"
        for s in sizes:
            vals = [s["steps"].get(p, {}).get("median_s") for p in parts]
            total = sum(vals) if all(v is not None for v in vals) else None
            line += f"{fmt(total):>12s}{'':>11s}"
        out.write(line + "\n")

    out.write("\n== baselines: median wall seconds / peak RSS MB ==\n")
    for name in (*(f"floor_{e}" for e in FLOORS), "splink"):
        line = f"{name:16s}"
        for s in sizes:
            b = s.get("baselines", {}).get(name, {})
            line += f"{fmt(b.get('median_s')):>12s}{fmt(b.get('peak_rss_mb'), 0):>11s}"
        out.write(line + "\n")
    out.write(f"{'splink dedupe':16s}" + "".join(
        f"{fmt(s.get('baselines', {}).get('splink', {}).get('median_dedupe_s')):>12s}{'':>11s}" for s in sizes) + "\n")

    out.write("\n== pairwise dedupe quality over clientbase's ok records (precision / recall / F1) ==\n")
    for s in sizes:
        for who in ("clientbase", "splink", "splink_all_company_rows"):
            q = s.get("quality", {}).get(who)
            if q:
                out.write(f"{s['label']:>6s} {who:24s} P {q['precision']:.4f}  R {q['recall']:.4f}  "
                          f"F1 {q['f1']:.4f}  ({q['records']:,} records, {q['true_pairs']:,} true pairs)\n")

    out.write("\n== cost vs rows, log-log: seconds per size, and slope k in t ~ rows^k between sizes ==\n")
    out.write(f"{'step':16s}" + "".join(f"{s['label']:>10s}" for s in sizes)
              + "".join(f"{'k ' + a['label'] + '>' + b['label']:>14s}" for a, b in zip(sizes, sizes[1:])) + "\n")
    rows = [(step, lambda s, step=step: s["steps"].get(step, {}).get("median_s")) for step in STEPS]
    rows += [(f"floor_{e}", lambda s, e=e: s.get("baselines", {}).get(f"floor_{e}", {}).get("median_s")) for e in FLOORS]
    rows += [("splink", lambda s: s.get("baselines", {}).get("splink", {}).get("median_s"))]
    for name, get in rows:
        line = f"{name:16s}" + "".join(f"{fmt(get(s)):>10s}" for s in sizes)
        for a, b in zip(sizes, sizes[1:]):
            k = slope(a["client_rows"], get(a), b["client_rows"], get(b))
            line += f"{fmt(k):>14s}"
        out.write(line + "\n")

    for s in sizes:
        t = s.get("targets")
        if t:
            out.write(f"\n== targets at {s['label']} ({s['client_rows']:,} client rows) ==\n")
            for name, check in t.items():
                out.write(f"{name:28s} {check['measured']!s:>12s}  target {check['target']!s:>10s}  "
                          f"{'PASS' if check['pass'] else 'FAIL'}\n")
    out.flush()


def targets(size: dict) -> dict:
    st, base, q = size["steps"], size.get("baselines", {}), size.get("quality", {})
    checks = {}

    def add(name: str, measured, target, ok: bool) -> None:
        checks[name] = {"measured": measured, "target": target, "pass": ok}

    if "ingest" in st and "clean" in st:
        t = round(st["ingest"]["median_s"] + st["clean"]["median_s"], 2)
        add("ingest+clean seconds", t, TARGETS["ingest_clean_s"], t <= TARGETS["ingest_clean_s"])
        rss = max(st["ingest"]["peak_rss_mb"], st["clean"]["peak_rss_mb"])
        add("ingest/clean peak RSS MB", rss, TARGETS["ingest_clean_rss_mb"], rss <= TARGETS["ingest_clean_rss_mb"])
    if "nightly_ingest" in st and "nightly_clean" in st:
        t = round(st["nightly_ingest"]["median_s"] + st["nightly_clean"]["median_s"], 2)
        add("nightly 10k seconds", t, TARGETS["nightly_s"], t <= TARGETS["nightly_s"])
    if "today" in st:
        t = st["today"]["median_s"]
        add("today one manager seconds", t, TARGETS["today_s"], t <= TARGETS["today_s"])
    splink = base.get("splink", {})
    if splink.get("median_s") and "ingest" in st and "clean" in st:
        mine = round(st["ingest"]["median_s"] + st["clean"]["median_s"], 2)
        add("ingest+clean vs splink s", mine, splink["median_s"], mine <= splink["median_s"])
    if "clientbase" in q and "splink" in q:
        add("F1 clientbase vs splink", q["clientbase"]["f1"], q["splink"]["f1"], q["clientbase"]["f1"] >= q["splink"]["f1"])
    return checks


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,1m", help="client rows per set, comma separated (100k, 1m, 10m)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each clientbase command per size (median)")
    parser.add_argument("--baseline-runs", type=int, default=None, help="runs of each baseline (default: --runs)")
    parser.add_argument("--baselines", default="duckdb,polars,python,splink",
                        help="which baselines to run: duckdb, polars, python, splink, or none")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--nightly-seed", type=int, default=4242)
    parser.add_argument("--nightly-rows", default="10k", help="rows of the incremental nightly file")
    parser.add_argument("--as-of", default="2026-11-20")
    parser.add_argument("--splink-threshold", type=float, default=0.9)
    parser.add_argument("--max-size-minutes", type=float, default=None,
                        help="skip a size whose runs are predicted (from the size before) to take longer, "
                             "and stop its runs once it has taken that long (e.g. 25 with 10m)")
    parser.add_argument("--keep", action="store_true", help="keep each run's work directory (databases)")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the venv with clientbase")
    args = parser.parse_args()

    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    baselines = set() if args.baselines == "none" else {b.strip() for b in args.baselines.split(",")}
    baseline_runs = args.baseline_runs if args.baseline_runs is not None else args.runs
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cb = clientbase_command(args.python)
    results = {"environment": environment(), "command": sys.argv, "clientbase": cb, "runs": args.runs,
               "targets": TARGETS, "sizes": {}}
    results_path = out / "results.json"

    def save() -> None:
        results_path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")

    nightly_rows = parse_size(args.nightly_rows)
    extra_dir = out / f"data-extra-{size_label(nightly_rows)}"
    generate(extra_dir, round(nightly_rows / PURCHASED_PER_COMPANY * 1.1), args.nightly_seed, args.python)
    nightly = nightly_file(extra_dir, nightly_rows)

    previous: dict | None = None
    for rows in sorted(sizes):
        label = size_label(rows)
        entry: dict = {"label": label, "target_rows": rows}
        results["sizes"][label] = entry
        if previous and previous.get("steps"):
            per_run = sum(previous["steps"][s]["median_s"] for s in previous["steps"])
            growth = max(1.0, max((v for v in previous.get("slopes_hint", [1.0])), default=1.0))
            predicted = per_run * (rows / previous["client_rows"]) ** growth * args.runs / 60
            entry["predicted_minutes"] = round(predicted, 1)
            if args.max_size_minutes is not None and predicted > args.max_size_minutes:
                entry["skipped"] = (f"predicted {predicted:.0f} min for {args.runs} runs from {previous['label']} "
                                    f"(limit {args.max_size_minutes:.0f} min)")
                log(f"{label}: skipped, {entry['skipped']}")
                save()
                continue
        size_start = time.perf_counter()
        data = out / f"data-{label}"
        summary = generate(data, round(rows / ROWS_PER_COMPANY), args.seed, args.python)
        manager, manager_rows = busiest_manager(data)
        entry.update({"companies": summary["clients"], "client_rows": summary["client_rows"],
                      "dialer_rows": summary["rows"].get(CALLS_FILE), "data": str(data),
                      "generate_seconds": summary.get("bench_generate_seconds", summary.get("seconds")),
                      "manager": manager, "manager_crm_rows": manager_rows,
                      "nightly_file": str(nightly), "nightly_rows": nightly_rows})
        log(f"{label}: {summary['client_rows']:,} client rows, {entry['dialer_rows']:,} calls; manager {manager}")

        runs: list[dict] = []
        scratch = out / f"work-{label}"
        digests, today_counts = [], []
        for k in range(1, args.runs + 1):
            limit = args.max_size_minutes
            if limit is not None and runs and (time.perf_counter() - size_start) / 60 > limit:
                entry["stopped_early"] = f"after {len(runs)} runs: over {args.max_size_minutes:.0f} min"
                log(f"{label}: {entry['stopped_early']}")
                break
            log(f"{label}: run {k}/{args.runs}")
            work = scratch / f"run-{k}"
            result = run_pipeline(cb, data, nightly, reexport_file(data, args.nightly_seed), manager, args.as_of, work,
                                  skip=set())
            runs.append(result)
            today_counts.append(today_items(work))
            digests.append(file_digest(work / "records.csv"))
            if k == 1:
                keep = out / f"records-{label}.csv"
                if (work / "records.csv").exists():
                    shutil.copyfile(work / "records.csv", keep)
                for name in ("clean.err", "ingest.err", "nightly_clean.err"):
                    if (work / name).exists():
                        shutil.copyfile(work / name, out / f"{label}-{name.replace('.err', '.txt')}")
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        entry["steps"] = summarise_steps(runs)
        # A child's peak RSS is at least this process's at the fork: figures below it are not measured.
        entry["harness_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        log(f"{label}: run.py itself peaked at {entry['harness_peak_rss_mb']} MB")
        entry["runs"] = runs
        entry["today_items"] = today_counts
        entry["records_identical_across_runs"] = len(set(digests)) == 1 and None not in digests
        save()

        entry["baselines"] = {}
        scratch.mkdir(parents=True, exist_ok=True)
        for engine in FLOORS:
            if engine in baselines:
                log(f"{label}: floor {engine}")
                entry["baselines"][f"floor_{engine}"] = summarise_baseline(
                    [run_floor(args.python, engine, data, scratch) for _ in range(baseline_runs)])
        splink_csv = None
        if "splink" in baselines:
            splink_runs = []
            for k in range(baseline_runs):
                log(f"{label}: splink run {k + 1}/{baseline_runs}")
                splink_runs.append(run_splink(args.python, data, scratch, args.splink_threshold))
                log(f"  splink {splink_runs[-1].get('wall_s')} s, {splink_runs[-1].get('peak_rss_mb')} MB"
                    + (f" error: {splink_runs[-1]['error']}" if "error" in splink_runs[-1] else ""))
            entry["baselines"]["splink"] = summarise_baseline(splink_runs)
            if splink_runs and splink_runs[-1].get("rc") == 0:
                splink_csv = Path(splink_runs[-1]["clusters_csv"])
        entry["quality"] = quality(data, out / f"records-{label}.csv", splink_csv)
        entry["targets"] = targets(entry)
        entry["wall_minutes"] = round((time.perf_counter() - size_start) / 60, 1)
        ok_steps = [s for s in ("ingest", "calls", "clean") if s in entry["steps"]]
        entry["slopes_hint"] = []
        if previous and previous.get("steps"):
            for s in ok_steps:
                k = slope(previous["client_rows"], previous["steps"].get(s, {}).get("median_s"),
                          entry["client_rows"], entry["steps"][s]["median_s"])
                if k is not None:
                    entry["slopes_hint"].append(round(k, 2))
        save()
        previous = entry

    results["loglog"] = loglog(results)
    save()
    print_tables(results)
    print(f"\nresults: {results_path}")


def loglog(results: dict) -> dict:
    sizes = [s for s in results["sizes"].values() if s.get("steps")]
    table = {}
    for step in STEPS:
        seconds = {s["label"]: s["steps"].get(step, {}).get("median_s") for s in sizes}
        slopes = {f"{a['label']}>{b['label']}": slope(a["client_rows"], seconds[a["label"]],
                                                       b["client_rows"], seconds[b["label"]])
                  for a, b in zip(sizes, sizes[1:])}
        table[step] = {"seconds": seconds, "slopes": {k: v and round(v, 3) for k, v in slopes.items()}}
    return table


if __name__ == "__main__":
    main()
