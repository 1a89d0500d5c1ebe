"""Fit PyMC-Marketing 0.19.2's BetaGeoModel and ParetoNBDModel with covariates by MAP.

Run with the PyMC virtual environment's python (bench/bench_covariates.py does):

    bench/out/venv-pymc/bin/python bench/runners/pymc_covariates.py SHOP.parquet MODEL

SHOP.parquet: customer_id, frequency, recency, T and the 0/1 covariate columns; the purchase
covariates are the columns starting ``p_``, the dropout ones ``d_``. MODEL: bgnbd or
pareto_nbd. Flat priors (HalfFlat on the positive parameters, Flat on the coefficients) make
the MAP the maximum-likelihood estimate, comparable with danggol's. Prints one JSON object:
the parameters and coefficients, the fit time, or the error.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings

import pyarrow.parquet as pq
from pymc_extras.prior import Prior
from pymc_marketing.clv import BetaGeoModel, ParetoNBDModel


def main() -> None:
    path, kind = sys.argv[1], sys.argv[2]
    data = pq.read_table(path).to_pandas()
    purchase = [c for c in data.columns if c.startswith("p_")]
    dropout = [c for c in data.columns if c.startswith("d_")]
    flat = Prior("HalfFlat")
    if kind == "bgnbd":
        cls = BetaGeoModel
        config = {"r": flat, "alpha": flat, "a": flat, "b": flat}
        names = {
            "r": "r",
            "alpha": "alpha_scale",
            "a": "a_scale",
            "b": "b_scale",
            "purchase": "purchase_coefficient_alpha",
            "dropout_a": "dropout_coefficient_a",
            "dropout_b": "dropout_coefficient_b",
        }
    else:
        cls = ParetoNBDModel
        config = {"r": flat, "alpha": flat, "s": flat, "beta": flat}
        names = {
            "r": "r",
            "alpha": "alpha_scale",
            "s": "s",
            "beta": "beta_scale",
            "purchase": "purchase_coefficient",
            "dropout": "dropout_coefficient",
        }
    config |= {
        "purchase_coefficient": Prior("Flat"),
        "dropout_coefficient": Prior("Flat"),
        "purchase_covariate_cols": purchase,
        "dropout_covariate_cols": dropout,
    }
    out: dict = {"purchase_cols": purchase, "dropout_cols": dropout}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            start = time.perf_counter()
            model = cls(data=data, model_config=config)
            model.build_model()
            model.fit(method="map", progressbar=False)
            out["seconds"] = time.perf_counter() - start
            post = model.idata.posterior
            out["estimates"] = {
                key: post[var].values.ravel().tolist() for key, var in names.items() if var in post
            }
        except Exception as exc:  # reported, not raised: the comparison says what failed
            out["error"] = f"{type(exc).__name__}: {exc}"
            out["traceback"] = traceback.format_exc(limit=4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
