"""The (frequency, recency, T, monetary_value) summary the buy-till-you-die models are fitted on.

Built from the store's purchases (:func:`danggol.profile.purchases`: orders with status
``paid`` or ``partially_refunded`` up to the end of the as-of day) with the rules of the CDNOW
benchmark (Fader, Hardie & Lee 2005):

* purchases by the same customer on the same local day are one purchase (their values add up);
  a purchase's value is ``total − refunded_amount``;
* ``frequency`` = number of purchase days − 1 (repeat purchases only);
* ``recency`` = days from the first to the last purchase day / unit (0 without a repeat);
* ``T`` = days from the first purchase day to the as-of date / unit;
* ``monetary_value`` = mean value of the repeat purchase days (the first is left out), 0 for a
  customer without a repeat purchase;
* unit = 1 day (``time_unit="day"``) or 7 days (``"week"``);
* with ``calibration_start``, purchases before that date are ignored (a cohort's window).

Customers whose first purchase falls on the as-of day have T = 0 and are left out (the models
need T > 0).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from danggol.errors import ConfigError
from danggol.profile import purchases

#: days in a summary time unit
UNITS = {"day": 1, "week": 7}


def rfm_summary_expr(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    time_unit: str = "week",
    calibration_start: dt.date | None = None,
) -> ir.Table:
    """The summary as one Ibis expression (see the module docstring for the rules)."""
    if time_unit not in UNITS:
        raise ConfigError(f"time_unit must be one of {sorted(UNITS)}; got {time_unit!r}")
    if not isinstance(as_of, dt.date):
        raise ConfigError(f"as_of must be a date like date(2025, 6, 30); got {as_of!r}")
    if calibration_start is not None and calibration_start > as_of:
        raise ConfigError(
            f"calibration_start must be on or before as_of ({as_of}); got {calibration_start}"
        )
    p = purchases(con, as_of)
    if calibration_start is not None:
        p = p.filter(p.order_date >= calibration_start)
    value = p.total - p.refunded_amount.fill_null(0)
    days = p.group_by(["customer_id", "order_date"]).aggregate(value=value.sum())
    days = days.mutate(
        day=days.order_date.epoch_days(),
        first_day=days.order_date.epoch_days().min().over(group_by=days.customer_id),
    )
    per = days.group_by("customer_id").aggregate(
        n_days=days.count(),
        first_day=days.first_day.min(),
        last_day=days.day.max(),
        repeat_value=days.value.sum(where=days.day > days.first_day),
    )
    unit = float(UNITS[time_unit])
    as_of_day = (as_of - dt.date(1970, 1, 1)).days
    frequency = (per.n_days - 1).cast("int64")
    out = per.select(
        "customer_id",
        frequency=frequency,
        recency=(per.last_day - per.first_day).cast("float64") / unit,
        T=(ibis.literal(as_of_day) - per.first_day).cast("float64") / unit,
        monetary_value=ibis.cases(
            (frequency > 0, per.repeat_value.cast("float64") / frequency.cast("float64")),
            else_=0.0,
        ),
    )
    return out.filter(out["T"] > 0).order_by("customer_id")


def rfm_summary(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    time_unit: str = "week",
    calibration_start: dt.date | None = None,
) -> pa.Table:
    """One row per buyer: customer_id, frequency, recency, T, monetary_value (a pyarrow Table).

    Feed it to ``BGNBD().fit(table)``, ``ParetoNBD().fit(table)`` or ``GammaGamma().fit(table)``.
    """
    expr = rfm_summary_expr(con, as_of, time_unit=time_unit, calibration_start=calibration_start)
    return expr.to_pyarrow()


#: the customer attributes a purchase model can take as time-invariant covariates
#: (``[predictions] covariates``): where a customer came from and how they started
COVARIATES = ("signup_channel", "region", "first_order_coupon", "first_order_channel")
#: the category of a customer without a value
MISSING = "(none)"


def customer_covariates(con: ibis.BaseBackend, as_of: dt.date, names: tuple[str, ...]) -> pa.Table:
    """One row per buyer by ``as_of``: customer_id and each covariate in ``names`` as text.

    * ``signup_channel``, ``region``: the customers table's columns;
    * ``first_order_coupon``: "yes" when an order of the first purchase day carried a coupon
      code, else "no";
    * ``first_order_channel``: the channel of the first purchase day's orders (the first in
      alphabetical order when they differ).

    A customer without a value (a guest, an empty column) is in the category ``(none)``.
    """
    unknown = [n for n in names if n not in COVARIATES]
    if unknown:
        raise ConfigError(
            f"unknown covariate(s) {unknown}: the covariates are {', '.join(COVARIATES)}"
        )
    p = purchases(con, as_of)
    first_day = p.order_date.min().over(group_by=p.customer_id)
    first = p.mutate(_first_day=first_day)
    first = first.filter(first.order_date == first._first_day)
    coupon = first.coupon_code.strip()
    per = first.group_by("customer_id").aggregate(
        first_order_coupon=ibis.cases((coupon.notnull() & (coupon != ""), 1), else_=0).max(),
        first_order_channel=first.channel.min(),
    )
    per = per.mutate(
        first_order_coupon=ibis.cases((per.first_order_coupon == 1, "yes"), else_="no")
    )
    customers = con.table("customers").select("customer_id", "signup_channel", "region")
    joined = per.left_join(customers, "customer_id")
    text = {
        n: ibis.cases(
            (joined[n].cast("string").strip().fill_null("") == "", MISSING),
            else_=joined[n].cast("string").strip(),
        )
        for n in names
    }
    return joined.select("customer_id", **text).order_by("customer_id").to_pyarrow()
