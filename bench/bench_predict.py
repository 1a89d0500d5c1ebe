"""Predictions benchmark: fitting BG/NBD + Gamma-Gamma next to lifetimes and PyMC-Marketing.

    PYTHONPATH=src python bench/bench_predict.py --sizes 100k,1m
    # optional: --workspace 1m=bench/out/ws-1m   an existing demo workspace for a size
    #           --before 9afbbc8                 also time predict/btyd.py as of that commit

For each size the (frequency, recency, T, monetary_value) summary is built once from the
store with ``rfm_summary(con, 2025-06-30, time_unit="week")`` (the store opened read-only)
and written to ``bench/out/predict-SIZE-summary.parquet``; every library reads that file, so
all get identical input. A size without ``--workspace`` uses ``bench/out/ws-SIZE``, built
with the demo shop (``generate_shop(n, seed=7, end=2025-06-30)``) when missing.

* danggol: ``BGNBD().fit(table)`` on every buyer and ``GammaGamma().fit(repeat)`` on the
  repeat buyers with monetary_value > 0, best of ``--repeat`` (the time includes turning
  the Arrow columns into arrays, checking them and aggregating identical rows).
* lifetimes 0.11.3 (``BetaGeoFitter``, ``GammaGammaFitter``, defaults) and PyMC-Marketing
  0.19.2 (``BetaGeoModel``, ``GammaGammaModel``, ``fit(method="map")`` with flat priors, so
  the MAP is the maximum-likelihood estimate) run in their own virtual environments through
  ``bench/runners/*.py`` (one subprocess per library and size), each best of
  ``--baseline-repeat``, and print JSON (fit seconds, parameters, errors). The venvs are
  created under ``bench/out/`` when missing (``--no-setup`` to forbid that):

      python -m venv bench/out/venv-lifetimes
      bench/out/venv-lifetimes/bin/pip install lifetimes==0.11.3 "numpy<2" "pandas<2.2" \\
          "scipy<1.13" "pyarrow<17"
      python -m venv bench/out/venv-pymc
      bench/out/venv-pymc/bin/pip install pymc-marketing==0.19.2 pyarrow

Every parameter (BG/NBD r, α, a, b; Gamma-Gamma p, q, γ) is compared with danggol's to 3
significant digits (both round to the same 3-digit figure, the rule of
tests/test_predict_btyd.py). The demo shop's customers differ in their dropout probability
(Beta(2, 40) in the generator), so BG/NBD's maximum likelihood has a finite optimum and a,
b are compared themselves. (Until the generator changed, everyone dropped out with nearly
the same probability, the optimum lay at a, b → ∞, and a, b could only be compared through
a/(a+b).) Each library's parameters are also scored with danggol's log-likelihood on the
same data, so where an optimiser stopped is measured, not argued.

``--before REV`` adds danggol's ``predict/btyd.py`` as of git revision REV (loaded from
``git show``) to the same run, for a before/after line.

Writes ``bench/out/predict.md`` and ``bench/out/predict.json`` and prints the markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common import best_of, given_workspaces, machine, md_table, peak_rss_gib
from danggol.predict.models import BGNBD, GammaGamma, aggregate_rows, check_rfm
from danggol.predict.summary import rfm_summary

HERE = Path(__file__).parent
OUT = HERE / "out"
AS_OF = dt.date(2025, 6, 30)
SIZES = {"100k": 100_000, "1m": 1_000_000}
VENVS = {
    "lifetimes": (
        "venv-lifetimes",
        ["lifetimes==0.11.3", "numpy<2", "pandas<2.2", "scipy<1.13", "pyarrow<17"],
        "lifetimes_fit.py",
    ),
    "pymc-marketing": ("venv-pymc", ["pymc-marketing==0.19.2", "pyarrow"], "pymc_fit.py"),
}
BG_NAMES = ("r", "alpha", "a", "b")
GG_NAMES = ("p", "q", "gamma")
SYMBOL = {"alpha": "α", "gamma": "γ"}


# ------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------


def size_of(label: str) -> int:
    if label in SIZES:
        return SIZES[label]
    text = label.lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def workspace_for(label: str, given: dict[str, Path]) -> Path:
    if label in given:
        return given[label]
    folder = OUT / f"ws-{label}"
    if not (folder / "store.duckdb").exists():
        from danggol.demo import generate_shop
        from danggol.ingest.load import ingest_tables
        from danggol.store.workspace import Workspace

        n = size_of(label)
        print(f"building the {n:,}-customer demo workspace at {folder}", file=sys.stderr)
        ws = Workspace.init(folder)
        try:
            ingest_tables(ws, generate_shop(n, seed=7, end=AS_OF))
        finally:
            ws.close()
    return folder


def build_summary(label: str, folder: Path) -> tuple[Path, float, int]:
    """rfm_summary on the store opened read-only, written to Parquet; (path, seconds, rows)."""
    con = ibis.duckdb.connect(str(folder / "store.duckdb"), read_only=True)
    try:
        n_customers = con.raw_sql("SELECT count(*) FROM customers").fetchall()[0][0]
        start = time.perf_counter()
        table = rfm_summary(con, AS_OF, time_unit="week")
        took = time.perf_counter() - start
    finally:
        con.disconnect()
    path = OUT / f"predict-{label}-summary.parquet"
    pq.write_table(table, path)
    return path, took, int(n_customers)


def ensure_venv(name: str, setup: bool) -> Path:
    folder, packages, _ = VENVS[name]
    python = OUT / folder / "bin" / "python"
    if python.exists():
        return python
    if not setup:
        raise SystemExit(f"{python} is missing (run without --no-setup to create it)")
    print(f"creating {OUT / folder}: pip install {' '.join(packages)}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(OUT / folder)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", *packages], check=True)
    return python


# ------------------------------------------------------------------------------------------
# fitting
# ------------------------------------------------------------------------------------------


def repeat_buyers(table: pa.Table) -> pa.Table:
    keep = pc.and_(pc.greater(table["frequency"], 0), pc.greater(table["monetary_value"], 0))
    return table.filter(keep)


def module_at(rev: str):
    """danggol.predict.btyd as it was at git revision ``rev`` (for a before/after line)."""
    import importlib.util
    import tempfile

    source = subprocess.run(
        ["git", "show", f"{rev}:src/danggol/predict/btyd.py"],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="btyd-before-"))
    path = folder / "btyd_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("btyd_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fit_danggol(path: Path, repeat: int, module=None, label: str = "danggol") -> dict:
    table = pq.read_table(path)
    rep = repeat_buyers(table)
    bg_cls = BGNBD if module is None else module.BGNBD
    gg_cls = GammaGamma if module is None else module.GammaGamma
    t_bg, bg = best_of(lambda: bg_cls().fit(table), repeat)
    t_gg, gg = best_of(lambda: gg_cls().fit(rep), repeat)
    return {
        "library": label,
        "rows": {"bgnbd": table.num_rows, "gammagamma": rep.num_rows},
        "bgnbd": {
            "seconds": t_bg,
            "params": bg.params_,
            "error": None,
            "converged": bg.converged_,
            "iterations": bg.n_iter_,
            "distinct_rows": bg.n_rows_,
        },
        "gammagamma": {
            "seconds": t_gg,
            "params": gg.params_,
            "error": None,
            "converged": gg.converged_,
            "iterations": gg.n_iter_,
            "distinct_rows": gg.n_rows_,
        },
    }


def fit_baseline(name: str, python: Path, path: Path, repeat: int) -> dict:
    runner = HERE / "runners" / VENVS[name][2]
    start = time.perf_counter()
    proc = subprocess.run(
        [str(python), str(runner), str(path), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        error = f"runner exited {proc.returncode}: {tail}"
        return {
            "library": name,
            "process_seconds": wall,
            "bgnbd": {"seconds": None, "params": None, "error": error},
            "gammagamma": {"seconds": None, "params": None, "error": error},
        }
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


# ------------------------------------------------------------------------------------------
# comparing
# ------------------------------------------------------------------------------------------


def sig3(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, 2 - math.floor(math.log10(abs(value))))


def comparable(kind: str, params: dict[str, float]) -> dict[str, float]:
    return {k: params[k] for k in (BG_NAMES if kind == "bgnbd" else GG_NAMES)}


class Scorer:
    """danggol's log-likelihood (the accurate regrouped sums) of any parameters, on the
    benchmark's data: the same rows every library was given."""

    def __init__(self, path: Path) -> None:
        table = pq.read_table(path)
        cols = [table[c].to_numpy().astype(np.float64) for c in ("frequency", "recency", "T")]
        data, w = aggregate_rows(check_rfm(*cols), None)
        self.bg = BGNBD()._prepared_objective(data, w)
        rep = repeat_buyers(table)
        x = rep["frequency"].to_numpy().astype(np.float64)
        z = rep["monetary_value"].to_numpy().astype(np.float64)
        gdata, gw = aggregate_rows((x, z), None)
        self.gg = GammaGamma()._prepared_objective(gdata, gw)

    def __call__(self, kind: str, params: dict[str, float]) -> float:
        if kind == "bgnbd":
            return self.bg(np.array([params[k] for k in BG_NAMES]))[0]
        return self.gg(np.array([params[k] for k in GG_NAMES]))[0]


