"""The BG/NBD model: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An
Alternative to the Pareto/NBD Model", *Marketing Science* 24(2). Purchases Poisson(λ),
λ ~ Gamma(r, α); after each purchase the customer drops out with probability p,
p ~ Beta(a, b). Analytic gradient.

>>> import numpy as np
>>> m = BGNBD().fit(np.array([0, 2, 5]), np.array([0.0, 20.0, 30.0]), np.array([38.0, 38.0, 38.0]))
>>> sorted(m.params_)
['a', 'alpha', 'b', 'r']
>>> bool(m.p_alive(0, 0.0, 38.0) == 1.0)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln

from danggol.predict.models.base import (
    RFMModel,
    _by_x,
    _dot,
    _log_nbd,
    _nbd_below,
    _pow_hyp2f1,
    _scalar_or_array,
)
from danggol.predict.models.inputs import FloatArray, _as_array, _first_bad


def _bg_new_pmf(n: FloatArray, t: FloatArray, r: Any, alpha: Any, a: Any, b: Any) -> FloatArray:
    """BG/NBD P(X(t) = n) for a new customer (Fader, Hardie & Lee 2005, eq. (8)):
    B(a, b+n)/B(a, b) · NBD(n) + 1{n>0} · B(a+1, b+n−1)/B(a, b) · (1 − Σ_{j<n} NBD(j))."""
    n1 = np.maximum(n, 1.0)
    first = np.exp(betaln(a, b + n) - betaln(a, b) + _log_nbd(n, t, r, alpha))
    second = np.exp(betaln(a + 1, b + n1 - 1) - betaln(a, b)) * (1 - _nbd_below(n, t, r, alpha))
    return first + np.where(n > 0, second, 0.0)


class BGNBD(RFMModel):
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
