"""Campaigns: the holdout split (reproducible, disjoint from the export), the uplift
statistics against hand-worked examples, simulations with a known effect, and the report."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import statistics

import numpy as np
import pyarrow as pa
import pytest

from danggol.activation import campaigns, uplift
from danggol.errors import ConfigError

AS_OF = dt.date(2025, 6, 30)
START, END = dt.date(2025, 7, 1), dt.date(2025, 7, 30)


def phi(x: float) -> float:
    """Standard normal CDF, from math.erfc (not scipy)."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


# -- statistics, by hand ---------------------------------------------------------------------------


def test_two_by_two_by_hand():
    # treated: 60 of 400 bought (0.15); holdout: 10 of 100 (0.10)
    c = uplift.proportions(60, 400, 10, 100)
    assert c.treated == 0.15 and c.holdout == 0.10
    assert c.difference == pytest.approx(0.05)
    assert c.relative_uplift == pytest.approx(0.5)  # 0.05 / 0.10
    # Wald: se = √(0.15·0.85/400 + 0.10·0.90/100) = √(0.00031875 + 0.0009) = √0.00121875
    se = math.sqrt(0.00121875)
    assert se == pytest.approx(0.0349106, abs=1e-7)
    assert c.ci_low == pytest.approx(0.05 - 1.959964 * se, abs=1e-6)  # −0.018424
    assert c.ci_high == pytest.approx(0.05 + 1.959964 * se, abs=1e-6)  # 0.118424
    # pooled p = 70/500 = 0.14; se0 = √(0.14·0.86·(1/400 + 1/100)) = √(0.1204·0.0125) = √0.001505
    z = 0.05 / math.sqrt(0.001505)
    assert z == pytest.approx(1.28885, abs=1e-5)
    assert c.p_value == pytest.approx(2 * (1 - phi(z)), abs=1e-9)  # ≈ 0.1975
    assert c.p_value == pytest.approx(0.1975, abs=1e-4)


def test_welch_by_hand():
    a, b = [10.0, 20.0, 30.0, 40.0], [5.0, 5.0, 10.0]
    c = uplift.means(a, b)
    # means 25 and 6.667; variances 166.667 (÷3) and 8.333 (÷2)
    va, vb = statistics.variance(a) / 4, statistics.variance(b) / 3
    assert (va, vb) == pytest.approx((41.6667, 2.7778), abs=1e-4)
    diff = 25 - 20 / 3
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)  # Welch–Satterthwaite ≈ 3.38
    assert c.difference == pytest.approx(diff)
    assert c.relative_uplift == pytest.approx(diff / (20 / 3))
    t = diff / se
    assert t == pytest.approx(2.75)  # 18.333 / √44.444 = 18.333 / 6.667
    # the t quantile for df ≈ 3.39 at 97.5% lies between those for df 4 (2.776) and 3 (3.182)
    width = (c.ci_high - c.ci_low) / 2
    assert 2.776 * se < width < 3.182 * se
    assert c.ci_low + width == pytest.approx(diff)
    # two-sided p lies between t = 2.75's p with df 3 (0.0707) and df 4 (0.0514)
    assert 0.0514 < c.p_value < 0.0706
    assert df == pytest.approx(3.39, abs=0.01)


def test_degenerate_inputs_give_none_not_a_crash():
    assert uplift.proportions(0, 0, 1, 10).difference is None
    c = uplift.means([1.0, 2.0], [])
    assert c.treated == 1.5 and c.difference is None
    assert uplift.proportions(3, 10, 0, 10).relative_uplift is None  # holdout rate 0


# -- statistics, simulated ---------------------------------------------------------------------------


def test_rate_interval_covers_the_true_effect_and_null_is_rarely_significant():
    rng = np.random.default_rng(7)
    reps, n1, n0 = 400, 900, 300
    covered = significant_null = 0
    for _ in range(reps):
        x1, x0 = rng.binomial(n1, 0.13), rng.binomial(n0, 0.10)
        c = uplift.proportions(int(x1), n1, int(x0), n0)
        covered += c.ci_low <= 0.03 <= c.ci_high
        y1, y0 = rng.binomial(n1, 0.10), rng.binomial(n0, 0.10)
        significant_null += uplift.proportions(int(y1), n1, int(y0), n0).p_value < 0.05
    # nominal 95% coverage, 5% false positives (binomial sd over 400 runs ≈ 1.1 points)
    assert 0.91 <= covered / reps <= 0.99
    assert 0.01 <= significant_null / reps <= 0.09


