"""Per-customer predictions as profile fields, made at every ``refresh``.

One purchase model (BG/NBD by default; ``[predictions]`` in ``danggol.toml`` picks it, see
:class:`danggol.config.PredictionSettings`) is fitted on the summary as of the refresh date, and
the Gamma-Gamma spend model on the repeat buyers. For every customer with a purchase:

* ``expected_orders`` — expected purchase days in the next ``horizon_days``;
* ``p_alive`` — probability the customer is still buying ("alive");
* ``repurchase_probability`` — P(at least one purchase in the next ``horizon_days``);
* ``predicted_clv`` — expected spend over the next ``clv_months`` months × ``margin``, each month
  discounted at the monthly equivalent of the yearly ``discount_rate``;
* ``predicted_clv_percentile`` — its percent rank among the customers predicted (0–100, as
  ``amount_spent_percentile``);
* ``expected_next_order_date`` — ``model``: the first day by which the customer has bought again
  with probability ≥ 50 % (none when that never happens: p_alive < 0.5); ``cycle``: the last order
  date plus the customer's own average days between orders (none with a single order);
* ``future_vip`` — not in the top grade now, and predicted_clv (> 0) in the VIP range: at least
  the n-th highest predicted_clv, n = the number of top-grade customers — predicted to be among
  the shop's n most valuable customers, as many as there are VIPs today;
* ``vip_cluster`` — for customers in the top grade: their sub-segment by k-means
  (:mod:`danggol.predict.clusters`: ``high_aov``, ``new_big_spender``, ``long_time_steady``,
  ``fading``, ``frequent_buyer``, ``typical``), empty for the others and when there are too few
  VIPs to cluster (the run says why).

With too little data (fewer than 200 buyers or 20 repeat buyers) no model is fitted: the fields
stay empty and :class:`PredictionRun` says why — no numbers the data cannot support.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import rankdata

from danggol.config import PredictionSettings
from danggol.errors import ConfigError
from danggol.predict.backtest import repurchase_probability
from danggol.predict.choice import (
    LEARNERS,
    Choice,
    backtest_candidates,
    learner_repurchase,
    preferred_btyd,
    preferred_penalty,
    settings_key,
)
from danggol.predict.clusters import VIPClusters, vip_features
from danggol.predict.fields import field_specs as field_specs  # the fields, named here too
from danggol.predict.guards import (
    FALLBACK,
    MIN_REPEAT_BUYERS,
    CycleModel,
    fit_problem,
    history_shortfall,
    shrunk_spend,
    spend_problem,
    spend_rows,
    values_problem,
)
from danggol.predict.models import BGNBD, DAYS_PER_UNIT, MBGNBD, GammaGamma, ParetoNBD
from danggol.predict.models.covariates import Bound, Covariates
from danggol.predict.summary import MISSING, UNITS, customer_covariates, rfm_summary
from danggol.predict.uncertainty import (
    gradients,
    log_interval,
    log_param_covariance,
    parameter_se,
    relative_variance,
    variance,
)
from danggol.profile import SNAPSHOT_TABLE, snapshot_is_current
from danggol.scores import scored_profile
from danggol.scores.grades import load_grade_rules
from danggol.store import tables as store_tables
from danggol.store.backends import capabilities, temp_table

MODELS: dict[str, type[BGNBD] | type[ParetoNBD]] = {
    "bgnbd": BGNBD,
    "mbgnbd": MBGNBD,
    "pareto_nbd": ParetoNBD,
}
#: the table a refresh stores the last prediction run in (``predict show`` reads it)
RUNS_TABLE = "prediction_runs"

#: the columns :func:`customer_predictions` returns (besides customer_id)
COLUMNS: dict[str, pa.DataType] = {
    "expected_orders": pa.float64(),
    "expected_orders_low": pa.float64(),
    "expected_orders_high": pa.float64(),
    "p_alive": pa.float64(),
    "repurchase_probability": pa.float64(),
    "predicted_clv": pa.float64(),
    "predicted_clv_low": pa.float64(),
    "predicted_clv_high": pa.float64(),
    "predicted_clv_percentile": pa.float64(),
    "model_next_order_date": pa.date32(),
    "future_vip": pa.bool_(),
}
SCHEMA = pa.schema([("customer_id", pa.string()), *COLUMNS.items()])


@dataclass
class PredictionRun:
    """What one prediction run fitted, or why it fitted nothing; which model it used and why
    the models before it in the fallback order were not used."""

    as_of: str
    settings: dict[str, Any]
    status: str  # "fitted" | "fallback" | "too_little_data" | "disabled"
    reason: str = ""
    customers: int = 0
    repeat_buyers: int = 0
    model: str = ""  # the purchase model used: bgnbd | mbgnbd | pareto_nbd | cycle
    fallbacks: list[dict[str, str]] = field(default_factory=list)
    converged: bool | None = None
    model_params: dict[str, float] = field(default_factory=dict)
    model_params_se: dict[str, float] = field(default_factory=dict)
    log_likelihood: float | None = None
    spend_model: str = ""  # gamma_gamma | shrunk_mean
    spend_params: dict[str, float] = field(default_factory=dict)
    spend_params_se: dict[str, float] = field(default_factory=dict)
    spend_reason: str = ""
    zero_value_buyers: int = 0
    totals: dict[str, dict[str, float]] = field(default_factory=dict)
    interval_reason: str = ""
    #: with [predictions] covariates: the names, the groups of customers, the coefficients
    #: ({parameter: {"covariate=level": γ}}) and their standard errors, or why not used
    covariates: dict[str, Any] = field(default_factory=dict)
    choice: dict[str, Any] = field(default_factory=dict)
    choice_summary: str = ""
    repurchase_model: str = ""
    vip_grade: str | None = None
    vip_clv_threshold: float | None = None
    vip_clusters: list[dict[str, Any]] = field(default_factory=list)
    vip_cluster_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _empty() -> pa.Table:
    return SCHEMA.empty_table()


def next_purchase_days(
    model: BGNBD | ParetoNBD,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    *,
    unit_days: int,
    max_days: int = 3650,
) -> np.ndarray:
    """Days from the as-of date to the first whole day by which P(repurchase) ≥ 0.5; NaN when it
    stays below 0.5 within ``max_days`` (bisection on the model's own repurchase probability,
    which rises with the horizon)."""

    # bisection over whole days: P(repurchase by lo) < 0.5 <= P(by hi), until hi = lo + 1
    # (12 steps for 3,650 days): hi is then the first whole day at or after the crossing —
    # the ceiling of the crossing time that a search in continuous time converges to
    none = model.no_purchase_curve(x, tx, T)
    reach = 1 - none(max_days / unit_days) >= 0.5
    out = np.full(len(x), np.nan)
    if not reach.any():
        return out
    search = reach
    if isinstance(model, Bound):  # a model with covariates is bound to all its customers
        search = np.ones(len(x), dtype=bool)
    else:  # only the customers who get there are searched: on a shop where most are gone, few
        none = model.no_purchase_curve(x[reach], tx[reach], T[reach])
    lo = np.zeros(int(search.sum()))
    hi = np.full(lo.size, float(max_days))
    while bool((hi - lo > 1).any()):
        mid = np.floor((lo + hi) / 2)
        prob = 1 - none(mid / unit_days)
        above = prob >= 0.5
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    out[search] = hi
    out[~reach] = np.nan
    return out


def _on_distinct_rows(
    model: Any,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """``compute(x, tx, T)`` — per-customer values that depend on the customer's own row
    only — for Pareto/NBD on each distinct (x, t_x, T) once, then spread back to every
    customer: its predictions need an integral per row, and many customers share a row (two
    in three on the 200,000-customer demo shop, more in a larger one). The values are those
    of the rows themselves; other models are cheap per row and compute directly."""
    if not isinstance(model, ParetoNBD) or len(x) < 2:
        return compute(x, tx, T)
    rows, inverse = distinct_rows(x, tx, T)
    if len(rows[0]) > 0.9 * len(x):
        return compute(x, tx, T)
    found = compute(*rows)
    return {k: np.asarray(v)[inverse] for k, v in found.items()}


def distinct_rows(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The distinct (x, t_x, T) in sorted order and each customer's index among them: what
    ``np.unique(..., axis=0, return_inverse=True)`` gives, by one lexsort (six times faster
    on a million rows: 0.17 s against 1.0 s)."""
    order = np.lexsort((T, tx, x))
    xs, txs, Ts = x[order], tx[order], T[order]
    new = np.empty(len(x), dtype=bool)
    new[:1] = True
    new[1:] = (xs[1:] != xs[:-1]) | (txs[1:] != txs[:-1]) | (Ts[1:] != Ts[:-1])
    inverse = np.empty(len(x), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return (xs[new], txs[new], Ts[new]), inverse


def discounted_orders(
    model: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray, settings: PredictionSettings
) -> np.ndarray:
    """Σ_{i=1..clv_months} (E[X(τᵢ)] − E[X(τᵢ₋₁)]) / (1+d)^i: the expected purchases month by
    month, each discounted at the monthly equivalent d of the yearly ``discount_rate``
    (τᵢ = i months in the model's time unit, a month = 365.25/12 days). × expected spend ×
    margin = predicted_clv."""
    month = DAYS_PER_UNIT["month"] / UNITS[settings.time_unit]
    monthly = (1 + settings.discount_rate) ** (1 / 12) - 1
    total = np.zeros(len(x))
    before = np.zeros(len(x))
    curve = model.expected_purchases_curve(x, tx, T)
    for i in range(1, settings.clv_months + 1):
        upto = np.asarray(curve(i * month), dtype=float)
        total += (upto - before) / (1 + monthly) ** i
        before = upto
    return total


def _purchase_values(
    model: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray, settings: PredictionSettings
) -> dict[str, np.ndarray]:
    t = settings.horizon_days / UNITS[settings.time_unit]
    expected = np.asarray(model.expected_purchases(t, x, tx, T), dtype=float)
    if isinstance(model, CycleModel):
        nan = np.full(len(x), np.nan)
        return {"expected_orders": expected, "p_alive": nan, "repurchase_probability": nan}
    return {
        "expected_orders": expected,
        "p_alive": np.asarray(model.p_alive(x, tx, T), dtype=float),
        "repurchase_probability": repurchase_probability(model, t, x, tx, T)[0],
        "discounted_orders": discounted_orders(model, x, tx, T, settings),
    }


def choose_purchase_model(
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    settings: PredictionSettings,
    run: PredictionRun,
    covariates: dict[str, np.ndarray] | None = None,
) -> tuple[Any, dict[str, np.ndarray]]:
    """The configured model, or the first usable one after it in :data:`FALLBACK`, with its
    predictions; :class:`CycleModel` when none is usable. Each model passed over is recorded
    in ``run.fallbacks`` with the reason. With ``covariates`` (one value per customer of each
    of ``settings.covariates``) the configured model is first fitted with them
    (:class:`~danggol.predict.models.covariates.Covariates`); when that fit is not usable, the
    plain models follow as above."""
    start = FALLBACK.index(settings.model) if settings.model in FALLBACK else 1  # auto: BG/NBD
    if covariates:
        found = _with_covariates(FALLBACK[start], x, tx, T, settings, run, covariates)
        if found is not None:
            return found
    for name in FALLBACK[start:]:
        try:
            model = MODELS[name](penalizer_coef=settings.penalizer_coef).fit(x, tx, T)
        except ConfigError as exc:
            problem = str(exc)
        else:
            problem = fit_problem(model)
            if not problem:
                with np.errstate(all="ignore"):
                    values = _on_distinct_rows(
                        model,
                        x,
                        tx,
                        T,
                        functools.partial(_purchase_values, model, settings=settings),
                    )
                problem = values_problem(**values)
            if not problem:
                run.model = name
                run.converged = bool(model.converged_)
                run.model_params = dict(model.params_)
                run.log_likelihood = float(model.log_likelihood_)
                return model, {k: np.maximum(v, 0.0) for k, v in values.items()}
        run.fallbacks.append({"model": name, "reason": problem})
    cycle = CycleModel()
    run.model = "cycle"
    values = _purchase_values(cycle, x, tx, T, settings)
    month = DAYS_PER_UNIT["month"] / UNITS[settings.time_unit]
    monthly = (1 + settings.discount_rate) ** (1 / 12) - 1
    discount = sum((1 + monthly) ** -i for i in range(1, settings.clv_months + 1))
    values["discounted_orders"] = np.asarray(cycle.expected_purchases(month, x, tx, T)) * discount
    return cycle, values


def _with_covariates(
    name: str,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    settings: PredictionSettings,
    run: PredictionRun,
    covariates: dict[str, np.ndarray],
) -> tuple[Any, dict[str, np.ndarray]] | None:
    """The model ``name`` with the covariates, bound to these customers, and its predictions;
    None (the reason in ``run.fallbacks`` and ``run.covariates``) when it is not usable."""
    names = tuple(settings.covariates)
    try:
        fitted = Covariates(
            name, purchase=names, dropout=names, penalizer_coef=settings.penalizer_coef
        ).fit(x, tx, T, covariates)
    except ConfigError as exc:
        problem = str(exc)
    else:
        model = fitted.bind(covariates, len(x))
        problem = fit_problem(model)
        if not problem:
            with np.errstate(all="ignore"):
                values = _purchase_values(model, x, tx, T, settings)
            problem = values_problem(**values)
        if not problem:
            run.model = name
            run.converged = bool(fitted.converged_)
            run.model_params = dict(fitted.params_)
            run.log_likelihood = float(fitted.log_likelihood_)
            se = fitted.standard_errors()
            run.covariates = {
                "names": list(names),
                "groups": fitted.n_groups_,
                "coefficients": fitted.coefficients_,
                "coefficients_se": se.get("coefficients", {}),
                "rare_levels": fitted.design_["purchase"].rare,
                "log_likelihood_without": float(fitted.plain_.log_likelihood_),
            }
            run.model_params_se = se.get("params", {})
            return model, {k: np.maximum(v, 0.0) for k, v in values.items()}
    run.fallbacks.append({"model": f"{name} with covariates", "reason": problem})
    run.covariates = {"names": list(names), "reason": problem}
    return None


def choose_spend(
    x: np.ndarray, mv: np.ndarray, settings: PredictionSettings, run: PredictionRun
) -> tuple[np.ndarray, GammaGamma | None]:
    """Each customer's expected spend per purchase: Gamma-Gamma's conditional mean when it is
    usable (:func:`spend_problem`), else the customer's mean shrunk to the shop's
    (:func:`shrunk_spend`); the zero-value buyers counted in ``run``."""
    rows, run.zero_value_buyers = spend_rows(x, mv)
    problem = ""
    if rows.sum() < MIN_REPEAT_BUYERS:
        problem = (
            f"{int(rows.sum())} repeat buyers with a spend > 0; the spend model needs "
            f"{MIN_REPEAT_BUYERS}"
        )
    else:
        try:
            gg = GammaGamma(penalizer_coef=settings.penalizer_coef).fit(x[rows], mv[rows])
        except ConfigError as exc:
            problem = str(exc)
        else:
            problem = spend_problem(gg)
            run.spend_params = dict(gg.params_)
            if not problem:
                with np.errstate(all="ignore"):
                    spend = np.asarray(gg.expected_spend(x, np.where(rows, mv, 0.0)), dtype=float)
                problem = values_problem(expected_spend=spend)
            if not problem:
                run.spend_model = "gamma_gamma"
                return np.maximum(spend, 0.0), gg
    spend, shop = shrunk_spend(x, mv, rows)
    run.spend_model = "shrunk_mean"
    run.spend_reason = (
        f"Gamma-Gamma not used: {problem}; expected spend = each customer's mean repeat value "
        f"shrunk to the shop's mean ({shop:,.2f}): (x·mean + shop) / (x + 1)"
    )
    return spend, None


def _intervals(
    model: Any,
    gg: GammaGamma | None,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    mv: np.ndarray,
    values: dict[str, np.ndarray],
    spend: np.ndarray,
    settings: PredictionSettings,
    run: PredictionRun,
) -> dict[str, np.ndarray]:
    """90 % intervals on expected_orders and predicted_clv per customer and on their totals
    (:mod:`danggol.predict.uncertainty`). predicted_clv's relative variance is that of the
    expected purchases over the whole CLV horizon (undiscounted: one evaluation per parameter
    instead of one per month) plus that of the expected spend."""
    nan = np.full(len(x), np.nan)
    out = {k: nan for k in ("orders_low", "orders_high", "clv_low", "clv_high")}
    if isinstance(model, CycleModel):
        run.interval_reason = "no interval: the customers' own cycle is not a fitted model"
        return out
    cov = log_param_covariance(model)
    if cov is None:
        run.interval_reason = "no interval: the likelihood's curvature could not be estimated"
        return out
    if not isinstance(model, Bound):  # a model with covariates has set its own
        run.model_params_se = parameter_se(model, cov)
    t = settings.horizon_days / UNITS[settings.time_unit]
    clv_t = settings.clv_months * DAYS_PER_UNIT["month"] / UNITS[settings.time_unit]
    expected = values["expected_orders"]
    n = len(x)

    rows: tuple[np.ndarray, np.ndarray, np.ndarray] = (x, tx, T)
    inverse = None
    if isinstance(model, ParetoNBD) and n > 1:  # an integral per row: once per distinct row
        rows, inverse = distinct_rows(x, tx, T)

    def both(m: Any) -> np.ndarray:  # E[X(t)] and E[X(clv_t)] from one curve per model
        curve = m.expected_purchases_curve(*rows)
        now, later = np.asarray(curve(t), dtype=float), np.asarray(curve(clv_t), dtype=float)
        if inverse is not None:
            now, later = now[inverse], later[inverse]
        return np.concatenate([now, later])

    with np.errstate(all="ignore"):
        base = both(model)
        long = base[n:]
        g_both = gradients(model, both, base)
    g_orders = [g[:n] for g in g_both]
    g_long = [g[n:] for g in g_both]
    out["orders_low"], out["orders_high"] = log_interval(expected, variance(g_orders, cov))
    total = float(expected.sum())
    total_var = float(variance([g.sum(keepdims=True) for g in g_orders], cov)[0])
    low, high = log_interval(np.array([total]), np.array([total_var]))
    run.totals["expected_orders"] = {"value": total, "low": float(low[0]), "high": float(high[0])}

    rel = relative_variance(long, variance(g_long, cov))
    spend_rel = np.zeros(len(x))
    spend_grads: list[np.ndarray] = []
    spend_cov = log_param_covariance(gg) if gg is not None else None
    if gg is not None and spend_cov is not None:
        run.spend_params_se = parameter_se(gg, spend_cov)
        m = np.where((x > 0) & (mv > 0), mv, 0.0)
        spend_grads = gradients(gg, lambda g: g.expected_spend(x, m), spend)
        spend_rel = relative_variance(spend, variance(spend_grads, spend_cov))
    clv = settings.margin * spend * values["discounted_orders"]
    out["clv_low"], out["clv_high"] = log_interval(clv, clv**2 * (rel + spend_rel))
    # the shop's total: purchase and spend parameters independent, the CLV's gradient in the
    # purchase parameters taken as the total's share of each customer's long-run gradient
    share = np.divide(clv, long, out=np.zeros(len(x)), where=long > 0)
    total_clv = float(clv.sum())
    var_clv = float(variance([(g * share).sum(keepdims=True) for g in g_long], cov)[0])
    if spend_grads and spend_cov is not None:
        scale = settings.margin * values["discounted_orders"]
        var_clv += float(
            variance([(g * scale).sum(keepdims=True) for g in spend_grads], spend_cov)[0]
        )
    low, high = log_interval(np.array([total_clv]), np.array([var_clv]))
    run.totals["predicted_clv"] = {"value": total_clv, "low": float(low[0]), "high": float(high[0])}
    return out


def customer_predictions(
    con: ibis.BaseBackend,
    as_of: dt.date,
    settings: PredictionSettings | None = None,
    *,
    grades: pa.Table | None = None,
    vip_grade: str | None = None,
) -> tuple[pa.Table, PredictionRun]:
    """One row per customer with a purchase by ``as_of`` (see the module docstring), and the run
    record. ``grades`` (customer_id, grade) and ``vip_grade`` (the top grade's key) give
    ``future_vip``; without them it is empty."""

    settings = settings or PredictionSettings()
    if not settings.enabled:
        run = PredictionRun(
            as_of=as_of.isoformat(), settings=settings.model_dump(), status="disabled"
        )
        run.reason = "predictions are turned off ([predictions] enabled = false)"
        return _empty(), run
    summary = rfm_summary(con, as_of, time_unit=settings.time_unit)
    covariates = (
        customer_covariates(con, as_of, tuple(settings.covariates)) if settings.covariates else None
    )
    if settings.model != "auto":
        return predict_summary(
            summary, as_of, settings, grades=grades, vip_grade=vip_grade, covariates=covariates
        )
    choice = _cached_choice(con, as_of, settings)
    if choice is None:
        choice = backtest_candidates(con, as_of, settings, summary)
    chosen = settings.model_copy(
        update={
            "model": preferred_btyd(choice),
            "penalizer_coef": preferred_penalty(choice, settings),
        }
    )
    table, run = predict_summary(
        summary,
        as_of,
        chosen,
        grades=grades,
        vip_grade=vip_grade,
        spend_penalizer=settings.penalizer_coef,  # the backtest's penalty is the purchase model's
        covariates=covariates,
    )
    run.settings = settings.model_dump()
    run.choice = choice.to_dict()
    run.choice_summary = choice.summary()
    if choice.best in LEARNERS and run.status in ("fitted", "fallback") and table.num_rows:
        plain = run.model == "bgnbd" and "coefficients" not in run.covariates
        models = {run.model: _refit(run, summary)} if plain else {}
        try:
            prob = learner_repurchase(con, as_of, settings, choice.best, summary, models)
        except ConfigError as exc:  # it won the backtest but cannot be trained up to as_of
            run.repurchase_model = run.model
            run.choice_summary += f"; {choice.best} not used at {as_of}: {exc}"
            return table, run
        index = table.schema.get_field_index("repurchase_probability")
        table = table.set_column(index, "repurchase_probability", pa.array(prob, pa.float64()))
        run.repurchase_model = choice.best
    else:
        run.repurchase_model = run.model
    return table, run


def _refit(run: PredictionRun, summary: pa.Table) -> Any:
    """The purchase model with the run's parameters (no second fit)."""
    model = MODELS[run.model]()
    model.params_ = dict(run.model_params)
    return model


def _cached_choice(
    con: ibis.BaseBackend, as_of: dt.date, settings: PredictionSettings
) -> Choice | None:
    """The last refresh's choice when it was made for the same as-of date and settings (a
    refresh repeated on one day, an incremental refresh) — the backtest is not run again."""
    if not capabilities(con).embedded_store:
        return None
    last = last_run(con.con)
    if last is None or not last.choice:
        return None
    if last.choice.get("as_of") != as_of.isoformat():
        return None
    if last.choice.get("settings_key") != settings_key(settings):
        return None
    return Choice(**last.choice)


def predict_summary(
    summary: pa.Table,
    as_of: dt.date,
    settings: PredictionSettings | None = None,
    *,
    grades: pa.Table | None = None,
    vip_grade: str | None = None,
    spend_penalizer: float | None = None,
    covariates: pa.Table | None = None,
) -> tuple[pa.Table, PredictionRun]:
    """:func:`customer_predictions` from a ready summary (customer_id, frequency, recency, T,
    monetary_value in ``settings.time_unit``): the models and the guards, no store access.
    ``covariates``: customer_id and a column for each of ``settings.covariates``
    (:func:`~danggol.predict.summary.customer_covariates`); a customer missing from it is in
    the category ``(none)``."""
    settings = settings or PredictionSettings()
    run = PredictionRun(as_of=as_of.isoformat(), settings=settings.model_dump(), status="fitted")
    ids = summary.column("customer_id")
    x = summary.column("frequency").to_numpy().astype(float)
    tx = summary.column("recency").to_numpy().astype(float)
    T = summary.column("T").to_numpy().astype(float)
    mv = summary.column("monetary_value").to_numpy().astype(float)
    run.customers, run.repeat_buyers = len(x), int((x > 0).sum())
    shortfall = history_shortfall(run.customers, run.repeat_buyers)
    if shortfall:
        run.status = "too_little_data"
        run.reason = f"{shortfall} (as of {as_of}): no predictions are made"
        return _empty(), run

    unit_days = UNITS[settings.time_unit]
    aligned = _aligned(ids, covariates, settings) if settings.covariates else None
    model, values = choose_purchase_model(x, tx, T, settings, run, aligned)
    if run.fallbacks:
        run.status = "fallback"
        passed = "; ".join(f"{f['model']} not used: {f['reason']}" for f in run.fallbacks)
        used = (
            "each repeat buyer's own purchase rate (no P(alive), no repurchase probability)"
            if run.model == "cycle"
            else run.model
        )
        run.reason = f"{passed}. Used: {used}"
    spend_settings = settings
    if spend_penalizer is not None:
        spend_settings = settings.model_copy(update={"penalizer_coef": spend_penalizer})
    spend, gg = choose_spend(x, mv, spend_settings, run)
    clv = settings.margin * spend * values["discounted_orders"]
    bounds = _intervals(model, gg, x, tx, T, mv, values, spend, settings, run)
    if isinstance(model, CycleModel):
        gap = np.divide(tx, x, out=np.full(len(x), np.nan), where=x > 0)
        next_days = np.maximum(np.ceil((gap - (T - tx)) * unit_days), 0.0)
    else:
        next_days = _on_distinct_rows(
            model,
            x,
            tx,
            T,
            lambda *r: {"days": next_purchase_days(model, *r, unit_days=unit_days)},
        )["days"]

    percentile = np.full(len(x), np.nan)
    known = np.isfinite(clv)
    if known.sum() > 1:
        ranks = rankdata(clv[known], method="min")
        percentile[known] = (ranks - 1) / (known.sum() - 1) * 100
    elif known.sum() == 1:
        percentile[known] = 0.0

    next_date = [
        None if math.isnan(d) else as_of + dt.timedelta(days=int(d)) for d in next_days.tolist()
    ]
    clv = np.where(known, clv, np.nan)
    future = _future_vip(ids, clv, grades, vip_grade, run)

    def column(values: np.ndarray) -> pa.Array:
        return pa.array(values, mask=~np.isfinite(values))

    table = pa.table(
        {
            "customer_id": ids.cast(pa.string()),
            "expected_orders": column(values["expected_orders"]),
            "expected_orders_low": column(bounds["orders_low"]),
            "expected_orders_high": column(bounds["orders_high"]),
            "p_alive": column(values["p_alive"]),
            "repurchase_probability": column(values["repurchase_probability"]),
            "predicted_clv": column(clv),
            "predicted_clv_low": column(bounds["clv_low"]),
            "predicted_clv_high": column(bounds["clv_high"]),
            "predicted_clv_percentile": column(percentile),
            "model_next_order_date": pa.array(next_date, pa.date32()),
            "future_vip": future,
        },
        schema=SCHEMA,
    )
    return table, run


def _aligned(
    ids: pa.ChunkedArray, covariates: pa.Table | None, settings: PredictionSettings
) -> dict[str, np.ndarray]:
    """Each of ``settings.covariates`` in the summary's customer order, ``(none)`` where the
    covariate table has no row or no value."""
    n = len(ids)
    out: dict[str, np.ndarray] = {
        name: np.full(n, MISSING, dtype=object) for name in settings.covariates
    }
    if covariates is None or covariates.num_rows == 0:
        return out
    where = pc.index_in(ids.cast(pa.string()), covariates.column("customer_id").cast(pa.string()))
    found = where.is_valid().to_numpy(zero_copy_only=False)
    rows = where.fill_null(0).to_numpy(zero_copy_only=False)
    for name in settings.covariates:
        values = np.array(covariates.column(name).to_pylist(), dtype=object)
        out[name][found] = values[rows[found]]
    return out


def fit_report(summary: pa.Table, model: str, as_of: dt.date, time_unit: str) -> dict[str, Any]:
    """``danggol predict fit``: one model fitted on ``summary`` with the rules refresh uses —
    the same minimum history (:func:`history_shortfall`, else a :class:`ConfigError` saying
    so), Gamma-Gamma on the repeat buyers with a spend > 0 (the others counted in
    ``zero_value_buyers``), and ``converged`` false when a parameter is at the optimiser's
    bound; ``problem`` says why refresh would not use the fit ("" when it would)."""
    x = summary.column("frequency").to_numpy().astype(float)
    shortfall = history_shortfall(len(x), int((x > 0).sum()))
    if shortfall:
        raise ConfigError(
            f"{shortfall} (as of {as_of}); wait for more orders or an earlier --as-of"
        )
    zero = 0
    if model == "gamma_gamma":
        mv = summary.column("monetary_value").to_numpy().astype(float)
        rows, zero = spend_rows(x, mv)
        if rows.sum() < MIN_REPEAT_BUYERS:
            raise ConfigError(
                f"not enough history: {int(rows.sum())} repeat buyers with a spend > 0; the "
                f"spend model needs at least {MIN_REPEAT_BUYERS}"
            )
        fitted: Any = GammaGamma().fit(x[rows], mv[rows])
        problem = spend_problem(fitted)
    else:
        fitted = MODELS[model]().fit(summary)
        problem = fit_problem(fitted)
    cov = log_param_covariance(fitted)
    return {
        "model": model,
        "as_of": as_of.isoformat(),
        "time_unit": time_unit,
        "params": {k: float(v) for k, v in fitted.params_.items()},
        "params_se": parameter_se(fitted, cov),
        "log_likelihood": float(fitted.log_likelihood_),
        "customers": int(fitted.n_customers_),
        "converged": bool(fitted.converged_),
        "at_bounds": list(fitted.at_bounds_),
        "zero_value_buyers": zero,
        "problem": problem,
    }


def _future_vip(
    ids: pa.ChunkedArray,
    clv: np.ndarray,
    grades: pa.Table | None,
    vip_grade: str | None,
    run: PredictionRun,
) -> pa.Array:
    """Non-VIPs whose predicted_clv is among the n highest, n = the number of VIPs.

    The VIP range is taken from the ranking of everyone's predicted value, not from the VIPs'
    own values: a VIP the model expects never to buy again (p_alive near 0) has a predicted
    value near 0 and would otherwise pull the bar down to nothing."""
    if grades is None or vip_grade is None or np.isnan(clv).all():
        return pa.nulls(len(clv), pa.bool_())
    run.vip_grade = vip_grade
    vips = grades.filter(pc.equal(grades.column("grade"), vip_grade)).column("customer_id")
    is_vip = pc.is_in(ids.cast(pa.string()), value_set=vips.cast(pa.string())).to_numpy(
        zero_copy_only=False
    )
    known = ~np.isnan(clv)
    n = int((is_vip & known).sum())
    if n == 0:
        return pa.array(np.zeros(len(clv), dtype=bool))
    threshold = float(np.sort(clv[known])[::-1][n - 1])
    run.vip_clv_threshold = threshold
    return pa.array(~is_vip & known & (clv >= threshold) & (clv > 0))


CLUSTER_SCHEMA = pa.schema([("customer_id", pa.string()), ("vip_cluster", pa.string())])


def vip_clusters(
    con: ibis.BaseBackend, as_of: dt.date, profile: ir.Table, vip_grade: str, run: PredictionRun
) -> pa.Table:
    """customer_id → vip_cluster for the top-grade buyers of ``profile`` (a stored profile as of
    ``as_of`` with ``grade``); empty, with the reason in ``run``, when they cannot be clustered."""
    vips = profile.filter((profile.grade == vip_grade) & (profile.number_of_orders > 0))

    features = vip_features(con, as_of, profile=vips).to_pyarrow()
    try:
        model = VIPClusters().fit(features)
    except ConfigError as exc:
        run.vip_cluster_reason = str(exc)
        return CLUSTER_SCHEMA.empty_table()
    run.vip_clusters = model.describe()
    return model.assign(features).cast(CLUSTER_SCHEMA)


def add_predictions(
    profile: ir.Table,
    predictions: ir.Table,
    settings: PredictionSettings | None = None,
    clusters: ir.Table | None = None,
) -> ir.Table:
    """The profile with the prediction columns (empty for customers without a prediction),
    ``expected_next_order_date`` from the model or the customer's cycle, as ``settings`` says,
    and ``vip_cluster`` from ``clusters``."""
    settings = settings or PredictionSettings()
    pred = predictions.rename(_pid="customer_id")
    joined = profile.left_join(pred, profile.customer_id == pred._pid)
    if settings.next_order == "cycle":
        days = joined.avg_days_between_orders.round().cast("int64")
        # (DuckDB makes date + interval a timestamp; Ibis thinks it a date: say it explicitly)
        shifted = (joined.last_order_date + days.as_interval("D")).cast("timestamp").date()
        next_date = ibis.cases(
            (joined.avg_days_between_orders.notnull(), shifted), else_=ibis.null("date")
        )
    else:
        next_date = joined.model_next_order_date
    joined = joined.mutate(expected_next_order_date=next_date.cast("date")).drop(
        "_pid", "model_next_order_date"
    )
    if clusters is None:
        return joined.mutate(vip_cluster=ibis.null("string"))
    cl = clusters.rename(_cid="customer_id")
    return joined.left_join(cl, joined.customer_id == cl._cid).drop("_cid")


def store_run(con: Any, run: PredictionRun) -> None:
    """Record the run (a DuckDB connection, inside the caller's transaction)."""
    store_tables.ensure(con, [RUNS_TABLE])
    con.execute(
        f"INSERT INTO {RUNS_TABLE} VALUES (?, current_timestamp, ?)",
        [run.as_of, json.dumps(run.to_dict())],
    )


def last_run(con: Any) -> PredictionRun | None:
    """The run of the latest as-of date (the last one recorded for it), or None before the
    first refresh."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [RUNS_TABLE]
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute(
        f"SELECT run FROM {RUNS_TABLE} ORDER BY as_of DESC, recorded_at DESC LIMIT 1"
    ).fetchone()
    return PredictionRun(**json.loads(row[0])) if row else None


def predict_profile(
    con: ibis.BaseBackend,
    scored: ir.Table,
    as_of: dt.date,
    settings: PredictionSettings | None = None,
) -> tuple[ir.Table, PredictionRun]:
    """``scored`` (a stored scored profile: the fit reads its grades) with the prediction
    columns; the predictions are kept in a temporary table for the session."""
    settings = settings or PredictionSettings()
    grades = scored.select("customer_id", "grade").to_pyarrow()
    top = load_grade_rules().keys[0]
    predictions, run = customer_predictions(con, as_of, settings, grades=grades, vip_grade=top)
    stored = temp_table(con, f"_predictions_{as_of:%Y%m%d}", predictions)
    clusters = CLUSTER_SCHEMA.empty_table()
    if settings.enabled:
        clusters = vip_clusters(con, as_of, scored, top, run)
    stored_clusters = temp_table(con, f"_vip_clusters_{as_of:%Y%m%d}", clusters)
    return add_predictions(scored, stored, settings, stored_clusters), run


def profile_with_predictions(
    con: ibis.BaseBackend, as_of: dt.date, settings: PredictionSettings | None = None
) -> ir.Table:
    """The profile segments run on: every profile field, score and prediction as of a date — the
    table the last ``refresh`` stored when it is current, else computed now."""
    if snapshot_is_current(con, as_of):
        return con.table(SNAPSHOT_TABLE)
    scored = temp_table(con, f"_scored_{as_of:%Y%m%d}", scored_profile(con, as_of))
    table, _ = predict_profile(con, scored, as_of, settings)
    return table


def overview(con: ibis.BaseBackend) -> dict[str, Any] | None:
    """The last refresh's predictions in brief: the run (model, parameters, settings, why not)
    and the fields' spread over the stored profile; None before the first refresh."""
    # prediction runs are kept in the embedded store only (refresh writes them)
    run = last_run(con.con) if capabilities(con).embedded_store else None
    if run is None:
        return None
    result: dict[str, Any] = {"run": run.to_dict(), "fields": {}}
    if SNAPSHOT_TABLE in con.list_tables():
        t = con.table(SNAPSHOT_TABLE)
        if "p_alive" in t.columns:
            stats = t.aggregate(
                customers=t.count(),
                predicted=t.p_alive.count(),
                expected_orders=t.expected_orders.sum(),
                mean_p_alive=t.p_alive.mean(),
                mean_repurchase_probability=t.repurchase_probability.mean(),
                predicted_clv=t.predicted_clv.sum(),
                median_predicted_clv=t.predicted_clv.approx_median(),
                with_next_order_date=t.expected_next_order_date.count(),
                future_vips=t.future_vip.sum(),
            )
            row = stats.to_pyarrow().to_pylist()[0]
            result["fields"] = {k: (None if v is None else v) for k, v in row.items()}
    return result
