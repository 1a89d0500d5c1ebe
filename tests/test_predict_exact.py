"""Exact probabilities against the papers' formulas, written out here in mpmath.

* Pareto/NBD: the likelihood (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model
  and Related Expressions", eq. (22), with its hypergeometric A₀) and the conditional PMF
  P(X(T, T+t) = n | x, t_x, T) of Fader & Hardie's note "Deriving the Conditional PMF of the
  Pareto/NBD Model" (brucehardie.com/notes/028, the form lifetimes transcribes): its n = 0 term
  is the exact P(no purchase), which danggol now uses for P(repurchase).
* BG/NBD: P(X(t) = n) of Fader, Hardie & Lee (2005), eq. (8).
* MBG/NBD: P(X(t) = n) integrated over p numerically (mpmath.quad) from the model's
  definition, and checked against its independently derived expectation.
* Expectations of a new customer: Pareto/NBD eq. (17) of the 2005 note; MBG/NBD against the
  sum n·P(X(t) = n).
"""

from __future__ import annotations

from pathlib import Path

import mpmath as mp
import numpy as np
import pyarrow.csv as pacsv
import pytest

from danggol.predict import BGNBD, MBGNBD, ParetoNBD

mp.mp.dps = 30
SUMMARY = Path(__file__).parent / "data" / "cdnow" / "cdnow_customers_summary.csv"
#: (x, t_x, T) rows: a one-time buyer, ordinary repeaters, a long-gone and a heavy buyer
ROWS = [(0, 0.0, 38.0), (2, 30.43, 38.86), (4, 10.0, 35.0), (1, 2.0, 36.5), (20, 37.0, 38.0)]


@pytest.fixture(scope="module")
def cdnow():
    t = pacsv.read_csv(SUMMARY)
    return tuple(t[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))


@pytest.fixture(scope="module")
def pareto(cdnow):
    return ParetoNBD().fit(*cdnow)


def pnbd_loglik(p, x, tx, T):
    """log L, Fader & Hardie (2005) eq. (22)."""
    r, al, s, be = (mp.mpf(p[k]) for k in ("r", "alpha", "s", "beta"))
    x, tx, T = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
    if al >= be:
        big, second = al, s + 1
    else:
        big, second = be, r + x

    def piece(y):
        return mp.hyp2f1(r + s + x, second, r + s + x + 1, abs(al - be) / (big + y)) / (
            (big + y) ** (r + s + x)
        )

    a0 = piece(tx) - piece(T)
    head = mp.gamma(r + x) * al**r * be**s / mp.gamma(r)
    return mp.log(head * (1 / ((al + T) ** (r + x) * (be + T) ** s) + s / (r + s + x) * a0))


def pnbd_conditional_pmf(p, n, t, x, tx, T, loglik=None):
    """P(X(T, T+t) = n | x, t_x, T), Fader & Hardie, note 028 (as lifetimes writes it)."""
    r, al, s, be = (mp.mpf(p[k]) for k in ("r", "alpha", "s", "beta"))
    x, tx, T, t = mp.mpf(x), mp.mpf(tx), mp.mpf(T), mp.mpf(t)
    L = mp.e ** (pnbd_loglik(p, x, tx, T) if loglik is None else loglik)
    if al < be:
        small, big, q = al, be, r + x + n
    else:
        small, big, q = be, al, s + 1
    common = al**r * be**s / mp.gamma(r)
    alive = mp.gamma(r + x) * common / ((al + T) ** (r + x) * (be + T) ** s) / L
    b1 = mp.gamma(r + x + n) * common / ((al + T + t) ** (r + x + n) * (be + T + t) ** s)
    beta_fn = mp.beta(r + x + n, s + 1) / mp.gamma(s)
    b2 = (
        common
        * mp.gamma(r + s + x)
        * beta_fn
        * mp.hyp2f1(r + s + x, q, r + s + x + n + 1, (big - small) / (big + T))
        / (big + T) ** (r + s + x)
    )

    def b3(i):
        return (
            common
            * mp.gamma(r + s + x + i)
            * beta_fn
            * mp.hyp2f1(r + s + x + i, q, r + s + x + n + 1, (big - small) / (big + T + t))
            / (big + T + t) ** (r + s + x + i)
        )

    third = sum(t**i / mp.factorial(i) * b3(i) for i in range(n + 1))
    zeroth = (1 - alive) if n == 0 else 0
    return zeroth + (t**n / mp.factorial(n) * b1 + b2 - third) / L


def test_pareto_likelihood_is_the_papers(pareto):
    """The form everything below rests on (already tested in test_predict_pareto; here the
    same mpmath function the PMF uses is checked, so the PMF test has a sound base)."""
    for x, tx, T in ROWS:
        got = float(
            pareto._loglik(pareto._param_vector(), tuple(np.array([v]) for v in (x, tx, T)))[0]
        )
        assert got == pytest.approx(float(pnbd_loglik(pareto.params_, x, tx, T)), rel=1e-11)


