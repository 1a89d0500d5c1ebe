"""Revenue concentration: top-k% shares, the Lorenz curve and the Gini coefficient.

The population is the customers with at least one purchase as of the date, each with the
profile's ``amount_spent`` (Σ total − refunded_amount over purchases). Let y₁ ≤ … ≤ yₙ be
their spends in ascending order, Sᵢ = y₁ + … + yᵢ (S₀ = 0) and T = Sₙ.

* **top k%** = the ⌈k × n⌉ customers with the highest spend (ties broken by ``customer_id``;
  the revenue sum does not depend on how ties are broken); its share is
  (T − S₍ₙ₋ₖ₎) / T.
* **Lorenz curve**: the piecewise-linear curve through (i/n, Sᵢ/T), i = 0..n, sampled at
  ``points`` evenly spaced customer shares p = j/(points − 1); between two customers it is
  interpolated linearly, which is exact for this curve.
* **Gini** = 2 Σᵢ i·yᵢ / (n·T) − (n + 1)/n, the mean absolute difference over all ordered
  pairs divided by twice the mean (Σᵢ Σⱼ |yᵢ − yⱼ| / (2 n² ȳ)), without the n/(n − 1)
  small-sample correction: 0 when all spend the same, (n − 1)/n when one customer has it all.

>>> # spends 10, 20, 30, 40: Σ i·yᵢ = 10 + 40 + 90 + 160 = 300, T = 100, n = 4
>>> 2 * 300 / (4 * 100) - 5 / 4
0.25
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from danggol.analytics._common import ratio, top_count, window_purchases
from danggol.errors import ConfigError
from danggol.serial import ToDict

#: the top shares reported by default: 1%, 10% and 20% of buying customers
DEFAULT_TOPS = (0.01, 0.10, 0.20)


@dataclass(frozen=True)
class TopShare(ToDict):
    """The revenue of the top ``top`` fraction of buying customers."""

    top: float
    customers: int
    revenue: float
    revenue_share: float | None


@dataclass(frozen=True)
class Concentration(ToDict):
    """How concentrated revenue is among buying customers (see the module docstring)."""

    as_of: dt.date
    buyers: int
    revenue: float
    tops: list[TopShare]
    gini: float | None
    #: (share of customers, cumulative share of revenue), customers sorted by ascending spend
    lorenz: list[tuple[float, float]] = field(default_factory=list)

    def top_share(self, top: float) -> float | None:
        """The revenue share of the top ``top`` fraction (one of those computed)."""
        for item in self.tops:
            if abs(item.top - top) < 1e-12:
                return item.revenue_share
        raise KeyError(f"top {top} was not computed; computed: {[t.top for t in self.tops]}")


def buyer_spend(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
    """``customer_id, amount_spent`` of the customers with at least one purchase.

    The profile's ``amount_spent``, aggregated straight from the purchases (the profile
    joins every table; this needs only ``orders``).
    """
    p = window_purchases(con, as_of, None)
    return p.group_by("customer_id").aggregate(amount_spent=p.revenue.sum())


def concentration(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    tops: tuple[float, ...] = DEFAULT_TOPS,
    points: int = 101,
) -> Concentration:
    """Top-k% revenue shares, Lorenz curve and Gini of ``amount_spent`` among buyers.

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    as_of : datetime.date
        Purchases up to the end of this day count.
    tops : tuple of float, default (0.01, 0.10, 0.20)
        Fractions of buying customers whose revenue share is wanted.
    points : int, default 101
        How many Lorenz points, evenly spaced from 0 to 1 (101 = every percent).

    Returns
    -------
    Concentration
        Shares and Gini are None (and the curve empty) when there is no revenue.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ConfigError(
            f"points must be a whole number ≥ 2 (101 = every percent); got {points!r}"
        )
    for top in tops:
        top_count(top, 1)  # validates each share before anything runs
    b = buyer_spend(con, as_of)
    ranked = b.mutate(
        position=ibis.row_number().over(order_by=[b.amount_spent, b.customer_id]) + 1,
        cumulative=b.amount_spent.cumsum(order_by=[b.amount_spent, b.customer_id]),
    )
    row = (
        ranked.aggregate(
            n=ranked.count(),
            total=ranked.amount_spent.sum(),
            weighted=(ranked.position * ranked.amount_spent).sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    n = int(row["n"] or 0)
    total = float(row["total"] or 0.0)
    if n == 0:
        empty = [TopShare(top, 0, 0.0, None) for top in tops]
        return Concentration(as_of, 0, 0.0, empty, None, [])

    # S_k at every rank the answer needs: the Lorenz corners and the top-k cut points
    counts = {top: top_count(top, n) for top in tops}
    lorenz_at = [(j * n // (points - 1), j * n % (points - 1)) for j in range(points)]
    needed = {n - k for k in counts.values()}
    for k, rest in lorenz_at:
        needed.add(k)
        if rest:
            needed.add(k + 1)
    needed.discard(0)
    picked = ranked.filter(ranked.position.isin(sorted(needed))).select("position", "cumulative")
    cum = {0: 0.0} | {
        r["position"]: float(r["cumulative"]) for r in picked.to_pyarrow().to_pylist()
    }

    shares = [
        TopShare(top, k, total - cum[n - k], ratio(total - cum[n - k], total))
        for top, k in counts.items()
    ]
    curve: list[tuple[float, float]] = []
    if not total:  # nobody spent anything: no curve and no Gini
        return Concentration(as_of, n, total, shares, None, curve)
    for j, (k, rest) in enumerate(lorenz_at):
        value = cum[k] + (cum[k + 1] - cum[k]) * rest / (points - 1) if rest else cum[k]
        curve.append((j / (points - 1), value / total))
    gini = 2 * float(row["weighted"]) / (n * total) - (n + 1) / n
    return Concentration(as_of, n, total, shares, gini, curve)
