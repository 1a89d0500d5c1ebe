"""Segments compiled and run: member sets against hand-written DuckDB SQL.

Every expected set here is computed independently of danggol's profile and compiler:
either by the reference SQL of ``segment_fixtures`` (written from the semantics: purchases,
the customer universe, date offsets by DuckDB interval arithmetic, two-valued NOT) on a
generated shop, or worked out by hand on a tiny CSV shop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from danggol.demo import generate_shop
from danggol.errors import SegmentError
from danggol.ingest.load import ingest_tables
from danggol.predict.customers import customer_predictions
from danggol.scores import scored_profile
from danggol.segments import service
from danggol.segments.definition import Segment
from danggol.segments.registry import builtin_segments
from danggol.store.workspace import Workspace
from segment_fixtures import (
    TINY_AS_OF,
    TINY_UNIVERSE,
    ago,
    bought,
    event_ids,
    every_id,
    load_rows,
    load_tiny,
    reference,
    result,
    run_segments,
    split_sql,
    universe,
)

#: the generated shop ends on 2025-06-30; 2025-05-31 cuts it (data after the as-of date
#: exists) and makes month offsets clamp (−3m = 2025-02-28, −1m = 2025-04-30)
D_END = dt.date(2025, 6, 30)
D_MID = dt.date(2025, 5, 31)
AS_OF_DATES = pytest.mark.parametrize("as_of", [D_END, D_MID], ids=["2025-06-30", "2025-05-31"])


def ids_of(ws: Workspace, tgt: service.Target, as_of: dt.date) -> set[str]:
    table = service.members(ws, tgt, as_of).select("customer_id").to_pyarrow()
    ids = table["customer_id"].to_pylist()
    assert len(ids) == len(set(ids)), "a customer is listed twice"
    return set(ids)


def members(ws: Workspace, query: str, as_of: dt.date, params: dict | None = None) -> set[str]:
    return ids_of(ws, service.target(ws, query, params), as_of)


def quote(value: str) -> str:
    """A text literal of the query language: single quotes, backslash escapes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def assert_same(got: set[str], want: set[str], query: str) -> None:
    missing, extra = sorted(want - got), sorted(got - want)
    assert not missing and not extra, (
        f"{query}\n  expected {len(want)}, got {len(got)}\n"
        f"  missing (first 10): {missing[:10]}\n  extra (first 10): {extra[:10]}"
    )


# --------------------------------------------------------------------------------------
# the generated shop, built once for the module
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path_factory.mktemp("generated") / "shop", timezone="Asia/Seoul")
    ingest_tables(ws, generate_shop(3000, seed=11, end=D_END))
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def picks(shop: Workspace) -> dict[str, str]:
    """Product ids that occur: A, the product bought by most customers from 2025-02-28 on;
    B, the product most often bought by A's buyers in that time (so 'not B' removes some)."""
    window = "o.status IN ('paid', 'partially_refunded') AND o.order_date >= DATE '2025-02-28'"
    a = shop.duck.execute(
        f"""SELECT i.product_id FROM order_items i JOIN orders o USING (order_id)
            WHERE {window} GROUP BY 1 ORDER BY count(DISTINCT o.customer_id) DESC, 1 LIMIT 1"""
    ).fetchone()[0]
    b = shop.duck.execute(
        f"""SELECT i.product_id FROM order_items i JOIN orders o USING (order_id)
            WHERE {window} AND i.product_id <> $a AND o.customer_id IN (
                SELECT o2.customer_id FROM order_items i2 JOIN orders o2 USING (order_id)
                WHERE i2.product_id = $a)
            GROUP BY 1 ORDER BY count(DISTINCT o.customer_id) DESC, 1 LIMIT 1""",
        {"a": a},
    ).fetchone()[0]
    return {"a": a, "b": b}


# --------------------------------------------------------------------------------------
# 1. the issue's examples on the generated shop
# --------------------------------------------------------------------------------------

_NESTED = (
    "(customer_regions IN ('서울특별시', '경기도') "
    "AND NOT (first_order_date BETWEEN -1y AND -3m OR customer_cities IS NULL)) "
    "OR (NOT (NOT (gender = 'FEMALE' AND amount_spent > 100000)) "
    "AND (last_order_date BETWEEN 2025-01-01 AND 2025-03-31 "
    "OR (refunds >= 1 AND NOT (customer_tags CONTAINS 'newsletter')))) "
    "OR (signup_date IS NULL AND events(name: 'visit', date: -30d) >= 2)"
)
_NESTED_SQL = f"""
SELECT customer_id FROM c
WHERE (coalesce(lower(region) IN ('서울특별시', '경기도'), FALSE)
       AND NOT (coalesce(first_date BETWEEN {ago(1, "YEAR")} AND {ago(3, "MONTH")}, FALSE)
                OR city IS NULL))
   OR (coalesce(lower(gender) = 'female', FALSE) AND coalesce(spent > 100000, FALSE)
       AND (coalesce(last_date BETWEEN DATE '2025-01-01' AND DATE '2025-03-31', FALSE)
            OR (refunds >= 1 AND NOT coalesce(list_contains(tags, 'newsletter'), FALSE))))
   OR (signup_date IS NULL
       AND customer_id IN {event_ids("visit", ago(30, "DAY"), at_least=2)})
"""

