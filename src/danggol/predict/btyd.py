"""Buy-till-you-die models, estimator style: ``BGNBD().fit(frequency, recency, T)``.

Each customer is summarised by ``frequency`` (x, the number of *repeat* purchases),
``recency`` (t_x, the time of the last purchase, from the first) and ``T`` (the time from the
first purchase to the end of the calibration period), all in one time unit (weeks for CDNOW).
:func:`danggol.predict.summary.rfm_summary` builds that table from the store.

Models (maximum likelihood over log-parameters with SLSQP and an exact gradient; identical
rows are aggregated into weights first and the terms that depend on x alone are evaluated once
per distinct x, so a million customers fit in well under a second; Pareto/NBD, whose
likelihood needs a 32-point integral per distinct row, takes longer — docs/benchmarks.md):

* :class:`BGNBD` — Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An
  Alternative to the Pareto/NBD Model", *Marketing Science* 24(2). Purchases Poisson(λ),
  λ ~ Gamma(r, α); after each purchase the customer drops out with probability p,
  p ~ Beta(a, b). Analytic gradient.
* :class:`MBGNBD` — Batislam, Denizel & Filiztekin (2007), the modified BG/NBD: a customer may
  also drop out at time zero, right after the first purchase. Analytic gradient.
* :class:`ParetoNBD` — Schmittlein, Morrison & Colombo (1987), "Counting Your Customers: Who
  Are They and What Will They Do Next?", *Management Science* 33(1); the likelihood of Fader &
  Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions", eq. (22),
  its hypergeometric term evaluated as the integral it stands for, by Gauss–Legendre in log
  space (:mod:`danggol.predict.pareto_integral`). Lifetimes exponential(μ), μ ~ Gamma(s, β).
  Exact gradient (the derivatives under the integral sign, by the same rule).
* :class:`GammaGamma` — Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis", *Journal of Marketing Research* 42(4): the mean value ``zbar`` of a
  repeat buyer's x transactions, z ~ Gamma(p, ν), ν ~ Gamma(q, γ). Analytic gradient.

Every log-likelihood is computed in log space (``gammaln``, ``betaln``, ``logaddexp``,
``log1p``), so a customer with hundreds of purchases neither overflows nor underflows.

>>> import numpy as np
>>> m = BGNBD().fit(np.array([0, 2, 5]), np.array([0.0, 20.0, 30.0]), np.array([38.0, 38.0, 38.0]))
>>> sorted(m.params_)
['a', 'alpha', 'b', 'r']
>>> bool(m.p_alive(0, 0.0, 38.0) == 1.0)
True
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from danggol.errors import ConfigError
from danggol.estimator import Param, int_in, number_in, one_of, optional, validate
from danggol.predict.pareto_integral import dropout_integral, log_dropout

FloatArray = NDArray[np.float64]

#: days in one time unit (``time_unit`` of :meth:`GammaGamma.clv` and ``rfm_summary``)
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}

#: distinct rows above which the fit starts from a fit on a strided sample of them
_WARM_ROWS = 10_000
_LOG_BOUND = 20.0  # log-parameters stay in [-20, 20]: e^20 ≈ 5e8 is beyond any real fit
#: a fitted log-parameter beyond ±RUNAWAY (a parameter above e^13 ≈ 4.4e5 or below 2.3e−6)
#: has run towards the bound: the likelihood has its optimum at infinity or zero (a limit the
#: formulas cannot evaluate, e.g. BG/NBD's a, b when every customer drops out alike) and the
#: optimiser stopped somewhere on a flat ridge, not at an optimum
RUNAWAY = 13.0


def _column(table: Any, name: str) -> FloatArray:
    """Column ``name`` of a pyarrow Table, a pandas DataFrame or a mapping, as float64."""
    try:
        col = table[name]
    except (KeyError, TypeError, IndexError):
        raise ConfigError(
            f"the summary table must have a column {name!r}; got columns "
            f"{list(getattr(table, 'column_names', None) or getattr(table, 'columns', []))}"
        ) from None
    if hasattr(col, "to_numpy") and not isinstance(col, np.ndarray):
        try:
            col = col.to_numpy(zero_copy_only=False)
        except TypeError:
            col = col.to_numpy()
    return np.asarray(col, dtype=np.float64)


def _as_array(name: str, value: ArrayLike) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be numbers; got {type(value).__name__}") from None
    if arr.ndim > 1:
        raise ConfigError(f"{name} must be one-dimensional; got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ConfigError(
            f"{name} must be finite numbers; got {float(arr[bad][0])!r} at row {int(np.argmax(bad))}"
        )
    return arr


def _first_bad(name: str, mask: NDArray[np.bool_], expected: str, values: FloatArray) -> None:
    if mask.any():
        i = int(np.argmax(mask))
        raise ConfigError(
            f"{name} must be {expected}; got {float(values[i])!r} at row {i} "
            f"({int(mask.sum())} bad row(s) in all)"
        )


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (frequency, recency, T) and broadcast them to one length.

    frequency: whole numbers ≥ 0; recency: 0 ≤ recency ≤ T, and 0 when frequency is 0;
    T > 0. Raises :class:`ConfigError` naming the first bad row.
    """
    x, tx, t = (
        _as_array(n, v) for n, v in (("frequency", frequency), ("recency", recency), ("T", T))
    )
    try:
        x, tx, t = np.broadcast_arrays(x, tx, t)
    except ValueError:
        raise ConfigError(
            f"frequency, recency and T must have the same length; got {x.size}, {tx.size}, {t.size}"
        ) from None
    _first_bad("frequency", (x < 0) | (x != np.floor(x)), "a whole number >= 0", x)
    _first_bad("recency", tx < 0, ">= 0", tx)
    _first_bad("T", t <= 0, "> 0 (time from the first purchase to the end of the period)", t)
    over = tx > t * (1 + 1e-12)
    if over.any():
        i = int(np.argmax(over))
        raise ConfigError(
            f"recency must be <= T (the last purchase cannot come after the end of the period); "
            f"got recency {float(tx[i])!r} > T {float(t[i])!r} at row {i}"
        )
    _first_bad(
        "recency",
        (x == 0) & (tx != 0),
        "0 for a customer without repeat purchases (frequency 0)",
        tx,
    )
    return x.astype(np.float64), np.minimum(tx, t).astype(np.float64), t.astype(np.float64)


