"""The base of every maximum-likelihood model here, on the estimator base of the package
(:class:`danggol.estimator.Estimator`: ``get_params``, ``set_params``, ``repr``, validation
from the ``_parameters`` table).

:class:`MaximumLikelihood` fits over log-parameters with SLSQP and the model's exact gradient,
after merging identical rows into weights (a million customers fit in well under a second;
docs/benchmarks.md). :class:`RFMModel` adds what the models of (frequency, recency, T) share:
the fit signature, the input checks, P(no purchase in t) as a ratio of the model's own
likelihoods, and P(X(t) = n). The shared numerics (the negative binomial count, a robust
(1−z)^A ₂F₁) sit here too.

Every log-likelihood is computed in log space (``gammaln``, ``betaln``, ``logaddexp``,
``log1p``), so a customer with hundreds of purchases neither overflows nor underflows.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betainc, gammaln, hyp2f1

from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in, number_in, one_of, optional
from danggol.predict.models.inputs import (
    FloatArray,
    _as_array,
    _check_weights,
    _column,
    _first_bad,
    aggregate_rows,
    check_rfm,
)

#: days in one time unit (``time_unit`` of :meth:`GammaGamma.clv` and ``rfm_summary``)
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "year": 365.25}

#: distinct rows above which the fit starts from a fit on a strided sample of them
_WARM_ROWS = 10_000
#: Newton steps with the warm start's curvature before the full data's is taken; steps at most
_NEWTON_FIXED, _NEWTON_MAX = 3, 30
#: step of the central differences of the exact gradient that give the curvature
_CURVATURE_STEP = 1e-5
_LOG_BOUND = 20.0  # log-parameters stay in [-20, 20]: e^20 ≈ 5e8 is beyond any real fit
#: a fitted log-parameter beyond ±RUNAWAY (a parameter above e^13 ≈ 4.4e5 or below 2.3e−6)
#: has run towards the bound: the likelihood has its optimum at infinity or zero (a limit the
#: formulas cannot evaluate, e.g. BG/NBD's a, b when every customer drops out alike) and the
#: optimiser stopped somewhere on a flat ridge, not at an optimum
RUNAWAY = 13.0


def _pow_hyp2f1(
    A: FloatArray | float, B: FloatArray | float, C: FloatArray | float, z: FloatArray
) -> FloatArray:
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


def central_hessian(
    grad: Callable[[FloatArray], FloatArray], theta: FloatArray, step: float = _CURVATURE_STEP
) -> FloatArray:
    """The Hessian at θ by central differences of an exact gradient, symmetrised (one
    differencing step, not two: the models' gradients are exact)."""
    k = theta.size
    hess = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = step
        hess[:, j] = (np.asarray(grad(theta + e)) - np.asarray(grad(theta - e))) / (2 * step)
    return (hess + hess.T) / 2


def _curvature(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], theta: FloatArray
) -> FloatArray | None:
    """The Hessian of ``objective`` at θ (:func:`central_hessian`), or None when it is not
    finite and positive definite."""
    hess = central_hessian(lambda th: objective(th)[1], theta)
    return hess if positive_definite(hess) else None


def positive_definite(matrix: FloatArray) -> bool:
    """Finite and positive definite (a Cholesky factor exists)."""
    if not np.isfinite(matrix).all():
        return False
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def inverse_information(info: FloatArray) -> FloatArray | None:
    """The covariance, the inverse of an information matrix; None when that is not positive
    definite (a flat likelihood) or the inverse not finite."""
    if not positive_definite(info):
        return None
    cov: FloatArray = np.asarray(np.linalg.inv(info), dtype=np.float64)
    return cov if np.isfinite(cov).all() else None


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


def _scalar_or_array(value: FloatArray) -> Any:
    return value if value.size != 1 else value.reshape(())


