"""A MATCHES' text tests compare exactly with the shop's own spellings (segments/spellings.py)
and its totals are computed only when tested — with the members they always had.

The shop is hand-made: product codes typed by hand in a shop's admin come back from its
exports in more than one case (``SKU-1`` on one order, ``sku-1`` on another), categories too
(``Shoes`` / ``shoes``), and one code has a Turkish dotted capital İ, which DuckDB lowers to
``i`` and Python to ``i̇``. Every expected member set below is worked out by hand from the rows.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import ibis
import pytest

from danggol.segments import service
from danggol.segments.compile import Compiler
from danggol.segments.parse import parse_query
from danggol.segments.spellings import listing
from danggol.store.backends import duckdb_sql
from danggol.store.workspace import Workspace
from segment_fixtures import load_rows

AS_OF = dt.date(2025, 3, 31)

CUSTOMERS = (
    ("customer_id", "signup_at"),
    [(c, "2024-01-01") for c in ("A1", "A2", "A3", "A4", "A5")],
)
ORDERS = (
    ("order_id", "customer_id", "ordered_at", "total", "status", "refunded_amount"),
    [
        ("O1", "A1", "2025-03-01T10:00:00+09:00", "10000", "paid", ""),
        ("O2", "A2", "2025-03-02T10:00:00+09:00", "20000", "paid", ""),
        ("O3", "A3", "2025-03-03T10:00:00+09:00", "30000", "paid", ""),
        ("O4", "A4", "2025-03-04T10:00:00+09:00", "10000", "refunded", "10000"),  # no purchase
        ("O5", "A5", "2025-03-05T10:00:00+09:00", "5000", "paid", ""),
        ("O6", "A1", "2025-03-06T10:00:00+09:00", "25000", "paid", ""),
        ("O7", "A2", "2025-04-02T10:00:00+09:00", "9000", "paid", ""),  # after the as-of date
    ],
)
ITEMS = (
    ("order_id", "product_id", "category", "quantity", "unit_price"),
    [
        ("O1", "SKU-1", "Shoes", "1", "10000"),
        ("O2", "sku-1", "shoes", "1", "20000"),
        ("O3", "Sku-2", "Bags", "1", "30000"),
        ("O4", "SKU-1", "Shoes", "1", "10000"),
        ("O5", "sku-3", "신발", "1", "2000"),
        ("O5", "İPEK-7", "신발", "1", "3000"),
        ("O6", "SKU-1", "Shoes", "1", "25000"),
        ("O7", "SKU-9", "Bags", "1", "9000"),
    ],
)
EVENTS = (
    ("customer_id", "event", "occurred_at"),
    [
        ("A1", "Cart_Add", "2025-03-10T10:00:00+09:00"),
        ("A2", "cart_add", "2025-03-11T10:00:00+09:00"),
        ("A3", "visit", "2025-03-12T10:00:00+09:00"),
    ],
)
EVERYONE = {"A1", "A2", "A3", "A4", "A5"}
BUYERS = {"A1", "A2", "A3", "A5"}  # A4's only order was refunded

CASES = [
    # any case of the typed code finds every spelling of it
    ("products_purchased MATCHES (id = 'sku-1')", {"A1", "A2"}),
    ("products_purchased MATCHES (id = 'SKU-1')", {"A1", "A2"}),
    ("products_purchased MATCHES (id = 'Sku-1')", {"A1", "A2"}),
    ("products_purchased MATCHES (id IN ('SKU-2', 'SKU-3'))", {"A3", "A5"}),
    ("products_purchased MATCHES (id = 'ipek-7')", {"A5"}),  # DuckDB lowers İ to i
    # a line whose id is not (any case of) sku-1: A3's Sku-2, A5's two lines
    ("products_purchased MATCHES (id != 'sku-1')", {"A3", "A5"}),
    ("products_purchased MATCHES (id NOT IN ('sku-1', 'SKU-2'))", {"A5"}),
    # a code no line has: nobody; its negation: every buyer
    ("products_purchased MATCHES (id = 'nope')", set()),
    ("products_purchased MATCHES (id != 'nope')", BUYERS),
    ("products_purchased NOT MATCHES (id = 'sku-1')", EVERYONE - {"A1", "A2"}),
    ("products_purchased MATCHES (category = 'SHOES')", {"A1", "A2"}),
    ("products_purchased MATCHES (category = 'bags')", {"A3"}),  # O7 is after the date
    # two MATCHES over the same lines (the cross-sell shape): bought sku-1, not sku-3
    (
        "products_purchased MATCHES (id = 'sku-1') AND products_purchased NOT MATCHES "
        "(id = 'SKU-3', date >= -30d)",
        {"A1", "A2"},
    ),
    (
        "products_purchased MATCHES (category = 'shoes') OR products_purchased MATCHES "
        "(category = '신발')",
        {"A1", "A2", "A5"},
    ),
    ("events MATCHES (name = 'CART_ADD')", {"A1", "A2"}),
    ("events(name: 'cart_add') >= 1", {"A1", "A2"}),
    # totals: computed when tested, left out when not (same members either way)
    ("products_purchased MATCHES (id = 'sku-1', count >= 2)", {"A1"}),  # O1 and O6
    ("products_purchased MATCHES (id = 'sku-1', count >= 1)", {"A1", "A2"}),
    ("orders_placed MATCHES (date >= 2025-03-03)", {"A1", "A3", "A5"}),
    ("orders_placed MATCHES (sum_amount >= 30000)", {"A1", "A3"}),  # A1: 10,000 + 25,000
    ("orders_placed MATCHES (count >= 1, sum_amount < 25000)", {"A2", "A5"}),
    ("orders_placed MATCHES (count >= 2, sum_amount >= 30000)", {"A1"}),
    ("orders_placed MATCHES (sum_amount < 25000)", {"A2", "A4", "A5"}),  # 0 for A4 too
    ("orders_placed NOT MATCHES (date >= 2025-03-03)", {"A2", "A4"}),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("spellings")
    ws = Workspace.init(folder / "shop", timezone="Asia/Seoul")
    load_rows(
        ws,
        folder,
        {"customers": CUSTOMERS, "orders": ORDERS, "order_items": ITEMS, "events": EVENTS},
    )
    ws.close()
    return folder / "shop"


@pytest.fixture(scope="module")
def ws(shop: Path) -> Iterator[Workspace]:
    ws = Workspace.open(shop)
    yield ws
    ws.close()


def members(ws: Workspace, query: str) -> set[str]:
    tgt = service.target(ws, query)
    rows = service.members(ws, tgt, AS_OF).select("customer_id").to_pyarrow()
    return set(rows["customer_id"].to_pylist())


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_members_and_count_by_hand(ws: Workspace, query: str, expected: set[str]) -> None:
    assert members(ws, query) == expected
    assert service.count(ws, service.target(ws, query), AS_OF) == len(expected)


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[q for q, _ in CASES])
def test_the_portable_form_selects_the_same(ws: Workspace, query: str, expected: set[str]):
    """The SQL shown for other engines keeps LOWER (no spellings of this shop in it) and
    selects the same customers."""
    comp = Compiler(ws.ibis, AS_OF, resolver=service.registry(ws).tree, exact_text=False)
    ids = comp.members(parse_query(query)).select("customer_id").to_pyarrow()
    assert set(ids["customer_id"].to_pylist()) == expected


def test_a_typed_code_becomes_the_shops_spellings(ws: Workspace) -> None:
    comp = Compiler(ws.ibis, AS_OF, resolver=service.registry(ws).tree)
    tree = parse_query("products_purchased MATCHES (id = 'sku-1', date >= -90d)")
    sql = duckdb_sql(comp.members(tree).count())
    # exact, and bare (no COALESCE around it): the scan can apply it
    assert re.search(
        r"WHERE \"t\d+\"\.\"id\" IN \('SKU-1', 'sku-1'\) AND \"t\d+\"\.\"date\" >= MAKE_DATE", sql
    ), sql
    assert "LOWER(" not in sql
    shown = service.to_sql(
        ws, service.target(ws, "products_purchased MATCHES (id = 'sku-1')"), AS_OF
    )
    assert "LOWER" in shown.upper() and "'SKU-1'" not in shown


def test_a_test_without_totals_computes_none(ws: Workspace) -> None:
    """A MATCHES without ``count``/``sum_amount`` tests aggregates nothing; one with a single
    total computes that one (over a base table with no aggregates of its own)."""

    def sql(query: str) -> str:
        people = ws.ibis.table("customers").select("customer_id")
        base = people.mutate(known_customer=ibis.literal(True))
        comp = Compiler(ws.ibis, AS_OF, base=base, resolver=service.registry(ws).tree)
        return duckdb_sql(comp.members(parse_query(query)).count())

    plain = sql("orders_placed MATCHES (date >= -30d)")
    assert "COUNT(DISTINCT" not in plain and "SUM(" not in plain
    summed = sql("orders_placed MATCHES (sum_amount > 0)")
    assert "SUM(" in summed and "COUNT(DISTINCT" not in summed
    counted = sql("orders_placed MATCHES (count >= 2)")
    assert "COUNT(DISTINCT" in counted and "SUM(" not in counted


def test_the_listing_follows_a_new_store(shop: Path, tmp_path: Path) -> None:
    """A reader keeps its listing while its store is the same; after another process loads
    a new spelling (a new published store), the reader that follows finds it."""
    shop = Path(shutil.copytree(shop, tmp_path / "copy"))
    reader = Workspace.open(shop)
    try:
        query = "products_purchased MATCHES (id = 'sku-1')"
        assert service.count(reader, service.target(reader, query), AS_OF) == 2
        listed = listing(reader.ibis, "order_items", "product_id")
        assert listed is not None and listed["sku-1"] == ("SKU-1", "sku-1")
        # kept while the reader's connection reads the same published store
        assert listing(reader.ibis, "order_items", "product_id") is listed
        writer = Workspace.open(shop)
        try:
            load_rows(
                writer,
                tmp_path,
                {
                    "orders": (
                        ORDERS[0],
                        [("O8", "A5", "2025-03-20T10:00:00+09:00", "1", "paid", "")],
                    ),
                    "order_items": (ITEMS[0], [("O8", "sKu-1", "Shoes", "1", "1")]),
                },
            )
        finally:
            writer.close()
        assert reader.follow()
        assert service.count(reader, service.target(reader, query), AS_OF) == 3  # A1, A2, A5
        listed = listing(reader.ibis, "order_items", "product_id")
        assert listed is not None and listed["sku-1"] == (
            "SKU-1",
            "sKu-1",
            "sku-1",
        )
    finally:
        reader.close()


def test_value_warnings_name_only_values_no_line_has(ws: Workspace) -> None:
    query = (
        "products_purchased MATCHES (id IN ('sku-1', 'SKU-2', 'nope'), category = 'SHOES') "
        "AND events MATCHES (name = 'CART_ADD') AND events MATCHES (name = 'cart_drop')"
    )
    warned = service.value_warnings(ws, parse_query(query))
    assert [(w["kind"], w["value"]) for w in warned] == [
        ("product", "nope"),
        ("event", "cart_drop"),
    ]


def test_a_writable_store_is_listed_again() -> None:
    """A writer's store can change between two compiles: its values are not kept."""
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE order_items (product_id VARCHAR)")
    con.raw_sql("INSERT INTO order_items VALUES ('A-1'), (NULL)")
    assert listing(con, "order_items", "product_id") == {"a-1": ("A-1",)}
    con.raw_sql("INSERT INTO order_items VALUES ('a-1')")
    assert listing(con, "order_items", "product_id") == {"a-1": ("A-1", "a-1")}
    con.disconnect()
