"""What makes a fitted model usable, one rule for ``predict fit``, the backtest and refresh.

* **Enough history** (:func:`history_shortfall`): at least :data:`MIN_CUSTOMERS` buyers and
  :data:`MIN_REPEAT_BUYERS` repeat buyers; fewer and the models' parameters are noise, so no
  numbers are given, only the reason.
* **Zero-value buyers** (:func:`spend_rows`): the Gamma-Gamma spend model is fitted on the
  repeat buyers whose mean repeat-purchase value is > 0 (a density of positive amounts cannot
  take a 0); the others are counted and said, never silently dropped. Their spend prediction
  comes from the fallback (:func:`shrunk_spend`) like everyone's when the model is unusable.
* **A usable fit** (:func:`fit_problem`): a finite log-likelihood and no parameter at the
  optimiser's bound (``at_bounds_``: the optimum lies at 0 or infinity, where the formulas
  divide by zero — BG/NBD's a, b running to 1e8 when every customer buys alike).
* **Usable values** (:func:`values_problem`): every prediction finite and ≥ 0, probabilities
  ≤ 1. A model that fails any of these is not used; refresh falls back along
  :data:`FALLBACK` and records why (:class:`danggol.predict.customers.PredictionRun`).
* **Gamma-Gamma** needs q > 1: its mean spend p·γ/(q−1) is negative or infinite otherwise
  (heavy-tailed spend drives q below 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from danggol.estimator import Estimator

#: the least number of buyers / repeat buyers a purchase model is fitted on
MIN_CUSTOMERS = 200
MIN_REPEAT_BUYERS = 20
#: the purchase models in fallback order: a model that is unusable hands over to the next
#: (MBG/NBD → BG/NBD → Pareto/NBD), then to the customer's own cycle (``"cycle"``)
FALLBACK = ("mbgnbd", "bgnbd", "pareto_nbd")
#: rounding below this is read as 0 (1 − a probability close to 1); anything more negative
#: is a broken formula
_ROUNDING = 1e-9


def history_shortfall(customers: int, repeat_buyers: int, what: str = "the models") -> str:
    """Why there is not enough history to fit, or "" when there is."""
    if customers >= MIN_CUSTOMERS and repeat_buyers >= MIN_REPEAT_BUYERS:
        return ""
    return (
        f"not enough history: {customers:,} buyers and {repeat_buyers:,} repeat buyers; "
        f"{what} need at least {MIN_CUSTOMERS} buyers and {MIN_REPEAT_BUYERS} repeat buyers"
    )


def shortfall_ko(customers: int, repeat_buyers: int, as_of: str) -> str:
    """:func:`history_shortfall`'s reason for a run made as of ``as_of``, in Korean (what a
    new shop's manager reads in ``predict show`` and on the dashboard).

    >>> shortfall_ko(6, 5, "2025-06-30")[:26]
    '구매 고객 6명, 재구매 고객 5명입니다. 예측'
    """
    return (
        f"구매 고객 {customers:,}명, 재구매 고객 {repeat_buyers:,}명입니다. "
        f"예측 모델에는 구매 고객 {MIN_CUSTOMERS}명, 재구매 고객 {MIN_REPEAT_BUYERS}명 이상이 "
        f"필요해 {as_of} 기준으로 예측하지 않았습니다."
    )


def spend_rows(
    frequency: NDArray[np.float64], monetary_value: NDArray[np.float64]
) -> tuple[NDArray[np.bool_], int]:
    """The rows the spend model is fitted on (repeat buyers with a mean repeat value > 0) and
    the number of repeat buyers left out because their value is ≤ 0."""
    repeat = frequency > 0
    rows = repeat & (monetary_value > 0)
    return rows, int((repeat & ~rows).sum())


def fit_problem(model: Any) -> str:
    """Why a fitted model must not be used, or ""."""
    ll = getattr(model, "log_likelihood_", float("nan"))
    if not np.isfinite(ll):
        return f"the log-likelihood is {ll}"
    bounds = getattr(model, "at_bounds_", [])
    if bounds:
        shown = ", ".join(f"{k} = {model.params_[k]:.3g}" for k in bounds)
        return (
            f"parameter(s) run towards the optimiser's bound ({shown}): the likelihood has no finite "
            "optimum on this data (customers too alike for the model)"
        )
    return ""


def spend_problem(model: Any) -> str:
    """Why a fitted Gamma-Gamma model must not be used, or ""."""
    problem = fit_problem(model)
    if problem:
        return problem
    q = model.params_["q"]
    if q <= 1:
        return (
            f"q = {q:.3g} <= 1: the spend distribution's tail is too heavy for the "
            "Gamma-Gamma model (its mean spend would be negative or infinite)"
        )
    return ""


def values_problem(**columns: NDArray[np.float64]) -> str:
    """Why predicted values must not be stored (non-finite, negative, a probability above 1),
    or "". Columns named ``p_*`` or ``*_probability`` are probabilities."""
    for name, values in columns.items():
        values = np.asarray(values, dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            return f"{int(bad.sum()):,} customers' {name} is {values[bad][0]}"
        low = values < -_ROUNDING
        if low.any():
            return f"{int(low.sum()):,} customers' {name} is negative (e.g. {values[low][0]:.4g})"
        if name.startswith("p_") or name.endswith("probability"):
            high = values > 1 + _ROUNDING
            if high.any():
                return f"{int(high.sum()):,} customers' {name} is above 1"
    return ""


def shrunk_spend(
    frequency: NDArray[np.float64], monetary_value: NDArray[np.float64], rows: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], float]:
    """The spend fallback: each customer's own mean repeat value shrunk to the shop's,
    (x·m + shop) / (x + 1) — as if one more purchase at the shop's mean value were added to
    the x observed ones; a customer without a repeat purchase gets the shop's mean. The shop's
    mean is that of all repeat purchases of ``rows``, Σ x·m / Σ x (0 without any). Returns the
    per-customer values and the shop's mean."""
    x = np.where(rows, frequency, 0.0)
    m = np.where(rows, monetary_value, 0.0)
    shop = float((x * m).sum() / x.sum()) if x.sum() > 0 else 0.0
    return (x * m + shop) / (x + 1), shop


class CycleModel(Estimator):
    """The last fallback: each repeat buyer's own purchase rate, x repeat purchases over the
    t_x periods between their first and last purchase, carried forward (E[X(t)] = x/t_x · t);
    no prediction (NaN) for a customer without two purchase days. No P(alive): the model has
    no notion of a customer who stopped."""

    def __init__(self) -> None:
        self.params_: dict[str, float] = {}

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        x = np.asarray(frequency, dtype=float)
        tx = np.asarray(recency, dtype=float)
        ok = (x > 0) & (tx > 0)
        rate = np.divide(x, tx, out=np.full(np.broadcast(x, tx).shape, np.nan), where=ok)
        return rate * np.asarray(t, dtype=float)
