"""Lifecycle stages and reasons against a plain-Python reading of the documented rules.

The reference works on Python rows (dates, ints, floats) and follows the table of the module
docstring top to bottom; the learned churn window is recomputed here as "the smallest cycle
that at least q of the repeat buyers do not exceed, times k, rounded up".
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re

import ibis
import pyarrow as pa
import pytest

from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.profile import customer_profile
from danggol.scores import add_scores, field_specs
from danggol.scores.grades import GRADE_COLUMNS
from danggol.scores.lifecycle import REASONS, STAGES, Lifecycle, stage_shares
from danggol.scores.rfm import SCORE_COLUMNS

AS_OF = dt.date(2025, 6, 30)

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("known_customer", pa.bool_()),
        ("number_of_orders", pa.int64()),
        ("first_order_date", pa.date32()),
        ("last_order_date", pa.date32()),
        ("days_since_last_order", pa.int64()),
        ("avg_days_between_orders", pa.float64()),
        ("refunds", pa.int64()),
        ("email_subscription_status", pa.string()),
        ("events_total", pa.int64()),
        ("events_trial_start", pa.int64()),
        ("events_cart_add", pa.int64()),
        ("events_checkout_start", pa.int64()),
        ("events_email_subscribe", pa.int64()),
    ]
)

# --------------------------------------------------------------------------------------
# fixture: a profile-like table with heavy ties
# --------------------------------------------------------------------------------------


def tied_profile(seed: int, n: int = 150) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = {
            "customer_id": f"c{i:03d}",
            "known_customer": rng.random() < 0.7,
            "refunds": rng.choice([0, 0, 0, 1, 2, 3]),
            "email_subscription_status": rng.choice(["subscribed", "not_subscribed"]),
            "events_trial_start": rng.choice([0, 0, 0, 1]),
            "events_cart_add": rng.choice([0, 0, 2]),
            "events_checkout_start": rng.choice([0, 0, 0, 1]),
            "events_email_subscribe": rng.choice([0, 0, 0, 1]),
        }
        row["events_total"] = sum(row[k] for k in row if k.startswith("events_")) + rng.choice(
            [0, 0, 3]
        )
        if rng.random() < 0.25:
            row |= {
                "number_of_orders": 0,
                "first_order_date": None,
                "last_order_date": None,
                "days_since_last_order": None,
                "avg_days_between_orders": None,
            }
        else:
            orders = rng.choice([1, 1, 1, 2, 3, 3, 5])
            days = rng.choice([0, 10, 10, 30, 31, 60, 60, 129, 130, 200, 400])
            last = AS_OF - dt.timedelta(days=days)
            span = 0 if orders == 1 else int(rng.choice([5, 20, 20, 43.5, 60, 100]) * (orders - 1))
            first = last - dt.timedelta(days=span)
            row |= {
                "number_of_orders": orders,
                "first_order_date": first,
                "last_order_date": last,
                "days_since_last_order": days,
                "avg_days_between_orders": span / (orders - 1) if orders > 1 else None,
            }
        rows.append(row)
    return rows


def as_table(rows: list[dict], drop: tuple[str, ...] = ()) -> ibis.Table:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    return ibis.memtable(table.drop_columns(list(drop)))


# --------------------------------------------------------------------------------------
# the independent reference
# --------------------------------------------------------------------------------------


def reference_window(rows: list[dict], params: dict) -> int:
    if params.get("churn_days") is not None:
        return params["churn_days"]
    cycles = sorted(
        r["avg_days_between_orders"]
        for r in rows
        if r["number_of_orders"] >= 2 and r["avg_days_between_orders"] is not None
    )
    if len(cycles) < params.get("min_repeat_buyers", 20):
        return params.get("fallback_churn_days", 180)
    q = params.get("churn_quantile", 0.9)
    quantile = next(v for v in cycles if sum(1 for c in cycles if c <= v) >= q * len(cycles))
    k = params.get("churn_cycles", 3.0)
    return max(1, math.ceil((1.0 if k is None else k) * quantile))


def reference_stage(row: dict, window: int, params: dict) -> tuple[str, str]:
    n = row["number_of_orders"]
    refunds = row.get("refunds", 0) or 0

    def count(name: str) -> int:
        return row.get(f"events_{name}", 0) or 0

    if n == 0:
        if refunds > 0:
            return "potential", "refunded"
        if count("trial_start"):
            return "potential", "trial"
        if count("cart_add") or count("checkout_start"):
            return "potential", "cart_abandoner"
        if count("email_subscribe") or row.get("email_subscription_status") == "subscribed":
            return "potential", "subscriber"
        if count("total"):
            return "potential", "visitor"
        if row.get("known_customer"):
            return "potential", "known"
        return "potential", "other"
    days, cycle = row["days_since_last_order"], row["avg_days_between_orders"]
    k = params.get("churn_cycles", 3.0)
    lapsed = days > window and (k is None or cycle is None or days > k * cycle)
    if lapsed:
        limit = params.get("refund_churn", 2)
        return "churned", "refunds" if limit is not None and refunds >= limit else "lapsed"
    if (AS_OF - row["first_order_date"]).days <= params.get("new_days", 30):
        return "new", "first_order" if n == 1 else "returning"
    rhythm = "one_order" if n == 1 else ("overdue" if days > cycle else "on_cycle")
    if n >= params.get("loyal_orders", 3):
        return "loyal", rhythm
    return "active", rhythm


def staged(table: ibis.Table) -> dict[str, tuple[str, str]]:
    rows = table.select("customer_id", "lifecycle_stage", "lifecycle_reason").to_pyarrow()
    out = {
        r["customer_id"]: (r["lifecycle_stage"], r["lifecycle_reason"]) for r in rows.to_pylist()
    }
    assert len(out) == rows.num_rows
    return out


# --------------------------------------------------------------------------------------
# stages and reasons
# --------------------------------------------------------------------------------------

SETTINGS = [
    {"min_repeat_buyers": 5},
    {"min_repeat_buyers": 5, "churn_quantile": 0.5, "churn_cycles": 2.0},
    {"churn_days": 45},
    {"churn_days": 45, "churn_cycles": None, "refund_churn": None, "loyal_orders": 2},
    {"new_days": 7, "loyal_orders": 5, "refund_churn": 1},
    {},  # too few repeat buyers: the fallback window
]


@pytest.mark.parametrize(
    "params", SETTINGS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items())
)
@pytest.mark.parametrize("seed", [1, 2])
def test_stages_and_reasons_match_the_reference_on_heavy_ties(seed, params):
    rows = tied_profile(seed, n=150 if params else 40)
    model = Lifecycle(**params).fit(as_table(rows))
    window = reference_window(rows, params)
    assert model.churn_days_ == window

    result = staged(model.transform(as_table(rows)))

    assert result == {r["customer_id"]: reference_stage(r, window, params) for r in rows}


def test_the_learned_window_and_where_it_came_from():
    rows = tied_profile(3)
    model = Lifecycle(min_repeat_buyers=5).fit(as_table(rows))
    assert model.churn_days_source_ == "learned"
    assert model.n_repeat_buyers_ == sum(1 for r in rows if r["number_of_orders"] >= 2)
    few = Lifecycle().fit(as_table(rows[:20]))
    assert (few.churn_days_, few.churn_days_source_) == (180, "fallback")
    given = Lifecycle(churn_days=90).fit(as_table(rows))
    assert (given.churn_days_, given.churn_days_source_, given.n_repeat_buyers_) == (
        90,
        "given",
        None,
    )


def test_every_customer_is_in_exactly_one_stage_with_a_reason_of_that_stage():
    rows = tied_profile(4, n=300)
    result = staged(Lifecycle(min_repeat_buyers=5).fit_transform(as_table(rows)))
    assert set(result) == {r["customer_id"] for r in rows}
    for stage, reason in result.values():
        assert stage in STAGES and reason in REASONS[stage]
    assert {stage for stage, _ in result.values()} == set(STAGES)


def test_without_event_columns_the_potential_reasons_come_from_what_is_there():
    rows = tied_profile(5)
    events = tuple(c for c in SCHEMA.names if c.startswith("events_"))
    table = as_table(rows, drop=(*events, "email_subscription_status"))
    result = staged(Lifecycle(churn_days=60).fit_transform(table))
    bare = [
        {k: v for k, v in r.items() if k not in events and k != "email_subscription_status"}
        for r in rows
    ]
    assert result == {r["customer_id"]: reference_stage(r, 60, {}) for r in bare}
    assert {reason for stage, reason in result.values() if stage == "potential"} == {
        "refunded",
        "known",
        "other",
    }


# --------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"new_days": 0},
            "The 'new_days' parameter of Lifecycle must be an int in the range [1, inf). Got 0 instead.",
        ),
        (
            {"churn_days": 1.5},
            "The 'churn_days' parameter of Lifecycle must be an int in the range [1, inf) or None. Got 1.5 instead.",
        ),
        (
            {"churn_quantile": 0},
            "'churn_quantile' parameter of Lifecycle must be a number in the range (0, 1]",
        ),
        (
            {"churn_cycles": -1},
            "'churn_cycles' parameter of Lifecycle must be a number in the range (0, 100] or None",
        ),
        (
            {"loyal_orders": 1},
            "'loyal_orders' parameter of Lifecycle must be an int in the range [2, inf)",
        ),
        ({"refund_churn": "2"}, "Got '2' instead."),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Lifecycle(**params).fit(as_table(tied_profile(1)))


def test_transform_needs_fit_and_the_profile_columns():
    with pytest.raises(ConfigError, match="not fitted yet"):
        Lifecycle().transform(as_table(tied_profile(1)))
    with pytest.raises(ConfigError, match="lacks the column"):
        Lifecycle().fit(as_table(tied_profile(1), drop=("avg_days_between_orders",)))


# --------------------------------------------------------------------------------------
# stage shares over time, on a small shop worked out by hand
# --------------------------------------------------------------------------------------

D1, D2, D3 = dt.date(2025, 1, 31), dt.date(2025, 3, 31), dt.date(2025, 6, 30)


@pytest.fixture
def shop(ws):
    orders = [
        ("A1", "A", "2025-01-20"),
        ("B1", "B", "2024-10-01"),
        ("B2", "B", "2024-11-01"),
        ("B3", "B", "2025-01-15"),
        ("C1", "C", "2025-03-20"),
        ("D1", "D", "2024-12-01"),
        ("D2", "D", "2025-03-01"),
        ("E1", "E", "2025-06-20"),
    ]
    tables = {
        "customers": pa.table(
            {
                "customer_id": ["K1", "K2"],
                "signup_at": ["2024-12-01 09:00:00", "2025-05-01 09:00:00"],
            }
        ),
        "orders": pa.table(
            {
                "order_id": [o[0] for o in orders],
                "customer_id": [o[1] for o in orders],
                "ordered_at": [f"{o[2]} 12:00:00" for o in orders],
                "total": pa.array([10_000.0] * len(orders), pa.float64()),
            }
        ),
        "events": pa.table(
            {
                "customer_id": ["E", "V"],
                "event": ["cart_add", "visit"],
                "occurred_at": ["2025-01-10 12:00:00", "2025-02-01 12:00:00"],
            }
        ),
    }
    assert ingest_tables(ws, tables).quarantined == 0
    return ws


def test_stage_shares_at_three_dates(shop):
    # churn window 60 days, or 3 × the own cycle when longer:
    #  A: one order 01-20 → new on 01-31; 70 days on 03-31 → churned
    #  B: 10-01, 11-01, 01-15 (cycle 106/2 = 53, 3 × 53 = 159) → loyal; 75 days on 03-31 is
    #     within 159 → loyal; 166 days on 06-30 → churned
    #  C: 03-20 → absent on 01-31, new on 03-31, 102 days on 06-30 → churned
    #  D: 12-01 → 61 days on 01-31 → churned; back 03-01 (cycle 90) → active on 03-31 and,
    #     121 days ≤ 270, still active (overdue) on 06-30
    #  E: cart_add 01-10 → potential; first order 06-20 → new on 06-30
    #  K1 (signed up 2024-12-01), V (visit 02-01), K2 (signed up 05-01) never buy → potential
    shares = stage_shares(shop.ibis, [D3, D1, D2], lifecycle=Lifecycle(churn_days=60))
    got = {(r["as_of"], r["stage"]): r["customers"] for r in shares.to_pylist()}
    expected = {
        D1: {"potential": 2, "new": 1, "active": 0, "loyal": 1, "churned": 1},
        D2: {"potential": 3, "new": 1, "active": 1, "loyal": 1, "churned": 1},
        D3: {"potential": 3, "new": 1, "active": 1, "loyal": 0, "churned": 3},
    }
    assert got == {(d, s): n for d, counts in expected.items() for s, n in counts.items()}
    assert [r["as_of"] for r in shares.to_pylist()][::5] == [D1, D2, D3]
    for day, counts in expected.items():
        total = sum(counts.values())
        for r in shares.to_pylist():
            if r["as_of"] == day:
                assert r["share"] == pytest.approx(counts[r["stage"]] / total)
                assert r["churn_days"] == 60


def test_reasons_on_the_profile_of_the_shop(shop):
    profile = customer_profile(shop.ibis, D3)
    result = staged(Lifecycle(churn_days=60).fit_transform(profile))
    assert result == {
        "A": ("churned", "lapsed"),
        "B": ("churned", "lapsed"),
        "C": ("churned", "lapsed"),
        "D": ("active", "overdue"),
        "E": ("new", "first_order"),
        "K1": ("potential", "known"),
        "K2": ("potential", "known"),
        "V": ("potential", "visitor"),
    }


def test_add_scores_gives_every_customer_one_row_with_every_score(shop):
    profile = customer_profile(shop.ibis, D3)
    scored = add_scores(shop.ibis, profile, D3, lifecycle=Lifecycle(churn_days=60))
    rows = scored.to_pyarrow().to_pylist()
    assert sorted(r["customer_id"] for r in rows) == ["A", "B", "C", "D", "E", "K1", "K2", "V"]
    for column in (*SCORE_COLUMNS, "lifecycle_stage", "lifecycle_reason", *GRADE_COLUMNS):
        assert column in scored.columns
    by_id = {r["customer_id"]: r for r in rows}
    assert by_id["D"]["lifecycle_stage"] == "active" and by_id["K1"]["rfm_group"] == "prospects"
    assert {r["spend_tier"] for r in rows} >= {"top20", "rest", None}
    assert {f.name for f in field_specs()} >= set(scored.columns) - set(profile.columns)
