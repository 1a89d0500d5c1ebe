"""BG/BB (Fader, Hardie & Shang 2010) on the donations data: the published estimates, and the
likelihood, P(alive) and conditional expectation against the paper's formulas in mpmath."""

from __future__ import annotations

import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pyarrow.csv as pacsv
import pytest

from danggol.errors import ConfigError
from danggol.predict.models import BGBB

DONATIONS = Path(__file__).parent / "data" / "donations" / "donations.csv"


def sig3(value: float, published: float) -> bool:
    digits = 3 - math.floor(math.log10(abs(published))) - 1
    return round(value, digits) == round(published, digits)


@pytest.fixture(scope="module")
def fitted():
    t = pacsv.read_csv(DONATIONS)
    cols = (t[c].to_numpy() for c in ("frequency", "recency", "periods"))
    return BGBB().fit(*cols, weights=t["weights"].to_numpy())


def test_reproduces_fader_hardie_shang_2010(fitted):
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in published.items():
        assert sig3(fitted.params_[name], value), (name, fitted.params_[name], value)
    assert fitted.log_likelihood_ == pytest.approx(-33225.6, abs=0.1)
    assert fitted.n_customers_ == 11104 and fitted.converged_


def mp_terms(p, x, tx, n):
    a, b, g, d = (mp.mpf(p[k]) for k in ("alpha", "beta", "gamma", "delta"))
    B = mp.beta
    head = B(a + x, b + n - x) / B(a, b) * B(g, d + n) / B(g, d)
    rest = sum(
        B(a + x, b + tx - x + i) / B(a, b) * B(g + 1, d + tx + i) / B(g, d)
        for i in range(int(n - tx))
    )
    return a, b, g, d, head + rest


@pytest.mark.parametrize(("x", "tx", "n"), [(0, 0, 6), (1, 1, 6), (3, 5, 6), (6, 6, 6), (2, 4, 10)])
def test_formulas_match_the_paper(fitted, x, tx, n):
    a, b, g, d, L = mp_terms(fitted.params_, x, tx, n)
    got = fitted._loglik(
        np.array([fitted.params_[k] for k in ("alpha", "beta", "gamma", "delta")]),
        (np.array([float(x)]), np.array([float(tx)]), np.array([float(n)])),
    )[0]
    assert got == pytest.approx(float(mp.log(L)), rel=1e-12)
    B = mp.beta
    alive = B(a + x, b + n - x) / B(a, b) * B(g, d + n + 1) / B(g, d) / L  # eq. 11
    assert float(fitted.p_alive(x, tx, n)) == pytest.approx(float(alive), rel=1e-10)
    for ahead in (1, 5):  # eq. 13
        want = (
            B(a + x + 1, b + n - x)
            / B(a, b)
            * d
            / (g - 1)
            * mp.gamma(g + d)
            / mp.gamma(1 + d)
            * (
                mp.gamma(1 + d + n) / mp.gamma(g + d + n)
                - mp.gamma(1 + d + n + ahead) / mp.gamma(g + d + n + ahead)
            )
            / L
        )
        assert float(fitted.expected_purchases(ahead, x, tx, n)) == pytest.approx(
            float(want), rel=1e-10
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0], [2], [6]), "recency must be 0 exactly when frequency is 0"),
        (([3], [2], [6]), "frequency must be <= recency"),
        (([1], [7], [6]), "recency must be <= n_periods"),
        (([1.5], [2], [6]), "frequency must be a whole number"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(ConfigError, match=message):
        BGBB().fit(*args)
