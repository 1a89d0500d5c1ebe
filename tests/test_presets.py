"""Presets for real shop exports (Shopify, Korean shop admins) and --mapping YAML files."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace


def fetch(ws: Workspace, sql: str) -> list[tuple]:
    return ws.duck.execute(sql).fetchall()


# -- Shopify ------------------------------------------------------------------------------------
SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone",
    "Shipping Name", "Shipping City", "Shipping Country", "Notes", "Cancelled at",
    "Payment Method", "Refunded Amount", "Vendor", "Id", "Tags", "Risk Level", "Source",
]  # fmt: skip


def shopify_row(**fields: str) -> list[str]:
    """A row of the export; fields by header with spaces as underscores (Lineitem_sku=...)."""
    values = {k.replace("_", " "): v for k, v in fields.items()}
    unknown = set(values) - set(SHOPIFY_HEADER)
    assert not unknown, unknown
    return [values.get(h, "") for h in SHOPIFY_HEADER]


def line(order: str, email: str, created: str, qty: str, name: str, price: str, sku: str):
    """A line-item row after an order's first: Shopify fills only the line's own fields."""
    return shopify_row(
        Name=order, Email=email, Created_at=created, Lineitem_quantity=qty, Lineitem_name=name,
        Lineitem_price=price, Lineitem_sku=sku, Lineitem_requires_shipping="true",
        Lineitem_taxable="true", Lineitem_fulfillment_status="fulfilled", Vendor="Hanbit Studio",
    )  # fmt: skip


KIM = {
    "Email": "kim@example.com", "Accepts_Marketing": "yes", "Billing_Name": "Kim Minji",
    "Billing_Street": "12 Teheran-ro", "Billing_City": "Seoul", "Billing_Zip": "'06234",
    "Billing_Province": "Seoul", "Billing_Country": "KR", "Billing_Phone": "+82 10-1234-5678",
    "Shipping_Name": "Kim Minji", "Shipping_City": "Seoul", "Shipping_Country": "KR",
}  # fmt: skip
LEE = {
    "Email": "lee@example.com", "Accepts_Marketing": "no", "Billing_Name": "Lee Jun",
    "Billing_City": "Busan", "Billing_Province": "Busan", "Billing_Country": "KR",
    "Billing_Phone": "+82 10-9876-5432", "Shipping_Name": "Lee Jun", "Shipping_City": "Busan",
    "Shipping_Country": "KR",
}  # fmt: skip
COMMON = {"Currency": "KRW", "Taxes": "0.00", "Payment_Method": "Shopify Payments",
          "Risk_Level": "Low", "Source": "web"}  # fmt: skip

SHOPIFY_ROWS = [
    # #1001: paid, two lines (2 x 19,000 + 21,000 + 3,000 shipping)
    shopify_row(
        Name="#1001", **KIM, **COMMON, Financial_Status="paid",
        Paid_at="2024-01-15 10:24:02 +0900", Fulfillment_Status="fulfilled",
        Subtotal="59000.00", Shipping="3000.00", Total="62000.00", Discount_Amount="0.00",
        Shipping_Method="CJ대한통운", Created_at="2024-01-15 10:23:45 +0900",
        Lineitem_quantity="2", Lineitem_name="Linen Shirt - M", Lineitem_price="19000.00",
        Lineitem_compare_at_price="25000.00", Lineitem_sku="LS-M",
        Lineitem_requires_shipping="true", Lineitem_taxable="true",
        Lineitem_fulfillment_status="fulfilled", Refunded_Amount="0.00",
        Vendor="Hanbit Studio", Id="5512345678901", Tags="first-order",
    ),
    line("#1001", "kim@example.com", "2024-01-15 10:23:45 +0900", "1", "Canvas Tote",
         "21000.00", "CT-01"),
    # #1002: a 10% coupon, then 10,000 refunded; 00:30 KST is still the 15th in UTC
    shopify_row(
        Name="#1002", **LEE, **COMMON, Financial_Status="partially_refunded",
        Paid_at="2024-01-16 00:30:10 +0900", Fulfillment_Status="fulfilled",
        Subtotal="45000.00", Shipping="0.00", Total="40500.00", Discount_Code="WELCOME10",
        Discount_Amount="4500.00", Created_at="2024-01-16 00:30:00 +0900",
        Lineitem_quantity="1", Lineitem_name="Wool Scarf", Lineitem_price="45000.00",
        Lineitem_sku="WS-GR", Refunded_Amount="10000.00", Vendor="Hanbit Studio",
        Id="5512345678902",
    ),
    # #1003: kim again; cancelled (and refunded in full) the next morning
    shopify_row(
        Name="#1003", **KIM, **COMMON, Financial_Status="refunded",
        Paid_at="2024-01-17 08:10:30 +0900", Subtotal="15000.00", Shipping="0.00",
        Total="15000.00", Discount_Amount="0.00", Created_at="2024-01-17 08:10:00 +0900",
        Lineitem_quantity="1", Lineitem_name="Ceramic Mug", Lineitem_price="15000.00",
        Lineitem_sku="CM-WH", Cancelled_at="2024-01-17 09:00:00 +0900",
        Refunded_Amount="15000.00", Vendor="Hanbit Studio", Id="5512345678903",
    ),
]  # fmt: skip


def test_shopify_export_loads_orders_lines_and_customers_in_one_go(ws, write_csv):
    path = write_csv("orders_export_1.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)

    result = ingest_files(ws, "orders", [path], preset="shopify")

    assert result.rows == 4
    assert {n: (t.read, t.loaded, t.quarantined) for n, t in result.tables.items()} == {
        "customers": (2, 2, 0),
        "orders": (3, 3, 0),
        "order_items": (4, 4, 0),
    }
    assert fetch(
        ws,
        "SELECT order_id, customer_id, ordered_at, order_date, total, currency, status, "
        "refunded_amount, discount, coupon_code, shipping_fee, channel FROM orders ORDER BY 1",
    ) == [
        ("#1001", "kim@example.com", dt.datetime(2024, 1, 15, 1, 23, 45), dt.date(2024, 1, 15),
         62000.0, "KRW", "paid", 0.0, 0.0, None, 3000.0, "web"),
        ("#1002", "lee@example.com", dt.datetime(2024, 1, 15, 15, 30), dt.date(2024, 1, 16),
         40500.0, "KRW", "partially_refunded", 10000.0, 4500.0, "WELCOME10", 0.0, "web"),
        ("#1003", "kim@example.com", dt.datetime(2024, 1, 16, 23, 10), dt.date(2024, 1, 17),
         15000.0, "KRW", "cancelled", 15000.0, 0.0, None, 0.0, "web"),
    ]  # fmt: skip
    assert fetch(
        ws,
        "SELECT order_id, line_no, product_id, product_name, category, quantity, unit_price "
        "FROM order_items ORDER BY 1, 2",
    ) == [
        ("#1001", 1, "LS-M", "Linen Shirt - M", "Hanbit Studio", 2, 19000.0),
        ("#1001", 2, "CT-01", "Canvas Tote", "Hanbit Studio", 1, 21000.0),
        ("#1002", 1, "WS-GR", "Wool Scarf", "Hanbit Studio", 1, 45000.0),
        ("#1003", 1, "CM-WH", "Ceramic Mug", "Hanbit Studio", 1, 15000.0),
    ]
    assert fetch(
        ws,
        "SELECT customer_id, email, name, phone, city, region, country, marketing_opt_in "
        "FROM customers ORDER BY 1",
    ) == [
        ("kim@example.com", "kim@example.com", "Kim Minji", "+82 10-1234-5678", "Seoul",
         "Seoul", "KR", True),
        ("lee@example.com", "lee@example.com", "Lee Jun", "+82 10-9876-5432", "Busan",
         "Busan", "KR", False),
    ]  # fmt: skip


def test_shopify_export_loaded_twice_is_unchanged(ws, write_csv):
    path = write_csv("orders_export_1.csv", SHOPIFY_HEADER, SHOPIFY_ROWS)
    ingest_files(ws, "orders", [path], preset="shopify")
    tables = ("customers", "orders", "order_items")
    before = {t: sorted(fetch(ws, f"SELECT * FROM {t}"), key=repr) for t in tables}

    again = ingest_files(ws, "orders", [path], preset="shopify")

    assert {n: (t.loaded, t.updated, t.unchanged) for n, t in again.tables.items()} == {
        "customers": (0, 2, 2),
        "orders": (0, 3, 3),
        "order_items": (0, 4, 4),
    }
    assert {t: sorted(fetch(ws, f"SELECT * FROM {t}"), key=repr) for t in tables} == before


# -- Korean shop exports ------------------------------------------------------------------------
KOREAN_HEADER = [
    "주문번호",
    "주문일시",
    "회원아이디",
    "결제금액",
    "주문상태",
    "상품번호",
    "상품명",
    "수량",
    "판매가",
]
KOREAN_ROWS = [
    ["20250630-0000011", "2025-06-30 14:05:12", "minji01", "35,000", "결제완료", "P100", "린넨 셔츠", "1", "20,000"],
    ["20250630-0000011", "2025-06-30 14:05:12", "minji01", "35,000", "결제완료", "P200", "캔버스 가방", "1", "15,000"],
    ["20250630-0000012", "2025-06-30 23:40:00", "junho", "18,000", "배송중", "P300", "머그컵", "2", "9,000"],
    ["20250701-0000001", "2025-07-01 08:00:00", "minji01", "9,000", "배송완료", "P300", "머그컵", "1", "9,000"],
    ["20250701-0000002", "2025.07.01 10:30", "seoyeon", "20,000", "구매확정", "P100", "린넨 셔츠", "1", "20,000"],
    ["20250701-0000003", "2025-07-01 11:00:00", "junho", "15,000", "취소", "P200", "캔버스 가방", "1", "15,000"],
    ["20250701-0000004", "2025-07-01 12:00:00", "seoyeon", "9,000", "반품", "P300", "머그컵", "1", "9,000"],
    ["20250701-0000005", "2025-07-01 13:00:00", "minji01", "20,000", "환불", "P100", "린넨 셔츠", "1", "20,000"],
]  # fmt: skip
KOREAN_ORDERS = [
    ("20250630-0000011", "minji01", dt.datetime(2025, 6, 30, 5, 5, 12), dt.date(2025, 6, 30), 35000.0, "paid"),
    ("20250630-0000012", "junho", dt.datetime(2025, 6, 30, 14, 40), dt.date(2025, 6, 30), 18000.0, "paid"),
    ("20250701-0000001", "minji01", dt.datetime(2025, 6, 30, 23, 0), dt.date(2025, 7, 1), 9000.0, "paid"),
    ("20250701-0000002", "seoyeon", dt.datetime(2025, 7, 1, 1, 30), dt.date(2025, 7, 1), 20000.0, "paid"),
    ("20250701-0000003", "junho", dt.datetime(2025, 7, 1, 2, 0), dt.date(2025, 7, 1), 15000.0, "cancelled"),
    ("20250701-0000004", "seoyeon", dt.datetime(2025, 7, 1, 3, 0), dt.date(2025, 7, 1), 9000.0, "refunded"),
    ("20250701-0000005", "minji01", dt.datetime(2025, 7, 1, 4, 0), dt.date(2025, 7, 1), 20000.0, "refunded"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("cp949", "cp949"), ("euc-kr", "cp949"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8")],
)
def test_korean_order_export_in_any_usual_encoding(ws, write_csv, encoding, detected):
    path = write_csv("주문내역.csv", KOREAN_HEADER, KOREAN_ROWS, encoding=encoding)

    result = ingest_files(ws, "orders", [path], preset="korean")

    assert result.encodings == {str(path): detected}
    assert result.quarantined == 0
    assert {n: t.loaded for n, t in result.tables.items()} == {
        "customers": 3,
        "orders": 7,
        "order_items": 8,
    }
    assert (
        fetch(
            ws,
            "SELECT order_id, customer_id, ordered_at, order_date, total, status FROM orders "
            "ORDER BY 1",
        )
        == KOREAN_ORDERS
    )
    assert fetch(
        ws,
        "SELECT order_id, line_no, product_id, product_name, quantity, unit_price "
        "FROM order_items WHERE order_id IN ('20250630-0000011', '20250630-0000012') ORDER BY 1, 2",
    ) == [
        ("20250630-0000011", 1, "P100", "린넨 셔츠", 1, 20000.0),
        ("20250630-0000011", 2, "P200", "캔버스 가방", 1, 15000.0),
        ("20250630-0000012", 1, "P300", "머그컵", 2, 9000.0),
    ]
    assert fetch(ws, "SELECT customer_id FROM customers ORDER BY 1") == [
        ("junho",),
        ("minji01",),
        ("seoyeon",),
    ]


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("결제완료", "paid"),
        ("배송중", "paid"),
        ("배송완료", "paid"),
        ("구매확정", "paid"),
        ("취소", "cancelled"),
        ("반품", "refunded"),
        ("환불", "refunded"),
    ],
)
def test_korean_order_status_labels(ws, write_csv, label, status):
    path = write_csv(
        "orders.csv",
        ["주문번호", "주문일시", "회원아이디", "결제금액", "주문상태"],
        [["A-1", "2025-06-30 10:00", "minji01", "10000원", label]],
        encoding="cp949",
    )
    ingest_files(ws, "orders", [path], preset="korean")
    assert fetch(ws, "SELECT status, total FROM orders") == [(status, 10000.0)]


def test_korean_cp949_export_with_won_signs(ws, write_csv):
    # CP949 has no U+20A9 (₩): Korean Windows files write the won sign as U+FFE6 (￦)
    path = write_csv(
        "orders.csv",
        ["주문번호", "주문일시", "회원아이디", "결제금액"],
        [
            ["A-1", "2025-06-30 10:00", "minji01", "￦12,000"],
            ["A-2", "2025-06-30", "junho", "12,000원"],
        ],
        encoding="cp949",
    )
    result = ingest_files(ws, "orders", [path], preset="korean")
    assert result.quarantined == 0
    assert fetch(ws, "SELECT order_id, total FROM orders ORDER BY 1") == [
        ("A-1", 12000.0),
        ("A-2", 12000.0),
    ]


def test_korean_member_export_through_the_cli(ws, write_csv):
    path = write_csv(
        "회원목록.csv",
        ["회원아이디", "이름", "이메일", "휴대폰번호", "성별", "생년월일", "가입일", "마케팅수신동의"],
        [
            ["minji01", "김민지", "minji@example.com", "010-1234-5678", "여", "1992-03-15",
             "2023-03-01 12:00:00", "Y"],
            ["junho", "이준호", "junho@example.com", "010-9876-5432", "남", "19880704",
             "2024.11.20", "N"],
        ],
        encoding="cp949",
    )  # fmt: skip
    ws.close()

    cli = CliRunner().invoke(
        app, ["-w", str(ws.path), "ingest", "customers", str(path), "--preset", "korean", "--json"]
    )

    assert cli.exit_code == 0, cli.output
    data = json.loads(cli.stdout)
    assert (data["read"], data["loaded"], data["updated"], data["quarantined"]) == (2, 2, 0, 0)
    assert data["encodings"] == {str(path): "cp949"}
    with Workspace.open(ws.path) as again:
        assert fetch(
            again,
            "SELECT customer_id, name, email, phone, gender, birth_date, signup_at, signup_date, "
            "marketing_opt_in FROM customers ORDER BY 1",
        ) == [
            ("junho", "이준호", "junho@example.com", "010-9876-5432", "male",
             dt.date(1988, 7, 4), dt.datetime(2024, 11, 19, 15, 0), dt.date(2024, 11, 20), False),
            ("minji01", "김민지", "minji@example.com", "010-1234-5678", "female",
             dt.date(1992, 3, 15), dt.datetime(2023, 3, 1, 3, 0), dt.date(2023, 3, 1), True),
        ]  # fmt: skip


# -- --mapping YAML ------------------------------------------------------------------------------
MAPPING_YAML = """\
# another shop's export
columns:
  order_id: Order No
  customer_id: [Member ID, Buyer ID]
  ordered_at: Order Date
  total: Paid Amount
  status: Order Status
