from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientbase.values import birthday_on, parse_birthday, parse_date, parse_datetime, parse_money


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
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_datetimes():
    assert parse_datetime("2026-10-05 10:31:00") == datetime(2026, 10, 5, 10, 31)
    assert parse_datetime("05.10.2026 10:31") == datetime(2026, 10, 5, 10, 31)
    assert parse_datetime("05.10.2026") == datetime(2026, 10, 5)
    assert parse_datetime("вчера") is None


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
    parse_datetime(text)
    parse_money(text)


@given(st.text())
def test_a_birthday_is_a_date_of_some_year_or_none(text):
    birthday = parse_birthday(text)
    assert birthday is None or birthday_on(birthday, 2028).year == 2028


def test_a_birthday_without_its_year():
    assert [parse_birthday(t) for t in ("23.11", " 5.3. ", "29/02", "23.11.1980", "31.02", "13.13", "2311")] == [
        "--11-23", "--03-05", "--02-29", "1980-11-23", None, None, None]
    assert birthday_on("--02-29", 2027) == date(2027, 3, 1) and birthday_on("--02-29", 2028) == date(2028, 2, 29)
