"""The refresh's prediction step at scale, this branch against an earlier commit.

    PYTHONPATH=src python bench/bench_predict_step.py --workspace bench/out/ws-1m --before 351edda

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

CHILD = r"""
import datetime as dt, json, sys, time
import ibis
from danggol.config import PredictionSettings
from danggol.predict.customers import customer_predictions
con = ibis.duckdb.connect(sys.argv[1], read_only=True)
settings = PredictionSettings(**json.loads(sys.argv[2]))
start = time.perf_counter()
table, run = customer_predictions(con, dt.date.fromisoformat(sys.argv[3]), settings)
took = time.perf_counter() - start
out = {"seconds": took, "rows": table.num_rows, "status": run.status}
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


def run(src: Path, store: Path, settings: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(store), json.dumps(settings), AS_OF],
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
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--before", default="351edda")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    store = args.workspace / "store.duckdb"
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        before_src = export(args.before, Path(tmp))
        sides = {
            "before": (before_src, {}),
            "after, model = bgnbd": (ROOT / "src", {"model": "bgnbd"}),
            "after, model = auto (backtest runs)": (ROOT / "src", {"model": "auto"}),
        }
        results: dict[str, list[dict]] = {k: [] for k in sides}
        for _ in range(args.repeat):
            for name, (src, settings) in sides.items():
                results[name].append(run(src, store, settings))
    load_after = os.getloadavg()
    base = min(r["seconds"] for r in results["before"])
    rows = []
    for name, runs in results.items():
        best = min(r["seconds"] for r in runs)
        rows.append(
            [
                name,
                f"{best:.2f} s",
                f"{best / base:.2f}×",
                ", ".join(f"{r['seconds']:.2f}" for r in runs),
                f"{runs[-1]['rows']:,}",
            ]
        )
    info = machine()
    text = "\n".join(
        [
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
            f"{info['libraries']}. Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
            f"`PYTHONPATH=src python bench/bench_predict_step.py --workspace {args.workspace} "
            f"--before {args.before} --repeat {args.repeat}`. The machine was shared with other "
            f"jobs: load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load_before)}, "
            f"after {', '.join(f'{v:.2f}' for v in load_after)}.",
            "",
            md_table(["prediction step", "best", "vs before", "runs (s)", "customers"], rows),
            "",
            "auto: "
            + str(results["after, model = auto (backtest runs)"][-1].get("choice_summary", "")),
        ]
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "predict-step.md").write_text(text, encoding="utf-8")
    (OUT / "predict-step.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
