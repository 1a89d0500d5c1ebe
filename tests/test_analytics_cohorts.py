"""Cohort matrices against a small shop worked by hand (as of 2025-04-15).

u1  01-10: 100, 01-20: 50, 03-05: 30              cohort 2025-01
u2  01-31: 200, 02-01: 20                         cohort 2025-01
u3  02-14: 70, 04-15: 10 (the as-of day)          cohort 2025-02
u4  02-28: 40 partially refunded 10 → 30; 03-01 cancelled    cohort 2025-02
u7  2024-12-20 cancelled; 03-10: 25               cohort 2025-03 (first *purchase*)
u5  04-01: 60; 05-01: after the as-of date        cohort 2025-04
u6  01-15 refunded only                           no cohort

          k=0                 k=1            k=2           k=3
2025-01   u1 u2: 3 orders 350 u2: 1 order 20 u1: 1 ord 30  nobody
2025-02   u3 u4: 2 orders 100 nobody         u3: 1 ord 10  (not yet)
2025-03   u7: 1 order 25      nobody         (not yet)
2025-04   u5: 1 order 60      (not yet)
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics_shop import load_shop
from danggol.analytics import cohorts
from danggol.errors import ConfigError

D = dt.date(2025, 4, 15)
N = None


@pytest.fixture
def shop(ws):
    load_shop(
        ws,
        orders=[
            ("a1", "u1", "2025-01-10", 100),
            ("a2", "u1", "2025-01-20", 50),
            ("a3", "u1", "2025-03-05", 30),
            ("b1", "u2", "2025-01-31", 200),
            ("b2", "u2", "2025-02-01", 20),
            ("c1", "u3", "2025-02-14", 70),
            ("c2", "u3", "2025-04-15", 10),
            ("d1", "u4", "2025-02-28", 40, "partially_refunded", 10),
            ("d2", "u4", "2025-03-01", 99, "cancelled"),
            ("e0", "u7", "2024-12-20", 99, "cancelled"),
            ("e1", "u7", "2025-03-10", 25),
            ("f1", "u5", "2025-04-01", 60),
            ("f2", "u5", "2025-05-01", 99),
            ("g1", "u6", "2025-01-15", 80, "refunded", 80),
        ],
    )
    return ws


def test_monthly_cohorts_by_hand(shop):
    c = cohorts(shop.ibis, D)
    assert c.cohorts == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert c.sizes == [2, 2, 1, 1]
    assert c.customers == [[2, 1, 1, 0], [2, 0, 1, N], [1, 0, N, N], [1, N, N, N]]
    assert c.retention == [
        [1.0, 0.5, 0.5, 0.0],
        [1.0, 0.0, 0.5, N],
        [1.0, 0.0, N, N],
        [1.0, N, N, N],
    ]
    assert c.orders == [[3, 1, 1, 0], [2, 0, 1, N], [1, 0, N, N], [1, N, N, N]]
    assert c.revenue == [
        [350.0, 20.0, 30.0, 0.0],
        [100.0, 0.0, 10.0, N],
        [25.0, 0.0, N, N],
        [60.0, N, N, N],
    ]
    data = c.to_dict()
    json.dumps(data)
    assert data["as_of"] == "2025-04-15"


def test_long_table(shop):
    t = cohorts(shop.ibis, D).to_table()
    assert t.num_rows == 4 + 3 + 2 + 1  # the observed cells
    rows = {(r["cohort"], r["offset"]): r for r in t.to_pylist()}
    assert rows["2025-01", 1] == {
        "cohort": "2025-01",
        "offset": 1,
        "size": 2,
        "customers": 1,
        "retention": 0.5,
        "orders": 1,
        "revenue": 20.0,
    }
    assert rows["2025-02", 1]["customers"] == 0


def test_quarters_and_years(shop):
    q = cohorts(shop.ibis, D, period="quarter")
    # 2025-Q1: u1 u2 u3 u4 u7, 8 purchases, 100+50+30+200+20+70+30+25 = 525; Q2: u3 (10)
    assert q.cohorts == ["2025-Q1", "2025-Q2"]
    assert q.customers == [[5, 1], [1, N]]
    assert q.orders == [[8, 1], [1, N]]
    assert q.revenue == [[525.0, 10.0], [60.0, N]]
    y = cohorts(shop.ibis, D, period="year")
    assert (y.cohorts, y.customers, y.revenue) == (["2025"], [[6]], [[595.0]])


def test_a_cohort_is_its_first_purchase_up_to_the_date(shop):
    # as of 2025-02-10, u1 and u2 are January's cohort and nobody else has bought
    c = cohorts(shop.ibis, dt.date(2025, 2, 10))
    assert (c.cohorts, c.customers, c.revenue) == (["2025-01"], [[2, 1]], [[350.0, 20.0]])


def test_empty_and_bad_period(ws):
    c = cohorts(ws.ibis, D)
    assert c.cohorts == [] and c.retention == []
    with pytest.raises(ConfigError, match="period must be one of month, quarter, year"):
        cohorts(ws.ibis, D, period="week")  # type: ignore[arg-type]
