"""The data of the dashboard and the REST API: each function runs the queries of one view.

They read the profile the last ``danggol refresh`` stored (``profile_snapshot``) when it is
current for the date asked, so a page answers in milliseconds even for a million customers;
otherwise ``scores.scored_profile`` computes the profile for that date.

>>> sorted(LOCALES)
['en', 'ko']
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ibis

from danggol import analytics
from danggol.errors import NotFoundError
from danggol.outputs.charts.primitives import STAGE_COLORS, group_color
from danggol.predict.customers import profile_with_predictions
from danggol.predict.fields import field_specs as prediction_field_specs
from danggol.profile import SNAPSHOT_META
from danggol.scores import scored_profile
from danggol.scores.lifecycle import STAGE_LABELS, STAGES
from danggol.scores.rfm import PROSPECTS, load_segment_map
from danggol.scores.summaries import rfm_cells, stage_counts
from danggol.segments import history, service
from danggol.segments.compile import ANNIVERSARY_DATES
from danggol.segments.definition import GOALS, Segment
from danggol.segments.explain import describe, explain
from danggol.segments.fields import FIELDS, FUNCTIONS
from danggol.segments.matches import MATCH_FUNCTIONS
from danggol.segments.operators import OPERATORS
from danggol.segments.parse import check_text, to_query
from danggol.store.workspace import Workspace
from danggol.summary import profile_summary

LOCALES = {"ko": "ko-KR", "en": "en-US"}
#: the prediction columns a refresh adds to the profile, shown when present
PREDICTION_COLUMNS = tuple(spec.name for spec in prediction_field_specs())
#: how many orders and events the customer timeline lists (newest first)
TIMELINE_LIMIT = 200


def plain(value: Any) -> Any:
    """A value as JSON can carry it (dates as ISO text, NaN as null)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _rows(table: Any) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in row.items()} for row in table.to_pyarrow().to_pylist()]


def _instants(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """The store keeps times as UTC without an offset; handed out so, a browser reads
    ``2025-06-30T14:30:00`` as its own local time (9 hours early in Seoul). Each row's
    ``column`` gets its offset: ``2025-06-30T14:30:00+00:00``."""
    for row in rows:
        value = row.get(column)
        time = value[10:] if isinstance(value, str) else ""
        if time and not time.endswith("Z") and "+" not in time and "-" not in time:
            row[column] = f"{value}+00:00"
    return rows


def stored_as_of(ws: Workspace) -> dt.date | None:
    """The as-of date of the profile the last refresh stored (None before the first)."""
    if SNAPSHOT_META not in ws.ibis.list_tables():
        return None
    rows = ws.ibis.table(SNAPSHOT_META).to_pyarrow().to_pylist()
    return rows[0]["as_of"] if rows else None


def state_key(ws: Workspace) -> tuple[object, ...]:
    """What the dashboard's figures depend on: the stored profile, the last refresh, the
    data version and the saved segment files. A cache keyed on it is never stale."""
    con = ws.duck
    history.ensure_tables(con)
    meta = (
        con.execute(f"SELECT as_of, data_version FROM {SNAPSHOT_META}").fetchall()
        if SNAPSHOT_META in ws.ibis.list_tables()
        else []
    )
    refresh = con.execute("SELECT max(refresh_id) FROM refreshes").fetchall()[0][0]
    batch = con.execute("SELECT max(batch_id) FROM ingest_log").fetchall()[0][0]
    folder = ws.path / "segments"
    files = (
        tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()))
        if folder.is_dir()
        else ()
    )
    return (tuple(meta), refresh, batch, files)


def share_base(ws: Workspace, as_of: dt.date) -> int:
    """The number the dashboard divides a segment's size by for its share of customers: the
    known customers (``segments.universe``), the same total as the overview's, the segment
    list's shares (``analytics.segment_sizes``) and every segment count."""
    from danggol.profile import profile_for
    from danggol.segments.universe import universe_size

    return universe_size(profile_for(ws.ibis, as_of))


