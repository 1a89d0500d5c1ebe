"""Segment sizes, revenue shares and overlaps against a small shop worked by hand.

Customers and amount_spent: c1 100, c2 200, c3 300, c5 400 (c4 and c6 known, no purchase):
6 customers, revenue 1,000.

    big     amount_spent >= 200 → {c2, c3, c5}: 3 customers (0.5), revenue 900 (0.9)
    picked  {c1, c2, c6}                         3 customers (0.5), revenue 300 (0.3)
    odd     {c3, c3, ghost}: c3 once, ghost (not a customer) adds 0 revenue
                                                 2 customers (1/3), revenue 300 (0.3)

    big ∩ picked = {c2}: 1, Jaccard 1 / (3 + 3 − 1) = 0.2,  1/3 of each
    big ∩ odd    = {c3}: 1, Jaccard 1 / (3 + 2 − 1) = 0.25, 1/3 of big, 1/2 of odd
    picked ∩ odd = {}:   0, Jaccard 0
"""

from __future__ import annotations

import datetime as dt
import json

import ibis
import pyarrow as pa
import pytest

from analytics_shop import load_shop
from danggol.analytics import overlap, segment_sizes
from danggol.errors import ConfigError
from danggol.segments.compile import Compiler
from danggol.segments.parse import parse_query

D = dt.date(2025, 6, 30)


@pytest.fixture
def shop(ws):
    load_shop(
        ws,
        customers=["c4", "c6"],
        orders=[
            ("o1", "c1", "2025-01-01", 100),
            ("o2", "c2", "2025-02-01", 200),
            ("o3a", "c3", "2025-03-01", 100),
            ("o3b", "c3", "2025-04-01", 200),
            ("o5", "c5", "2025-05-01", 450, "partially_refunded", 50),
        ],
    )
    big = Compiler(ws.ibis, D).members(parse_query("amount_spent >= 200")).select("customer_id")
    picked = ibis.memtable(pa.table({"customer_id": ["c1", "c2", "c6"]}))
    odd = ibis.memtable(pa.table({"customer_id": ["c3", "c3", "ghost"]}))
    return ws, {"big": big, "picked": picked, "odd": odd}


def test_sizes_by_hand(shop):
    ws, segments = shop
    sizes = {s.segment: s for s in segment_sizes(ws.ibis, D, segments)}
    assert list(sizes) == ["big", "picked", "odd"]
    assert (sizes["big"].customers, sizes["big"].revenue) == (3, 900.0)
    assert sizes["big"].share_of_customers == pytest.approx(0.5)
    assert sizes["big"].revenue_share == pytest.approx(0.9)
    assert (sizes["picked"].customers, sizes["picked"].revenue_share) == (3, pytest.approx(0.3))
    assert (sizes["odd"].customers, sizes["odd"].revenue) == (2, 300.0)
    assert sizes["odd"].share_of_customers == pytest.approx(1 / 3)


def test_overlap_by_hand(shop):
    ws, segments = shop
    o = overlap(ws.ibis, D, segments)
    assert (o.customers, o.revenue) == (6, 1000.0)
    pairs = {(p.a, p.b): p for p in o.pairs}
    assert list(pairs) == [("big", "picked"), ("big", "odd"), ("picked", "odd")]
    bp = pairs["big", "picked"]
    assert (bp.customers, bp.jaccard) == (1, pytest.approx(0.2))
    assert (bp.share_of_a, bp.share_of_b) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    bo = pairs["big", "odd"]
    assert (bo.customers, bo.jaccard) == (1, pytest.approx(0.25))
    assert (bo.share_of_a, bo.share_of_b) == (pytest.approx(1 / 3), pytest.approx(0.5))
    po = pairs["picked", "odd"]
    assert (po.customers, po.jaccard, po.share_of_a) == (0, 0.0, 0.0)
    assert o.matrix() == {
        "big": {"big": 3, "picked": 1, "odd": 1},
        "picked": {"big": 1, "picked": 3, "odd": 0},
        "odd": {"big": 1, "picked": 0, "odd": 2},
    }
    json.dumps(o.to_dict())


def test_one_segment_and_bad_input(shop):
    ws, segments = shop
    o = overlap(ws.ibis, D, {"big": segments["big"]})
    assert [s.customers for s in o.sizes] == [3] and o.pairs == []
    with pytest.raises(ConfigError, match="at least one segment"):
        overlap(ws.ibis, D, {})
    with pytest.raises(ConfigError, match="customer_id column"):
        segment_sizes(ws.ibis, D, {"x": ibis.memtable(pa.table({"id": ["c1"]}))})
