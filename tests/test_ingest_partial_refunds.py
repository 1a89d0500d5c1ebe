"""A partial refund that the status column does not name.

WooCommerce keeps an order 'completed' or 'processing' after a partial refund: only
``refunded_total`` (and the items' ``item_refunded``) says that part of it was given back
(woocommerce.com/document/woocommerce-refunds/: "the order status will remain unchanged
unless the order is fully refunded"). Such an order must be a partly refunded order, as
Shopify's ``partially_refunded`` one is: counted in ``refunds`` and in the built-in
'refunded customers' segment, its refund taken off the revenue. Header: the "Default – One Row
per Item" export (tests/test_ingest_platforms.py cites its source).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from danggol.ingest.load import ingest_files
from danggol.profile import customer_profile
from danggol.segments import service
from danggol.store.workspace import Workspace
from test_ingest_platforms import WOO_HEADER

AS_OF = dt.date(2025, 6, 30)
# order, date, status word, order total, refunded total, customer, [(sku, item total, item refunded)]
ORDERS = [
    ("601", "2025-06-01 10:00:00", "wc-completed", 30000, 0, "5", [("W1", 10000, 0), ("W2", 20000, 0)]),
    ("602", "2025-06-05 10:00:00", "processing", 25000, 10000, "5", [("W1", 10000, 10000), ("W2", 15000, 0)]),
    ("603", "2025-06-07 10:00:00", "completed", 8000, 3000, "7", [("W3", 8000, 3000)]),
    ("604", "2025-06-08 10:00:00", "refunded", 20000, 20000, "7", [("W2", 20000, 20000)]),
    ("605", "2025-06-09 10:00:00", "completed", 12000, 0, "9", [("W1", 12000, 0)]),
]  # fmt: skip


def woo_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(WOO_HEADER)
        for order, date, status, total, refunded, customer, items in ORDERS:
            for sku, item_total, item_refunded in items:
                row = {
                    "order_id": order,
                    "order_number": order,
                    "date": date,
                    "status": status,
                    "order_total": total,
                    "refunded_total": refunded,
                    "order_currency": "KRW",
                    "customer_id": customer,
                    "billing_email": f"c{customer}@shop.kr",
                    "item_sku": sku,
                    "item_quantity": 1,
                    "item_total": item_total,
                    "item_refunded": item_refunded,
                }
                w.writerow([row.get(h, "") for h in WOO_HEADER])
    return path


def test_a_completed_order_with_a_refund_is_partly_refunded(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "shop")
    ingest_files(ws, "orders", [woo_file(tmp_path / "orders.csv")], preset="woocommerce")

    # by hand: 602 and 603 are paid orders with part of their total refunded; 604 is refunded
    stored = dict(
        ws.duck.execute("SELECT order_id, status || ' ' || refunded_amount FROM orders").fetchall()
    )
    assert stored == {
        "601": "paid 0.0",
        "602": "partially_refunded 10000.0",
        "603": "partially_refunded 3000.0",
        "604": "refunded 20000.0",
        "605": "paid 0.0",
    }
    # per customer, from the rows: orders with money given back; money kept from purchases
    refunds: dict[str, int] = {}
    spent: dict[str, float] = {}
    for _, _, status, total, refunded, customer, _ in ORDERS:
        refunds[customer] = refunds.get(customer, 0) + (refunded > 0)
        if status != "refunded":
            spent[customer] = spent.get(customer, 0) + total - refunded
    profile = customer_profile(ws.ibis, AS_OF).to_pyarrow().to_pylist()
    got = {r["customer_id"]: (r["refunds"], r["amount_spent"]) for r in profile}
    assert got == {c: (refunds[c], spent[c]) for c in refunds}  # 5: (1, 45000), 7: (2, 5000)

    members = service.members(ws, service.target(ws, "refunded_customers"), AS_OF)
    got_ids = {r["customer_id"] for r in members.select("customer_id").to_pyarrow().to_pylist()}
    assert got_ids == {c for c, n in refunds.items() if n >= 1}
