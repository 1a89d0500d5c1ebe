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
from danggol.profile import customer_profile
from danggol.store.workspace import Workspace

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("prune") / "shop")
    ingest_tables(ws, generate_shop(600, seed=11, end=AS_OF))
    yield ws.ibis
    ws.close()


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
