"""How sure the fitted numbers are: standard errors of the parameters and 90 % intervals on
each customer's predictions and on the shop's totals.

* **Parameters.** The covariance of θ = log(parameters) is the inverse of the observed
  information, −∂²(Σ log-likelihood)/∂θ², its second derivatives by central differences of
  the models' *exact* gradient (so only one differencing step, not two). A parameter's
  standard error is then params · sd(θ) (the delta method). None when the fit is at a bound or
  the information is not positive definite (a flat likelihood): no error bar is then better
  than a wrong one.
* **Predictions.** A prediction f(θ) (a customer's expected orders, the shop's total) gets the
  delta-method variance ∇f Σ ∇fᵀ, ∇f by forward differences in θ (one extra evaluation per
  parameter), and the interval f · exp(±z·sd(log f)), z = 1.645 for 90 %: on the log scale so
  it stays positive and is skewed like the sampling distribution of a positive quantity.
  These intervals are on the *expectation* (what the model would predict with the true
  parameters), from the parameters' uncertainty — not the spread of the count a customer will
  actually make. ``tests/test_predict_uncertainty.py`` checks by simulation that they contain
  the true expectation about 90 % of the time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from danggol.predict.models.base import central_hessian, inverse_information

FloatArray = NDArray[np.float64]

#: the standard normal quantile of a two-sided 90 % interval
Z90 = 1.6448536269514722
_STEP_HESSIAN = 1e-5
_STEP_GRADIENT = 1e-6


def log_param_covariance(model: Any) -> FloatArray | None:
    """Covariance of log(parameters) from the observed information, or None (see module)."""
    if hasattr(model, "theta_covariance"):  # a model with covariates: θ of its own
        cov = model.theta_covariance()
        return None if cov is None else np.asarray(cov, dtype=float)
    if getattr(model, "at_bounds_", None) or not hasattr(model, "_theta"):
        return None
    prepared = model._prepared_objective(model._data, model._w)
    theta = np.log(np.array([model.params_[k] for k in model._names], dtype=float))

    def grad(th: FloatArray) -> FloatArray:
        params = np.exp(th)
        return np.asarray(prepared(params)[1], dtype=float) * params

    kept = getattr(model, "_information", None)  # the fit's own, at this optimum (Newton)
    if kept is not None and float(np.abs(kept[0] - theta).max()) <= _STEP_HESSIAN:
        info = np.asarray(kept[1], dtype=float)
    else:
        with np.errstate(all="ignore"):
            info = -central_hessian(grad, theta, _STEP_HESSIAN)
    return inverse_information(info)


def parameter_se(model: Any, cov: FloatArray | None) -> dict[str, float]:
    """Standard error of each parameter (delta method from log scale); {} without ``cov``."""
    if cov is None:
        return {}
    sd = np.sqrt(np.diag(cov))
    return {k: float(model.params_[k] * s) for k, s in zip(model._names, sd, strict=True)}


def with_params(model: Any, theta: FloatArray) -> Any:
    """A copy of a fitted ``model`` with parameters exp(theta) (for differencing)."""
    other = copy.copy(model)
    other.params_ = dict(zip(model._names, np.exp(theta).tolist(), strict=True))
    return other


def gradients(
    model: Any, predict: Callable[[Any], FloatArray], base: FloatArray
) -> list[FloatArray]:
    """∂ predict(model) / ∂θ_j for every log-parameter θ_j (and, for a model with covariates,
    every coefficient: ``model.theta_``, ``model.with_theta``), by forward differences."""
    if hasattr(model, "with_theta"):
        theta, moved_by = np.asarray(model.theta_, dtype=float), model.with_theta
    else:
        theta = np.log(np.array([model.params_[k] for k in model._names], dtype=float))

        def moved_by(th: FloatArray) -> Any:
            return with_params(model, th)

    out = []
    for j in range(theta.size):
        step = np.zeros(theta.size)
        step[j] = _STEP_GRADIENT
        moved = np.asarray(predict(moved_by(theta + step)), dtype=float)
        out.append((moved - base) / _STEP_GRADIENT)
    return out


def variance(grads: list[FloatArray], cov: FloatArray) -> FloatArray:
    """∇f Σ ∇fᵀ per element, from the per-parameter gradients."""
    total = np.zeros_like(np.asarray(grads[0], dtype=float))
    for i, gi in enumerate(grads):
        for j, gj in enumerate(grads):
            total = total + cov[i, j] * gi * gj
    return np.maximum(total, 0.0)


def log_interval(
    value: FloatArray, var: FloatArray, z: float = Z90
) -> tuple[FloatArray, FloatArray]:
    """value · exp(∓z · sd / value): the interval on the log scale (a 0 value gives [0, 0])."""
    value = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd_log = np.where(value > 0, np.sqrt(var) / value, 0.0)
    return value * np.exp(-z * sd_log), value * np.exp(z * sd_log)


def relative_variance(value: FloatArray, var: FloatArray) -> FloatArray:
    """var / value² (0 where the value is 0)."""
    value = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(value > 0, var / value**2, 0.0)
