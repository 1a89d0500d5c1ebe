"""Campaigns, goal first: a segment snapshot, a goal, a KPI, a window and a holdout.

:func:`create_campaign` stores the members of a segment as of a date and keeps a random but
reproducible share of them (default 10%) as the *holdout*: each member's score is the
SHA-256 of ``"<seed>:<campaign>:<customer_id>"`` read as a number in [0, 1), and the
``round(share × members)`` lowest scores are held out. The same name, seed and members give
the same split on any machine; :func:`export_campaign` writes the *treated* members only.

After the window, :func:`report` counts the purchases (status paid / partially refunded;
revenue = total − refunded amount) each member made with ``window_start ≤ order_date ≤
window_end`` and compares treated with holdout on the KPI (:mod:`danggol.activation.uplift`):

================  ===========================================================================
KPI               per group
================  ===========================================================================
conversion_rate   members with at least one purchase in the window / members
revenue_per_      revenue in the window / members (non-buyers count as 0)
customer
aov               revenue / purchases, over the group's purchases in the window (Welch over
                  the order values)
orders            purchases in the window / members
================  ===========================================================================

Incremental revenue = (treated − holdout revenue per customer) × treated members, with the
interval of the revenue-per-customer difference scaled the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from danggol.activation import uplift
from danggol.activation.exports import ExportResult, export_members
from danggol.analytics import window_purchases
from danggol.choices import KPIS
from danggol.errors import ConfigError, UnknownCampaignError
from danggol.predict.customers import profile_with_predictions
from danggol.segments import service
from danggol.segments.definition import GOALS
from danggol.serial import ToDict
from danggol.store import tables as store_tables
from danggol.store.workspace import Workspace

#: the campaign tables (declared with every store table in danggol.store.tables)
TABLES = {name: store_tables.columns(name) for name in store_tables.CAMPAIGNS}
NAME = re.compile(r"[a-z0-9][a-z0-9_\-]*")


def ensure_tables(ws: Workspace) -> None:
    store_tables.ensure(ws.duck, store_tables.CAMPAIGNS)


@dataclass
class Campaign(ToDict):
    name: str
    segment: str | None
    query: str
    goal: str
    kpi: str
    as_of: dt.date
    window_start: dt.date
    window_end: dt.date
    holdout_share: float
    seed: int
    treated: int
    holdout: int


def holdout_score(seed: int, campaign: str, customer_id: str) -> float:
    """A member's place in [0, 1): the first 8 bytes of SHA-256("seed:campaign:id") / 2⁶⁴."""
    digest = hashlib.sha256(f"{seed}:{campaign}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split(
    customer_ids: list[str], campaign: str, share: float, seed: int = 0
) -> tuple[list[str], list[str]]:
    """(treated, holdout), each sorted: the ``round(share × n)`` lowest scores are held out."""
    ranked = sorted(customer_ids, key=lambda c: (holdout_score(seed, campaign, c), c))
    k = round(share * len(ranked))
    return sorted(ranked[k:]), sorted(ranked[:k])


def create_campaign(
    ws: Workspace,
    name: str,
    segment: str,
    *,
    as_of: dt.date,
    kpi: str = "conversion_rate",
    goal: str | None = None,
    holdout_share: float = 0.1,
    seed: int = 0,
    window_days: int = 30,
    window_start: dt.date | None = None,
    params: dict[str, Any] | None = None,
) -> Campaign:
    """Snapshot ``segment``'s members as of ``as_of`` and split off the holdout. The window
    runs ``window_days`` days from ``window_start`` (default: the day after ``as_of``)."""
    if not NAME.fullmatch(name):
        raise ConfigError(f"a campaign name is lower-case letters, digits, _ and -; got {name!r}")
    if kpi not in KPIS:
        raise ConfigError(f"unknown KPI {kpi!r}; choose one of {', '.join(KPIS)}")
    if isinstance(holdout_share, bool) or not 0 <= holdout_share < 1:
        raise ConfigError(
            f"the holdout share is a fraction in [0, 1), e.g. 0.1 for 10%; got {holdout_share!r}"
        )
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ConfigError(f"the window is a whole number of days ≥ 1; got {window_days!r}")
    tgt = service.target(ws, segment, params)
    chosen_goal = goal or (tgt.segment.goal if tgt.segment else "other")
    if chosen_goal not in GOALS:
        raise ConfigError(f"unknown goal {chosen_goal!r}; choose one of {', '.join(GOALS)}")
    ids = (
        service.members(ws, tgt, as_of).select("customer_id").to_pyarrow()["customer_id"]
    ).to_pylist()
    if not ids:
        raise ConfigError(
            f"the segment {segment!r} has no members as of {as_of}: a campaign needs customers"
        )
    treated, holdout = split(ids, name, holdout_share, seed)
    start = window_start or as_of + dt.timedelta(days=1)
    campaign = Campaign(
        name,
        tgt.name,
        tgt.query,
        chosen_goal,
        kpi,
        as_of,
        start,
        start + dt.timedelta(days=window_days - 1),
        holdout_share,
        seed,
        len(treated),
        len(holdout),
    )
    ensure_tables(ws)
    members = pa.table(
        {
            "campaign": [name] * len(ids),
            "customer_id": treated + holdout,
            "holdout": [False] * len(treated) + [True] * len(holdout),
        }
    )
    with ws.transaction() as con:
        if con.execute("SELECT 1 FROM campaigns WHERE name = ?", [name]).fetchall():
            raise ConfigError(f"a campaign named {name!r} exists; choose another name")
        con.execute(
            "INSERT INTO campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
            [
                name,
                campaign.segment,
                campaign.query,
                chosen_goal,
                kpi,
                as_of,
                campaign.window_start,
                campaign.window_end,
                holdout_share,
                seed,
                campaign.treated,
                campaign.holdout,
            ],
        )
        con.register("_campaign_members", members)
        con.execute("INSERT INTO campaign_members SELECT * FROM _campaign_members")
        con.unregister("_campaign_members")
    return campaign


