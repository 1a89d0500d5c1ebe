"""The YAML/JSON form of a segment tree: groups as all/any/not, leaves as query text."""

from __future__ import annotations

import json

import pytest
import yaml

from danggol.errors import SegmentError
from danggol.segments.forms import from_dict, to_dict
from danggol.segments.nodes import (
    All,
    AnyOf,
    Compare,
    DateOffset,
    Field,
    Matches,
    Node,
    Not,
    Value,
    conditions,
)
from danggol.segments.parse import parse_query

ORDERS = Compare(Field("number_of_orders"), ">=", Value(1))
RECENT = Compare(Field("last_order_date"), "<", DateOffset(-5, "m"))
VIP = Compare(Field("customer_tags"), "CONTAINS", Value("vip"))
BOUGHT = Matches(
    "products_purchased",
    (
        Compare(Field("id"), "=", Value("A")),
        Compare(Field("date"), ">=", DateOffset(-90, "d")),
    ),
)
TREE = All((ORDERS, AnyOf((RECENT, Not(VIP)))))

SEGMENT_YAML = """
name: lapsing_buyers
where:
  all:
    - number_of_orders >= 1
    - any:
        - last_order_date < -5m
        - not: customer_tags CONTAINS 'vip'
"""


def error_of(data: object, **kw: object) -> SegmentError:
    with pytest.raises(SegmentError) as info:
        from_dict(data, **kw)  # type: ignore[arg-type]
    return info.value


# --------------------------------------------------------------------------- reading and writing


def test_yaml_segment_reads_into_the_tree() -> None:
    where = yaml.safe_load(SEGMENT_YAML)["where"]
    assert from_dict(where) == TREE


def test_to_dict_shape() -> None:
    assert to_dict(TREE) == {
        "all": [
            "number_of_orders >= 1",
            {"any": ["last_order_date < -5m", {"not": "customer_tags CONTAINS 'vip'"}]},
        ]
    }
    assert to_dict(ORDERS) == "number_of_orders >= 1"


@pytest.mark.parametrize(
    "tree",
    [
        TREE,
        ORDERS,
        Not(Not(VIP)),
        AnyOf((BOUGHT, All((ORDERS, RECENT)), Not(AnyOf((VIP, RECENT))))),
        All((Compare(Field("customer_cities"), "IN", (Value("O'Neil: 서울"), Value("a\\b"))), VIP)),
    ],
)
def test_round_trip_through_yaml_and_json(tree: Node) -> None:
    data = to_dict(tree)
    assert from_dict(data) == tree
    assert from_dict(yaml.safe_load(yaml.safe_dump(data, allow_unicode=True))) == tree
    assert from_dict(json.loads(json.dumps(data, ensure_ascii=False))) == tree


def test_yaml_quotes_calls_with_colons() -> None:
    # 'id: ' inside a condition would read as a mapping if the dump did not quote it
    text = yaml.safe_dump(to_dict(All((BOUGHT, ORDERS))))
    assert from_dict(yaml.safe_load(text)) == All((BOUGHT, ORDERS))


def test_single_child_list_is_the_child() -> None:
    assert from_dict({"all": ["number_of_orders >= 1"]}) == ORDERS
    assert from_dict({"any": [{"all": ["number_of_orders >= 1"]}]}) == ORDERS


def test_leaf_text_may_be_a_whole_query() -> None:
    data = {
        "any": ["number_of_orders >= 1 AND last_order_date < -5m", "customer_tags CONTAINS 'vip'"]
    }
    assert from_dict(data) == AnyOf((All((ORDERS, RECENT)), VIP))
    assert from_dict("NOT (customer_tags CONTAINS 'vip')") == Not(VIP)


def test_paths_match_nodes_conditions() -> None:
    # the path an error names is the one nodes.conditions gives the same condition
    tree = from_dict(yaml.safe_load(SEGMENT_YAML)["where"])
    assert [path for path, _ in conditions(tree)] == ["0", "1.0", "1.1.0"]


# --------------------------------------------------------------------------- errors


def test_bad_leaf_names_its_path_position_and_file() -> None:
    data = {
        "all": ["number_of_orders >= 1", {"any": ["last_order_date < -5m", "amount_spend > 10"]}]
    }
    err = error_of(data, file="segments/lapsing.yaml")
    assert err.path == "1.1"
    assert err.file == "segments/lapsing.yaml"
    assert err.position == 0
    assert err.suggestion == "amount_spent"
    assert err.message == "unknown field 'amount_spend'"
    assert str(err).startswith("segments/lapsing.yaml, position 1, condition 1.1: unknown field")
    assert str(err).endswith("  amount_spend > 10\n  ^")


def test_error_under_not_uses_child_index_zero() -> None:
    err = error_of({"all": ["number_of_orders >= 1", {"not": "age >"}]})
    assert err.path == "1.0"
    assert err.position == len("age >")


def test_unknown_group_key() -> None:
    err = error_of({"all": ["number_of_orders >= 1", {"either": ["age > 1"]}]})
    assert err.path == "1"
    assert "exactly one key, all, any or not" in err.message
    assert "lower case" in error_of({"ALL": ["age > 1", "age < 3"]}).message


def test_two_keys_in_one_group() -> None:
    err = error_of({"all": ["age > 1", "age < 9"], "any": ["refunds = 0", "aov > 1"]})
    assert err.path is None
    assert "'all', 'any'" in err.message


def test_unquoted_yaml_colon_gets_a_hint() -> None:
    text = "all:\n  - number_of_orders(date: -7d) = 0\n  - number_of_orders >= 1\n"
    data = yaml.safe_load(text)
    assert data["all"][0] == {"number_of_orders(date": "-7d) = 0"}
    err = error_of(data)
    assert err.path == "0"
    assert "must be quoted in YAML" in err.message


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"all": []}, None, "'all' needs a non-empty list"),
        ({"any": "age > 1"}, None, "'any' needs a non-empty list of conditions, got str"),
        ({"all": ["age > 1", 3]}, "1", "got int 3"),
        ({"all": ["age > 1", None]}, "1", "got nothing (null)"),
        ({"any": ["age > 1", ["age < 3"]]}, "1", "got a list of 1"),
        ({"not": None}, "0", "got nothing (null)"),
        ({"all": ["age > 1", {"not": {"any": ["age > 3", True]}}]}, "1.0.1", "got bool True"),
        ({}, None, "got none"),
        (None, None, "got nothing (null)"),
        ("", None, "empty query"),
    ],
)
def test_shape_errors(data: object, path: str | None, words: str) -> None:
    err = error_of(data, file="x.yaml")
    assert err.path == path
    assert err.file == "x.yaml"
    assert words in err.message


def test_to_dict_refuses_non_nodes() -> None:
    with pytest.raises(SegmentError):
        to_dict("number_of_orders >= 1")  # type: ignore[arg-type]


def test_from_dict_agrees_with_parse_query() -> None:
    text = "number_of_orders >= 1 AND (last_order_date < -5m OR NOT (customer_tags CONTAINS 'vip'))"
    assert from_dict(text) == parse_query(text) == TREE
