from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientbase.values import birthday_on, parse_birthday, parse_date, parse_moment, parse_money


@pytest.mark.parametrize(
    "text, expected",
    [
        ("31.12.2025", date(2025, 12, 31)),
        ("2025-12-31", date(2025, 12, 31)),
        ("2025-12-31T00:00:00", date(2025, 12, 31)),
        ("31/12/2025", date(2025, 12, 31)),
        ("31.12.25", date(2025, 12, 31)),
        ("46022", date(2025, 12, 31)),  # Excel serial
        ("31.02.2025", None),
        ("1 234 567", None),
        ("", None),
        # As 1C and people write them.
        ("01.10.2026 г.", date(2026, 10, 1)),
        ("01.10.2026г.", date(2026, 10, 1)),
        ("1 октября 2026 г.", date(2026, 10, 1)),
        ("1 октября 2026 года", date(2026, 10, 1)),
        ("01 мар 2026", date(2026, 3, 1)),
        ("1 Мар. 2026", date(2026, 3, 1)),
        ("01-мар-26", date(2026, 3, 1)),  # Excel's Russian date format
        ("2026.03.01", date(2026, 3, 1)),
        ("20260301", None),  # eight bare digits: as likely any other number
        ("31 февраля 2026", None),
        ("1 октября", None),
        ("2026 г.", None),
        ("01.01.0001 0:00:00", None),  # 1C's empty date
        ("01.01.0001", None),
        ("0001-01-01", None),
        ("02.01.0001", date(1, 1, 2)),  # a slip, but a date: the ingest's checks judge it
        ("г.", None),
        # English month names, either order.
        ("23 November 1980", date(1980, 11, 23)),
        ("Nov 23, 1980", date(1980, 11, 23)),
        ("23-Nov-2026", date(2026, 11, 23)),
        ("SEPT 5, 1999", date(1999, 9, 5)),
        ("Nov 231980", None),
        ("Nov 1980", None),
        ("31 Feb 2026", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
             "ноября", "декабря")
_SHORT = ("янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
_ENGLISH = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December")
_DAYS = st.dates(min_value=date(1954, 1, 1), max_value=date(2119, 12, 31))


@given(_DAYS, st.sampled_from(["", " г.", "г.", " г", " года", " год"]), st.sampled_from([str, str.upper, str.title]))
def test_a_date_with_its_month_in_words_or_the_year_spelt_out_is_that_date(day, year_word, cased):
    writings = [f"{day:%d.%m.%Y}", f"{day.day} {_GENITIVE[day.month - 1]} {day.year}",
                f"{day:%d} {_SHORT[day.month - 1]} {day.year}", f"{day.day} {_SHORT[day.month - 1]}. {day.year}",
                f"{day:%Y.%m.%d}"]
    for written in writings:
        assert parse_date(cased(written) + year_word) == day, written + year_word
    month = _ENGLISH[day.month - 1]
    for written in (f"{day.day} {month} {day.year}", f"{day:%d}-{month[:3]}-{day.year}",
                    f"{month[:3]} {day.day}, {day.year}", f"{month} {day:%d} {day.year}"):
        assert parse_date(cased(written)) == day and parse_moment(cased(written)) == day.isoformat(), written


@given(st.integers(10_000_000, 99_999_999))
def test_eight_bare_digits_are_no_date(number):
    assert parse_date(str(number)) is None


def test_moments_keep_the_precision_written():
    assert parse_moment("2026-10-05 10:31:00") == "2026-10-05 10:31:00"
    assert parse_moment("05.10.2026 10:31") == "2026-10-05 10:31"
    assert parse_moment("05.10.2026") == "2026-10-05"
    assert parse_moment("2026.10.05 10:31") == "2026-10-05 10:31"
    assert parse_moment("05.10.2026 г.") == "2026-10-05"
    assert parse_moment("вчера") is None
    assert parse_moment("01.01.0001 0:00:00") is parse_moment("0001-01-01 12:30") is None  # 1C's empty date
    assert parse_moment("2026-10-05T10:31") == "2026-10-05 10:31"
    assert parse_moment("2026-10-05T9:31:07") == "2026-10-05 09:31:07"
    assert parse_moment("5.10.2026 10:31:07") == "2026-10-05 10:31:07"
    # A two-digit year, slashes, a zone, fractions or a word after it keep the time: a bare date is one for the day.
    assert parse_moment("01.03.26 18:00") == "2026-03-01 18:00"
    assert parse_moment("01/03/2026 18:00:00") == "2026-03-01 18:00:00"
    assert parse_moment("2026-10-05T10:31:00.250+03:00") == "2026-10-05 10:31:00"
    assert parse_moment("2026-10-05 10:31:00 MSK") == "2026-10-05 10:31:00"


def test_a_moment_with_its_zone_is_given_in_moscow_time():
    assert parse_moment("2026-11-01T07:00:00Z") == parse_moment("2026-11-01 12:00:00+0500") == "2026-11-01 10:00:00"
    assert parse_moment("2026-11-01T22:30Z") == "2026-11-02 01:30"  # the Moscow day, not the UTC one
    assert parse_moment("9999-12-31 23:00Z") is None
    assert parse_moment("2026-11-05 07:15:00 UTC") == parse_moment("2026-11-05 10:15:00+03") == "2026-11-05 10:15:00"


def test_an_excel_serial_keeps_its_time_of_day():
    assert parse_moment("46331.4166666667") == parse_moment("46331,4166666667") == "2026-11-05 10:00:00"
    assert parse_moment("46331") == parse_moment("46331.0") == "2026-11-05"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 234 567,89", 1234567.89),
        ("1\u00a0234\u00a0567,89", 1234567.89),
        ("1234567.89", 1234567.89),
        ("1,234,567.89", 1234567.89),
        ("1.234.567,89", 1234567.89),
        ("-5 000 ₽", -5000.0),
        ("(5000)", -5000.0),
        ("12 500 руб.", 12500.0),
        ("n/a", None),
        ("", None),
    ],
)
def test_money(text, expected):
    assert parse_money(text) == expected


@given(st.text(max_size=40))
def test_no_text_crashes_the_value_parsers(text):
    parse_date(text)
    parse_moment(text)
    parse_money(text)


@given(st.text())
def test_a_birthday_is_a_date_of_some_year_or_none(text):
    birthday = parse_birthday(text)
    assert birthday is None or birthday_on(birthday, 2028).year == 2028


def test_a_birthday_without_its_year():
    assert [parse_birthday(t) for t in ("23.11", " 5.3. ", "29/02", "23.11.1980", "31.02", "13.13", "2311")] == [
        "--11-23", "--03-05", "--02-29", "1980-11-23", None, None, None]
    assert birthday_on("--02-29", 2027) == date(2027, 3, 1) and birthday_on("--02-29", 2028) == date(2028, 2, 29)


@pytest.mark.parametrize("text, expected", [
    ("23 ноября", "--11-23"), ("23 ноября 1980", "1980-11-23"), ("23 нояб.", "--11-23"), ("23 НОЯБРЯ", "--11-23"),
    ("1 мая", "--05-01"), ("29 февраля", "--02-29"), ("31 февраля", None), ("23 Nov", "--11-23"),
    ("Nov 23", "--11-23"), ("23 November 1980", "1980-11-23"), ("Nov 23, 1980", "1980-11-23"), ("ноября", None),
    ("23 ноябрь 1980 г.", "1980-11-23"), ("23 blah", None),
])
def test_a_birthday_with_its_month_in_words(text, expected):
    assert parse_birthday(text) == expected
