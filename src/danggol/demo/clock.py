"""The demo shop's clock (activity days over real instants, with KST seasonality) and its
product catalogue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from danggol.demo.arrays import _digits, _fixed_strings
from danggol.demo.vocabularies import (
    CATEGORIES,
    HOURLY,
    KST_OFFSET_US,
    MONTHLY,
    SIGNUP_GROWTH,
    US_PER_DAY,
    US_PER_HOUR,
    WEEKDAY,
)

# --------------------------------------------------------------------------------------
# Clock
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """The period as hours from a KST midnight, with cumulative activity and sign-up curves."""

    start_us: int
    end_us: int
    n_days: int
    #: cumulative activity at each hour edge, in activity days (ends at ``n_days``)
    activity: np.ndarray
    #: cumulative sign-up weight at each hour edge, ends at 1
    signups: np.ndarray

    @property
    def end_lam(self) -> float:
        return float(self.activity[-1])

    def time_at(self, lam: np.ndarray) -> np.ndarray:
        """µs instants of activity-day positions (clamped to the period)."""
        hours = np.interp(lam, self.activity, np.arange(len(self.activity), dtype=np.float64))
        return self.start_us + (hours * US_PER_HOUR).astype(np.int64)

    def lam_at(self, t_us: np.ndarray) -> np.ndarray:
        hours = (t_us - self.start_us) / US_PER_HOUR
        return np.interp(hours, np.arange(len(self.activity), dtype=np.float64), self.activity)

    def sample_signups(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n sorted sign-up instants following the growing sign-up curve."""
        hour = np.searchsorted(self.signups, rng.random(n), side="right") - 1
        hour = np.clip(hour, 0, len(self.signups) - 2)
        t = self.start_us + hour * US_PER_HOUR + rng.integers(0, US_PER_HOUR, n)
        t = np.minimum(t, self.end_us)
        t.sort()
        return t


def _make_clock(end: dt.date, years: float) -> _Clock:
    n_days = max(1, round(years * 365.25))
    first = end - dt.timedelta(days=n_days - 1)
    epoch = dt.date(1970, 1, 1)
    # midnight KST is 15:00 UTC of the day before
    start_us = (first - epoch).days * US_PER_DAY - KST_OFFSET_US
    end_us = start_us + n_days * US_PER_DAY - 1

    days = np.datetime64(first.isoformat(), "D") + np.arange(n_days)
    month_start = days.astype("datetime64[M]")
    month = month_start.astype(np.int64) % 12
    day_of_month = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    daily = MONTHLY[month] * WEEKDAY[weekday]
    # 11.11 and the last week of November ("블랙프라이데이") are the big sale days
    daily = daily * np.where((month == 10) & (day_of_month == 11), 2.2, 1.0)
    daily = daily * np.where((month == 10) & (day_of_month >= 24), 1.3, 1.0)

    hourly = (daily[:, None] * HOURLY[None, :]).ravel()
    activity = np.concatenate(([0.0], np.cumsum(hourly)))
    activity *= n_days / activity[-1]

    growth = np.exp(np.log(SIGNUP_GROWTH) * np.arange(n_days) / 365.25)
    signup_w = ((growth * np.sqrt(daily))[:, None] * HOURLY[None, :]).ravel()
    signups = np.concatenate(([0.0], np.cumsum(signup_w)))
    signups /= signups[-1]
    return _Clock(start_us, end_us, n_days, activity, signups)


# --------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    """Products ordered by category, then price; ``cat_start``/``cat_size`` index the blocks."""

    product_id: pa.Array
    name: pa.Array
    category: np.ndarray  # int8 per product
    price: np.ndarray  # float64 won
    cat_start: np.ndarray
    cat_size: np.ndarray
    #: per category block, product positions from best to least selling
    bestsellers: np.ndarray


def _round_price(raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shop-like prices: mostly ``…,900`` won, otherwise a round hundred."""
    nine = np.ceil(raw / 1000.0) * 1000.0 - 100.0
    hundred = np.round(raw / 100.0) * 100.0
    return np.where(rng.random(len(raw)) < 0.7, nine, hundred)


def _make_catalogue(rng: np.random.Generator) -> _Catalogue:
    names: list[str] = []
    cats: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    best: list[np.ndarray] = []
    for c, spec in enumerate(CATEGORIES):
        size, low, high = spec.products, spec.low, spec.high
        combos = [f"{a} {b}" for a in spec.adjectives for b in spec.nouns]
        picked = rng.choice(len(combos), size=size, replace=False)
        # most products sit in the cheaper part of the range, a few are premium
        raw = np.exp(np.log(low) + np.log(high / low) * rng.beta(1.2, 2.6, size))
        price = np.clip(_round_price(raw, rng), low, high)
        order = np.argsort(price, kind="stable")
        names.extend(combos[i] for i in picked[order])
        prices.append(price[order])
        cats.append(np.full(size, c, dtype=np.int8))
        best.append(rng.permutation(size))
    sizes = np.array([c.products for c in CATEGORIES], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    n = int(sizes.sum())
    # ids are not in category order, as in a real catalogue that grew over time
    numbers = rng.permutation(n) + 1
    return _Catalogue(
        product_id=_fixed_strings(n, "P", (numbers, max(4, _digits(n)))),
        name=pa.array(names, pa.string()),
        category=np.concatenate(cats),
        price=np.concatenate(prices),
        cat_start=starts,
        cat_size=sizes,
        bestsellers=np.concatenate(best),
    )