def last_refresh(ws: Workspace) -> dict[str, Any] | None:
    """The refresh of the latest as-of date (the last one of that date): id, as-of date, when
    it finished, how long it took."""
    history.ensure_tables(ws.duck)
    rows = ws.duck.execute(
        "SELECT refresh_id, as_of, finished_at, segments, seconds FROM refreshes "
        "ORDER BY as_of DESC, refresh_id DESC LIMIT 1"
    ).fetchall()
    if not rows:
        return None
    keys = ("refresh_id", "as_of", "finished_at", "segments", "seconds")
    return {k: plain(v) for k, v in zip(keys, rows[0], strict=True)}


# --------------------------------------------------------------------------------------
# overview
# --------------------------------------------------------------------------------------


def overview(ws: Workspace, as_of: dt.date) -> dict[str, Any]:
    """Headline figures, the RFM grid, the lifecycle funnel and the revenue concentration."""
    from danggol.segments.universe import known

    scored = scored_profile(ws.ibis, as_of)
    # one denominator everywhere: the known customers (anonymous visitors left out), as the
    # summary's total, the segment list's shares and every segment count
    profile = scored.filter(known(scored))
    smap = load_segment_map()
    cells, prospects = rfm_cells(profile)
    conc = analytics.concentration(ws.ibis, as_of, points=21)
    return {
        "as_of": as_of.isoformat(),
        "shop_name": ws.config.shop_name,
        "currency": ws.config.currency,
        "summary": profile_summary(scored, as_of),
        "rfm": {
            "size": smap.size,
            "cells": [
                {
                    "r": c.r,
                    "fm": c.fm,
                    "group": c.group,
                    "customers": c.customers,
                    "revenue": c.revenue,
                }
                for c in cells
            ],
            "map": [
                {"r": r, "fm": fm, "group": smap.group(r, fm, smap.size)}
                for r in range(smap.size, 0, -1)
                for fm in range(smap.size, 0, -1)
            ],
            "groups": {
                k: {"ko": smap.label(k, "ko"), "en": smap.label(k, "en")} for k in smap.keys
            },
            "colors": {k: group_color(k, smap.keys) for k in smap.keys},
            "prospects": prospects,
            "prospects_key": PROSPECTS,
        },
        "funnel": [
            {"stage": s, "customers": n, "color": STAGE_COLORS[s], **STAGE_LABELS[s]}
            for s, n in stage_counts(profile).items()
        ],
        "concentration": conc.to_dict(),
    }


def lifecycle_over_time(ws: Workspace, as_of: dt.date, months: int = 6) -> dict[str, Any]:
    """Customers and share per lifecycle stage at month-end as-of dates (the last ``months``)."""
    from danggol.dates import shift
    from danggol.scores import stage_shares

    dates = [shift(as_of, -k, "m") for k in range(months - 1, -1, -1)]
    rows = stage_shares(ws.ibis, dates).to_pylist()
    return {
        "stages": [{"stage": s, "color": STAGE_COLORS[s], **STAGE_LABELS[s]} for s in STAGES],
        "rows": [{k: plain(v) for k, v in r.items()} for r in rows],
    }


# --------------------------------------------------------------------------------------
# segments
# --------------------------------------------------------------------------------------


def segment_info(segment: Segment) -> dict[str, Any]:
    """A segment's definition as plain data: titles, goal, query, words, parameters."""
    data: dict[str, Any] = {
        "name": segment.name,
        "title": {"ko": segment.label("ko"), "en": segment.label("en")},
        #: the languages the title was written in (the others fall back to one of them)
        "title_langs": sorted(segment.title),
        "description": {
            k: v.format(**(segment.params or {})) if segment.params else v
            for k, v in segment.description.items()
        },
        "goal": segment.goal,
        "goal_title": dict(zip(("ko", "en"), GOALS[segment.goal], strict=True)),
        "builtin": segment.builtin,
        "params": segment.params,
        "needs": segment.missing_params(),
        "query": None,
        "words": None,
    }
    if not data["needs"]:
        tree = segment.tree()
        data["query"] = to_query(tree)
        data["words"] = {"ko": describe(tree, "ko"), "en": describe(tree, "en")}
    return data


