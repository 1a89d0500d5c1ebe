"""What storing the purchased lines (``purchase_lines``) adds to a refresh.

    PYTHONPATH=src python bench/bench_refresh_lines.py --workspace /tmp/s3live/ws1m

Runs ``danggol refresh`` (``pipeline.refresh``, the saved segments included) on a workspace
— which it writes to: give it a copy — and reports the process's CPU seconds (rusage: every
DuckDB thread included) and wall time for the whole refresh and for its purchase-lines stage
alone (``pipeline.materialise_purchase_lines``, timed from inside the same run), whether the
lines were built (a refresh with no load since the last build keeps them) and their size.
``--full`` rebuilds the lines even when current (a refresh after a load rebuilds them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time
from pathlib import Path
from typing import Any

from danggol import pipeline
from danggol.store.tables import PURCHASE_LINES
from danggol.store.workspace import Workspace


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--full", action="store_true", help="rebuild the profile and the lines")
    args = parser.parse_args()

    stage: dict[str, Any] = {}
    build = pipeline.materialise_purchase_lines

    def timed(ws: Workspace, *, full: bool = False) -> bool:
        c0, w0 = cpu(), time.perf_counter()
        built = build(ws, full=full)
        stage.update(cpu=cpu() - c0, wall=time.perf_counter() - w0, built=built)
        return built

    pipeline.materialise_purchase_lines = timed
    ws = Workspace.open(args.workspace)
    try:
        c0, w0 = cpu(), time.perf_counter()
        result = pipeline.refresh(ws, dt.date.fromisoformat(args.as_of), full=args.full)
        total_cpu, total_wall = cpu() - c0, time.perf_counter() - w0
        rows = ws.duck.execute(f"SELECT count(*) FROM {PURCHASE_LINES}").fetchone()
    finally:
        ws.close()
    print(f"load average: {os.getloadavg()}")
    print(
        f"refresh: {total_cpu:.1f} s CPU, {total_wall:.1f} s wall, {len(result.segments)} segments"
    )
    print(
        f"purchase lines stage: {stage['cpu']:.1f} s CPU, {stage['wall']:.1f} s wall, "
        f"built={stage['built']}, {rows[0] if rows else 0:,} lines "
        f"({stage['cpu'] / total_cpu:.0%} of the refresh's CPU)"
    )


if __name__ == "__main__":
    main()
