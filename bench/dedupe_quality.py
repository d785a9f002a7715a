"""Pairwise precision, recall and F1 of find_clusters alone, on an ingested base with known truth.

Building the match records from the database takes a while at 1M; they are pickled next to the
database once, so each later run costs only find_clusters and the scoring:

    clientbase --db /tmp/f1/d100k.db ingest data/crm_export.csv data/1c_export.csv data/purchased_base.csv
    python bench/dedupe_quality.py /tmp/f1/d100k.db data/truth.csv --show 20

Unlike the other bench scripts this one imports clientbase: it measures the matching rules, not the CLI.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import sqlite3
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_truth, pairwise_scores  # noqa: E402

from clientbase.phones import city_key  # noqa: E402
from clientbase.pipeline import _listed  # noqa: E402
from clientbase.dedupe import DedupeSettings, MatchRecord, find_clusters  # noqa: E402
from clientbase.store import Store  # noqa: E402


def match_records(db: Path) -> tuple[list[MatchRecord], dict[int, str], dict[int, str]]:
    """(match records, record id -> ref, record id -> display name), built as pipeline._deduplicate does."""
    store = Store.open(db)
    try:
        records = [
            MatchRecord(
                record_id=record_id, name_key=name_key, person=bool(person), city=city_key(city),
                inn=inn if inn_valid else None, kpp=kpp,
                phones=_listed(phones), emails=_listed(emails), email_domains=_listed(domains),
            )
            for record_id, name_key, person, city, inn, inn_valid, kpp, phones, emails, domains in store.match_facts()
        ]
    finally:
        store.close()
    conn = sqlite3.connect(db)  # what the report shows of a record
    refs, names = {}, {}
    for record_id, ref, name in conn.execute("SELECT id, ref, name FROM records WHERE status = 'ok'"):
        refs[record_id] = ref
        names[record_id] = name or ""
    conn.close()
    return records, refs, names


def cached_records(db: Path) -> tuple[list[MatchRecord], dict[int, str], dict[int, str]]:
    cache = db.with_suffix(".records.pickle")
    if cache.exists() and cache.stat().st_mtime >= db.stat().st_mtime:
        with open(cache, "rb") as handle:
            return pickle.load(handle)
    built = match_records(db)
    with open(cache, "wb") as handle:
        pickle.dump(built, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return built


def _worker_cpu() -> float:
    """CPU seconds of the finished worker processes (the name search's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def describe(record: MatchRecord, ref: str, name: str, entity: str) -> str:
    return (f"    {ref:24} {entity:8} {name[:40]!r:44} key={record.name_key!r} city={record.city} "
            f"inn={record.inn} kpp={record.kpp} phones={','.join(record.phones)} domains={','.join(record.email_domains)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("truth", type=Path)
    parser.add_argument("--show", type=int, default=0, help="print this many false merges and misses")
    parser.add_argument("--memory", action="store_true", help="trace find_clusters' peak allocation (slower)")
    parser.add_argument("--one-process", action="store_true", help="look for similar names in this process too")
    args = parser.parse_args()

    records, refs, names = cached_records(args.db)
    truth = load_truth(args.truth)
    if args.memory:
        tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu_start, worker_start = time.perf_counter(), time.process_time(), _worker_cpu()
    result = find_clusters(records, DedupeSettings(), parallel=not args.one_process)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    worker_cpu = _worker_cpu() - worker_start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = f", peak {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MB traced" if args.memory else ""
    peak += f", peak RSS {rss_before:.0f} MB with the records -> {rss_after:.0f} MB"
    if worker_cpu:  # its peak RSS is not told: Linux carries this process's over the exec
        peak += f"; the name search's process {worker_cpu:.1f} s CPU"
    cluster_of = {refs[r]: str(n) for n, cluster in enumerate(result.clusters) for r in cluster}
    scores = pairwise_scores(cluster_of, truth, cluster_of)
    decisions = Counter(p.decision for p in result.pairs)
    print(f"{len(records)} records, {len(result.clusters)} clusters, {decisions['review']} review pairs, "
          f"find_clusters {seconds:.1f} s ({cpu:.1f} s CPU){peak}")
    print(f"precision {scores.precision:.4f} recall {scores.recall:.4f} F1 {scores.f1:.4f}  "
          f"(true pairs {scores.true_pairs}, predicted {scores.predicted_pairs}, both {scores.true_positive_pairs})")
    if args.show:
        show_errors(result, records, refs, names, truth, args.show)


def show_errors(result, records, refs, names, truth, count: int) -> None:
    """The clusters that join the most true-pair-less records, then the entities split the most."""
    by_id = {r.record_id: r for r in records}
    entity_of = {r: truth.get(refs[r]) or f"?{r}" for r in by_id}
    rule_of: dict[int, str] = {}
    for pair in result.pairs:
        if pair.decision == "merged":
            rule_of.setdefault(pair.b, f"{pair.rule}: {pair.detail}")
    wrong = []
    for cluster in result.clusters:
        entities = Counter(entity_of[r] for r in cluster)
        if len(entities) > 1:
            false_pairs = (len(cluster) ** 2 - sum(n * n for n in entities.values())) // 2
            wrong.append((false_pairs, cluster))
    wrong.sort(key=lambda item: -item[0])
    print(f"\n{len(wrong)} clusters mix entities; the worst {count}:")
    for false_pairs, cluster in wrong[:count]:
        print(f"  {false_pairs} false pairs")
        for r in cluster[:12]:
            print(describe(by_id[r], refs[r], names[r], entity_of[r]) + f"  <- {rule_of.get(r, '')}")

    cluster_of = {r: n for n, cluster in enumerate(result.clusters) for r in cluster}
    members: dict[str, list[int]] = defaultdict(list)
    for r, entity in entity_of.items():
        members[entity].append(r)
    split = []
    for entity, group in members.items():
        parts = Counter(cluster_of[r] for r in group)
        if len(parts) > 1:
            missed = (len(group) ** 2 - sum(n * n for n in parts.values())) // 2
            split.append((missed, entity, group))
    split.sort(key=lambda item: (-item[0], item[1]))
    print(f"\n{len(split)} entities split; the worst {count}:")
    for missed, entity, group in split[:count]:
        print(f"  {entity}: {missed} missed pairs")
        for r in sorted(group, key=lambda r: cluster_of[r])[:12]:
            print(describe(by_id[r], refs[r], names[r], entity) + f"  cluster {cluster_of[r]}")


if __name__ == "__main__":
    main()
