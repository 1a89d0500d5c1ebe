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
import json
import math
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
from danggol.predict.backtest import MIN_CUSTOMERS, MIN_REPEAT_BUYERS, repurchase_probability
from danggol.predict.btyd import BGNBD, MBGNBD, GammaGamma, ParetoNBD
from danggol.predict.clusters import VIPClusters, vip_features
from danggol.predict.summary import UNITS, rfm_summary
from danggol.profile import SNAPSHOT_TABLE, snapshot_is_current
from danggol.schema import FieldSpec
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
    "p_alive": pa.float64(),
    "repurchase_probability": pa.float64(),
    "predicted_clv": pa.float64(),
    "predicted_clv_percentile": pa.float64(),
    "model_next_order_date": pa.date32(),
    "future_vip": pa.bool_(),
}
SCHEMA = pa.schema([("customer_id", pa.string()), *COLUMNS.items()])


def field_specs() -> tuple[FieldSpec, ...]:
    """The segment-language fields for the prediction columns."""
    return (
        FieldSpec(
            "expected_orders", "expected_orders", "number", "expected orders", "예상 구매 횟수"
        ),
        FieldSpec("p_alive", "p_alive", "number", "probability active", "활성 확률"),
        FieldSpec(
            "repurchase_probability",
            "repurchase_probability",
            "number",
            "repurchase probability",
            "재구매 확률",
        ),
        FieldSpec(
            "predicted_clv",
            "predicted_clv",
            "number",
            "predicted lifetime value",
            "예상 고객생애가치",
            money=True,
        ),
        FieldSpec(
            "predicted_clv_percentile",
            "predicted_clv_percentile",
            "number",
            "predicted CLV percentile",
            "예상 CLV 백분위",
        ),
        FieldSpec(
            "expected_next_order_date",
            "expected_next_order_date",
            "date",
            "expected next order date",
            "다음 구매 예상일",
        ),
        FieldSpec("future_vip", "future_vip", "boolean", "future VIP", "예비 VIP"),
        FieldSpec("vip_cluster", "vip_cluster", "text", "VIP sub-segment", "VIP 세부 유형"),
    )


@dataclass
class PredictionRun:
    """What one prediction run fitted, or why it fitted nothing."""

    as_of: str
    settings: dict[str, Any]
    status: str  # "fitted" | "too_little_data" | "disabled"
    reason: str = ""
    customers: int = 0
    repeat_buyers: int = 0
    model_params: dict[str, float] = field(default_factory=dict)
    log_likelihood: float | None = None
    spend_params: dict[str, float] = field(default_factory=dict)
    spend_reason: str = ""
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
    lo = np.zeros(len(x))
    hi = np.full(len(x), float(max_days))
    reach, _ = repurchase_probability(model, max_days / unit_days, x, tx, T)
    ok = reach >= 0.5
    for _ in range(40):  # 3650 / 2**40 days: far below a day
        mid = (lo + hi) / 2
        prob, _ = repurchase_probability(model, mid / unit_days, x, tx, T)
        above = prob >= 0.5
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return np.where(ok, np.ceil(hi), np.nan)


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
    run = PredictionRun(as_of=as_of.isoformat(), settings=settings.model_dump(), status="disabled")
    if not settings.enabled:
        run.reason = "predictions are turned off ([predictions] enabled = false)"
        return _empty(), run
    summary = rfm_summary(con, as_of, time_unit=settings.time_unit)
    ids = summary.column("customer_id")
    x = summary.column("frequency").to_numpy().astype(float)
    tx = summary.column("recency").to_numpy().astype(float)
    T = summary.column("T").to_numpy().astype(float)
    mv = summary.column("monetary_value").to_numpy().astype(float)
    run.customers, run.repeat_buyers = len(x), int((x > 0).sum())
    if run.customers < MIN_CUSTOMERS or run.repeat_buyers < MIN_REPEAT_BUYERS:
        run.status = "too_little_data"
        run.reason = (
            f"{run.customers} buyers and {run.repeat_buyers} repeat buyers by {as_of}; the models "
            f"need at least {MIN_CUSTOMERS} buyers and {MIN_REPEAT_BUYERS} repeat buyers"
        )
        return _empty(), run

    unit_days = UNITS[settings.time_unit]
    model = MODELS[settings.model]().fit(x, tx, T)
    run.status = "fitted"
    run.model_params = dict(model.params_)
    run.log_likelihood = float(model.log_likelihood_)
    t = settings.horizon_days / unit_days
    expected = np.asarray(model.expected_purchases(t, x, tx, T), dtype=float)
    alive = np.asarray(model.p_alive(x, tx, T), dtype=float)
    repurchase, _ = repurchase_probability(model, t, x, tx, T)
    next_days = next_purchase_days(model, x, tx, T, unit_days=unit_days)

    clv = np.full(len(x), np.nan)
    repeat = (x > 0) & (mv > 0)
    if repeat.sum() < MIN_REPEAT_BUYERS:
        run.spend_reason = (
            f"{int(repeat.sum())} repeat buyers with spend; the spend model needs "
            f"{MIN_REPEAT_BUYERS}: predicted_clv stays empty"
        )
    else:
        spend = GammaGamma().fit(x[repeat], mv[repeat])
        run.spend_params = dict(spend.params_)
        monthly = (1 + settings.discount_rate) ** (1 / 12) - 1
        clv = settings.margin * np.asarray(
            spend.clv(
                model,
                x,
                tx,
                T,
                np.where(repeat, mv, 0.0),
                horizon=settings.clv_months,
                discount_rate=monthly,
                time_unit=settings.time_unit,
                period="month",
            ),
            dtype=float,
        )
    percentile = np.full(len(x), np.nan)
    known = ~np.isnan(clv)
    if known.sum() > 1:
        ranks = rankdata(clv[known], method="min")
        percentile[known] = (ranks - 1) / (known.sum() - 1) * 100
    elif known.sum() == 1:
        percentile[known] = 0.0

    next_date = [
        None if math.isnan(d) else as_of + dt.timedelta(days=int(d)) for d in next_days.tolist()
    ]
    future = _future_vip(ids, clv, grades, vip_grade, run)
    table = pa.table(
        {
            "customer_id": ids.cast(pa.string()),
            "expected_orders": expected,
            "p_alive": alive,
            "repurchase_probability": repurchase,
            "predicted_clv": pa.array(clv, mask=~known),
            "predicted_clv_percentile": pa.array(percentile, mask=~known),
            "model_next_order_date": pa.array(next_date, pa.date32()),
            "future_vip": future,
        },
        schema=SCHEMA,
    )
    return table, run


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
    """The latest stored run, or None before the first refresh."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [RUNS_TABLE]
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute(
        f"SELECT run FROM {RUNS_TABLE} ORDER BY recorded_at DESC, as_of DESC LIMIT 1"
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
