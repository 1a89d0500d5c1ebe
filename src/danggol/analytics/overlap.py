"""Segment sizes with their revenue share, and the overlap between segments.

Segments come as Ibis tables with a ``customer_id`` column (e.g. the members of saved
segments, ``danggol.segments.service.members``); duplicate ids count once. For segments A
and B, as of a date, with the customer profile's ``amount_spent``:

* size |A|; share of customers = |A| / known customers (``segments.universe``, the
  denominator of every count and share);
* revenue(A) = Σ amount_spent over A's members; revenue share = revenue(A) / Σ amount_spent
  over every customer of the profile (a member missing from the profile adds 0);
* overlap |A ∩ B|; Jaccard = |A ∩ B| / |A ∪ B| = |A ∩ B| / (|A| + |B| − |A ∩ B|);
  share_of_a = |A ∩ B| / |A| (the part of A also in B), share_of_b = |A ∩ B| / |B|.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from danggol.analytics._common import ratio
from danggol.analytics.concentration import buyer_spend
from danggol.errors import ConfigError
from danggol.profile import profile_for
from danggol.segments.universe import universe_size
from danggol.serial import ToDict


@dataclass(frozen=True)
class SegmentSize(ToDict):
    segment: str
    customers: int
    share_of_customers: float | None
    revenue: float
    revenue_share: float | None


@dataclass(frozen=True)
class PairOverlap(ToDict):
    a: str
    b: str
    customers: int
    jaccard: float | None
    share_of_a: float | None
    share_of_b: float | None


@dataclass(frozen=True)
class Overlap(ToDict):
    """Sizes of the segments (in the order given) and every pair's overlap."""

    as_of: dt.date
    customers: int
    revenue: float
    sizes: list[SegmentSize]
    pairs: list[PairOverlap] = field(default_factory=list)

    def matrix(self) -> dict[str, dict[str, int]]:
        """``matrix()[a][b]`` = |A ∩ B|; the diagonal is the size."""
        grid = {s.segment: {t.segment: 0 for t in self.sizes} for s in self.sizes}
        for s in self.sizes:
            grid[s.segment][s.segment] = s.customers
        for p in self.pairs:
            grid[p.a][p.b] = grid[p.b][p.a] = p.customers
        return grid


def _members(segments: Mapping[str, ir.Table]) -> ir.Table:
    """``segment, customer_id``: one row per member of each segment."""
    if not segments:
        raise ConfigError("name at least one segment (a table of customer_id)")
    parts = []
    for name, table in segments.items():
        if "customer_id" not in table.columns:
            raise ConfigError(
                f"segment '{name}' must be a table with a customer_id column; "
                f"it has {list(table.columns)}"
            )
        ids = table.select(customer_id=table.customer_id.cast("string")).distinct()
        parts.append(ids.mutate(segment=ibis.literal(name)))
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _totals(con: ibis.BaseBackend, as_of: dt.date) -> tuple[ir.Table, int, float]:
    """Buyers' spend, the number of customers in the profile and the total revenue."""
    spend = buyer_spend(con, as_of)
    revenue = spend.aggregate(revenue=spend.amount_spent.sum()).to_pyarrow()["revenue"][0]
    customers = universe_size(profile_for(con, as_of))
    return spend, customers, float(revenue.as_py() or 0.0)


def _sizes(
    members: ir.Table, spend: ir.Table, names: list[str], customers: int, revenue: float
) -> list[SegmentSize]:
    m = members.left_join(spend, "customer_id").drop("customer_id_right")
    rows = m.group_by("segment").aggregate(
        customers=m.count(), revenue=m.amount_spent.fill_null(0.0).sum()
    )
    found = {r["segment"]: r for r in rows.to_pyarrow().to_pylist()}
    sizes = []
    for name in names:
        n = int(found[name]["customers"]) if name in found else 0
        rev = float(found[name]["revenue"]) if name in found else 0.0
        sizes.append(SegmentSize(name, n, ratio(n, customers), rev, ratio(rev, revenue)))
    return sizes


def segment_sizes(
    con: ibis.BaseBackend, as_of: dt.date, segments: Mapping[str, ir.Table]
) -> list[SegmentSize]:
    """Size, share of customers, revenue and revenue share of each segment, in order given.

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    as_of : datetime.date
        The date ``amount_spent`` and the customer count are taken at.
    segments : mapping of str to ibis Table
        Segment name → a table with a ``customer_id`` column (its members).

    Returns
    -------
    list of SegmentSize
        In the order given.
    """
    members = _members(segments)
    spend, customers, revenue = _totals(con, as_of)
    return _sizes(members, spend, list(segments), customers, revenue)


def overlap(con: ibis.BaseBackend, as_of: dt.date, segments: Mapping[str, ir.Table]) -> Overlap:
    """Sizes and pairwise overlaps (count, Jaccard, shares) of the segments.

    Parameters
    ----------
    con : ibis.BaseBackend
        The Ibis connection of the workspace (``ws.ibis``).
    as_of : datetime.date
        The date ``amount_spent`` and the customer count are taken at.
    segments : mapping of str to ibis Table
        Segment name → a table with a ``customer_id`` column (its members).

    Returns
    -------
    Overlap
        ``sizes`` in the order given; ``pairs``: every pair, a before b in that order.
    """
    members = _members(segments)
    spend, customers, revenue = _totals(con, as_of)
    names = list(segments)
    sizes = _sizes(members, spend, names, customers, revenue)
    x = members.rename(a="segment")
    y = members.rename(b="segment")
    both = x.join(y, [x.customer_id == y.customer_id, x.a < y.b])
    counted = both.group_by(["a", "b"]).aggregate(customers=both.count())
    found = {(r["a"], r["b"]): int(r["customers"]) for r in counted.to_pyarrow().to_pylist()}
    size = {s.segment: s.customers for s in sizes}
    pairs = []
    for a, b in itertools.combinations(names, 2):
        common = found.get((a, b), found.get((b, a), 0))
        union = size[a] + size[b] - common
        pairs.append(
            PairOverlap(
                a, b, common, ratio(common, union), ratio(common, size[a]), ratio(common, size[b])
            )
        )
    return Overlap(as_of, customers, revenue, sizes, pairs)
