"""A supervised repurchase model: features at a cut-off date, label = a purchase within the
horizon after it, trained with a time split and calibrated.

Features (:func:`features`, one row per customer with a purchase by the end of the cut-off
day; nothing after that day is read):

* from the profile (:func:`danggol.profile.customer_profile` as of the cut-off):
  ``number_of_orders``, ``amount_spent``, ``aov``, ``days_since_last_order``,
  ``avg_days_between_orders``, ``refunds``, ``distinct_products``, ``distinct_categories``,
  ``events_total`` and one ``events_<name>`` count per event name;
* ``tenure_days`` = cut-off − first purchase day;
* windows ending on the cut-off day: ``orders_30d`` / ``orders_90d`` / ``orders_180d``
  (purchases in the last 30/90/180 days, the cut-off day included), ``spent_30d`` / ``spent_90d``
  / ``spent_180d`` (their total − refunded amount), ``events_total_30d`` and one
  ``events_<name>_30d`` per event name.

Nulls are filled so that every feature is a number: ``avg_days_between_orders`` of a customer
with one purchase is ``tenure_days`` (the time they have gone without a second purchase, a lower
bound on their gap); counts and amounts without a row are 0. The event names are those with an
event on or before the cut-off (so a name that first appears later changes nothing); a fitted
model keeps its names and scores later dates with the same columns.

The label (:func:`labels`) is 1 when the customer has a purchase (status ``paid`` or
``partially_refunded``) in (cut-off, cut-off + horizon], else 0.

Time split: ``RepurchaseModel(horizon_days=h).fit(con, as_of)`` learns from the features at
``as_of − h`` and the labels in (as_of − h, as_of], so nothing after ``as_of`` is read; it then
scores the features at ``as_of`` (:meth:`RepurchaseModel.predict_proba`). Customers are never
split at random between learning and scoring: the rows that are scored are always a later
snapshot than the rows learned from.

Calibration: the classifier is wrapped in scikit-learn's ``CalibratedClassifierCV`` (5
stratified folds, shuffled with a fixed seed, Platt's sigmoid by default). Every row of the
training snapshot has its features at the same date and its label in the same window, all on
or before ``as_of``, so folding customers within it leaks nothing from the future; the folds
only keep the calibration map from being learned on the rows the classifier was fitted to.
Calibrating on a later time slice instead would need a second horizon of history and would fit
the classifier on an older window; with one snapshot the newest behaviour is learned. Sigmoid
(two parameters) is the default because shops are small; ``calibration="isotonic"`` suits
tens of thousands of customers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from danggol.choices import SUPERVISED_METHODS
from danggol.dates import check_date
from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in, one_of
from danggol.predict.backtest import (
    MIN_CUSTOMERS,
    auc_score,
    calibration_table,
    repurchase_probability,
)
from danggol.predict.models import BGNBD
from danggol.predict.summary import rfm_summary
from danggol.profile import customer_profile, event_column, purchases

#: the least number of repurchasers (and of customers who did not) in the training labels and
#: in the backtest's outcome: fewer and AUC, Brier and the calibration are noise
MIN_POSITIVES = 20
#: windows (days, ending on the cut-off day) of the behaviour features
WINDOWS = (30, 90, 180)
EVENT_WINDOW = 30
#: profile columns used as they are
PROFILE_FEATURES = (
    "number_of_orders",
    "amount_spent",
    "aov",
    "days_since_last_order",
    "avg_days_between_orders",
    "refunds",
    "distinct_products",
    "distinct_categories",
    "events_total",
)
METHODS = SUPERVISED_METHODS
CALIBRATIONS = ("sigmoid", "isotonic")


def _check_horizon(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"horizon_days must be an int >= 1 (days ahead); got {value!r}")
    return value


def event_names_until(con: ibis.BaseBackend, cutoff: dt.date) -> list[str]:
    """The event names with at least one event on or before ``cutoff``, sorted."""
    e = con.table("events")
    e = e.filter(e.event_date <= cutoff, e.event.notnull())
    return e.select("event").distinct().order_by("event").to_pyarrow()["event"].to_pylist()


def _columns_by_name(names: list[str]) -> dict[str, list[str]]:
    """Profile column → the raw event names counted in it (spellings that normalise alike)."""
    spellings: dict[str, list[str]] = {}
    for name in names:
        spellings.setdefault(event_column(name), []).append(name)
    return spellings


def purchase_windows(
    con: ibis.BaseBackend, cutoff: dt.date, windows: tuple[int, ...] = WINDOWS
) -> ir.Table:
    """Per buyer: ``orders_<n>d`` and ``spent_<n>d`` over the purchases in (cutoff − n, cutoff]."""
    p = purchases(con, cutoff)
    value = p.total - p.refunded_amount.fill_null(0)
    aggs: dict[str, ir.Value] = {}
    for n in windows:
        inside = p.order_date > cutoff - dt.timedelta(days=n)
        aggs[f"orders_{n}d"] = p.count(where=inside)
        aggs[f"spent_{n}d"] = value.sum(where=inside)
    return p.group_by("customer_id").aggregate(**aggs)


def _recent_events(con: ibis.BaseBackend, cutoff: dt.date, names: list[str]) -> ir.Table:
    e = con.table("events")
    e = e.filter(e.event_date <= cutoff, e.event_date > cutoff - dt.timedelta(days=EVENT_WINDOW))
    per_name = {
        f"{col}_{EVENT_WINDOW}d": e.count(where=e.event.isin(raw))
        for col, raw in _columns_by_name(names).items()
    }
    return e.group_by("customer_id").aggregate(
        **{f"events_total_{EVENT_WINDOW}d": e.count()}, **per_name
    )


def feature_names(events: list[str]) -> list[str]:
    """The feature columns, in order, for a shop with these event names."""
    cols = list(_columns_by_name(events))
    windowed = [f"{kind}_{n}d" for kind in ("orders", "spent") for n in WINDOWS]
    return [
        *PROFILE_FEATURES,
        "tenure_days",
        *cols,
        *windowed,
        f"events_total_{EVENT_WINDOW}d",
        *(f"{c}_{EVENT_WINDOW}d" for c in cols),
    ]


def features(
    con: ibis.BaseBackend, cutoff: dt.date, *, events: list[str] | None = None
) -> ir.Table:
    """One row per customer with a purchase by the end of ``cutoff``: ``customer_id`` and the
    numeric features of the module docstring, no nulls, ordered by customer_id.

    ``events`` are the event names to count (default: those seen on or before ``cutoff``).
    """
    cutoff = check_date("cutoff", cutoff)
    names = event_names_until(con, cutoff) if events is None else list(events)
    profile = customer_profile(con, cutoff, events=names)
    buyers = profile.filter(profile.number_of_orders > 0)
    tenure = ibis.date(cutoff).delta(buyers.first_order_date, unit="day")
    buyers = buyers.mutate(tenure_days=tenure)
    table = (
        buyers.left_join(purchase_windows(con, cutoff), "customer_id")
        .drop("customer_id_right")
        .left_join(_recent_events(con, cutoff, names), "customer_id")
        .drop("customer_id_right")
    )
    cols = feature_names(names)
    filled: dict[str, ir.Value] = {}
    for col in cols:
        value = table[col]
        if col == "avg_days_between_orders":
            value = value.fill_null(table.tenure_days.cast("float64"))
        filled[col] = value.fill_null(0).cast("float64")
    return table.select("customer_id", **filled).order_by("customer_id")


def labels(con: ibis.BaseBackend, cutoff: dt.date, horizon_days: int) -> ir.Table:
    """One row per customer with a purchase by the end of ``cutoff``: ``customer_id`` and
    ``repurchased`` (1 with a purchase in (cutoff, cutoff + horizon_days], else 0)."""
    cutoff = check_date("cutoff", cutoff)
    end = cutoff + dt.timedelta(days=_check_horizon(horizon_days))
    buyers = purchases(con, cutoff).select("customer_id").distinct()
    later = purchases(con, end)
    later = later.filter(later.order_date > cutoff).select("customer_id").distinct()
    later = later.mutate(_bought=ibis.literal(1))
    joined = buyers.left_join(later, "customer_id")
    return joined.select(
        customer_id=joined.customer_id, repurchased=joined._bought.fill_null(0).cast("int64")
    ).order_by("customer_id")


def single_threaded() -> Any:
    """One OpenMP thread for scikit-learn's compiled loops (gradient boosting, k-means). The
    models are small; on a machine whose cores are busy, spinning OpenMP threads made a fit
    15 times slower (2,000 customers: 29 s against 2 s, measured), and one thread gives the
    same numbers on every machine."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _matrix(table: pa.Table, cols: list[str]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy().astype(float) for c in cols])


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    """log(1 + |x|) with x's sign: money and counts are heavy-tailed, a linear model wants them
    on a log scale."""
    return np.sign(x) * np.log1p(np.abs(x))