def aggregate_rows(
    columns: tuple[FloatArray, ...], weights: FloatArray | None
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """Merge identical rows into one with a weight (the number of customers, or Σ weights).

    The rows come out sorted by the first column, then the second, … Each column gets
    integer codes (a whole-number column such as the frequency is its own code, others are
    ranked with ``np.unique``), the codes make one int64 key per row and a plain sort of the
    keys finds the groups: far faster than ``np.unique(axis=0)``. -0.0 and 0.0 are one value.
    """
    n = columns[0].size
    key = np.zeros(n, dtype=np.int64)
    decode: list[tuple[int, FloatArray | None]] = []
    for col in columns:
        col = col + 0.0  # -0.0 → 0.0
        low, high = (float(col.min()), float(col.max())) if n else (0.0, 0.0)
        if low >= 0 and high < 2**31 and bool((col == np.floor(col)).all()):
            size, codes, uniq = int(high) + 1, col.astype(np.int64), None
        else:
            # non-negative floats sort like their bit patterns, and int64 sorts faster
            ranked = col.view(np.int64) if low >= 0 else col
            found, inverse = np.unique(ranked, return_inverse=True)
            size, codes = max(found.size, 1), inverse.ravel()
            uniq = found.view(np.float64) if low >= 0 else found
        if key.max(initial=0) > (np.iinfo(np.int64).max - size) // size:
            return _aggregate_rows_slow(columns, weights)
        key = key * size + codes
        decode.append((size, uniq))
    ordered = np.sort(key)
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    keys = ordered[new]
    if weights is None:
        w = np.diff(np.append(np.flatnonzero(new), n)).astype(np.float64)
    else:
        w = np.bincount(np.searchsorted(keys, key), weights=weights, minlength=keys.size)
    out = []
    rest = keys
    for size, uniq in reversed(decode):
        rest, codes = np.divmod(rest, size)
        out.append(codes.astype(np.float64) if uniq is None else uniq[codes])
    return tuple(reversed(out)), w


def _aggregate_rows_slow(
    columns: tuple[FloatArray, ...], weights: FloatArray | None
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    stacked = np.column_stack(columns)
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    if weights is None:
        w = counts.astype(np.float64)
    else:
        w = np.bincount(inverse.ravel(), weights=weights, minlength=len(unique))
    return tuple(unique[:, j].copy() for j in range(unique.shape[1])), w


def _check_weights(weights: ArrayLike | None, n: int) -> FloatArray | None:
    if weights is None:
        return None
    w = np.broadcast_to(_as_array("weights", weights), (n,)).astype(np.float64)
    _first_bad("weights", w < 0, ">= 0 (how many customers a row stands for)", w)
    if w.sum() <= 0:
        raise ConfigError("weights must not all be 0: at least one customer is needed to fit")
    return w


def _pow_hyp2f1(A: FloatArray, B: FloatArray, C: FloatArray, z: FloatArray) -> FloatArray:
    """(1−z)^A · ₂F₁(A, B; C; z) for 0 ≤ z < 1, robustly.

    First through Euler's transformation, (1−z)^(C−B) · ₂F₁(C−A, C−B; C; z), whose arguments
    stay small for customers with hundreds of purchases; where that is not finite (a dropout
    model near its homogeneous limit, a and b in the millions) directly, in log space.
    """
    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, C, z)))
    with np.errstate(all="ignore"):
        value = (1 - z) ** (C - B) * hyp2f1(C - A, C - B, C, z)
        bad = ~np.isfinite(value)
        if bad.any():
            direct = np.exp(
                A[bad] * np.log1p(-z[bad]) + np.log(hyp2f1(A[bad], B[bad], C[bad], z[bad]))
            )
            value = np.array(value, dtype=float)
            value[bad] = direct
    return value


def _dot(a: FloatArray, b: FloatArray) -> float:
    """Σ a·b without BLAS: OpenBLAS's threaded ddot wakes worker threads that then spin and
    slow every numpy call after it on a busy 2-core machine (20× on the fit's objective)."""
    return float(np.einsum("i,i->", a, b))


