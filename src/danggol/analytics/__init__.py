"""Shop-level analyses on the customer profile and the purchases, as plain data.

Every function takes the workspace's Ibis connection (``ws.ibis``) and an as-of date,
builds Ibis expressions (no Python loop over customers or orders) and returns dataclasses
with ``to_dict()`` (JSON-ready) or pyarrow tables:

* :func:`concentration` — top 1/10/20% revenue share, Lorenz curve, Gini;
* :func:`cohorts` — first-purchase cohorts: retention, customers, orders, revenue by offset;
* :func:`affinity` — products bought together / bought later (support, confidence, lift),
  and :func:`cross_sell_query`, the segment "bought A lately but not B";
* :func:`migration` / :func:`movers` — from × to label counts between two dates;
* :func:`whatif` — revenue change of converting one-time buyers into repeat buyers / VIPs;
* :func:`segment_sizes` / :func:`overlap` — segment sizes, revenue share, pairwise overlap;
* :func:`window_purchases` / :func:`window_start` — the purchases of "the last N months".
"""

from __future__ import annotations

from danggol.analytics._common import window_purchases, window_start
from danggol.analytics.affinity import Affinity, Rule, affinity, cross_sell_query
from danggol.analytics.cohorts import Cohorts, cohorts
from danggol.analytics.concentration import Concentration, TopShare, concentration
from danggol.analytics.migration import (
    NONE,
    Labeler,
    Migration,
    migration,
    movers,
    profile_labeler,
    transitions,
)
from danggol.analytics.overlap import Overlap, PairOverlap, SegmentSize, overlap, segment_sizes
from danggol.analytics.whatif import WhatIf, whatif

__all__ = [
    "NONE",
    "Affinity",
    "Cohorts",
    "Concentration",
    "Labeler",
    "Migration",
    "Overlap",
    "PairOverlap",
    "Rule",
    "SegmentSize",
    "TopShare",
    "WhatIf",
    "affinity",
    "cohorts",
    "concentration",
    "cross_sell_query",
    "migration",
    "movers",
    "overlap",
    "profile_labeler",
    "segment_sizes",
    "transitions",
    "whatif",
    "window_purchases",
    "window_start",
]
