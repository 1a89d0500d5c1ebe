"""Covariates on BG/NBD and Pareto/NBD: danggol's estimates next to PyMC-Marketing's.

    PYTHONPATH=src python bench/bench_covariates.py --pymc /path/to/venv-pymc/bin/python

A shop is simulated from each model with known coefficients (two purchase covariates from an
acquisition channel with three levels, one dropout covariate: a coupon on the first order),
as in tests/test_predict_covariates.py; danggol's ``Covariates`` and PyMC-Marketing's
``BetaGeoModel`` / ``ParetoNBDModel`` (``purchase_covariate_cols`` /
``dropout_covariate_cols``, flat priors, MAP: the maximum-likelihood estimate) are fitted on
the same customers. Writes bench/out/covariates.md / .json and prints the markdown: the true
value, danggol's estimate ± its standard error, PyMC-Marketing's estimate, and the CPU time of
danggol's fit (rusage) next to PyMC-Marketing's wall time (a separate process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))

from common import machine, md_table
from danggol.predict.models.covariates import Covariates

OUT = Path(__file__).parent / "out"
RUNNER = Path(__file__).parent / "runners" / "pymc_covariates.py"

TRUE = {
    "bgnbd": {
        "r": 0.8,
        "alpha": 6.0,
        "a": 0.8,
        "b": 2.5,
        "web": 0.6,
        "ad": -0.5,
        "a_coupon": 0.8,
        "b_coupon": -0.3,
    },
    "pareto_nbd": {
        "r": 0.9,
        "alpha": 8.0,
        "s": 0.8,
        "beta": 12.0,
        "web": 0.5,
        "ad": -0.6,
        "beta_coupon": 0.9,
    },
}


def simulate(kind: str, n: int, seed: int) -> dict[str, np.ndarray]:
    """The same draws as tests/test_predict_covariates.py's simulate_bgnbd / simulate_pareto."""
    rng = np.random.default_rng(seed)
    true = TRUE[kind]
    channel = rng.choice(["app", "web", "ad"], size=n, p=[0.5, 0.3, 0.2])
    coupon = np.where(rng.random(n) < 0.4, "yes", "no")
    web, ad, cp = (channel == "web") * 1.0, (channel == "ad") * 1.0, (coupon == "yes") * 1.0
    alpha = true["alpha"] * np.exp(-(true["web"] * web + true["ad"] * ad))
    lam = rng.gamma(true["r"], 1 / alpha)
    T = rng.uniform(30, 80, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    going = np.ones(n, dtype=bool)
    if kind == "bgnbd":
        p = rng.beta(
            true["a"] * np.exp(true["a_coupon"] * cp), true["b"] * np.exp(true["b_coupon"] * cp)
        )
        end = T
    else:
        mu = rng.gamma(true["s"], 1 / (true["beta"] * np.exp(-true["beta_coupon"] * cp)))
        end = np.minimum(rng.exponential(1 / mu), T)
        p = np.zeros(n)
    while going.any():
        t = t + rng.exponential(1 / lam)
        buy = going & (t < end)
        x += buy
        tx = np.where(buy, t, tx)
        going = buy & (rng.random(n) >= p) if kind == "bgnbd" else buy
    return {
        "x": x,
        "tx": tx,
        "T": T,
        "channel": channel,
        "coupon": coupon,
        "web": web,
        "ad": ad,
        "cp": cp,
    }


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pymc", type=Path, help="the python of a venv with pymc-marketing 0.19.2")
    parser.add_argument("--customers", type=int, default=4000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    results = {}
    lines = []
    for kind, seed in (("bgnbd", 11), ("pareto_nbd", 5)):
        shop = simulate(kind, args.customers, seed)
        start = cpu()
        model = Covariates(kind, purchase=("channel",), dropout=("coupon",)).fit(
            shop["x"], shop["tx"], shop["T"], {"channel": shop["channel"], "coupon": shop["coupon"]}
        )
        took = cpu() - start
        se = model.standard_errors()
        ours = {**model.params_}
        ours_se = {**se["params"]}
        for param, coefs in model.coefficients_.items():
            for label, value in coefs.items():
                ours[f"{param}:{label}"] = value
                ours_se[f"{param}:{label}"] = se["coefficients"][param][label]
        pymc: dict = {}
        if args.pymc:
            path = OUT / f"covariates-{kind}.parquet"
            table = {
                "customer_id": np.arange(args.customers),
                "frequency": shop["x"],
                "recency": shop["tx"],
                "T": shop["T"],
                "p_ad": shop["ad"],
                "p_web": shop["web"],
                "d_coupon": shop["cp"],
            }
            pq.write_table(pa.table(table), path)
            done = subprocess.run(
                [str(args.pymc), str(RUNNER), str(path), kind],
                capture_output=True,
                text=True,
                check=False,
            )
            pymc = (
                json.loads(done.stdout.strip().splitlines()[-1])
                if done.stdout.strip()
                else {"error": done.stderr[-2000:]}
            )
        est = pymc.get("estimates", {})
        theirs = {k: v[0] for k, v in est.items() if k in ours}
        # PyMC-Marketing's coefficient vectors are in the column order p_ad, p_web / d_coupon
        if "purchase" in est:
            theirs["alpha:channel=ad"], theirs["alpha:channel=web"] = est["purchase"]
        if kind == "bgnbd" and "dropout_a" in est:
            theirs["a:coupon=yes"] = est["dropout_a"][0]
            theirs["b:coupon=yes"] = est["dropout_b"][0]
        if kind == "pareto_nbd" and "dropout" in est:
            theirs["beta:coupon=yes"] = est["dropout"][0]
        true = TRUE[kind]
        truth = {k: true[k] for k in ours if k in true}
        truth |= {"alpha:channel=web": true["web"], "alpha:channel=ad": true["ad"]}
        truth |= {
            "a:coupon=yes": true.get("a_coupon"),
            "b:coupon=yes": true.get("b_coupon"),
            "beta:coupon=yes": true.get("beta_coupon"),
        }
        rows = []
        for k in ours:
            other = theirs.get(k)
            rows.append(
                [
                    k,
                    f"{truth[k]:.3f}",
                    f"{ours[k]:.4f} ± {ours_se[k]:.4f}",
                    "—" if other is None else f"{other:.4f}",
                    "—" if other is None else f"{abs(ours[k] - other) / ours_se[k]:.3f}",
                ]
            )
        results[kind] = {
            "danggol": ours,
            "danggol_se": ours_se,
            "danggol_cpu_seconds": took,
            "pymc": pymc,
            "truth": truth,
        }
        lines += [
            f"**{kind}**, {args.customers:,} customers: danggol {took:.2f} s CPU; "
            + (
                f"PyMC-Marketing {pymc['seconds']:.1f} s wall (build + MAP)"
                if "seconds" in pymc
                else f"PyMC-Marketing: {pymc.get('error', 'not run (no --pymc)')}"
            ),
            "",
            md_table(
                ["parameter", "true", "danggol ± SE", "PyMC-Marketing", "|difference| / SE"], rows
            ),
            "",
        ]
    info = machine()
    text = "\n".join(
        [
            f"Machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}. Command: "
            f"`PYTHONPATH=src python bench/bench_covariates.py --customers {args.customers} --pymc PY`.",
            "",
            *lines,
        ]
    )
    (OUT / "covariates.md").write_text(text, encoding="utf-8")
    (OUT / "covariates.json").write_text(
        json.dumps(results, indent=1, default=float), encoding="utf-8"
    )
    print(text)


if __name__ == "__main__":
    main()
