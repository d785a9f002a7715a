"""The health of the base on one screen: what a head of sales needs to see, as plain sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clientbase.rank import RankSettings


@dataclass
class Section:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)
    note: str | None = None


@dataclass
class Report:
    as_of: str
    sections: list[Section]


def _share(value: float | None, total: float) -> str:
    return f"{100 * max(value or 0, 0) / total:.1f}%" if total else "-"


def run_counts(summary: dict) -> dict[str, int]:
    """The figures of one clean worth comparing with the next one."""
    dedupe, phones, rules = summary["dedupe"], summary["phones"], summary["rules"]
    flat = {
        "records": dedupe["records"], "clients": dedupe["clients"], "review pairs": dedupe["review_pairs"],
        "numbers dead": phones["dead"], "numbers mismatched": phones["mismatch"],
        "in quarantine": phones["in_quarantine"], "owned": rules["owned"], "pool": rules["pool"],
        "snoozed": rules["snoozed"], "conflicts": rules["conflicts"], "key clients": rules["key_clients"],
    }
    flat.update({f"segment {k}": v for k, v in rules["segments"].items()})
    flat.update({f"class {k}": v for k, v in rules["abcde"].items()})
    return flat


_CHANGES = "Changed since the run before"


def build_report(as_of: str, figures: dict[str, list[tuple]], runs: list[tuple[str, str, dict]],
                 rank: RankSettings) -> Report:
    sections = []
    ingested = Section("Rows ingested", ("source", "ok", "rejected", "reasons"))
    per_source: dict[str, list] = {}
    for source, status, reason, count in figures["records"]:
        entry = per_source.setdefault(source, [0, 0, []])
        if status == "ok":
            entry[0] += count
        else:
            entry[1] += count
            entry[2].append(f"{count} {reason}")
    ingested.rows = [(s, ok, bad, "; ".join(reasons)) for s, (ok, bad, reasons) in per_source.items()]
    sections.append(ingested)
    calls = Section("Calls imported", ("status", "reason", "calls"), list(figures["calls"]),
                    note="rows as read: a call several rows carry is judged once")
    if calls.rows:
        sections.append(calls)

    merged = dict(figures["duplicates"])
    hubs = figures["hubs"]
    sections.append(Section("Duplicates", ("what", "count"), [
        ("pairs merged", merged.get("merged", 0)), ("pairs waiting for review", merged.get("review", 0)),
        ("hub phones (shared by unrelated clients)", len(hubs)),
    ], note=("top hubs: " + ", ".join(f"{e} ({n})" for e, n in hubs[:5])) if hubs else None))
    sections.append(Section("Phones by status", ("status", "numbers"), list(figures["phones"])))
    quarantine = figures["quarantine"]
    sections.append(Section("Quarantine", ("reason", "clients", "due for re-check"), list(quarantine)))
    (conflicts,), (expiring,), (expired,) = figures["conflicts"][0], figures["expiring"][0], figures["expired"][0]
    sections.append(Section("Ownership", ("what", "count"), [
        ("clients claimed by two managers", conflicts), ("terms ending within 7 days", expiring),
        ("terms expired in the last 30 days", expired),
    ]))
    sections.append(Section("Clients by state", ("state", "clients"), list(figures["states"])))
    sections.append(Section("Clients by segment", ("segment", "clients"), list(figures["segments"])))
    sections.append(Section("Load per manager", ("manager", "clients", "class A", "quarantined", "due today"),
                            [tuple(r) for r in figures["managers"]]))
    by_channel: dict[str, dict[str, int]] = {}
    for channel, letter, count in figures["abcde"]:
        by_channel.setdefault(channel or "(no channel)", {})[letter] = count
    sections.append(Section("ABCDE by channel", ("channel", "A", "B", "C", "D", "E"),
                            [(ch, *(row.get(k, 0) for k in "ABCDE")) for ch, row in by_channel.items()]))
    total = figures["profit"][0][0] or 0
    sections.append(Section("Key-client dependency", ("client", "name", "level", "share of profit"),
                            [(cid, name, level, _share(value, total)) for cid, name, level, value in
                             figures["dependency"]],
                            note=f"key > {rank.key_share * 100:g}%, critical > {rank.critical_share * 100:g}%, "
                                 f"mono-client > {rank.mono_share * 100:g}% of the company's profit"))
    if len(runs) >= 2:
        (_, day, now), (_, before_day, before) = runs[0], runs[1]
        changes = [(k, before.get(k, 0), now.get(k, 0), now.get(k, 0) - before.get(k, 0))
                   for k in sorted(set(now) | set(before)) if now.get(k, 0) != before.get(k, 0)]
        # One title whatever the days, which the note gives: a script reads the section by it.
        sections.append(Section(_CHANGES, ("figure", "before", "now", "change"), changes,
                                note=f"clean of {before_day} -> {day}" + ("" if changes else ": nothing changed")))
    elif runs:
        sections.append(Section(_CHANGES, ("figure",), [], note="only one clean so far"))
    return Report(as_of, sections)
