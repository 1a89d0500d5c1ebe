"""Small hand-made shops for ``test_analytics_*.py``, loaded with ``ingest_tables``."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from danggol.ingest.load import ingest_tables
from danggol.store.workspace import Workspace

#: (order_id, customer_id, "YYYY-MM-DD", total[, status[, refunded_amount]])
Order = tuple
#: (order_id, product_id[, product_name])
Item = tuple


def load_shop(
    ws: Workspace,
    orders: Sequence[Order] = (),
    items: Sequence[Item] = (),
    customers: Sequence[str] = (),
) -> None:
    """Load orders (placed at noon local time), their lines and known customers; nothing
    may be quarantined."""
    tables: dict[str, pa.Table] = {}
    if customers:
        tables["customers"] = pa.table({"customer_id": pa.array(list(customers), pa.string())})
    if orders:
        rows = [(*o, *("paid", 0.0)[len(o) - 4 :]) for o in orders]
        tables["orders"] = pa.table(
            {
                "order_id": [r[0] for r in rows],
                "customer_id": [r[1] for r in rows],
                "ordered_at": [f"{r[2]} 12:00:00" for r in rows],
                "total": pa.array([float(r[3]) for r in rows], pa.float64()),
                "status": [r[4] for r in rows],
                "refunded_amount": pa.array([float(r[5]) for r in rows], pa.float64()),
            }
        )
    if items:
        tables["order_items"] = pa.table(
            {
                "order_id": [i[0] for i in items],
                "product_id": [i[1] for i in items],
                "product_name": pa.array(
                    [i[2] if len(i) > 2 else None for i in items], pa.string()
                ),
            }
        )
    result = ingest_tables(ws, tables)
    assert result.quarantined == 0, ws.duck.sql("SELECT * FROM quarantine").fetchall()
