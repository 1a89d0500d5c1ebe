"""What-if: the revenue change from converting one-time buyers, at the shop's own averages.

Over the *period* — the last ``months`` months up to the as-of date (default 12; both ends
included, as ``date: -12m`` in the segment language) — each customer with a purchase in the
period has a *value* v = Σ (total − refunded_amount) of those purchases and a purchase count.
The buyers fall in three disjoint groups:

* **VIP**: by default the top ``vip_rule`` share of buyers by value — the ⌈vip_rule × n⌉
  highest values, ties broken by ``customer_id`` — or, when ``vip_rule`` is a table of
  ``customer_id`` (a VIP segment), the buyers in it;
* **repeat**: the other buyers with 2 or more purchases in the period;
* **one-time**: the other buyers with exactly 1 purchase in the period.

With ā the mean value of a group and B the baseline revenue (Σ v over all buyers):

* repeat gain = N × (ā_repeat − ā_one-time)  (N one-time buyers become repeat buyers);
* VIP gain = M × (ā_VIP − ā_one-time)  (M one-time buyers become VIPs);
* revenue change = repeat gain + VIP gain; % change = 100 × change / B.

Example: 200 one-time buyers at 45,000, 700 repeat buyers at 100,000 and 100 VIPs at
200,000 make B = 99,000,000; converting 150 to repeat and 50 to VIP adds
150 × 55,000 + 50 × 155,000 = 16,000,000, or +16.16%.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from danggol.analytics._common import top_count, window_purchases, window_start
from danggol.errors import ConfigError
from danggol.serial import ToDict

#: the groups, in display order
GROUPS = ("one_time", "repeat", "vip")


@dataclass(frozen=True)
class WhatIf(ToDict):
    """Baseline, the groups' averages and the projected change (see the module docstring)."""

    as_of: dt.date
    #: first day of the period, None for all time
    since: dt.date | None
    baseline_revenue: float
    buyers: int
    one_time_buyers: int
    repeat_buyers: int
    vip_buyers: int
    avg_one_time: float | None
    avg_repeat: float | None
    avg_vip: float | None
    repeat_conversions: int
    vip_conversions: int
    repeat_gain: float
    vip_gain: float
    revenue_change: float
    projected_revenue: float
    #: 100 × revenue_change / baseline_revenue (None without revenue)
    revenue_change_pct: float | None


def buyer_groups(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    months: int | None = 12,
    vip_rule: float | ir.Table = 0.10,
) -> ir.Table:
    """``customer_id, orders, value, group`` of every buyer of the period."""
    p = window_purchases(con, as_of, window_start(as_of, months))
    per = p.group_by("customer_id").aggregate(orders=p.count(), value=p.revenue.sum())
    if isinstance(vip_rule, ir.Table):
        vips = vip_rule.select("customer_id").distinct().mutate(in_vip=ibis.literal(True))
        per = per.left_join(vips, "customer_id").drop("customer_id_right")
        is_vip = per.in_vip.fill_null(False)
    else:
        n = int(per.count().to_pyarrow().as_py())
        k = top_count(vip_rule, n)
        position = ibis.row_number().over(order_by=[per.value.desc(), per.customer_id])
        is_vip = position < k
    group = ibis.cases((is_vip, "vip"), (per.orders >= 2, "repeat"), else_="one_time")
    return per.select("customer_id", "orders", "value", group=group)


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a whole number ≥ 0; got {value!r}")


def whatif(
    con: ibis.BaseBackend,
    as_of: dt.date,
    *,
    repeat_conversions: int = 0,
    vip_conversions: int = 0,
    vip_rule: float | ir.Table = 0.10,
    months: int | None = 12,
) -> WhatIf:
    """Revenue change if N one-time buyers became repeat buyers and M became VIPs.

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    as_of : datetime.date
        The last day of the period.
    repeat_conversions : int, default 0
        N, one-time buyers converted into repeat buyers.
    vip_conversions : int, default 0
        M, one-time buyers converted into VIPs.
    vip_rule : float or ibis Table, default 0.10
        The top share of the period's buyers by value (0.10 = top 10%), or a table of
        ``customer_id`` (a VIP segment's members).
    months : int or None, default 12
        The period's length in months (None: all time up to ``as_of``).

    Returns
    -------
    WhatIf
        revenue_change = N (ā_repeat − ā_one-time) + M (ā_VIP − ā_one-time).
    """
    _check_count("repeat_conversions", repeat_conversions)
    _check_count("vip_conversions", vip_conversions)
    since = window_start(as_of, months)
    g = buyer_groups(con, as_of, months=months, vip_rule=vip_rule)
    rows = g.group_by("group").aggregate(buyers=g.count(), value=g.value.sum())
    found = {r["group"]: r for r in rows.to_pyarrow().to_pylist()}
    count = {name: int(found[name]["buyers"]) if name in found else 0 for name in GROUPS}
    total = {name: float(found[name]["value"]) if name in found else 0.0 for name in GROUPS}
    avg = {name: total[name] / count[name] if count[name] else None for name in GROUPS}

    wanted = repeat_conversions + vip_conversions
    if wanted > count["one_time"]:
        raise ConfigError(
            f"cannot convert {wanted} one-time buyers ({repeat_conversions} to repeat, "
            f"{vip_conversions} to VIP): the period has {count['one_time']}; "
            "ask for at most that many"
        )
    for name, converted in (("repeat", repeat_conversions), ("vip", vip_conversions)):
        if converted and avg[name] is None:
            raise ConfigError(
                f"the period has no {name.replace('_', '-')} buyers, so there is no average "
                f"value to convert {converted} one-time buyers to; widen the period (months)"
                + (" or change vip_rule" if name == "vip" else "")
            )
    base = avg["one_time"] or 0.0
    repeat_gain = repeat_conversions * ((avg["repeat"] or 0.0) - base)
    vip_gain = vip_conversions * ((avg["vip"] or 0.0) - base)
    change = repeat_gain + vip_gain
    baseline = sum(total.values())
    return WhatIf(
        as_of=as_of,
        since=since,
        baseline_revenue=baseline,
        buyers=sum(count.values()),
        one_time_buyers=count["one_time"],
        repeat_buyers=count["repeat"],
        vip_buyers=count["vip"],
        avg_one_time=avg["one_time"],
        avg_repeat=avg["repeat"],
        avg_vip=avg["vip"],
        repeat_conversions=repeat_conversions,
        vip_conversions=vip_conversions,
        repeat_gain=repeat_gain,
        vip_gain=vip_gain,
        revenue_change=change,
        projected_revenue=baseline + change,
        revenue_change_pct=100 * change / baseline if baseline else None,
    )
