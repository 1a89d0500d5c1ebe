"""Pareto/NBD fit time: this checkout against ``predict/btyd.py`` as of an earlier revision.

    PYTHONPATH=src python bench/bench_pareto.py --before c7274a0 --sizes cdnow,100k,1m \\
        --workspace 100k=bench/out/ws-100k --workspace 1m=bench/out/ws-1m

``cdnow`` is the CDNOW 1/10 sample's published summary (2,357 customers, weeks;
``tests/data/cdnow``); a demo size is the summary ``rfm_summary(con, 2025-06-30,
time_unit="week")`` of a demo workspace (the store opened read-only; built with
``generate_shop(n, seed=7, end=2025-06-30)`` when missing), as in ``bench_predict.py``.
``ParetoNBD().fit(frequency, recency, T)`` runs ``--repeat`` times for each side, the two sides
alternating so that both see the same load; the best and the median are reported, with the
log-likelihood, the parameters, the iterations and ``converged_``.

Writes ``bench/out/pareto.md`` and prints it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench_predict import OUT, build_summary, module_at, workspace_for
from common import given_workspaces, machine, md_table
from danggol.predict.models import ParetoNBD

CDNOW = Path(__file__).parents[1] / "tests" / "data" / "cdnow" / "cdnow_customers_summary.csv"


def columns(label: str, given: dict[str, Path]) -> tuple[np.ndarray, ...]:
    if label == "cdnow":
        table = pacsv.read_csv(CDNOW)
    else:
        path, _, _ = build_summary(label, workspace_for(label, given))
        table = pq.read_table(path)
    return tuple(
        table[name].to_numpy().astype(np.float64) for name in ("frequency", "recency", "T")
    )


def time_fits(sides: dict[str, type], data: tuple[np.ndarray, ...], repeat: int) -> dict:
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    fitted = {}
    for _ in range(repeat):
        for name, model in sides.items():
            start = time.perf_counter()
            fitted[name] = model().fit(*data)
            seconds[name].append(time.perf_counter() - start)
    return {name: (seconds[name], fitted[name]) for name in sides}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="cdnow,100k", help="comma-separated: cdnow, 100k, 1m")
    parser.add_argument(
        "--workspace", action="append", default=[], help="SIZE=PATH of an existing workspace"
    )
    parser.add_argument("--before", metavar="REV", help="also time predict/btyd.py as of REV")
    parser.add_argument("--repeat", type=int, default=3, help="fits per side (best, median)")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    given = given_workspaces(args.workspace)
    sides: dict[str, type] = {"this checkout": ParetoNBD}
    if args.before:
        sides = {f"at {args.before}": module_at(args.before).ParetoNBD, **sides}
    info = machine()
    load_before = os.getloadavg()
    rows = []
    for label in args.sizes.split(","):
        data = columns(label, given)
        for name, (seconds, m) in time_fits(sides, data, args.repeat).items():
            p = m.params_
            rows.append(
                [
                    label,
                    name,
                    f"{int(m.n_customers_):,}",
                    f"{m.n_rows_:,}",
                    f"{min(seconds):.3f}",
                    f"{statistics.median(seconds):.3f}",
                    f"{m.log_likelihood_:.4f}",
                    ", ".join(f"{k} = {v:.6g}" for k, v in p.items()),
                    f"{m.n_iter_} / {m.converged_}",
                ]
            )
    load_after = os.getloadavg()
    command = "PYTHONPATH=src python bench/bench_pareto.py " + " ".join(sys.argv[1:])
    text = "\n".join(
        [
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python "
            f"{info['python']}; {info['libraries']}, scipy {version('scipy')}. Run "
            f"{info['date']}: `{command}`. Load "
            f"average {load_before[0]:.1f} before, {load_after[0]:.1f} after.",
            "",
            md_table(
                [
                    "data",
                    "code",
                    "customers",
                    "distinct rows",
                    "best s",
                    "median s",
                    "log-likelihood",
                    "parameters",
                    "iterations / converged",
                ],
                rows,
            ),
        ]
    )
    (OUT / "pareto.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
