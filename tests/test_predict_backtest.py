"""Backtests on CDNOW: fit to 1997-09-30, predict the 39 weeks after, compare with the file."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy.special import hyp2f1

from compare import same
from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.predict.backtest import auc_score, backtest
from danggol.predict.summary import rfm_summary

CDNOW = Path(__file__).parent / "data" / "cdnow"
SAMPLE = CDNOW / "CDNOW_sample.txt"
CUTOFF = dt.date(1997, 9, 30)
END = CUTOFF + dt.timedelta(days=273)


def cdnow_rows() -> list[tuple[str, dt.date, float]]:
    if not SAMPLE.exists():
        pytest.fail(
            f"CDNOW sample not found at {SAMPLE} (tests/data/cdnow is part of the repository)"
        )
    rows = []
    for line in SAMPLE.read_text().splitlines():
        master, _, day, _, dollars = line.split()
        rows.append((master, dt.datetime.strptime(day, "%Y%m%d").date(), float(dollars)))
    return rows


def orders_table(rows, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "order_id": [str(start + i) for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "ordered_at": [r[1].isoformat() for r in rows],
            "total": pa.array([r[2] for r in rows], pa.float64()),
        }
    )


@pytest.fixture
def cdnow(ws):
    rows = cdnow_rows()
    ingest_tables(ws, {"orders": orders_table(rows)})
    return ws, rows


def bgnbd_expected(p: dict[str, float], t: float, x: float, tx: float, T: float) -> float:
    """FHL (2005) eq. (10), written directly (no Euler transformation)."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    death = a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 0.0
    return head * bracket / (1 + death)


def test_cdnow_backtest_matches_independent_counts_and_formula(cdnow):
    ws, rows = cdnow
    result = backtest(ws.ibis, cutoff=CUTOFF, horizon_days=273, model="bgnbd", time_unit="week")
    # the whole path store → summary → fit: the published BG/NBD estimates
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert float(f"{result.params[name]:.3g}") == pytest.approx(float(f"{value:.3g}"))
    assert result.customers == 2357 and result.repeat_buyers == 946

    # actual: distinct purchase days in (cutoff, end] per customer, counted from the file
    days: dict[str, set[dt.date]] = defaultdict(set)
    for cid, day, _ in rows:
        days[cid].add(day)
    buyers = {c for c, ds in days.items() if min(ds) < CUTOFF}  # T > 0
    holdout = {c: sum(1 for d in days[c] if CUTOFF < d <= END) for c in buyers}
    assert result.actual_total == sum(holdout.values())
    assert result.repurchasers == sum(1 for n in holdout.values() if n > 0)

    # predicted: eq. (10) summed over customers, from the file's own (x, t_x, T)
    total = 0.0
    for c in buyers:
        cal = sorted(d for d in days[c] if d <= CUTOFF)
        x = len(cal) - 1
        tx = (cal[-1] - cal[0]).days / 7
        T = (CUTOFF - cal[0]).days / 7
        total += bgnbd_expected(result.params, 39.0, x, tx, T)
    assert result.predicted_total == pytest.approx(total, rel=1e-9)
    # and with the published (rounded) parameters, within rounding
    rounded = 0.0
    for c in buyers:
        cal = sorted(d for d in days[c] if d <= CUTOFF)
        x, tx, T = len(cal) - 1, (cal[-1] - cal[0]).days / 7, (CUTOFF - cal[0]).days / 7
        rounded += bgnbd_expected(published, 39.0, x, tx, T)
    assert result.predicted_total == pytest.approx(rounded, rel=0.01)

    assert result.correlation > 0.5 and result.auc > 0.7
    assert 0 < result.brier < 0.25
    assert 0 < result.mae < result.rmse
    assert len(result.calibration) == 10
    assert sum(c["customers"] for c in result.calibration) == result.customers
    assert result.repurchase_probability.startswith("exact")
    d = result.to_dict()
    assert d["actual_total"] == result.actual_total and isinstance(d["calibration"], list)


