"""The supervised repurchase model on a generated shop: features and labels against plain
pandas, the time split, no leakage from after the as-of date, calibration, backtest figures
and the errors on too little data."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.demo import generate_shop
from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.predict.backtest import auc_score
from danggol.predict.models import BGNBD
from danggol.predict.summary import rfm_summary
from danggol.predict.supervised import (
    RepurchaseModel,
    SupervisedBacktest,
    features,
    labels,
    supervised_backtest,
)
from danggol.profile import event_column
from danggol.store.workspace import Workspace

CUSTOMERS, SEED = 2000, 5
CUTOFF = dt.date(2025, 3, 31)  # the generated shop ends on 2025-06-30
H = 90
PAID = ("paid", "partially_refunded")
runner = CliRunner()


def new_shop(path: Path) -> Workspace:
    ws = Workspace.init(path, timezone="Asia/Seoul", currency="KRW")
    ingest_tables(ws, generate_shop(CUSTOMERS, seed=SEED))
    return ws


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = new_shop(tmp_path_factory.mktemp("supervised") / "shop")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def frames(shop: Workspace) -> dict[str, pd.DataFrame]:
    """The store's orders and events as pandas frames (the independent side of the checks)."""
    return {
        "orders": shop.duck.execute(
            "SELECT customer_id, order_date, status, total, refunded_amount FROM orders"
        ).df(),
        "events": shop.duck.execute("SELECT customer_id, event, event_date FROM events").df(),
    }


@pytest.fixture(scope="module")
def result(shop: Workspace) -> SupervisedBacktest:
    return supervised_backtest(shop.ibis, cutoff=CUTOFF, horizon_days=H)


def bought(orders: pd.DataFrame, start: dt.date | None, end: dt.date) -> set[str]:
    """Customers with a purchase in (start, end]."""
    day = pd.to_datetime(orders.order_date).dt.date
    keep = orders.status.isin(PAID) & (day <= end)
    if start is not None:
        keep &= day > start
    return set(orders.customer_id[keep])


def test_labels_match_pandas(shop, frames):
    got = {
        r["customer_id"]: r["repurchased"]
        for r in labels(shop.ibis, CUTOFF, H).to_pyarrow().to_pylist()
    }
    buyers = bought(frames["orders"], None, CUTOFF)
    again = bought(frames["orders"], CUTOFF, CUTOFF + dt.timedelta(days=H))
    assert set(got) == buyers
    assert {c for c, v in got.items() if v == 1} == buyers & again
    assert set(got.values()) == {0, 1} and 0 < sum(got.values()) < len(got)


def test_features_match_pandas(shop, frames):
    table = features(shop.ibis, CUTOFF).to_pyarrow()
    got = table.to_pandas().set_index("customer_id")
    o = frames["orders"].assign(day=pd.to_datetime(frames["orders"].order_date).dt.date)
    p = o[o.status.isin(PAID) & (o.day <= CUTOFF)].copy()
    p["value"] = p.total - p.refunded_amount.fillna(0)
    assert set(got.index) == set(p.customer_id)
    assert table.num_rows == len(got) and not got.isna().any().any()

    per = p.groupby("customer_id")
    first, last, n = per.day.min(), per.day.max(), per.size()
    tenure = (CUTOFF - first).map(lambda d: d.days)
    gap = ((last - first).map(lambda d: d.days) / (n - 1)).where(n > 1, tenure)
    recent = p[p.day > CUTOFF - dt.timedelta(days=90)].groupby("customer_id").value.sum()
    orders_30 = p[p.day > CUTOFF - dt.timedelta(days=30)].groupby("customer_id").size()
    e = frames["events"].assign(day=pd.to_datetime(frames["events"].event_date).dt.date)
    carts = e[(e.event == "cart_add") & (e.day <= CUTOFF) & (e.day > CUTOFF - dt.timedelta(30))]
    carts_30 = carts.groupby("customer_id").size()
    ids = got.index
    np.testing.assert_array_equal(got.number_of_orders, n.reindex(ids))
    np.testing.assert_array_equal(got.tenure_days, tenure.reindex(ids))
    np.testing.assert_allclose(got.avg_days_between_orders, gap.reindex(ids))
    np.testing.assert_allclose(got.spent_90d, recent.reindex(ids).fillna(0.0))
    np.testing.assert_array_equal(got.orders_30d, orders_30.reindex(ids).fillna(0))
    np.testing.assert_array_equal(
        got[f"{event_column('cart_add')}_30d"], carts_30.reindex(ids).fillna(0)
    )
    # one count per event name seen by the cut-off, all time and in the last 30 days
    seen = sorted(set(e.event[e.day <= CUTOFF]))
    for name in seen:
        assert event_column(name) in got.columns and f"{event_column(name)}_30d" in got.columns
    assert got.orders_30d.sum() > 0 and got[f"{event_column('cart_add')}_30d"].sum() > 0


