"""Fit PyMC-Marketing 0.19.2's BetaGeoModel and GammaGammaModel by MAP on a summary Parquet.

Run with the PyMC virtual environment's python (see bench/bench_predict.py):

    bench/out/venv-pymc/bin/python bench/runners/pymc_fit.py SUMMARY.parquet --repeat 3

Prints one JSON object: versions, the import time, and for each model the best of
``--repeat`` runs of ``model.fit(method="map")`` on a model built beforehand
(``build_model(data)``, timed apart as ``build_seconds``), the fitted parameters and the
error if one was raised. ``fit`` compiles the log-posterior and its gradient with PyTensor
and then runs ``pymc.find_MAP`` (scipy's L-BFGS-B); the compile step is also timed on its
own (``compile_seconds``: ``compile_logp`` + ``compile_dlogp`` on the built model, after the
fits, so with PyTensor's on-disk cache warm, as it is in the timed fits after the first).

Priors: every parameter gets ``Prior("HalfFlat")`` so that the MAP is the maximum-likelihood
estimate (``find_MAP`` leaves out the Jacobian of the log transform) and the parameters can
be compared with lifetimes' and danggol's. These are Gamma-Gamma's defaults already;
BetaGeoModel's defaults (Weibull priors on r and α, a Beta/Pareto pooling of a and b) give a
posterior mode that is not the maximum-likelihood estimate.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
import warnings

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pymc  # noqa: E402
import pymc_marketing  # noqa: E402
import pytensor  # noqa: E402
from pymc_extras.prior import Prior  # noqa: E402
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - T0

FLAT = {
    "bgnbd": {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")},
    "gammagamma": {name: Prior("HalfFlat") for name in ("p", "q", "v")},
}
NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "gammagamma": ("p", "q", "v")}


def timed(cls, key: str, data: pd.DataFrame, repeat: int, fit_kwargs: dict) -> dict:
    out: dict = {"seconds": None, "runs": [], "build_seconds": None, "params": None, "error": None}
    for _ in range(repeat):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                start = time.perf_counter()
                model = cls(model_config=FLAT[key])
                model.build_model(data)
                build = time.perf_counter() - start
                start = time.perf_counter()
                model.fit(method="map", progressbar=False, **fit_kwargs)
                took = time.perf_counter() - start
            except Exception as exc:
                out["seconds_to_error"] = time.perf_counter() - start
                out["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())
                out["traceback"] = traceback.format_exc(limit=3)
                return out
        out["runs"].append(took)
        out["build_seconds"] = min(build, out["build_seconds"] or build)
        post = model.idata.posterior
        out["params"] = {n: float(post[n].values.ravel()[0]) for n in NAMES[key]}
        out["warnings"] = sorted({f"{w.category.__name__}: {w.message}"[:300] for w in caught})
    out["seconds"] = min(out["runs"])
    start = time.perf_counter()
    model.model.compile_logp(jacobian=False)
    model.model.compile_dlogp(jacobian=False)
    out["compile_seconds"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("summary")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--tol", type=float, help="passed to scipy's minimize through find_MAP (default: none)"
    )
    args = parser.parse_args()
    fit_kwargs = {} if args.tol is None else {"tol": args.tol}
    df = pq.read_table(args.summary).to_pandas()
    rfm = df[["customer_id", "frequency", "recency", "T"]]
    repeat = df.loc[
        (df["frequency"] > 0) & (df["monetary_value"] > 0),
        ["customer_id", "frequency", "monetary_value"],
    ]
    result = {
        "library": "pymc-marketing",
        "versions": {
            "pymc-marketing": pymc_marketing.__version__,
            "pymc": pymc.__version__,
            "pytensor": pytensor.__version__,
            "numpy": np.__version__,
        },
        "import_seconds": IMPORT_SECONDS,
        "rows": {"bgnbd": len(rfm), "gammagamma": len(repeat)},
        "bgnbd": timed(BetaGeoModel, "bgnbd", rfm, args.repeat, fit_kwargs),
        "gammagamma": timed(GammaGammaModel, "gammagamma", repeat, args.repeat, fit_kwargs),
        "fit_kwargs": fit_kwargs,
    }
    # PyMC-Marketing calls Gamma-Gamma's scale parameter v; danggol calls it gamma
    if result["gammagamma"]["params"]:
        result["gammagamma"]["params"]["gamma"] = result["gammagamma"]["params"].pop("v")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