def _by_x(
    x: FloatArray, w: FloatArray, *cols: FloatArray
) -> tuple[FloatArray, NDArray[np.intp], FloatArray, NDArray[np.intp], tuple[FloatArray, ...]]:
    """Rows sorted by x (stable; already sorted after aggregation): the distinct values u,
    the start of each run, the total weight W of each run, the index of each row's run,
    and x, w and ``cols`` in that order. Σ over a run is then ``np.add.reduceat(v, starts)``."""
    if x.size > 1 and bool((x[1:] < x[:-1]).any()):
        order = np.argsort(x, kind="stable")
        x, w, cols = x[order], w[order], tuple(c[order] for c in cols)
    new = np.empty(x.size, dtype=bool)
    new[:1] = True
    np.not_equal(x[1:], x[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    run = np.cumsum(new) - 1
    return x[starts], starts, np.add.reduceat(w, starts), run, (x, w, *cols)


class _MaximumLikelihood(ABC):
    """Shared machinery: parameter table, validation, aggregation, the optimiser over
    log-params."""

    _names: ClassVar[tuple[str, ...]]
    _parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            "tol",
            optional(number_in(0, 1e-2, low_open=True)),
            "None (the model's default) or a number in (0, 0.01]",
        ),
        Param("max_iter", int_in(10, math.inf), "an int in the range [10, inf)"),
        Param("aggregate", one_of(True, False), "True or False"),
        Param("penalizer_coef", number_in(0, math.inf), "a number >= 0 (0 = no penalty)"),
    )
    _default_tol: ClassVar[float] = 1e-10

    def __init__(
        self,
        *,
        tol: float | None = None,
        max_iter: int = 5000,
        aggregate: bool = True,
        penalizer_coef: float = 0.0,
    ) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.aggregate = aggregate
        self.penalizer_coef = penalizer_coef

    def get_params(self) -> dict[str, Any]:
        return {
            "tol": self.tol,
            "max_iter": self.max_iter,
            "aggregate": self.aggregate,
            "penalizer_coef": self.penalizer_coef,
        }

    def set_params(self, **params: Any) -> _MaximumLikelihood:
        """Change parameters (validated at the next fit); returns self."""
        known = self.get_params()
        for name, value in params.items():
            if name not in known:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {name!r}; it has {sorted(known)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- each model defines ---------------------------------------------------------------
    @abstractmethod
    def _loglik(self, params: FloatArray, data: tuple[FloatArray, ...]) -> FloatArray:
        """Per-row log-likelihood at ``params`` (natural scale, in ``_names`` order)."""

    @abstractmethod
    def _loglik_grad(
        self, params: FloatArray, data: tuple[FloatArray, ...]
    ) -> tuple[FloatArray, FloatArray]:
        """(per-row log-likelihood, per-row exact gradient w.r.t. params, shape (n, k))."""

    @abstractmethod
    def _prepared_objective(
        self, data: tuple[FloatArray, ...], w: FloatArray
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """θ ↦ (Σ w·ll, ∂/∂params) over the whole data: the sums of ``_loglik_grad``, with the
        terms that depend on x alone evaluated once per distinct x instead of once per row."""

    # -- fitting ---------------------------------------------------------------------------
    def _objective(
        self, w: FloatArray, prepared: Callable[[FloatArray], tuple[float, FloatArray]]
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """−(mean log-likelihood per customer) + penalizer_coef · Σ params² (lifetimes'
        ``penalizer_coef``: it pulls parameters that run away on a small shop back towards 0)
        and its gradient, over θ = log(params)."""
        total = float(w.sum())
        c = float(self.penalizer_coef)

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            params = np.exp(theta)
            ll, grad = prepared(params)
            value = -ll / total + c * float(np.sum(params**2))
            return value, (-grad / total + 2 * c * params) * params

        return objective

    def _warm_start(
        self,
        data: tuple[FloatArray, ...],
        w: FloatArray,
        theta0: FloatArray,
        bounds: list[tuple[float, float]],
        tol: float,
    ) -> FloatArray:
        """With more than ``_WARM_ROWS`` distinct rows, the optimiser starts from a fit on
        every k-th row (about ``_WARM_ROWS`` of them, weights × k): that fit is cheap and
        lands close to the optimum, so the full data needs a few iterations instead of
        dozens. The answer is the full data's optimum either way; theta0 if the small fit
        fails."""
        k = w.size // _WARM_ROWS
        if k < 2:
            return theta0
        sub, sub_w = tuple(col[::k] for col in data), w[::k] * k
        small = minimize(
            self._objective(sub_w, self._prepared_objective(sub, sub_w)),
            theta0,
            jac=True,
            method="SLSQP",
            bounds=bounds,
            options={"ftol": tol * 1e-2, "maxiter": self.max_iter},
        )
        return small.x if np.isfinite(small.fun) and np.isfinite(small.x).all() else theta0

    def _fit_data(self, data: tuple[FloatArray, ...], weights: FloatArray | None) -> None:
        validate(type(self).__name__, self._parameters, self.get_params())
        if self.aggregate:
            data, w = aggregate_rows(data, weights)
        else:
            w = np.ones(data[0].size) if weights is None else weights
        keep = w > 0
        data, w = tuple(col[keep] for col in data), w[keep]
        prepared = self._prepared_objective(data, w)
        tol = self._default_tol if self.tol is None else self.tol
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(self._names)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            theta0 = self._warm_start(data, w, np.zeros(len(self._names)), bounds, tol)
            # SLSQP (quasi-Newton SQP) with the exact gradient: fewer evaluations than
            # L-BFGS-B here, and measured on a busy 2-core machine, L-BFGS-B's iterations
            # woke OpenBLAS's worker threads, which then slowed the whole fit 5–10×
            # (gone with OPENBLAS_NUM_THREADS=1); SLSQP's did not. On Pareto/NBD too: CDNOW
            # 0.03 s against 0.42 s, the 100k demo shop 0.7 s against 1.6 s, same optimum.
            result = minimize(
                self._objective(w, prepared),
                theta0,
                jac=True,
                method="SLSQP",
                bounds=bounds,
                options={"ftol": tol * 1e-4, "maxiter": self.max_iter},
            )
            params = np.exp(result.x)
            ll = prepared(params)[0]  # the regrouped sums are also the more accurate ones
        if not np.isfinite(ll):
            raise ConfigError(
                f"{type(self).__name__} could not be fitted: the log-likelihood is {ll} at "
                f"{dict(zip(self._names, params.tolist(), strict=True))}; check the input"
            )
        self.params_ = dict(zip(self._names, params.tolist(), strict=True))
        self.log_likelihood_ = ll
        self.n_customers_ = float(w.sum())
        self.n_rows_ = int(w.size)
        self.at_bounds_ = [
            name
            for name, theta in zip(self._names, result.x.tolist(), strict=True)
            if abs(theta) >= RUNAWAY
        ]
        # an optimum at the bound is the optimiser stopping at a wall, not convergence
        self.converged_ = bool(result.success) and not self.at_bounds_
        self.n_iter_ = int(result.nit)
        self._theta = np.asarray(result.x, dtype=float)
        self._data, self._w = data, w

    def _fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise ConfigError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) before predicting"
            )
        return params


class _RFMModel(_MaximumLikelihood):
    """A model of (frequency, recency, T): the fit signature and the input checks."""

    def fit(
        self,
        frequency: ArrayLike | Any,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        *,
        weights: ArrayLike | None = None,
    ) -> _RFMModel:
        """Fit by maximum likelihood; returns self with ``params_``, ``log_likelihood_``,
        ``n_customers_`` (Σ weights), ``n_rows_`` (distinct rows fitted), ``converged_``.

        Either three arrays, or one summary table (pyarrow, pandas or a mapping) with columns
        ``frequency``, ``recency``, ``T`` (and ``weights`` as a keyword).
        """
        if recency is None and T is None:
            table = frequency
            frequency, recency, T = (_column(table, c) for c in ("frequency", "recency", "T"))
        elif recency is None or T is None:
            raise ConfigError(
                "fit takes frequency, recency and T (three arrays) or one summary table; "
                f"got recency={'None' if recency is None else 'given'}, "
                f"T={'None' if T is None else 'given'}"
            )
        x, tx, t = check_rfm(frequency, recency, T)
        self._fit_data((x, tx, t), _check_weights(weights, x.size))
        return self

    @staticmethod
    def _inputs(
        frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        return check_rfm(frequency, recency, T)

    def _param_vector(self) -> FloatArray:
        p = self._fitted()
        return np.array([p[k] for k in self._names], dtype=float)

    def probability_no_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """P(X(T, T+t) = 0 | x, t_x, T), exactly: no purchase in (T, T+t] is the same history
        seen over a longer window, so the probability is L(x, t_x, T+t) / L(x, t_x, T), the
        ratio of the model's own likelihoods (for every model here; for Pareto/NBD this
        replaces the Poisson approximation used until 2026-12)."""
        x, tx, T = self._inputs(frequency, recency, T)
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        x, tx, T, t_arr = np.broadcast_arrays(x, tx, T, t_arr)
        return _scalar_or_array(self.no_purchase_curve(x, tx, T)(t_arr))

    def no_purchase_curve(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[Any], FloatArray]:
        """t ↦ P(X(T, T+t) = 0 | x, t_x, T) for the given customers, with L(x, t_x, T)
        computed once (a search over t, as for the next order date, calls it many times)."""
        x, tx, T = self._inputs(frequency, recency, T)
        params = self._param_vector()
        now = self._loglik(params, (x, tx, T))

        def curve(t: Any) -> FloatArray:
            later = self._loglik(params, (x, tx, T + np.asarray(t, dtype=float)))
            return np.minimum(np.exp(later - now), 1.0)

        return curve

    def probability_of_purchases(
        self,
        t: ArrayLike,
        n: ArrayLike,
        frequency: ArrayLike | None = None,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
    ) -> Any:
        """P(X(t) = n): for a customer just acquired without a history, else
        P(X(T, T+t) = n | x, t_x, T) for each customer.

        Given a history, a customer who is alive at T has the posterior of a new customer with
        updated parameters (BG/NBD: r+x, α+T, a, b+x; MBG/NBD: b+x+1; Pareto/NBD: r+x, α+T,
        s, β+T), and a customer who is gone buys nothing, so the conditional probability is
        P(alive) · P_new(X(t) = n | updated) + (1 − P(alive)) · 1{n = 0}."""
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        n_arr = _as_array("n", n)
        _first_bad("n", (n_arr < 0) | (n_arr != np.floor(n_arr)), "a whole number >= 0", n_arr)
        if frequency is None and recency is None and T is None:
            return _scalar_or_array(self._new_pmf(n_arr, t_arr, *self._param_vector()))
        if frequency is None or recency is None or T is None:
            raise ConfigError(
                "give frequency, recency and T together (or none, for a new customer)"
            )
        x, tx, T_arr = self._inputs(frequency, recency, T)
        alive = np.asarray(self.p_alive(x, tx, T_arr), dtype=float)
        future = self._future_pmf(n_arr, t_arr, x, T_arr)
        return _scalar_or_array(alive * future + (1 - alive) * (n_arr == 0))

    @abstractmethod
    def _new_pmf(self, n: FloatArray, t: FloatArray, *params: Any) -> FloatArray:
        """P(X(t) = n) for a new customer, from the model's parameters."""

    @abstractmethod
    def _future_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """P(X(T, T + t] = n) for a customer alive at T with x purchases."""


def _log_nbd(n: FloatArray, t: FloatArray, r: Any, alpha: Any) -> FloatArray:
    """log P(N(t) = n) of a Poisson count with rate ~ Gamma(r, α): the negative binomial
    Γ(r+n)/(Γ(r) n!) (α/(α+t))^r (t/(α+t))^n."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (
            gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1)
            + r * (np.log(alpha) - np.log(alpha + t))
            + np.where(n > 0, n * (np.log(t) - np.log(alpha + t)), 0.0)
        )
    return np.where((t == 0) & (n > 0), -np.inf, value)


def _nbd_below(n: FloatArray, t: FloatArray, r: Any, alpha: Any) -> FloatArray:
    """P(N(t) < n) = Σ_{j<n} NBD(j) = I_{α/(α+t)}(r, n), the regularised incomplete beta
    (0 for n = 0)."""
    q = alpha / (alpha + t)
    return np.where(n > 0, betainc(r, np.maximum(n, 1.0), q), 0.0)


def _bg_new_pmf(n: FloatArray, t: FloatArray, r: Any, alpha: Any, a: Any, b: Any) -> FloatArray:
    """BG/NBD P(X(t) = n) for a new customer (Fader, Hardie & Lee 2005, eq. (8)):
    B(a, b+n)/B(a, b) · NBD(n) + 1{n>0} · B(a+1, b+n−1)/B(a, b) · (1 − Σ_{j<n} NBD(j))."""
    n1 = np.maximum(n, 1.0)
    first = np.exp(betaln(a, b + n) - betaln(a, b) + _log_nbd(n, t, r, alpha))
    second = np.exp(betaln(a + 1, b + n1 - 1) - betaln(a, b)) * (1 - _nbd_below(n, t, r, alpha))
    return first + np.where(n > 0, second, 0.0)


def _scalar_or_array(value: FloatArray) -> Any:
    return value if value.size != 1 else value.reshape(())


# ------------------------------------------------------------------------------------------
# BG/NBD and MBG/NBD
# ------------------------------------------------------------------------------------------


class BGNBD(_RFMModel):
    """The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

    Likelihood of one customer (x repeat purchases, last at t_x, observed for T), eq. (6):

        L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
            + 1{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    computed as ``logaddexp`` of the two log terms. Parameters: ``params_ = {r, alpha, a, b}``.
    On the CDNOW sample: r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
    """

    _names = ("r", "alpha", "a", "b")
    #: MBG/NBD shifts the Beta arguments by one and drops the 1{x>0} (death at time zero)
    _modified: ClassVar[bool] = False

    def _terms(
        self, params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        r, alpha, a, b = params
        k = 1.0 if self._modified else 0.0
        has2 = np.ones_like(x, dtype=bool) if self._modified else x > 0
        x2 = np.where(has2, x, 1.0)  # keeps b+x−1 > 0 where the second term is absent
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        t1 = betaln(a, b + x + k) - (r + x) * np.log(alpha + T)
        t2 = betaln(a + 1, b + x2 - 1 + k) - (r + x) * np.log(alpha + tx)
        t2 = np.where(has2, t2, -np.inf)
        return common, t1, t2, x2

    def _loglik(self, params: FloatArray, data: tuple[FloatArray, ...]) -> FloatArray:
        x, tx, T = data
        common, t1, t2, _ = self._terms(params, x, tx, T)
        return common + np.logaddexp(t1, t2)

    def _loglik_grad(
        self, params: FloatArray, data: tuple[FloatArray, ...]
    ) -> tuple[FloatArray, FloatArray]:
        x, tx, T = data
        r, alpha, a, b = params
        k = 1.0 if self._modified else 0.0
        common, t1, t2, x2 = self._terms(params, x, tx, T)
        both = np.logaddexp(t1, t2)
        w1 = np.exp(t1 - both)
        w2 = np.exp(t2 - both)  # 0 where the second term is absent
        dr = (
            digamma(r + x)
            - digamma(r)
            + np.log(alpha)
            - w1 * np.log(alpha + T)
            - w2 * np.log(alpha + tx)
        )
        dalpha = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + tx))
        dab = digamma(a + b)
        # d/da, d/db of betaln(a, b+x+k) − betaln(a, b) and of betaln(a+1, b+x−1+k) − betaln(a, b)
        da1 = dab - digamma(a + b + x + k)
        db1 = digamma(b + x + k) - digamma(a + b + x + k) - digamma(b) + dab
        da2 = digamma(a + 1) - digamma(a + b + x2 + k) - digamma(a) + dab
        db2 = digamma(b + x2 - 1 + k) - digamma(a + b + x2 + k) - digamma(b) + dab
        da = w1 * da1 + w2 * da2
        db = w1 * db1 + w2 * db2
        return common + both, np.column_stack([dr, dalpha, da, db])

    def _prepared_objective(
        self, data: tuple[FloatArray, ...], w: FloatArray
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """Σ w·ll and its gradient, the sums of ``_loglik_grad`` regrouped:

            ll = C(x) + B₁(x) − (r+x)·log(α+T) + softplus(d),
            d  = B₂(x) − B₁(x) + (r+x)·(log(α+T) − log(α+t_x))     (−inf without term 2)

        with C = log Γ(r+x) − log Γ(r) + r log α, B₁ = log B(a, b+x+k) − log B(a, b) and
        B₂ = log B(a+1, b+x−1+k) − log B(a, b). Everything that depends on x alone is
        evaluated once per distinct x, and since x is a whole number, as running sums over
        j = 0, 1, …: log Γ(c+n) − log Γ(c) = Σ_{j<n} log(c+j), ψ(c+n) − ψ(c) = Σ_{j<n} 1/(c+j)
        and B(a, b+n)/B(a, b) = Π_{j<n} (b+j)/(a+b+j) — exact where the differences of
        ``betaln`` and ``digamma`` lose digits (a and b in the millions, as when the dropout
        probability hardly varies between customers). Per row there are two logs, one exp,
        one log1p and a few products; the gradient's x-parts are run sums of w·P(term 2)
        (``np.add.reduceat`` over the rows sorted by x).
        """
        u, starts, W, run, (x, w, tx, T) = _by_x(*data[:1], w, *data[1:])
        k = 1 if self._modified else 0
        has2_u = np.ones(u.size, dtype=bool) if self._modified else u > 0
        n = u.astype(np.int64)
        n2 = np.where(has2_u, n, 1)
        j = np.arange(int(n.max(initial=0)) + k + 1, dtype=np.float64)
        wx = w * x
        W_all = float(W.sum())
        zero = np.zeros(u.size)
        buf = np.empty((7, x.size))

        def running(v: FloatArray) -> FloatArray:
            """S[n] = Σ_{j<n} v[j]."""
            out = np.empty(v.size + 1)
            out[0] = 0.0
            np.cumsum(v, out=out[1:])
            return out

        def objective(params: FloatArray) -> tuple[float, FloatArray]:
            r, alpha, a, b = (float(v) for v in params)
            log_alpha = math.log(alpha)
            ratio = running(-np.log1p(a / (b + j)))  # log Π (b+j)/(a+b+j)
            inv_ab = running(1.0 / (a + b + j))
            gap = running(a / ((b + j) * (a + b + j)))  # Σ 1/(b+j) − 1/(a+b+j)
            b1 = ratio[n + k]
            last = a + b + n2 + k - 1  # a+b+x−1+k
            b2 = np.where(has2_u, math.log(a) - np.log(last) + ratio[n2 - 1 + k], -np.inf)
            head = running(np.log(r + j))[n] + r * log_alpha + b1
            da1 = -inv_ab[n + k]
            db1 = gap[n + k]
            da2 = np.where(has2_u, 1.0 / a - inv_ab[n2 + k] - da1, zero)
            db2 = np.where(has2_u, gap[n2 - 1 + k] - 1.0 / last - db1, zero)
            # per row (in place: each line is one pass over the rows)
            aT = np.add(T, alpha, out=buf[0])
            lT = np.log(aT, out=buf[1])
            iT = np.reciprocal(aT, out=buf[0])
            atx = np.add(tx, alpha, out=buf[2])
            delta = np.log(atx, out=buf[3])
            np.subtract(lT, delta, out=delta)  # log(α+T) − log(α+t_x)
            itx = np.reciprocal(atx, out=buf[2])
            d = np.add(x, r, out=buf[4])
            np.multiply(d, delta, out=d)
            d += (b2 - b1)[run]
            e = np.abs(d, out=buf[5])
            np.negative(e, out=e)
            np.exp(e, out=e)
            np.log1p(e, out=e)
            softplus = np.maximum(d, 0.0, out=buf[6])
            softplus += e  # softplus(d) = max(d, 0) + log1p(exp(−|d|))
            p2 = np.subtract(d, softplus, out=d)
            np.exp(p2, out=p2)  # P(term 2) = expit(d) = exp(d − softplus(d))
            w_lT = _dot(w, lT)
            ll = _dot(W, head) - r * w_lT - _dot(wx, lT) + _dot(w, softplus)
            wp2 = np.multiply(w, p2, out=buf[5])
            V = np.add.reduceat(wp2, starts)
            dr = _dot(W, running(1.0 / (r + j))[n]) + W_all * log_alpha - w_lT + _dot(wp2, delta)
            np.subtract(itx, iT, out=itx)
            np.multiply(p2, itx, out=p2)
            weighted = np.add(iT, p2, out=p2)  # (1 − P₂)/(α+T) + P₂/(α+t_x)
            dalpha = r / alpha * W_all - r * _dot(w, weighted) - _dot(wx, weighted)
            da = _dot(W, da1) + _dot(V, da2)
            db = _dot(W, db1) + _dot(V, db2)
            return ll, np.array([dr, dalpha, da, db])

        return objective

    def _log_death_odds(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """log of a/(b+x−1) · ((α+T)/(α+t_x))^(r+x) (BG/NBD; −inf when x = 0)."""
        p = self._fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        x2 = np.where(x > 0, x, 1.0)
        odds = np.log(a) - np.log(b + x2 - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.where(x > 0, odds, -np.inf)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) = 1 / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
        (FHL 2005, eq. (11) of the technical note); exactly 1 when x = 0."""
        x, tx, T = self._inputs(frequency, recency, T)
        return _scalar_or_array(expit(-self._log_death_odds(x, tx, T)))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[X(T, T+t) | x, t_x, T], the expected purchases in the next t periods (FHL 2005,
        eq. (10)):

            (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
            / (1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

        The bracket is evaluated through Euler's transformation, with z = t/(α+T+t):
        (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) = (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z),
        whose arguments stay small for customers with hundreds of purchases.
        """
        x, tx, T = self._inputs(frequency, recency, T)
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        p = self._fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        z = t_arr / (alpha + T + t_arr)
        bracket = 1 - _pow_hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1)
        return _scalar_or_array(head * bracket * expit(-self._log_death_odds(x, tx, T)))

    def expected_purchases_new_customer(self, t: ArrayLike) -> Any:
        """E[X(t)] for a customer just acquired (FHL 2005, eq. (9)):
        (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]."""
        p = self._fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        t_arr = _as_array("t", t)
        z = t_arr / (alpha + t_arr)
        value = (a + b - 1) / (a - 1) * (1 - _pow_hyp2f1(r, b, a + b - 1, z))
        return _scalar_or_array(value)

    def _new_pmf(self, n: FloatArray, t: FloatArray, *params: Any) -> FloatArray:
        return _bg_new_pmf(n, t, *params)

    def _future_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = self._param_vector()
        k = 1.0 if self._modified else 0.0
        return _bg_new_pmf(n, t, r + x, alpha + T, a, b + x + k)

    def probability_no_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """P(X(T, T+t) = 0 | x, t_x, T) = 1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^(r+x): a
        customer drops out only right after a purchase, so one alive at T stays alive until
        the next purchase (the likelihood ratio of the base class, in closed form)."""
        x, tx, T = self._inputs(frequency, recency, T)
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        return _scalar_or_array(self.no_purchase_curve(x, tx, T)(t_arr))

    def no_purchase_curve(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[Any], FloatArray]:
        x, tx, T = self._inputs(frequency, recency, T)
        p = self._fitted()
        alive = expit(-self._log_death_odds(x, tx, T))

        def curve(t: Any) -> FloatArray:
            ratio = (p["alpha"] + T) / (p["alpha"] + T + np.asarray(t, dtype=float))
            return 1 - alive * (1 - np.exp((p["r"] + x) * np.log(ratio)))

        return curve


class MBGNBD(BGNBD):
    """The modified BG/NBD (Batislam, Denizel & Filiztekin 2007): a customer may also drop out
    right after the first purchase, so one-time buyers are not all alive.

        L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
            + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    On the CDNOW sample: r = 0.525, α = 6.183, a = 0.891, b = 1.614.
    """

    _modified = True

    def _log_death_odds(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """log of a/(b+x) · ((α+T)/(α+t_x))^(r+x)."""
        p = self._fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        return np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))."""
        x, tx, T = self._inputs(frequency, recency, T)
        return _scalar_or_array(expit(-self._log_death_odds(x, tx, T)))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[X(T, T+t) | x, t_x, T] =
        (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; z)] · P(alive),
        z = t/(α+T+t); by Euler, (1−z)^(r+x) ₂F₁(…) = (1−z)^(a−1) ₂F₁(a+b−r, a−1; a+b+x; z).
        """
        x, tx, T = self._inputs(frequency, recency, T)
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        p = self._fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        z = t_arr / (alpha + T + t_arr)
        bracket = 1 - _pow_hyp2f1(r + x, b + x + 1, a + b + x, z)
        head = (a + b + x) / (a - 1)
        return _scalar_or_array(head * bracket * expit(-self._log_death_odds(x, tx, T)))

    def expected_purchases_new_customer(self, t: ArrayLike) -> Any:
        """E[X(t)] for a customer just acquired. Given p, a customer drops out at time zero
        with probability p and otherwise follows BG/NBD, so E[X(t) | λ, p] = (1−p) ·
        (1 − e^(−λpt))/p; averaging (1−p)·g(p) over Beta(a, b) is b/(a+b) times averaging g
        over Beta(a, b+1), hence b/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b+1; a+b; t/(α+t))]."""
        p = self._fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        t_arr = _as_array("t", t)
        z = t_arr / (alpha + t_arr)
        return _scalar_or_array(b / (a - 1) * (1 - _pow_hyp2f1(r, b + 1, a + b, z)))

    def _new_pmf(self, n: FloatArray, t: FloatArray, *params: Any) -> FloatArray:
        """P(X(t) = n) for a new customer: alive through n purchases, (1−p)^(n+1), with n
        purchases; or dropped out right after the n-th (at time zero when n = 0), p(1−p)^n,
        with at least n purchases' time:
        B(a, b+n+1)/B(a, b) · NBD(n) + B(a+1, b+n)/B(a, b) · (1 − Σ_{j<n} NBD(j))."""
        r, alpha, a, b = params
        first = np.exp(betaln(a, b + n + 1) - betaln(a, b) + _log_nbd(n, t, r, alpha))
        second = np.exp(betaln(a + 1, b + n) - betaln(a, b)) * (1 - _nbd_below(n, t, r, alpha))
        return first + second


# ------------------------------------------------------------------------------------------
# Pareto/NBD
# ------------------------------------------------------------------------------------------


class ParetoNBD(_RFMModel):
    """The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the form of Fader &
    Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions", eq. (22):

        L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀ ]

    where s/(r+s+x) · A₀ = s·I, I = ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy, the integral their
    Gaussian-hypergeometric A₀ evaluates. I and its derivatives come from one Gauss–Legendre
    rule in log space (:mod:`danggol.predict.pareto_integral`): the exact gradient (the
    derivatives under the integral sign), the log-likelihood within ~1e−13 of the
    hypergeometric form on ordinary rows, finite for customers with hundreds of purchases. Parameters: ``params_ = {r, alpha, s, beta}``. The likelihood is
    very flat in β, so the default tolerance is tighter than BG/NBD's. On the CDNOW sample:
    r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0.
    """

    _names = ("r", "alpha", "s", "beta")
    _default_tol = 1e-12

    @staticmethod
    def _bracket(
        params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per row, log L − log Γ(r+x) + log Γ(r), and its gradient w.r.t. (r, α, s, β)
        without the ψ(r+x) − ψ(r) of ∂/∂r (the terms in x alone are summed per distinct x).

        With P(alive) = (α+T)^−(r+x) (β+T)^−s / [...] and P(gone) = s·I / [...] (the bracket
        of the likelihood), and E[·] the means under the integrand of I:

            value = −r log(1+T/α) − s log(1+T/β) − x log(α+T) + log(1 + s·I·(α+T)^(r+x) (β+T)^s)
            ∂/∂r  = −P(alive) log(1+T/α) − P(gone) E[log(1+y/α)]
            ∂/∂α  = r/α · (P(alive) T/(α+T) + P(gone) E[y/(α+y)])
                    − x · (P(alive)/(α+T) + P(gone) E[1/(α+y)])
            ∂/∂s  = −P(alive) log(1+T/β) + P(gone) (1/s − E[log(1+y/β)])
            ∂/∂β  = s/β · (P(alive) T/(β+T) + P(gone) E[y/(β+y)]) − P(gone) E[1/(β+y)]

        (the log α and log(α+T) of the paper's form combined, so nothing cancels)."""
        r, alpha, s, beta = (float(v) for v in params)
        d = dropout_integral(r, alpha, s, beta, x, tx, T)
        log_aT = np.log(alpha + T)
        grow_a = np.log1p(T / alpha)
        grow_b = np.log1p(T / beta)
        odds = d.log_gone + (r + x) * log_aT + s * np.log(beta + T)  # log(P(gone)/P(alive))
        p_alive = expit(-odds)
        p_gone = expit(odds)
        value = -r * grow_a - s * grow_b - x * log_aT + np.logaddexp(0.0, odds)
        dr = -p_alive * grow_a - p_gone * d.log_a
        dalpha = r / alpha * (p_alive * T / (alpha + T) + p_gone * d.share_a) - x * (
            p_alive / (alpha + T) + p_gone * d.inv_a
        )
        ds = -p_alive * grow_b + p_gone * (1 / s - d.log_b)
        dbeta = s / beta * (p_alive * T / (beta + T) + p_gone * d.share_b) - p_gone * d.inv_b
        return value, np.column_stack([dr, dalpha, ds, dbeta])

    def _loglik(self, params: FloatArray, data: tuple[FloatArray, ...]) -> FloatArray:
        return self._loglik_grad(params, data)[0]

    def _loglik_grad(
        self, params: FloatArray, data: tuple[FloatArray, ...]
    ) -> tuple[FloatArray, FloatArray]:
        x, tx, T = data
        r = float(params[0])
        value, grad = self._bracket(params, x, tx, T)
        grad[:, 0] += digamma(r + x) - digamma(r)
        return gammaln(r + x) - gammaln(r) + value, grad

    def _prepared_objective(
        self, data: tuple[FloatArray, ...], w: FloatArray
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """Σ w·ll and its gradient: log Γ(r+x) − log Γ(r) and ψ(r+x) − ψ(r) once per distinct
        x, the rest per row (:meth:`_bracket`)."""
        u, _, W, _, (x, w, tx, T) = _by_x(data[0], w, *data[1:])

        def objective(params: FloatArray) -> tuple[float, FloatArray]:
            r = float(params[0])
            value, grad = self._bracket(params, x, tx, T)
            ll = _dot(W, gammaln(r + u) - gammaln(r)) + _dot(w, value)
            total = np.einsum("i,ij->j", w, grad)
            total[0] += _dot(W, digamma(r + u) - digamma(r))
            return ll, total

        return objective

    def _log_death_odds(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        """log(s·I · (α+T)^(r+x) (β+T)^s), the log odds of having dropped out."""
        p = self._fitted()
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        return (
            log_dropout(r, alpha, s, beta, x, tx, T)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
        )

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀)
        (Fader & Hardie 2005, eq. (24)), with s/(r+s+x) · A₀ = s·I."""
        x, tx, T = self._inputs(frequency, recency, T)
        return _scalar_or_array(expit(-self._log_death_odds(x, tx, T)))

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[X(T, T+t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)]
        · P(alive | x, t_x, T) (Fader & Hardie 2005, eq. (27); the s → 1 limit is
        (r+x)/(α+T) · (β+T) · log((β+T+t)/(β+T)))."""
        x, tx, T = self._inputs(frequency, recency, T)
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        p = self._fitted()
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        log_ratio = np.log1p(t_arr / (beta + T))  # log((β+T+t)/(β+T))
        if abs(s - 1) < 1e-10:
            growth = (beta + T) * log_ratio
        else:
            growth = (beta + T) * -np.expm1(-(s - 1) * log_ratio) / (s - 1)
        value = (r + x) / (alpha + T) * growth * expit(-self._log_death_odds(x, tx, T))
        return _scalar_or_array(value)

    def expected_purchases_new_customer(self, t: ArrayLike) -> Any:
        """E[X(t)] for a customer just acquired (Fader & Hardie 2005, eq. (17)):
        rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)]; the s → 1 limit is rβ/α · log(1 + t/β)."""
        p = self._fitted()
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        t_arr = _as_array("t", t)
        _first_bad("t", t_arr < 0, ">= 0 (periods ahead)", t_arr)
        log_ratio = np.log1p(t_arr / beta)
        if abs(s - 1) < 1e-10:
            return _scalar_or_array(r * beta / alpha * log_ratio)
        return _scalar_or_array(r * beta / alpha * -np.expm1(-(s - 1) * log_ratio) / (s - 1))

    def _new_pmf(self, n: FloatArray, t: FloatArray, *params: Any) -> FloatArray:
        return _pareto_new_pmf(n, t, *params)

    def _future_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, s, beta = self._param_vector()
        return _pareto_new_pmf(n, t, r + x, alpha + T, s, beta + T)


_PMF_T, _PMF_W = np.polynomial.legendre.leggauss(64)


def _pareto_new_pmf(
    n: FloatArray, t: FloatArray, r: Any, alpha: Any, s: Any, beta: Any
) -> FloatArray:
    """Pareto/NBD P(X(t) = n) for a new customer. Alive through t (probability
    (β/(β+t))^s after mixing μ) with an NBD count over t, or gone at τ < t (density
    s β^s (β+τ)^−(s+1)) with an NBD count over τ:

        NBD(n; t) · (β/(β+t))^s + ∫_0^t s β^s (β+τ)^−(s+1) NBD(n; τ) dτ,

    the integral by 64-point Gauss–Legendre in u = log(c+τ), c = min(α, β), so the rule
    follows the faster of the two decays."""
    n, t, r, alpha, s, beta = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (n, t, r, alpha, s, beta))
    )
    alive = np.exp(_log_nbd(n, t, r, alpha) + s * (np.log(beta) - np.log(beta + t)))
    c = np.minimum(alpha, beta)
    lo, hi = np.log(c), np.log(c + t)
    u = (hi - lo)[..., None] / 2 * _PMF_T + (hi + lo)[..., None] / 2
    tau = np.maximum(np.exp(u) - c[..., None], 0.0)
    n_, r_, alpha_, s_, beta_ = (v[..., None] for v in (n, r, alpha, s, beta))
    log_f = (
        np.log(s_)
        + s_ * np.log(beta_)
        - (s_ + 1) * np.log(beta_ + tau)
        + _log_nbd(n_, tau, r_, alpha_)
        + u  # dτ = (c+τ) du
    )
    gone = (hi - lo) / 2 * np.einsum("...k,k->...", np.exp(log_f), _PMF_W)
    return alive + gone


