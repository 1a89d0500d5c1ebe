"""The Pareto/NBD model: Schmittlein, Morrison & Colombo (1987), "Counting Your Customers: Who
Are They and What Will They Do Next?", *Management Science* 33(1); the likelihood of Fader &
Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions", eq. (22), its
hypergeometric term evaluated as the integral it stands for, by Gauss–Legendre in log space
(:mod:`danggol.predict.models.pareto_integral`). Purchases Poisson(λ), λ ~ Gamma(r, α);
lifetimes exponential(μ), μ ~ Gamma(s, β). Exact gradient (the derivatives under the integral
sign, by the same rule); it takes longer to fit than BG/NBD (a 32-point integral per distinct
row: docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, expit, gammaln

from danggol.predict.models.base import RFMModel, _by_x, _dot, _log_nbd, _scalar_or_array
from danggol.predict.models.inputs import FloatArray, _as_array, _first_bad
from danggol.predict.models.pareto_integral import dropout_integral, log_dropout


class ParetoNBD(RFMModel):
    """The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the form of Fader &
    Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions", eq. (22):

        L = Γ(r+x) α^r β^s / Γ(r) · [ 1/((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A₀ ]

    where s/(r+s+x) · A₀ = s·I, I = ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy, the integral their
    Gaussian-hypergeometric A₀ evaluates. I and its derivatives come from one Gauss–Legendre
    rule in log space (:mod:`danggol.predict.models.pareto_integral`): the exact gradient (the
    derivatives under the integral sign), the log-likelihood within ~1e−13 of the
    hypergeometric form on ordinary rows, finite for customers with hundreds of purchases. Parameters: ``params_ = {r, alpha, s, beta}``. The likelihood is
    very flat in β, so the default tolerance is tighter than BG/NBD's. On the CDNOW sample:
    r = 0.553, α = 10.578, s = 0.606, β = 11.669, LL = −9595.0.
    """

    _names = ("r", "alpha", "s", "beta")
    _default_tol = 1e-12
    _newton_polish = True

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
        """The value of :meth:`_loglik_grad` from log(s·I) alone (the same rule's first output,
        without the six means the gradient needs: a third of the work)."""
        x, tx, T = data
        r, alpha, s, beta = (float(v) for v in params)
        log_aT = np.log(alpha + T)
        odds = log_dropout(r, alpha, s, beta, x, tx, T) + (r + x) * log_aT + s * np.log(beta + T)
        value = (
            -r * np.log1p(T / alpha) - s * np.log1p(T / beta) - x * log_aT + np.logaddexp(0.0, odds)
        )
        return gammaln(r + x) - gammaln(r) + value

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

    def expected_purchases_curve(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> Callable[[Any], FloatArray]:
        """t ↦ :meth:`expected_purchases` for the given customers, with P(alive) (the integral)
        computed once (the CLV sums it month by month)."""
        x, tx, T = self._inputs(frequency, recency, T)
        p = self._fitted()
        r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
        head = (r + x) / (alpha + T) * expit(-self._log_death_odds(x, tx, T))

        def curve(t: Any) -> FloatArray:
            log_ratio = np.log1p(np.asarray(t, dtype=float) / (beta + T))
            if abs(s - 1) < 1e-10:
                growth = (beta + T) * log_ratio
            else:
                growth = (beta + T) * -np.expm1(-(s - 1) * log_ratio) / (s - 1)
            return np.asarray(head * growth, dtype=float)

        return curve

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
