"""Fit lifetimes 0.11.3's BetaGeoFitter and GammaGammaFitter on a summary Parquet file.

Run with the lifetimes virtual environment's python (see bench/bench_predict.py):

    bench/out/venv-lifetimes/bin/python bench/runners/lifetimes_fit.py SUMMARY.parquet --repeat 3

Prints one JSON object: versions, the import time, and for each model the best fit time of
``--repeat`` runs (the ``fit`` call only), the fitted parameters and the last run's error
(``null`` when it worked). A fit that raises is timed too (``seconds_to_error``, best of the
runs), and ``stopped_at`` gives the parameters of scipy's last result inside lifetimes. The models are fitted as a user would: default settings
(``penalizer_coef=0``, ``tol=1e-7``), one row per customer, no weights. Gamma-Gamma gets the
repeat buyers with monetary_value > 0, the rows bench_predict.py gives every library.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import traceback
import warnings

T0 = time.perf_counter()
import lifetimes  # noqa: E402
import lifetimes.fitters  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import scipy  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - T0

#: scipy's last result inside lifetimes' ``_fit``, to say where a fit that raised stopped
LAST: dict = {}
_minimize = lifetimes.fitters.minimize


def _recording_minimize(*args, **kwargs):
    LAST["result"] = result = _minimize(*args, **kwargs)
    return result


lifetimes.fitters.minimize = _recording_minimize


def timed(fit, repeat: int, stopped_at=None) -> dict:
    out: dict = {"seconds": None, "runs": [], "params": None, "error": None, "warnings": []}
    for _ in range(repeat):
        printed = io.StringIO()  # lifetimes prints scipy's result when it does not converge
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
            warnings.simplefilter("always")
            start = time.perf_counter()
            try:
                model = fit()
            except Exception as exc:
                # every run is made even when one raises: the time until the error is what
                # a user waits for, and is reported as the best of the runs like a fit
                took = time.perf_counter() - start
                out["errors"] = out.get("errors", 0) + 1
                out["runs_to_error"] = [*out.get("runs_to_error", []), took]
                if stopped_at is not None and "result" in LAST:
                    out["stopped_at"] = stopped_at(LAST["result"].x)
                out["error"] = " ".join(f"{type(exc).__name__}: {exc}".split())
                out["printed"] = printed.getvalue()
                out["traceback"] = traceback.format_exc(limit=3)
                continue
            took = time.perf_counter() - start
        out["runs"].append(took)
        out["params"] = {k: float(v) for k, v in model.params_.items()}
        out["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if out["runs"]:
        out["seconds"] = min(out["runs"])
    if out.get("runs_to_error"):
        out["seconds_to_error"] = min(out["runs_to_error"])
    if out.get("printed"):
        print(out["printed"], file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("summary")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    df = pq.read_table(args.summary).to_pandas()
    repeat = df[(df["frequency"] > 0) & (df["monetary_value"] > 0)]

    def bgnbd() -> BetaGeoFitter:
        return BetaGeoFitter(penalizer_coef=0.0).fit(df["frequency"], df["recency"], df["T"])

    def bgnbd_stopped_at(x) -> dict:
        """lifetimes fits log-parameters on time scaled by 1 / max(T) (its _scale_time)."""
        r, alpha, a, b = np.exp(x)
        scale = 1.0 / df["T"].max()
        return {"r": r, "alpha": alpha / scale, "a": a, "b": b}

    def gamma_gamma() -> GammaGammaFitter:
        return GammaGammaFitter(penalizer_coef=0.0).fit(
            repeat["frequency"], repeat["monetary_value"]
        )

    result = {
        "library": "lifetimes",
        "versions": {
            "lifetimes": lifetimes.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
        },
        "import_seconds": IMPORT_SECONDS,
        "rows": {"bgnbd": len(df), "gammagamma": len(repeat)},
        "bgnbd": timed(bgnbd, args.repeat, bgnbd_stopped_at),
        "gammagamma": timed(gamma_gamma, args.repeat),
    }
    # lifetimes calls Gamma-Gamma's scale parameter v; danggol calls it gamma
    if result["gammagamma"]["params"]:
        result["gammagamma"]["params"]["gamma"] = result["gammagamma"]["params"].pop("v")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