#: name: (query, reference SQL); ``{a}`` / ``{b}`` are the picked products (``$a``, ``$b``)
EXAMPLES: dict[str, tuple[str, str]] = {
    "lapsed_buyers": (
        "number_of_orders >= 1 AND last_order_date < -5m",
        f"SELECT customer_id FROM c WHERE n_orders >= 1 AND last_date < {ago(5, 'MONTH')}",
    ),
    "bought_a_not_b": (
        "products_purchased(id: {a}, date: -3m) = true "
        "AND products_purchased(id: {b}, date: -3m) = false",
        f"""SELECT customer_id FROM c
            WHERE customer_id IN {bought(ago(3, "MONTH"), "i.product_id = $a")}
              AND customer_id NOT IN {bought(ago(3, "MONTH"), "i.product_id = $b")}""",
    ),
    "carted_not_ordered": (
        "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0",
        f"""SELECT customer_id FROM c
            WHERE customer_id IN {event_ids("cart_add", ago(7, "DAY"))}
              AND customer_id NOT IN (
                  SELECT customer_id FROM purchase WHERE order_date >= {ago(7, "DAY")})""",
    ),
    "spend_band_60_80": (
        "amount_spent_percentile >= 60 AND amount_spent_percentile < 80",
        "SELECT customer_id FROM c WHERE pct >= 60 AND pct < 80",
    ),
    "not_wholesale": (
        "NOT (customer_tags CONTAINS 'wholesale')",
        "SELECT customer_id FROM c WHERE NOT coalesce(list_contains(tags, 'wholesale'), FALSE)",
    ),
    "overdue": (
        "days_since_last_order > 1.5 * avg_days_between_orders",
        "SELECT customer_id FROM c WHERE days_since > 1.5 * avg_gap",
    ),
    "spent_300k_last_year": (
        "amount_spent(date: -1y) >= 300000",
        f"""SELECT customer_id FROM purchase WHERE order_date >= {ago(1, "YEAR")}
            GROUP BY customer_id
            HAVING sum(total - coalesce(refunded_amount, 0)) >= 300000""",
    ),
    "deep_nesting": (_NESTED, _NESTED_SQL),
    "in_builtin_segment": (
        "in_segment('top_spenders') AND customer_regions IN ('서울특별시', '경기도')",
        "SELECT customer_id FROM c WHERE pct >= 80 AND region IN ('서울특별시', '경기도')",
    ),
    "in_two_builtins": (
        "in_segment('next_band_spenders') OR in_segment('top_spenders')",
        "SELECT customer_id FROM c WHERE pct >= 60",
    ),
}


def _products(picks: dict[str, str]) -> dict[str, str]:
    return {"A": picks["a"], "B": picks["b"]}


@pytest.fixture(scope="module")
def shop_runs(shop, picks) -> dict:
    """The examples at both dates and every built-in as of 2025-05-31, in one round trip."""
    cases: dict = {}
    for as_of in (D_END, D_MID):
        for name, (query, _) in EXAMPLES.items():
            text = query.format(a=quote(picks["a"]), b=quote(picks["b"]))
            cases["example", name, as_of] = (text, None, as_of)
        cases["example", "everyone", as_of] = ("number_of_orders >= 0", None, as_of)
        cases["example", "every_id", as_of] = ("known_customer IN (true, false)", None, as_of)
    for name, (params, _) in BUILTIN_REFERENCE.items():
        given = {
            k: _products(picks).get(v, v) if isinstance(v, str) else v for k, v in params.items()
        }
        cases["builtin", name, D_MID] = (name, given, D_MID)
    grades = scored_profile(shop.ibis, D_MID).select("customer_id", "grade").to_pyarrow()
    pred, _ = customer_predictions(shop.ibis, D_MID, grades=grades, vip_grade="vip")
    pred = pred.join(grades, "customer_id")
    shop.duck.register("pred_ref", pred)
    return run_segments(shop, cases)


def check_against_sql(
    ws, got: set[str], sql: str, as_of: dt.date, picks: dict, what: str, everyone: bool = False
):
    used = {k: v for k, v in picks.items() if f"${k}" in sql}
    want = reference(ws, sql, as_of, everyone=everyone, **used)
    assert_same(got, want, what)
    everyone = universe(ws, as_of)
    assert want, f"the reference set is empty, pick other values: {what}"
    assert want != everyone, f"the reference set is everyone, pick other values: {what}"


@AS_OF_DATES
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_issue_examples_match_sql(shop, picks, shop_runs, name, as_of):
    query, sql = EXAMPLES[name]
    got = result(shop_runs, ("example", name, as_of))
    check_against_sql(shop, got, sql, as_of, picks, query)


@pytest.mark.parametrize("name", ["lapsed_buyers", "deep_nesting"])
def test_count_and_members_one_by_one(shop, name):
    """The batch above aside: each API call alone gives the same answer."""
    query, sql = EXAMPLES[name]
    want = reference(shop, sql, D_MID)
    tgt = service.target(shop, query)
    assert ids_of(shop, tgt, D_MID) == want
    assert service.count(shop, tgt, D_MID) == len(want)


def test_cross_sell_not_b_removes_someone(shop, picks, shop_runs):
    """The picks make both halves of 'A and not B' matter."""
    a_only = reference(
        shop,
        f"SELECT customer_id FROM c WHERE customer_id IN "
        f"{bought(ago(3, 'MONTH'), 'i.product_id = $a')}",
        D_END,
        a=picks["a"],
    )
    got = result(shop_runs, ("example", "bought_a_not_b", D_END))
    assert got and got < a_only


