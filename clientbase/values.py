"""Parsing of the plain values found in dumps: dates and money."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

# Why a call, or a date of the past in a dump, is set aside: dated after the day its file was read (a typo).
FUTURE_DATE = "date in the future"
_EXCEL_EPOCH = date(1899, 12, 30)
_1C_NO_DATE = date(1, 1, 1)
# Serials from 1954 to 2119: wide enough for birthdays and deals, narrow enough not to take a sum of money for a date.
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
# 1C and people write `01.10.2026 г.`, `1 октября 2026 года`, `01 мар 2026`, `01-мар-26` (Excel's Russian format),
# `23 November 1980`, `23-Nov-2026`, `Nov 23, 1980`; a birthday, without its year (`23 ноября`, `Nov 23`).
_YEAR_WORD = re.compile(r"(?<=\d)\s*(?:г\.?|года?)$", re.IGNORECASE)
_YEAR = r"(?:[\s.,-]*(\d{2}|\d{4}))?"
_WRITTEN = re.compile(rf"^(\d{{1,2}})[\s.-]*([a-zа-яё]+)\.?{_YEAR}$", re.IGNORECASE)
# The day must end at a mark or the end: `Nov 231980` is no date.
_WRITTEN_MONTH_FIRST = re.compile(rf"^([a-z]+)\.?\s*(\d{{1,2}})(?![^\s.,-]){_YEAR}$", re.IGNORECASE)
_MONTHS = {word: number for number, words in enumerate((
    "январь января янв january jan", "февраль февраля фев февр february feb", "март марта мар march mar",
    "апрель апреля апр april apr", "май мая may", "июнь июня июн june jun", "июль июля июл july jul",
    "август августа авг august aug", "сентябрь сентября сен сент september sep sept",
    "октябрь октября окт october oct", "ноябрь ноября ноя нояб november nov", "декабрь декабря дек december dec"),
    start=1) for word in words.split()}
_DAY_MONTH = re.compile(r"^(\d{1,2})[./](\d{1,2})\.?$")
_MONEY_JUNK = re.compile(r"[\s\u00a0\u202f'’₽$€]|руб\.?|р\.|rub", re.IGNORECASE)
_MONEY = re.compile(r"^[-+]?\d+(?:\.\d+)?$")


def parse_date(text: str | None) -> date | None:
    """A date from `31.12.2025`, `2025-12-31`, `2025.12.31`, `31.12.25`, an Excel serial, with `г.` or `года` after
    it, or with the month in Russian or English words (`1 октября 2026`, `01 мар 2026`, `Nov 23, 1980`); None when
    it is none of these, or 1C's empty date (see is_no_date)."""
    day = _any_date(text)
    return None if day == _1C_NO_DATE else day


def is_no_date(text: str | None) -> bool:
    """Whether `text` is the date 1C writes in a date left empty, `01.01.0001` (with a time or not): its
    calendar's first day. A purchase or a claim dated so is none, not one of two thousand years ago."""
    return _any_date(text) == _1C_NO_DATE


def _any_date(text: str | None) -> date | None:
    if not text:
        return None
    text = text.strip()
    try:
        if m := _YMD.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text):
            return date(_full_year(m[3]), int(m[2]), int(m[1]))
        if _SERIAL.match(text):
            serial = float(text)
            if _SERIAL_MIN <= serial <= _SERIAL_MAX:
                return _EXCEL_EPOCH + timedelta(days=int(serial))
            return None
        # The rarer writings, tried only once the usual ones fail.
        if m := _YEAR_WORD.search(text):
            return _any_date(text[:m.start()])
        if (written := _written(text)) and written[2]:
            day, month, year = written
            return date(_full_year(year), month, day)
    except ValueError:
        return None
    return None


def _written(text: str) -> tuple[int, int, str | None] | None:
    """(day, month, the year's digits or None) of a date with its month in words; None when it is not one."""
    if m := _WRITTEN.match(text):
        day, word, year = m[1], m[2], m[3]
    elif m := _WRITTEN_MONTH_FIRST.match(text):
        word, day, year = m[1], m[2], m[3]
    else:
        return None
    month = _MONTHS.get(word.lower())
    return (int(day), month, year) if month else None


def _full_year(digits: str) -> int:
    """`25` is 2025 and `70` 1970; four digits stay as they are."""
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 70 else 1900
    return year


def parse_birthday(text: str | None) -> str | None:
    """A birthday as an ISO date, or as `--MM-DD` (ISO 8601's date without a year, as vCard writes it) when
    the CRM wrote only the day and month (`23.11`, `23 ноября`); None when it is neither."""
    if day := parse_date(text):
        return day.isoformat()
    if not text:
        return None
    text = text.strip()
    if m := _DAY_MONTH.match(text):
        day_of_month, month = int(m[1]), int(m[2])
    elif (written := _written(text)) and not written[2]:
        day_of_month, month, _ = written
    else:
        return None
    try:
        date(2000, month, day_of_month)  # a leap year: 29.02 is a birthday
    except ValueError:
        return None
    return f"--{month:02d}-{day_of_month:02d}"