@pytest.mark.parametrize("t", [13.0, 39.0])
def test_pareto_p_no_purchase_is_exact(pareto, t):
    for x, tx, T in ROWS:
        want = pnbd_conditional_pmf(pareto.params_, 0, t, x, tx, T)
        got = float(pareto.probability_no_purchase(t, x, tx, T))
        assert got == pytest.approx(float(want), rel=1e-9, abs=1e-12), (x, tx, T)


def test_pareto_old_approximation_was_off(pareto, cdnow):
    """The Poisson approximation replaced here, P(alive)·(1 − exp(−E/P(alive))), against the
    exact value over all CDNOW customers: how far off it was (a check that the change matters,
    and the figure docs/predictions.md quotes)."""
    x, tx, T = cdnow
    exact = 1 - np.asarray(pareto.probability_no_purchase(39.0, x, tx, T))
    alive = np.asarray(pareto.p_alive(x, tx, T))
    expected = np.asarray(pareto.expected_purchases(39.0, x, tx, T))
    old = alive * -np.expm1(-expected / alive)
    assert 0.05 < np.abs(old - exact).max() < 0.3


@pytest.mark.parametrize("n", [1, 2, 5])
def test_pareto_conditional_pmf(pareto, n):
    for x, tx, T in ROWS:
        want = pnbd_conditional_pmf(pareto.params_, n, 39.0, x, tx, T)
        got = float(pareto.probability_of_purchases(39.0, n, x, tx, T))
        assert got == pytest.approx(float(want), rel=1e-8, abs=1e-13), (n, x, tx, T)


@pytest.mark.parametrize("n", [0, 1, 3, 8])
def test_pareto_new_customer_pmf(pareto, n):
    """A new customer: the note's formula with no history (x = t_x = T = 0, where L = 1)."""
    want = pnbd_conditional_pmf(pareto.params_, n, 39.0, 0, 0, 0, loglik=mp.mpf(0))
    assert float(pareto.probability_of_purchases(39.0, n)) == pytest.approx(float(want), rel=1e-8)


def test_pareto_new_customer_expectation(pareto):
    """Fader & Hardie (2005) eq. (17): rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)]; and the PMF's mean."""
    p = {k: mp.mpf(v) for k, v in pareto.params_.items()}
    for t in (13.0, 39.0, 78.0):
        want = (
            p["r"]
            * p["beta"]
            / (p["alpha"] * (p["s"] - 1))
            * (1 - (p["beta"] / (p["beta"] + t)) ** (p["s"] - 1))
        )
        assert float(pareto.expected_purchases_new_customer(t)) == pytest.approx(
            float(want), rel=1e-12
        )
    n = np.arange(400)
    pmf = np.asarray(pareto.probability_of_purchases(39.0, n))
    assert pmf.sum() == pytest.approx(1, abs=1e-9)
    assert (n * pmf).sum() == pytest.approx(
        float(pareto.expected_purchases_new_customer(39.0)), rel=1e-6
    )


def bg_pmf(p, n, t):
    """FHL 2005 eq. (8)."""
    r, al, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    t = mp.mpf(t)

    def nbd(j):
        return (
            mp.gamma(r + j)
            / (mp.gamma(r) * mp.factorial(j))
            * (al / (al + t)) ** r
            * (t / (al + t)) ** j
        )

    value = mp.beta(a, b + n) / mp.beta(a, b) * nbd(n)
    if n > 0:
        value += mp.beta(a + 1, b + n - 1) / mp.beta(a, b) * (1 - sum(nbd(j) for j in range(n)))
    return value


@pytest.mark.parametrize("n", [0, 1, 2, 7])
def test_bgnbd_pmf_is_the_papers(cdnow, n):
    m = BGNBD().fit(*cdnow)
    for t in (13.0, 39.0):
        assert float(m.probability_of_purchases(t, n)) == pytest.approx(
            float(bg_pmf(m.params_, n, t)), rel=1e-10
        )


def test_bgnbd_conditional_pmf_is_consistent(cdnow):
    """Conditional P(X(T, T+t) = n): sums to 1, its n = 0 term is the exact P(no purchase)
    and its mean is the paper's conditional expectation, eq. (10)."""
    m = BGNBD().fit(*cdnow)
    n = np.arange(300)
    for x, tx, T in ROWS:
        pmf = np.array([float(m.probability_of_purchases(39.0, k, x, tx, T)) for k in n])
        assert pmf.sum() == pytest.approx(1, abs=1e-10)
        assert pmf[0] == pytest.approx(float(m.probability_no_purchase(39.0, x, tx, T)), rel=1e-12)
        assert (n * pmf).sum() == pytest.approx(
            float(m.expected_purchases(39.0, x, tx, T)), rel=1e-8
        )


