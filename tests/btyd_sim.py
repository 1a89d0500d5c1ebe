"""Purchase histories drawn from the BTYD models' own processes, shared by the prediction tests
(``test_predict_uncertainty.py``, ``test_predict_covariates.py``, ``test_predict_pareto.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np


def purchase_histories(
    lam: np.ndarray, until: np.ndarray, rng: np.random.Generator, p: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(x, t_x) of customers who buy at Poisson rate λ from time 0 (their first purchase) until
    ``until``: repeat purchases and the time of the last one (0 without one).

    BG/NBD: after each purchase the customer drops out with probability p (``until`` = T).
    Pareto/NBD: ``p`` None and ``until`` = min(lifetime, T) (dropout in continuous time).
    """
    n = lam.size
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        buy = alive & (t < until)
        x += buy
        tx = np.where(buy, t, tx)
        alive = buy if p is None else buy & (rng.random(n) >= p)
    return x, tx


def record_prediction_hits(
    hits: dict[str, list[float]], table: Any, run: Any, orders: np.ndarray, clv: np.ndarray
) -> None:
    """Append to ``hits`` whether a refresh's 90 % intervals (``table``, ``run.totals``) contain
    the true expected orders and CLV: each customer's (as the share covered in this shop) and
    the shop's totals (0/1)."""
    lo, hi = table["expected_orders_low"].to_numpy(), table["expected_orders_high"].to_numpy()
    hits["orders"].append(float(((lo <= orders) & (orders <= hi)).mean()))
    lo, hi = table["predicted_clv_low"].to_numpy(), table["predicted_clv_high"].to_numpy()
    hits["clv"].append(float(((lo <= clv) & (clv <= hi)).mean()))
    for key, want in (("total_orders", orders.sum()), ("total_clv", clv.sum())):
        tot = run.totals["expected_orders" if key == "total_orders" else "predicted_clv"]
        hits[key].append(float(tot["low"] <= want <= tot["high"]))