def test_universe_is_the_known_customers_up_to_the_date(shop, shop_runs):
    """`number_of_orders >= 0` is every known customer (signed up by D, or ordered by D);
    naming known_customer widens it to every id, anonymous visitors included."""
    for as_of in (D_END, D_MID):
        got = result(shop_runs, ("example", "everyone", as_of))
        assert_same(got, universe(shop, as_of), f"everyone as of {as_of}")
        every = result(shop_runs, ("example", "every_id", as_of))
        assert_same(every, every_id(shop, as_of), f"every id as of {as_of}")
        assert got < every  # the demo shop has anonymous visitors
    # the cut matters: there are customers and visitors after 2025-05-31
    assert universe(shop, D_MID) < universe(shop, D_END)


# --------------------------------------------------------------------------------------
# 2. every built-in segment
# --------------------------------------------------------------------------------------

#: built-in name: (params given, reference SQL); params naming 'A'/'B' take the picks
BUILTIN_REFERENCE: dict[str, tuple[dict, str]] = {
    "cart_abandoners": (
        {"days": 14},
        f"""SELECT customer_id FROM c
            WHERE customer_id IN {event_ids("cart_add", ago(14, "DAY"))}
              AND customer_id NOT IN (
                  SELECT customer_id FROM purchase WHERE order_date >= {ago(14, "DAY")})""",
    ),
    "category_lovers": (
        {"category": "뷰티", "months": 6, "min_orders": 2},
        f"""SELECT p.customer_id FROM purchase p JOIN order_items i ON i.order_id = p.order_id
            WHERE i.category = '뷰티' AND p.order_date >= {ago(6, "MONTH")}
            GROUP BY p.customer_id HAVING count(DISTINCT p.order_id) >= 2""",
    ),
    "conversion_cycle_due": (
        {"months": 4},
        f"SELECT customer_id FROM c WHERE n_orders >= 1 AND last_date < {ago(4, 'MONTH')}",
    ),
    "cross_sell": (
        {"product_a": "A", "product_b": "B", "months": 2},
        f"""SELECT customer_id FROM c
            WHERE customer_id IN {bought(ago(2, "MONTH"), "i.product_id = $a")}
              AND customer_id NOT IN {bought(ago(2, "MONTH"), "i.product_id = $b")}""",
    ),
    "failed_subscriptions": (
        {"days": 365},
        f"SELECT customer_id FROM c WHERE customer_id IN "
        f"{event_ids('subscription_fail', ago(365, 'DAY'))}",
    ),
    "feedback_new": (
        {"new_days": 60, "min_days": 14},
        f"""SELECT customer_id FROM c
            WHERE first_date >= {ago(60, "DAY")} AND first_date <= {ago(14, "DAY")}""",
    ),
    "free_shipping_regulars": (
        {"threshold": 40000},
        "SELECT customer_id FROM c WHERE n_orders >= 2 AND aov >= 40000",
    ),
    "local_festival": (
        {"region": "부산광역시"},
        "SELECT customer_id FROM c WHERE lower(region) = lower('부산광역시')",
    ),
    "low_basket_buyers": (
        {"threshold": 30000},
        "SELECT customer_id FROM c WHERE n_orders >= 1 AND aov < 30000",
    ),
    "next_band_spenders": ({}, "SELECT customer_id FROM c WHERE pct >= 60 AND pct < 80"),
    "premium_buyers": (
        {"months": 6, "min_price": 150000},
        f"SELECT customer_id FROM c WHERE customer_id IN "
        f"{bought(ago(6, 'MONTH'), 'i.unit_price >= 150000')}",
    ),
    "product_interest": (
        {"product": "A", "days": 30},
        f"""SELECT customer_id FROM c
            WHERE (customer_id IN {event_ids("product_view", ago(30, "DAY"), "product_id = $a")}
                   OR customer_id IN {event_ids("cart_add", ago(30, "DAY"), "product_id = $a")})
              AND customer_id NOT IN {bought(ago(30, "DAY"), "i.product_id = $a")}""",
    ),
    "refunded_customers": (
        {"min_refunds": 2},
        "SELECT customer_id FROM c WHERE refunds >= 2",
    ),
    "repeat_cycle_due": (
        {"factor": 1.5, "give_up": 3},
        """SELECT customer_id FROM c
           WHERE n_orders >= 2 AND days_since > 1.5 * avg_gap AND days_since <= 3 * avg_gap""",
    ),
    "top_spenders": ({}, "SELECT customer_id FROM c WHERE pct >= 80"),
    "upgrade_candidates": (
        {"product": "B", "months": 6},
        f"SELECT customer_id FROM c WHERE customer_id IN "
        f"{bought(ago(6, 'MONTH'), 'i.product_id = $b')}",
    ),
    # the prediction built-ins read the model's output (pred_ref, see shop_runs; the values
    # themselves are checked against the papers' formulas in test_predict_customers.py)
    "future_vips": ({}, "SELECT customer_id FROM pred_ref WHERE future_vip"),
    "likely_returners": (
        {"min_probability": 0.3},
        """SELECT customer_id FROM c JOIN pred_ref USING (customer_id)
           WHERE n_orders = 1 AND repurchase_probability >= 0.3""",
    ),
    "repurchase_moment": (
        {"days": 14},
        "SELECT customer_id FROM pred_ref WHERE model_next_order_date BETWEEN $d - 14 AND $d + 14",
    ),
    "fading_vips": (
        {"max_p_alive": 0.5},
        "SELECT customer_id FROM pred_ref WHERE grade = 'vip' AND p_alive < 0.5",
    ),
    "visitors_never_bought": (
        {"days": 60},
        f"""SELECT customer_id FROM c
            WHERE customer_id IN {event_ids("visit", ago(60, "DAY"))} AND n_orders = 0""",
    ),
    "welcome_month": (
        {"days": 30},
        f"SELECT customer_id FROM c WHERE first_date >= {ago(30, 'DAY')}",
    ),
    "welcome_week": (
        {"days": 14},
        f"SELECT customer_id FROM c WHERE first_date >= {ago(14, 'DAY')}",
    ),
}