def test_mean_interval_covers_the_true_effect_on_skewed_revenue():
    rng = np.random.default_rng(11)
    reps, covered, significant_null = 300, 0, 0
    # revenue: 0 for non-buyers, lognormal for buyers; the treated buy more often
    mean_order = math.exp(10 + 0.5**2 / 2)
    truth = (0.25 - 0.20) * mean_order
    for _ in range(reps):
        t = rng.lognormal(10, 0.5, 2000) * (rng.random(2000) < 0.25)
        h = rng.lognormal(10, 0.5, 600) * (rng.random(600) < 0.20)
        c = uplift.means(t, h)
        covered += c.ci_low <= truth <= c.ci_high
        h2 = rng.lognormal(10, 0.5, 600) * (rng.random(600) < 0.25)
        significant_null += uplift.means(t, h2).p_value < 0.05
    assert 0.91 <= covered / reps <= 0.99
    assert 0.01 <= significant_null / reps <= 0.10


# -- campaigns in a workspace ------------------------------------------------------------------------


def add_customers(ws, n: int) -> list[str]:
    ids = [f"c{i:04d}" for i in range(n)]
    rows = pa.table({"customer_id": ids, "email": [f"{c}@example.com" for c in ids]})
    with ws.transaction() as con:  # writes go through the workspace's writer
        con.register("_new_customers", rows)
        con.execute(
            "INSERT INTO customers (customer_id, signup_at, signup_date, marketing_opt_in, email) "
            "SELECT customer_id, TIMESTAMP '2025-01-01', DATE '2025-01-01', true, email "
            "FROM _new_customers"
        )
        con.unregister("_new_customers")
    return ids


def add_orders(ws, rows: list[tuple[str, str, dt.date, float, str]]) -> None:
    names = ("order_id", "customer_id", "order_date", "total", "status")
    table = pa.table({k: [r[i] for r in rows] for i, k in enumerate(names)})
    with ws.transaction() as con:  # writes go through the workspace's writer
        con.register("_new_orders", table)
        con.execute(
            "INSERT INTO orders (order_id, customer_id, ordered_at, order_date, total, status, "
            "refunded_amount) SELECT order_id, customer_id, order_date, order_date, total, "
            "status, 0 FROM _new_orders"
        )
        con.unregister("_new_orders")


def groups(ws, name: str) -> tuple[set[str], set[str]]:
    rows = ws.duck.execute(
        "SELECT customer_id, holdout FROM campaign_members WHERE campaign = ?", [name]
    ).fetchall()
    return {c for c, h in rows if not h}, {c for c, h in rows if h}


SEGMENT = "known_customer = true"


def test_holdout_is_reproducible_sized_and_disjoint_from_the_export(ws, tmp_path):
    ids = add_customers(ws, 400)
    made = campaigns.create_campaign(ws, "summer", SEGMENT, as_of=AS_OF, seed=42)
    assert (made.treated, made.holdout) == (360, 40)  # round(0.1 × 400)
    treated, holdout = groups(ws, "summer")
    assert treated | holdout == set(ids) and not treated & holdout
    # a plain re-implementation: the 40 lowest SHA-256("42:summer:id") values
    by_hash = sorted(ids, key=lambda c: hashlib.sha256(f"42:summer:{c}".encode()).digest())
    assert holdout == set(by_hash[:40])
    # the same name and seed in another workspace give the same split; another name does not
    assert campaigns.split(ids, "summer", 0.1, 42)[1] == sorted(holdout)
    assert campaigns.split(ids, "winter", 0.1, 42)[1] != sorted(holdout)
    out = tmp_path / "summer.csv"
    result = campaigns.export_campaign(ws, "summer", "esp", out)
    with open(out, encoding="utf-8-sig", newline="") as f:
        exported = {r["customer_id"] for r in csv.DictReader(f)}
    assert exported == treated and not exported & holdout
    assert result.holdout_left_out == 40 and result.written == 360
    with pytest.raises(ConfigError, match="exists"):
        campaigns.create_campaign(ws, "summer", SEGMENT, as_of=AS_OF)


