"""Predictions: buy-till-you-die models (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma) and the
(frequency, recency, T, monetary_value) summary they are fitted on; a supervised repurchase
model (scikit-learn) and VIP sub-segments by clustering."""

from __future__ import annotations

from danggol.predict.bgbb import BGBB
from danggol.predict.btyd import BGNBD, MBGNBD, GammaGamma, ParetoNBD
from danggol.predict.clusters import VIPClusters, vip_features
from danggol.predict.supervised import RepurchaseModel, supervised_backtest

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
