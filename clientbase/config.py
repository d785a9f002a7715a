"""The rules in force: a typed config loaded once from TOML, defaults from DOMAIN.md."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from difflib import get_close_matches
from pathlib import Path

from clientbase.errors import UserError
from clientbase.rank import RankSettings


class RulesError(UserError):
    """A rules file that cannot be used; the message is one line naming the file and the setting."""


@dataclass(frozen=True)
class IngestRules:
    default_region: str = "RU"
    default_area_code: str = ""
    source_priority: tuple[str, ...] = ("crm", "1c", "purchased")


def source_rank(source: str, priority: Sequence[str]) -> int:
    """Position of the source in the trusted list (matched as a name prefix, a Cyrillic letter as the Latin
    one it looks like: `1С.csv` is 1c); unknown sources come last."""
    lowered = source.casefold().translate(_LATIN_LOOKALIKES)
    for index, prefix in enumerate(priority):
        if lowered.startswith(prefix.casefold().translate(_LATIN_LOOKALIKES)):
            return index
    return len(priority)


# Lower-case Cyrillic letters whose capitals look like Latin ones, to the Latin letter.
_LATIN_LOOKALIKES = str.maketrans("авсенкмортху", "abcehkmoptxy")


# Here, not in dedupe.py: loading the rules must not import the clustering and rapidfuzz.
@dataclass(frozen=True)
class DedupeSettings:
    merge_score: float = 92.0  # name similarity at which a pair corroborated by its city merges
    review_score: float = 85.0  # from here up to merge_score: listed for review, not merged
    hub_min_clients: int = 3  # a key on this many clearly different clients is a hub, not a key


@dataclass(frozen=True)
class PhoneRules:
    no_answer_streak: int = 5
    no_answer_min_days: int = 14


@dataclass(frozen=True)
class QuarantineRules:
    recheck_days: int = 180
    snooze_days: int = 365


@dataclass(frozen=True)
class CycleRules:
    rest_days: int = 30
    rest_days_by_class: tuple[str, ...] = ()  # e.g. ("A=14", "E=60")

    def rest_for(self, abcde: str | None) -> int:
        """Days a client of this class rests after a contact."""
        for item in self.rest_days_by_class:
            letter, _, days = item.partition("=")
            if letter.strip().upper() == abcde:
                return int(days)
        return self.rest_days


@dataclass(frozen=True)
class OwnershipRules:
    term_days: int = 90
    max_term_days: int = 365
    conflict_rule: str = "earliest"


@dataclass(frozen=True)
class TodayRules:
    quota: int = 50
    birthday_days: int = 3
    call_from: str = "09:00"
    call_until: str = "20:00"
    team: tuple[str, ...] = ()  # managers who get a list whether or not they own a client now


@dataclass(frozen=True)
class AccessRules:
    manager_columns: tuple[str, ...] = (
        "client_id", "name", "inn", "kpp", "city", "channel", "owner", "owner_until", "segment", "abcde",
        "last_contact", "next_due", "state", "record_ref", "raw", "e164", "extension", "type", "region", "status",
        "reason", "since", "recheck_on", "manager", "phone", "contact", "overdue_days", "timezone", "call_window",
    )


@dataclass(frozen=True)
class SafetyRules:
    backups: int = 7


@dataclass(frozen=True)
class Rules:
    ingest: IngestRules = field(default_factory=IngestRules)
    dedupe: DedupeSettings = field(default_factory=DedupeSettings)
    phones: PhoneRules = field(default_factory=PhoneRules)
    quarantine: QuarantineRules = field(default_factory=QuarantineRules)
    cycle: CycleRules = field(default_factory=CycleRules)
    ownership: OwnershipRules = field(default_factory=OwnershipRules)
    rank: RankSettings = field(default_factory=RankSettings)
    today: TodayRules = field(default_factory=TodayRules)
    access: AccessRules = field(default_factory=AccessRules)
    safety: SafetyRules = field(default_factory=SafetyRules)


# Why each setting exists, written into `clientbase init`'s file as comments.
COMMENTS: dict[str, str] = {
    "ingest": "Reading dumps and normalising phones.",
    "ingest.default_region": "Country of numbers written without a country code.",
    "ingest.default_area_code": 'Area code for bare local numbers when the city has several (e.g. "495" for Moscow); empty: leave them incomplete.',
    "ingest.source_priority": "Most trusted sources first (matched as a prefix of the source name); used for golden records, and between two managers' claims of one day.",
    "dedupe": "Deduplication: one real buyer, one client.",
    "dedupe.merge_score": "Name similarity (0-100) at which a corroborated fuzzy pair merges.",
    "dedupe.review_score": "Name similarity from which a pair goes to the review list instead of being ignored.",
    "dedupe.hub_min_clients": ("A phone or e-mail on this many clearly different clients (2 or more) is a hub (reception, "
                                "call centre), not a key; so is one on two valid INNs, always. A hub phone is suspect."),
    "phones": "Phone health from call outcomes.",
    "phones.no_answer_streak": "No-answer/busy attempts in a row, with no answer between, that make a number dead...",
    "phones.no_answer_min_days": "...when they span at least this many days.",
    "quarantine": "The quarantine (отстойник).",
    "quarantine.recheck_days": "Days after which quarantined contacts come back to be called again.",
    "quarantine.snooze_days": "Default snooze for a client whose purchasing is done elsewhere.",
    "cycle": "Rest between contacts.",
    "cycle.rest_days": "Days a client rests after any contact.",
    "cycle.rest_days_by_class": 'Rest per ABCDE class where it differs, e.g. ["A=14", "E=60"].',
    "ownership": "One client, one manager.",
    "ownership.term_days": "Days a manager holds a client from assignment or last result.",
    "ownership.max_term_days": "The longest term `assign --days` may give: managers must not hoard clients.",
    "ownership.conflict_rule": "Who keeps a client claimed twice: earliest or latest assignment.",
    "rank": "Segments and ABCDE.",
    "rank.active_days": "A client who bought within this many days is active; before that, lost.",
    "rank.max_share": "Pareto tier: running share of the total before a client below this is maximum...",
    "rank.high_share": "...below this is high, otherwise low.",
    "rank.key_share": "Share of company profit (above 0, at most 1) that makes a key client (exempt from expiry).",
    "rank.critical_share": "Share that makes a critical dependency (not below key_share).",
    "rank.mono_share": "Share that makes a mono-client (not below critical_share).",
    "today": "Today's call lists.",
    "today.quota": "Calls per manager per day.",
    "today.birthday_days": "Flag a decision maker's birthday within this many days.",
    "today.call_from": "Earliest local time to call a client.",
    "today.call_until": "Latest local time to call a client.",
    "today.team": 'Managers who get a list from `today` for everyone even when they own no client now (all theirs expired), e.g. ["Иванова Анна", "Петров Олег"]; owners get one anyway.',
    "access": "What a manager may see.",
    "access.manager_columns": "Columns an export or list made with --manager may carry (no profit by default).",
    "safety": "Undo.",
    "safety.backups": "Snapshots kept before commands that rewrite derived data (clean, unmerge, restore).",
}


def _section_types() -> dict[str, type]:
    return {f.name: f.default_factory for f in fields(Rules)}  # type: ignore[misc]


# Each setting's type in the words of someone editing the file, not Python's.
_KINDS = {bool: "true or false", int: "a whole number", float: "a number", tuple: 'a list of texts in quotes, '
          'like ["a", "b"]', str: "a text in quotes"}

# The least and the most each number may be where 0 up is not enough, and why (said in the error).
_RANGES: dict[str, tuple[float, float | None, str]] = {
    "dedupe.merge_score": (0, 100, "a name similarity in percent"),
    "dedupe.review_score": (0, 100, "a name similarity in percent"),
    "dedupe.hub_min_clients": (2, None, "a phone on one client is no hub"),
    "phones.no_answer_streak": (1, None, ""),
    "quarantine.recheck_days": (1, None, "0 would bring the quarantined back every day"),
    "quarantine.snooze_days": (1, None, ""),
    "ownership.term_days": (1, None, "0 would send every client back to the pool at once"),
    "ownership.max_term_days": (1, None, ""),
    "rank.active_days": (1, None, ""),
    "today.quota": (1, 10_000, "calls one manager makes in a day"),
}


def _coerce(path: str, key: str, default: object, value: object) -> object:
    where = f"{path}: [{key.split('.')[0]}] {key.split('.')[1]}"
    typed = value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value  # type: ignore[arg-type]
    elif isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value  # type: ignore[arg-type]
    else:
        ok = isinstance(value, str)
    if not ok:
        raise RulesError(f"{where} must be {_KINDS[type(default)]}, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if key.endswith("_share"):
        # A percentage written for a share (10 for 0.10) would silently make nobody key or every client maximum;
        # 0 would make every client key (never expiring) or none maximum.
        if not 0 < value <= 1:  # written so that nan is refused too
            raise RulesError(f"{where} must be a share above 0 and at most 1 (0.10 for 10%), got {typed!r}")
        return value
    least, most, why = _RANGES.get(key, (0, None, ""))
    if not (value >= least and (most is None or value <= most)):
        allowed = f"from {least} to {most}" if most is not None else f"{least} or more"
        raise RulesError(f"{where} must be {allowed}{f' ({why})' if why else ''}, got {typed!r}")
    return value


_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def load_rules(path: Path | None) -> Rules:
    """Read a rules file over the defaults; None gives the built-in defaults."""
    if path is None:
        return Rules()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: rules file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    rules = Rules()
    sections = _section_types()
    for name, table in data.items():
        if not isinstance(table, dict):  # `quota = 5` above every section
            home = next((section for section in sections if name in {f.name for f in fields(getattr(rules, section))}),
                        None)
            raise RulesError(f"{path}: setting {name} is outside a section"
                             f"{f': put it under [{home}]' if home else ''}")
        if name not in sections:
            raise RulesError(f"{path}: unknown section [{name}]")
        current = getattr(rules, name)
        known = {f.name for f in fields(current)}
        changes = {}
        for key, value in table.items():
            if key not in known:
                raise RulesError(f"{path}: unknown setting [{name}] {key}")
            changes[key] = _coerce(str(path), f"{name}.{key}", getattr(current, key), value)
        rules = replace(rules, **{name: replace(current, **changes)})
    if rules.ownership.conflict_rule not in ("earliest", "latest"):
        raise RulesError(f"{path}: [ownership] conflict_rule must be 'earliest' or 'latest'")
    ownership, written = rules.ownership, data.get("ownership", {})
    if "max_term_days" not in written and ownership.term_days > ownership.max_term_days:
        # A file written before max_term_days, with a longer usual term, still reads: that term is then the longest.
        rules = replace(rules, ownership=replace(ownership, max_term_days=ownership.term_days))
    elif ownership.term_days > ownership.max_term_days:
        raise RulesError(f"{path}: [ownership] term_days must not exceed max_term_days, got {ownership.term_days}"
                         f"{'' if 'term_days' in written else ' (the default)'} over {ownership.max_term_days}")
    classes: dict[str, str] = {}
    for item in rules.cycle.rest_days_by_class:
        letter, sep, days = item.partition("=")
        letter = letter.strip().upper()
        if not sep or letter not in ("A", "B", "C", "D", "E") or not days.strip().isdigit():
            raise RulesError(f'{path}: [cycle] rest_days_by_class: {item!r} is not like "A=14"')
        if letter in classes:  # only the first would count
            raise RulesError(f"{path}: [cycle] rest_days_by_class names class {letter} twice: "
                             f"{classes[letter]!r} and {item!r}")
        classes[letter] = item
    dedupe = rules.dedupe
    if dedupe.review_score > dedupe.merge_score:
        raise RulesError(f"{path}: [dedupe] review_score must not exceed merge_score, got {dedupe.review_score:g} "
                         f"over {dedupe.merge_score:g}")
    region = rules.ingest.default_region
    if region != IngestRules.default_region:
        from clientbase.phones import known_region  # here: only a file naming a region loads phonenumbers

        if not known_region(region):
            raise RulesError(f"{path}: [ingest] default_region must be a country code such as RU, BY or KZ, "
                             f"got {region!r}")
    _check_area_code(path, rules.ingest.default_area_code, region.upper() == "RU")
    for key in ("call_from", "call_until"):
        if not _HHMM.fullmatch(getattr(rules.today, key)):
            raise RulesError(f"{path}: [today] {key} must be a time HH:MM, got {getattr(rules.today, key)!r}")
    if rules.today.call_from >= rules.today.call_until:
        raise RulesError(f"{path}: [today] call_from must be before call_until")
    if any(not name.strip() for name in rules.today.team):
        raise RulesError(f"{path}: [today] team must list managers' names, got an empty one")
    # The maximum tier lies within the high one, and a mono-client is a critical one is a key one (DOMAIN.md §6).
    for lower, upper in (("max_share", "high_share"), ("key_share", "critical_share"),
                         ("critical_share", "mono_share")):
        if getattr(rules.rank, lower) > getattr(rules.rank, upper):
            raise RulesError(f"{path}: [rank] {lower} must not exceed {upper}, got {getattr(rules.rank, lower):g} "
                             f"over {getattr(rules.rank, upper):g}")
    if not rules.access.manager_columns:
        raise RulesError(f"{path}: [access] manager_columns must list at least one column: an export with nothing "
                         "in it is no export")
    if rules.access.manager_columns != AccessRules.manager_columns:
        from clientbase.app import EXPORTS, TODAY_COLUMNS  # here: only a file naming the columns needs the tables

        known = {column for columns in (*EXPORTS.values(), TODAY_COLUMNS) for column in columns}
        for column in rules.access.manager_columns:
            if column not in known:
                close = get_close_matches(column, sorted(known), n=1)
                raise RulesError(f"{path}: [access] manager_columns: {column!r} is no column of an export or a call "
                                 f"list{f' (did you mean {close[0]!r}?)' if close else ''}")
    return rules


def _check_area_code(path: Path | str, written: str, russian: bool) -> None:
    """A Russian area code starts with 3, 4 or 8 (812); `+7495` carries the country's code, `8 (495)` or `8495`
    the trunk prefix, and either would complete no number."""
    area_code = re.sub(r"[\s()-]", "", written)
    if not area_code:
        return
    if russian:
        from clientbase.phones import CITY_AREA_CODES  # here: only a file naming an area code loads phonenumbers

        known = {code for codes in CITY_AREA_CODES.values() for code in codes}
        prefixed = re.match(r"\s*8\s*[\s(-]", written) or (
            len(area_code) == 4 and area_code[0] == "8" and area_code[1:] in known and area_code not in known)
        if prefixed or not re.fullmatch(r"[348]\d{2,4}", area_code):
            raise RulesError(f"{path}: [ingest] default_area_code must be an area code alone, 3 to 5 digits such "
                             f"as \"495\" (without +7 or 8), got {written!r}")
    elif not re.fullmatch(r"\d{1,5}", area_code):
        raise RulesError(f"{path}: [ingest] default_area_code must be an area code alone, digits, got {written!r}")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def rules_to_toml(rules: Rules, *, comments: bool = True) -> str:
    lines: list[str] = []
    if comments:
        lines += ["# clientbase rules. Every setting is optional: a missing one takes its default.", ""]
    for section in fields(rules):
        values = getattr(rules, section.name)
        if comments:
            lines.append(f"# {COMMENTS[section.name]}")
        lines.append(f"[{section.name}]")
        for item in fields(values):
            key = f"{section.name}.{item.name}"
            if comments and key in COMMENTS:
                lines.append(f"# {COMMENTS[key]}")
            lines.append(f"{item.name} = {_toml_value(getattr(values, item.name))}")
        lines.append("")
    return "\n".join(lines)
