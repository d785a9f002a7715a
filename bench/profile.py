"""Where the time goes: py-spy samples `clientbase ingest` and `clientbase clean` on a generated set.

    python bench/profile.py --size 1m [--out bench/out] [--rate 100] [--top 10]

Uses the set bench/run.py generated (OUT/data-SIZE; run that first). In a fresh database it runs
ingest (sampled), calls (not sampled), clean (sampled), each as its own process under
`py-spy record --idle --format raw`, so time spent waiting on the disk counts too. Time inside C
(SQLite, rapidfuzz, phonenumbers' regexes) is charged to the Python line that called it.

Prints, for each command, the top lines by self time (file:line, function) and the top functions
by inclusive time, and writes OUT/profile-SIZE.json plus the raw stacks (OUT/profile-SIZE/*.txt,
loadable in speedscope or flamegraph.pl).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CALLS_FILE, CLIENT_FILES, size_label, parse_size  # noqa: E402

BENCH = Path(__file__).resolve().parent
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_raw(path: Path) -> tuple[Counter, Counter, int]:
    """(self samples by 'file:line func', inclusive samples by 'file func', total samples)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        seen = set()
        for frame in frames:
            m = _FRAME.match(frame)
            key = f"{m.group('file')} {m.group('func')}" if m else frame
            if key not in seen:
                seen.add(key)
                inclusive[key] += n
        last = _FRAME.match(frames[-1])
        self_time[f"{last.group('file')}:{last.group('line')} {last.group('func')}" if last else frames[-1]] += n
    return self_time, inclusive, total


def report(name: str, path: Path, top: int) -> dict:
    self_time, inclusive, total = parse_raw(path)
    print(f"\n== {name}: {total:,} samples; top {top} lines by self time ==")
    rows_self = []
    for key, n in self_time.most_common(top):
        print(f"{100 * n / total:6.1f}%  {key}")
        rows_self.append({"where": key, "samples": n, "share": round(n / total, 4)})
    print(f"-- top {top} functions by inclusive time (clientbase and libraries) --")
    rows_incl = []
    skip = ("<frozen", "<module>", "typer/", "click/", "clientbase/cli.py main", " __call__")
    for key, n in inclusive.most_common():
        if any(s in key for s in skip) or "bench" in key:
            continue
        print(f"{100 * n / total:6.1f}%  {key}")
        rows_incl.append({"function": key, "samples": n, "share": round(n / total, 4)})
        if len(rows_incl) >= top:
            break
    return {"samples": total, "self": rows_self, "inclusive": rows_incl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1m")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--as-of", default="2026-11-20")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()

    label = size_label(parse_size(args.size))
    data = args.out.resolve() / f"data-{label}"
    if not (data / "generate.json").exists():
        sys.exit(f"{data} has no generated set: run bench/run.py --sizes {label} first")
    pyspy = shutil.which("py-spy") or str(Path(args.python).with_name("py-spy"))
    cb = str(Path(args.python).with_name("clientbase"))
    work = args.out.resolve() / f"profile-{label}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = ["--db", str(work / "clientbase.db")]

    def sampled(name: str, argv: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run([pyspy, "record", "--idle", "--format", "raw", "-r", str(args.rate), "-o",
                        str(work / f"{name}.txt"), "--", *argv], check=True, cwd=work,
                       stdout=subprocess.DEVNULL, stderr=open(work / f"{name}.err", "wb"))
        return time.perf_counter() - start

    results = {"size": label, "rate": args.rate}
    results["ingest_seconds"] = round(sampled("ingest", [cb, *db, "ingest", *(str(data / f) for f in CLIENT_FILES)]), 2)
    subprocess.run([cb, *db, "-q", "calls", str(data / CALLS_FILE)], check=True, cwd=work)
    results["clean_seconds"] = round(sampled("clean", [cb, *db, "clean", "--as-of", args.as_of]), 2)
    for name in ("ingest", "clean"):
        print(f"\n{name}: {results[name + '_seconds']} s under py-spy")
        results[name] = report(name, work / f"{name}.txt", args.top)
    (work / "clientbase.db").unlink(missing_ok=True)
    shutil.rmtree(work / "clientbase.db.backups", ignore_errors=True)
    out = args.out.resolve() / f"profile-{label}.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nprofile: {out}")


if __name__ == "__main__":
    main()
