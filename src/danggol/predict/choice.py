"""The best model for this shop, chosen by its own backtest (``model = "auto"``).

Refresh holds out the shop's last ``horizon_days`` before the as-of date: every candidate is
fitted on the purchases up to ``cutoff = as_of − horizon_days`` and predicts who buys again in
(cutoff, as_of]; the one with the lowest **Brier score** (mean squared error of P(repurchase)
against 0/1 — a proper scoring rule, so it rewards both ranking and calibration) is used. AUC
is reported beside it. Candidates:

* ``bgnbd``, ``mbgnbd``, ``pareto_nbd``: the models' exact P(repurchase), after the same
  guards as at refresh (:mod:`danggol.predict.guards`);
* ``supervised``: logistic regression on the log-RFM summary (log(1+x), log(1+T−t_x),
  log(1+mean spend), log(1+x/t_x)), trained on an earlier window (below);
* ``hybrid``: the same regression given, besides, the logit of BG/NBD's P(repurchase) (the
  supervised model given the BTYD prediction).

**Training window.** The learners are trained on features at ``cutoff − w`` and labels in
(cutoff − w, cutoff], w = min(horizon, half the history before the cutoff): a horizon longer
than the history (39 weeks on CDNOW) shortens the window instead of failing. The hybrid's BTYD
inputs are computed for the window they are trained on (w) and applied for the horizon, so it
learns a correction to the models' probability rather than a fixed horizon. The supervised
model without them has no way to carry a shorter window over to the horizon: with w < horizon
it is not a candidate (the run says so).

**Penalty.** In a shop with fewer than :data:`SMALL_SHOP` customers in the backtest and the
default ``penalizer_coef = 0``, BG/NBD and MBG/NBD are also tried with each of :data:`PENALTIES`
and keeps the value with the lowest Brier score; refresh then fits the chosen model with it.

**Cost.** The backtest fits on at most :data:`MAX_CUSTOMERS` customers (a fixed-seed sample),
and a choice is reused while the as-of date and the settings are those it was made for.

The BTYD model with the best score gives ``expected_orders``, ``p_alive`` and
``predicted_clv`` whichever candidate wins; when a learner wins, it gives
``repurchase_probability``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
from scipy.special import logit

from danggol.config import PredictionSettings
from danggol.errors import ConfigError
from danggol.estimator import Estimator
from danggol.predict.backtest import auc_score
from danggol.predict.guards import FALLBACK, fit_problem, history_shortfall, values_problem
from danggol.predict.models import BGNBD, MBGNBD, ParetoNBD
from danggol.predict.summary import UNITS, rfm_summary
from danggol.profile import purchases

BTYD: dict[str, type[BGNBD] | type[ParetoNBD]] = {
    "bgnbd": BGNBD,
    "mbgnbd": MBGNBD,
    "pareto_nbd": ParetoNBD,
}
LEARNERS = ("supervised", "hybrid")
CANDIDATES = (*BTYD, *LEARNERS)
METRIC = "brier"
#: customers the backtest fits on (a fixed-seed sample above this)
MAX_CUSTOMERS = 20_000
#: the least training window of the learners, in days
MIN_WINDOW_DAYS = 14
#: L2 strength of the learners' logistic regression (scikit-learn's C; standardised features)
C = 0.1
#: the BTYD models whose P(repurchase) the hybrid is given (BG/NBD only: Pareto/NBD's adds
#: little on CDNOW — AUC .7953 with both, .7954 with BG/NBD alone, 13 weeks — and its fit is
#: the expensive one, needed twice more for the hybrid)
HYBRID_INPUTS = ("bgnbd",)
_EPS = 1e-9
#: below this many customers in the backtest, the default penalty (0) is also chosen by it
#: among these values (lifetimes' penalizer_coef scale: coef · Σ parameters²)
SMALL_SHOP = 5_000
PENALTIES = (0.001, 0.01, 0.1)
#: the models tried with a penalty (Pareto/NBD's fits cost ten times more; it keeps the setting)
PENALIZED = ("bgnbd", "mbgnbd")
#: the BTYD models from the cheapest to fit and predict at scale to the dearest (BG/NBD and
#: MBG/NBD have closed forms; Pareto/NBD an integral per customer row: ~1.3× BG/NBD's step at
#: 1M customers, docs/benchmarks.md)
COST_ORDER = ("bgnbd", "mbgnbd", "pareto_nbd")
#: a cheaper model is preferred when its Brier score is within this many standard errors of
#: the best one's (the one-standard-error rule)
NOISE_SE = 1.0


@dataclass
class Choice:
    """What the backtest measured and chose."""

    as_of: str
    settings_key: str
    metric: str = METRIC
    cutoff: str = ""
    horizon_days: int = 0
    window_days: int = 0
    customers: int = 0
    repurchasers: int = 0
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    not_candidates: dict[str, str] = field(default_factory=dict)
    best: str = ""
    best_btyd: str = ""
    penalties: dict[str, float] = field(default_factory=dict)
    penalty_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    margin: float | None = None
    runner_up: str = ""
    reason: str = ""
    #: when a cheaper BTYD model was preferred to the best-scoring one (the one-standard-error
    #: rule): {"model", "brier_difference", "standard_error"} of the one passed over
    cheaper_within_noise: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if not self.best:
            return self.reason
        text = (
            f"{self.best} chosen by the shop's own backtest (Brier {self.scores[self.best]['brier']:.4f}, "
            f"AUC {self.scores[self.best]['auc']:.3f} on {self.customers:,} customers, "
            f"{self.horizon_days} days after {self.cutoff})"
        )
        if self.runner_up and self.margin is not None and self.margin >= 0:
            # (a cheaper model preferred within the noise has a higher Brier than the runner-up)
            text += f"; {self.margin:.4f} lower Brier than {self.runner_up}"
        passed = self.cheaper_within_noise
        if passed:
            text += (
                f"; {passed['model']}'s Brier was better by {passed['brier_difference']:.4f}, "
                f"inside the backtest's noise (± {passed['standard_error']:.4f}, one standard "
                f"error of the paired difference): the cheaper {self.best_btyd} is used"
            )
        return text


def settings_key(settings: PredictionSettings) -> str:
    keep = ("time_unit", "horizon_days", "penalizer_coef")
    return ",".join(f"{k}={getattr(settings, k)}" for k in keep)


@dataclass
class _Snapshot:
    ids: list[str]
    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    m: np.ndarray


class History:
    """The purchase days (customer, day, value) of a sample of customers up to the as-of date,
    read with one query; summaries at earlier dates and who bought in a window are computed
    from it in numpy, with the rules of :func:`danggol.predict.summary.rfm_summary` (purchases
    on one day are one purchase, their values added; frequency = days − 1; recency and T from
    the first purchase day; monetary value = mean value of the repeat days; T = 0 left out)."""

    def __init__(
        self, con: ibis.BaseBackend, as_of: dt.date, ids: list[str], unit_days: int
    ) -> None:
        p = purchases(con, as_of)
        p = p.mutate(customer_id=p.customer_id.cast("string"))
        keep = ibis.memtable(pa.table({"_cid": pa.array(ids, pa.string())}))
        p = p.semi_join(keep, p.customer_id == keep._cid)
        value = p.total - p.refunded_amount.fill_null(0)
        rows = (
            p.group_by(["customer_id", "order_date"])
            .aggregate(value=value.sum())
            .mutate(day=ibis._.order_date.epoch_days())
            .select("customer_id", "day", "value")
            .to_pyarrow()
        )
        self.ids = sorted(set(rows.column("customer_id").to_pylist()))
        index = {c: i for i, c in enumerate(self.ids)}
        self.customer = np.array(
            [index[c] for c in rows.column("customer_id").to_pylist()], dtype=np.int64
        )
        self.day = rows.column("day").to_numpy().astype(np.int64)
        self.value = rows.column("value").to_numpy(zero_copy_only=False).astype(float)
        self.unit = float(unit_days)

    @staticmethod
    def _epoch(day: dt.date) -> int:
        return (day - dt.date(1970, 1, 1)).days

    def snapshot(self, day: dt.date) -> _Snapshot:
        end = self._epoch(day)
        upto = self.day <= end
        c, d, v = self.customer[upto], self.day[upto], self.value[upto]
        n = len(self.ids)
        count = np.bincount(c, minlength=n)
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, c, d)
        last = np.full(n, np.iinfo(np.int64).min)
        np.maximum.at(last, c, d)
        repeat_value = np.bincount(c, weights=np.where(d > first[c], v, 0.0), minlength=n)
        keep = (count > 0) & (first < end)
        x = (count - 1).astype(float)
        m = np.divide(repeat_value, x, out=np.zeros(n), where=x > 0)
        return _Snapshot(
            [cid for cid, k in zip(self.ids, keep, strict=True) if k],
            x[keep],
            ((last - first) / self.unit)[keep],
            ((end - first) / self.unit)[keep],
            m[keep],
        )

    def bought(self, ids: list[str], start: dt.date, days: int) -> np.ndarray:
        """1.0 for each of ``ids`` with a purchase in (start, start + days], else 0.0."""
        lo, hi = self._epoch(start), self._epoch(start) + days
        inside = (self.day > lo) & (self.day <= hi)
        hit = np.zeros(len(self.ids), dtype=bool)
        hit[self.customer[inside]] = True
        index = {c: i for i, c in enumerate(self.ids)}
        return np.array([hit[index[c]] for c in ids], dtype=float)


def _sample(ids: list[str], limit: int) -> list[str]:
    """At most ``limit`` of ``ids``, drawn with a fixed seed (all of them when fewer)."""
    if len(ids) <= limit:
        return list(ids)
    rng = np.random.default_rng(0)
    return [ids[i] for i in np.sort(rng.choice(len(ids), size=limit, replace=False))]


def rfm_features(snap: _Snapshot) -> np.ndarray:
    """The learners' log-RFM features (see the module docstring)."""
    rate = np.divide(snap.x, snap.tx, out=np.zeros_like(snap.x), where=snap.tx > 0)
    return np.column_stack(
        [
            np.log1p(snap.x),
            np.log1p(snap.T - snap.tx),
            np.log1p(np.maximum(snap.m, 0)),
            np.log1p(rate),
        ]
    )


