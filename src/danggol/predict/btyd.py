"""The buy-till-you-die models under their old address: they live in
:mod:`danggol.predict.models`, one module per model (kept so that code written before the split
still imports; new code imports ``danggol.predict.models``)."""

from __future__ import annotations

from danggol.predict.models import (
    BGNBD,
    DAYS_PER_UNIT,
    MBGNBD,
    RUNAWAY,
    GammaGamma,
    ParetoNBD,
    aggregate_rows,
    check_rfm,
)

__all__ = [
    "BGNBD",
    "DAYS_PER_UNIT",
    "MBGNBD",
    "RUNAWAY",
    "GammaGamma",
    "ParetoNBD",
    "aggregate_rows",
    "check_rfm",
]
