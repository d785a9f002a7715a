"""The official Russian numbering plan (the ministry's ABC-3xx, ABC-4xx, ABC-8xx and DEF-9xx registry files):
who operates every range, in which region, and in which time zone that region lives."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clientbase.errors import UserError

# Registry headers, folded: `АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН` (and the older
# six-column layout without the last two).
_COLUMNS = {
    "code": re.compile(r"^(abc|авс|абв|def|abc def|авс def|код)$"),
    "start": re.compile(r"^(от|from|начало)$"),
    "end": re.compile(r"^(до|to|конец)$"),
    "operator": re.compile(r"^(оператор|operator)$"),
    "region": re.compile(r"^(регион|region|субъект рф)$"),
    "territory": re.compile(r"^(территория гар|территория)$"),
}
_FOLD = re.compile(r"[^0-9a-zа-я]+")


@dataclass(frozen=True, slots=True)
class Range:
    code: str  # three digits: the ABC or DEF code
    start: int  # seven-digit subscriber numbers, inclusive
    end: int
    operator: str
    region: str
    territory: str | None


def plan_columns(header: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        folded = _FOLD.sub(" ", title.casefold().replace("ё", "е")).strip()
        for name, pattern in _COLUMNS.items():
            if name not in found and pattern.match(folded):
                found[name] = index
    missing = [n for n in ("code", "start", "end", "operator", "region") if n not in found]
    if missing:
        raise UserError(f"not a numbering-plan registry: no {', '.join(missing)} column "
                        f"(expected АВС/ DEF;От;До;Емкость;Оператор;Регион)")
    return found


def parse_range(cells: Sequence[str], columns: dict[str, int]) -> Range | None:
    """One registry row, or None when it is not a usable range."""
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    code, start, end = cell("code"), cell("start"), cell("end")
    if not (code.isdigit() and start.isdigit() and end.isdigit()) or len(code) != 3:
        return None
    low, high = int(start), int(end)
    if low > high or high > 9_999_999:
        return None
    return Range(code, low, high, cell("operator"), cell("region"), cell("territory") or None)


class NumberingPlan:
    """Ranges by code, for lookups by bisection."""

    def __init__(self, ranges: Iterable[Range]) -> None:
        by_code: dict[str, list[Range]] = {}
        for r in ranges:
            by_code.setdefault(r.code, []).append(r)
        self._ranges = {code: sorted(rs, key=lambda r: r.start) for code, rs in by_code.items()}
        self._starts = {code: [r.start for r in rs] for code, rs in self._ranges.items()}

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def lookup(self, e164: str) -> Range | None:
        """The range of a Russian number (+7 and ten digits), or None when no range holds it."""
        if not (e164.startswith("+7") and len(e164) == 12):
            return None
        code, number = e164[2:5], int(e164[5:])
        starts = self._starts.get(code)
        if not starts:
            return None
        r = self._ranges[code][bisect_right(starts, number) - 1] if number >= starts[0] else None
        return r if r is not None and r.start <= number <= r.end else None

    def covers(self, e164: str) -> bool:
        """Whether the plan knows the number's code at all: only then can a missing range mean unallocated."""
        return e164.startswith("+7") and e164[2:5] in self._ranges


# Time zones of Russia's regions, by a distinctive part of the registry's region name.
_ZONES: tuple[tuple[str, str], ...] = (
    ("калининград", "Europe/Kaliningrad"),
    ("самар|удмурт|ульянов|астрахан|саратов", "Europe/Samara"),
    ("свердлов|екатеринбург|челябин|тюмен|курган|перм|башкор|оренбург|ханты|ямал", "Asia/Yekaterinburg"),
    ("новосибир|томск|кемеров|кузбасс|алтай|барнаул", "Asia/Novosibirsk"),  # before Омск: Томск holds "омск"
    ("омск", "Asia/Omsk"),
    ("краснояр|хакас|тыва|тува", "Asia/Krasnoyarsk"),
    ("иркутск|бурят", "Asia/Irkutsk"),
    ("якут|саха|забайкал|амур", "Asia/Yakutsk"),
    ("приморск|хабаров|еврейск|владивосток", "Asia/Vladivostok"),
    ("магадан|сахалин", "Asia/Magadan"),
    ("камчат|чукот", "Asia/Kamchatka"),
)
_ZONE_PATTERNS = tuple((re.compile(pattern), zone) for pattern, zone in _ZONES)

# phonenumbers names Kaliningrad's area code (401) by a zone of the same offset abroad, which keeps summer time:
# in summer the call window would open an hour early there.
_FOREIGN_FOR_RUSSIAN = {"Europe/Bucharest": "Europe/Kaliningrad"}


def zone_of_region(region: str | None) -> str | None:
    """The region's time zone; the rest of Russia, Moscow and St Petersburg included, keeps Moscow time."""
    if not region:
        return None
    lowered = region.casefold().replace("ё", "е")
    return next((zone for pattern, zone in _ZONE_PATTERNS if pattern.search(lowered)), "Europe/Moscow")


def zone_of_number(plan: NumberingPlan, e164: str) -> str | None:
    """The number's time zone: from the plan's region when it holds the number (mobiles included),
    else from phonenumbers, which knows fixed lines by their area code."""
    if found := plan.lookup(e164):
        return zone_of_region(found.region)
    # Imported here, not at the top: only today needs it; report, export and the rest start faster without it.
    import phonenumbers
    from phonenumbers import timezone as phone_timezones

    try:
        number = phonenumbers.parse(e164)
        zones = phone_timezones.time_zones_for_number(number)
    except phonenumbers.NumberParseException:
        return None
    if len(zones) != 1 or zones[0] == "Etc/Unknown":
        return None
    if phonenumbers.region_code_for_number(number) == "RU" and zones[0] in _FOREIGN_FOR_RUSSIAN:
        return _FOREIGN_FOR_RUSSIAN[zones[0]]
    return zones[0]