def _fit_btyd(
    name: str, snap: _Snapshot, settings: PredictionSettings, t: float
) -> tuple[Any, np.ndarray | str]:
    """A BTYD model fitted on ``snap`` and its P(repurchase within t), or the reason it is
    unusable (the refresh guards)."""
    try:
        model = BTYD[name](penalizer_coef=settings.penalizer_coef).fit(snap.x, snap.tx, snap.T)
    except ConfigError as exc:
        return None, str(exc)
    problem = fit_problem(model)
    if problem:
        return None, problem
    with np.errstate(all="ignore"):
        prob = 1 - np.asarray(
            model.probability_no_purchase(t, snap.x, snap.tx, snap.T), dtype=float
        )
    problem = values_problem(repurchase_probability=prob)
    return (None, problem) if problem else (model, np.clip(prob, 0.0, 1.0))


def _logits(probabilities: list[np.ndarray]) -> np.ndarray:
    return np.column_stack([logit(np.clip(p, _EPS, 1 - _EPS)) for p in probabilities])


class Learner(Estimator):
    """Logistic regression on standardised features (scikit-learn)."""

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> Learner:
        from sklearn.linear_model import LogisticRegression

        # no threadpool limits here: a few thousand rows × a few columns need no BLAS
        # threads, and threadpoolctl's library scan cost more than the fit (0.7 s a call)
        self.mean_ = features.mean(axis=0)
        self.scale_ = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        self.model_ = LogisticRegression(C=C, max_iter=2000).fit(
            (features - self.mean_) / self.scale_, labels.astype(int)
        )
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba((features - self.mean_) / self.scale_)[:, 1]


