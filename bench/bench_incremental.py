"""Incremental refresh benchmark: after a small load, an incremental refresh next to a full one.

    python bench/bench_incremental.py --workspace bench/out/ws-1m   # a copy is made first
    python bench/bench_incremental.py --customers 100000            # or generate a shop

The workspace (a copy of it) is refreshed in full as of 2025-06-30; then a load of late orders
arrives (``--late`` orders for existing customers, dated within the last 30 days, with one line
each), and the same refresh runs incrementally and in full, alternating, best of 3 each. Before
timing, the two stored profiles are checked equal on every column (floats to 1e-9 relative).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, md_table
from danggol import pipeline
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.segments.registry import builtin_segments
from danggol.store.workspace import Workspace

AS_OF = dt.date(2025, 6, 30)
REPEAT = 3


def late_orders(ws: Workspace, n: int, seed: int = 1) -> dict[str, pa.Table]:
    ids = [r[0] for r in ws.duck.execute("SELECT customer_id FROM customers").fetchall()]
    rng = np.random.default_rng(seed)
    who = rng.choice(ids, size=n, replace=True)
    days = rng.integers(0, 30, size=n)
    order_ids = [f"LATE-{seed}-{i}" for i in range(n)]
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": who.tolist(),
            "ordered_at": [(AS_OF - dt.timedelta(days=int(d))).isoformat() for d in days],
            "total": rng.integers(10, 200, size=n).astype(float) * 1000,
        }
    )
    items = pa.table(
        {
            "order_id": order_ids,
            "line_no": [1] * n,
            "product_id": ["P0001"] * n,
            "quantity": [1] * n,
            "unit_price": orders.column("total"),
        }
    )
    return {"orders": orders, "order_items": items}


def compare(ws: Workspace) -> None:
    duck = ws.duck
    cols = [(r[0], r[1]) for r in duck.execute("DESCRIBE profile_snapshot").fetchall()]
    exact = ", ".join(f'"{c}"' for c, t in cols if t not in ("DOUBLE", "FLOAT"))
    n = duck.execute(
        f"SELECT count(*) FROM ((SELECT {exact} FROM _inc EXCEPT ALL SELECT {exact} FROM profile_snapshot) "
        f"UNION ALL (SELECT {exact} FROM profile_snapshot EXCEPT ALL SELECT {exact} FROM _inc))"
    ).fetchone()[0]
    floats = [c for c, t in cols if t in ("DOUBLE", "FLOAT")]
    worst = 0.0
    for c in floats:
        d = duck.execute(
            f'SELECT max(abs(a."{c}" - b."{c}") / greatest(abs(b."{c}"), 1e-12)) '
            f"FROM _inc a JOIN profile_snapshot b USING (customer_id)"
        ).fetchone()[0]
        worst = max(worst, d or 0.0)
    if n or worst > 1e-9:
        raise SystemExit(f"incremental and full differ: {n} rows (exact columns), float {worst:g}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace")
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--late", type=int, default=5_000)
    args = ap.parse_args()
    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="danggol-inc-", dir=Path(__file__).parent / "out"))
    try:
        if args.workspace:
            shutil.copytree(args.workspace, tmp / "ws")
            ws = Workspace.open(tmp / "ws")
        else:
            ws = Workspace.init(tmp / "ws")
            ingest_tables(ws, generate_shop(args.customers, seed=7, end=AS_OF))
        segments = {n: s for n, s in builtin_segments().items() if not s.required_params}
        pipeline.refresh(ws, AS_OF, segments=segments, full=True)
        customers = ws.count("profile_snapshot")
        t0 = time.perf_counter()
        ingest_tables(ws, late_orders(ws, args.late))
        t_load = time.perf_counter() - t0
        result = pipeline.refresh(ws, AS_OF, segments=segments)
        if result.recomputed is None:
            raise SystemExit("the refresh after the late orders was not incremental")
        # kept aside as Parquet: the full refresh publishes a new store, and a temporary table
        # of the reader's connection would go with the old one
        kept = tmp / "incremental.parquet"
        ws.duck.execute(f"COPY profile_snapshot TO '{kept}' (FORMAT parquet)")
        pipeline.refresh(ws, AS_OF, segments=segments, full=True)
        ws.duck.execute(f"CREATE OR REPLACE TEMP VIEW _inc AS SELECT * FROM read_parquet('{kept}')")
        compare(ws)
        print("checked: incremental equals full", file=sys.stderr)
        inc, full = [], []
        for i in range(REPEAT):
            # a fresh small load each round, so that every incremental refresh has work to do
            ingest_tables(ws, late_orders(ws, args.late, seed=100 + i))
            t0 = time.perf_counter()
            r = pipeline.refresh(ws, AS_OF, segments=segments)
            inc.append(time.perf_counter() - t0)
            assert r.recomputed is not None
            t0 = time.perf_counter()
            pipeline.refresh(ws, AS_OF, segments=segments, full=True)
            full.append(time.perf_counter() - t0)
            print(f"incremental {inc[-1]:.2f} s, full {full[-1]:.2f} s", file=sys.stderr)
        ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    source = f"--workspace {args.workspace}" if args.workspace else f"--customers {args.customers}"
    print(
        "\n\n".join(
            [
                f"### Incremental refresh: {customers:,} customers, {args.late:,} late orders",
                f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python "
                f"{info['python']}; {info['libraries']}. Run {info['date']}: "
                f"`python bench/bench_incremental.py {source} --late {args.late}`. "
                f"Loading the late orders took {t_load:.2f} s; {result.recomputed:,} customers "
                f"recomputed. Both refreshes do the whole rest (scores, predictions, "
                f"{len(segments)} segments, history); the stored profiles were checked equal.",
                md_table(
                    ["refresh as of 2025-06-30 after the load", "best of 3", "ratio"],
                    [
                        ["incremental", f"{min(inc):.2f} s", f"{min(inc) / min(full):.2f}×"],
                        ["full (`--full`)", f"{min(full):.2f} s", "1.00×"],
                    ],
                ),
            ]
        )
    )


if __name__ == "__main__":
    main()
