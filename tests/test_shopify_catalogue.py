"""Shopify's products export (product tags) and the customers export's company and account
state, loaded with the ``shopify`` preset, and the segments that read them (issue 17).

Column lists:

* products export, one row per variant — help.shopify.com/en/manual/products/import-export/
  using-csv ("Product CSV file format"); striveformats.com/guides/shopify/
  shopify-product-csv-template-explained: Handle, Title, Body (HTML), Vendor, Product
  Category, Type, Tags, Published, Option1 Name, Option1 Value, …, Variant SKU, …, Variant
  Price, …, Status. A product's Title, Vendor and Tags are on its first row only; the other
  variants' rows share the Handle and leave them blank.
* customers export — help.shopify.com/en/manual/customers/import-export-customers
  (``SHOPIFY_CUSTOMERS`` in test_ingest_platforms.py, with Default Address Company); the
  account state is the ``State`` column of Matrixify's customers export
  (matrixify.app/documentation/customers: disabled, invited, enabled, declined).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from danggol.ingest.load import ingest_files
from danggol.segments import service
from danggol.store.workspace import Workspace
from test_ingest_platforms import SHOPIFY_CUSTOMERS, SHOPIFY_HEADER, write_csv

PRODUCTS_HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Compare At Price",
    "Image Src",
    "Status",
]

D = dt.date(2025, 6, 30)


def _products(path: Path) -> Path:
    rows = [
        # a product with two sizes: only the first row carries Title, Vendor and Tags
        {
            "Handle": "cold-brew",
            "Title": "Cold brew",
            "Body (HTML)": "<p>Smooth, cold</p>",
            "Vendor": "Bean Co",
            "Type": "Coffee",
            "Tags": "Summer, Coffee",
            "Published": "TRUE",
            "Option1 Name": "Size",
            "Option1 Value": "Small",
            "Variant SKU": "CB-S",
            "Variant Price": "5000",
            "Status": "active",
        },
        {
            "Handle": "cold-brew",
            "Option1 Value": "Large",
            "Variant SKU": "CB-L",
            "Variant Price": "8000",
        },
        # a product with one variant and no SKU: the orders name it by its Lineitem name
        {
            "Handle": "tote",
            "Title": "Tote",
            "Vendor": "Bag Co",
            "Tags": "Leather",
            "Published": "TRUE",
            "Option1 Name": "Title",
            "Option1 Value": "Default Title",
            "Variant SKU": "",
            "Variant Price": "30000",
            "Status": "active",
        },
    ]
    return write_csv(path, PRODUCTS_HEADER, rows, "utf-8")


def _orders(path: Path) -> Path:
    def line(name, email, created, sku, item, price, first=True):
        row = {
            "Name": name,
            "Lineitem sku": sku,
            "Lineitem name": item,
            "Lineitem quantity": 1,
            "Lineitem price": price,
        }
        if first:
            row |= {
                "Email": email,
                "Financial Status": "paid",
                "Total": price,
                "Created at": created,
                "Currency": "KRW",
            }
        return row

    rows = [
        line("#1", "a@shop.kr", "2025-06-01 10:00:00 +0900", "CB-L", "Cold brew - Large", "8000"),
        line("#2", "b@shop.kr", "2025-06-02 10:00:00 +0900", "", "Tote", "30000"),
        line("#3", "c@shop.kr", "2025-06-03 10:00:00 +0900", "X-1", "Mug", "9000"),
    ]
    return write_csv(path, SHOPIFY_HEADER, rows, "utf-8")


def _customers(path: Path) -> Path:
    header = [*SHOPIFY_CUSTOMERS, "State"]
    rows = [
        {"Customer ID": "1", "Email": "a@shop.kr", "Default Address Company": "Acme",
         "State": "ENABLED"},
        {"Customer ID": "2", "Email": "b@shop.kr", "State": "INVITED"},
        {"Customer ID": "3", "Email": "c@shop.kr", "Default Address Company": "Mug Inc"},
    ]  # fmt: skip
    return write_csv(path, header, rows, "utf-8")


def test_a_shopify_products_export_gives_the_tags_products_purchased_reads(tmp_path):
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul")
    ingest_files(ws, "orders", [_orders(tmp_path / "orders_export.csv")], preset="shopify")
    result = ingest_files(
        ws, "products", [_products(tmp_path / "products_export.csv")], preset="shopify"
    )
    assert result.quarantined == 0, result.to_dict()
    stored = {
        r[0]: (r[1], r[2], sorted(r[3]))
        for r in ws.duck.execute(
            "SELECT product_id, product_name, category, tags FROM products"
        ).fetchall()
    }
    # each variant takes its product's Title, Vendor and Tags; a product without SKU is
    # keyed by its Title, as the orders export names its line
    assert stored == {
        "CB-S": ("Cold brew", "Bean Co", ["coffee", "summer"]),
        "CB-L": ("Cold brew", "Bean Co", ["coffee", "summer"]),
        "Tote": ("Tote", "Bag Co", ["leather"]),
    }
    # by hand: a bought CB-L (summer, coffee), b bought Tote (leather), c a Mug not in the
    # catalogue (no tags)
    cases = {
        "products_purchased MATCHES (tag = 'summer')": 1,
        "products_purchased(tag: 'leather') = true": 1,
        "products_purchased MATCHES (tag IN ('summer', 'leather'))": 2,
        "products_purchased NOT MATCHES (tag = 'summer')": 2,
        "products_purchased MATCHES (tag != 'summer')": 2,  # b's tote and c's untagged mug
    }
    got = {q: service.count(ws, service.target(ws, q), D) for q in cases}
    assert got == cases
    ws.close()


def test_a_shopify_customers_export_gives_company_and_account_status(tmp_path):
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul")
    ingest_files(ws, "orders", [_orders(tmp_path / "orders_export.csv")], preset="shopify")
    result = ingest_files(
        ws, "customers", [_customers(tmp_path / "customers_export.csv")], preset="shopify"
    )
    assert result.quarantined == 0, result.to_dict()
    rows = ws.duck.execute(
        "SELECT customer_id, account_status, company FROM customers ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("a@shop.kr", "enabled", "Acme"),
        ("b@shop.kr", "invited", None),
        ("c@shop.kr", None, "Mug Inc"),
    ]
    cases = {
        "customer_account_status = 'ENABLED'": 1,
        "customer_account_status != 'ENABLED'": 2,  # the complement: c has no state
        "customer_account_status IS NULL": 1,
        "companies IS NOT NULL": 2,
        "companies = 'ACME'": 1,
    }
    got = {q: service.count(ws, service.target(ws, q), D) for q in cases}
    assert got == cases
    ws.close()


def test_an_account_state_shopify_does_not_have_is_quarantined_with_the_reason(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    path = write_csv(
        tmp_path / "customers_export.csv",
        [*SHOPIFY_CUSTOMERS, "State"],
        [{"Email": "a@shop.kr", "State": "ENABLED"}, {"Email": "z@shop.kr", "State": "paused"}],
        "utf-8",
    )
    result = ingest_files(ws, "customers", [path], preset="shopify")
    assert result.quarantined == 1
    reason = ws.duck.execute("SELECT reason FROM quarantine").fetchone()[0]
    assert "account_status" in reason and "paused" in reason, reason
    ws.close()


def test_member_lists_show_account_status_and_company(tmp_path):
    """The joined fields can be shown in a member list (CLI ``--fields``, the API's preview),
    not only tested."""
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul")
    ingest_files(ws, "orders", [_orders(tmp_path / "orders_export.csv")], preset="shopify")
    ingest_files(ws, "customers", [_customers(tmp_path / "customers_export.csv")], preset="shopify")
    tgt = service.target(ws, "number_of_orders >= 1")
    page = service.member_page(
        ws, tgt, D, fields=["customer_account_status", "companies", "amount_spent"]
    )
    assert page.rows == [
        {"customer_id": "a@shop.kr", "customer_account_status": "enabled",
         "companies": "Acme", "amount_spent": 8000.0},
        {"customer_id": "b@shop.kr", "customer_account_status": "invited",
         "companies": None, "amount_spent": 30000.0},
        {"customer_id": "c@shop.kr", "customer_account_status": None,
         "companies": "Mug Inc", "amount_spent": 9000.0},
    ]  # fmt: skip
    table = service.members(ws, tgt, D, fields=["customer_id", "companies"])
    rows = table.select("customer_id", "company").order_by("customer_id").to_pyarrow()
    assert rows.to_pylist()[0] == {"customer_id": "a@shop.kr", "company": "Acme"}
    ws.close()


def test_the_new_values_are_named_in_korean_and_english():
    """Shopify's capitals name the same code; a list is a list, a BETWEEN a range."""
    from danggol.segments.explain import describe
    from danggol.segments.parse import parse_query

    def words(query: str, lang: str) -> list[str]:
        return describe(parse_query(query), lang)

    assert words("customer_account_status = 'ENABLED'", "ko") == ["- 계정 상태: 계정 활성"]
    assert words("customer_account_status = 'ENABLED'", "en") == ["- account status is Enabled"]
    assert words("customer_account_status IN ('invited', 'DECLINED')", "ko") == [
        "- 계정 상태: 가입 초대됨, 초대 거절 중 하나"
    ]
    assert words("amount_spent BETWEEN 10000 AND 20000", "ko") == [
        "- 누적 구매금액 10,000원 ~ 20,000원 사이"
    ]
    assert words("amount_spent BETWEEN 10000 AND 20000", "en") == [
        "- amount spent is between 10,000 and 20,000"
    ]
    assert words("products_purchased MATCHES (tag = 'summer')", "ko") == [
        "- 구매함 (상품 태그 'summer')"
    ]


def test_a_products_load_touches_the_buyers_of_its_products(tmp_path):
    """An incremental refresh recomputes the customers a load touched: for a catalogue, the
    buyers of its products (a bought CB-L, b the Tote; c's Mug has no catalogue row)."""
    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul")
    ingest_files(ws, "orders", [_orders(tmp_path / "orders_export.csv")], preset="shopify")
    result = ingest_files(
        ws, "products", [_products(tmp_path / "products_export.csv")], preset="shopify"
    )
    touched = ws.duck.execute(
        "SELECT customer_id FROM touched_customers WHERE batch_id = ? ORDER BY 1",
        [result.batch_id],
    ).fetchall()
    assert touched == [("a@shop.kr",), ("b@shop.kr",)]
    ws.close()


def test_an_engine_copy_without_a_catalogue_has_no_tags(tmp_path):
    """A store read on another engine may hold only the order tables (tests/test_parity.py
    copies those): products_purchased still runs there, and a tag matches no line."""
    import ibis

    from danggol.segments.compile import Compiler
    from danggol.segments.parse import parse_query

    ws = Workspace.init(tmp_path / "shop", timezone="Asia/Seoul")
    ingest_files(ws, "orders", [_orders(tmp_path / "orders_export.csv")], preset="shopify")
    con = ibis.duckdb.connect()
    for name in ("customers", "orders", "order_items", "events"):
        con.create_table(name, ws.ibis.table(name).to_pyarrow())
    assert "products" not in con.list_tables()

    def members(query: str) -> list[str]:
        table = Compiler(con, D).members(parse_query(query))
        return sorted(table.to_pyarrow()["customer_id"].to_pylist())

    assert members("products_purchased MATCHES (id = 'Tote')") == ["b@shop.kr"]
    assert members("products_purchased MATCHES (tag = 'leather')") == []
    assert members("products_purchased(tag: 'leather') = true") == []
    assert len(members("products_purchased NOT MATCHES (tag = 'leather')")) == 3
    ws.close()
    con.disconnect()