def test_the_model_learns_from_one_horizon_before_as_of(shop, frames):
    model = RepurchaseModel("logistic", horizon_days=H).fit(shop.ibis, CUTOFF)
    train_cutoff = CUTOFF - dt.timedelta(days=H)
    assert model.train_cutoff_ == train_cutoff and model.as_of_ == CUTOFF
    buyers = bought(frames["orders"], None, train_cutoff)
    again = bought(frames["orders"], train_cutoff, CUTOFF)
    assert model.n_customers_ == len(buyers)
    assert model.n_repurchasers_ == len(buyers & again)
    rows = model.training_data(shop.ibis, CUTOFF)
    assert rows.column("customer_id").to_pylist() == sorted(buyers)
    # the training features are those of the training cut-off, not of as_of
    at_train = features(shop.ibis, train_cutoff).to_pyarrow()
    assert rows.column("days_since_last_order") == at_train.column("days_since_last_order")
    scored = model.predict_proba(shop.ibis, CUTOFF)
    assert scored.column("customer_id").to_pylist() == sorted(
        bought(frames["orders"], None, CUTOFF)
    )
    prob = scored.column("repurchase_probability").to_numpy()
    assert ((prob > 0) & (prob < 1)).all()


def test_data_after_as_of_changes_nothing(tmp_path):
    """Delete everything after as_of, add big orders and a new event name after it: the
    trained model scores every customer exactly as before. Changing data before as_of does
    change the scores (so the check can fail)."""
    ws = new_shop(tmp_path / "shop")
    try:
        con, day = ws.ibis, CUTOFF
        before = RepurchaseModel(horizon_days=H).fit(con, day)
        scores = before.predict_proba(con, day)
        outcome = labels(con, day, H).to_pyarrow()

        with ws.transaction() as tx:
            for table, col in (("orders", "order_date"), ("events", "event_date")):
                tx.execute(f"DELETE FROM {table} WHERE {col} > ?", [day])
        later = dt.datetime(2025, 5, 1, 12, 0)
        ids = scores.column("customer_id").to_pylist()[:300]
        ingest_tables(
            ws,
            {
                "orders": pa.table(
                    {
                        "order_id": [f"late-{i}" for i in range(len(ids))],
                        "customer_id": ids,
                        "ordered_at": [later.isoformat()] * len(ids),
                        "total": [5_000_000.0] * len(ids),
                    }
                ),
                "events": pa.table(
                    {
                        "customer_id": ids,
                        "event": ["wishlist_add"] * len(ids),
                        "occurred_at": [later.isoformat()] * len(ids),
                    }
                ),
            },
        )
        assert labels(con, day, H).to_pyarrow() != outcome  # the future did change

        after = RepurchaseModel(horizon_days=H).fit(con, day)
        assert after.feature_names_ == before.feature_names_
        assert after.predict_proba(con, day) == scores

        # control: orders inside the training window do move the scores
        with ws.transaction() as tx:
            tx.execute(
                "DELETE FROM orders WHERE order_date > ? AND customer_id IN (SELECT customer_id "
                "FROM orders WHERE order_date <= ? ORDER BY customer_id LIMIT 200)",
                [day - dt.timedelta(days=H), day - dt.timedelta(days=H)],
            )
        changed = RepurchaseModel(horizon_days=H).fit(con, day).predict_proba(con, day)
        assert changed != scores
    finally:
        ws.close()


