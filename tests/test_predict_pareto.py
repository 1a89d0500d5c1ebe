"""Pareto/NBD: the log-likelihood and its exact gradient against an independent mpmath
implementation of the published likelihood (Fader & Hardie 2005, "A Note on Deriving the
Pareto/NBD Model and Related Expressions", eq. (22) with A₀ of eq. (19), Gaussian
hypergeometric functions at 50 digits), on typical and hard rows: hundreds of purchases, the
last one at the very start, tiny and huge α and β, T up to 1000 days."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from btyd_sim import purchase_histories
from danggol.predict import ParetoNBD
from danggol.predict.models.pareto_integral import dropout_integral
from danggol.predict.uncertainty import log_param_covariance

NAMES = ("r", "alpha", "s", "beta")


def published_loglik(r, alpha, s, beta, x, tx, T):
    """log L of FH 2005 eq. (22), as printed: Γ(r+x) α^r β^s / Γ(r) · [1/((α+T)^(r+x) (β+T)^s)
    + s/(r+s+x) · A₀], A₀ = F(m+t_x) − F(m+T), F(u) = ₂F₁(r+s+x, c; r+s+x+1; |α−β|/u) / u^(r+s+x),
    m = max(α, β), c = s+1 if α ≥ β else r+x."""
    r, alpha, s, beta, tx, T = (mp.mpf(v) for v in (r, alpha, s, beta, tx, T))
    rsx = r + s + x
    m, c = (alpha, s + 1) if alpha >= beta else (beta, r + x)
    gap = abs(alpha - beta)

    def F(u):
        return mp.hyp2f1(rsx, c, rsx + 1, gap / u) / u**rsx

    a0 = F(m + tx) - F(m + T)
    head = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
    return head + mp.log(1 / ((alpha + T) ** (r + x) * (beta + T) ** s) + s / rsx * a0)


# (params r, α, s, β), [(x, t_x, T), ...]
CASES = [
    # the published CDNOW fit (weeks): typical rows, a customer who bought on the last day,
    # and hundreds of purchases, recent or long ago
    (
        (0.553, 10.578, 0.606, 11.669),
        [
            (0, 0.0, 38.86),
            (2, 30.43, 38.86),
            (7, 29.43, 38.86),
            (5, 38.86, 38.86),
            (500, 38.8, 38.86),
            (500, 2.0, 38.86),
            (300, 0.5, 1000.0),
        ],
    ),
    # the demo shop's fit (weeks; β < α)
    ((1.73, 2.95, 0.206, 0.35), [(149, 3.0, 156.0), (0, 0.0, 156.0), (20, 100.0, 156.0)]),
    # tiny α, T of 1000 days: the integrand rises over 10 units of log time, then falls
    ((0.05, 1e-3, 3.0, 50.0), [(0, 0.0, 1000.0), (300, 0.5, 1000.0), (2, 999.0, 1000.0)]),
    # tiny β
    ((5.0, 100.0, 0.05, 1e-3), [(300, 0.5, 1000.0), (1, 0.01, 1000.0), (0, 0.0, 1000.0)]),
    # huge α and β
    ((0.4, 1e4, 1.5, 2e4), [(0, 0.0, 0.5), (800, 300.0, 1000.0)]),
    # β ≪ α with a last purchase at time 0 (x > 0), and hundreds of purchases
    ((2e-3, 3e3, 40.0, 0.1), [(1, 0.0, 1000.0), (300, 0.5, 1000.0)]),
    # α = β (the integrand is one power)
    ((0.3, 4.0, 0.3, 4.0), [(150, 10.0, 156.0), (0, 0.0, 39.0)]),
]
ROWS = [(params, row) for params, rows in CASES for row in rows]


def _along(params, row, j):
    """log L as a function of the j-th parameter alone."""

    def f(v):
        p = [mp.mpf(c) for c in params]
        p[j] = v
        return published_loglik(*p, *row)

    return f


@pytest.fixture(scope="module")
def reference():
    """log L and its gradient (mpmath's numerical derivative, 50 digits) per row."""
    out = []
    with mp.workdps(50):
        for params, row in ROWS:
            ll = published_loglik(*params, *row)
            grad = [float(mp.diff(_along(params, row, j), mp.mpf(params[j]))) for j in range(4)]
            out.append((float(ll), np.array(grad)))
    return out


def _row(params, row):
    return np.array(params), tuple(np.array([v], dtype=float) for v in row)


def test_loglik_matches_the_published_hypergeometric_form(reference):
    """Relative to max(1, |log L|): a log-likelihood error ε is a relative error ε of L."""
    for (params, row), (ref, _) in zip(ROWS, reference, strict=True):
        p, data = _row(params, row)
        got = float(ParetoNBD()._loglik(p, data)[0])
        assert abs(got - ref) <= 1e-10 * max(1.0, abs(ref)), (params, row, got, ref)


def test_gradient_matches_a_high_precision_numerical_derivative(reference):
    """∂ log L/∂ log θ (what the fit uses) to 1e-7 relative, or 1e-12 absolute for a
    component that is a near-cancellation of terms of order one (∂/∂ log s and ∂/∂ log β of
    a one-time buyer at α = 1e4, β = 2e4 are ±4e-10)."""
    for (params, row), (_, ref) in zip(ROWS, reference, strict=True):
        p, data = _row(params, row)
        _, grad = ParetoNBD()._loglik_grad(p, data)
        np.testing.assert_allclose(
            grad[0] * p, ref * p, rtol=1e-7, atol=1e-12, err_msg=f"{params} {row}"
        )


def test_p_alive_of_hard_rows_matches_the_published_form():
    """P(alive) = 1/(1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A₀) (eq. (24)) where scipy's ₂F₁ of the
    former implementation gave inf or nan (x in the hundreds, t_x near 0, T = 1000)."""
    m = ParetoNBD()
    for params, rows in CASES:
        m.params_ = dict(zip(NAMES, params, strict=True))
        for x, tx, T in rows:
            with mp.workdps(50):
                r, alpha, s, beta = (mp.mpf(v) for v in params)
                head = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
                alive_part = head - (r + x) * mp.log(alpha + T) - s * mp.log(beta + T)
                hand = float(mp.exp(alive_part - published_loglik(*params, x, tx, T)))
            got = float(m.p_alive(x, tx, T))
            assert got == pytest.approx(hand, rel=1e-9, abs=1e-300), (params, x, tx, T)


def test_regrouped_objective_equals_the_per_row_sums():
    """The fit's objective (the terms in x alone once per distinct x) against Σ w·ll and
    Σ w·∂ll of the per-row formulas, with weights and unsorted rows."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 60, 3000).astype(float)
    T = rng.uniform(1.0, 150.0, x.size)
    tx = np.where(x > 0, T * rng.uniform(0, 1, x.size), 0.0)
    w = rng.uniform(0.5, 3.0, x.size)
    m = ParetoNBD()
    for params in ((0.553, 10.578, 0.606, 11.669), (1.73, 2.95, 0.206, 0.35)):
        p = np.array(params)
        ll, grad = m._prepared_objective((x, tx, T), w)(p)
        row_ll, row_grad = m._loglik_grad(p, (x, tx, T))
        assert ll == pytest.approx(float(w @ row_ll), rel=1e-12)
        np.testing.assert_allclose(grad, w @ row_grad, rtol=1e-9)


def test_the_integral_is_one_rule_in_blocks():
    """Rows are integrated in blocks of a few thousand: the answer does not depend on where a
    row falls, and the last purchase on the last day gives an empty integral."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 40, 10_000).astype(float)
    T = rng.uniform(1.0, 150.0, x.size)
    tx = np.where(x > 0, T * rng.uniform(0, 1, x.size), 0.0)
    x[:2], tx[:2] = (4.0, 9.0), T[:2]  # the last purchase on the last day
    whole = dropout_integral(0.5, 5.0, 0.7, 9.0, x, tx, T)
    alone = dropout_integral(0.5, 5.0, 0.7, 9.0, x[-7:], tx[-7:], T[-7:])
    for a, b in zip(whole, alone, strict=True):
        np.testing.assert_allclose(a[-7:], b, rtol=1e-14)
    assert np.all(whole.log_gone[:2] == -np.inf)
    assert all(np.all(mean[:2] == 0.0) for mean in whole[1:])


def test_newton_on_many_rows_reaches_slsqps_optimum(monkeypatch):
    """Above 2 × 10,000 distinct rows Pareto/NBD is fitted by Newton's method from the warm
    start (the sample's curvature, then the full data's): the same optimum SLSQP finds, as
    good a log-likelihood, and in fewer steps. Data simulated from known parameters
    (continuous times, so every row is distinct)."""
    rng = np.random.default_rng(5)
    n = 25_000
    lam, mu = rng.gamma(0.7, 1 / 6.0, n), rng.gamma(0.9, 1 / 15.0, n)
    T = rng.uniform(10.0, 100.0, n)
    death = rng.exponential(1 / mu)
    x, tx = purchase_histories(lam, np.minimum(T, death), rng)
    newton = ParetoNBD().fit(x, tx, T)
    monkeypatch.setattr(ParetoNBD, "_newton_polish", False)
    slsqp = ParetoNBD().fit(x, tx, T)
    assert newton.n_rows_ == n and newton.converged_ and slsqp.converged_
    assert newton.n_iter_ < slsqp.n_iter_, (newton.n_iter_, slsqp.n_iter_)
    for k in NAMES:
        assert newton.params_[k] == pytest.approx(slsqp.params_[k], rel=1e-6), k
    assert newton.log_likelihood_ >= slsqp.log_likelihood_ - 1e-8 * abs(slsqp.log_likelihood_)
    # the curvature it took at the optimum is the information matrix: the same covariance as
    # the one computed afresh there (central differences of the exact gradient)
    assert newton._information is not None
    kept = log_param_covariance(newton)
    newton._information = None
    np.testing.assert_allclose(kept, log_param_covariance(newton), rtol=1e-4)