def agreement(kind: str, params: dict | None, reference: dict, scorer: Scorer) -> dict:
    if params is None:
        return {}
    mine, ref = comparable(kind, params), comparable(kind, reference)
    same = {k: sig3(mine[k]) == sig3(ref[k]) for k in ref}
    rel = max(abs(mine[k] - ref[k]) / abs(ref[k]) for k in ref)
    return {
        "same_3_digits": same,
        "all_same": all(same.values()),
        "max_rel_diff": rel,
        "loglik": scorer(kind, params),
        "loglik_danggol": scorer(kind, reference),
    }


def fmt_params(kind: str, params: dict) -> str:
    c = comparable(kind, params)
    if kind == "bgnbd":
        return f"r {c['r']:.5g}, α {c['alpha']:.5g}, a {c['a']:.5g}, b {c['b']:.5g}"
    return f"p {c['p']:.5g}, q {c['q']:.5g}, γ {c['gamma']:.6g}"


def fmt_agree(kind: str, agree: dict) -> str:
    if not agree:
        return "—"
    names = ", ".join(SYMBOL.get(k, k) for k in agree["same_3_digits"])
    differ = [SYMBOL.get(k, k) for k, ok in agree["same_3_digits"].items() if not ok]
    head = f"{names}: same to 3 digits" if not differ else f"differ in {', '.join(differ)}"
    dll = agree["loglik"] - agree["loglik_danggol"]
    return f"{head} (max rel. diff {agree['max_rel_diff']:.1e}); LL {dll:+.3g} vs danggol's"


