"""Shops that break the models: the refresh never stores a NaN, infinite or negative
prediction, and the prediction run says why a model was not used (issue 18).

Each shop goes through the real pipeline (orders ingested, ``refresh``, the stored profile
read back with SQL), with orders shaped like a shop's export: several orders by one customer
on one day (one purchase day for the models), KRW amounts.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.config import PredictionSettings
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.predict.customers import last_run
from danggol.predict.models import BGNBD, GammaGamma
from danggol.predict.summary import rfm_summary
from danggol.store.workspace import Workspace

START = dt.date(2024, 1, 1)
AS_OF = dt.date(2024, 12, 31)
PREDICTED = (
    "expected_orders",
    "expected_orders_low",
    "expected_orders_high",
    "p_alive",
    "repurchase_probability",
    "predicted_clv",
    "predicted_clv_low",
    "predicted_clv_high",
    "predicted_clv_percentile",
)
runner = CliRunner()


def orders(purchases: list[tuple[str, dt.date, float]]) -> pa.Table:
    return pa.table(
        {
            "order_id": [f"o{i}" for i in range(len(purchases))],
            "customer_id": [c for c, _, _ in purchases],
            "ordered_at": [
                f"{d.isoformat()} 10:{i % 60:02d}:00" for i, (_, d, _) in enumerate(purchases)
            ],
            "total": pa.array([v for _, _, v in purchases], pa.float64()),
        }
    )


def simulated(n: int, seed: int, spend) -> list[tuple[str, dt.date, float]]:
    """BG/NBD buyers (r 0.8, α 4 weeks, a 0.8, b 2.5) who first buy in the first quarter;
    ``spend(rng, customer, k)`` gives the customer's k order values. Every 10th customer also
    placed a second order on their first day (one purchase day for the models)."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(0.8, 1 / 4, n), rng.beta(0.8, 2.5, n)
    rows = []
    for i in range(n):
        first = START + dt.timedelta(days=int(rng.integers(0, 90)))
        horizon = (AS_OF - first).days / 7
        days, t = [first], 0.0
        while True:
            t += rng.exponential(1 / max(lam[i], 1e-9))
            if t >= horizon:
                break
            days.append(first + dt.timedelta(days=int(t * 7)))
            if rng.random() < p[i]:
                break
        if i % 10 == 0:
            days.append(first)
        values = spend(rng, i, len(days))
        rows += [(f"c{i:05d}", d, float(v)) for d, v in zip(days, values, strict=True)]
    return rows


def stored_problems(ws: Workspace) -> dict[str, int]:
    """Per prediction column: the stored values that are NaN, infinite or negative."""
    out = {}
    for col in PREDICTED:
        out[col] = ws.duck.execute(
            f"SELECT count(*) FILTER (WHERE isnan({col}) OR isinf({col}) OR {col} < 0) "
            "FROM profile_snapshot"
        ).fetchone()[0]
    return out


def refreshed(tmp_path, rows, settings: str = "") -> Workspace:
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul", currency="KRW")
    if settings:
        key = settings.split("=")[0].strip()
        text = (ws.path / "danggol.toml").read_text(encoding="utf-8")
        text = re.sub(rf"(?m)^{key} = .*$", settings, text, count=1)
        (ws.path / "danggol.toml").write_text(text, encoding="utf-8")
        ws.close()
        ws = Workspace.open(ws.path)
    ingest_tables(ws, {"orders": orders(rows)})
    refresh(ws, AS_OF, segments={})
    return ws


def identical_repeaters() -> list[tuple[str, dt.date, float]]:
    days = (dt.date(2024, 2, 5), dt.date(2024, 5, 5), dt.date(2024, 8, 5))
    return [(f"c{i:03d}", d, 30_000.0 + 100 * (i % 7)) for i in range(300) for d in days]


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_identical_repeaters_fall_back_and_say_why(tmp_path, model):
    """300 customers who each bought on the same three days: the dropout parameters run to
    the optimiser's bound (no finite optimum); that model is not used."""
    ws = refreshed(tmp_path, identical_repeaters(), f'model = "{model}"')
    run = last_run(ws.duck)
    problems = stored_problems(ws)
    stored = ws.duck.execute(
        "SELECT count(expected_orders), min(expected_orders), max(expected_orders) "
        "FROM profile_snapshot"
    ).fetchone()
    ws.close()
    assert problems == dict.fromkeys(PREDICTED, 0)
    assert run.status == "fallback"
    passed = [f["model"] for f in run.fallbacks]
    assert passed[0] == model and "bound" in run.fallbacks[0]["reason"]
    assert run.model not in passed and run.model in ("bgnbd", "pareto_nbd", "cycle")
    assert f"{model} not used" in run.reason
    # whoever is used, every customer gets the same finite prediction (they are identical)
    assert stored[0] == 300 and stored[1] == pytest.approx(stored[2])


