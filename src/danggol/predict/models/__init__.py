"""The buy-till-you-die models, one module each (like PyMC-Marketing's ``clv/models/``), all on
one base (:mod:`danggol.predict.models.base`, itself on :class:`danggol.estimator.Estimator`):

* :class:`BGNBD` (:mod:`~danggol.predict.models.bgnbd`) and :class:`MBGNBD`
  (:mod:`~danggol.predict.models.mbgnbd`),
* :class:`ParetoNBD` (:mod:`~danggol.predict.models.pareto_nbd`, its dropout integral in
  :mod:`~danggol.predict.models.pareto_integral`),
* :class:`BGBB` for discrete-time data (:mod:`~danggol.predict.models.bgbb`),
* :class:`GammaGamma`, the spend model, and the CLV (:mod:`~danggol.predict.models.gamma_gamma`).

Each customer is summarised by ``frequency`` (x, the number of *repeat* purchases),
``recency`` (t_x, the time of the last purchase, from the first) and ``T`` (the time from the
first purchase to the end of the calibration period), all in one time unit (weeks for CDNOW).
:func:`danggol.predict.summary.rfm_summary` builds that table from the store; the checks and
the merging of identical rows are in :mod:`~danggol.predict.models.inputs`.
"""

from __future__ import annotations

from danggol.predict.models.base import DAYS_PER_UNIT, RUNAWAY, MaximumLikelihood, RFMModel
from danggol.predict.models.bgbb import BGBB
from danggol.predict.models.bgnbd import BGNBD
from danggol.predict.models.gamma_gamma import GammaGamma
from danggol.predict.models.inputs import aggregate_rows, check_rfm
from danggol.predict.models.mbgnbd import MBGNBD
from danggol.predict.models.pareto_nbd import ParetoNBD

__all__ = [
    "BGBB",
    "BGNBD",
    "DAYS_PER_UNIT",
    "MBGNBD",
    "RUNAWAY",
    "GammaGamma",
    "MaximumLikelihood",
    "ParetoNBD",
    "RFMModel",
    "aggregate_rows",
    "check_rfm",
]