# ------------------------------------------------------------------------------------------
# Gamma-Gamma spend model
# ------------------------------------------------------------------------------------------


class GammaGamma(_MaximumLikelihood):
    """The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value
    Curves for Customer Base Analysis", and Fader & Hardie's note "The Gamma-Gamma Model of
    Monetary Value"): the mean value zbar of a repeat buyer's x transactions has density

        f(zbar | p, q, γ; x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) zbar^(px−1) / (γ + x·zbar)^(px+q)

    Fitted on the repeat buyers only (rows with frequency 0 are left out). Parameters:
    ``params_ = {p, q, gamma}``. On the CDNOW sample (946 repeat buyers): p = 6.25, q = 3.74,
    γ = 15.44. Spend is assumed independent of the purchase process.
    """

    _names = ("p", "q", "gamma")

    def fit(
        self,
        frequency: ArrayLike | Any,
        monetary_value: ArrayLike | None = None,
        *,
        weights: ArrayLike | None = None,
    ) -> GammaGamma:
        """Fit on (frequency, monetary_value) or a summary table with those columns; rows with
        frequency 0 are dropped, ``n_customers_`` counts the repeat buyers fitted."""
        if monetary_value is None:
            table = frequency
            frequency, monetary_value = (_column(table, c) for c in ("frequency", "monetary_value"))
        x = _as_array("frequency", frequency)
        m = _as_array("monetary_value", monetary_value)
        if x.size != m.size:
            raise ConfigError(
                f"frequency and monetary_value must have the same length; got {x.size} and {m.size}"
            )
        _first_bad("frequency", (x < 0) | (x != np.floor(x)), "a whole number >= 0", x)
        w = _check_weights(weights, x.size)
        repeat = x > 0
        _first_bad(
            "monetary_value",
            repeat & (m <= 0),
            "> 0 for a repeat buyer (the mean value of the repeat purchases)",
            m,
        )
        if not repeat.any():
            raise ConfigError("GammaGamma needs repeat buyers (frequency > 0) to fit; got none")
        self._fit_data((x[repeat], m[repeat]), None if w is None else w[repeat])
        return self

    def _loglik(self, params: FloatArray, data: tuple[FloatArray, ...]) -> FloatArray:
        x, zbar = data
        p, q, g = params
        return (
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(g)
            + p * x * np.log(x)
            + (p * x - 1) * np.log(zbar)
            - (p * x + q) * np.log(g + x * zbar)
        )

    def _loglik_grad(
        self, params: FloatArray, data: tuple[FloatArray, ...]
    ) -> tuple[FloatArray, FloatArray]:
        x, zbar = data
        p, q, g = params
        psi = digamma(p * x + q)
        log_gxz = np.log(g + x * zbar)
        dp = x * (psi - digamma(p * x) + np.log(x) + np.log(zbar) - log_gxz)
        dq = psi - digamma(q) + np.log(g) - log_gxz
        dg = q / g - (p * x + q) / (g + x * zbar)
        return self._loglik(params, data), np.column_stack([dp, dq, dg])

    def _prepared_objective(
        self, data: tuple[FloatArray, ...], w: FloatArray
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """Σ w·ll and its gradient regrouped: the gamma and digamma terms depend on x alone
        (once per distinct x), Σ w·x·log x and Σ w·log zbar are constants, and per row only
        L = log(γ + x·zbar) and 1/(γ + x·zbar) are computed:

            Σ ll = Σₓ W [log Γ(px+q) − log Γ(px) + px log x] − W log Γ(q) + W q log γ
                   + p Σ w x log zbar − Σ w log zbar − p Σ w x L − q Σ w L
        """
        u, _, W, _, (x, w, zbar) = _by_x(data[0], w, data[1])
        log_u = np.log(u)
        W_all = float(W.sum())
        wx = w * x
        xz = x * zbar
        log_z = np.log(zbar)
        s_wxlogz = _dot(wx, log_z)
        s_wlogz = _dot(w, log_z)
        buf = np.empty((2, x.size))

        def objective(params: FloatArray) -> tuple[float, FloatArray]:
            p, q, g = (float(v) for v in params)
            pu = p * u
            psi = digamma(pu + q)
            gxz = np.add(xz, g, out=buf[0])
            L = np.log(gxz, out=buf[1])
            inv = np.reciprocal(gxz, out=buf[0])
            s_wxL = _dot(wx, L)
            s_wL = _dot(w, L)
            ll = (
                _dot(W, gammaln(pu + q) - gammaln(pu) + pu * log_u)
                - W_all * float(gammaln(q))
                + W_all * q * math.log(g)
                + p * s_wxlogz
                - s_wlogz
                - p * s_wxL
                - q * s_wL
            )
            dp = _dot(W, u * (psi - digamma(pu) + log_u)) + s_wxlogz - s_wxL
            dq = _dot(W, psi) - W_all * float(digamma(q)) + W_all * math.log(g) - s_wL
            dg = W_all * q / g - p * _dot(wx, inv) - q * _dot(w, inv)
            return ll, np.array([dp, dq, dg])

        return objective

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> Any:
        """E[M | x, zbar] = (γ + x·zbar) · p / (p·x + q − 1), the conditional expected mean
        transaction value; for x = 0 the population mean p·γ/(q−1) (FHL 2005, eq. (5))."""
        par = self._fitted()
        p, q, g = par["p"], par["q"], par["gamma"]
        x = _as_array("frequency", frequency)
        m = _as_array("monetary_value", monetary_value)
        _first_bad("frequency", x < 0, ">= 0", x)
        m = np.where(x > 0, m, 0.0)
        return _scalar_or_array((g + x * m) * p / (p * x + q - 1))

    def clv(
        self,
        model: BGNBD | ParetoNBD,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        *,
        horizon: int,
        discount_rate: float,
        time_unit: str,
        period: str = "month",
    ) -> Any:
        """Discounted customer lifetime value over ``horizon`` periods.

            CLV = Σ_{i=1..horizon} E[M] · (E[X(T, T+τᵢ)] − E[X(T, T+τᵢ₋₁)]) / (1+d)^i

        where τᵢ is the end of the i-th ``period`` ("day", "week", "month" = 365.25/12 days,
        "year") expressed in ``time_unit``, the unit of frequency/recency/T the ``model`` was
        fitted in; d = ``discount_rate`` per period (e.g. 0.01 a month); E[M] from
        :meth:`expected_spend`. Purchases in period i are discounted at the end of period i.
        """
        for name, value in (("time_unit", time_unit), ("period", period)):
            if value not in DAYS_PER_UNIT:
                raise ConfigError(f"{name} must be one of {sorted(DAYS_PER_UNIT)}; got {value!r}")
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ConfigError(f"horizon must be an int >= 1 (periods ahead); got {horizon!r}")
        if not (isinstance(discount_rate, int | float) and 0 <= discount_rate < 1):
            raise ConfigError(
                f"discount_rate must be a number in [0, 1) per period; got {discount_rate!r}"
            )
        spend = np.asarray(self.expected_spend(frequency, monetary_value))
        step = DAYS_PER_UNIT[period] / DAYS_PER_UNIT[time_unit]
        total = np.zeros(np.broadcast(spend, np.asarray(T, dtype=float)).shape)
        before = 0.0
        for i in range(1, horizon + 1):
            upto = np.asarray(model.expected_purchases(i * step, frequency, recency, T))
            total = total + spend * (upto - before) / (1 + discount_rate) ** i
            before = upto
        return _scalar_or_array(np.asarray(total, dtype=np.float64))
