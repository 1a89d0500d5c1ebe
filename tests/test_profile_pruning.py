"""A pruned profile (``customer_profile(columns=...)``) has the same rows and values as the full
one for the columns it keeps, whichever tables those columns come from. The full profile is
checked against hand-computed values in tests/test_profile.py; this checks that leaving the
other tables out changes nothing."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.profile import customer_profile, snapshot_is_current
from danggol.segments import service
from danggol.segments.nodes import Matches
from danggol.segments.parse import parse_query
from danggol.store.workspace import Workspace

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("prune") / "shop")
    ingest_tables(ws, generate_shop(600, seed=11, end=AS_OF))
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def con(ws):
    return ws.ibis


def rows(table, columns):
    t = table.select("customer_id", *columns).order_by("customer_id").to_pyarrow()
    return t.to_pylist()


@pytest.mark.parametrize(
    "columns",
    [
        [],
        ["number_of_orders", "last_order_date"],
        ["amount_spent_percentile"],
        ["region", "age", "email_subscription_status"],
        ["favourite_category", "distinct_products"],
        ["events_cart_add"],
        ["events_total", "last_event_date"],
        ["days_since_last_order", "avg_days_between_orders", "tags", "events_product_view"],
    ],
)
def test_pruned_profile_equals_the_full_profile(con, columns):
    full = customer_profile(con, AS_OF)
    pruned = customer_profile(con, AS_OF, columns=columns)
    assert set(pruned.columns) == {"customer_id", *columns}
    assert rows(pruned, columns) == rows(full, columns)


def test_pruned_profile_joins_only_what_it_needs(con):
    """The SQL of a count on two order fields reads neither order_items nor the customers'
    demographics, and counts no event names."""
    sql = str(ibis.to_sql(customer_profile(con, AS_OF, columns=["number_of_orders"])))
    assert "order_items" not in sql
    assert "birth_date" not in sql and "events_cart_add" not in sql


def test_names_that_are_not_profile_columns_are_ignored(con):
    pruned = customer_profile(con, AS_OF, columns=["rfm_group", "p_alive", "aov"])
    assert pruned.columns == ("customer_id", "aov")


@pytest.mark.parametrize(
    "query",
    [
        "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0",
        "events(name: 'product_view', date: -30d) > 2 AND customer_regions IN ('서울특별시', '경기도')",
        "number_of_orders(date: -3m) >= 2",
        "products_purchased(date: -6m) = true AND amount_spent_percentile >= 50",
        "number_of_orders(date: -7d) = 0",  # the default holds: no restriction, everyone
        "events(name: 'visit', date: -90d) < 1 OR number_of_orders >= 3",
        "number_of_orders >= 1 AND last_order_date < -5m",
        "amount_spent_percentile >= 80",
        "rfm_group = 'champions' AND events(name: 'visit', date: -30d) >= 1",
        "NOT (customer_tags CONTAINS 'wholesale')",
        "aov > 30000 AND refunds >= 1",
        "number_of_orders = 0",  # no order also counts: everyone
        "last_order_date IS NULL AND events(name: 'visit', date: -90d) >= 1",
        "first_order_date BETWEEN -12m AND -6m",
        # the MATCHES form, restricting (a row needed) and not (0 rows pass)
        "products_purchased MATCHES (category = '의류', date > -6m) AND age > 20",
        "events MATCHES (name = 'cart_add', count >= 2)",
        "orders_placed MATCHES (sum_amount >= 20000, date > -3m)",
        "events MATCHES (name = 'visit', count < 2, date > -30d)",
    ],
)
def test_pruned_count_equals_the_count_over_the_whole_profile(ws, query):
    """The count computes only what the query tests (and, after a behavioural condition every
    member must meet, only those customers' rows); the members over the whole profile —
    every column, score and prediction — give the same number."""
    assert not snapshot_is_current(ws.ibis, AS_OF)  # not refreshed: computed on the spot
    tgt = service.target(ws, query)
    everyone = service.members(ws, tgt, AS_OF).count().to_pyarrow().as_py()
    assert service.count(ws, tgt, AS_OF) == everyone


def test_restricting_call_only_when_its_default_fails():
    """Behaviour calls parse to MATCHES nodes (issue 17): the count shortcut finds them."""

    def call(query):
        found = service.restricting_call(parse_query(query))
        if isinstance(found, Matches):
            return found.function
        return None if found is None else found.name

    assert call("events(name: 'visit', date: -7d) >= 1 AND age > 30") == "events"
    assert call("products_purchased(date: -3m) = true") == "products_purchased"
    assert call("number_of_orders(date: -7d) = 0") is None  # no purchase also counts
    assert call("events(name: 'visit') < 2") is None
    assert call("events(name: 'visit') >= 1 OR age > 30") is None  # OR: anyone may be in
    # the MATCHES form: no test of the totals means "a row", a total 0 fails restricts
    assert call("age > 30 AND products_purchased MATCHES (id = 'P1')") == "products_purchased"
    assert call("events MATCHES (name = 'visit', count >= 3)") == "events"
    assert call("orders_placed MATCHES (sum_amount BETWEEN 1 AND 5000)") == "orders_placed"
    assert call("shopify_email.opened MATCHES (date > -30d)") == "email_opened"
    assert call("events MATCHES (name = 'visit', count < 2)") is None  # 0 visits pass
    assert call("orders_placed MATCHES (count IN (0, 1))") is None
    assert call("orders_placed MATCHES (count BETWEEN 0 AND 2)") is None
    assert call("products_purchased NOT MATCHES (id = 'P1')") is None
    assert call("products_purchased MATCHES (id = 'P1') OR age > 30") is None
    assert call("products_purchased MATCHES (id = 'A', count >= 2)") == "products_purchased"
    assert call("products_purchased MATCHES (id = 'A', count < 2)") is None  # 0 rows is in
    assert call("NOT (events MATCHES (name = 'visit'))") is None


def test_needs_an_order_only_when_no_order_fails():
    def needs(query):
        return service.needs_an_order(parse_query(query))

    assert needs("number_of_orders >= 1 AND age > 30")
    assert needs("last_order_date < -5m") and needs("amount_spent_percentile >= 80")
    assert needs("first_order_date BETWEEN -12m AND -6m")
    assert not needs("number_of_orders = 0")  # a customer without orders has 0
    assert not needs("last_order_date IS NULL")
    assert not needs("number_of_orders >= 1 OR age > 30")  # OR: anyone may be in
    assert not needs("age > 30")


def test_a_count_without_predictions_loads_no_model_code(ws):
    """A behavioural count in a fresh process (the CLI's) imports neither SciPy nor
    scikit-learn: those load only when a query tests a prediction (or its scores' fit)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import datetime as dt, json, sys\n"
        "from pathlib import Path\n"
        "from danggol.segments import service\n"
        "from danggol.store.workspace import Workspace\n"
        "with Workspace.open(Path(sys.argv[1])) as ws:\n"
        "    tgt = service.target(ws, sys.argv[2])\n"
        "    n = service.count(ws, tgt, dt.date(2025, 6, 30))\n"
        "print(json.dumps([n, sorted({m.split('.')[0] for m in sys.modules})]))"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    query = "number_of_orders >= 1 AND last_order_date < -5m"
    done = subprocess.run(
        [sys.executable, "-c", code, str(ws.path), query],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    n, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert n == service.count(ws, service.target(ws, query), AS_OF)
    assert not {"scipy", "sklearn"} & set(loaded)
