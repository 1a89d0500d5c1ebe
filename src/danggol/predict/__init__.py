"""Predictions: buy-till-you-die models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma) and the
(frequency, recency, T, monetary_value) summary they are fitted on."""

from __future__ import annotations

from danggol.predict.btyd import BGNBD, MBGNBD, GammaGamma, ParetoNBD

__all__ = ["BGNBD", "MBGNBD", "GammaGamma", "ParetoNBD"]