def window_days(first_day: dt.date, cutoff: dt.date, horizon_days: int) -> int:
    """The learners' training window: min(horizon, half the history before the cutoff)."""
    return min(horizon_days, (cutoff - first_day).days // 2)


def train_learners(
    history: History,
    day: dt.date,
    settings: PredictionSettings,
    first_day: dt.date,
) -> tuple[dict[str, Learner], dict[str, str], int]:
    """The learners trained to predict from ``day`` on: features at day − w, labels in
    (day − w, day]; the reasons for those that cannot be trained."""
    horizon = settings.horizon_days
    w = window_days(first_day, day, horizon)
    problems: dict[str, str] = {}
    if w < MIN_WINDOW_DAYS:
        reason = (
            f"too little history before {day} to train ({w} days for a window; at least "
            f"{MIN_WINDOW_DAYS} needed)"
        )
        return {}, dict.fromkeys(LEARNERS, reason), w
    start = day - dt.timedelta(days=w)
    snap = history.snapshot(start)
    y = history.bought(snap.ids, start, w)
    positives = int(y.sum())
    if min(positives, len(y) - positives) < 20:
        reason = f"{positives} of {len(y)} customers bought in the training window: too few to learn from"
        return {}, dict.fromkeys(LEARNERS, reason), w
    learners: dict[str, Learner] = {}
    rfm = rfm_features(snap)
    if w < horizon:
        problems["supervised"] = (
            f"its training window is {w} days, shorter than the {horizon}-day horizon (the history "
            "allows no longer): it would predict the wrong horizon"
        )
    else:
        learners["supervised"] = Learner().fit(rfm, y)
    t = w / UNITS[settings.time_unit]
    inputs = []
    for name in HYBRID_INPUTS:
        _, prob = _fit_btyd(name, snap, settings, t)
        if not isinstance(prob, str):
            inputs.append(prob)
    if not inputs:
        problems["hybrid"] = "BG/NBD is not usable on the training window"
    else:
        hybrid = Learner().fit(np.hstack([_logits(inputs), rfm]), y)
        hybrid.inputs_ = len(inputs)  # type: ignore[attr-defined]
        learners["hybrid"] = hybrid
    return learners, problems, w


def learner_probability(
    name: str,
    learner: Learner,
    snap: _Snapshot,
    settings: PredictionSettings,
    btyd_probabilities: dict[str, np.ndarray],
) -> np.ndarray:
    rfm = rfm_features(snap)
    if name == "supervised":
        return learner.predict(rfm)
    inputs = [btyd_probabilities[k] for k in HYBRID_INPUTS if k in btyd_probabilities]
    return learner.predict(np.hstack([_logits(inputs[: learner.inputs_]), rfm]))  # type: ignore[attr-defined]


def _choose_penalties(
    choice: Choice,
    snap: _Snapshot,
    settings: PredictionSettings,
    t: float,
    y: np.ndarray,
    probs: dict[str, np.ndarray],
) -> None:
    """A small shop's default penalty, by the same backtest: each usable model of
    :data:`PENALIZED` is also
    fitted with each of :data:`PENALTIES` and keeps the one with the lowest Brier score (0 —
    no penalty — unless a penalty does better)."""
    for name in [k for k in PENALIZED if k in probs]:
        best = float(((probs[name] - y) ** 2).mean())
        tried = {"0": best}
        for pen in PENALTIES:
            _, prob = _fit_btyd(name, snap, settings.model_copy(update={"penalizer_coef": pen}), t)
            if isinstance(prob, str):
                continue
            brier = float(((prob - y) ** 2).mean())
            tried[str(pen)] = brier
            if brier < best:
                best, probs[name] = brier, prob
                choice.penalties[name] = pen
        choice.penalty_scores[name] = tried


def _ids(summary: pa.Table) -> list[str]:
    return [str(c) for c in summary.column("customer_id").to_pylist()]


def backtest_candidates(
    con: ibis.BaseBackend,
    as_of: dt.date,
    settings: PredictionSettings,
    summary: pa.Table | None = None,
) -> Choice:
    """Score every candidate on the shop's last ``horizon_days`` (see the module docstring).
    ``summary``: the refresh's summary as of ``as_of`` when it has one (its customers are
    sampled; read from the store otherwise)."""
    horizon = settings.horizon_days
    cutoff = as_of - dt.timedelta(days=horizon)
    choice = Choice(as_of=as_of.isoformat(), settings_key=settings_key(settings))
    choice.cutoff, choice.horizon_days = cutoff.isoformat(), horizon
    if summary is None:
        summary = rfm_summary(con, as_of, time_unit=settings.time_unit)
    unit = UNITS[settings.time_unit]
    T_now = summary.column("T").to_numpy().astype(float)
    # customers who had bought by the cutoff: first purchase more than `horizon` days ago
    early = [c for c, t in zip(_ids(summary), T_now, strict=True) if t * unit > horizon]
    history = History(con, as_of, _sample(early, MAX_CUSTOMERS), unit)
    snap = history.snapshot(cutoff)
    shortfall = history_shortfall(len(snap.ids), int((snap.x > 0).sum()), "a backtest")
    if shortfall:
        choice.reason = f"no backtest before {cutoff}: {shortfall}"
        return choice
    y = history.bought(snap.ids, cutoff, horizon)
    choice.customers, choice.repurchasers = len(y), int(y.sum())
    if min(choice.repurchasers, choice.customers - choice.repurchasers) < 20:
        choice.reason = (
            f"no backtest: {choice.repurchasers} of {choice.customers} customers bought in the "
            f"{horizon} days after {cutoff}; too few to tell the models apart"
        )
        return choice
    t = horizon / unit
    probs: dict[str, np.ndarray] = {}
    for name in BTYD:
        _, prob = _fit_btyd(name, snap, settings, t)
        if isinstance(prob, str):
            choice.not_candidates[name] = prob
        else:
            probs[name] = prob
    if settings.penalizer_coef == 0 and choice.customers < SMALL_SHOP:
        _choose_penalties(choice, snap, settings, t, y, probs)
    first_day = cutoff - dt.timedelta(days=math.ceil(float(snap.T.max()) * unit))
    learners, problems, choice.window_days = train_learners(history, cutoff, settings, first_day)
    choice.not_candidates.update(problems)
    for name, learner in learners.items():
        probs[name] = learner_probability(name, learner, snap, settings, probs)
    for name, prob in probs.items():
        choice.scores[name] = {
            "brier": float(((prob - y) ** 2).mean()),
            "auc": auc_score(y.astype(bool), prob),
        }
    ranked = sorted(choice.scores, key=lambda k: (choice.scores[k]["brier"], CANDIDATES.index(k)))
    if not ranked:
        choice.reason = "no candidate is usable on the shop's history"
        return choice
    btyd = [k for k in ranked if k in BTYD]
    choice.best_btyd = btyd[0] if btyd else ""
    if btyd:
        cheaper = cheapest_within_noise(btyd[0], probs, y)
        if cheaper != btyd[0]:
            d = (probs[cheaper] - y) ** 2 - (probs[btyd[0]] - y) ** 2
            choice.cheaper_within_noise = {
                "model": btyd[0],
                "brier_difference": float(d.mean()),
                "standard_error": paired_se(d),
            }
            choice.best_btyd = cheaper
            ranked.remove(cheaper)
            ranked.insert(ranked.index(btyd[0]), cheaper)
    choice.best = ranked[0]
    if len(ranked) > 1:
        choice.runner_up = ranked[1]
        choice.margin = choice.scores[ranked[1]]["brier"] - choice.scores[ranked[0]]["brier"]
    return choice


def paired_se(d: np.ndarray) -> float:
    """Standard error of the mean of per-customer differences (the two models scored on the
    same customers: their Brier scores' difference is this mean)."""
    return float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.inf


def cheapest_within_noise(best: str, probs: dict[str, np.ndarray], y: np.ndarray) -> str:
    """The first model of :data:`COST_ORDER` scored in ``probs`` whose Brier score exceeds
    ``best``'s by at most :data:`NOISE_SE` standard errors of the paired difference — the
    one-standard-error rule: a difference the backtest cannot tell from noise does not pay
    for a dearer model. ``best`` itself when no cheaper one is that close."""
    for name in COST_ORDER:
        if name == best:
            return best
        if name not in probs:
            continue
        d = (probs[name] - y) ** 2 - (probs[best] - y) ** 2
        if float(d.mean()) <= NOISE_SE * paired_se(d):
            return name
    return best


def learner_repurchase(
    con: ibis.BaseBackend,
    as_of: dt.date,
    settings: PredictionSettings,
    name: str,
    summary: pa.Table,
    btyd_models: dict[str, Any],
) -> np.ndarray:
    """The winning learner retrained up to ``as_of`` (on a sample of at most
    :data:`MAX_CUSTOMERS`) and applied to every customer of ``summary`` (the refresh's)."""
    unit = UNITS[settings.time_unit]
    snap = _Snapshot(
        _ids(summary),
        *(
            summary.column(c).to_numpy().astype(float)
            for c in ("frequency", "recency", "T", "monetary_value")
        ),
    )
    history = History(con, as_of, _sample(snap.ids, MAX_CUSTOMERS), unit)
    first_day = as_of - dt.timedelta(days=math.ceil(float(snap.T.max()) * unit))
    learners, problems, _ = train_learners(history, as_of, settings, first_day)
    if name not in learners:
        raise ConfigError(f"{name} cannot be trained up to {as_of}: {problems.get(name, '')}")
    t = settings.horizon_days / unit
    sample = history.snapshot(as_of)
    probs: dict[str, np.ndarray] = {}
    for k in HYBRID_INPUTS:
        model = btyd_models.get(k)
        if model is None:  # fitted on the sample: its parameters, everyone's probabilities
            model, _ = _fit_btyd(k, sample, settings, t)
        if model is not None:
            with np.errstate(all="ignore"):
                prob = 1 - np.asarray(
                    model.probability_no_purchase(t, snap.x, snap.tx, snap.T), dtype=float
                )
            probs[k] = np.clip(prob, 0.0, 1.0)
    return learner_probability(name, learners[name], snap, settings, probs)


def preferred_btyd(choice: Choice | None) -> str:
    return choice.best_btyd if choice is not None and choice.best_btyd else FALLBACK[1]


def preferred_penalty(choice: Choice | None, settings: PredictionSettings) -> float:
    """The penalty the backtest chose for the preferred model (a small shop with the default
    0), else the setting."""
    if choice is None or settings.penalizer_coef != 0:
        return settings.penalizer_coef
    return choice.penalties.get(preferred_btyd(choice), 0.0)
