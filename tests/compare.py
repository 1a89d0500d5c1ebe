"""Comparing results that went through DuckDB's float sums."""

from __future__ import annotations

import pytest


def same(a: object, b: object) -> bool:
    """Equal, floats to 1e-9 relative (DuckDB's parallel float sums may differ in the last
    bits from one run to the next, and the fits with them)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, nan_ok=True)
    return a == b
