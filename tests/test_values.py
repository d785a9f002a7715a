from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientbase.values import parse_date, parse_datetime, parse_money


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