BUILTINS = sorted(builtin_segments())
#: built-ins that ask for anonymous visitors too (their query names known_customer)
BUILTINS_WITH_VISITORS = {"visitors_never_bought"}


def test_every_builtin_has_a_reference_query():
    missing = sorted(set(BUILTINS) - set(BUILTIN_REFERENCE))
    assert not missing, f"built-in segments without a reference query in this file: {missing}"
    stale = sorted(set(BUILTIN_REFERENCE) - set(BUILTINS))
    assert not stale, f"reference queries for segments that are not built in: {stale}"


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_segment_matches_sql(shop, picks, shop_runs, name):
    """As of 2025-05-31: the data goes on after it, and month offsets clamp."""
    as_of = D_MID
    if name not in BUILTIN_REFERENCE:
        pytest.fail(f"the built-in segment {name!r} has no reference query in this file")
    params, sql = BUILTIN_REFERENCE[name]
    segment = builtin_segments()[name]
    unknown = set(params) - set(segment.params)
    assert not unknown, f"{name} has no parameter(s) {unknown}; its are {segment.params}"
    missing = set(segment.required_params) - set(params)
    assert not missing, f"{name}: give the required parameter(s) {missing}"
    got = result(shop_runs, ("builtin", name, as_of))
    everyone = name in BUILTINS_WITH_VISITORS
    check_against_sql(shop, got, sql, as_of, picks, f"{name} {params}", everyone)


# --------------------------------------------------------------------------------------
# 3. a tiny hand-made shop: answers worked out by hand (see segment_fixtures.TINY_*)
# --------------------------------------------------------------------------------------
#
# As of 2025-03-31 (KST):
#   C1: purchases O1 (02-28, 10000) and O2 (03-31 23:30 KST, 20000 − 5000 refunded);
#       O3 is 04-01 00:30 KST (03-31 in UTC) → out. n=2, spent 25000, avg gap 31 days.
#   C2: purchase O4 (02-27, 30000); O5 refunded, O6 cancelled. n=1, spent 30000, refunds 1.
#   C3: purchase O8 (2024-10-31, 5000); O7 failed. no gender/region/city; tag wholesale.
#   C4: signs up 2025-04-05 → not a customer yet. C5: no orders, cart_add 03-24 and 03-23.
#   C6: no orders, no sign-up date, city 'a_b%'. C7: O9 (2023-02-28, 8000), O10 (2024-02-29,
#       12000), city 'axbx'. V1: anonymous visitor (visit, cart_add 03-31 23:59 KST).
#   Percentiles: C3 0, C7 33.3, C1 66.7, C2 100.
#   −1m = 2025-02-28 (clamped), −13m = 2024-02-29, −7d = 03-24, −4w = 03-03.

ALL = TINY_UNIVERSE
NON_BUYERS = frozenset({"C5", "C6"})


def _all_but(*ids: str) -> frozenset[str]:
    return ALL - set(ids)


