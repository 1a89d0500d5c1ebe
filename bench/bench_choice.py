"""CDNOW holdout: AUC and Brier of P(repurchase) for every candidate of ``model = "auto"`` and
the one chosen, next to lifetimes and PyMC-Marketing where they have the model.

    PYTHONPATH=src python bench/bench_choice.py            # 13 and 39 weeks
    PYTHONPATH=src python bench/bench_choice.py --no-baselines

The CDNOW sample (tests/data/cdnow, 2,357 customers) is loaded as orders into a fresh
workspace. For each horizon h (91 and 273 days) danggol's :func:`backtest_candidates` runs as a
refresh on 1997-09-30 + h would: calibration up to 1997-09-30, outcome = a purchase in the next
h days. lifetimes 0.11.3 and PyMC-Marketing 0.19.2 fit their BG/NBD, MBG/NBD and Pareto/NBD
on the same calibration summary (written to ``bench/out/choice-summary.parquet``) in their
virtual environments (see bench/bench_predict.py; ``bench/runners/holdout_probability.py``),
and their P(repurchase) is scored here with the same labels and the same AUC / Brier code.

Writes ``bench/out/choice.md`` / ``choice.json`` and prints the markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

import numpy as np
import pyarrow.parquet as pq

from common import machine, md_table
from danggol.config import PredictionSettings
from danggol.ingest.load import ingest_tables
from danggol.predict.backtest import auc_score, holdout_counts
from danggol.predict.choice import backtest_candidates
from danggol.predict.summary import rfm_summary
from danggol.store.workspace import Workspace
from test_predict_customers import cdnow_orders

HERE = Path(__file__).parent
OUT = HERE / "out"
CUTOFF = dt.date(1997, 9, 30)
PYTHONS = {
    "lifetimes": OUT / "venv-lifetimes" / "bin" / "python",
    "pymc-marketing": OUT / "venv-pymc" / "bin" / "python",
}


def baseline(name: str, summary: Path, weeks: float) -> dict:
    python = PYTHONS[name]
    if not python.exists():
        return {"error": f"{python} missing (see bench/bench_predict.py to create it)"}
    lib = "lifetimes" if name == "lifetimes" else "pymc"
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(python),
            str(HERE / "runners" / "holdout_probability.py"),
            lib,
            str(summary),
            "--t",
            str(weeks),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1]}
    result = json.loads(done.stdout)
    result["_seconds"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "cdnow", timezone="UTC", currency="USD")
        ingest_tables(ws, {"orders": cdnow_orders()})
        summary = rfm_summary(ws.ibis, CUTOFF)
        path = OUT / "choice-summary.parquet"
        pq.write_table(summary, path)
        ids = [str(c) for c in summary.column("customer_id").to_pylist()]
        runs = []
        for days in (91, 273):
            start = time.perf_counter()
            choice = backtest_candidates(
                ws.ibis, CUTOFF + dt.timedelta(days=days), PredictionSettings(horizon_days=days)
            )
            took = time.perf_counter() - start
            counts = holdout_counts(ws.ibis, CUTOFF, CUTOFF + dt.timedelta(days=days))
            y = np.array([counts.get(c, 0) > 0 for c in ids])
            libs = {}
            if not args.no_baselines:
                for name in PYTHONS:
                    res = baseline(name, path, days / 7)
                    libs[name] = {}
                    for model, part in res.items():
                        if model.startswith("_"):
                            continue
                        if model == "error" or part.get("repurchase") is None:
                            libs[name][model] = {
                                "error": part if model == "error" else part.get("error")
                            }
                            continue
                        p = np.asarray(part["repurchase"], dtype=float)
                        libs[name][model] = {
                            "auc": auc_score(y, p),
                            "brier": float(((p - y) ** 2).mean()),
                            "params": part["params"],
                        }
            runs.append(
                {
                    "days": days,
                    "seconds": took,
                    "choice": choice.to_dict(),
                    "summary": choice.summary(),
                    "libraries": libs,
                }
            )
        ws.close()
    info = machine()
    lines = [
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}. Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: `PYTHONPATH=src python bench/bench_choice.py`. The machine was shared with other jobs (timings are not the point here).",
        "",
    ]
    for run in runs:
        c = run["choice"]
        rows = []
        for name, score in c["scores"].items():
            cells = [
                name + (" **(chosen)**" if name == c["best"] else ""),
                f"{score['auc']:.4f}",
                f"{score['brier']:.4f}",
            ]
            for lib in PYTHONS:
                got = run["libraries"].get(lib, {}).get(name)
                cells.append(
                    "—"
                    if got is None
                    else (
                        f"{got['auc']:.4f} / {got['brier']:.4f}"
                        if "auc" in got
                        else "not available"
                    )
                )
            rows.append(cells)
        for name in c["not_candidates"]:
            rows.append([name, "not a candidate", "", "", ""])
        lines.append(
            f"#### {run['days']} days after {CUTOFF} ({c['customers']:,} customers, {c['repurchasers']:,} bought; backtest {run['seconds']:.2f} s)"
        )
        lines.append("")
        lines.append(
            md_table(
                [
                    "candidate",
                    "AUC",
                    "Brier",
                    "lifetimes AUC / Brier",
                    "PyMC-Marketing AUC / Brier",
                ],
                rows,
            )
        )
        lines.append("")
        lines.append(
            f"Chosen: {run['summary']}. Learners' training window: {c['window_days']} days."
        )
        for name, why in c["not_candidates"].items():
            lines.append(f"Not a candidate: {name} — {why}.")
        lines.append("")
    text = "\n".join(lines)
    (OUT / "choice.md").write_text(text, encoding="utf-8")
    (OUT / "choice.json").write_text(json.dumps(runs, indent=1, default=str), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
