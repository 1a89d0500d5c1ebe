"""Time-invariant covariates on the purchase and dropout rates of BG/NBD, MBG/NBD and
Pareto/NBD: Fader & Hardie (2007), "Incorporating Time-Invariant Covariates into the Pareto/NBD
and BG/NBD Models" (http://www.brucehardie.com/notes/019/time_invariant_covariates.pdf).

A customer i with purchase covariates z₁ᵢ and dropout covariates z₂ᵢ (acquisition channel,
a coupon on the first order, region: one 0/1 column per level but the most common one, levels
of fewer than MIN_LEVEL customers staying with it) has

* BG/NBD, MBG/NBD: αᵢ = α₀·exp(−γ₁ᵀz₁ᵢ), aᵢ = a₀·exp(γ₂ᵀz₂ᵢ), bᵢ = b₀·exp(γ₃ᵀz₂ᵢ);
* Pareto/NBD: αᵢ = α₀·exp(−γ₁ᵀz₁ᵢ), βᵢ = β₀·exp(−γ₂ᵀz₂ᵢ)

(r and s are shared), so E[λᵢ] = r/αᵢ grows with γ₁ᵀz₁ᵢ, and the customer's likelihood is the
model's own with those parameters. PyMC-Marketing's ``BetaGeoModel`` and ``ParetoNBDModel``
(``purchase_covariate_cols`` / ``dropout_covariate_cols``) use the same links.

The covariates are categories, so the customers fall into a few groups with the same values
(at most :data:`MAX_GROUPS`); inside a group every parameter is a number and the model's own
fast likelihood and gradient apply (identical rows merged, the terms in x alone once per x).
The fit is maximum likelihood over θ = (log r, log α₀, log a₀, log b₀ | log s, log β₀, γ…) with
SLSQP and the exact gradient (the chain rule through the links), started from the model fitted
without covariates (γ = 0). A fitted :class:`Covariates` gives, per customer, the model with
that customer's parameters (:meth:`Covariates.bind`), which predicts like any other model.

>>> import numpy as np
>>> from danggol.predict.models import BGNBD
>>> rng = np.random.default_rng(0)
>>> x = rng.integers(0, 4, 400).astype(float)
>>> T = np.full(400, 30.0)
>>> tx = np.where(x > 0, rng.uniform(0, 30, 400), 0.0)
>>> channel = np.where(rng.random(400) < 0.5, "web", "app")
>>> m = Covariates("bgnbd", purchase=("channel",)).fit(x, tx, T, {"channel": channel})
>>> sorted(m.coefficients_)
['alpha']
>>> list(m.coefficients_["alpha"])
['channel=web']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in, number_in, one_of
from danggol.predict.models.base import (
    _LOG_BOUND,
    RUNAWAY,
    RFMModel,
    central_hessian,
    inverse_information,
)
from danggol.predict.models.bgnbd import BGNBD
from danggol.predict.models.inputs import FloatArray, aggregate_rows, check_rfm
from danggol.predict.models.mbgnbd import MBGNBD
from danggol.predict.models.pareto_nbd import ParetoNBD

#: the most groups of customers with the same covariate values a fit accepts: the covariates
#: are categories (a continuous covariate would make every customer a group of its own)
MAX_GROUPS = 500
#: a covariate has at most this many distinct values
MAX_LEVELS = 100
#: a covariate's level needs this many customers for a coefficient of its own
MIN_LEVEL = 30
#: coefficients stay within ±_COEF_BOUND (e^10: one category 20,000× another's rate)
_COEF_BOUND = 10.0

MODELS: dict[str, type[RFMModel]] = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "pareto_nbd": ParetoNBD}
#: which parameter each covariate set moves, and the sign of the link: α = α₀·exp(sign·γᵀz)
LINKS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "bgnbd": (("alpha", "purchase", -1.0), ("a", "dropout", 1.0), ("b", "dropout", 1.0)),
    "mbgnbd": (("alpha", "purchase", -1.0), ("a", "dropout", 1.0), ("b", "dropout", 1.0)),
    "pareto_nbd": (("alpha", "purchase", -1.0), ("beta", "dropout", -1.0)),
}


def _names(v: Any) -> bool:
    return isinstance(v, tuple | list) and all(isinstance(s, str) and s for s in v)


@dataclass(frozen=True)
class Design:
    """The 0/1 columns of categorical covariates: each covariate's levels but the most common
    one (its reference), in the order of the covariates, then the levels' sorted order."""

    columns: tuple[tuple[str, str], ...]  # (covariate, level)
    #: the levels of fewer than MIN_LEVEL customers, counted with the reference
    rare: dict[str, list[str]]

    @classmethod
    def learn(cls, names: Sequence[str], values: Mapping[str, ArrayLike]) -> Design:
        """A column per level with at least :data:`MIN_LEVEL` customers but the most common
        level; the rarer levels stay with the reference (a coefficient for a handful of
        customers is noise, and one customer alone sends it to the bound)."""
        columns: list[tuple[str, str]] = []
        rare: dict[str, list[str]] = {}
        for name in names:
            levels, counts = np.unique(_as_text(name, values), return_counts=True)
            if len(levels) > MAX_LEVELS:
                raise ConfigError(
                    f"the covariate {name!r} has {len(levels):,} distinct values: a covariate "
                    f"is a category with at most {MAX_LEVELS} values (a channel, a region); "
                    "leave it out or group its values"
                )
            reference = levels[int(np.argmax(counts))]
            for level, count in zip(levels, counts, strict=True):
                if level == reference:
                    continue
                if count >= MIN_LEVEL:
                    columns.append((name, str(level)))
                else:
                    rare.setdefault(name, []).append(str(level))
        return cls(tuple(columns), rare)

    @property
    def labels(self) -> list[str]:
        return [f"{name}={level}" for name, level in self.columns]

    def matrix(self, values: Mapping[str, ArrayLike], n: int) -> FloatArray:
        out = np.zeros((n, len(self.columns)))
        for j, (name, level) in enumerate(self.columns):
            out[:, j] = _as_text(name, values) == level
        return out


