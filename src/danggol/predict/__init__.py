"""Predictions: buy-till-you-die models (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma) and the
(frequency, recency, T, monetary_value) summary they are fitted on; a supervised repurchase
model (scikit-learn) and VIP sub-segments by clustering.

The names load on first use (PEP 562), so that a module needing only the prediction fields'
names (``predict.fields.field_specs``) does not load SciPy and scikit-learn."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from danggol.predict.clusters import VIPClusters, vip_features
    from danggol.predict.models import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD
    from danggol.predict.supervised import RepurchaseModel, supervised_backtest

_LAZY = {
    "BGBB": "danggol.predict.models",
    "BGNBD": "danggol.predict.models",
    "MBGNBD": "danggol.predict.models",
    "GammaGamma": "danggol.predict.models",
    "ParetoNBD": "danggol.predict.models",
    "RepurchaseModel": "danggol.predict.supervised",
    "VIPClusters": "danggol.predict.clusters",
    "supervised_backtest": "danggol.predict.supervised",
    "vip_features": "danggol.predict.clusters",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'danggol.predict' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "BGBB",
    "BGNBD",
    "MBGNBD",
    "GammaGamma",
    "ParetoNBD",
    "RepurchaseModel",
    "VIPClusters",
    "supervised_backtest",
    "vip_features",
]
