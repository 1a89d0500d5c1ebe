"""Per-customer predictions as profile fields, on the real CDNOW purchases.

Each field is recomputed here from the fitted parameters with the papers' formulas (mpmath,
written out independently of danggol.predict), and the refresh / segment wiring is checked
against the stored table.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.config import PredictionSettings
from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.predict.customers import customer_predictions, last_run
from danggol.predict.summary import rfm_summary
from danggol.segments import service
from danggol.store.workspace import Workspace

SAMPLE = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"
AS_OF = dt.date(1997, 9, 30)
runner = CliRunner()


def cdnow_orders() -> pa.Table:
    if not SAMPLE.exists():
        pytest.fail(
            f"CDNOW sample not found at {SAMPLE} (tests/data/cdnow is part of the repository)"
        )
    rows = [line.split() for line in SAMPLE.read_text().splitlines()]
    return pa.table(
        {
            "order_id": [str(i) for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "ordered_at": [f"{r[2][:4]}-{r[2][4:6]}-{r[2][6:]}" for r in rows],
            "total": pa.array([float(r[4]) for r in rows], pa.float64()),
        }
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("cdnow") / "shop", timezone="UTC", currency="USD")
    ingest_tables(ws, {"orders": cdnow_orders()})
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def summary(shop):
    t = rfm_summary(shop.ibis, AS_OF, time_unit="week").to_pydict()
    return {cid: i for i, cid in enumerate(t["customer_id"])}, t


@pytest.fixture(scope="module")
def predicted(shop, summary):
    """Predictions with a made-up top grade: the 100 biggest spenders are 'vip'."""
    _, t = summary
    order = np.argsort(-np.asarray(t["monetary_value"]) * np.asarray(t["frequency"]))
    vip = {t["customer_id"][i] for i in order[:100]}
    grades = pa.table(
        {
            "customer_id": t["customer_id"],
            "grade": ["vip" if c in vip else "basic" for c in t["customer_id"]],
        }
    )
    table, run = customer_predictions(
        shop.ibis, AS_OF, PredictionSettings(model="bgnbd"), grades=grades, vip_grade="vip"
    )
    return table.to_pydict(), run, vip


# -- the papers' formulas, written out here ---------------------------------------------


def bg_alive(p, x, tx, T):
    if x == 0:
        return mp.mpf(1)
    return 1 / (
        1 + p["a"] / (p["b"] + x - 1) * ((p["alpha"] + T) / (p["alpha"] + tx)) ** (p["r"] + x)
    )


def bg_expected(p, t, x, tx, T):
    """FHL 2005 eq. (10)."""
    r, al, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    z = t / (al + T + t)
    bracket = 1 - ((al + T) / (al + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket * bg_alive(p, x, tx, T)


def bg_repurchase(p, t, x, tx, T):
    """1 − P(X(t) = 0): dead, or alive with no purchase (gamma-Poisson) in t."""
    none_if_alive = ((p["alpha"] + T) / (p["alpha"] + T + t)) ** (p["r"] + x)
    return bg_alive(p, x, tx, T) * (1 - none_if_alive)


def sampled(ids: dict[str, int], t: dict) -> list[str]:
    """Every 200th buyer, and the ten most frequent (hundreds of weeks of history)."""
    frequent = sorted(ids, key=lambda c: -t["frequency"][ids[c]])[:10]
    return list(ids)[::200] + frequent


def test_fields_match_the_formulas(summary, predicted):
    ids, t = summary
    table, run, _ = predicted
    assert run.status == "fitted"
    p = {k: mp.mpf(v) for k, v in run.model_params.items()}
    horizon_weeks = 90 / 7  # horizon_days = 90 by default, the model in weeks
    at = {cid: i for i, cid in enumerate(table["customer_id"])}
    for cid in sampled(ids, t):
        i, j = ids[cid], at[cid]
        x, tx, T = t["frequency"][i], t["recency"][i], t["T"][i]
        assert table["p_alive"][j] == pytest.approx(float(bg_alive(p, x, tx, T)), rel=1e-10)
        assert table["expected_orders"][j] == pytest.approx(
            float(bg_expected(p, horizon_weeks, x, tx, T)), rel=1e-8
        )
        assert table["repurchase_probability"][j] == pytest.approx(
            float(bg_repurchase(p, horizon_weeks, x, tx, T)), rel=1e-10
        )


def test_predicted_clv_is_the_discounted_monthly_sum(summary, predicted):
    """CLV = margin · Σ_{i=1..12} E[M] · (E[X(τᵢ)] − E[X(τᵢ₋₁)]) / (1+d)^i, τᵢ = i months in
    weeks (a month = 365.25/12 days), d = 1.10^(1/12) − 1 (10 % a year), E[M] the Gamma-Gamma
    conditional mean (FHL 2005 eq. 5)."""
    ids, t = summary
    table, run, _ = predicted
    p = run.model_params
    g = run.spend_params
    month_weeks = 365.25 / 12 / 7
    d = 1.10 ** (1 / 12) - 1
    at = {cid: i for i, cid in enumerate(table["customer_id"])}
    for cid in sampled(ids, t)[::2]:
        i, j = ids[cid], at[cid]
        x, tx, T, m = (t[k][i] for k in ("frequency", "recency", "T", "monetary_value"))
        spend = (g["gamma"] + x * m) * g["p"] / (g["p"] * x + g["q"] - 1)
        total, before = mp.mpf(0), mp.mpf(0)
        for k in range(1, 13):
            upto = bg_expected(p, k * month_weeks, x, tx, T)
            total += spend * (upto - before) / (1 + d) ** k
            before = upto
        assert table["predicted_clv"][j] == pytest.approx(float(total), rel=1e-8)


def test_clv_percentile_is_the_percent_rank(predicted):
    table, _, _ = predicted
    clv = table["predicted_clv"]
    n = len(clv)
    for j in range(0, n, 97):  # a spread of customers: count those strictly below
        below = sum(1 for v in clv if v < clv[j])
        assert table["predicted_clv_percentile"][j] == pytest.approx(below / (n - 1) * 100)


def test_next_order_date_is_when_repurchase_reaches_one_half(summary, predicted):
    """Solve P(alive)·(1 − ((α+T)/(α+T+t))^(r+x)) = ½ in closed form:
    t* = (α+T)·((1 − ½/P(alive))^(−1/(r+x)) − 1) weeks; the date is the first whole day at or
    after t*; none when P(alive) ≤ ½."""
    ids, t = summary
    table, run, _ = predicted
    p = run.model_params
    at = {cid: i for i, cid in enumerate(table["customer_id"])}
    seen_none = seen_date = False
    for cid in list(ids)[::23]:
        i, j = ids[cid], at[cid]
        x, tx, T = t["frequency"][i], t["recency"][i], t["T"][i]
        alive = float(bg_alive(p, x, tx, T))
        got = table["model_next_order_date"][j]
        if alive <= 0.5:
            assert got is None
            seen_none = True
            continue
        weeks = (p["alpha"] + T) * ((1 - 0.5 / alive) ** (-1 / (p["r"] + x)) - 1)
        if weeks * 7 > 3650:
            assert got is None
            continue
        assert got == AS_OF + dt.timedelta(days=math.ceil(weeks * 7))
        seen_date = True
    assert seen_none and seen_date


def test_future_vips_are_non_vips_in_the_vip_range(predicted):
    table, run, vip = predicted
    clv = dict(zip(table["customer_id"], table["predicted_clv"], strict=True))
    known = [v for v in clv.values() if v is not None]
    # the VIP range: the n highest predicted values, n = the number of VIPs with a prediction
    n = sum(1 for c in vip if clv.get(c) is not None)
    threshold = sorted(known, reverse=True)[n - 1]
    assert run.vip_clv_threshold == pytest.approx(threshold)
    want = {
        c for c, v in clv.items() if c not in vip and v is not None and v >= threshold and v > 0
    }
    got = {c for c, f in zip(table["customer_id"], table["future_vip"], strict=True) if f}
    assert got == want and 0 < len(got) < n


def test_refresh_stores_the_fields_and_segments_use_them(tmp_path):
    ws = Workspace.init(tmp_path / "shop", timezone="UTC", currency="USD")
    ingest_tables(ws, {"orders": cdnow_orders()})
    refresh(ws, AS_OF, segments={})
    columns = {r[0] for r in ws.duck.execute("DESCRIBE profile_snapshot").fetchall()}
    fields = {"expected_orders", "p_alive", "repurchase_probability", "predicted_clv"}
    fields |= {"predicted_clv_percentile", "expected_next_order_date", "future_vip"}
    fields |= {"expected_orders_low", "expected_orders_high"}
    fields |= {"predicted_clv_low", "predicted_clv_high"}
    assert fields <= columns and "model_next_order_date" not in columns
    outside = ws.duck.execute(
        "SELECT count(*) FILTER (WHERE NOT (expected_orders_low <= expected_orders "
        "AND expected_orders <= expected_orders_high AND predicted_clv_low <= predicted_clv "
        "AND predicted_clv <= predicted_clv_high)), count(expected_orders_low) "
        "FROM profile_snapshot"
    ).fetchone()
    assert outside == (0, 2357)
    # member exports can carry the intervals like any profile field
    exported = service.member_fields(
        ws,
        service.target(ws, "number_of_orders >= 5"),
        AS_OF,
        ["expected_orders", "expected_orders_low", "expected_orders_high"],
    ).to_pyarrow()
    assert exported.num_rows > 0 and exported.column("expected_orders_low").null_count == 0
    snap = ws.duck.execute(
        "SELECT count(*) FILTER (WHERE p_alive < 0.2 AND number_of_orders >= 2), "
        "count(*) FILTER (WHERE predicted_clv_percentile >= 90) FROM profile_snapshot"
    ).fetchone()
    for query, want in (
        ("p_alive < 0.2 AND number_of_orders >= 2", snap[0]),
        ("predicted_clv_percentile >= 90", snap[1]),
    ):
        assert want > 0
        assert service.count(ws, service.target(ws, query), AS_OF) == want
    run = last_run(ws.duck)
    assert run is not None and run.status == "fitted" and run.as_of == AS_OF.isoformat()
    assert run.model_params["r"] == pytest.approx(0.2426, abs=1e-3)  # the published BG/NBD
    ws.close()


def test_without_a_refresh_segments_compute_the_same_predictions(shop):
    """No stored profile: the segment service fits on the spot and gets the same members."""
    got = service.count(shop, service.target(shop, "repurchase_probability >= 0.5"), AS_OF)
    table, _ = customer_predictions(shop.ibis, AS_OF)
    want = sum(1 for v in table.column("repurchase_probability").to_pylist() if v >= 0.5)
    assert got == want > 0


def test_cycle_setting_uses_the_customers_own_cycle(tmp_path):
    ws = Workspace.init(tmp_path / "shop", timezone="UTC", currency="USD")
    (ws.path / "danggol.toml").write_text(
        '[workspace]\ntimezone = "UTC"\ncurrency = "USD"\n\n[predictions]\nnext_order = "cycle"\n',
        encoding="utf-8",
    )
    ws.close()
    ws = Workspace.open(ws.path)
    ingest_tables(ws, {"orders": cdnow_orders()})
    refresh(ws, AS_OF, segments={})
    rows = ws.duck.execute(
        "SELECT last_order_date, avg_days_between_orders, expected_next_order_date "
        "FROM profile_snapshot WHERE number_of_orders > 0"
    ).fetchall()
    ws.close()
    assert any(r[1] is None for r in rows) and any(r[1] is not None for r in rows)
    for last, gap, got in rows:
        want = None if gap is None else last + dt.timedelta(days=math.floor(gap + 0.5))
        assert got == want


def test_too_little_data_gives_no_numbers_and_says_why(ws):
    orders = cdnow_orders().slice(0, 150)
    ingest_tables(ws, {"orders": orders})
    table, run = customer_predictions(ws.ibis, AS_OF)
    assert table.num_rows == 0
    assert run.status == "too_little_data" and "at least 200 buyers" in run.reason
    refresh(ws, AS_OF, segments={})
    nulls = ws.duck.execute(
        "SELECT count(*), count(p_alive), count(predicted_clv) FROM profile_snapshot"
    ).fetchone()
    assert nulls[0] > 0 and nulls[1:] == (0, 0)
    assert service.count(ws, service.target(ws, "p_alive >= 0"), AS_OF) == 0


def test_disabled_predictions_fit_nothing(shop):
    table, run = customer_predictions(shop.ibis, AS_OF, PredictionSettings(enabled=False))
    assert table.num_rows == 0 and run.status == "disabled" and "enabled = false" in run.reason


def test_a_bad_setting_names_the_setting(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    (ws.path / "danggol.toml").write_text("[predictions]\nhorizon_days = 0\n", encoding="utf-8")
    ws.close()
    with pytest.raises(ConfigError, match=r"predictions\.horizon_days"):
        Workspace.open(ws.path)


def test_predict_show(tmp_path):
    ws = Workspace.init(tmp_path / "shop", timezone="UTC", currency="USD")
    path = str(ws.path)
    ws.close()
    first = runner.invoke(app, ["-w", path, "predict", "show"])
    assert isinstance(first.exception, ConfigError) and "danggol refresh" in str(first.exception)
    ws = Workspace.open(path)
    ingest_tables(ws, {"orders": cdnow_orders()})
    refresh(ws, AS_OF, segments={})
    want = ws.duck.execute(
        "SELECT count(p_alive), sum(expected_orders) FROM profile_snapshot"
    ).fetchone()
    ws.close()
    result = runner.invoke(app, ["-w", path, "predict", "show", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["run"]["status"] == "fitted"
    assert data["run"]["settings"]["horizon_days"] == 90
    assert data["fields"]["predicted"] == want[0]
    assert data["fields"]["expected_orders"] == pytest.approx(want[1])
    assert data["run"]["model"] == "bgnbd" and data["run"]["fallbacks"] == []
    totals = data["run"]["totals"]["expected_orders"]
    assert totals["value"] == pytest.approx(want[1])
    assert totals["low"] < totals["value"] < totals["high"]
    assert set(data["run"]["model_params_se"]) == {"r", "alpha", "a", "b"}
    table = runner.invoke(app, ["-w", path, "predict", "show", "--lang", "en"])
    assert table.exit_code == 0 and "log likelihood" in table.output
    assert "model used" in table.output and "90% interval" in table.output


def test_segment_sql_refuses_prediction_fields_clearly(shop):
    from danggol.errors import SegmentError

    tgt = service.target(shop, "number_of_orders > 1 AND p_alive < 0.3")
    with pytest.raises(SegmentError, match="p_alive is a prediction made in Python"):
        service.to_sql(shop, tgt, AS_OF)
    plain = service.to_sql(shop, service.target(shop, "number_of_orders > 1"), AS_OF)
    assert "SELECT" in plain


def test_vip_clusters_are_stored_for_the_top_grade_only(tmp_path):
    from danggol.demo import generate_shop

    ws = Workspace.init(tmp_path / "shop")
    day = dt.date(2025, 6, 30)
    ingest_tables(ws, generate_shop(2500, seed=3, end=day))
    refresh(ws, day, segments={})
    rows = ws.duck.execute(
        "SELECT grade, number_of_orders, vip_cluster FROM profile_snapshot"
    ).fetchall()
    run = last_run(ws.duck)
    ws.close()
    vips = [r for r in rows if r[0] == "vip" and r[1] > 0]
    assert len(vips) >= 60 and run.vip_cluster_reason == ""
    assert all(r[2] is not None for r in vips)
    assert all(r[2] is None for r in rows if not (r[0] == "vip" and r[1] > 0))
    sizes = {c["key"]: c["size"] for c in run.vip_clusters}
    counted: dict[str, int] = {}
    for r in vips:
        counted[r[2]] = counted.get(r[2], 0) + 1
    assert counted == sizes and len(sizes) >= 2
    names = {"new_big_spender", "rising", "long_time_steady", "fading", "high_aov"}
    names |= {"frequent_buyer", "typical"}
    assert all(k in names or k.startswith("typical_") for k in sizes)


def test_too_few_vips_leave_the_cluster_empty_and_say_why(shop):
    # CDNOW is in dollars: nobody reaches the default KRW grade thresholds
    refresh(shop, AS_OF, segments={})
    run = last_run(shop.duck)
    assert "too few VIPs to cluster: 0 customers" in run.vip_cluster_reason
    assert shop.duck.execute("SELECT count(vip_cluster) FROM profile_snapshot").fetchone() == (0,)
