"""The diagnostics a statistician asks of a buy-till-you-die fit (Fader, Hardie & Lee 2005,
figures 3–5; lifetimes' ``plotting``): computed from a backtest's calibration summary, the
model fitted on it and what happened in the holdout.

* :func:`conditional_expectations` — customers grouped by their number of calibration repeat
  purchases (0, 1, …, ``top``+): mean actual holdout purchases against the model's mean
  conditional expectation;
* :func:`tracking` — holdout purchases week by week (or day by day), actual against predicted,
  and their running totals;
* :func:`p_alive_matrix` — P(alive) on a grid of frequency × recency for one customer age T;
* the calibration of P(repurchase) is :func:`danggol.predict.backtest.calibration_table`;
* :func:`model_to_diagnose` — which purchase model the report and the dashboard show them for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import numpy as np

from danggol.profile import purchases


def conditional_expectations(
    frequency: np.ndarray, predicted: np.ndarray, actual: np.ndarray, top: int = 7
) -> list[dict[str, Any]]:
    """One row per calibration frequency 0 … top−1 and one for ``top`` and more."""
    rows = []
    for k in range(top + 1):
        group = frequency >= top if k == top else frequency == k
        n = int(group.sum())
        if n == 0:
            continue
        rows.append(
            {
                "frequency": f"{top}+" if k == top else str(k),
                "customers": n,
                "actual_mean": float(actual[group].mean()),
                "predicted_mean": float(predicted[group].mean()),
            }
        )
    return rows


def tracking(
    con: ibis.BaseBackend,
    model: Any,
    ids: list[str],
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    *,
    cutoff: dt.date,
    horizon_days: int,
    unit_days: int,
) -> list[dict[str, Any]]:
    """Per period of ``unit_days`` after the cutoff (the last one may be shorter): the
    customers' purchase days in it (actual) and Σ E[X(T, T+t_k)] − E[X(T, T+t_{k−1})]
    (predicted), with running totals. Only the summary's customers count, as in the backtest."""
    end = cutoff + dt.timedelta(days=horizon_days)
    p = purchases(con, end)
    p = p.filter(p.order_date > cutoff)
    p = p.mutate(customer_id=p.customer_id.cast("string"))
    keep = set(ids)
    days = p.select("customer_id", "order_date").distinct().to_pyarrow().to_pylist()
    offsets = np.array(
        [(r["order_date"] - cutoff).days for r in days if r["customer_id"] in keep], dtype=int
    )
    bounds = [*range(0, horizon_days, unit_days), horizon_days]
    rows, before, cum_actual, cum_pred = [], 0.0, 0, 0.0
    for k in range(1, len(bounds)):
        lo, hi = bounds[k - 1], bounds[k]
        actual = int(((offsets > lo) & (offsets <= hi)).sum())
        upto = float(np.asarray(model.expected_purchases(hi / unit_days, x, tx, T)).sum())
        predicted = upto - before
        before = upto
        cum_actual += actual
        cum_pred += predicted
        rows.append(
            {
                "period": k,
                "end": (cutoff + dt.timedelta(days=hi)).isoformat(),
                "actual": actual,
                "predicted": predicted,
                "cumulative_actual": cum_actual,
                "cumulative_predicted": cum_pred,
            }
        )
    return rows


def p_alive_matrix(model: Any, T: float, max_frequency: int, steps: int = 10) -> dict[str, Any]:
    """P(alive | x, t_x, T) for x = 0 … ``max_frequency`` and t_x on ``steps`` + 1 even points
    from 0 to T (t_x = 0 only for x = 0, where it is the only value; None elsewhere)."""
    recency = np.linspace(0.0, T, steps + 1)
    matrix: list[list[float | None]] = []
    for t in recency:
        row: list[float | None] = []
        for x in range(max_frequency + 1):
            if (x == 0) != (t == 0):
                row.append(None)
            else:
                row.append(float(model.p_alive(float(x), float(t), float(T))))
        matrix.append(row)
    return {
        "T": float(T),
        "frequency": list(range(max_frequency + 1)),
        "recency": recency.tolist(),
        "p_alive": matrix,
    }


def model_to_diagnose(con: Any, setting: str) -> str:
    """The purchase model whose backtest and diagnostics the report and the dashboard show:
    the ``[predictions] model`` setting, or with ``auto`` the purchase model the latest refresh
    used (``con`` is the store's DuckDB connection); BG/NBD before the first refresh."""
    from danggol.predict.backtest import MODELS  # backtest imports this module
    from danggol.predict.customers import last_run

    if setting in MODELS:
        return setting
    run = last_run(con)
    return run.model if run is not None and run.model in MODELS else "bgnbd"
