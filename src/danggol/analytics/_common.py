"""Shared pieces of the analytics: the purchase window, the top-k rule, ratios.

JSON conversion is :mod:`danggol.serial`'s; the purchase window is public as
``danggol.analytics.window_purchases`` / ``window_start``."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import ibis.expr.types as ir

from danggol.dates import shift
from danggol.errors import ConfigError
from danggol.profile import purchases


def window_start(as_of: dt.date, months: int | None) -> dt.date | None:
    """First day of the window "the last ``months`` months" ending on ``as_of``.

    The same date the segment language gives ``date: -12m``: the as-of date moved back by
    calendar months (clamped to the month's end); the window includes both ends. ``None``
    means no lower bound (all time).
    """
    if months is None:
        return None
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be a whole number ≥ 1 or None (all time); got {months!r}")
    return shift(as_of, -months, "m")


def window_purchases(con: ibis.BaseBackend, as_of: dt.date, start: dt.date | None) -> ir.Table:
    """Purchases with ``start <= order_date <= as_of``, with their ``revenue`` column.

    ``revenue`` = total − refunded_amount, the per-order part of the profile's ``amount_spent``.
    """
    p = purchases(con, as_of)
    if start is not None:
        p = p.filter(p.order_date >= start)
    return p.mutate(revenue=p.total - p.refunded_amount.fill_null(0))


def top_count(share: float, n: int) -> int:
    """How many customers "the top ``share``" of ``n`` is: ⌈share × n⌉.

    Rounded to 9 decimals first, so that 0.1 × 3000 is 300 and not 301 (binary floats).
    """
    if isinstance(share, bool) or not 0 < share <= 1:
        raise ConfigError(
            f"a top share must be a fraction in (0, 1], e.g. 0.1 for 10%; got {share!r}"
        )
    return math.ceil(round(share * n, 9))


def ratio(part: float, whole: float) -> float | None:
    """``part / whole``, or None when ``whole`` is 0 (undefined, shown as null)."""
    return part / whole if whole else None