TINY_CASES: list[tuple[str, set[str] | frozenset[str]]] = [
    # the universe, purchases, refunds, cancelled and failed orders
    ("number_of_orders >= 0", ALL),
    ("number_of_orders >= 1", {"C1", "C2", "C3", "C7"}),
    ("number_of_orders = 0", NON_BUYERS),
    ("number_of_orders = 2", {"C1", "C7"}),
    ("amount_spent = 25000", {"C1"}),
    ("amount_spent = 30000", {"C2"}),
    ("refunds >= 1", {"C1", "C2"}),
    ("last_order_date = 2025-03-31", {"C1"}),
    ("last_order_date = 2024-10-31", {"C3"}),
    ("aov = 12500", {"C1"}),
    ("days_since_last_order = 0", {"C1"}),
    ("avg_days_between_orders = 31", {"C1"}),
    ("avg_days_between_orders = 366", {"C7"}),
    # month-end clamping: 2025-03-31 − 1m = 2025-02-28; − 13m = 2024-02-29
    ("first_order_date = -1m", {"C1"}),
    ("last_order_date < -1m", {"C2", "C3", "C7"}),
    ("last_order_date >= -1m", {"C1"}),
    ("last_order_date = -13m", {"C7"}),
    ("number_of_orders(date: -1m) = 2", {"C1"}),
    ("amount_spent(date: -1m) = 25000", {"C1"}),
    ("number_of_orders(date: -1m) = 0", _all_but("C1")),
    ("number_of_orders(date: -31d) = 2", {"C1"}),
    ("number_of_orders(date: -4w) = 1", {"C1"}),
    # the date: boundary day is included
    ("products_purchased(id: 'P1', date: -1m) = true", {"C1"}),
    ("products_purchased(id: 'P1', date: -32d) = true", {"C1", "C2"}),
    ("products_purchased(id: 'P1', date: 2025-02-27) = true", {"C1", "C2"}),
    ("products_purchased(id: 'P1', date: 2025-02-28) = true", {"C1"}),
    ("products_purchased(id: 'P1') = false", _all_but("C1", "C2")),
    # refunded / cancelled / failed / future orders are not purchases
    ("products_purchased(id: 'P3') = true", set()),
    ("products_purchased(id: 'P3') = false", ALL),
    ("products_purchased(id: 'P2') = true", {"C1", "C3"}),
    # line filters, and count = distinct orders (O2 has two 신발 lines)
    ("products_purchased(category: '신발') = true", {"C1", "C3"}),
    ("products_purchased(category: '신발', count: 2) = true", set()),
    ("products_purchased(count: 2) = true", {"C1", "C7"}),
    ("products_purchased(category: '신발', min_price: 10000) = true", {"C1"}),
    ("products_purchased(category: '신발', max_price: 10000) = true", {"C1", "C3"}),
    ("products_purchased(min_price: 5000, max_price: 5000) = true", {"C3"}),
    ("products_purchased(min_price: 9000, max_price: 9999) = true", set()),
    ("products_purchased(id: 'P1', category: '신발') = true", set()),
    # events: name, window (boundary day in), product, category; local dates
    # V1 (events only) is an anonymous visitor: outside every segment that does not ask
    ("events(name: 'cart_add', date: -7d) >= 1", {"C1", "C5"}),
    ("events(name: 'cart_add', date: -7d) = 1", {"C1", "C5"}),
    ("events(name: 'cart_add', date: -7d) >= 1 AND known_customer = false", {"V1"}),
    (
        "events(name: 'cart_add', date: -7d) >= 1 AND known_customer IN (true, false)",
        {"C1", "C5", "V1"},
    ),
    ("known_customer = true", ALL),
    ("events(name: 'cart_add') = 2", {"C5"}),
    ("events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0", {"C5"}),
    ("events(name: 'cart_add', id: 'P2') >= 1", {"C1"}),
    ("events(name: 'cart_add', category: '의류', date: -7d) = 1", {"C5"}),
    ("events(name: 'product_view') >= 1", {"C2"}),
    ("events(name: 'visit') = 0", ALL),
    # NULL semantics: a positive condition on an unknown value is false; its negation
    # (!=, NOT IN, NOT CONTAINS, NOT BETWEEN, NOT (…)) is the complement, so true
    ("customer_tags CONTAINS 'wholesale'", {"C3"}),
    ("NOT (customer_tags CONTAINS 'wholesale')", _all_but("C3")),
    ("customer_regions != '서울특별시'", {"C2", "C3", "C6", "C7"}),
    ("NOT (customer_regions = '서울특별시')", {"C2", "C3", "C6", "C7"}),
    ("NOT (NOT (customer_regions = '서울특별시'))", {"C1", "C5"}),
    ("customer_regions IS NULL", {"C3"}),
    ("customer_regions IS NOT NULL", {"C1", "C2", "C5", "C6", "C7"}),
    ("amount_spent_percentile < 80", {"C1", "C3", "C7"}),
    ("NOT (amount_spent_percentile < 80)", {"C2", "C5", "C6"}),
    ("amount_spent_percentile >= 60 AND amount_spent_percentile < 80", {"C1"}),
    ("last_order_date IS NULL", NON_BUYERS),
    ("NOT (last_order_date < -1m)", {"C1", *NON_BUYERS}),
    ("NOT (avg_days_between_orders > 100)", _all_but("C7")),
    ("amount_spent / number_of_orders > 10000", {"C1", "C2"}),
    ("NOT (amount_spent / number_of_orders > 10000)", _all_but("C1", "C2")),
    ("NOT (customer_cities IN ('suwon', 'busan'))", _all_but("C2")),
    ("NOT (days_since_last_order > 1.5 * avg_days_between_orders)", ALL),
    ("gender IS NOT NULL AND NOT (gender = 'male')", {"C1", "C5"}),
    ("NOT (signup_date >= 2024-01-01 OR customer_regions = '경기도')", {"C6"}),
    # text comparisons ignore case; tags are lower-cased
    ("customer_cities = 'GANGNAM-GU'", {"C1"}),
    ("customer_cities IN ('gangnam-gu', 'SUWON')", {"C1", "C2"}),
    ("customer_cities CONTAINS 'NAM'", {"C1"}),
    ("gender = 'FEMALE'", {"C1", "C5"}),
    ("gender IN ('Male')", {"C2", "C6"}),
    ("email_subscription_status = 'NOT_SUBSCRIBED'", ALL),
    ("customer_tags CONTAINS 'VIP'", {"C1"}),
    ("customer_tags CONTAINS 'Newsletter'", {"C1", "C5"}),
    ("signup_channel = 'naver'", {"C2"}),
    ("signup_channel = 'INSTAGRAM'", {"C1"}),
    # CONTAINS is a substring test, not a LIKE pattern
    ("customer_cities CONTAINS 'a_b'", {"C6"}),
    ("customer_cities CONTAINS '%'", {"C6"}),
    ("customer_cities CONTAINS 'X'", {"C7"}),
    # an OR of ANDs with a NOT inside
    (
        "(number_of_orders >= 1 AND NOT (customer_regions IN ('경기도'))) "
        "OR (events(name: 'cart_add', date: -7d) >= 1 AND customer_regions IS NULL)",
        {"C1", "C3"},
    ),
]


