"""What the prediction diagnostics add to ``collect_report``: CPU seconds (rusage of the whole
process, DuckDB's threads included) and wall seconds with ``diagnostics=False`` (the baseline)
and ``True``, alternating in one process on one demo workspace, after one warm-up run.

    PYTHONPATH=src python bench/bench_report_diagnostics.py               # 1,500 customers
    PYTHONPATH=src python bench/bench_report_diagnostics.py --customers 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.outputs.report import collect_report
from danggol.store.workspace import Workspace


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "shop")
        ingest_tables(ws, generate_shop(args.customers, seed=5, end=args.as_of))
        collect_report(ws, args.as_of, diagnostics=False)  # warm-up
        runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.repeat):
            for diagnostics in (False, True):
                c, w = cpu(), time.perf_counter()
                collect_report(ws, args.as_of, diagnostics=diagnostics)
                runs[diagnostics].append((cpu() - c, time.perf_counter() - w))
        ws.close()
    print(f"{args.customers:,} customers, load average {os.getloadavg()[0]:.1f}")
    for diagnostics, got in runs.items():
        best = min(got)
        print(
            f"collect_report diagnostics={diagnostics}: best CPU {best[0]:.2f} s "
            f"(wall {best[1]:.2f} s); runs CPU {', '.join(f'{c:.2f}' for c, _ in got)}"
        )
    ratio = min(runs[True])[0] / min(runs[False])[0]
    print(f"CPU ratio with/without diagnostics: {ratio:.2f}")


if __name__ == "__main__":
    main()