def birthday_on(birthday: str, year: int) -> date:
    """The day a birthday (an ISO date or `--MM-DD`) falls on in `year`: 1 March for 29 February in a common year."""
    month, day = int(birthday[-5:-3]), int(birthday[-2:])
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, 3, 1)


# Cached: the rules work out dates for every client of a base, and a million clients share a few thousand days.
@lru_cache(maxsize=1 << 16)
def iso_date(text: str) -> date:
    return date.fromisoformat(text)


def shift(day: date, days: int) -> date:
    """`day` moved by `days` (back when negative), held at the calendar's ends: a term, rest or re-check that would
    run past 9999-12-31 (a date typed so, an --as-of there, a rule of many days) ends on it, not in an error."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


@lru_cache(maxsize=1 << 16)
def days_after(day: str, days: int) -> str:
    """The ISO date `days` after the ISO date `day`."""
    return shift(date.fromisoformat(day), days).isoformat()


# The time after a date, as dialers write it: `10:31`, `10:31:00`, `10:31:00.250`, with a zone (`Z`, `UTC`,
# `+03:00`, `+03`) or a word after it, read past.
_CLOCK = r"[ T](\d{1,2}):(\d\d)(?::(\d\d)(?:[.,]\d+)?)?(?:\s*(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)(?![\w:]))?(?:\s.*)?$"
# A moment written with its zone is read in Moscow time, the time the lists give (no summer time since 2014).
_MOSCOW = timezone(timedelta(hours=3))
_SERIAL_MOMENT = re.compile(r"^\d{5}[.,]\d+$")  # an Excel date-time: days since 1899-12-30, the time a fraction
_ISO_MOMENT = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})" + _CLOCK)
_ISO_T = re.compile(r"(?<=\d)T(?=\d)")  # `2026-10-05T10:31`, not the T of `23-OCT-2026`
_DMY_MOMENT = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})" + _CLOCK)


def parse_moment(text: str | None) -> str | None:
    """A date-time such as `2026-10-05 10:31:00` or `05.10.2026 10:31` as ISO text to the precision written:
    `2026-10-05 10:31:00`, `2026-10-05 10:31`, or a bare date `2026-10-05`. A dialer writes one call in
    several exports to different precisions; only what was written may tell two calls apart. A time with a
    zone is given in Moscow time; an Excel serial with a fraction (`46331.4166666667`) to the second."""
    if not text:
        return None
    text = _ISO_T.sub(" ", text.strip())
    # What dialers write, parsed without strptime's overhead.
    if m := _ISO_MOMENT.match(text):
        year, month, day = int(m[1]), m[2], m[3]
    elif m := _DMY_MOMENT.match(text):
        year, month, day = _full_year(m[3]), m[2], m[1]
    if m:
        try:
            moment = datetime(year, int(month), int(day), int(m[4]), int(m[5]), int(m[6] or 0))
            if m[7]:
                zone = timezone.utc if m[7].isalpha() else timezone((1 if m[7][0] == "+" else -1) * timedelta(
                    hours=int(m[7][1:3]), minutes=int(m[7][-2:]) if len(m[7]) > 3 else 0))
                moment = moment.replace(tzinfo=zone).astimezone(_MOSCOW).replace(tzinfo=None)
        except (ValueError, OverflowError):
            return None
        if moment.date() == _1C_NO_DATE:  # at any time of day: no date, as parse_date reads it
            return None
        return moment.isoformat(sep=" ", timespec="seconds" if m[6] else "minutes")
    if _SERIAL_MOMENT.match(text) and _SERIAL_MIN <= (serial := float(text.replace(",", "."))) <= _SERIAL_MAX:
        moment = datetime.combine(_EXCEL_EPOCH, datetime.min.time()) + timedelta(seconds=round(serial * 86400))
        return moment.isoformat(sep=" ", timespec="seconds") if serial % 1 else moment.date().isoformat()
    day = parse_date(text)
    return day.isoformat() if day else None


def parse_money(text: str | None) -> float | None:
    """An amount from `1 234 567,89`, `1234567.89`, `1,234,567.89`, `-5 000 ₽`; None when it is not one."""
    if not text:
        return None
    cleaned = _MONEY_JUNK.sub("", text.strip())
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = cleaned.strip("()").replace("−", "-")
    if "," in cleaned and "." in cleaned:
        # The later mark is the decimal one: 1,234,567.89 or 1.234.567,89.
        thousands = "," if cleaned.rfind(",") < cleaned.rfind(".") else "."
        cleaned = cleaned.replace(thousands, "").replace(",", ".")
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    elif cleaned.count(",") > 1:
        cleaned = cleaned.replace(",", "")
    if not _MONEY.match(cleaned):
        return None
    value = float(cleaned)
    return -value if negative else value
