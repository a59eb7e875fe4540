"""Calendar arithmetic for schedules. Pure Python, no Django.

Adding calendar years or months clamps to the last day of the target month, so
29 Feb + 1 year = 28 Feb and 31 Jan + 1 month = 28/29 Feb (domain spec §1.6.2).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


def add_months(start: dt.date, months: int) -> dt.date:
    month_index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last_day))


def add_years(start: dt.date, years: int) -> dt.date:
    return add_months(start, 12 * years)


def add_days(start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=days)


def days_between(earlier: dt.date, later: dt.date) -> int:
    return (later - earlier).days


@dataclass(frozen=True)
class Duration:
    """A calendar length: years and months are calendar units (clamped), days are plain days."""

    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, start: dt.date) -> dt.date:
        # Months first, then days: "2 years and 3 days" from 29 Feb lands on 28 Feb + 3 days.
        return add_days(add_months(start, 12 * self.years + self.months), self.days)
