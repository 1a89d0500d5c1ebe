"""Moved to :mod:`danggol.estimator` (the estimator base anyone may import); this alias keeps
branches written against the old path working until they are merged — import from
``danggol.estimator`` instead."""

from __future__ import annotations

from danggol.estimator import (  # noqa: F401
    Param,
    int_in,
    is_int,
    is_number,
    number_in,
    one_of,
    optional,
    validate,
)
