"""The dropout integral of the Pareto/NBD likelihood, with the means its gradient needs.

Integrating the individual Pareto/NBD likelihood over λ ~ Gamma(r, α) and μ ~ Gamma(s, β)
gives (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model", eq. (22), written with
the integral their hypergeometric A₀ evaluates):

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s  +  s·I ],
    I = ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy

because λ^x μ/(λ+μ) (e^−(λ+μ)t_x − e^−(λ+μ)T) = λ^x μ ∫_{t_x}^{T} e^−(λ+μ)y dy and
E[λ^x e^−λy] = Γ(r+x)/Γ(r) α^r (α+y)^−(r+x), E[μ e^−μy] = s β^s (β+y)^−(s+1). The derivatives
of log I with respect to r, α, s, β are means of −log(α+y), −(r+x)/(α+y), −log(β+y) and
−(s+1)/(β+y) under the density ∝ the integrand on [t_x, T]; :func:`dropout_integral` returns
log(s·I) and those means, all from one Gauss–Legendre rule.

The rule runs in w = log((p+y)/(p+t_x)), p the smaller of α and β (q the larger, with the
exponents e_p and e_q of their factors). With u = e^w − 1 and ρ = (p+t_x)/(q+t_x) ≤ 1,

    I = (p+t_x)^(1−e_p) (q+t_x)^(−e_q) ∫_0^W e^ψ(w) dw,   ψ(w) = (1−e_p)·w − e_q·log(1 + ρu),

W = log((p+T)/(p+t_x)). The factor with the smaller shift becomes a plain exponential, and the
other one, log(1 + ρu), has its singularities at distance π or more from the real axis (ρ ≤ 1),
so the integrand is analytic in a strip around the interval, where Gauss–Legendre converges
geometrically. ψ is concave, so the interval is cut where ψ has fallen ``_DECAY`` = 40 below its
maximum (what is left out weighs less than ~1e−15 of the integral; a customer with hundreds of
purchases decays within a fraction of a unit of w). ψ(0) = 0 and ψ ≤ W on the interval kept, so
e^ψ neither overflows nor vanishes: no trouble for any x, tiny or huge α and β, or long T.

Accuracy, against the hypergeometric form in mpmath at 50 digits (checked at 80): on 3,000
random rows — parameters log-uniform in [0.01, 100], x up to 800, T from 0.5 to 1000, t_x from 0
to T — the log-likelihood is within 2e−13 of it relative to max(1, |log L|) (the median row
2e−16), and on 600 of them every component of ∂ log L/∂ log θ within 2e−8 relative. Rows whose
integrand rises over a dozen units of w before it falls (x = 0, α or β below 0.001, T = 1000)
are the hardest: 3e−11 at α = 0.001, 9e−8 at α = 8e−6, r = 3e−5 (99% of 1,419 rows with
parameters log-uniform in [6e−6, 1.6e5] within 3e−11).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_N_NODES = 32
_T, _WT = np.polynomial.legendre.leggauss(_N_NODES)
#: Gauss–Legendre nodes and weights on [0, 1]
NODES, WEIGHTS = (_T + 1) / 2, _WT / 2
#: the integrand is cut where it has fallen e^−_DECAY below its maximum
_DECAY = 40.0
#: rows per block: the six (rows × nodes) work arrays take 6 MB, whatever the number of rows
_BLOCK = 4096


class DropoutIntegral(NamedTuple):
    """log(s·I) per row (−inf where t_x = T) and the means under the normalised integrand on
    [t_x, T] that its derivatives need (0 where t_x = T)."""

    log_gone: FloatArray
    log_a: FloatArray  # E[log(1 + y/α)]
    log_b: FloatArray  # E[log(1 + y/β)]
    inv_a: FloatArray  # E[1/(α+y)]
    inv_b: FloatArray  # E[1/(β+y)]
    share_a: FloatArray  # E[y/(α+y)]
    share_b: FloatArray  # E[y/(β+y)]


def _span(e_p: FloatArray, e_q: FloatArray, rho: FloatArray, W: FloatArray) -> FloatArray:
    """Where to cut [0, W]: past the point where ψ has fallen ``_DECAY`` below its maximum.

    ψ is concave (ρ ≤ 1), so the two lines above it — the tangent at 0, ψ'(0)·w, and the
    asymptote −K·w − e_q·log ρ (K = e_p + e_q − 1) — cross the level to the right of the
    point, and so does every Newton step from the right; the cut is never too early."""

    def psi(w: FloatArray) -> FloatArray:
        return (1 - e_p) * w - e_q * np.log1p(rho * np.expm1(w))

    def slope(w: FloatArray) -> FloatArray:
        u = np.expm1(w)
        return (1 - e_p) - e_q * rho * (1 + u) / (1 + rho * u)

    slope0 = 1 - e_p - e_q * rho
    # ψ rises first where slope0 > 0 (x = 0 and r < 1): its top is where ψ' = 0
    g = (1 - e_p) / e_q
    u_top = np.where(slope0 > 0, (g - rho) / (rho * np.maximum(1 - g, 1e-300)), 0.0)
    w_top = np.minimum(np.log1p(np.maximum(u_top, 0.0)), W)
    level = psi(w_top) - _DECAY
    cut = (-e_q * np.log(rho) - level) / (e_p + e_q - 1)
    cut = np.where(slope0 < 0, np.minimum(cut, level / np.minimum(slope0, -1e-300)), cut)
    cut = np.minimum(cut, W)
    for _ in range(3):
        above = psi(cut) - level
        cut = np.where(above < 0, np.maximum(cut - above / slope(cut), w_top), cut)
    return cut


def dropout_integral(
    r: float, alpha: float, s: float, beta: float, x: ArrayLike, tx: ArrayLike, T: ArrayLike
) -> DropoutIntegral:
    """log(s·I), I = ∫_{t_x}^{T} (α+y)^−(r+x) (β+y)^−(s+1) dy, per row, with E[log(1+y/α)],
    E[log(1+y/β)], E[1/(α+y)], E[1/(β+y)], E[y/(α+y)], E[y/(β+y)] under the density ∝ the
    integrand (the derivatives of log I, written without cancellations)."""
    return DropoutIntegral(*_blocks(r, alpha, s, beta, x, tx, T, 7))


def log_dropout(
    r: float, alpha: float, s: float, beta: float, x: ArrayLike, tx: ArrayLike, T: ArrayLike
) -> FloatArray:
    """log(s·I) alone (see :func:`dropout_integral`)."""
    return _blocks(r, alpha, s, beta, x, tx, T, 1)[0]


def _blocks(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: ArrayLike,
    tx: ArrayLike,
    T: ArrayLike,
    n_out: int,
) -> list[FloatArray]:
    x, tx, T = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, tx, T)))
    x, tx, T = x.ravel(), tx.ravel(), T.ravel()
    out = [np.empty(x.size) for _ in range(n_out)]
    # six (rows × nodes) arrays, reused by every block: fresh ones per block cost more in page
    # faults than the arithmetic done in them
    work = np.empty((6, min(_BLOCK, x.size), _N_NODES))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for lo in range(0, x.size, _BLOCK):
            part = slice(lo, lo + _BLOCK)
            rows = x[part].size
            _block(
                r,
                alpha,
                s,
                beta,
                x[part],
                tx[part],
                T[part],
                [o[part] for o in out],
                work[:, :rows],
            )
    return out


def _block(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    tx: FloatArray,
    T: FloatArray,
    out: list[FloatArray],
    work: FloatArray,
) -> None:
    swap = beta < alpha  # p is the smaller shift
    p, q = (beta, alpha) if swap else (alpha, beta)
    e_x, e_s = r + x, np.full(x.size, s + 1.0)
    e_p, e_q = (e_s, e_x) if swap else (e_x, e_s)
    log_pt = np.log(p + tx)
    log_qt = np.log(q + tx)
    rho = np.exp(log_pt - log_qt)
    width = _span(e_p, e_q, rho, np.log(p + T) - log_pt)

    w, u, z, ell, dens, tmp = work
    np.multiply(width[:, None], NODES, out=w)
    np.expm1(w, out=u)  # u = (p+y)/(p+t_x) − 1
    np.multiply(u, rho[:, None], out=z)  # z = (q+y)/(q+t_x) − 1
    np.log1p(z, out=ell)
    np.multiply(w, (1 - e_p)[:, None], out=dens)
    np.multiply(ell, e_q[:, None], out=tmp)
    np.subtract(dens, tmp, out=dens)  # ψ
    np.exp(dens, out=dens)
    dens *= WEIGHTS  # the quadrature weights of e^ψ
    total = dens.sum(axis=1)
    out[0][:] = np.log(s) + np.log(total * width) + (1 - e_p) * log_pt - e_q * log_qt
    if len(out) == 1:
        return

    def mean(v: FloatArray) -> FloatArray:
        return np.einsum("ij,ij->i", dens, v) / total

    # the factor with shift c, in terms of its own (1 + v) = (c+y)/(c+t_x):
    # log(1 + y/c) = log(1 + t_x/c) + log(1+v), 1/(c+y) = 1/((c+t_x)(1+v)),
    # y/(c+y) = (t_x + c·v/(1+v)) / (c+t_x)
    parts = []
    for c, v, log_v in ((p, u, w), (q, z, ell)):
        log_mean = np.log1p(tx / c) + mean(log_v)
        np.add(v, 1.0, out=tmp)
        np.reciprocal(tmp, out=tmp)
        inv_mean = mean(tmp) / (c + tx)
        np.multiply(v, tmp, out=tmp)
        share_mean = (tx + c * mean(tmp)) / (c + tx)
        parts.append((log_mean, inv_mean, share_mean))
    (log_a, inv_a, share_a), (log_b, inv_b, share_b) = parts[::-1] if swap else parts
    empty = width == 0  # t_x = T: nothing to average
    for k, v in enumerate((log_a, log_b, inv_a, inv_b, share_a, share_b), start=1):
        out[k][:] = np.where(empty, 0.0, v)
