"""The query, YAML and Python forms of one segment give the same tree, printed back as the query."""

from __future__ import annotations

import doctest

import pytest
import yaml

from danggol import segment as s
from danggol.errors import SegmentError
from danggol.segments import build
from danggol.segments.forms import from_dict
from danggol.segments.parse import parse_query, to_query

CASES = [
    (
        "number_of_orders >= 1 AND last_order_date < -5m",
        (s.field("number_of_orders") >= 1) & (s.field("last_order_date") < s.ago(5, "m")),
        "all:\n  - number_of_orders >= 1\n  - last_order_date < -5m\n",
    ),
    (
        "products_purchased MATCHES (id = 'A', date >= -3m) "
        "AND products_purchased NOT MATCHES (id = 'B', date >= -3m)",
        (s.products_purchased(id="A", date=s.ago(3, "m")) == True)  # noqa: E712
        & (s.products_purchased(id="B", date=s.ago(3, "m")) == False),  # noqa: E712
        "all:\n  - \"products_purchased(id: 'A', date: -3m) = true\"\n"
        "  - \"products_purchased(id: 'B', date: -3m) = false\"\n",
    ),
    (
        "events MATCHES (name = 'cart_add', date >= -7d) AND number_of_orders(date: -7d) = 0",
        (s.events(name="cart_add", date=s.ago(7)) >= 1) & (s.number_of_orders(date=s.ago(7)) == 0),
        "all:\n  - \"events(name: 'cart_add', date: -7d) >= 1\"\n  - 'number_of_orders(date: -7d) = 0'\n",
    ),
    (
        "products_purchased MATCHES (id = '1234', date > -3m) "
        "OR orders_placed NOT MATCHES (date BETWEEN -12m AND today, count >= 2)",
        s.matches("products_purchased", s.arg("id") == 1234, s.arg("date") > s.ago(3, "m"))
        | ~s.matches(
            "orders_placed",
            s.arg("date").between(s.ago(12, "m"), s.today()),
            s.arg("count") >= 2,
        ),
        "any:\n  - products_purchased MATCHES (id = 1234, date > -3m)\n"
        "  - orders_placed NOT MATCHES (date BETWEEN 12_months_ago AND today, count >= 2)\n",
    ),
    (
        "amount_spent_percentile >= 60 AND amount_spent_percentile < 80",
        (s.field("amount_spent_percentile") >= 60) & (s.field("amount_spent_percentile") < 80),
        "all:\n  - amount_spent_percentile >= 60\n  - amount_spent_percentile < 80\n",
    ),
    (
        "NOT (customer_tags CONTAINS 'wholesale')",
        ~s.field("customer_tags").contains("wholesale"),
        "not: customer_tags CONTAINS 'wholesale'\n",
    ),
    (
        "days_since_last_order > 1.5 * avg_days_between_orders OR in_segment('vip') = true",
        (s.field("days_since_last_order") > 1.5 * s.field("avg_days_between_orders"))
        | s.in_segment("vip"),
        "any:\n  - days_since_last_order > 1.5 * avg_days_between_orders\n  - in_segment('vip') = true\n",
    ),
]


@pytest.mark.parametrize(("query", "python", "yaml_text"), CASES)
def test_three_forms_give_one_tree(query, python, yaml_text):
    tree = parse_query(query)
    assert python.node == tree
    assert from_dict(yaml.safe_load(yaml_text)) == tree
    assert to_query(tree) == query
    assert build.to_query(python) == query


def test_python_form_checks_names():
    with pytest.raises(SegmentError, match="amount_spent"):
        s.field("amount_spend")
    with pytest.raises(SegmentError, match="its arguments are"):
        s.products_purchased(colour="red")


def test_build_docstring_examples_run():
    failures, tried = doctest.testmod(build)
    assert tried > 0 and failures == 0