def segment_list(ws: Workspace, as_of: dt.date) -> list[dict[str, Any]]:
    """Every built-in and saved segment by goal, with its size, share of customers and of
    revenue as of ``as_of`` (segments needing parameters have none), and its size at each
    refresh (the trend)."""
    segments = service.registry(ws).all()
    ordered = sorted(segments.values(), key=lambda s: (list(GOALS).index(s.goal), s.name))
    runnable = {s.name: s for s in ordered if not s.missing_params()}
    comp = service.compiler(ws, as_of)
    tables = {
        name: comp.members(seg.tree()).select("customer_id") for name, seg in runnable.items()
    }
    sizes = (
        {s.segment: s for s in analytics.segment_sizes(ws.ibis, as_of, tables)} if tables else {}
    )
    trends: dict[str, list[dict[str, Any]]] = {}
    for row in history.sizes(ws):
        trends.setdefault(str(row["segment"]), []).append(
            {k: plain(row[k]) for k in ("refresh_id", "as_of", "size", "entered", "left")}
        )
    items = []
    for seg in ordered:
        info = segment_info(seg)
        size = sizes.get(seg.name)
        info.update(
            size=size.customers if size else None,
            customer_share=size.share_of_customers if size else None,
            revenue=size.revenue if size else None,
            revenue_share=size.revenue_share if size else None,
            trend=trends.get(seg.name, []),
        )
        items.append(info)
    return items


def segment_detail(ws: Workspace, name: str, as_of: dt.date, lang: str = "ko") -> dict[str, Any]:
    """One segment: definition, words, size now, size over time, movers at the last refresh."""
    segment = service.registry(ws).get(name)
    info = segment_info(segment)
    trend = [
        {k: plain(r[k]) for k in ("refresh_id", "as_of", "size", "entered", "left")}
        for r in history.sizes(ws, name)
    ]
    info["trend"] = trend
    info["last_change"] = trend[-1] if trend else None
    info["size"] = (
        service.count(ws, service.Target(segment.tree(), segment), as_of)
        if not info["needs"]
        else None
    )
    info["as_of"] = as_of.isoformat()
    return info


# --------------------------------------------------------------------------------------
# the builder's vocabulary
# --------------------------------------------------------------------------------------


def vocabulary(ws: Workspace) -> dict[str, Any]:
    """Fields (with type and labels), functions (with arguments), operators and goals."""
    fields = [
        {
            "name": f.name,
            "column": f.column,
            "type": f.type,
            "ko": f.ko,
            "en": f.en,
            "values": list(getattr(f, "values", ()) or ()),
            "money": bool(getattr(f, "money", False)),
        }
        for f in FIELDS.values()
    ]
    functions = [
        {
            "name": f.name,
            "returns": f.returns,
            "ko": f.ko,
            "en": f.en,
            "args": [
                {"name": a.name, "type": a.type, "ko": a.ko, "en": a.en, "required": a.required}
                for a in f.args
            ],
        }
        for f in FUNCTIONS.values()
    ]
    # the MATCHES form's functions and their arguments (row tests, and aggregate tests:
    # count, sum_amount); a function whose events the shop lacks is still listed
    matches = [
        {
            "name": m.name,
            "ko": m.ko,
            "en": m.en,
            "args": [
                {"name": a.name, "type": a.type, "ko": a.ko, "en": a.en, "aggregate": a.aggregate}
                for a in m.args
            ],
        }
        for m in MATCH_FUNCTIONS.values()
    ]
    operators = [
        {"op": op, "ko": o.words("ko"), "en": o.words("en")} for op, o in OPERATORS.items()
    ]
    goals = [{"goal": k, "ko": v[0], "en": v[1]} for k, v in GOALS.items()]
    smap = load_segment_map()
    values = {
        "rfm_group": {k: {"ko": smap.label(k, "ko"), "en": smap.label(k, "en")} for k in smap.keys},
        "lifecycle_stage": STAGE_LABELS,
    }
    return {
        "fields": fields,
        "functions": functions,
        "matches": matches,
        "anniversary_dates": list(ANNIVERSARY_DATES),
        "operators": operators,
        "goals": goals,
        "value_labels": values,
    }


