"""Purchase histories drawn from the BTYD models' own processes, shared by the prediction tests
(``test_predict_uncertainty.py``, ``test_predict_covariates.py``, ``test_predict_pareto.py``)."""

from __future__ import annotations

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