LEAP_DAY = dt.date(2024, 2, 29)
#: as of 2024-02-29 (a leap day): C1, C3 (signed up), C6 (no sign-up date), C7 (bought)
LEAP_CASES: list[tuple[str, set[str]]] = [
    # 2024-02-29 − 1y = 2023-02-28 (clamped), the day of C7's first order
    ("first_order_date >= -1y", {"C7"}),
    ("first_order_date >= -12m", {"C7"}),
    ("number_of_orders(date: -1y) = 2", {"C7"}),
    ("first_order_date >= -365d", set()),  # 2023-03-01
    ("number_of_orders >= 0", {"C1", "C3", "C6", "C7"}),
]
#: NOT IN / NOT CONTAINS / NOT BETWEEN / != are complements of their positive forms, as
#: Shopify documents NOT CONTAINS: a customer with an unknown value is in them (C3 and C5
#: have no city, C3 no region, C5 and C6 no order).
NEGATED_CASES: list[tuple[str, set[str]]] = [
    ("customer_regions NOT IN ('서울특별시')", {"C2", "C3", "C6", "C7"}),
    ("customer_cities NOT CONTAINS 'x'", {"C1", "C2", "C3", "C5", "C6"}),
    ("customer_tags NOT CONTAINS 'vip'", {"C2", "C3", "C5", "C6", "C7"}),
    ("last_order_date NOT BETWEEN 2025-01-01 AND 2025-12-31", {"C3", "C7", *NON_BUYERS}),
    ("NOT (last_order_date BETWEEN 2025-01-01 AND 2025-12-31)", {"C3", "C7", *NON_BUYERS}),
    ("NOT (customer_regions IN ('서울특별시'))", {"C2", "C3", "C6", "C7"}),
    ("customer_cities != 'suwon'", {"C1", "C3", "C5", "C6", "C7"}),
]
#: 'at least 0 orders' is refused: '= false' is the way to ask for non-buyers
COUNT_ZERO = "products_purchased(id: 'P1', count: 0) = true"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("tiny")
    ws = Workspace.init(folder / "shop", timezone="Asia/Seoul")
    load_tiny(ws, folder)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def tiny_runs(tiny) -> dict:
    cases: dict = {("tiny", q): (q, None, TINY_AS_OF) for q, _ in TINY_CASES}
    cases |= {("leap", q): (q, None, LEAP_DAY) for q, _ in LEAP_CASES}
    cases |= {("negated", q): (q, None, TINY_AS_OF) for q, _ in NEGATED_CASES}
    return run_segments(tiny, cases)


@pytest.mark.parametrize(("query", "expected"), TINY_CASES, ids=[q for q, _ in TINY_CASES])
def test_tiny_shop_by_hand(tiny_runs, query, expected):
    assert_same(result(tiny_runs, ("tiny", query)), set(expected), query)


@pytest.mark.parametrize(("query", "expected"), LEAP_CASES, ids=[q for q, _ in LEAP_CASES])
def test_leap_day_as_of(tiny_runs, query, expected):
    assert_same(result(tiny_runs, ("leap", query)), set(expected), query)


@pytest.mark.parametrize(("query", "expected"), NEGATED_CASES, ids=[q for q, _ in NEGATED_CASES])
def test_negated_operators_are_complements(tiny_runs, query, expected):
    assert_same(result(tiny_runs, ("negated", query)), set(expected), query)


def test_count_of_products_purchased_below_one_is_refused(tiny):
    with pytest.raises(SegmentError, match="at least 1"):
        service.count(tiny, service.target(tiny, COUNT_ZERO), TINY_AS_OF)


def test_tiny_shop_reference_sql_agrees_with_the_hand_answers(tiny):
    """The reference SQL of the generated-shop tests gives the hand-worked answers here."""
    d = TINY_AS_OF
    assert universe(tiny, d) == ALL
    assert universe(tiny, LEAP_DAY) == {"C1", "C3", "C6", "C7"}
    assert reference(tiny, "SELECT customer_id FROM c WHERE pct >= 60 AND pct < 80", d) == {"C1"}
    first = f"SELECT customer_id FROM c WHERE first_date = {ago(1, 'MONTH')}"
    assert reference(tiny, first, d) == {"C1"}
    carts = f"SELECT customer_id FROM c WHERE customer_id IN {event_ids('cart_add', ago(7, 'DAY'))}"
    assert reference(tiny, carts, d) == {"C1", "C5"}
    assert reference(tiny, carts, d, everyone=True) == {"C1", "C5", "V1"}
    spent = "SELECT customer_id FROM c WHERE spent = 25000 AND refunds = 1 AND avg_gap = 31"
    assert reference(tiny, spent, d) == {"C1"}


ONE_BY_ONE = TINY_CASES[1:3]


@pytest.mark.parametrize(("query", "expected"), ONE_BY_ONE, ids=[q for q, _ in ONE_BY_ONE])
def test_count_and_members_one_by_one_tiny(tiny, query, expected):
    tgt = service.target(tiny, query)
    assert ids_of(tiny, tgt, TINY_AS_OF) == set(expected)
    assert service.count(tiny, tgt, TINY_AS_OF) == len(expected)


@pytest.fixture
def tiny_ws(ws: Workspace, tmp_path: Path) -> Workspace:
    """The tiny shop in a fresh workspace (for tests that save segments)."""
    load_tiny(ws, tmp_path)
    return ws


