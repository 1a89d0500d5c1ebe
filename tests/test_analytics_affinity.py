"""Product affinity against a basket example worked by hand.

The five purchase orders (the issue's example) and who placed them, when:

    o1 {A, B}      x  2025-02-01        x: o3 {A} then o1 {A, B}
    o2 {A, B, C}   y  2025-01-05        y: o2 {A, B, C} then o4 {B, C}
    o3 {A}         x  2025-01-01        z: o5 {C}
    o4 {B, C}      y  2025-03-01
    o5 {C}         z  2025-02-01

Bought together: N = 5; n(A) = n(B) = n(C) = 3; n(AB) = 2, n(BC) = 2, n(AC) = 1.

    A → B: support 2/5 = 0.4, confidence 2/3, lift (2/3)/(3/5) = 10/9  (B → A the same)
    B → C: support 0.4,       confidence 2/3, lift 10/9               (C → B the same)
    A → C: support 1/5 = 0.2, confidence 1/3, lift (1/3)/(3/5) = 5/9  (C → A the same)

Bought later (first A < last B, per customer): C = 3; c(A) = 2 (x, y), c(B) = 2 (x, y),
c(C) = 2 (y, z).
    x: A 01-01…02-01, B 02-01 → A⇒B (B⇒A no: first B 02-01 is not before last A 02-01)
    y: A 01-05, B 01-05…03-01, C 01-05…03-01 → A⇒B, A⇒C, B⇒C, C⇒B
    A⇒B: 2 customers, support 2/3, confidence 2/2 = 1, lift 1/(2/3) = 1.5
    A⇒C, B⇒C, C⇒B: 1 customer, support 1/3, confidence 1/2, lift (1/2)/(2/3) = 0.75
"""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import json

import pytest

from analytics_shop import load_shop
from danggol.analytics import affinity, cross_sell_query
from danggol.errors import ConfigError
from danggol.segments.compile import Compiler
from danggol.segments.parse import parse_query

D = dt.date(2025, 3, 31)


@pytest.fixture
def baskets(ws):
    load_shop(
        ws,
        orders=[
            ("o1", "x", "2025-02-01", 30),
            ("o2", "y", "2025-01-05", 45),
            ("o3", "x", "2025-01-01", 10),
            ("o4", "y", "2025-03-01", 35),
            ("o5", "z", "2025-02-01", 20),
            # none of these is a basket of the example:
            ("o6", "z", "2025-03-10", 99, "cancelled"),  # not a purchase
            ("o7", "x", "2025-04-02", 99),  # after the as-of date
            ("o8", "w", "2025-03-05", 50),  # a purchase without lines
        ],
        items=[
            ("o1", "A", "Apple"),
            ("o1", "B", "Banana"),
            ("o1", "A", "Apple"),  # a second line of A: A counts once per order
            ("o2", "A", "Apple"),
            ("o2", "B", "Banana"),
            ("o2", "C"),
            ("o3", "A", "Apple"),
            ("o4", "B", "Banana"),
            ("o4", "C"),
            ("o5", "C"),
            ("o6", "A", "Apple"),
            ("o6", "C"),
            ("o7", "B", "Banana"),
            ("o7", "A", "Apple"),
        ],
    )
    return ws


def _rules(rules):
    return {(r.antecedent, r.consequent): r for r in rules}


def test_pairs_by_hand(baskets):
    result = affinity(baskets.ibis, D, min_support=0, top=None)
    assert (result.orders, result.customers) == (5, 3)
    rules = _rules(result.pairs)
    assert set(rules) == {(a, b) for a in "ABC" for b in "ABC" if a != b}
    for pair in [("A", "B"), ("B", "A"), ("B", "C"), ("C", "B")]:
        r = rules[pair]
        assert (r.count, r.antecedent_count, r.consequent_count) == (2, 3, 3)
        assert r.support == pytest.approx(0.4)
        assert r.confidence == pytest.approx(2 / 3)
        assert r.lift == pytest.approx(10 / 9)
    for pair in [("A", "C"), ("C", "A")]:
        r = rules[pair]
        assert r.count == 1
        assert r.support == pytest.approx(0.2)
        assert r.confidence == pytest.approx(1 / 3)
        assert r.lift == pytest.approx(5 / 9)
    # best lift first, then count, then ids
    assert [(r.antecedent, r.consequent) for r in result.pairs] == [
        ("A", "B"),
        ("B", "A"),
        ("B", "C"),
        ("C", "B"),
        ("A", "C"),
        ("C", "A"),
    ]
    assert (rules["A", "B"].antecedent_name, rules["A", "B"].consequent_name) == ("Apple", "Banana")
    assert rules["B", "C"].consequent_name is None