values:
  status: {Dispatched: paid, Money Back: refunded, Shipped: paid}
"""


def test_mapping_file_maps_headers_and_status_values(ws, write_csv, tmp_path):
    mapping = tmp_path / "other-shop.yaml"
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    path = write_csv(
        "export.csv",
        ["Order No", "Buyer ID", "Order Date", "Paid Amount", "Order Status", "Memo"],
        [
            ["N-1", "b1", "2025-06-30 10:00", "9,900", "Dispatched", "gift wrap"],
            ["N-2", "b2", "2025/06/30", "₩19,800", "money back", ""],
            ["N-3", "b1", "2025-07-01T09:00:00+09:00", "5000", "Shipped", ""],
            ["N-4", "b3", "2025-07-01", "5000", "On Hold", ""],
        ],
    )

    result = ingest_files(ws, "orders", [path], mapping=mapping)

    assert (result.read, result.loaded, result.quarantined) == (4, 3, 1)
    assert fetch(
        ws, "SELECT order_id, customer_id, ordered_at, total, status FROM orders ORDER BY 1"
    ) == [
        ("N-1", "b1", dt.datetime(2025, 6, 30, 1, 0), 9900.0, "paid"),
        ("N-2", "b2", dt.datetime(2025, 6, 29, 15, 0), 19800.0, "refunded"),
        ("N-3", "b1", dt.datetime(2025, 7, 1, 0, 0), 5000.0, "paid"),
    ]
    [(line, reason)] = fetch(ws, "SELECT source_line, reason FROM quarantine")
    assert line == 5 and "status" in reason and "On Hold" in reason