def test_report_counts_the_window_by_hand(ws):
    add_customers(ws, 20)
    campaigns.create_campaign(
        ws, "tiny", SEGMENT, as_of=AS_OF, holdout_share=0.25, kpi="revenue_per_customer"
    )
    treated, holdout = groups(ws, "tiny")
    assert (len(treated), len(holdout)) == (15, 5)
    t, h = sorted(treated), sorted(holdout)
    orders = [
        ("o1", t[0], dt.date(2025, 7, 1), 10_000, "paid"),  # in (first day)
        ("o2", t[0], dt.date(2025, 7, 30), 20_000, "paid"),  # in (last day)
        ("o3", t[1], dt.date(2025, 7, 31), 99_000, "paid"),  # after the window
        ("o4", t[2], dt.date(2025, 6, 30), 99_000, "paid"),  # before
        ("o5", t[3], dt.date(2025, 7, 5), 99_000, "cancelled"),  # not a purchase
        ("o6", t[4], dt.date(2025, 7, 6), 30_000, "paid"),
        ("o7", h[0], dt.date(2025, 7, 7), 15_000, "paid"),
    ]
    add_orders(ws, orders)
    rep = campaigns.report(ws, "tiny")
    assert rep.complete  # an order on 07-31 ≥ window end
    assert (rep.treated.customers, rep.treated.buyers, rep.treated.orders) == (15, 2, 3)
    assert rep.treated.revenue == 60_000
    assert (rep.holdout.customers, rep.holdout.buyers, rep.holdout.revenue) == (5, 1, 15_000)
    # revenue per customer: 60,000 / 15 = 4,000 against 15,000 / 5 = 3,000
    assert rep.kpi.treated == 4_000 and rep.kpi.holdout == 3_000
    assert rep.kpi.relative_uplift == pytest.approx(1 / 3)
    assert rep.incremental_revenue == pytest.approx(1_000 * 15)
    # Welch on [30000, 30000, 0 × 13] vs [15000, 0 × 4]
    ta = [30_000.0, 30_000.0] + [0.0] * 13
    ha = [15_000.0] + [0.0] * 4
    va, vb = statistics.variance(ta) / 15, statistics.variance(ha) / 5
    se = math.sqrt(va + vb)
    assert rep.incremental_revenue_ci[1] - rep.incremental_revenue == pytest.approx(
        (rep.kpi.ci_high - 1_000) * 15
    )
    assert rep.kpi.ci_high - 1_000 > 1.96 * se  # a t quantile is above the normal one
    aov = campaigns.create_campaign(ws, "tiny-aov", SEGMENT, as_of=AS_OF, kpi="aov")
    rep = campaigns.report(ws, aov.name)
    t2, h2 = groups(ws, "tiny-aov")
    paid = [(c, total) for _, c, d, total, s in orders if s == "paid" and START <= d <= END]
    t_vals = [v for c, v in paid if c in t2]
    h_vals = [v for c, v in paid if c in h2]
    assert rep.kpi.treated == pytest.approx(sum(t_vals) / len(t_vals))
    assert rep.kpi.holdout == (sum(h_vals) / len(h_vals) if h_vals else None)


def test_simulated_campaign_recovers_the_known_effect(ws):
    rng = np.random.default_rng(2025)
    add_customers(ws, 3000)
    campaigns.create_campaign(ws, "sim", SEGMENT, as_of=AS_OF, holdout_share=0.3, seed=1)
    treated, holdout = groups(ws, "sim")
    members = sorted(treated | holdout)
    rate = np.where([c in treated for c in members], 0.15, 0.10)  # the true effect: +5 points
    bought = rng.random(len(members)) < rate
    days = rng.integers(0, 30, len(members))
    orders = [
        (f"o{i}", cid, START + dt.timedelta(days=int(days[i])), 30_000.0, "paid")
        for i, cid in enumerate(members)
        if bought[i]
    ]
    add_orders(ws, orders)
    rep = campaigns.report(ws, "sim")
    assert (rep.treated.customers, rep.holdout.customers) == (2100, 900)
    assert rep.kpi.ci_low <= 0.05 <= rep.kpi.ci_high
    assert rep.kpi.p_value < 0.01
    true_incremental = 0.05 * 30_000 * 2100
    low, high = rep.incremental_revenue_ci
    assert low <= true_incremental <= high
    assert rep.complete == (max(o[2] for o in orders) >= END)


def test_campaign_checks(ws):
    add_customers(ws, 3)
    with pytest.raises(ConfigError, match="unknown KPI"):
        campaigns.create_campaign(ws, "x", SEGMENT, as_of=AS_OF, kpi="clicks")
    with pytest.raises(ConfigError, match="no members"):
        campaigns.create_campaign(ws, "x", "number_of_orders > 5", as_of=AS_OF)
    with pytest.raises(ConfigError, match="no campaign named 'y'"):
        campaigns.report(ws, "y")