def test_backtest_figures_are_recomputed_independently(shop, frames, result):
    assert result.cutoff == CUTOFF.isoformat() and result.train_cutoff == "2024-12-31"
    o = frames["orders"].assign(day=pd.to_datetime(frames["orders"].order_date).dt.date)
    p = o[o.status.isin(PAID) & (o.day <= CUTOFF)]
    days = p.groupby("customer_id").day.agg(lambda d: sorted(set(d)))
    ids = sorted(c for c, ds in days.items() if ds[0] < CUTOFF)  # T > 0, as BG/NBD needs
    again = bought(frames["orders"], CUTOFF, CUTOFF + dt.timedelta(days=H))
    y = np.array([c in again for c in ids])
    assert result.customers == len(ids) and result.repurchasers == int(y.sum())

    # the model's own scores, from predict_proba
    scored = RepurchaseModel(horizon_days=H).fit(shop.ibis, CUTOFF).predict_proba(shop.ibis, CUTOFF)
    by_id = dict(
        zip(
            scored.column("customer_id").to_pylist(),
            scored.column("repurchase_probability").to_pylist(),
            strict=True,
        )
    )
    prob = np.array([by_id[c] for c in ids])
    assert result.auc == pytest.approx(auc_score(y, prob), rel=1e-12)
    assert result.brier == pytest.approx(float(((prob - y) ** 2).mean()), rel=1e-12)
    assert result.mean_predicted == pytest.approx(prob.mean(), rel=1e-12)

    # BG/NBD on the same customers: P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)), FHL (2005),
    # from (x, t_x, T) in weeks counted here and the parameters fitted to the same summary
    params = BGNBD().fit(rfm_summary(shop.ibis, CUTOFF)).params_
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    t = H / 7
    bg = []
    for c in ids:
        ds = days[c]
        x, tx, T = len(ds) - 1, (ds[-1] - ds[0]).days / 7, (CUTOFF - ds[0]).days / 7
        dead = a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 0.0
        bg.append(1 / (1 + dead) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)))
    bg = np.array(bg)
    assert result.bgnbd_auc == pytest.approx(auc_score(y, bg), rel=1e-9)
    assert result.bgnbd_brier == pytest.approx(float(((bg - y) ** 2).mean()), rel=1e-9)

    # the synthetic shop is predictable: both models rank far better than chance
    assert result.auc > 0.85 and result.bgnbd_auc > 0.85
    assert sum(c["customers"] for c in result.calibration) == result.customers


def test_probabilities_are_calibrated(result):
    """Mean predicted vs observed rate within 3 standard errors of the observed rate
    (√(p(1−p)/n) ≈ 0.014 here: a calibrated model misses by more 0.3% of the time), and each
    decile within 4 of its own standard errors (10 deciles, each a 1-in-15,000 miss)."""
    n, rate = result.customers, result.repurchasers / result.customers
    assert abs(result.mean_predicted - rate) <= 3 * math.sqrt(rate * (1 - rate) / n)
    for row in result.calibration:
        p = min(max(row["predicted"], 0.02), 0.98)  # a floor keeps the band from vanishing
        se = math.sqrt(p * (1 - p) / row["customers"])
        assert abs(row["predicted"] - row["observed"]) <= 4 * se, row
    # and the deciles do separate: the top decile buys far more often than the bottom one
    assert result.calibration[-1]["observed"] - result.calibration[0]["observed"] > 0.5