def seconds_cell(part: dict) -> str:
    if part.get("seconds") is not None:
        return f"{part['seconds']:.3f}"
    if part.get("seconds_to_error") is not None:
        return f"{part['seconds_to_error']:.3f} (then raised)"
    return "failed"


def spent(part: dict) -> float | None:
    """Time the fit took, or the time until it raised (what a user waited for)."""
    if part.get("seconds") is not None:
        return part["seconds"]
    return part.get("seconds_to_error")


# ------------------------------------------------------------------------------------------


def run_size(label: str, folder: Path, pythons: dict[str, Path], args) -> dict:
    path, t_summary, n_customers = build_summary(label, folder)
    print(f"{label}: summary {t_summary:.2f} s → {path}", file=sys.stderr)
    results = [fit_danggol(path, args.repeat)]
    print(f"{label}: danggol done", file=sys.stderr)
    if args.before:
        module = module_at(args.before)
        results.append(fit_danggol(path, args.repeat, module, f"danggol at {args.before} (before)"))
        print(f"{label}: danggol at {args.before} done", file=sys.stderr)
    for name, python in pythons.items():
        results.append(fit_baseline(name, python, path, args.baseline_repeat))
        print(f"{label}: {name} done", file=sys.stderr)
    scorer = Scorer(path)
    dg = results[0]
    for res in results:
        for kind in ("bgnbd", "gammagamma"):
            part = res[kind]
            params = part.get("params") or part.get("stopped_at")
            part["agreement"] = (
                agreement(kind, params, dg[kind]["params"], scorer) if res is not dg else {}
            )
            part["loglik"] = scorer(kind, params) if params else None
    return {
        "size": label,
        "customers": n_customers,
        "summary_seconds": t_summary,
        "summary_rows": dg["rows"]["bgnbd"],
        "repeat_buyers": dg["rows"]["gammagamma"],
        "results": results,
    }


