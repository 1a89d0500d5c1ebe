"""Treated against holdout: difference, relative uplift, confidence interval and p-value.

Pure functions over counts and arrays (no store), so they are checked against hand-worked
examples and simulations.

* **A rate** (conversion rate): difference p₁ − p₀ with the Wald interval
  ``d ± z·√(p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀)`` and the two-proportion z-test with the pooled
  proportion ``p = (x₁+x₀)/(n₁+n₀)``, ``z = d / √(p(1−p)(1/n₁ + 1/n₀))``, two-sided.
* **A mean** (revenue per customer, orders per customer, AOV): difference of means with
  Welch's t-test (unequal variances) and its interval ``d ± t(df)·√(s₁²/n₁ + s₀²/n₀)``,
  df by Welch–Satterthwaite — SciPy's ``stats.ttest_ind(equal_var=False)`` and its
  ``confidence_interval``.

Relative uplift = difference / holdout value (None when the holdout value is 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from danggol.serial import ToDict


@dataclass(frozen=True)
class Comparison(ToDict):
    treated: float | None
    holdout: float | None
    difference: float | None
    relative_uplift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    confidence: float
    test: str


def _relative(diff: float, base: float) -> float | None:
    return diff / base if base else None


def proportions(x1: int, n1: int, x0: int, n0: int, confidence: float = 0.95) -> Comparison:
    """Treated x₁ of n₁ against holdout x₀ of n₀."""
    test = "two-proportion z-test (pooled), Wald interval"
    if not n1 or not n0:
        return Comparison(None, None, None, None, None, None, None, confidence, test)
    p1, p0 = x1 / n1, x0 / n0
    diff = p1 - p0
    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    pooled = (x1 + x0) / (n1 + n0)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 else None
    return Comparison(
        p1,
        p0,
        diff,
        _relative(diff, p0),
        diff - z_crit * se,
        diff + z_crit * se,
        p_value,
        confidence,
        test,
    )


def means(
    treated: np.ndarray | list[float],
    holdout: np.ndarray | list[float],
    confidence: float = 0.95,
) -> Comparison:
    """Mean of the treated values against the mean of the holdout values (Welch)."""
    test = "Welch's t-test"
    a = np.asarray(treated, dtype=float)
    b = np.asarray(holdout, dtype=float)
    if not len(a) or not len(b):
        m1 = float(a.mean()) if len(a) else None
        m0 = float(b.mean()) if len(b) else None
        return Comparison(m1, m0, None, None, None, None, None, confidence, test)
    m1, m0 = float(a.mean()), float(b.mean())
    diff = m1 - m0
    if len(a) < 2 or len(b) < 2:
        return Comparison(m1, m0, diff, _relative(diff, m0), None, None, None, confidence, test)
    if a.var() == 0 and b.var() == 0:  # no spread: no test (SciPy would warn and give nan)
        return Comparison(m1, m0, diff, _relative(diff, m0), diff, diff, None, confidence, test)
    result = stats.ttest_ind(a, b, equal_var=False)
    interval = result.confidence_interval(confidence_level=confidence)
    return Comparison(
        m1,
        m0,
        diff,
        _relative(diff, m0),
        float(interval.low),
        float(interval.high),
        float(result.pvalue),
        confidence,
        test,
    )
