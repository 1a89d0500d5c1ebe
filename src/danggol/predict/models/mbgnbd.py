"""The modified BG/NBD: Batislam, Denizel & Filiztekin (2007), "Empirical validation and
comparison of models for customer base analysis", *International Journal of Research in
Marketing* 24(3). Like BG/NBD, but a customer may also drop out at time zero, right after the
first purchase. Analytic gradient (BG/NBD's, with the Beta arguments shifted by one)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, expit

from danggol.predict.models.base import _log_nbd, _nbd_below, _pow_hyp2f1, _scalar_or_array
from danggol.predict.models.bgnbd import BGNBD
from danggol.predict.models.inputs import FloatArray, _as_array, _first_bad


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