def catalog(ws: Workspace, kind: str, search: str = "", limit: int = 20) -> list[dict[str, Any]]:
    """Products (id, name, category) or categories (with their product count) whose id or name
    contains ``search``, most ordered first: the builder's pickers."""
    items = ws.ibis.table("order_items")
    needle = check_text(search.strip().lower(), "a search")
    if kind == "categories":
        t = items.filter(items.category.notnull())
        t = t.group_by(t.category).aggregate(products=t.product_id.nunique(), lines=t.count())
        if needle:
            t = t.filter(t.category.lower().contains(needle))
        return _rows(t.order_by([ibis.desc("lines"), "category"]).limit(limit))
    t = items.group_by("product_id").aggregate(
        product_name=items.product_name.max(), category=items.category.max(), lines=items.count()
    )
    if needle:
        t = t.filter(
            t.product_id.lower().contains(needle)
            | t.product_name.fill_null("").lower().contains(needle)
        )
    return _rows(t.order_by([ibis.desc("lines"), "product_id"]).limit(limit))


# --------------------------------------------------------------------------------------
# one customer
# --------------------------------------------------------------------------------------


def customer_detail(ws: Workspace, customer_id: str, as_of: dt.date) -> dict[str, Any]:
    """One customer's profile (scores and any prediction columns), orders and events (newest
    first), grade history and current segments (at the last refresh)."""
    check_text(customer_id, "a customer id")
    profile = profile_with_predictions(ws.ibis, as_of, ws.config.predictions)
    rows = _rows(profile.filter(profile.customer_id == customer_id))
    if not rows:
        raise NotFoundError(f"no customer '{customer_id}' as of {as_of}: check the id")
    row = rows[0]
    predictions = {c: row[c] for c in PREDICTION_COLUMNS if c in row}
    orders = ws.ibis.table("orders")
    orders = orders.filter((orders.customer_id == customer_id) & (orders.order_date <= as_of))
    events = ws.ibis.table("events")
    events = events.filter((events.customer_id == customer_id) & (events.event_date <= as_of))
    order_cols = [
        c
        for c in (
            "order_id",
            "ordered_at",
            "status",
            "total",
            "refunded_amount",
            "coupon_code",
            "channel",
        )
        if c in orders.columns
    ]
    event_cols = [
        c
        for c in ("occurred_at", "event", "product_id", "category", "value")
        if c in events.columns
    ]
    history.ensure_tables(ws.duck)
    segments = [
        r[0]
        for r in ws.duck.execute(
            "SELECT segment FROM segment_members WHERE customer_id = ? ORDER BY segment",
            [customer_id],
        ).fetchall()
    ]
    grades = (
        ws.duck.execute(
            "SELECT as_of, grade, previous_grade, change FROM grade_history WHERE customer_id = ? "
            "ORDER BY as_of",
            [customer_id],
        ).fetchall()
        if "grade_history" in ws.ibis.list_tables()
        else []
    )
    return {
        "customer_id": customer_id,
        "as_of": as_of.isoformat(),
        "profile": {k: v for k, v in row.items() if k not in predictions},
        "predictions": predictions,
        "orders": _instants(
            _rows(
                orders.select(*order_cols).order_by(ibis.desc("ordered_at")).limit(TIMELINE_LIMIT)
            ),
            "ordered_at",
        ),
        "events": _instants(
            _rows(
                events.select(*event_cols).order_by(ibis.desc("occurred_at")).limit(TIMELINE_LIMIT)
            ),
            "occurred_at",
        ),
        "segments": segments,
        "grades": [
            {"as_of": plain(a), "grade": g, "previous_grade": p, "change": c}
            for a, g, p, c in grades
        ],
    }


def why(
    ws: Workspace, name: str, customer_id: str, as_of: dt.date, lang: str = "ko"
) -> dict[str, Any]:
    """Why a customer is in or out of a segment: every condition with its value and result."""
    tree = service.registry(ws).tree(name)
    check_text(customer_id, "a customer id")
    return explain(service.compiler(ws, as_of), tree, customer_id, lang=lang)


# --------------------------------------------------------------------------------------
# predictions
# --------------------------------------------------------------------------------------


