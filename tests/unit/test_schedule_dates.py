import datetime as dt

import pytest

from edc.schedule.dates import Duration, add_days, add_months, add_years, days_between

D = dt.date


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (D(2024, 2, 29), 1, D(2025, 2, 28)),  # §1.6.2: clamp to the month end
        (D(2024, 2, 29), 4, D(2028, 2, 29)),  # leap year again: no clamp
        (D(2026, 3, 2), 2, D(2028, 3, 2)),  # §1.6.4 cap example
        (D(2025, 12, 31), 1, D(2026, 12, 31)),
        (D(2028, 2, 29), -1, D(2027, 2, 28)),
    ],
)
def test_add_years_clamps_29_february(start, years, expected):
    assert add_years(start, years) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2026, 8, 31), 1, D(2026, 9, 30)),
        (D(2026, 11, 15), 3, D(2027, 2, 15)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 1, 1), 0, D(2026, 1, 1)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_cap_from_29_february_anchor_is_28_february_two_years_later():
    assert Duration(years=2).after(D(2024, 2, 29)) == D(2026, 2, 28)


def test_duration_adds_calendar_units_before_days():
    assert Duration(years=1, days=3).after(D(2024, 2, 29)) == D(2025, 3, 3)
    assert Duration(months=1, days=1).after(D(2026, 1, 31)) == D(2026, 3, 1)


def test_two_calendar_years_from_march_2026_span_731_days():
    start = D(2026, 3, 2)
    assert days_between(start, add_years(start, 2)) == 731
    assert add_days(start, 714) == D(2028, 2, 14)
