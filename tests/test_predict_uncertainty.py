"""Interval coverage by simulation: shops drawn from known BG/NBD and Gamma-Gamma parameters,
fitted and predicted as refresh does (``predict_summary``); the 90 % intervals must contain
the truth — the parameters, each customer's expected orders and predicted CLV, and the shop's
totals, all computed with the *true* parameters on the same histories — about 90 % of the
time. The standard errors are also compared with the spread of the estimates across shops."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from btyd_sim import purchase_histories, record_prediction_hits
from danggol.config import PredictionSettings
from danggol.predict.customers import discounted_orders, predict_summary
from danggol.predict.models import BGNBD, GammaGamma
from danggol.predict.uncertainty import Z90, log_param_covariance, with_params

TRUE = {"r": 0.6, "alpha": 5.0, "a": 0.9, "b": 3.0}
SPEND = {"p": 5.0, "q": 4.0, "gamma": 60_000.0}
AS_OF = dt.date(2025, 6, 30)
SETTINGS = PredictionSettings(horizon_days=91, clv_months=12)


def simulate(n: int, rng: np.random.Generator) -> pa.Table:
    """One shop: BG/NBD purchases over T ~ U(20, 78) weeks, Gamma-Gamma order values."""
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    T = np.round(rng.uniform(20, 78, n) * 7) / 7
    x, tx = purchase_histories(lam, T, rng, p)
    tx = np.floor(tx * 7) / 7  # purchase days
    nu = rng.gamma(SPEND["q"], 1 / SPEND["gamma"], n)
    total = rng.gamma(SPEND["p"] * np.maximum(x, 1), 1 / nu)  # sum of x Gamma(p, ν) values
    mv = np.where(x > 0, total / np.maximum(x, 1), 0.0)
    return pa.table(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "frequency": x.astype(np.int64),
            "recency": tx,
            "T": T,
            "monetary_value": mv,
        }
    )


def truth(summary: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Expected orders and predicted CLV of each customer under the true parameters."""
    x, tx, T, m = (
        summary[c].to_numpy().astype(float) for c in ("frequency", "recency", "T", "monetary_value")
    )
    bg = BGNBD().fit(x[:50], tx[:50], T[:50])  # any fit: only the parameters are replaced
    bg = with_params(bg, np.log([TRUE[k] for k in bg._names]))
    gg = GammaGamma().fit(np.ones(30), np.linspace(1, 2, 30))
    gg = with_params(gg, np.log([SPEND[k] for k in gg._names]))
    orders = np.asarray(bg.expected_purchases(SETTINGS.horizon_days / 7, x, tx, T))
    spend = np.asarray(gg.expected_spend(x, np.where(x > 0, m, 0.0)))
    return orders, spend * discounted_orders(bg, x, tx, T, SETTINGS)


def coverage(reps: int, n: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hits: dict[str, list[float]] = {k: [] for k in ("orders", "clv", "total_orders", "total_clv")}
    hits.update({k: [] for k in TRUE})
    estimates = {k: [] for k in TRUE}
    ses = {k: [] for k in TRUE}
    for _ in range(reps):
        summary = simulate(n, rng)
        table, run = predict_summary(summary, AS_OF, SETTINGS)
        assert run.model == "bgnbd" and run.spend_model == "gamma_gamma", run.reason
        orders, clv = truth(summary)
        record_prediction_hits(hits, table, run, orders, clv)
        for k, v in TRUE.items():
            est, se = run.model_params[k], run.model_params_se[k]
            sd_log = se / est  # the interval is on the log scale, as the covariance
            hits[k].append(float(abs(np.log(est) - np.log(v)) <= Z90 * sd_log))
            estimates[k].append(np.log(est))
            ses[k].append(sd_log)
    out = {k: float(np.mean(v)) for k, v in hits.items()}
    for k in TRUE:  # standard error vs the spread of the estimates across shops
        out[f"se_ratio_{k}"] = float(np.mean(ses[k]) / np.std(estimates[k]))
    return out


def test_intervals_cover_about_90_percent():
    got = coverage(reps=50, n=1200, seed=1)
    # 50 shops: a 90 % rate is seen within 0.78–0.98 with probability ~0.99
    for key in ("total_orders", "total_clv", *TRUE):
        assert 0.78 <= got[key] <= 0.98, (key, got)
    # per customer: the average share over shops (customers within a shop share one fit)
    for key in ("orders", "clv"):
        assert 0.8 <= got[key] <= 0.97, (key, got)
    for k in TRUE:
        assert 0.75 <= got[f"se_ratio_{k}"] <= 1.3, (k, got)


@pytest.mark.slow
def test_intervals_cover_about_90_percent_on_many_shops():
    got = coverage(reps=300, n=3000, seed=2)
    for key in ("total_orders", "total_clv", *TRUE):
        assert 0.85 <= got[key] <= 0.95, (key, got)
    for key in ("orders", "clv"):
        assert 0.85 <= got[key] <= 0.95, (key, got)


def test_no_covariance_at_the_bound():
    x, tx, T = np.full(300, 2.0), np.full(300, 26.0), np.full(300, 47.0)
    assert log_param_covariance(BGNBD().fit(x, tx, T)) is None