def profile_columns(ws: Workspace) -> list[str]:
    """The columns of the stored profile (empty before the first refresh)."""
    if "profile_snapshot" not in ws.ibis.list_tables():
        return []
    return list(ws.ibis.table("profile_snapshot").columns)


def predictions(ws: Workspace, as_of: dt.date, limit: int = 50) -> dict[str, Any]:
    """The prediction columns the profile has, their averages, and the customers with the
    highest predicted value first (``predicted_clv``, else ``expected_orders``, else
    ``p_alive``). Empty when the profile has no prediction column."""
    profile = profile_with_predictions(ws.ibis, as_of, ws.config.predictions)
    present = [c for c in PREDICTION_COLUMNS if c in profile.columns]
    numeric = [
        c for c in present if profile[c].type().is_numeric() and not profile[c].type().is_boolean()
    ]
    if not present:
        return {"as_of": as_of.isoformat(), "columns": [], "averages": {}, "rows": []}
    not_made = _not_made(ws)
    averages = (
        plain_row(profile.aggregate(**{c: profile[c].mean() for c in numeric})) if numeric else {}
    )
    key = next(
        (c for c in ("predicted_clv", "expected_orders", "p_alive") if c in present), present[0]
    )
    shown = ["customer_id", "amount_spent", "number_of_orders", "lifecycle_stage", *present]
    top = profile.filter(profile[key].notnull()).order_by([ibis.desc(key), "customer_id"])
    return {
        "as_of": as_of.isoformat(),
        "columns": present,
        "sorted_by": key,
        "averages": averages,
        "rows": _rows(top.select(*[c for c in shown if c in profile.columns]).limit(limit)),
        **({"not_made": not_made} if not_made else {}),
    }


def _not_made(ws: Workspace) -> dict[str, str] | None:
    """Why the last refresh made no predictions, in both languages, when the shop's history
    was too short (the empty table a new shop sees then says so); else None."""
    from danggol.predict.customers import last_run
    from danggol.predict.guards import shortfall_ko
    from danggol.store.backends import capabilities

    if not capabilities(ws.ibis).embedded_store:  # runs are kept in the embedded store only
        return None
    run = last_run(ws.duck)
    if run is None or run.status != "too_little_data":
        return None
    return {"en": run.reason, "ko": shortfall_ko(run.customers, run.repeat_buyers, run.as_of)}


def plain_row(table: Any) -> dict[str, Any]:
    rows = _rows(table)
    return rows[0] if rows else {}


def clean(value: Any) -> Any:
    """``plain`` all the way down: dicts and lists of dates and NaNs made JSON-safe."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return plain(value)


def backtest_metrics(
    ws: Workspace, cutoff: dt.date, horizon_days: int, model: str = "mbgnbd"
) -> dict[str, Any]:
    """The backtest of a purchase model (``predict.backtest``) as JSON-safe data: a metric
    the model cannot compute (NaN) is null. ``auto`` backtests the model the latest refresh
    chose (BG/NBD before the first one)."""
    from danggol.predict.backtest import backtest
    from danggol.predict.diagnostics import model_to_diagnose

    model = model_to_diagnose(ws.duck, model)
    return clean(backtest(ws.ibis, cutoff=cutoff, horizon_days=horizon_days, model=model).to_dict())


# --------------------------------------------------------------------------------------
# campaigns
# --------------------------------------------------------------------------------------


def campaign_summary(ws: Workspace, name: str, confidence: float = 0.95) -> dict[str, Any]:
    """A campaign's report (``activation.campaigns.report``) with its verdict: whether the
    difference on the KPI is significant at the level asked (p-value below 1 − confidence),
    and its direction (``up``: the treated did better)."""
    from danggol.activation import campaigns

    data = clean(campaigns.report(ws, name, confidence).to_dict())
    kpi = data["kpi"]
    p, diff = kpi.get("p_value"), kpi.get("difference")
    data["verdict"] = {
        "level": confidence,
        "alpha": round(1 - confidence, 10),
        "known": p is not None,
        "significant": p is not None and p < 1 - confidence,
        "direction": None if not diff else "up" if diff > 0 else "down",
    }
    return data