def test_cdnow_spend_backtest_and_top_decile_lift(cdnow):
    """Predicted spend = Gamma-Gamma E[M | x, m̄] (FHL 2005 eq. 5, written here) × eq. (10);
    actual = dollars paid in the holdout, from the file; the top-decile share is recomputed by
    sorting here."""
    ws, rows = cdnow
    result = backtest(ws.ibis, cutoff=CUTOFF, horizon_days=273)
    g = result.spend_params
    # the published Gamma-Gamma estimates on the same calibration data
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert float(f"{g[name]:.3g}") == pytest.approx(float(f"{value:.3g}"))
    per_day: dict[str, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for cid, day, dollars in rows:
        per_day[cid][day] += dollars
    buyers = sorted(c for c, ds in per_day.items() if min(ds) < CUTOFF)
    predicted, actual = [], []
    for c in buyers:
        cal = sorted(d for d in per_day[c] if d <= CUTOFF)
        x, tx, T = len(cal) - 1, (cal[-1] - cal[0]).days / 7, (CUTOFF - cal[0]).days / 7
        mbar = sum(per_day[c][d] for d in cal[1:]) / x if x else 0.0
        spend = (g["gamma"] + x * mbar) * g["p"] / (g["p"] * x + g["q"] - 1)
        predicted.append(spend * bgnbd_expected(result.params, 39.0, x, tx, T))
        actual.append(sum(v for d, v in per_day[c].items() if CUTOFF < d <= END))
    assert result.actual_spend == pytest.approx(sum(actual))
    assert result.predicted_spend == pytest.approx(sum(predicted), rel=1e-9)
    k = math.ceil(len(buyers) / 10)
    top = sorted(range(len(buyers)), key=lambda i: -predicted[i])[:k]
    share = sum(actual[i] for i in top) / sum(actual)
    assert result.clv_top_decile_share == pytest.approx(share)
    assert result.clv_top_decile_lift == pytest.approx(share / (k / len(buyers)))
    assert result.clv_top_decile_lift > 2  # the model ranks spenders far better than chance


def test_orders_after_the_horizon_change_nothing(cdnow):
    ws, rows = cdnow
    before = backtest(ws.ibis, cutoff=CUTOFF, horizon_days=273).to_dict()
    later = [(cid, END + dt.timedelta(days=1 + i % 30), 10.0) for i, (cid, _, _) in enumerate(rows)]
    ingest_tables(ws, {"orders": orders_table(later, start=len(rows))})
    assert same(backtest(ws.ibis, cutoff=CUTOFF, horizon_days=273).to_dict(), before)
    # and the orders did arrive: a longer horizon sees them
    assert backtest(ws.ibis, cutoff=CUTOFF, horizon_days=400).actual_total > before["actual_total"]


def test_other_models_run(cdnow):
    ws, _ = cdnow
    for model in ("mbgnbd", "pareto_nbd"):
        result = backtest(ws.ibis, cutoff=CUTOFF, horizon_days=273, model=model)
        assert result.correlation > 0.5 and result.auc > 0.7
    assert result.repurchase_probability.startswith("exact")


def test_too_little_data_is_an_error(cdnow):
    ws, _ = cdnow
    with pytest.raises(ConfigError, match="no purchases after the cutoff"):
        backtest(ws.ibis, cutoff=dt.date(1998, 6, 30), horizon_days=30)
    with pytest.raises(ConfigError, match="customers bought before the cutoff"):
        backtest(ws.ibis, cutoff=dt.date(1997, 1, 2), horizon_days=30)
    with pytest.raises(ConfigError, match="repeat buyers"):
        backtest(ws.ibis, cutoff=dt.date(1997, 1, 12), horizon_days=30)
    with pytest.raises(ConfigError, match="model must be one of"):
        backtest(ws.ibis, cutoff=CUTOFF, horizon_days=30, model="gamma_gamma")
    summary = rfm_summary(ws.ibis, dt.date(1997, 1, 12))  # 242 buyers, 11 repeat buyers
    assert summary.num_rows >= 200


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 60).astype(float)
    labels = rng.random(60) < 0.4
    pos, neg = scores[labels], scores[~labels]
    pairs = [(p > q) + 0.5 * (p == q) for p in pos for q in neg]
    assert auc_score(labels, scores) == pytest.approx(sum(pairs) / len(pairs))
    assert math.isnan(auc_score(np.zeros(3, bool), np.arange(3.0)))


def test_diagnostics_from_the_raw_file(cdnow):
    """The conditional-expectations table's actual means, the weekly tracking's actual counts
    and the P(alive) matrix, recomputed from the CDNOW text file and the paper's formula."""
    ws, rows = cdnow
    result = backtest(ws.ibis, cutoff=CUTOFF, horizon_days=273)
    days: dict[str, set[dt.date]] = defaultdict(set)
    for cid, day, _ in rows:
        days[cid].add(day)
    before = {c: sorted(d for d in ds if d <= CUTOFF) for c, ds in days.items()}
    after = {c: {d for d in ds if CUTOFF < d <= END} for c, ds in days.items()}
    groups: dict[str, list[int]] = defaultdict(list)
    for cid, seen in before.items():
        if seen and seen[0] < CUTOFF:
            k = len(seen) - 1
            groups["7+" if k >= 7 else str(k)].append(len(after[cid]))
    got = {r["frequency"]: r for r in result.conditional_expectations}
    assert set(got) == set(groups)
    for key, counts in groups.items():
        assert got[key]["customers"] == len(counts)
        assert got[key]["actual_mean"] == pytest.approx(sum(counts) / len(counts))
    weekly = [0] * 39
    for cid, seen in before.items():
        if seen and seen[0] < CUTOFF:
            for d in after[cid]:
                weekly[((d - CUTOFF).days - 1) // 7] += 1
    assert [r["actual"] for r in result.tracking] == weekly
    assert result.tracking[-1]["cumulative_predicted"] == pytest.approx(result.predicted_total)
    p, m = result.params, result.p_alive_matrix
    T = m["T"]
    for i, tx in enumerate(m["recency"]):
        for x in m["frequency"]:
            value = m["p_alive"][i][x]
            if x == 0 or tx == 0:
                assert value is None or (x == 0 and value == 1.0)
                continue
            odds = (
                p["a"] / (p["b"] + x - 1) * ((p["alpha"] + T) / (p["alpha"] + tx)) ** (p["r"] + x)
            )
            assert value == pytest.approx(1 / (1 + odds), rel=1e-10)
