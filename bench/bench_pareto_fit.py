"""Pareto/NBD's fit at scale: Newton's method from the warm start (this branch's path above
20,000 distinct rows) against SLSQP from the same warm start (the path before), alternating,
in one process, on a summary of a workspace or a simulated one.

    PYTHONPATH=src python bench/bench_pareto_fit.py --synthetic 1000000 --repeat 2
    PYTHONPATH=src python bench/bench_pareto_fit.py --workspace /tmp/big/ws1m --repeat 2

Reports CPU seconds (``time.process_time``), steps and evaluations of the full data's objective,
the fitted parameters' largest relative difference and the log-likelihoods, and the
information matrix's cost (what the intervals add). Writes ``bench/out/pareto-fit.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_predict_step import synthetic_summary
from common import machine, md_table
from danggol.predict.models import ParetoNBD
from danggol.predict.uncertainty import log_param_covariance

OUT = Path(__file__).parent / "out"


def summary_arrays(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    import pyarrow.parquet as pq

    if args.synthetic:
        OUT.mkdir(exist_ok=True)
        path = OUT / f"step-synthetic-{args.synthetic}.parquet"
        if not path.exists():
            synthetic_summary(args.synthetic, path)
        table = pq.read_table(path)
    else:
        import ibis

        from danggol.predict.summary import rfm_summary

        con = ibis.duckdb.connect(str(args.workspace / "store.duckdb"), read_only=True)
        table = rfm_summary(con, dt.date.fromisoformat(args.as_of), time_unit="week")
    return tuple(table.column(c).to_numpy().astype(float) for c in ("frequency", "recency", "T"))


def fit(newton: bool, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> dict:
    ParetoNBD._newton_polish = newton
    calls = {"n": 0}
    original = ParetoNBD._prepared_objective

    def counted(self, data, w):  # type: ignore[no-untyped-def]
        prepared = original(self, data, w)
        if w.size < 20_000:  # the warm start's sample: not the full data
            return prepared

        def objective(params):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            return prepared(params)

        return objective

    ParetoNBD._prepared_objective = counted  # type: ignore[method-assign]
    try:
        start = time.process_time()
        model = ParetoNBD().fit(x, tx, T)
        took = time.process_time() - start
        evaluations = calls["n"] - 1  # less the last one, at the optimum, for the log-likelihood
        start = time.process_time()
        log_param_covariance(model)
        cov = time.process_time() - start
    finally:
        ParetoNBD._prepared_objective = original  # type: ignore[method-assign]
        ParetoNBD._newton_polish = True
    return {
        "cpu": took,
        "cov_cpu": cov,
        "steps": model.n_iter_,
        "evaluations": evaluations,
        "rows": model.n_rows_,
        "params": model.params_,
        "ll": model.log_likelihood_,
        "converged": model.converged_,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--synthetic", type=int)
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    x, tx, T = summary_arrays(args)
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"SLSQP (before)": [], "Newton (after)": []}
    for _ in range(args.repeat):
        runs["SLSQP (before)"].append(fit(False, x, tx, T))
        runs["Newton (after)"].append(fit(True, x, tx, T))
    load_after = os.getloadavg()
    base = min(r["cpu"] for r in runs["SLSQP (before)"])
    ref = runs["SLSQP (before)"][-1]
    rows = []
    for name, rs in runs.items():
        best = min(r["cpu"] for r in rs)
        last = rs[-1]
        diff = max(abs(last["params"][k] / ref["params"][k] - 1) for k in ref["params"])
        rows.append(
            [
                name,
                f"{best:.2f} s",
                f"{best / base:.2f}×",
                f"{min(r['cov_cpu'] for r in rs):.2f} s",
                last["steps"],
                last["evaluations"],
                f"{diff:.1e}",
                f"{last['ll']:.6f}",
                last["converged"],
            ]
        )
    info = machine()
    source = f"--synthetic {args.synthetic}" if args.synthetic else f"--workspace {args.workspace}"
    text = "\n".join(
        [
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python "
            f"{info['python']}. Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: `PYTHONPATH=src "
            f"python bench/bench_pareto_fit.py {source} --repeat {args.repeat}`; "
            f"{ref['rows']:,} distinct rows of {x.size:,} customers. Load average before "
            f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
            f"{', '.join(f'{v:.2f}' for v in load_after)}.",
            "",
            md_table(
                [
                    "Pareto/NBD fit",
                    "CPU (best)",
                    "vs SLSQP",
                    "information matrix CPU",
                    "steps",
                    "full-data evaluations",
                    "largest parameter difference",
                    "log-likelihood",
                    "converged",
                ],
                rows,
            ),
        ]
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "pareto-fit.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
