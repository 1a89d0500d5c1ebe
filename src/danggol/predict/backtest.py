"""Backtest a buy-till-you-die model: fit on the data up to a cutoff, predict the next
``horizon_days``, and compare with what really happened.

* The model is fitted on :func:`danggol.predict.summary.rfm_summary` as of ``cutoff`` (nothing
  after the end of the cutoff day is read for the fit).
* For each customer of that summary, the prediction is ``expected_purchases(t, x, t_x, T)``
  with t = horizon in the summary's time unit.
* The actual count is the number of purchase *days* in (cutoff, cutoff + horizon] (several
  purchases by one customer on one day are one purchase, as in the summary). Nothing after
  cutoff + horizon is read.
* Repurchase within the horizon: the predicted probability is 1 − P(X(t) = 0 | x, t_x, T),
  exact for every model: L(x, t_x, T+t) / L(x, t_x, T) (no purchase in (T, T+t] is the same
  history over a longer window). For BG/NBD and MBG/NBD that is 1 − P(alive) + P(alive) ·
  ((α+T)/(α+T+t))^(r+x). (Until 2026-12 Pareto/NBD's was approximated by P(alive) · (1 −
  exp(−E[X(t)] / P(alive))), off by up to 0.15.)
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import numpy as np

from danggol.errors import ConfigError, TooLittleDataError
from danggol.predict.diagnostics import conditional_expectations, p_alive_matrix, tracking
from danggol.predict.guards import MIN_CUSTOMERS, MIN_REPEAT_BUYERS, spend_rows
from danggol.predict.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD
from danggol.predict.models.base import RFMModel
from danggol.predict.summary import UNITS, rfm_summary
from danggol.profile import purchases

#: models a backtest can run (Gamma-Gamma predicts spend, not purchases)
MODELS: dict[str, type[BGNBD] | type[ParetoNBD]] = {
    "bgnbd": BGNBD,
    "mbgnbd": MBGNBD,
    "pareto_nbd": ParetoNBD,
}


@dataclass
class Backtest:
    model: str
    cutoff: str
    horizon_days: int
    time_unit: str
    params: dict[str, float]
    customers: int
    repeat_buyers: int
    actual_total: int
    predicted_total: float
    mae: float
    rmse: float
    correlation: float
    repurchasers: int
    auc: float
    brier: float
    repurchase_probability: str
    calibration: list[dict[str, Any]] = field(default_factory=list)
    spend_params: dict[str, float] = field(default_factory=dict)
    actual_spend: float | None = None
    predicted_spend: float | None = None
    clv_top_decile_share: float | None = None
    clv_top_decile_lift: float | None = None
    conditional_expectations: list[dict[str, Any]] = field(default_factory=list)
    tracking: list[dict[str, Any]] = field(default_factory=list)
    p_alive_matrix: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def repurchase_probability(
    model: RFMModel, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, str]:
    """P(at least one purchase in the next t periods), and how it was computed: exactly, as
    1 − P(X(T, T+t) = 0 | x, t_x, T) (:meth:`probability_no_purchase`: the ratio of the model's
    likelihoods over T+t and T; BG/NBD's closed form)."""
    none = np.asarray(model.probability_no_purchase(t, x, tx, T), dtype=float)
    return 1 - none, "exact: 1 - P(X(t)=0 | x, t_x, T)"


def auc_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC (scikit-learn's ``roc_auc_score``; ties count a half); NaN when every label is
    the same (no pair to rank)."""
    from sklearn.metrics import roc_auc_score  # scikit-learn loads only when a backtest runs

    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return math.nan
    return float(roc_auc_score(labels, np.asarray(scores, dtype=float)))


def calibration_table(prob: np.ndarray, observed: np.ndarray, bins: int = 10) -> list[dict]:
    """Customers sorted by predicted probability, cut into ``bins`` equal-sized groups."""
    order = np.argsort(prob, kind="mergesort")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins), start=1):
        if idx.size == 0:
            continue
        rows.append(
            {
                "bin": i,
                "customers": int(idx.size),
                "predicted": float(prob[idx].mean()),
                "observed": float(observed[idx].mean()),
            }
        )
    return rows


def _spend_backtest(
    con: ibis.BaseBackend,
    summary: Any,
    x: np.ndarray,
    predicted: np.ndarray,
    cutoff: dt.date,
    end: dt.date,
) -> dict[str, Any]:
    """Gamma-Gamma on the calibration's repeat buyers: predicted spend = E[M | x, m̄] ·
    E[purchases in the horizon] (undiscounted), against what each customer paid."""
    m = np.asarray(summary.column("monetary_value").to_numpy(), dtype=float)
    repeat, _ = spend_rows(x, m)
    if repeat.sum() < MIN_REPEAT_BUYERS:
        return {}
    gg = GammaGamma().fit(x[repeat], m[repeat])
    spend_pred = np.asarray(gg.expected_spend(x, np.where(repeat, m, 0.0))) * predicted
    paid = holdout_spend(con, cutoff, end)
    ids = [str(c) for c in summary.column("customer_id").to_pylist()]
    spend_actual = np.array([paid.get(c, 0.0) for c in ids])
    share = top_decile_share(spend_pred, spend_actual)
    return {
        "spend_params": {k: float(v) for k, v in gg.params_.items()},
        "actual_spend": float(spend_actual.sum()),
        "predicted_spend": float(spend_pred.sum()),
        "clv_top_decile_share": share,
        "clv_top_decile_lift": share / (math.ceil(len(ids) / 10) / len(ids)),
    }


def holdout_counts(con: ibis.BaseBackend, cutoff: dt.date, end: dt.date) -> dict[str, int]:
    """Purchase days per customer in (cutoff, end]."""
    p = purchases(con, end)
    p = p.filter(p.order_date > cutoff)
    days = p.select("customer_id", "order_date").distinct()
    counts = days.group_by("customer_id").aggregate(n=days.count()).to_pyarrow().to_pylist()
    return {str(r["customer_id"]): int(r["n"]) for r in counts}


def holdout_spend(con: ibis.BaseBackend, cutoff: dt.date, end: dt.date) -> dict[str, float]:
    """What each customer paid (total − refunded) for purchases in (cutoff, end]."""
    p = purchases(con, end)
    p = p.filter(p.order_date > cutoff)
    value = p.total - p.refunded_amount.fill_null(0)
    rows = p.group_by("customer_id").aggregate(v=value.sum()).to_pyarrow().to_pylist()
    return {str(r["customer_id"]): float(r["v"]) for r in rows}


def top_decile_share(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Share of the actual total taken by the tenth of customers with the highest prediction
    (ceil(n/10) customers; ties kept in input order)."""
    k = math.ceil(len(predicted) / 10)
    order = np.argsort(-predicted, kind="stable")
    total = actual.sum()
    return float(actual[order[:k]].sum() / total) if total > 0 else math.nan


def backtest(
    con: ibis.BaseBackend,
    *,
    cutoff: dt.date,
    horizon_days: int,
    model: str = "bgnbd",
    time_unit: str = "week",
) -> Backtest:
    """Fit ``model`` up to ``cutoff`` and score its predictions over the next ``horizon_days``.
    ``"auto"`` (the setting's default, which callers pass on) backtests BG/NBD, the base model;
    the comparison of every candidate is :func:`danggol.predict.choice.backtest_candidates`."""
    if model == "auto":
        model = "bgnbd"
    if model not in MODELS:
        raise ConfigError(f"model must be one of {', '.join(MODELS)} for a backtest; got {model!r}")
    if time_unit not in UNITS:
        raise ConfigError(f"time_unit must be one of {sorted(UNITS)}; got {time_unit!r}")
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ConfigError(f"horizon_days must be an int >= 1; got {horizon_days!r}")
    summary = rfm_summary(con, cutoff, time_unit=time_unit)
    n = summary.num_rows
    ids = [str(c) for c in summary.column("customer_id").to_pylist()]
    x = np.asarray(summary.column("frequency").to_numpy(), dtype=float)
    tx = np.asarray(summary.column("recency").to_numpy(), dtype=float)
    T = np.asarray(summary.column("T").to_numpy(), dtype=float)
    repeat_buyers = int((x > 0).sum())
    if n < MIN_CUSTOMERS:
        raise TooLittleDataError(
            f"too little data to backtest: {n} customers bought before the cutoff {cutoff} "
            f"(need at least {MIN_CUSTOMERS})",
            ko=f"백테스트할 데이터가 아직 부족합니다. 기준일 {cutoff} 전에 구매한 고객이 {n:,}명입니다 "
            f"(최소 {MIN_CUSTOMERS}명 필요).",
        )
    if repeat_buyers < MIN_REPEAT_BUYERS:
        raise TooLittleDataError(
            f"too little data to backtest: {repeat_buyers} repeat buyers before the cutoff "
            f"{cutoff} (need at least {MIN_REPEAT_BUYERS})",
            ko=f"백테스트할 데이터가 아직 부족합니다. 기준일 {cutoff} 전 재구매 고객이 "
            f"{repeat_buyers:,}명입니다 (최소 {MIN_REPEAT_BUYERS}명 필요).",
        )
    end = cutoff + dt.timedelta(days=horizon_days)
    counts = holdout_counts(con, cutoff, end)
    if not counts:
        raise TooLittleDataError(
            f"too little data to backtest: no purchases after the cutoff {cutoff} "
            f"(up to {end}); choose an earlier cutoff",
            ko=f"백테스트할 데이터가 아직 부족합니다. 기준일 {cutoff} 뒤({end}까지) 구매가 "
            "없습니다. 더 이른 기준일을 고르세요.",
        )
    actual = np.array([counts.get(c, 0) for c in ids], dtype=float)

    fitted = MODELS[model]().fit(summary)
    t = horizon_days / UNITS[time_unit]
    predicted = np.asarray(fitted.expected_purchases(t, x, tx, T), dtype=float)
    prob, how = repurchase_probability(fitted, t, x, tx, T)
    bought = actual > 0
    err = predicted - actual
    corr = (
        float(np.corrcoef(predicted, actual)[0, 1])
        if predicted.std() > 0 and actual.std() > 0
        else math.nan
    )
    spend = _spend_backtest(con, summary, x, predicted, cutoff, end)
    unit = UNITS[time_unit]
    return Backtest(
        **spend,
        conditional_expectations=conditional_expectations(x, predicted, actual),
        tracking=tracking(
            con, fitted, ids, x, tx, T, cutoff=cutoff, horizon_days=horizon_days, unit_days=unit
        ),
        p_alive_matrix=p_alive_matrix(fitted, float(T.max()), int(min(x.max(), 20))),
        model=model,
        cutoff=cutoff.isoformat(),
        horizon_days=horizon_days,
        time_unit=time_unit,
        params={k: float(v) for k, v in fitted.params_.items()},
        customers=n,
        repeat_buyers=repeat_buyers,
        actual_total=int(actual.sum()),
        predicted_total=float(predicted.sum()),
        mae=float(np.abs(err).mean()),
        rmse=float(np.sqrt((err**2).mean())),
        correlation=corr,
        repurchasers=int(bought.sum()),
        auc=auc_score(bought, prob),
        brier=float(((prob - bought) ** 2).mean()),
        repurchase_probability=how,
        calibration=calibration_table(prob, bought.astype(float)),
    )