def _as_text(name: str, values: Mapping[str, ArrayLike]) -> NDArray[np.str_]:
    if name not in values:
        raise ConfigError(
            f"the covariate {name!r} is missing: got covariates {sorted(values)}; give one value "
            "per customer for each covariate named in the model"
        )
    col = values[name]
    if hasattr(col, "to_pylist"):
        col = col.to_pylist()
    return np.array(["" if v is None else str(v) for v in np.asarray(col, dtype=object)])


class Covariates(Estimator):
    """A BTYD model with time-invariant covariates (see the module docstring).

    ``model``: "bgnbd", "mbgnbd" or "pareto_nbd"; ``purchase``, ``dropout``: the names of the
    covariates on the purchase rate and on the dropout. Learned: ``params_`` (the parameters
    of a customer in every reference category: r, α₀, …), ``coefficients_`` ({parameter:
    {"covariate=level": γ}}), ``log_likelihood_``, ``converged_``, ``at_bounds_``,
    ``n_customers_``, ``n_groups_``, ``design_``."""

    _parameters = (
        Param("model", one_of(*MODELS), f"one of {', '.join(MODELS)}"),
        Param("purchase", _names, "a list of covariate names"),
        Param("dropout", _names, "a list of covariate names"),
        Param("penalizer_coef", number_in(0, math.inf), "a number >= 0 (0 = no penalty)"),
        Param("max_iter", int_in(10, math.inf), "an int in the range [10, inf)"),
    )

    def __init__(
        self,
        model: str = "bgnbd",
        *,
        purchase: Sequence[str] = (),
        dropout: Sequence[str] = (),
        penalizer_coef: float = 0.0,
        max_iter: int = 5000,
    ) -> None:
        self.model = model
        self.purchase = tuple(purchase)
        self.dropout = tuple(dropout)
        self.penalizer_coef = penalizer_coef
        self.max_iter = max_iter

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        covariates: Mapping[str, ArrayLike],
    ) -> Covariates:
        """Fit on (frequency, recency, T) and one value per customer of each covariate."""
        self.validate_params()
        x, tx, t = check_rfm(frequency, recency, T)
        names = list(dict.fromkeys([*self.purchase, *self.dropout]))
        self.design_ = {
            "purchase": Design.learn(self.purchase, covariates),
            "dropout": Design.learn(self.dropout, covariates),
        }
        z = self._matrices(covariates, x.size)
        keys, group = np.unique(
            np.hstack([z["purchase"], z["dropout"]]), axis=0, return_inverse=True
        )
        group = group.ravel()
        if len(keys) > MAX_GROUPS:
            raise ConfigError(
                f"covariates must be categories with few values: {names} make {len(keys):,} "
                f"groups of customers with the same values; at most {MAX_GROUPS} are fitted"
            )
        base = MODELS[self.model](penalizer_coef=self.penalizer_coef, max_iter=self.max_iter)
        plain = base.fit(x, tx, t)
        self.plain_ = plain
        k1 = len(self.design_["purchase"].columns)
        zp, zd = keys[:, :k1], keys[:, k1:]
        groups = []
        for g in range(len(keys)):
            rows = group == g
            data, w = aggregate_rows((x[rows], tx[rows], t[rows]), None)
            groups.append(base._prepared_objective(data, w))
        self._groups = (groups, zp, zd, np.bincount(group, minlength=len(keys)).astype(float))
        theta0 = np.concatenate(
            [np.log([plain.params_[k] for k in base._names]), np.zeros(self._n_coefficients())]
        )
        n_log = len(base._names)
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * n_log + [(-_COEF_BOUND, _COEF_BOUND)] * (
            theta0.size - n_log
        )
        objective = self._objective(float(x.size))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = minimize(
                objective,
                theta0,
                jac=True,
                method="SLSQP",
                bounds=bounds,
                options={"ftol": 1e-14, "maxiter": self.max_iter},
            )
            ll = self._loglik_theta(result.x)[0]
        if not np.isfinite(ll):
            raise ConfigError(
                f"{self.model} with covariates could not be fitted: the log-likelihood is {ll}"
            )
        self._theta = np.asarray(result.x, dtype=float)
        self.params_, self.coefficients_ = self._unpack(self._theta)
        self.log_likelihood_ = float(ll)
        self.n_customers_ = float(x.size)
        self.n_groups_ = len(keys)
        log_part = self._theta[:n_log]
        self.at_bounds_ = [
            k for k, v in zip(base._names, log_part.tolist(), strict=True) if abs(v) >= RUNAWAY
        ] + [
            f"{p}:{label}"
            for p, coefs in self.coefficients_.items()
            for label, v in coefs.items()
            if abs(v) >= _COEF_BOUND - 1e-6
        ]
        self.converged_ = bool(result.success) and not self.at_bounds_
        self.n_iter_ = int(result.nit)
        return self

    def _matrices(self, covariates: Mapping[str, ArrayLike], n: int) -> dict[str, FloatArray]:
        return {side: self.design_[side].matrix(covariates, n) for side in ("purchase", "dropout")}

    def _n_coefficients(self) -> int:
        return sum(len(self.design_[side].columns) for _, side, _ in LINKS[self.model])

    def _unpack(self, theta: FloatArray) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        names = MODELS[self.model]._names
        params = dict(zip(names, np.exp(theta[: len(names)]).tolist(), strict=True))
        coefs: dict[str, dict[str, float]] = {}
        at = len(names)
        for param, side, _ in LINKS[self.model]:
            labels = self.design_[side].labels
            if labels:
                coefs[param] = dict(zip(labels, theta[at : at + len(labels)].tolist(), strict=True))
            at += len(labels)
        return params, coefs

    def _group_params(self, theta: FloatArray, zp: FloatArray, zd: FloatArray) -> FloatArray:
        """(groups × parameters): each group's parameters on the natural scale."""
        names = MODELS[self.model]._names
        log_params = np.tile(theta[: len(names)], (zp.shape[0], 1))
        at = len(names)
        for param, side, sign in LINKS[self.model]:
            z = zp if side == "purchase" else zd
            k = z.shape[1]
            log_params[:, names.index(param)] += sign * (z @ theta[at : at + k])
            at += k
        return np.exp(log_params)

    def _loglik_theta(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Σ log-likelihood and its gradient in θ (the chain rule through the links)."""
        groups, zp, zd, _ = self._groups
        names = MODELS[self.model]._names
        params = self._group_params(theta, zp, zd)
        ll = 0.0
        # ∂ll/∂log(param of group g), one row per group
        dlog = np.zeros_like(params)
        for g, prepared in enumerate(groups):
            value, grad = prepared(params[g])
            ll += float(value)
            dlog[g] = np.asarray(grad, dtype=float) * params[g]
        out = [dlog.sum(axis=0)]
        for param, side, sign in LINKS[self.model]:
            z = zp if side == "purchase" else zd
            out.append(sign * (dlog[:, names.index(param)] @ z))
        return ll, np.concatenate(out)

    def _objective(self, total: float) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """−(mean log-likelihood) + penalizer_coef · (Σ reference params² + Σ γ²)."""
        c = float(self.penalizer_coef)
        n_log = len(MODELS[self.model]._names)

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            ll, grad = self._loglik_theta(theta)
            params = np.exp(theta[:n_log])
            coefs = theta[n_log:]
            value = -ll / total + c * (float(np.sum(params**2)) + float(np.sum(coefs**2)))
            g = -grad / total
            g[:n_log] += 2 * c * params**2
            g[n_log:] += 2 * c * coefs
            return value, g

        return objective

    def theta_covariance(self) -> FloatArray | None:
        """Covariance of θ (log reference parameters, then the coefficients) from the observed
        information, −∂²ll/∂θ² by central differences of the exact gradient; None when a
        parameter is at the bound or the information is not positive definite."""
        self._fitted()
        if self.at_bounds_:
            return None
        with np.errstate(all="ignore"):
            info = -central_hessian(lambda th: self._loglik_theta(th)[1], self._theta, 1e-5)
        return inverse_information(info)

    def standard_errors(self) -> dict[str, Any]:
        """Standard errors from :meth:`theta_covariance`: of the reference parameters by the
        delta method (params · sd(log)), of the coefficients directly; {} without one."""
        cov = self.theta_covariance()
        if cov is None:
            return {}
        sd = np.sqrt(np.diag(cov))
        names = MODELS[self.model]._names
        params = {n: float(self.params_[n] * s) for n, s in zip(names, sd, strict=False)}
        _, coefs = self._unpack(np.concatenate([np.zeros(len(names)), sd[len(names) :]]))
        return {"params": params, "coefficients": coefs}

    # -- predicting ------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise ConfigError(
                "this Covariates model is not fitted yet: call fit(...) before predicting"
            )

    def model_for(self, values: Mapping[str, Any]) -> RFMModel:
        """The plain model (scalar parameters) of a customer with these covariate values."""
        self._fitted()
        z = self._matrices({k: [v] for k, v in values.items()}, 1)
        params = self._group_params(self._theta, z["purchase"], z["dropout"])[0]
        model = MODELS[self.model]()
        model.params_ = dict(zip(model._names, params.tolist(), strict=True))
        return model

    def bind(self, covariates: Mapping[str, ArrayLike], n: int) -> Bound:
        """The model for these n customers (one covariate value each): it predicts from
        arrays of their (frequency, recency, T) like a plain model, each customer with the
        parameters of their group."""
        self._fitted()
        z = self._matrices(covariates, n)
        keys, group = np.unique(
            np.hstack([z["purchase"], z["dropout"]]), axis=0, return_inverse=True
        )
        return Bound(self, keys, group.ravel(), self._theta)

    def _models(self, keys: FloatArray, theta: FloatArray) -> list[RFMModel]:
        k1 = len(self.design_["purchase"].columns)
        models = []
        for row in self._group_params(theta, keys[:, :k1], keys[:, k1:]):
            model = MODELS[self.model]()
            model.params_ = dict(zip(model._names, row.tolist(), strict=True))
            models.append(model)
        return models


class Bound:
    """A fitted :class:`Covariates` for a fixed list of n customers: ``p_alive``,
    ``expected_purchases``, ``probability_no_purchase`` and ``no_purchase_curve`` take arrays of
    those n customers' (frequency, recency, T) and answer each from the model of their group.
    ``log_likelihood_``, ``at_bounds_``, ``converged_`` are the fit's; ``params_`` has the
    reference parameters and the coefficients ("alpha:channel=web")."""

    def __init__(
        self, fitted: Covariates, keys: FloatArray, group: NDArray[np.intp], theta: FloatArray
    ) -> None:
        self.fitted = fitted
        self.keys = keys
        self.theta_ = theta
        self.models = fitted._models(keys, theta)
        self.group = group
        self.params_ = {
            **fitted.params_,
            **{
                f"{param}:{label}": value
                for param, coefs in fitted.coefficients_.items()
                for label, value in coefs.items()
            },
        }
        self.coefficients_ = fitted.coefficients_
        self.log_likelihood_ = fitted.log_likelihood_
        self.at_bounds_ = fitted.at_bounds_
        self.converged_ = fitted.converged_

    def with_theta(self, theta: FloatArray) -> Bound:
        """The same customers with the parameters θ (for the delta method's differences)."""
        return Bound(self.fitted, self.keys, self.group, np.asarray(theta, dtype=float))

    def theta_covariance(self) -> FloatArray | None:
        return self.fitted.theta_covariance()

    def _each(self, call: Callable[[RFMModel, NDArray[np.bool_]], Any], *arrays: Any) -> FloatArray:
        n = self.group.size
        for a in arrays:
            if np.ndim(a) and np.size(a) != n:
                raise ConfigError(f"this model is bound to {n} customers; got {np.size(a)} values")
        out = np.empty(n)
        for g, model in enumerate(self.models):
            rows = self.group == g
            out[rows] = np.asarray(call(model, rows), dtype=float)
        return out

    @staticmethod
    def _take(v: Any, rows: NDArray[np.bool_]) -> Any:
        return np.asarray(v)[rows] if np.ndim(v) else v

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        args = (frequency, recency, T)
        return self._each(lambda m, r: m.p_alive(*(self._take(a, r) for a in args)), *args)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        args = (t, frequency, recency, T)
        return self._each(
            lambda m, r: m.expected_purchases(*(self._take(a, r) for a in args)), *args
        )

    def probability_no_purchase(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        args = (t, frequency, recency, T)
        return self._each(
            lambda m, r: m.probability_no_purchase(*(self._take(a, r) for a in args)), *args
        )

    def no_purchase_curve(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[Any], FloatArray]:
        return self._curve("no_purchase_curve", frequency, recency, T)

    def expected_purchases_curve(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[Any], FloatArray]:
        return self._curve("expected_purchases_curve", frequency, recency, T)

    def _curve(self, method: str, *args: ArrayLike) -> Callable[[Any], FloatArray]:
        rows = [self.group == g for g in range(len(self.models))]
        curves = [
            getattr(m, method)(*(self._take(a, r) for a in args))
            for m, r in zip(self.models, rows, strict=True)
        ]

        def curve(t: Any) -> FloatArray:
            out = np.empty(self.group.size)
            for c, r in zip(curves, rows, strict=True):
                out[r] = c(self._take(t, r))
            return out

        return curve
