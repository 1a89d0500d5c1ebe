"""Buy-till-you-die models: published CDNOW estimates, closed-form conditional expectations
computed here independently (mpmath, the papers' formulas as printed), aggregation, input
checks, and the (frequency, recency, T, monetary_value) summary from a tiny shop."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pyarrow.csv as pacsv
import pytest

from danggol.errors import ConfigError
from danggol.ingest.load import ingest_files
from danggol.predict import BGNBD, MBGNBD, GammaGamma, ParetoNBD
from danggol.predict.summary import rfm_summary

CDNOW = Path(__file__).parent / "data" / "cdnow"
SUMMARY = CDNOW / "cdnow_customers_summary.csv"
WITH_SPEND = CDNOW / "cdnow_customers_summary_with_transactions.csv"


def sig3(value: float, published: float) -> bool:
    """Equal to 3 significant digits: both round to the published figure."""
    digits = 3 - math.floor(math.log10(abs(published))) - 1
    return round(value, digits) == round(published, digits)


@pytest.fixture(scope="module")
def cdnow():
    if not SUMMARY.exists():
        pytest.fail(
            f"CDNOW summary not found at {SUMMARY} (tests/data/cdnow is part of the repository)"
        )
    t = pacsv.read_csv(SUMMARY)
    return (t["frequency"].to_numpy().astype(float), t["recency"].to_numpy(), t["T"].to_numpy())


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return BGNBD().fit(*cdnow)


# --------------------------------------------------------------------------------------
# 1. published estimates
# --------------------------------------------------------------------------------------


def test_bgnbd_reproduces_fader_hardie_lee_2005(bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert sig3(bgnbd.params_[name], value), (name, bgnbd.params_[name], value)
    assert bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.1)
    assert bgnbd.n_customers_ == 2357
    assert bgnbd.converged_


def test_pareto_nbd_reproduces_published(cdnow):
    m = ParetoNBD().fit(*cdnow)
    for name, value in {"r": 0.553, "alpha": 10.578, "s": 0.606}.items():
        assert sig3(m.params_[name], value), (name, m.params_[name], value)
    assert m.params_["beta"] == pytest.approx(11.669, rel=1e-3)
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.1)


def test_mbgnbd_reproduces_published(cdnow):
    m = MBGNBD().fit(*cdnow)
    published = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    for name, value in published.items():
        assert sig3(m.params_[name], value), (name, m.params_[name], value)


def test_gamma_gamma_reproduces_published():
    if not WITH_SPEND.exists():
        pytest.fail(
            f"CDNOW spend summary not found at {WITH_SPEND} (tests/data/cdnow is part of the repository)"
        )
    t = pacsv.read_csv(WITH_SPEND)
    m = GammaGamma().fit(t["x"].to_numpy(), t["zbar"].to_numpy())
    assert m.n_customers_ == 946
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert sig3(m.params_[name], value), (name, m.params_[name], value)


def test_fit_takes_a_summary_table(cdnow, bgnbd):
    x, tx, t = cdnow
    table = {"frequency": x, "recency": tx, "T": t}
    assert BGNBD().fit(table).params_ == bgnbd.params_


# --------------------------------------------------------------------------------------
# 2. conditional expectations against the papers' formulas, computed here with mpmath
# --------------------------------------------------------------------------------------

CUSTOMERS = [
    (0, 0.0, 38.86),
    (1, 1.71, 38.86),
    (2, 30.43, 38.86),
    (7, 29.43, 38.86),
    (14, 35.0, 36.0),
    (3, 5.0, 30.0),
]


def hand_bg_p_alive(p, x, tx, T):
    if x == 0:
        return mp.mpf(1)
    r, al, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    return 1 / (1 + a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x))


def hand_bg_expected(p, t, x, tx, T):
    """FHL 2005 eq. (10), as printed."""
    r, al, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    z = t / (al + T + t)
    bracket = 1 - ((al + T) / (al + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket * hand_bg_p_alive(p, x, tx, T)


def series_2f1(a, b, c, z, terms=4000):
    """Σ (a)_n (b)_n / (c)_n z^n / n!, summed directly (|z| < 1)."""
    total, term = mp.mpf(1), mp.mpf(1)
    for n in range(terms):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        if abs(term) < mp.mpf(10) ** -30 * abs(total):
            break
    return total


@pytest.mark.parametrize(("x", "tx", "T"), CUSTOMERS)
def test_bgnbd_p_alive_and_expected_purchases(bgnbd, x, tx, T):
    p = bgnbd.params_
    assert float(bgnbd.p_alive(x, tx, T)) == pytest.approx(
        float(hand_bg_p_alive(p, x, tx, T)), rel=1e-12
    )
    for t in (1.0, 10.0, 39.0, 52.0):
        got = float(bgnbd.expected_purchases(t, x, tx, T))
        assert got == pytest.approx(float(hand_bg_expected(p, t, x, tx, T)), rel=1e-9)


def test_bgnbd_p_alive_is_one_without_repeat(bgnbd):
    assert np.all(bgnbd.p_alive(np.zeros(3), np.zeros(3), np.array([1.0, 20.0, 80.0])) == 1.0)


def test_direct_series_agrees_with_mpmath_2f1():
    assert series_2f1(0.5, 2.5, 3.2, 0.4) == pytest.approx(float(mp.hyp2f1(0.5, 2.5, 3.2, 0.4)))


def test_bgnbd_new_customer_expectation(bgnbd):
    r, al, a, b = (mp.mpf(bgnbd.params_[k]) for k in ("r", "alpha", "a", "b"))
    t = mp.mpf(39)
    hand = (
        (a + b - 1)
        / (a - 1)
        * (1 - (al / (al + t)) ** r * series_2f1(r, b, a + b - 1, t / (al + t)))
    )
    assert float(bgnbd.expected_purchases_new_customer(39.0)) == pytest.approx(
        float(hand), rel=1e-9
    )


def test_bgnbd_published_conditional_expectation(bgnbd):
    # FHL 2005, section 5: a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make
    # 1.226 purchases in the next 39 weeks
    assert round(float(bgnbd.expected_purchases(39, 2, 30.43, 38.86)), 3) == 1.226


@pytest.mark.parametrize(("x", "tx", "T"), CUSTOMERS)
def test_mbgnbd_expected_purchases_as_printed(cdnow, x, tx, T):
    """Batislam, Denizel & Filiztekin 2007: E[X(T,T+t)] = (a+b+x)/(a−1) · [1 −
    ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))] / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x))."""
    m = MBGNBD().fit(*cdnow)
    r, al, a, b = (mp.mpf(m.params_[k]) for k in ("r", "alpha", "a", "b"))
    alive = 1 / (1 + a / (b + x) * ((al + T) / (al + tx)) ** (r + x))
    for t in (1.0, 39.0, 52.0):
        z = t / (al + T + t)
        bracket = 1 - ((al + T) / (al + T + t)) ** (r + x) * mp.hyp2f1(
            r + x, b + x + 1, a + b + x, z
        )
        hand = (a + b + x) / (a - 1) * bracket * alive
        assert float(m.expected_purchases(t, x, tx, T)) == pytest.approx(float(hand), rel=1e-9)


def test_dropout_near_its_homogeneous_limit_stays_finite():
    """A fit can end with a and b in the millions (everyone drops out with the same p =
    a/(a+b)); ₂F₁ then tends to (1 − (1−p)z)^−(r+x), so E[X] tends to
    (1/p) · [1 − ((α+T)/(α+T+t))^(r+x) (1 − (1−p)z)^−(r+x)] · P(alive)."""
    m = BGNBD()
    m.params_ = {"r": 0.31, "alpha": 0.63, "a": 577301.0, "b": 21305934.0}
    p = 577301.0 / (577301.0 + 21305934.0)
    for x, tx, T in [(0, 0.0, 30.0), (3, 20.0, 30.0), (20, 60.0, 61.0), (300, 100.0, 100.5)]:
        for t in (1.0, 13.0, 52.0):
            z = t / (0.63 + T + t)
            limit = (
                (1 - ((0.63 + T) / (0.63 + T + t)) ** (0.31 + x) * (1 - (1 - p) * z) ** -(0.31 + x))
                / p
                * float(m.p_alive(x, tx, T))
            )
            got = float(m.expected_purchases(t, x, tx, T))
            assert np.isfinite(got)
            assert got == pytest.approx(limit, rel=1e-4, abs=1e-12)


def test_bgnbd_loglik_of_one_customer_matches_the_paper(bgnbd):
    """eq. (6) of FHL 2005 for one customer, by hand, against the fitted per-row value."""
    p = bgnbd.params_
    r, al, a, b = (mp.mpf(p[k]) for k in ("r", "alpha", "a", "b"))
    x, tx, T = 7, mp.mpf("29.43"), mp.mpf("38.86")
    lead = mp.gamma(r + x) * al**r / mp.gamma(r)
    like = mp.beta(a, b + x) / mp.beta(a, b) * lead / (al + T) ** (r + x) + mp.beta(
        a + 1, b + x - 1
    ) / mp.beta(a, b) * lead / (al + tx) ** (r + x)
    params = np.array([p[k] for k in ("r", "alpha", "a", "b")])
    got = bgnbd._loglik(params, (np.array([7.0]), np.array([29.43]), np.array([38.86])))
    assert got[0] == pytest.approx(float(mp.log(like)), rel=1e-12)


def test_bgnbd_analytic_gradient_matches_finite_differences(cdnow):
    x, tx, T = cdnow
    m = BGNBD()
    params = np.array([0.3, 5.0, 0.7, 2.0])
    data = (x[:200], tx[:200], T[:200])
    _, grad = m._loglik_grad(params, data)
    h = 1e-6
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        num = (m._loglik(params + e, data).sum() - m._loglik(params - e, data).sum()) / (2 * h)
        assert grad[:, j].sum() == pytest.approx(num, rel=1e-6)


@pytest.mark.parametrize(("x", "tx", "T"), CUSTOMERS)
def test_pareto_nbd_p_alive_and_expected_purchases(cdnow, x, tx, T):
    m = ParetoNBD().fit(*cdnow)
    r, al, s, be = (mp.mpf(m.params_[k]) for k in ("r", "alpha", "s", "beta"))
    tx, T = mp.mpf(tx), mp.mpf(T)
    # Fader & Hardie (2005) note, eq. (19), (24), (27), as printed (here α < β)
    assert al < be
    rsx = r + s + x
    a0 = (
        mp.hyp2f1(rsx, r + x, rsx + 1, (be - al) / (be + tx)) / (be + tx) ** rsx
        - mp.hyp2f1(rsx, r + x, rsx + 1, (be - al) / (be + T)) / (be + T) ** rsx
    )
    alive = 1 / (1 + s / rsx * (al + T) ** (r + x) * (be + T) ** s * a0)
    assert float(m.p_alive(x, float(tx), float(T))) == pytest.approx(float(alive), rel=1e-8)
    t = mp.mpf(52)
    expected = (
        (r + x)
        * (be + T)
        / ((al + T) * (s - 1))
        * (1 - ((be + T) / (be + T + t)) ** (s - 1))
        * alive
    )
    got = float(m.expected_purchases(52.0, x, float(tx), float(T)))
    assert got == pytest.approx(float(expected), rel=1e-8)


def test_mbgnbd_p_alive_of_a_one_time_buyer_is_below_one(cdnow):
    m = MBGNBD().fit(*cdnow)
    r, al, a, b = (m.params_[k] for k in ("r", "alpha", "a", "b"))
    hand = 1 / (1 + a / b * ((al + 38.86) / al) ** r)
    assert float(m.p_alive(0, 0.0, 38.86)) == pytest.approx(hand, rel=1e-12)


def test_gamma_gamma_expected_spend_and_clv(bgnbd):
    gg = GammaGamma()
    gg.params_ = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    p, q, g = 6.25, 3.74, 15.44
    x = np.array([0.0, 1.0, 5.0])
    zbar = np.array([0.0, 20.0, 45.5])
    hand = (g + x * zbar) * p / (p * x + q - 1)
    np.testing.assert_allclose(gg.expected_spend(x, zbar), hand, rtol=1e-14)
    assert hand[0] == pytest.approx(p * g / (q - 1))
    # 3 months ahead, 1% a month, model fitted in weeks: 1 month = (365.25/12)/7 weeks
    step = 365.25 / 12 / 7
    cum = [float(bgnbd.expected_purchases(i * step, 5, 30.0, 38.86)) for i in range(4)]
    by_hand = sum(hand[2] * (cum[i] - cum[i - 1]) / 1.01**i for i in (1, 2, 3))
    got = gg.clv(bgnbd, 5, 30.0, 38.86, 45.5, horizon=3, discount_rate=0.01, time_unit="week")
    assert float(got) == pytest.approx(by_hand, rel=1e-12)
    with pytest.raises(ConfigError, match="time_unit must be one of"):
        gg.clv(bgnbd, 5, 30.0, 38.86, 45.5, horizon=3, discount_rate=0.01, time_unit="fortnight")


# --------------------------------------------------------------------------------------
# 3. aggregation, extremes, bad input
# --------------------------------------------------------------------------------------


def test_weighted_aggregation_is_exact(cdnow):
    x, tx, T = cdnow
    rows, counts = np.unique(np.column_stack(cdnow), axis=0, return_counts=True)
    tiled = BGNBD().fit(np.tile(x, 3), np.tile(tx, 3), np.tile(T, 3))
    weighted = BGNBD().fit(rows[:, 0], rows[:, 1], rows[:, 2], weights=3.0 * counts)
    assert tiled.params_ == weighted.params_
    assert tiled.log_likelihood_ == weighted.log_likelihood_
    assert tiled.n_customers_ == 3 * 2357
    raw = BGNBD(aggregate=False).fit(x, tx, T)
    once = BGNBD().fit(x, tx, T)
    for k in once.params_:
        assert raw.params_[k] == pytest.approx(once.params_[k], rel=1e-5)
    assert raw.log_likelihood_ == pytest.approx(once.log_likelihood_, abs=1e-6)


def test_hundreds_of_purchases_do_not_overflow(cdnow, bgnbd):
    x, tx, T = cdnow
    x2, tx2, T2 = np.append(x, [500, 800]), np.append(tx, [38.0, 38.5]), np.append(T, [38.86] * 2)
    for model in (BGNBD(), ParetoNBD(), MBGNBD()):
        model.fit(x2, tx2, T2)
        assert np.isfinite(model.log_likelihood_)
        alive = model.p_alive([500, 500], [38.8, 2.0], [38.86, 38.86])
        assert np.all(np.isfinite(alive)) and alive[0] > 0.5 and alive[1] < 1e-6
        e = model.expected_purchases(10.0, [500, 500], [38.8, 2.0], [38.86, 38.86])
        assert np.all(np.isfinite(e)) and e[0] > 50 and e[1] < 1e-4
    # and the values are right, not merely finite
    p = bgnbd.params_
    for tx_ in (38.8, 30.0, 2.0):
        assert float(bgnbd.p_alive(500, tx_, 38.86)) == pytest.approx(
            float(hand_bg_p_alive(p, 500, mp.mpf(tx_), mp.mpf("38.86"))), rel=1e-9, abs=1e-300
        )
        assert float(bgnbd.expected_purchases(10.0, 500, tx_, 38.86)) == pytest.approx(
            float(hand_bg_expected(p, 10, 500, mp.mpf(tx_), mp.mpf("38.86"))), rel=1e-9, abs=1e-300
        )
    gg = GammaGamma().fit([500.0, 3.0, 1.0], [40.0, 20.0, 10.0])
    assert np.isfinite(gg.log_likelihood_)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ([-1, 2], [0.0, 3.0], [5.0, 5.0]),
            r"frequency must be a whole number >= 0; got -1.0 at row 0",
        ),
        (
            ([1, 2], [6.0, 3.0], [5.0, 5.0]),
            r"recency must be <= T .* got recency 6.0 > T 5.0 at row 0",
        ),
        (([1, 2], [1.0, 3.0], [5.0, 0.0]), r"T must be > 0"),
        (([0, 2], [1.0, 3.0], [5.0, 5.0]), r"recency must be 0 for a customer without repeat"),
        (([1, 2], [1.0], [5.0, 5.0, 5.0]), r"must have the same length"),
        (([1.5], [1.0], [5.0]), r"frequency must be a whole number"),
        (([1], [float("nan")], [5.0]), r"recency must be finite numbers"),
    ],
)
def test_bad_input_says_what_was_expected_and_what_came(args, message):
    with pytest.raises(ConfigError, match=message):
        BGNBD().fit(*args)


def test_bad_parameters_and_unfitted_use():
    with pytest.raises(ConfigError, match="The 'tol' parameter of ParetoNBD must be"):
        ParetoNBD(tol=-1.0).fit([1], [1.0], [2.0])
    with pytest.raises(ConfigError, match="not fitted yet"):
        BGNBD().p_alive(1, 1.0, 2.0)
    with pytest.raises(ConfigError, match="must have a column 'recency'"):
        BGNBD().fit({"frequency": [1]})
    with pytest.raises(ConfigError, match="weights must be >= 0"):
        BGNBD().fit([1, 0], [1.0, 0.0], [2.0, 2.0], weights=[1.0, -1.0])
    with pytest.raises(ConfigError, match="monetary_value must be > 0 for a repeat buyer"):
        GammaGamma().fit([1, 2], [10.0, 0.0])


# --------------------------------------------------------------------------------------
# 4. rfm_summary from a tiny shop
# --------------------------------------------------------------------------------------


def test_rfm_summary_from_a_tiny_shop(ws, write_csv):
    # Asia/Seoul. c1: first 05-01 (100); 05-15 twice (30 + 20 → one purchase of 50);
    # 06-01 at noon (80, 20 refunded → 60) and 2025-05-31T20:00Z = 06-01 05:00 local (10):
    # one purchase of 70; a fully refunded order and one after the as-of date do not count.
    # c2: a single purchase on 06-02. c3 buys on the as-of day (T = 0: left out).
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total", "status", "refunded_amount"],
        [
            ["o1", "c1", "2025-05-01 09:00", 100, "paid", 0],
            ["o2", "c1", "2025-05-15 10:00", 30, "paid", 0],
            ["o3", "c1", "2025-05-15 18:00", 20, "paid", 0],
            ["o4", "c1", "2025-06-01 12:00", 80, "partially_refunded", 20],
            ["o5", "c1", "2025-05-31T20:00:00Z", 10, "paid", 0],
            ["o6", "c1", "2025-06-10 12:00", 500, "refunded", 500],
            ["o7", "c1", "2025-07-05 12:00", 999, "paid", 0],
            ["o8", "c2", "2025-06-02 12:00", 40, "paid", 0],
            ["o9", "c3", "2025-06-30 12:00", 70, "paid", 0],
        ],
    )
    ingest_files(ws, "orders", [orders])
    as_of = dt.date(2025, 6, 30)
    weeks = rfm_summary(ws.ibis, as_of).to_pylist()
    assert weeks == [
        {
            "customer_id": "c1",
            "frequency": 2,
            "recency": 31 / 7,
            "T": 60 / 7,
            "monetary_value": (50 + 70) / 2,
        },
        {"customer_id": "c2", "frequency": 0, "recency": 0.0, "T": 28 / 7, "monetary_value": 0.0},
    ]
    days = rfm_summary(ws.ibis, as_of, time_unit="day").to_pylist()
    assert [(r["recency"], r["T"]) for r in days] == [(31.0, 60.0), (0.0, 28.0)]
    # a window from 05-10: c1's first purchase is now 05-15 (50); repeats 06-01 only
    window = rfm_summary(ws.ibis, as_of, time_unit="day", calibration_start=dt.date(2025, 5, 10))
    assert window.to_pylist()[0] == {
        "customer_id": "c1",
        "frequency": 1,
        "recency": 17.0,
        "T": 46.0,
        "monetary_value": 70.0,
    }
    with pytest.raises(ConfigError, match="time_unit must be one of"):
        rfm_summary(ws.ibis, as_of, time_unit="hour")


def test_rfm_summary_rebuilds_the_cdnow_summary_from_transactions(ws, write_csv):
    """The 1/10 sample's raw purchases → the published (x, t_x, T, zbar) of all 2,357 customers
    (as of 1997-09-30, in weeks; the published file is rounded to 2 decimals)."""
    sample = CDNOW / "CDNOW_sample.txt"
    if not (sample.exists() and WITH_SPEND.exists()):
        pytest.fail(f"CDNOW sample or summary not found under {CDNOW}")
    rows = []
    for i, line in enumerate(sample.read_text().splitlines()):
        _, sample_id, day, _, dollars = line.split()
        rows.append([f"o{i}", str(int(sample_id)), f"{day[:4]}-{day[4:6]}-{day[6:]}", dollars])
    ingest_files(
        ws,
        "orders",
        [write_csv("cdnow.csv", ["order_id", "customer_id", "ordered_at", "total"], rows)],
    )
    got = {r["customer_id"]: r for r in rfm_summary(ws.ibis, dt.date(1997, 9, 30)).to_pylist()}
    published = pacsv.read_csv(WITH_SPEND).to_pylist()
    assert len(got) == len(published) == 2357
    for ref in published:
        row = got[str(ref["ID"])]
        assert row["frequency"] == ref["x"]
        assert row["recency"] == pytest.approx(ref["t_x"], abs=0.006)
        assert row["T"] == pytest.approx(ref["T"], abs=0.006)
        if ref["x"] > 0:
            assert row["monetary_value"] == pytest.approx(ref["zbar"], abs=0.006)


def test_fast_aggregation_matches_numpy_unique_rows(cdnow):
    from danggol.predict.models.inputs import _aggregate_rows_slow, aggregate_rows

    weights = np.arange(cdnow[0].size, dtype=float)
    fast_cols, fast_w = aggregate_rows(cdnow, weights)
    slow_cols, slow_w = _aggregate_rows_slow(cdnow, weights)
    for fast, slow in zip(fast_cols, slow_cols, strict=True):
        np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_w, slow_w)


def test_fast_aggregation_on_floats_negative_values_and_no_weights():
    from danggol.predict.models.inputs import _aggregate_rows_slow, aggregate_rows

    rng = np.random.default_rng(3)
    cols = (
        rng.integers(0, 5, 500).astype(float),
        np.round(rng.normal(size=500), 1),  # negative and non-whole values
        rng.choice([0.0, -0.0, 1 / 7, 2 / 7], 500),  # -0.0 counts as 0.0
    )
    fast_cols, fast_w = aggregate_rows(cols, None)
    slow_cols, slow_w = _aggregate_rows_slow(tuple(c + 0.0 for c in cols), None)
    for fast, slow in zip(fast_cols, slow_cols, strict=True):
        np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast_w, slow_w)
    assert fast_w.sum() == 500


@pytest.mark.parametrize("model", [BGNBD, MBGNBD])
@pytest.mark.parametrize(
    "params", [(0.3, 5.0, 0.7, 2.0), (0.24, 4.4, 0.79, 2.43), (0.3, 0.6, 3e4, 1e6)]
)
def test_regrouped_objective_equals_the_per_row_sums(cdnow, model, params):
    """The fit's objective (x-terms once per distinct x, running sums) against Σ w·ll and
    Σ w·∂ll of the per-row formulas, with weights and unsorted rows; at a, b in the tens of
    thousands the per-row betaln differences lose digits, hence the looser tolerance there."""
    x, tx, T = cdnow
    rng = np.random.default_rng(0)
    order = rng.permutation(x.size)
    data = (x[order], tx[order], T[order])
    w = rng.uniform(0.5, 3.0, x.size)
    m = model()
    p = np.array(params)
    ll, grad = m._prepared_objective(data, w)(p)
    row_ll, row_grad = m._loglik_grad(p, data)
    rel = 1e-12 if params[2] < 100 else 1e-8
    assert ll == pytest.approx(float(w @ row_ll), rel=rel)
    np.testing.assert_allclose(grad, w @ row_grad, rtol=1e-6 if params[2] > 100 else 1e-9)


def test_regrouped_gamma_gamma_objective_equals_the_per_row_sums():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 40, 3000).astype(float)
    zbar = rng.gamma(2.0, 30.0, x.size)
    w = rng.uniform(0.5, 3.0, x.size)
    m = GammaGamma()
    p = np.array([6.25, 3.74, 15.44])
    ll, grad = m._prepared_objective((x, zbar), w)(p)
    row_ll, row_grad = m._loglik_grad(p, (x, zbar))
    assert ll == pytest.approx(float(w @ row_ll), rel=1e-12)
    np.testing.assert_allclose(grad, w @ row_grad, rtol=1e-9)


def test_fit_when_every_customer_has_one_dropout_probability():
    """Simulated BG/NBD data whose dropout probability is the same for everyone: the fit
    goes to large a, b (a Beta close to a point mass) and recovers a/(a+b), r and α; the
    log-likelihood reported is exact there."""
    rng = np.random.default_rng(5)
    n, p_drop = 20000, 0.05
    lam = rng.gamma(0.5, 1 / 2.0, n)  # r = 0.5, α = 2
    T = rng.uniform(10, 60, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p_drop:
                break
    m = BGNBD().fit(x, tx, T)
    a, b = m.params_["a"], m.params_["b"]
    assert a + b > 100
    assert a / (a + b) == pytest.approx(p_drop, rel=0.15)
    assert m.params_["r"] == pytest.approx(0.5, rel=0.1)
    assert m.params_["alpha"] == pytest.approx(2.0, rel=0.15)
    # the log-likelihood reported against one whose beta and gamma ratios are computed with
    # mpmath at 40 digits (per distinct x); the per-row numpy formula loses digits at large a, b
    r, alpha = m.params_["r"], m.params_["alpha"]
    with mp.workdps(40):
        ma, mb, mr = mp.mpf(a), mp.mpf(b), mp.mpf(r)
        lbab = mp.log(mp.beta(ma, mb))
        c1, c2, g = {}, {}, {}
        for u in np.unique(x):
            c1[u] = float(mp.log(mp.beta(ma, mb + int(u))) - lbab)
            c2[u] = float(mp.log(mp.beta(ma + 1, mb + int(u) - 1)) - lbab) if u > 0 else -np.inf
            g[u] = float(mp.loggamma(mr + int(u)) - mp.loggamma(mr))
    c1x, c2x, gx = (np.array([d[v] for v in x]) for d in (c1, c2, g))
    t1 = c1x - (r + x) * np.log(alpha + T)
    t2 = c2x - (r + x) * np.log(alpha + tx)
    reference = float(np.sum(gx + r * np.log(alpha) + np.logaddexp(t1, t2)))
    assert m.log_likelihood_ == pytest.approx(reference, abs=1e-6)
