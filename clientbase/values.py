"""Parsing of the plain values found in dumps: dates and money."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache

_EXCEL_EPOCH = date(1899, 12, 30)
# Serials from 1954 to 2119: wide enough for birthdays and deals, narrow enough not to take a sum of money for a date.
_SERIAL_MIN, _SERIAL_MAX = 20000, 80000
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_YMD = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
# 1C and people write `01.10.2026 г.`, `1 октября 2026 года`, `01 мар 2026`, `01-мар-26` (Excel's Russian format).
_YEAR_WORD = re.compile(r"(?<=\d)\s*(?:г\.?|года?)$", re.IGNORECASE)
_WRITTEN = re.compile(r"^(\d{1,2})[\s.-]*([а-яё]+)\.?[\s.-]*(\d{2}|\d{4})$", re.IGNORECASE)
_MONTHS = {word: number for number, words in enumerate((
    "январь января янв", "февраль февраля фев февр", "март марта мар", "апрель апреля апр", "май мая",
    "июнь июня июн", "июль июля июл", "август августа авг", "сентябрь сентября сен сент", "октябрь октября окт",
    "ноябрь ноября ноя нояб", "декабрь декабря дек"), start=1) for word in words.split()}
_DAY_MONTH = re.compile(r"^(\d{1,2})[./](\d{1,2})\.?$")
_MONEY_JUNK = re.compile(r"[\s\u00a0\u202f'’₽$€]|руб\.?|р\.|rub", re.IGNORECASE)
_MONEY = re.compile(r"^[-+]?\d+(?:\.\d+)?$")


def parse_date(text: str | None) -> date | None:
    """A date from `31.12.2025`, `2025-12-31`, `2025.12.31`, `31.12.25`, an Excel serial, with `г.` or `года` after
    it, or with the month in words (`1 октября 2026`, `01 мар 2026`); None when it is none of these."""
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
            return parse_date(text[:m.start()])
        if (m := _WRITTEN.match(text)) and (month := _MONTHS.get(m[2].lower())):
            return date(_full_year(m[3]), month, int(m[1]))
    except ValueError:
        return None
    return None


def _full_year(digits: str) -> int:
    """`25` is 2025 and `70` 1970; four digits stay as they are."""
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 70 else 1900
    return year


def parse_birthday(text: str | None) -> str | None:
    """A birthday as an ISO date, or as `--MM-DD` (ISO 8601's date without a year, as vCard writes it) when
    the CRM wrote only the day and month (`23.11`); None when it is neither."""
    if day := parse_date(text):
        return day.isoformat()
    if text and (m := _DAY_MONTH.match(text.strip())):
        month, day_of_month = int(m[2]), int(m[1])
        try:
            date(2000, month, day_of_month)  # a leap year: 29.02 is a birthday
        except ValueError:
            return None
        return f"--{month:02d}-{day_of_month:02d}"
    return None


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


@lru_cache(maxsize=1 << 16)
def days_after(day: str, days: int) -> str:
    """The ISO date `days` after the ISO date `day`."""
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


_ISO_MOMENT = re.compile(r"^(\d{4})[-./](\d\d)[-./](\d\d)[ T](\d\d?):(\d\d)(?::(\d\d))?$")
_DMY_MOMENT = re.compile(r"^(\d\d)\.(\d\d)\.(\d{4}) (\d\d?):(\d\d)(?::(\d\d))?$")


def parse_datetime(text: str | None) -> datetime | None:
    """A date-time such as `2026-10-05 10:31:00` or `05.10.2026 10:31`; a bare date gives midnight."""
    if not text:
        return None
    text = text.strip().replace("T", " ")
    # What dialers write, parsed without strptime's overhead.
    if m := _ISO_MOMENT.match(text):
        year, month, day = m[1], m[2], m[3]
    elif m := _DMY_MOMENT.match(text):
        year, month, day = m[3], m[2], m[1]
    if m:
        try:
            return datetime(int(year), int(month), int(day), int(m[4]), int(m[5]), int(m[6] or 0))
        except ValueError:
            return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"):
        try:
            return datetime.strptime(text[:19], pattern)
        except ValueError:
            continue
    day = parse_date(text)
    return datetime(day.year, day.month, day.day) if day else None


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
