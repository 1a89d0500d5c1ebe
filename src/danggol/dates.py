"""Calendar arithmetic shared by every layer: offsets of days, weeks, months and years.

Months and years keep the day of the month, clamped to the month's end:

>>> import datetime as dt
>>> shift(dt.date(2025, 3, 31), -1, "m")
datetime.date(2025, 2, 28)
>>> shift(dt.date(2024, 2, 29), -1, "y")
datetime.date(2023, 2, 28)
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from danggol.errors import ConfigError

UNITS = ("d", "w", "m", "y")


def check_date(name: str, value: Any) -> dt.date:
    """``value`` when it is a date (not a datetime), else a ConfigError naming ``name``.

    >>> check_date("as_of", dt.datetime(2025, 6, 30))
    Traceback (most recent call last):
    ...
    danggol.errors.ConfigError: as_of must be a date like date(2025, 6, 30); got datetime.datetime(2025, 6, 30, 0, 0)
    """
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ConfigError(f"{name} must be a date like date(2025, 6, 30); got {value!r}")
    return value


#: the days a question can be asked for (the edges' date parsers refuse others, so that a
#: window of years before or after one stays on the calendar)
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2999, 12, 31)


def read_day(text: str) -> dt.date:
    """A day written YYYY-MM-DD between :data:`EARLIEST_DAY` and :data:`LATEST_DAY` — the one
    rule of the CLI's and the API's date parsers, which name their option or parameter in the
    error.

    >>> read_day(" 2025-06-30 ")
    datetime.date(2025, 6, 30)
    >>> read_day("0001-01-01")
    Traceback (most recent call last):
    ...
    ValueError: a date from 1900-01-01 to 2999-12-31; got '0001-01-01'
    """
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"a date as YYYY-MM-DD (like 2025-06-30); got {text!r}") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"a date from {EARLIEST_DAY} to {LATEST_DAY}; got {text!r}")
    return day


def shift(day: dt.date, amount: int, unit: str) -> dt.date:
    """``day`` moved by ``amount`` units (negative: into the past)."""
    if unit in ("d", "w"):
        try:
            return day + dt.timedelta(days=amount * (7 if unit == "w" else 1))
        except OverflowError:
            raise ConfigError(f"the offset {amount}{unit} from {day} leaves the calendar") from None
    if unit not in ("m", "y"):
        raise ConfigError(f"a date offset unit is one of d, w, m, y; got {unit!r}")
    months = amount * (12 if unit == "y" else 1)
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ConfigError(f"the offset {amount}{unit} from {day} leaves the calendar")
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