def report(runs: list[dict], info: dict, args, load: tuple[tuple, tuple]) -> tuple[str, bool]:
    rows = []
    verdicts = []
    for run in runs:
        res = run["results"]
        dg_total = res[0]["bgnbd"]["seconds"] + res[0]["gammagamma"]["seconds"]
        totals = {}
        for r in res:
            bg, gg = r["bgnbd"], r["gammagamma"]
            parts = [spent(bg), spent(gg)]
            total = sum(parts) if None not in parts else None
            totals[r["library"]] = total
            ratio = "1×" if r is res[0] else (f"{total / dg_total:.1f}×" if total else "—")
            params = []
            agree = []
            for kind, part in (("bgnbd", bg), ("gammagamma", gg)):
                p = part.get("params")
                if p:
                    params.append(fmt_params(kind, p))
                elif part.get("stopped_at"):
                    params.append("raised; stopped at " + fmt_params(kind, part["stopped_at"]))
                else:
                    params.append("—")
                if part.get("error"):
                    agree.append(
                        f"**{part['error']}**"
                        + (
                            " — at the point it stopped: " + fmt_agree(kind, part["agreement"])
                            if part["agreement"]
                            else ""
                        )
                    )
                else:
                    agree.append(
                        fmt_agree(kind, part["agreement"])
                        if r is not res[0]
                        else f"LL {part['loglik']:.1f}"
                    )
            rows.append(
                [
                    r["library"],
                    f"{run['size']} ({run['summary_rows']:,} buyers, {run['repeat_buyers']:,} repeat)",
                    seconds_cell(bg),
                    seconds_cell(gg),
                    f"{total:.3f}" if total is not None else "—",
                    ratio,
                    "BG/NBD: " + params[0] + "<br>Gamma-Gamma: " + params[1],
                    "BG/NBD: " + agree[0] + "<br>Gamma-Gamma: " + agree[1],
                ]
            )
        others = [t for lib, t in totals.items() if not lib.startswith("danggol") and t]
        faster = min(others) if others else None
        params_ok = all(
            r[k]["agreement"].get("all_same", False)
            for r in res[1:]
            if not r["library"].startswith("danggol")
            for k in ("bgnbd", "gammagamma")
            if r[k].get("params")
        )
        differing = [
            f"{r['library']} {'BG/NBD' if k == 'bgnbd' else 'Gamma-Gamma'} (its log-likelihood is "
            f"{r[k]['agreement']['loglik_danggol'] - r[k]['agreement']['loglik']:.3g} below danggol's)"
            for r in res[1:]
            if not r["library"].startswith("danggol")
            for k in ("bgnbd", "gammagamma")
            if r[k].get("params") and not r[k]["agreement"].get("all_same", False)
        ]
        verdicts.append(
            (
                run["size"],
                dg_total,
                faster,
                faster is not None and faster >= 10 * dg_total,
                params_ok,
                differing,
            )
        )
    venv_versions = {}
    for run in runs:
        for r in run["results"][1:]:
            if "versions" in r and not r["library"].startswith("danggol"):
                venv_versions[r["library"]] = ", ".join(
                    f"{k} {v}" for k, v in r["versions"].items()
                )
    command = f"PYTHONPATH=src python bench/bench_predict.py --sizes {args.sizes}"
    if args.before:
        command += f" --before {args.before}"
    if args.workspace:
        command += " " + " ".join(f"--workspace {w}" for w in args.workspace)
    lines = [
        f"### Predictions: model fitting, {', '.join(r['size'] for r in runs)} demo customers",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
        f"{info['libraries']}, scipy {_version('scipy')}. Run {info['date']}: `{command}`. "
        + "; ".join(f"{lib} venv: {v}" for lib, v in venv_versions.items())
        + f". Load average (1, 5, 15 min) before the run {_fmt_load(load[0])}, after {_fmt_load(load[1])}.",
        "Summaries (`rfm_summary`, time unit week, as of 2025-06-30, from the store opened "
        "read-only): "
        + "; ".join(
            f"{r['size']}: {r['customers']:,} customers → {r['summary_rows']:,} buyers, "
            f"{r['repeat_buyers']:,} repeat buyers with monetary_value > 0, built in "
            f"{r['summary_seconds']:.2f} s"
            for r in runs
        )
        + ".",
        md_table(
            [
                "library",
                "size",
                "BG/NBD s",
                "Gamma-Gamma s",
                "total s",
                "total / danggol's",
                "parameters",
                "agreement with danggol",
            ],
            rows,
        ),
    ]
    met_all = True
    for size, dg_total, faster, met, params_ok, differing in verdicts:
        met_all = met_all and met and params_ok
        agree = (
            "agree to 3 significant digits"
            if params_ok
            else "do NOT all agree to 3 significant digits: " + "; ".join(differing)
        )
        lines.append(
            f"* {size}: danggol {dg_total:.3f} s; the faster of the two others "
            f"{faster:.3f} s → {faster / dg_total:.1f}× — the ≥ 10× target is "
            f"{'met' if met else 'NOT met'}; parameters {agree}."
            if faster
            else f"* {size}: no other library finished"
        )
    lines.append("Outside the fit times above (each library's own process):")
    notes = []
    for run in runs:
        for r in run["results"][1:]:
            if r["library"].startswith("danggol") or "import_seconds" not in r:
                continue
            bits = [f"import {r['import_seconds']:.2f} s"]
            for kind, name in (("bgnbd", "BG/NBD"), ("gammagamma", "Gamma-Gamma")):
                part = r[kind]
                runs_ = part.get("runs") or part.get("runs_to_error") or []
                text = f"{name} runs " + ", ".join(f"{t:.2f}" for t in runs_) + " s"
                if part.get("build_seconds") is not None:
                    text += (
                        f" (model built beforehand in {part['build_seconds']:.2f} s, not counted;"
                        f" compiling logp + gradient alone, cache warm: "
                        f"{part['compile_seconds']:.2f} s, counted)"
                    )
                bits.append(text)
            notes.append(f"* {r['library']}, {run['size']}: " + "; ".join(bits) + ".")
    lines.append("\n".join(notes))
    lines.append(f"Peak memory of the benchmark process: {peak_rss_gib():.1f} GiB.")
    return "\n\n".join(lines), met_all


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _fmt_load(values: tuple) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated, e.g. 100k,1m")
    parser.add_argument(
        "--workspace", action="append", default=[], help="SIZE=PATH of an existing workspace"
    )
    parser.add_argument("--repeat", type=int, default=3, help="danggol: best of N")
    parser.add_argument("--baseline-repeat", type=int, default=3, help="others: best of N")
    parser.add_argument("--libraries", default="lifetimes,pymc-marketing")
    parser.add_argument("--no-setup", action="store_true", help="do not create missing venvs")
    parser.add_argument(
        "--before", metavar="REV", help="also time danggol.predict.btyd as of this git revision"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    given = given_workspaces(args.workspace)
    info = machine()
    pythons = {
        name: ensure_venv(name, not args.no_setup) for name in args.libraries.split(",") if name
    }
    load_before = os.getloadavg()
    runs = []
    for label in args.sizes.split(","):
        runs.append(run_size(label, workspace_for(label, given), pythons, args))
    load_after = os.getloadavg()
    text, _met = report(runs, info, args, (load_before, load_after))
    (OUT / "predict.md").write_text(text + "\n", encoding="utf-8")
    (OUT / "predict.json").write_text(
        json.dumps({"machine": info, "load": [load_before, load_after], "runs": runs}, indent=1),
        encoding="utf-8",
    )
    print(text)


if __name__ == "__main__":
    main()