def test_sequences_by_hand(baskets):
    result = affinity(baskets.ibis, D, min_support=0, top=None)
    rules = _rules(result.sequences)
    assert set(rules) == {("A", "B"), ("A", "C"), ("B", "C"), ("C", "B")}
    ab = rules["A", "B"]
    assert (ab.count, ab.antecedent_count, ab.consequent_count) == (2, 2, 2)
    assert ab.support == pytest.approx(2 / 3)
    assert ab.confidence == pytest.approx(1.0)
    assert ab.lift == pytest.approx(1.5)
    for pair in [("A", "C"), ("B", "C"), ("C", "B")]:
        r = rules[pair]
        assert r.count == 1
        assert r.support == pytest.approx(1 / 3)
        assert r.confidence == pytest.approx(0.5)
        assert r.lift == pytest.approx(0.75)
    assert (result.sequences[0].antecedent, result.sequences[0].consequent) == ("A", "B")


def test_min_support_and_top(baskets):
    # pairs keep support 0.4 (not 0.2); sequences keep 2/3 (not 1/3)
    result = affinity(baskets.ibis, D, min_support=0.35, top=3)
    assert [(r.antecedent, r.consequent) for r in result.pairs] == [
        ("A", "B"),
        ("B", "A"),
        ("B", "C"),
    ]
    assert [(r.antecedent, r.consequent) for r in result.sequences] == [("A", "B")]
    json.dumps(result.to_dict())


def test_window_of_months(baskets):
    # the last 2 months from 2025-03-31 start on 2025-01-31: o1, o4, o5 remain
    result = affinity(baskets.ibis, D, min_support=0, top=None, months=2)
    assert result.since == dt.date(2025, 1, 31)
    assert (result.orders, result.customers) == (3, 3)
    rules = _rules(result.pairs)
    assert set(rules) == {("A", "B"), ("B", "A"), ("B", "C"), ("C", "B")}
    # A → B: n(AB) = 1, n(A) = 1, n(B) = 2: support 1/3, confidence 1, lift 1/(2/3) = 1.5
    assert rules["A", "B"].lift == pytest.approx(1.5)


def test_empty_shop(ws):
    result = affinity(ws.ibis, D)
    assert result.orders == 0 and result.pairs == [] and result.sequences == []


def test_cross_sell_query_text():
    # printed in Shopify's MATCHES form (the canonical form of every segment)
    assert cross_sell_query("A", "B") == (
        "products_purchased MATCHES (id = 'A', date >= -3m) AND "
        "products_purchased NOT MATCHES (id = 'B', date >= -3m)"
    )
    assert cross_sell_query("it's", "a\\b", months=6) == (
        "products_purchased MATCHES (id = 'it\\'s', date >= -6m) AND "
        "products_purchased NOT MATCHES (id = 'a\\\\b', date >= -6m)"
    )
    with pytest.raises(ConfigError, match="months"):
        cross_sell_query("A", "B", months=0)


def test_a_rule_becomes_a_segment(baskets):
    rule = _rules(affinity(baskets.ibis, D, min_support=0, top=None).pairs)["A", "C"]
    query = rule.cross_sell_query(months=3)
    members = Compiler(baskets.ibis, D).members(parse_query(query))
    # bought A since 2024-12-31 (x, y) but not C (y did): x
    assert members.select("customer_id").to_pyarrow()["customer_id"].to_pylist() == ["x"]


def test_bad_parameters(ws):
    with pytest.raises(ConfigError, match="min_support"):
        affinity(ws.ibis, D, min_support=2)
    with pytest.raises(ConfigError, match="top"):
        affinity(ws.ibis, D, top=0)


def test_docstring_examples_run():
    # the package exports the function under the module's name: fetch the module itself
    module = importlib.import_module("danggol.analytics.affinity")
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0