def campaigns(ws: Workspace) -> list[Campaign]:
    ensure_tables(ws)
    rows = ws.duck.execute(
        "SELECT name, segment, query, goal, kpi, as_of, window_start, window_end, "
        "holdout_share, seed, treated, holdout FROM campaigns ORDER BY created_at, name"
    ).fetchall()
    return [Campaign(*r) for r in rows]


def get_campaign(ws: Workspace, name: str) -> Campaign:
    for campaign in campaigns(ws):
        if campaign.name == name:
            return campaign
    known = ", ".join(c.name for c in campaigns(ws)) or "none yet"
    raise UnknownCampaignError(
        f"no campaign named {name!r} (campaigns: {known}); "
        "create one with 'danggol campaign create NAME SEGMENT'"
    )


def export_campaign(
    ws: Workspace,
    name: str,
    fmt: str,
    out: str | os.PathLike[str] | None,
    **options: Any,
) -> ExportResult:
    """Export the treated members of a campaign (the holdout is left out and counted)."""
    campaign = get_campaign(ws, name)
    profile = profile_with_predictions(ws.ibis, campaign.as_of, ws.config.predictions)
    chosen = ws.ibis.table("campaign_members")
    treated = chosen.filter((chosen.campaign == name) & ~chosen.holdout).select("customer_id")
    members = profile.semi_join(treated, "customer_id")
    result = ExportResult(
        campaign.segment,
        campaign.query,
        fmt,
        None,
        campaign.as_of,
        0,
        0,
        campaign=name,
        holdout_left_out=campaign.holdout,
    )
    return export_members(ws, members, fmt, out, result, **options)


# -- the report ----------------------------------------------------------------------------------


@dataclass
class Group(ToDict):
    customers: int
    buyers: int
    orders: int
    revenue: float


@dataclass
class CampaignReport(ToDict):
    campaign: Campaign
    #: the last order date in the store: the window is complete when it reaches window_end
    data_through: dt.date | None
    complete: bool
    treated: Group
    holdout: Group
    kpi: uplift.Comparison
    revenue_per_customer: uplift.Comparison
    incremental_revenue: float | None
    incremental_revenue_ci: tuple[float | None, float | None] = field(default=(None, None))


def report(ws: Workspace, name: str, confidence: float = 0.95) -> CampaignReport:
    """Treated against holdout on the campaign's KPI, from the purchases in its window."""
    if not 0 < confidence < 1:
        raise ConfigError(f"the confidence level is a fraction in (0, 1); got {confidence!r}")
    campaign = get_campaign(ws, name)
    per_customer, order_values = _window_facts(ws, campaign)
    groups = {}
    for held in (False, True):
        rows = [r for r in per_customer if r["holdout"] is held]
        groups[held] = Group(
            len(rows),
            sum(1 for r in rows if r["orders"]),
            sum(r["orders"] for r in rows),
            float(sum(r["revenue"] for r in rows)),
        )
    treated, holdout = groups[False], groups[True]

    def values(key: str, held: bool) -> list[float]:
        return [float(r[key]) for r in per_customer if r["holdout"] is held]

    rpc = uplift.means(values("revenue", False), values("revenue", True), confidence)
    kpi: uplift.Comparison
    if campaign.kpi == "conversion_rate":
        kpi = uplift.proportions(
            treated.buyers, treated.customers, holdout.buyers, holdout.customers, confidence
        )
    elif campaign.kpi == "revenue_per_customer":
        kpi = rpc
    elif campaign.kpi == "orders":
        kpi = uplift.means(values("orders", False), values("orders", True), confidence)
    else:
        kpi = uplift.means(order_values[False], order_values[True], confidence)
    n = treated.customers
    incremental = None if rpc.difference is None else rpc.difference * n
    ci = (
        None if rpc.ci_low is None else rpc.ci_low * n,
        None if rpc.ci_high is None else rpc.ci_high * n,
    )
    through = ws.duck.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    return CampaignReport(
        campaign,
        through,
        through is not None and through >= campaign.window_end,
        treated,
        holdout,
        kpi,
        rpc,
        incremental,
        ci,
    )


def _window_facts(
    ws: Workspace, campaign: Campaign
) -> tuple[list[dict[str, Any]], dict[bool, list[float]]]:
    """Per member: holdout flag, purchases and revenue in the window; and the order values
    of each group."""
    orders = window_purchases(ws.ibis, campaign.window_end, campaign.window_start)
    chosen = ws.ibis.table("campaign_members")
    chosen = chosen.filter(chosen.campaign == campaign.name).select("customer_id", "holdout")
    lines = orders.join(chosen, "customer_id").select("customer_id", "holdout", "revenue")
    per = lines.group_by("customer_id").aggregate(orders=lines.count(), revenue=lines.revenue.sum())
    full = chosen.left_join(per, "customer_id").select(
        "customer_id",
        "holdout",
        orders=per.orders.fill_null(0),
        revenue=per.revenue.fill_null(0.0),
    )
    per_customer = full.order_by("customer_id").to_pyarrow().to_pylist()
    values = lines.select("holdout", "revenue").to_pyarrow().to_pylist()
    order_values = {
        held: [float(v["revenue"]) for v in values if v["holdout"] is held]
        for held in (False, True)
    }
    return per_customer, order_values