def test_in_segment_of_saved_segments(tiny_ws):
    reg = service.registry(tiny_ws)
    reg.save(Segment(name="seoul", query="customer_regions = '서울특별시'"))
    reg.save(Segment(name="seoul_buyers", query="in_segment('seoul') AND number_of_orders >= 1"))
    expected = {
        "in_segment('seoul')": {"C1", "C5"},
        "in_segment('seoul') AND number_of_orders >= 1": {"C1"},
        "NOT in_segment('seoul')": set(ALL - {"C1", "C5"}),
        "in_segment('seoul_buyers')": {"C1"},
        "seoul_buyers": {"C1"},
        "in_segment('refunded_customers')": {"C1", "C2"},
        "in_segment('seoul') OR in_segment('refunded_customers')": {"C1", "C2", "C5"},
    }
    runs = run_segments(tiny_ws, {q: (q, None, TINY_AS_OF) for q in expected})
    for query, want in expected.items():
        assert_same(result(runs, query), want, query)
    # a saved segment with a built-in's name overrides it
    reg.save(Segment(name="top_spenders", query="customer_regions = '경기도'"))
    assert members(tiny_ws, "in_segment('top_spenders')", TINY_AS_OF) == {"C2", "C7"}


def test_segment_loops_are_refused_at_save_with_the_path(tiny_ws):
    """Issue 14 item 15: a loop was saved, then blocked every refresh."""
    reg = service.registry(tiny_ws)
    with pytest.raises(SegmentError, match="loop_self → loop_self"):
        reg.save(Segment(name="loop_self", query="NOT in_segment('loop_self')"))
    reg.save(Segment(name="loop_a", query="in_segment('loop_b') AND number_of_orders >= 1"))
    with pytest.raises(SegmentError, match="loop_b → loop_a → loop_b"):
        reg.save(Segment(name="loop_b", query="in_segment('loop_a') OR refunds >= 1"))
    reg.save(Segment(name="loop_b", query="refunds >= 1"))
    reg.save(Segment(name="loop_c", query="in_segment('loop_a')"))
    with pytest.raises(SegmentError, match="loop_b → loop_c → loop_a → loop_b"):
        reg.save(Segment(name="loop_b", query="in_segment('loop_c')"), overwrite=True)
    assert not (tiny_ws.path / "segments" / "loop_self.yaml").exists()
    assert "loop_b" in reg.saved() and reg.get("loop_b").query == "refunds >= 1"


def test_segment_loops_written_by_hand_are_errors(tiny_ws):
    folder = tiny_ws.path / "segments"
    folder.mkdir(exist_ok=True)
    for name, query in {
        "loop_a": "in_segment('loop_b') AND number_of_orders >= 1",
        "loop_b": "in_segment('loop_a') OR refunds >= 1",
        "loop_self": "NOT in_segment('loop_self')",
    }.items():
        (folder / f"{name}.yaml").write_text(f'name: {name}\nquery: "{query}"\n')
    for text in ("loop_a", "in_segment('loop_a')", "loop_self", "in_segment('loop_self')"):
        with pytest.raises(SegmentError, match="loop"):
            service.members(tiny_ws, service.target(tiny_ws, text), TINY_AS_OF)


# --------------------------------------------------------------------------------------
# 4. type errors are caught before anything runs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "last_order_date > 'abc'",
        "amount_spent CONTAINS 'x'",
        "customer_tags = 'vip'",
        "customer_tags IN ('vip', 'newsletter')",
        "gender = 'robot'",
        "gender IN ('female', 'robot')",
        "in_segment('nope')",
        "number_of_orders >= 'many'",
        "signup_date BETWEEN 1 AND 2",
        "customer_regions > '서울특별시'",
        "amount_spent + customer_regions > 3",
        "products_purchased(id: 7.5) = true",  # an id is text or a whole number
        "products_purchased MATCHES (date > 'soon')",
        "orders_placed MATCHES (count >= 'many')",
        "products_purchased(date: 'yesterday') = true",
        "events(name: 'visit', date: 30) >= 1",
        "events(name: 'visit') = 'often'",
        "email_subscription_status = 'maybe'",
        "in_segment('cross_sell')",  # a built-in whose required params are not set
    ],
)
def test_type_errors_before_running(ws, query):
    with pytest.raises(SegmentError):
        service.members(ws, service.target(ws, query), D_END)


@pytest.mark.parametrize(
    "params",
    [{}, {"product_a": "P0001"}, {"product_a": "P0001", "product_b": ""}],
    ids=["none", "one", "empty"],
)
def test_builtin_with_missing_required_param(ws, params):
    with pytest.raises(SegmentError, match="product_b"):
        service.members(ws, service.target(ws, "cross_sell", params), D_END)


def test_every_builtin_with_required_params_refuses_to_run_without_them(ws):
    for name, segment in builtin_segments().items():
        if segment.required_params:
            with pytest.raises(SegmentError):
                service.members(ws, service.target(ws, name), D_END)


# --------------------------------------------------------------------------------------
# 5. injection: values stay literals
# --------------------------------------------------------------------------------------

EVIL = (
    "x'; DROP TABLE orders; --",
    "x\\'; DROP TABLE orders; --",
    "'); DROP TABLE orders; --",
    'x"; DROP TABLE orders; --',
)


def _owner(value: str) -> str:
    return f"K{EVIL.index(value) + 1}"


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """K1..K4 live in a city and region named EVIL[i] and bought the product EVIL[i]."""
    folder = tmp_path_factory.mktemp("evil")
    ws = Workspace.init(folder / "shop", timezone="Asia/Seoul")
    load_rows(
        ws,
        folder,
        {
            "customers": (
                ("customer_id", "region", "city", "signup_at", "tags"),
                [
                    *[(_owner(v), v, v, "2024-01-01", "o'brien") for v in EVIL],
                    ("K9", "서울특별시", "plain", "2024-01-01", ""),
                ],
            ),
            "orders": (
                ("order_id", "customer_id", "ordered_at", "total"),
                [(f"Q{_owner(v)}", _owner(v), "2025-06-01T12:00:00+09:00", "1000") for v in EVIL],
            ),
            "order_items": (
                ("order_id", "product_id", "category"),
                [(f"Q{_owner(v)}", v, v) for v in EVIL],
            ),
        },
    )
    yield ws
    ws.close()