class MaximumLikelihood(Estimator, ABC):
    """Shared machinery: the parameter table (read, changed, shown and checked by
    :class:`~danggol.estimator.Estimator`), aggregation, the optimiser over log-params."""

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
    #: with many distinct rows, fit by Newton's method from the warm start (:meth:`_newton`)
    #: rather than SLSQP: for models whose every evaluation is costly (Pareto/NBD's integral)
    _newton_polish: ClassVar[bool] = False
    #: (θ, −∂²Σll/∂θ²) when the Newton fit took the full data's curvature at its optimum
    _information: tuple[FloatArray, FloatArray] | None = None
    _curvature_at: FloatArray | None = None

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

    def _newton(
        self,
        data: tuple[FloatArray, ...],
        w: FloatArray,
        objective: Callable[[FloatArray], tuple[float, FloatArray]],
        theta0: FloatArray,
        ftol: float,
    ) -> tuple[FloatArray, int] | None:
        """Newton's method on the full data from the warm start, with the curvature of the
        sample the warm start was fitted on (central differences of its exact gradient: cheap
        on ~``_WARM_ROWS`` rows) instead of SLSQP's, which starts from the identity and needs
        dozens of full-data evaluations to learn it. The sample's curvature of the mean
        log-likelihood is close to the full data's, except along the likelihood's flat ridge
        (Pareto/NBD's s and β), so its steps first cut the gradient several-fold; once a step
        cuts it less than 4-fold (or after ``_NEWTON_FIXED`` steps), the full data's own
        curvature is taken, once, and Newton converges quadratically from there. Stops, like
        SLSQP, when the predicted decrease g·H⁻¹g/2 is at most ``ftol``. (θ, steps), or None
        (the caller runs SLSQP) when a step cannot be taken: curvature not positive definite,
        no decrease along the step, a log-parameter at the bound, or no convergence in
        ``_NEWTON_MAX`` steps."""
        k = w.size // _WARM_ROWS
        sub, sub_w = tuple(col[::k] for col in data), w[::k] * k
        hess = _curvature(self._objective(sub_w, self._prepared_objective(sub, sub_w)), theta0)
        theta, full = np.asarray(theta0, dtype=float), False
        self._curvature_at = None
        value, grad = objective(theta)
        for step_no in range(_NEWTON_MAX):
            if hess is None or not (np.isfinite(value) and np.isfinite(grad).all()):
                return None
            step = -np.linalg.solve(hess, grad)
            decrement = -float(grad @ step)  # g·H⁻¹g
            if not np.isfinite(decrement) or decrement < 0:
                return None
            if decrement / 2 <= ftol:
                self._keep_curvature(full, theta, hess, float(w.sum()))
                return theta, step_no
            size = 1.0
            for _ in range(20):  # backtracking (Armijo) line search
                moved = theta + size * step
                if np.abs(moved).max() >= _LOG_BOUND:
                    return None  # towards the bound: SLSQP handles the bounds
                new_value, new_grad = objective(moved)
                if np.isfinite(new_value) and new_value <= value - 1e-4 * size * decrement:
                    break
                size /= 2
            else:
                # no decrease: at the optimum to the objective's rounding, or a bad direction
                return (theta, step_no) if decrement < 1e-20 else None
            slow = np.abs(new_grad).max() > np.abs(grad).max() / 4
            theta, value, grad = moved, new_value, new_grad
            if not full and (slow or step_no + 1 == _NEWTON_FIXED):
                hess, full = _curvature(objective, theta), True
                self._curvature_at = theta
        return None

    def _keep_curvature(
        self, full: bool, theta: FloatArray, hess: FloatArray, total: float
    ) -> None:
        """Keep the full data's curvature for the information matrix
        (:func:`danggol.predict.uncertainty.log_param_covariance`) when it is that matrix: taken
        within one differencing step (1e−5) of the optimum in every log-parameter — closer than
        the central differences themselves resolve — and without a penalty (the information
        is the log-likelihood's alone). It is then −∂²Σll/∂θ² = total · ∂²objective/∂θ²."""
        at = self._curvature_at
        if not full or at is None or self.penalizer_coef != 0:
            return
        if float(np.abs(theta - at).max()) <= _CURVATURE_STEP:
            self._information = (np.asarray(theta, dtype=float), total * hess)

    def _fit_data(self, data: tuple[FloatArray, ...], weights: FloatArray | None) -> None:
        self.validate_params()
        self._information = None
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
            objective = self._objective(w, prepared)
            found = None
            if self._newton_polish and w.size // _WARM_ROWS >= 2:
                found = self._newton(data, w, objective, theta0, tol * 1e-4)
            # SLSQP (quasi-Newton SQP) with the exact gradient: fewer evaluations than
            # L-BFGS-B here, and measured on a busy 2-core machine, L-BFGS-B's iterations
            # woke OpenBLAS's worker threads, which then slowed the whole fit 5–10×
            # (gone with OPENBLAS_NUM_THREADS=1); SLSQP's did not. On Pareto/NBD too: CDNOW
            # 0.03 s against 0.42 s, the 100k demo shop 0.7 s against 1.6 s, same optimum.
            if found is not None:
                theta, n_iter, success = found[0], found[1], True
            else:
                result = minimize(
                    objective,
                    theta0,
                    jac=True,
                    method="SLSQP",
                    bounds=bounds,
                    options={"ftol": tol * 1e-4, "maxiter": self.max_iter},
                )
                theta, n_iter, success = result.x, int(result.nit), bool(result.success)
            params = np.exp(theta)
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
            for name, value in zip(self._names, theta.tolist(), strict=True)
            if abs(value) >= RUNAWAY
        ]
        # an optimum at the bound is the optimiser stopping at a wall, not convergence
        self.converged_ = success and not self.at_bounds_
        self.n_iter_ = n_iter
        self._theta = np.asarray(theta, dtype=float)
        self._data, self._w = data, w

    def _fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise ConfigError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) before predicting"
            )
        return params


class RFMModel(MaximumLikelihood):
    """A model of (frequency, recency, T): the fit signature and the input checks."""

    def fit(
        self,
        frequency: ArrayLike | Any,
        recency: ArrayLike | None = None,
        T: ArrayLike | None = None,
        *,
        weights: ArrayLike | None = None,
    ) -> RFMModel:
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

    def expected_purchases_curve(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[Any], FloatArray]:
        """t ↦ E[X(T, T+t) | x, t_x, T] for the given customers (a model whose expectation
        has a part that does not depend on t computes it once)."""
        x, tx, T = self._inputs(frequency, recency, T)
        return lambda t: np.asarray(self.expected_purchases(t, x, tx, T), dtype=float)

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
    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Any:
        """P(alive | x, t_x, T) for each customer."""

    @abstractmethod
    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Any:
        """E[X(T, T+t) | x, t_x, T], the expected purchases in the next t periods."""

    @abstractmethod
    def _new_pmf(self, n: FloatArray, t: FloatArray, *params: Any) -> FloatArray:
        """P(X(t) = n) for a new customer, from the model's parameters."""

    @abstractmethod
    def _future_pmf(self, n: FloatArray, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:
        """P(X(T, T + t] = n) for a customer alive at T with x purchases."""
