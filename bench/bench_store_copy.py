"""What a write costs in the copy-aside design (docs/internals.md, "Sharing a workspace").

Every write copies the published store to a private file, works there, checkpoints, fsyncs
and renames it over the store. This measures, on a workspace given with --workspace:

* the store's size and the time of a plain file copy of it (``shutil.copyfile``);
* the writer's fixed cost: ``Workspace.writer()`` with nothing inside (lock, copy,
  checkpoint, fsync, rename);
* a small load (``ingest_files`` of 100 orders) through the writer, and the same load's
  statements run in place on a copy of the store opened read-write (the design before:
  the baseline, same run);
* a plain copy of a file ``--scale`` times the store's size (what a store that many times
  larger costs to copy: --scale 10 for 1M customers from a 100k-customer store).

Usage: ``PYTHONPATH=src python bench/bench_store_copy.py --workspace bench/out/ws-100k``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from danggol.ingest import load
from danggol.store.workspace import Workspace


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def orders_file(folder: Path) -> Path:
    path = folder / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,total\n"
        + "".join(f"BENCH{i},C{i:07d},2025-06-2{i % 9} 10:00,{5000 + i}\n" for i in range(100))
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="storecopy.", dir=args.workspace.parent))
    try:
        ws_path = work / "ws"
        shutil.copytree(args.workspace, ws_path)
        store = ws_path / "store.duckdb"
        size = store.stat().st_size
        print(f"store: {size / 2**20:,.0f} MiB ({args.workspace})")
        copy = timed(lambda: shutil.copyfile(store, work / "plain-copy"))
        print(f"plain copy of the store: {copy:.2f} s ({size / 2**20 / copy:,.0f} MiB/s)")
        os.unlink(work / "plain-copy")

        def empty_write() -> None:
            with Workspace.open(ws_path) as ws, ws.writer():
                pass

        fixed = timed(empty_write)
        print(f"writer with nothing inside (lock, copy, checkpoint, fsync, rename): {fixed:.2f} s")
        orders = orders_file(work)

        def write() -> None:
            with Workspace.open(ws_path) as ws:
                load.ingest_files(ws, "orders", [orders])

        through_writer = timed(write)
        # the baseline: the same load in place on a store opened read-write (the old design)
        inplace_path = work / "inplace.duckdb"
        shutil.copyfile(store, inplace_path)
        ws = Workspace.open(ws_path)
        con = duckdb.connect(str(inplace_path))
        ws.__dict__["ibis"] = __import__("ibis").duckdb.from_connection(con)
        ws._writing = 1  # already the writer: transactions run in place on this connection
        in_place = timed(lambda: load.ingest_files(ws, "orders", [orders]))
        con.close()
        print(
            f"load of 100 orders: {through_writer:.2f} s through the writer, {in_place:.2f} s in "
            f"place (baseline, same run): {through_writer / in_place:.1f}×"
        )
        big = work / "big"
        with open(store, "rb") as fin, open(big, "wb") as fout:
            for _ in range(args.scale):
                fin.seek(0)
                shutil.copyfileobj(fin, fout, 1 << 24)
        big_size = big.stat().st_size
        big_copy = timed(lambda: shutil.copyfile(big, work / "big-copy"))
        print(
            f"plain copy of {big_size / 2**30:.2f} GiB ({args.scale}× the store): {big_copy:.2f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
