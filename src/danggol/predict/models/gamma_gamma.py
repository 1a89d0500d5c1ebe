"""The Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis", *Journal of Marketing Research* 42(4): the mean value
``zbar`` of a repeat buyer's x transactions, z ~ Gamma(p, ν), ν ~ Gamma(q, γ). Analytic
gradient. With a purchase model, the customer lifetime value (:meth:`GammaGamma.clv`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from danggol.errors import ConfigError
from danggol.predict.models.base import (
    DAYS_PER_UNIT,
    MaximumLikelihood,
    RFMModel,
    _by_x,
    _dot,
    _scalar_or_array,
)
from danggol.predict.models.inputs import (
    FloatArray,
    _as_array,
    _check_weights,
    _column,
    _first_bad,
)


class GammaGamma(MaximumLikelihood):
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
        model: RFMModel,
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
        before: FloatArray | float = 0.0
        for i in range(1, horizon + 1):
            upto = np.asarray(model.expected_purchases(i * step, frequency, recency, T))
            total = total + spend * (upto - before) / (1 + discount_rate) ** i
            before = upto
        return _scalar_or_array(np.asarray(total, dtype=np.float64))
