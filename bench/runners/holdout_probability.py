"""P(repurchase within t) from lifetimes or PyMC-Marketing, for bench/bench_choice.py.

    bench/out/venv-lifetimes/bin/python bench/runners/holdout_probability.py lifetimes SUMMARY.parquet --t 13
    bench/out/venv-pymc/bin/python bench/runners/holdout_probability.py pymc SUMMARY.parquet --t 13

Fits each library's BG/NBD, MBG/NBD and Pareto/NBD on the calibration summary (customer_id,
frequency, recency, T in weeks) with its defaults (PyMC-Marketing: ``fit(method="map")`` with
flat priors, so the MAP is the maximum-likelihood estimate) and prints JSON: per model the
parameters, the fit seconds and P(at least one purchase in the next t weeks) per customer, in
the file's row order, computed by the library where it has the function:

* lifetimes 0.11.3: Pareto/NBD ``conditional_probability_of_n_purchases_up_to_time(0, t, …)``
  (Fader & Hardie's note 028); BG/NBD and MBG/NBD have no conditional P(X(t) = 0), so it is
  1 − P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)) from the library's ``conditional_probability_alive``
  and its parameters (a customer alive at T who buys nothing in t: the gamma-Poisson zero term).
* PyMC-Marketing 0.19.2: ``expected_probability_no_purchase`` (BG/NBD; its MBG/NBD raises
  NotImplementedError, reported as such) and
  ``expected_purchase_probability(n_purchases=0, …)`` (Pareto/NBD), at the MAP.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pyarrow.parquet as pq


def lifetimes_probabilities(df, t: float) -> dict:
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

    out = {}
    x, tx, T = df["frequency"].to_numpy(), df["recency"].to_numpy(), df["T"].to_numpy()
    for name, cls in (
        ("bgnbd", BetaGeoFitter),
        ("mbgnbd", ModifiedBetaGeoFitter),
        ("pareto_nbd", ParetoNBDFitter),
    ):
        start = time.perf_counter()
        model = cls().fit(df["frequency"], df["recency"], df["T"])
        took = time.perf_counter() - start
        params = {k: float(v) for k, v in model.params_.items()}
        if name == "pareto_nbd":
            none = np.array(
                [
                    model.conditional_probability_of_n_purchases_up_to_time(0, t, a, b, c)
                    for a, b, c in zip(x, tx, T, strict=True)
                ],
                dtype=float,
            )
        else:
            alive = np.asarray(model.conditional_probability_alive(x, tx, T), dtype=float)
            r, alpha = params["r"], params["alpha"]
            none = 1 - alive * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))
        out[name] = {"params": params, "seconds": took, "repurchase": (1 - none).tolist()}
    return out


def pymc_probabilities(df, t: float) -> dict:
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel

    data = df[["customer_id", "frequency", "recency", "T"]]
    out = {}
    specs = (
        ("bgnbd", BetaGeoModel, ("r", "alpha", "a", "b")),
        ("mbgnbd", ModifiedBetaGeoModel, ("r", "alpha", "a", "b")),
        ("pareto_nbd", ParetoNBDModel, ("r", "alpha", "s", "beta")),
    )
    for name, cls, names in specs:
        start = time.perf_counter()
        model = cls(data=data, model_config={k: Prior("HalfFlat") for k in names})
        model.fit(method="map", progressbar=False)
        took = time.perf_counter() - start
        post = model.idata.posterior
        params = {k: float(post[k].values.ravel()[0]) for k in names}
        try:
            if name == "pareto_nbd":
                none = model.expected_purchase_probability(data=data, n_purchases=0, future_t=t)
            else:
                none = model.expected_probability_no_purchase(t=t, data=data)
        except NotImplementedError as exc:  # MBG/NBD: "does not support this method"
            out[name] = {"params": params, "seconds": took, "repurchase": None, "error": str(exc)}
            continue
        none = np.asarray(none.mean(("chain", "draw")).values, dtype=float)
        out[name] = {"params": params, "seconds": took, "repurchase": (1 - none).tolist()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("library", choices=["lifetimes", "pymc"])
    parser.add_argument("summary")
    parser.add_argument("--t", type=float, required=True)
    args = parser.parse_args()
    df = pq.read_table(args.summary).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn = lifetimes_probabilities if args.library == "lifetimes" else pymc_probabilities
        print(json.dumps(fn(df, args.t)))


if __name__ == "__main__":
    main()
