"""The refresh's prediction step at scale, this branch against an earlier commit.

    PYTHONPATH=src python bench/bench_predict_step.py --workspace bench/out/ws-1m --before 351edda \
        --also pareto_nbd

Times ``customer_predictions(con, 2025-06-30, settings)`` — what ``refresh`` runs for the
prediction fields: the summary query, the fits, every per-customer prediction (and now the
guards, the intervals and, with ``model = "auto"``, the backtest of the candidates) — on the
demo workspace opened read-only, in a fresh subprocess per run so that neither side warms the
other's caches:

* ``before``: ``src/`` of ``--before`` (exported with ``git archive``), its default settings
  (BG/NBD);
* ``after, bgnbd``: this branch with ``model = "bgnbd"`` (guards and intervals added);
* ``after, auto``: this branch's default, ``model = "auto"``, with no earlier choice stored
  (the backtest runs: the worst case; a refresh repeated on the same day reuses the choice).

The runs alternate (before, after-bgnbd, after-auto, before, …) ``--repeat`` times; the best of
each is reported with the ratio to ``before`` from the same run. The machine is shared: the
load average before and after is printed.

Writes ``bench/out/predict-step.md`` / ``.json`` and prints the markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import machine, md_table

HERE = Path(__file__).parent
ROOT = HERE.parent
OUT = HERE / "out"
AS_OF = "2025-06-30"

SYNTHETIC_CHILD = r"""
import datetime as dt, json, sys, time
import pyarrow.parquet as pq
from danggol.config import PredictionSettings
import danggol.predict.customers as customers
summary = pq.read_table(sys.argv[1])
customers.rfm_summary = lambda *a, **k: summary  # the store's query replaced by the file
settings = PredictionSettings(**json.loads(sys.argv[2]))
import resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start, start_cpu = time.perf_counter(), cpu()
table, run = customers.customer_predictions(None, dt.date.fromisoformat(sys.argv[3]), settings)
took, took_cpu = time.perf_counter() - start, cpu() - start_cpu
print(json.dumps({"seconds": took, "cpu_seconds": took_cpu, "rows": table.num_rows, "status": run.status}))
"""


def synthetic_summary(n: int, path: Path) -> Path:
    """A BG/NBD shop of n customers (r 0.5, α 10 weeks, a 1.5, b 8; first purchases over two
    years, purchase days whole) and Gamma-Gamma values, as a summary file."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    T = rng.integers(1, 730, n) / 7
    lam, p = rng.gamma(0.5, 1 / 10, n), rng.beta(1.5, 8, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        buy = alive & (t < T)
        x += buy
        tx = np.where(buy, np.floor(t * 7) / 7, tx)
        alive = buy & (rng.random(n) >= p)
    nu = rng.gamma(4, 1 / 60_000, n)
    mv = np.where(x > 0, rng.gamma(5 * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0.0)
    table = pa.table(
        {
            "customer_id": [f"c{i:07d}" for i in range(n)],
            "frequency": x.astype(np.int64),
            "recency": tx,
            "T": T.astype(float),
            "monetary_value": mv,
        }
    )
    pq.write_table(table, path)
    return path


CHILD = r"""
import datetime as dt, json, sys, time
import ibis
from danggol.config import PredictionSettings
from danggol.predict.customers import customer_predictions
con = ibis.duckdb.connect(sys.argv[1], read_only=True)
settings = PredictionSettings(**json.loads(sys.argv[2]))
import resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
start, start_cpu = time.perf_counter(), cpu()
table, run = customer_predictions(con, dt.date.fromisoformat(sys.argv[3]), settings)
took, took_cpu = time.perf_counter() - start, cpu() - start_cpu
out = {"seconds": took, "cpu_seconds": took_cpu, "rows": table.num_rows, "status": run.status}
for key in ("model", "choice_summary", "repurchase_model"):
    if hasattr(run, key):
        out[key] = getattr(run, key)
print(json.dumps(out))
"""


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    path = into / "before.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run(src: Path, store: Path, settings: dict, child: str = CHILD) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", child, str(store), json.dumps(settings), AS_OF],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path)
    parser.add_argument(
        "--synthetic",
        type=int,
        help="instead of a workspace: a simulated summary of this many customers (the numpy "
        "part of the step only: no summary query, and no auto model choice, which needs a store)",
    )
    parser.add_argument("--before", default="351edda")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--also",
        nargs="*",
        default=[],
        choices=["mbgnbd", "pareto_nbd"],
        help="also time this branch with these models (the one auto chose, say)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        before_src = export(args.before, Path(tmp))
        sides = {
            "before": (before_src, {}),
            "after, model = bgnbd": (ROOT / "src", {"model": "bgnbd"}),
            "after, model = auto (backtest runs)": (ROOT / "src", {"model": "auto"}),
        }
        for name in args.also:  # e.g. the model auto chose, to tell its cost from the choice's
            sides[f"after, model = {name}"] = (ROOT / "src", {"model": name})
        child = CHILD
        if args.synthetic:
            OUT.mkdir(exist_ok=True)
            store = synthetic_summary(
                args.synthetic, OUT / f"step-synthetic-{args.synthetic}.parquet"
            )
            child = SYNTHETIC_CHILD
            del sides["after, model = auto (backtest runs)"]
        else:
            store = args.workspace / "store.duckdb"
        results: dict[str, list[dict]] = {k: [] for k in sides}
        for _ in range(args.repeat):
            for name, (src, settings) in sides.items():
                results[name].append(run(src, store, settings, child))
    load_after = os.getloadavg()
    base = min(r["seconds"] for r in results["before"])
    base_cpu = min(r.get("cpu_seconds", math.nan) for r in results["before"])
    rows = []
    for name, runs in results.items():
        best = min(r["seconds"] for r in runs)
        best_cpu = min(r.get("cpu_seconds", math.nan) for r in runs)
        rows.append(
            [
                name,
                f"{best_cpu:.2f} s",
                f"{best_cpu / base_cpu:.2f}×",
                f"{best:.2f} s",
                f"{best / base:.2f}×",
                ", ".join(f"{r.get('cpu_seconds', math.nan):.2f}" for r in runs),
                f"{runs[-1]['rows']:,}",
            ]
        )
    info = machine()
    text = "\n".join(
        [
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
            f"{info['libraries']}. Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
            "`PYTHONPATH=src python bench/bench_predict_step.py "
            + (
                f"--synthetic {args.synthetic}"
                if args.synthetic
                else f"--workspace {args.workspace}"
            )
            + f" --before {args.before} --repeat {args.repeat}"
            + (f" --also {' '.join(args.also)}" if args.also else "")
            + "`. The machine was shared with other "
            f"jobs: load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load_before)}, "
            f"after {', '.join(f'{v:.2f}' for v in load_after)}.",
            "",
            md_table(
                [
                    "prediction step",
                    "CPU (best)",
                    "CPU vs before",
                    "wall (best)",
                    "wall vs before",
                    "CPU of each run (s)",
                    "customers",
                ],
                rows,
            ),
            "",
            "auto: "
            + str(
                results.get("after, model = auto (backtest runs)", [{}])[-1].get(
                    "choice_summary", ""
                )
            ),
        ]
    )
    OUT.mkdir(exist_ok=True)
    stem = f"predict-step-synthetic-{args.synthetic}" if args.synthetic else "predict-step"
    (OUT / f"{stem}.md").write_text(text, encoding="utf-8")
    (OUT / f"{stem}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