def _tables_intact(ws: Workspace) -> None:
    names = ws.duck.execute("SELECT table_name FROM information_schema.tables").fetchall()
    assert {"customers", "orders", "order_items", "events"} <= {r[0] for r in names}
    assert ws.count("orders") == len(EVIL)
    assert ws.count("order_items") == len(EVIL)
    assert ws.count("customers") == len(EVIL) + 1


#: query template ({v}: the value as a query literal) → reference SQL (? is the value)
INJECTION_CASES = {
    "customer_cities = {v}": "SELECT customer_id FROM customers WHERE lower(city) = lower(?)",
    "customer_cities CONTAINS {v}": (
        "SELECT customer_id FROM customers WHERE contains(lower(city), lower(?))"
    ),
    "customer_regions IN ({v}, 'nowhere')": (
        "SELECT customer_id FROM customers WHERE lower(region) = lower(?)"
    ),
    "NOT (customer_regions = {v})": (
        "SELECT customer_id FROM customers WHERE region IS DISTINCT FROM ?"
    ),
    "products_purchased(id: {v}) = true": (
        "SELECT customer_id FROM orders JOIN order_items USING (order_id) WHERE product_id = ?"
    ),
    "products_purchased(category: {v}, date: -1y) = true": (
        "SELECT customer_id FROM orders JOIN order_items USING (order_id) WHERE category = ?"
    ),
    "events(name: {v}) = 0": "SELECT customer_id FROM customers WHERE ? IS NOT NULL",
}
#: built-ins whose text parameter is put into their query
INJECTION_BUILTINS = {"local_festival": "region", "upgrade_candidates": "product"}


@pytest.fixture(scope="module")
def evil_runs(evil) -> dict:
    cases: dict = {}
    for value in EVIL:
        for template in INJECTION_CASES:
            cases[value, template] = (template.format(v=quote(value)), None, D_END)
        for name, param in INJECTION_BUILTINS.items():
            cases[value, name] = (name, {param: value}, D_END)
    cases["tag"] = ("customer_tags CONTAINS 'O\\'Brien'", None, D_END)
    runs = run_segments(evil, cases)
    _tables_intact(evil)
    return runs


@pytest.mark.parametrize("value", EVIL)
def test_injection_values_stay_literals(evil, evil_runs, value):
    for template, sql in INJECTION_CASES.items():
        query = template.format(v=quote(value))
        want = {r[0] for r in evil.duck.execute(sql, [value]).fetchall()}
        assert want, query
        assert_same(result(evil_runs, (value, template)), want, query)
    for name in INJECTION_BUILTINS:
        assert result(evil_runs, (value, name)) == {_owner(value)}, name
    _tables_intact(evil)


def test_injection_count_and_tags(evil, evil_runs):
    assert result(evil_runs, "tag") == {_owner(v) for v in EVIL}
    query = f"customer_cities = {quote(EVIL[1])} OR customer_regions = {quote(EVIL[0])}"
    assert service.count(evil, service.target(evil, query), D_END) == 2
    _tables_intact(evil)


SQL_DIALECTS = ("duckdb", "postgres", "bigquery", "snowflake", "spark")


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
def test_to_sql_escapes_values(evil, dialect):
    query = " OR ".join(
        f"customer_cities CONTAINS {quote(v)} OR products_purchased(id: {quote(v)}) = true"
        for v in EVIL
    )
    sql = service.to_sql(evil, service.target(evil, query), D_END, dialect)
    assert isinstance(sql, str)
    literals, outside = split_sql(sql, dialect)
    for value in EVIL:
        assert value in literals or value.lower() in literals, (
            f"{dialect}: {value!r} is not one string literal; literals: {literals}"
        )
    for marker in ("DROP", ";", "--"):
        assert marker not in outside.upper(), f"{dialect}: {marker!r} outside a literal:\n{sql}"
    if dialect == "duckdb":
        got = {r[0] for r in evil.duck.execute(sql).fetchall()}
        assert got == {_owner(v) for v in EVIL}
        _tables_intact(evil)


def test_split_sql_reads_each_dialects_literals():
    """The little lexer the test above relies on."""
    assert split_sql("a = 'x''y' AND \"b\" = 'z'", "postgres") == (["x'y", "z"], "a =   AND   =  ")
    assert split_sql("a = E'x\\'y'", "postgres")[0] == ["x'y"]
    assert split_sql("`a` = 'x\\'y' OR b = \"q\"", "bigquery")[0] == ["x'y", "q"]
    assert split_sql("a = 'x\\\\'", "spark")[0] == ["x\\"]
    assert split_sql("a = 'x\\'''", "postgres")[0] == ["x\\'"]
    assert split_sql("a = 'x\\'' OR 'y'", "snowflake")[0] == ["x'", "y"]
    assert split_sql("a = 'it''s' OR b = 'x\\''", "mysql")[0] == ["it's", "x'"]
    assert split_sql("a = 'x' OR \"b\" = 'y'", "duckdb")[1] == "a =   OR   =  "