def test_identical_repeaters_predict_fit_reports_the_bound(tmp_path):
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul", currency="KRW")
    ingest_tables(ws, {"orders": orders(identical_repeaters())})
    path = str(ws.path)
    ws.close()
    result = runner.invoke(
        app, ["-w", path, "predict", "fit", "--as-of", AS_OF.isoformat(), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["converged"] is False and data["at_bounds"]
    assert "bound" in data["problem"]
    table = runner.invoke(app, ["-w", path, "predict", "fit", "--as-of", AS_OF.isoformat()])
    assert "not usable" in table.output and "converged" in table.output


def test_one_customer_gets_not_enough_history(tmp_path):
    rows = [("c1", dt.date(2024, 3, 1), 10_000.0), ("c1", dt.date(2024, 6, 1), 12_000.0)]
    ws = refreshed(tmp_path, rows)
    run = last_run(ws.duck)
    counts = ws.duck.execute(
        "SELECT count(*), count(expected_orders), count(predicted_clv) FROM profile_snapshot"
    ).fetchone()
    ws.close()
    assert counts == (1, 0, 0)
    assert run.status == "too_little_data" and "not enough history" in run.reason
    assert "1 buyers and 1 repeat buyers" in run.reason


def test_one_time_buyers_only_get_not_enough_history(tmp_path):
    rows = [(f"c{i}", START + dt.timedelta(days=i % 300), 20_000.0) for i in range(400)]
    ws = refreshed(tmp_path, rows)
    run = last_run(ws.duck)
    counts = ws.duck.execute("SELECT count(*), count(p_alive) FROM profile_snapshot").fetchone()
    path = str(ws.path)
    ws.close()
    assert counts == (400, 0)
    assert run.status == "too_little_data" and "0 repeat buyers" in run.reason
    # predict fit applies the same rule and says so
    result = runner.invoke(app, ["-w", path, "predict", "fit", "--as-of", AS_OF.isoformat()])
    assert result.exit_code != 0 and "not enough history" in str(result.exception)


def test_heavy_tailed_spend_falls_back_to_the_shrunk_mean(tmp_path):
    """Each customer's typical order value lognormal with σ = 1.5 between customers: the
    Gamma-Gamma fit has q < 1, where its mean spend is negative for some customers; refresh
    does not use it."""
    mu = np.random.default_rng(5).normal(np.log(30_000), 1.5, 2000)

    def spend(rng, i, k):
        return np.round(rng.lognormal(mu[i], 0.5, k))

    rows = simulated(2000, 11, spend)
    ws = refreshed(tmp_path, rows)
    run = last_run(ws.duck)
    problems = stored_problems(ws)
    summary = rfm_summary(ws.ibis, AS_OF, time_unit="week").to_pydict()
    ws.close()
    assert problems == dict.fromkeys(PREDICTED, 0)
    assert run.spend_model == "shrunk_mean" and "q = " in run.spend_reason
    assert run.spend_params["q"] < 1
    # the guard mattered: the model's own mean spend is negative for some customers
    x = np.array(summary["frequency"], float)
    m = np.array(summary["monetary_value"], float)
    rejected = GammaGamma().fit(x[x > 0], m[x > 0])
    assert (np.asarray(rejected.expected_spend(x, m)) < 0).any()
    # the fallback by hand: (x·m + shop) / (x + 1), shop = Σ x·m / Σ x over the repeat buyers
    shop = (x * m).sum() / x.sum()
    assert f"{shop:,.2f}" in run.spend_reason


def test_zero_spend_is_zero_value_not_nan(tmp_path):
    """A shop whose orders are all free (samples, 0 won): the spend model cannot be fitted;
    predicted_clv is 0, never NaN, and the run says so."""
    rows = simulated(600, 3, lambda rng, i, k: np.zeros(k))
    ws = refreshed(tmp_path, rows)
    run = last_run(ws.duck)
    problems = stored_problems(ws)
    clv = ws.duck.execute(
        "SELECT count(predicted_clv), max(predicted_clv) FROM profile_snapshot"
    ).fetchone()
    ws.close()
    assert problems == dict.fromkeys(PREDICTED, 0)
    assert run.status == "fitted" and run.model == "bgnbd"
    assert (
        run.spend_model == "shrunk_mean" and "0 repeat buyers with a spend > 0" in run.spend_reason
    )
    assert run.zero_value_buyers > 20
    assert clv[0] > 0 and clv[1] == 0


def test_zero_value_buyers_are_left_out_the_same_way_by_fit_and_refresh(tmp_path):
    """Some repeat buyers paid 0 (a fully refunded or free order): ``predict fit --model
    gamma_gamma`` and refresh both fit on the others and count them."""

    def spend(rng, i, k):
        return np.zeros(k) if i % 9 == 0 else np.round(rng.gamma(4, 8_000, k))

    ws = refreshed(tmp_path, simulated(900, 4, spend))
    run = last_run(ws.duck)
    summary = rfm_summary(ws.ibis, AS_OF, time_unit="week").to_pydict()
    path = str(ws.path)
    ws.close()
    x = np.array(summary["frequency"], float)
    m = np.array(summary["monetary_value"], float)
    zero = int(((x > 0) & (m <= 0)).sum())
    assert zero > 0 and run.zero_value_buyers == zero
    result = runner.invoke(
        app,
        ["-w", path, "predict", "fit", "--model", "gamma_gamma", "--as-of", str(AS_OF), "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["zero_value_buyers"] == zero
    assert data["params"] == pytest.approx(run.spend_params, rel=1e-9)
    assert data["customers"] == int(((x > 0) & (m > 0)).sum())


def test_a_fit_at_the_bound_is_not_converged():
    """BG/NBD on identical customers: the optimiser stops at the wall; converged_ says no."""
    x, tx, T = np.full(300, 2.0), np.full(300, 26.0), np.full(300, 47.0)
    m = BGNBD().fit(x, tx, T)
    assert m.at_bounds_ and not m.converged_


def test_settings_accept_a_penalty():
    assert PredictionSettings(penalizer_coef=0.01).penalizer_coef == 0.01