def test_logistic_is_calibrated_too(shop):
    r = supervised_backtest(shop.ibis, cutoff=CUTOFF, horizon_days=H, method="logistic")
    n, rate = r.customers, r.repurchasers / r.customers
    assert abs(r.mean_predicted - rate) <= 3 * math.sqrt(rate * (1 - rate) / n)
    assert r.method == "logistic" and r.auc > 0.85


def test_too_little_data_is_an_error(shop, frames):
    con = shop.ibis
    orders = frames["orders"]
    with pytest.raises(ConfigError, match="no orders after the cutoff"):
        supervised_backtest(con, cutoff=dt.date(2025, 6, 30), horizon_days=30)
    with pytest.raises(ConfigError, match="orders end on 2025-06-30, before the end"):
        supervised_backtest(con, cutoff=dt.date(2025, 6, 1), horizon_days=90)
    with pytest.raises(ConfigError, match="customers bought before the cutoff"):
        supervised_backtest(con, cutoff=dt.date(2022, 10, 31), horizon_days=30)
    # the backtest compares the buyers before 2023-06-30 (BG/NBD cannot compare a first
    # purchase on the cut-off day; training keeps them), a handful of whom bought on the next
    # day; the counts are taken from the orders with pandas
    cut, day_after = dt.date(2023, 6, 30), dt.date(2023, 7, 1)
    before = bought(orders, None, cut - dt.timedelta(days=1))
    by_end = bought(orders, None, cut)
    next_day = bought(orders, cut, day_after)
    assert len(before & next_day) < 20 and len(by_end & next_day) < 20 < len(before)
    with pytest.raises(
        ConfigError,
        match=rf"{len(before & next_day)} of {len(before)} customers bought in "
        r"\(2023-06-30, 2023-07-01\]",
    ):
        supervised_backtest(con, cutoff=cut, horizon_days=1)
    with pytest.raises(
        ConfigError,
        match=f"too little data to train: {len(by_end & next_day)} of {len(by_end)} customers "
        "bought again",
    ):
        RepurchaseModel(horizon_days=1).fit(con, day_after)
    # 90 days before 2023-06-30 fewer than the 200 customers needed had bought
    early = bought(orders, None, dt.date(2023, 4, 1))
    assert len(early) < 200
    with pytest.raises(
        ConfigError, match=f"too little data to train: {len(early)} customers had bought"
    ):
        RepurchaseModel(horizon_days=90).fit(con, cut)
    with pytest.raises(ConfigError, match="The 'method' parameter of RepurchaseModel"):
        RepurchaseModel("forest").fit(con, CUTOFF)
    with pytest.raises(ConfigError, match="The 'calibration' parameter of RepurchaseModel"):
        supervised_backtest(con, cutoff=CUTOFF, horizon_days=H, calibration="platt")
    with pytest.raises(ConfigError, match="not fitted yet"):
        RepurchaseModel().predict_proba(con, CUTOFF)
    with pytest.raises(ConfigError, match="horizon_days must be an int"):
        labels(con, CUTOFF, 0)


def test_cli_backtest_json_equals_the_library(tmp_path):
    ws = new_shop(tmp_path / "shop")
    expected = supervised_backtest(ws.ibis, cutoff=CUTOFF, horizon_days=H, method="logistic")
    ws.close()  # the CLI opens the store itself
    args = ["-w", str(ws.path), "predict", "backtest", "--model", "supervised"]
    args += ["--method", "logistic", "--cutoff", CUTOFF.isoformat(), "--horizon", "90d"]
    got = runner.invoke(app, [*args, "--json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout) == expected.to_dict()
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "bgnbd_auc" in text.stdout and "decile" in text.stdout
    bad = runner.invoke(app, [*args[:-2], "--horizon", "90d", "--method", "forest"])
    assert bad.exit_code != 0 and "--method is one of" in str(bad.exception)
