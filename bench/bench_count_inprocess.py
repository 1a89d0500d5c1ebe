"""The counts of bench/bench_count.py inside one process only (imports done, the workspace open),
with this tree's code, next to the same hand-written SQL on the same connection.

"of which compiling" is the CPU of a count spent outside running its SQL on DuckDB (building
the Ibis expression, the bookkeeping reads, Ibis' SQL compiler): the count's own SQL is timed
by wrapping ``store.backends.to_rows`` as the count calls it.

    python bench/bench_count_inprocess.py --workspace /tmp/ws200k [--repeat 5]

The baseline of another tree (main) in the same run: that tree's own copy of this script.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_count import queries
from common import machine
from danggol.profile import snapshot_is_current
from danggol.segments import service
from danggol.store import backends
from danggol.store.workspace import Workspace

#: CPU seconds spent running the count's own SQL (``to_rows`` minus compiling its SQL)
_RUN: list[float] = []


def _timed_to_rows(con: Any, expr: Any, **kw: Any) -> list[tuple[Any, ...]]:
    sql = backends.duckdb_sql(expr, **kw)
    c0 = time.process_time()
    rows: list[tuple[Any, ...]] = con.con.execute(sql).fetchall()
    _RUN.append(time.process_time() - c0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores (shared); run {info['date']}")
    print(f"source: {service.__file__}; load average {os.getloadavg()[0]:.2f}")
    with Workspace.open(args.workspace) as ws:
        print(f"refreshed for {day}: {snapshot_is_current(ws.ibis, day)}")
        print(
            "\n| query | count | danggol: wall / CPU (median) | of which compiling (CPU) "
            "| SQL: wall / CPU | × (wall / CPU) |"
        )
        print("|---|---|---|---|---|---|")
        for query, sql in queries(day):
            tgt = service.target(ws, query)
            n = service.count(ws, tgt, day)  # warm: the first call loads what it needs
            walls, cpus, swalls, scpus, compiling = [], [], [], [], []
            for _ in range(args.repeat):
                service.to_rows = _timed_to_rows
                _RUN.clear()
                c0 = time.process_time()
                service.count(ws, tgt, day)
                compiling.append(time.process_time() - c0 - sum(_RUN))
                service.to_rows = backends.to_rows
                t0, c0 = time.perf_counter(), time.process_time()
                n = service.count(ws, tgt, day)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                t0, c0 = time.perf_counter(), time.process_time()
                m = ws.duck.execute(sql).fetchone()[0]
                swalls.append(time.perf_counter() - t0)
                scpus.append(time.process_time() - c0)
            if n != m:
                raise SystemExit(f"{query!r}: danggol {n}, SQL {m}")
            w, c = statistics.median(walls), statistics.median(cpus)
            sw, sc = statistics.median(swalls), statistics.median(scpus)
            print(
                f"| `{query}` | {n:,} | {w * 1000:.0f} ms / {c * 1000:.0f} ms | "
                f"{statistics.median(compiling) * 1000:.0f} ms | "
                f"{sw * 1000:.0f} ms / {sc * 1000:.0f} ms | {w / sw:.1f}× / {c / max(sc, 1e-3):.1f}× |",
                flush=True,
            )


if __name__ == "__main__":
    main()