def _classifier(method: str, random_state: int) -> Any:
    if method == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        # no early stopping and no subsampling: the same data gives the same model
        return HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=200,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=random_state,
        )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(
        FunctionTransformer(_signed_log1p),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=5000),
    )


class RepurchaseModel(Estimator):
    """P(a purchase within ``horizon_days``), learned from the shop's own past.

    ``fit(con, as_of)`` learns from the features at ``as_of − horizon_days`` and who bought in
    (as_of − horizon_days, as_of]; ``predict_proba(con, as_of)`` scores every buyer at ``as_of``.

    Learned: ``train_cutoff_``, ``as_of_``, ``events_`` (event names used), ``feature_names_``,
    ``n_customers_``, ``n_repurchasers_``, ``estimator_`` (the calibrated classifier).
    """

    _parameters = (
        Param("method", one_of(*METHODS), f"one of {', '.join(METHODS)}"),
        Param("horizon_days", int_in(1, math.inf), "an int in the range [1, inf)"),
        Param("calibration", one_of(*CALIBRATIONS), f"one of {', '.join(CALIBRATIONS)}"),
        Param("min_customers", int_in(1, math.inf), "an int in the range [1, inf)"),
        Param("min_positives", int_in(5, math.inf), "an int in the range [5, inf)"),
        Param("random_state", int_in(0, 2**32 - 1), "an int in the range [0, 2**32 - 1]"),
    )

    def __init__(
        self,
        method: str = "gradient_boosting",
        horizon_days: int = 90,
        *,
        calibration: str = "sigmoid",
        min_customers: int = MIN_CUSTOMERS,
        min_positives: int = MIN_POSITIVES,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.horizon_days = horizon_days
        self.calibration = calibration
        self.min_customers = min_customers
        self.min_positives = min_positives
        self.random_state = random_state

    def _check_params(self) -> None:
        self.validate_params()

    def _training(self, con: ibis.BaseBackend, as_of: dt.date) -> tuple[pa.Table, list[str]]:
        self._check_params()
        cutoff = check_date("as_of", as_of) - dt.timedelta(days=self.horizon_days)
        names = event_names_until(con, cutoff)
        x = features(con, cutoff, events=names)
        y = labels(con, cutoff, self.horizon_days)
        return x.join(y, "customer_id").order_by("customer_id").to_pyarrow(), names

    def training_data(self, con: ibis.BaseBackend, as_of: dt.date) -> pa.Table:
        """The rows ``fit`` learns from: the features at ``as_of − horizon_days`` and the label
        ``repurchased`` in (as_of − horizon_days, as_of]."""
        return self._training(con, as_of)[0]

    def fit(self, con: ibis.BaseBackend, as_of: dt.date) -> RepurchaseModel:
        """Learn from the data up to the end of ``as_of`` (see the class docstring)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold

        data, names = self._training(con, as_of)
        cutoff = as_of - dt.timedelta(days=self.horizon_days)
        cols = [c for c in data.column_names if c not in ("customer_id", "repurchased")]
        y = data.column("repurchased").to_numpy().astype(int)
        n, positives = int(y.size), int(y.sum())
        if n < self.min_customers:
            raise ConfigError(
                f"too little data to train: {n} customers had bought by {cutoff} (the training "
                f"cut-off, {self.horizon_days} days before {as_of}); need at least "
                f"{self.min_customers} — choose a later date or a shorter horizon"
            )
        for count, who in ((positives, "bought again"), (n - positives, "did not buy again")):
            if count < self.min_positives:
                raise ConfigError(
                    f"too little data to train: {count} of {n} customers {who} in "
                    f"({cutoff}, {as_of}] (need at least {self.min_positives}); "
                    "choose another date or horizon"
                )
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=self.random_state)
        estimator = CalibratedClassifierCV(
            _classifier(self.method, self.random_state),
            method=self.calibration,
            cv=folds,
            ensemble=True,
        )
        with single_threaded():
            estimator.fit(_matrix(data, cols), y)
        self.as_of_ = as_of
        self.train_cutoff_ = cutoff
        self.events_ = names
        self.feature_names_ = cols
        self.n_customers_ = n
        self.n_repurchasers_ = positives
        self.estimator_ = estimator
        return self

    def predict_proba(self, con: ibis.BaseBackend, as_of: dt.date) -> pa.Table:
        """``customer_id``, ``repurchase_probability`` (within ``horizon_days`` after
        ``as_of``) for every customer with a purchase by the end of ``as_of``."""
        estimator = getattr(self, "estimator_", None)
        if estimator is None:
            raise ConfigError(
                f"this {type(self).__name__} is not fitted yet: call fit(con, as_of) first"
            )
        table = features(con, check_date("as_of", as_of), events=self.events_).to_pyarrow()
        if table.num_rows == 0:
            prob = np.zeros(0)
        else:
            with single_threaded():
                prob = estimator.predict_proba(_matrix(table, self.feature_names_))[:, 1]
        return pa.table(
            {
                "customer_id": table.column("customer_id"),
                "repurchase_probability": pa.array(prob, pa.float64()),
            }
        )


@dataclass
class SupervisedBacktest:
    model: str
    method: str
    cutoff: str
    horizon_days: int
    train_cutoff: str
    train_customers: int
    train_repurchasers: int
    features: int
    customers: int
    repurchasers: int
    mean_predicted: float
    auc: float
    brier: float
    bgnbd_auc: float
    bgnbd_brier: float
    bgnbd_mean_predicted: float
    calibration: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _outcome(con: ibis.BaseBackend, cutoff: dt.date, horizon_days: int) -> dict[str, int]:
    rows = labels(con, cutoff, horizon_days).to_pyarrow().to_pylist()
    return {str(r["customer_id"]): int(r["repurchased"]) for r in rows}


def supervised_backtest(
    con: ibis.BaseBackend,
    *,
    cutoff: dt.date,
    horizon_days: int,
    method: str = "gradient_boosting",
    calibration: str = "sigmoid",
) -> SupervisedBacktest:
    """Train on labels that end at ``cutoff``, score the customers at ``cutoff``, and compare
    with who bought in (cutoff, cutoff + horizon_days]; BG/NBD on the same customers beside it.

    The customers compared are those the BG/NBD summary has: a purchase before the cut-off
    day (a first purchase on the cut-off day gives T = 0, which BG/NBD cannot fit).
    """
    cutoff = check_date("cutoff", cutoff)
    horizon_days = _check_horizon(horizon_days)
    model = RepurchaseModel(method, horizon_days, calibration=calibration)
    model._check_params()  # before any query
    end = cutoff + dt.timedelta(days=horizon_days)
    o = con.table("orders")
    last = o.aggregate(d=o.order_date.max()).to_pyarrow()["d"][0].as_py()
    if last is None or last <= cutoff:
        raise ConfigError(
            f"too little data to backtest: no orders after the cutoff {cutoff} "
            f"(the last order is on {last}); choose an earlier cutoff"
        )
    if last < end:
        raise ConfigError(
            f"too little data to backtest: the orders end on {last}, before the end of the "
            f"horizon {end}, so repurchases would be undercounted; choose a cutoff on or "
            f"before {last - dt.timedelta(days=horizon_days)} or a shorter horizon"
        )

    summary = rfm_summary(con, cutoff, time_unit="week")
    ids = [str(c) for c in summary.column("customer_id").to_pylist()]
    n = len(ids)
    if n < MIN_CUSTOMERS:
        raise ConfigError(
            f"too little data to backtest: {n} customers bought before the cutoff {cutoff} "
            f"(need at least {MIN_CUSTOMERS})"
        )
    outcome = _outcome(con, cutoff, horizon_days)
    bought = np.array([outcome[c] for c in ids], dtype=float)
    for count, who in ((int(bought.sum()), "bought"), (int(n - bought.sum()), "did not buy")):
        if count < MIN_POSITIVES:
            raise ConfigError(
                f"too little data to backtest: {count} of {n} customers {who} in "
                f"({cutoff}, {end}] (need at least {MIN_POSITIVES}); choose another cutoff "
                "or horizon"
            )

    model.fit(con, cutoff)
    scored = model.predict_proba(con, cutoff)
    by_id = dict(
        zip(
            (str(c) for c in scored.column("customer_id").to_pylist()),
            scored.column("repurchase_probability").to_numpy(),
            strict=True,
        )
    )
    prob = np.array([by_id[c] for c in ids], dtype=float)

    x = np.asarray(summary.column("frequency").to_numpy(), dtype=float)
    tx = np.asarray(summary.column("recency").to_numpy(), dtype=float)
    T = np.asarray(summary.column("T").to_numpy(), dtype=float)
    bgnbd = BGNBD().fit(summary)
    bg_prob, _ = repurchase_probability(bgnbd, horizon_days / 7, x, tx, T)
    return SupervisedBacktest(
        model="supervised",
        method=method,
        cutoff=cutoff.isoformat(),
        horizon_days=horizon_days,
        train_cutoff=model.train_cutoff_.isoformat(),
        train_customers=model.n_customers_,
        train_repurchasers=model.n_repurchasers_,
        features=len(model.feature_names_),
        customers=n,
        repurchasers=int(bought.sum()),
        mean_predicted=float(prob.mean()),
        auc=auc_score(bought.astype(bool), prob),
        brier=float(((prob - bought) ** 2).mean()),
        bgnbd_auc=auc_score(bought.astype(bool), bg_prob),
        bgnbd_brier=float(((bg_prob - bought) ** 2).mean()),
        bgnbd_mean_predicted=float(np.mean(bg_prob)),
        calibration=calibration_table(prob, bought),
    )
