"""A shop in a few numbers: customers, buyers, orders, revenue, repeat rate, concentration."""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir

from danggol.profile import customer_profile
from danggol.segments.universe import known
from danggol.store.workspace import Workspace


def shop_summary(ws: Workspace, as_of: dt.date) -> dict[str, object]:
    """Headline figures of the shop as of a date, from the customer profile.

    ``customers`` are known customers — the universe every segment count and share uses
    (``segments.universe``); ``visitors`` are ids seen only in events."""
    return profile_summary(customer_profile(ws.ibis, as_of, events=[]), as_of)


def profile_summary(p: ir.Table, as_of: dt.date) -> dict[str, object]:
    """:func:`shop_summary`'s figures from a profile table already built (e.g. the stored
    ``profile_snapshot`` of the last refresh, which the dashboard reads)."""
    buyers = p.filter(p.number_of_orders > 0)
    top = buyers.filter(buyers.amount_spent_percentile >= 90)
    row = (
        p.aggregate(
            customers=known(p).sum(),
            visitors=(~known(p)).sum(),
            buyers=(p.number_of_orders > 0).sum(),
            repeat=(p.number_of_orders > 1).sum(),
            orders=p.number_of_orders.sum(),
            revenue=p.amount_spent.sum(),
            events=p.events_total.sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    top_revenue = top.aggregate(s=top.amount_spent.sum()).to_pyarrow()["s"][0].as_py() or 0.0
    buyers_n = row["buyers"] or 0
    revenue = row["revenue"] or 0.0
    return {
        "as_of": as_of.isoformat(),
        "customers": row["customers"] or 0,
        "visitors": row["visitors"] or 0,
        "buyers": buyers_n,
        "orders": row["orders"] or 0,
        "revenue": revenue,
        "repeat_rate": (row["repeat"] or 0) / buyers_n if buyers_n else 0.0,
        "aov": revenue / row["orders"] if row["orders"] else 0.0,
        "top10_share": top_revenue / revenue if revenue else 0.0,
        "events": row["events"] or 0,
    }