def mbg_pmf(p, n, t):
    """From the model's definition: given λ and p, the customer drops out at time zero with
    probability p and after each purchase with probability p. X(t) = n when alive through n
    purchases with n of them in t, (1−p)^(n+1) · NBD(n), or dropped out right after the n-th
    purchase (time zero for n = 0), p(1−p)^n · P(at least n purchases by t); λ integrated
    into the NBD, p over Beta(a, b) by quadrature."""
    r, al, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    t = mp.mpf(t)

    def nbd(j):
        return (
            mp.gamma(r + j)
            / (mp.gamma(r) * mp.factorial(j))
            * (al / (al + t)) ** r
            * (t / (al + t)) ** j
        )

    at_least = 1 - sum(nbd(j) for j in range(n))

    def given_p(q):
        density = q ** (a - 1) * (1 - q) ** (b - 1) / mp.beta(a, b)
        return density * ((1 - q) ** (n + 1) * nbd(n) + q * (1 - q) ** n * at_least)

    return mp.quad(given_p, [0, 0.5, 1])


@pytest.mark.parametrize("n", [0, 1, 4])
def test_mbgnbd_pmf_from_the_definition(cdnow, n):
    m = MBGNBD().fit(*cdnow)
    assert float(m.probability_of_purchases(39.0, n)) == pytest.approx(
        float(mbg_pmf(m.params_, n, 39.0)), rel=1e-8
    )


def test_mbgnbd_new_customer_expectation_is_the_pmf_mean(cdnow):
    m = MBGNBD().fit(*cdnow)
    n = np.arange(600)
    for t in (13.0, 39.0):
        pmf = np.asarray(m.probability_of_purchases(t, n))
        assert pmf.sum() == pytest.approx(1, abs=1e-9)
        assert (n * pmf).sum() == pytest.approx(
            float(m.expected_purchases_new_customer(t)), rel=1e-7
        )
    for x, tx, T in ROWS:
        pmf = np.array([float(m.probability_of_purchases(39.0, k, x, tx, T)) for k in n[:300]])
        assert (n[:300] * pmf).sum() == pytest.approx(
            float(m.expected_purchases(39.0, x, tx, T)), rel=1e-8
        )


def test_bgnbd_new_customer_expectation_is_the_papers(cdnow):
    """E[X(t)] of a new customer, FHL 2005 eq. (9) in mpmath, and the mean of eq. (8)."""
    m = BGNBD().fit(*cdnow)
    r, al, a, b = (mp.mpf(m.params_[k]) for k in ("r", "alpha", "a", "b"))
    for t in (13.0, 39.0, 78.0):
        tt = mp.mpf(t)
        want = (
            (a + b - 1)
            / (a - 1)
            * (1 - (al / (al + tt)) ** r * mp.hyp2f1(r, b, a + b - 1, tt / (al + tt)))
        )
        assert float(m.expected_purchases_new_customer(t)) == pytest.approx(float(want), rel=1e-10)
    n = np.arange(600)
    pmf = np.asarray(m.probability_of_purchases(39.0, n))
    assert (n * pmf).sum() == pytest.approx(
        float(m.expected_purchases_new_customer(39.0)), rel=1e-7
    )


@pytest.mark.parametrize("n", [0, 1, 3])
def test_bgnbd_conditional_pmf_is_the_papers(cdnow, n):
    """P(X(T, T+t) = n | x, t_x, T) from Fader, Hardie & Lee's conditional form: P(alive),
    eq. (11) of their P(alive) note, times eq. (8) with (r+x, α+T, a, b+x), plus 1 − P(alive)
    for n = 0 — written in mpmath."""
    m = BGNBD().fit(*cdnow)
    r, al, a, b = (mp.mpf(m.params_[k]) for k in ("r", "alpha", "a", "b"))
    for x, tx, T in ROWS:
        xm, txm, Tm = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
        odds = a / (b + xm - 1) * ((al + Tm) / (al + txm)) ** (r + xm) if x > 0 else 0
        alive = 1 / (1 + odds)
        updated = {"r": r + xm, "alpha": al + Tm, "a": a, "b": b + xm}
        want = alive * bg_pmf(updated, n, 39.0) + (1 - alive) * (n == 0)
        got = float(m.probability_of_purchases(39.0, n, x, tx, T))
        assert got == pytest.approx(float(want), rel=1e-10)
        assert float(m.p_alive(x, tx, T)) == pytest.approx(float(alive), rel=1e-12)
