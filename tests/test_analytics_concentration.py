"""Revenue concentration against values computed by hand from the definitions."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import itertools
import json

import pytest

from analytics_shop import load_shop
from danggol.analytics import concentration
from danggol.analytics._common import top_count
from danggol.analytics.concentration import buyer_spend
from danggol.errors import ConfigError
from danggol.profile import customer_profile

D = dt.date(2025, 6, 30)


@pytest.fixture
def four(ws):
    """Buyers spending 10, 20, 30, 40 as of D, each reached a different way."""
    load_shop(
        ws,
        customers=["c1", "c5"],
        orders=[
            ("o1", "c1", "2025-01-10", 10),
            ("o1-late", "c1", "2025-07-01", 1000),  # after the as-of date
            ("o2a", "c2", "2025-02-01", 5),
            ("o2b", "c2", "2025-03-01", 15),
            ("o3", "c3", "2025-03-01", 30),
            ("o3x", "c3", "2025-03-02", 100, "cancelled"),  # not a purchase
            ("o4", "c4", "2025-04-01", 50, "partially_refunded", 10),  # 50 − 10 = 40
            ("o6", "c6", "2025-04-01", 70, "refunded", 70),  # c6 never bought
        ],
    )
    return ws


def test_four_buyers_by_hand(four):
    c = concentration(four.ibis, D)
    assert c.buyers == 4  # c5 (no order) and c6 (refunded only) are not buyers
    assert c.revenue == pytest.approx(100.0)
    # y = 10, 20, 30, 40; Σ i·y = 10 + 40 + 90 + 160 = 300; G = 2·300/(4·100) − 5/4 = 0.25
    assert c.gini == pytest.approx(0.25)
    # top 1%, 10%, 20% of 4 = ⌈0.04⌉, ⌈0.4⌉, ⌈0.8⌉ = 1 customer: 40 / 100
    assert [(t.top, t.customers, t.revenue) for t in c.tops] == [
        (0.01, 1, pytest.approx(40.0)),
        (0.10, 1, pytest.approx(40.0)),
        (0.20, 1, pytest.approx(40.0)),
    ]
    assert c.top_share(0.10) == pytest.approx(0.4)
    # Lorenz through (0,0) (.25,.1) (.5,.3) (.75,.6) (1,1), linear in between
    points = dict(c.lorenz)
    assert len(c.lorenz) == 101
    assert points[0.0] == 0.0 and points[1.0] == pytest.approx(1.0)
    assert points[0.25] == pytest.approx(0.10)
    assert points[0.5] == pytest.approx(0.30)
    assert points[0.75] == pytest.approx(0.60)
    assert points[0.1] == pytest.approx(0.04)  # x = 0.4 customers: 0.4 × 10 = 4
    assert points[0.3] == pytest.approx(0.14)  # x = 1.2: 10 + 0.2 × 20 = 14
    json.dumps(c.to_dict())  # fit for JSON
    assert c.to_dict()["as_of"] == "2025-06-30"


def test_buyer_spend_is_the_profiles_amount_spent(four):
    got = buyer_spend(four.ibis, D).to_pyarrow().to_pylist()
    p = customer_profile(four.ibis, D, events=[])
    want = p.filter(p.number_of_orders > 0).select("customer_id", "amount_spent")
    key = lambda r: r["customer_id"]  # noqa: E731
    assert sorted(got, key=key) == sorted(want.to_pyarrow().to_pylist(), key=key)


def test_five_lorenz_points(four):
    c = concentration(four.ibis, D, points=5)
    assert c.lorenz == [
        (0.0, 0.0),
        (0.25, pytest.approx(0.1)),
        (0.5, pytest.approx(0.3)),
        (0.75, pytest.approx(0.6)),
        (1.0, pytest.approx(1.0)),
    ]


def test_ten_buyers_by_hand(ws):
    # spends 100, 200, …, 1000: T = 5,500
    load_shop(ws, orders=[(f"o{i}", f"c{i:02d}", "2025-05-01", 100 * i) for i in range(1, 11)])
    c = concentration(ws.ibis, D, tops=(0.01, 0.1, 0.2, 0.5))
    # top 1% and 10% = ⌈0.1⌉ = ⌈1⌉ = 1 customer (1,000); 20% = 2 (1,900); 50% = 5 (4,000)
    assert [t.customers for t in c.tops] == [1, 1, 2, 5]
    assert [t.revenue_share for t in c.tops] == [
        pytest.approx(1000 / 5500),
        pytest.approx(1000 / 5500),
        pytest.approx(1900 / 5500),
        pytest.approx(4000 / 5500),
    ]
    # Σ i·y = 100·Σ i² = 100·385 = 38,500; G = 2·38,500/(10·5,500) − 11/10 = 1.4 − 1.1 = 0.3
    assert c.gini == pytest.approx(0.3)
    # the same from the mean absolute difference: Σᵢ Σⱼ |yᵢ − yⱼ| / (2 n² ȳ)
    y = [100 * i for i in range(1, 11)]
    mad = sum(abs(a - b) for a, b in itertools.product(y, y)) / (2 * 10**2 * 550)
    assert c.gini == pytest.approx(mad)
    # Lorenz at 30% of customers = the 3 smallest = 600 / 5,500
    assert dict(c.lorenz)[0.3] == pytest.approx(600 / 5500)


def test_ties_do_not_change_the_shares(ws):
    # five buyers at 10 and one at 50: top 20% of 6 = ⌈1.2⌉ = 2 → 50 + 10 = 60 of 100
    load_shop(ws, orders=[(f"o{i}", f"c{i}", "2025-05-01", 10) for i in range(5)])
    load_shop(ws, orders=[("o9", "c9", "2025-05-01", 50)])
    c = concentration(ws.ibis, D)
    assert c.top_share(0.2) == pytest.approx(0.6)
    # Σ i·y = 10·(1+…+5) + 6·50 = 450; G = 900/600 − 7/6 = 1/3
    assert c.gini == pytest.approx(1 / 3)


def test_extremes(ws):
    load_shop(ws, orders=[(f"o{i}", f"c{i}", "2025-05-01", 25) for i in range(4)])
    assert concentration(ws.ibis, D).gini == pytest.approx(0.0)  # everyone equal


def test_empty_shop(ws):
    c = concentration(ws.ibis, D)
    assert c.buyers == 0 and c.gini is None and c.lorenz == []
    assert [t.revenue_share for t in c.tops] == [None, None, None]


def test_top_count_is_exact():
    assert top_count(0.1, 3000) == 300  # 0.1 × 3000 = 300.00000000000006 in floats
    assert top_count(0.01, 250) == 3
    assert top_count(0.2, 4) == 1
    with pytest.raises(ConfigError, match=r"fraction in \(0, 1\]"):
        top_count(10, 100)


def test_bad_points(ws):
    with pytest.raises(ConfigError, match="points must be"):
        concentration(ws.ibis, D, points=1)


def test_docstring_examples_run():
    # the package exports the function under the module's name: fetch the module itself
    module = importlib.import_module("danggol.analytics.concentration")
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0
