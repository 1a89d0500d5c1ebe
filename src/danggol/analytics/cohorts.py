"""Cohort retention and revenue: customers grouped by the period of their first purchase.

A customer's *cohort* is the calendar period (month by default) of their first purchase
up to the as-of date; *offset* k is the number of periods from the cohort's period to a
purchase's period (k = 0 is the first period itself). For cohort c and offset k:

* ``customers[c][k]`` = customers of c with at least one purchase in period c + k;
* ``retention[c][k]`` = customers[c][k] / size(c), where size(c) = customers[c][0];
* ``orders[c][k]`` and ``revenue[c][k]`` = purchases and Σ (total − refunded_amount) of
  the cohort's customers in period c + k.

Rows are padded to the oldest cohort's width: a period after the as-of date's period is
``None`` (not observed yet), an observed period without purchases is 0. The as-of date's own
period is usually partial.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from danggol.analytics._common import window_purchases
from danggol.errors import ConfigError
from danggol.serial import ToDict

Period = Literal["month", "quarter", "year"]
#: months per period
PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


def period_index(day: ir.DateValue, period: Period) -> ir.IntegerValue:
    """Periods since year 0: month → 12·year + month − 1, quarter and year divide that."""
    months = day.year() * 12 + day.month() - 1
    size = PERIOD_MONTHS[period]
    return months if size == 1 else months // size


def _index_of(day: dt.date, period: Period) -> int:
    return (day.year * 12 + day.month - 1) // PERIOD_MONTHS[period]


def period_label(index: int, period: Period) -> str:
    """``2025-06`` (month), ``2025-Q2`` (quarter), ``2025`` (year)."""
    if period == "month":
        year, month = divmod(index, 12)
        return f"{year:04d}-{month + 1:02d}"
    if period == "quarter":
        year, quarter = divmod(index, 4)
        return f"{year:04d}-Q{quarter + 1}"
    return f"{index:04d}"


@dataclass(frozen=True)
class Cohorts(ToDict):
    """Cohort matrices: one row per cohort (oldest first), one column per offset."""

    as_of: dt.date
    period: Period
    cohorts: list[str]
    sizes: list[int]
    customers: list[list[int | None]]
    retention: list[list[float | None]]
    orders: list[list[int | None]]
    revenue: list[list[float | None]]

    def to_table(self) -> pa.Table:
        """The observed cells in long form: cohort, offset, customers, retention, orders, revenue."""
        rows = [
            {
                "cohort": cohort,
                "offset": k,
                "size": self.sizes[i],
                "customers": self.customers[i][k],
                "retention": self.retention[i][k],
                "orders": self.orders[i][k],
                "revenue": self.revenue[i][k],
            }
            for i, cohort in enumerate(self.cohorts)
            for k in range(len(self.customers[i]))
            if self.customers[i][k] is not None
        ]
        schema = pa.schema(
            [
                ("cohort", pa.string()),
                ("offset", pa.int64()),
                ("size", pa.int64()),
                ("customers", pa.int64()),
                ("retention", pa.float64()),
                ("orders", pa.int64()),
                ("revenue", pa.float64()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)


def cohort_cells(con: ibis.BaseBackend, as_of: dt.date, period: Period = "month") -> ir.Table:
    """``cohort, offset, customers, orders, revenue`` per observed cell (period indexes)."""
    p = window_purchases(con, as_of, None)
    p = p.mutate(index=period_index(p.order_date, period))
    first = p.group_by("customer_id").aggregate(cohort=p["index"].min())
    joined = p.join(first, "customer_id")
    joined = joined.mutate(offset=joined["index"] - joined.cohort)
    return joined.group_by(["cohort", "offset"]).aggregate(
        customers=joined.customer_id.nunique(),
        orders=joined.count(),
        revenue=joined.revenue.sum(),
    )


def cohorts(con: ibis.BaseBackend, as_of: dt.date, period: Period = "month") -> Cohorts:
    """Retention, customer, order and revenue matrices of first-purchase cohorts.

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    as_of : datetime.date
        Purchases up to the end of this day count.
    period : {'month', 'quarter', 'year'}, default 'month'
        The calendar period of cohorts and offsets.

    Returns
    -------
    Cohorts
        With ``retention[c][k]`` = customers[c][k] / customers[c][0].
    """
    if period not in PERIOD_MONTHS:
        raise ConfigError(f"period must be one of {', '.join(PERIOD_MONTHS)}; got {period!r}")
    rows = cohort_cells(con, as_of, period).to_pyarrow().to_pylist()
    last = _index_of(as_of, period)
    found = {(r["cohort"], r["offset"]): r for r in rows}
    indexes = sorted({r["cohort"] for r in rows})
    width = last - indexes[0] + 1 if indexes else 0
    labels: list[str] = []
    sizes: list[int] = []
    customers: list[list[int | None]] = []
    retention: list[list[float | None]] = []
    orders: list[list[int | None]] = []
    revenue: list[list[float | None]] = []
    for c in indexes:
        size = int(found[(c, 0)]["customers"])
        seen = last - c + 1
        cells = [found.get((c, k)) for k in range(seen)]
        pad = [None] * (width - seen)
        labels.append(period_label(c, period))
        sizes.append(size)
        customers.append([int(r["customers"]) if r else 0 for r in cells] + pad)
        retention.append([int(r["customers"]) / size if r else 0.0 for r in cells] + pad)
        orders.append([int(r["orders"]) if r else 0 for r in cells] + pad)
        revenue.append([float(r["revenue"]) if r else 0.0 for r in cells] + pad)
    return Cohorts(as_of, period, labels, sizes, customers, retention, orders, revenue)
