"""One summary function per score, for every edge: the CLI, the report and the dashboard.

* :func:`rfm_group_summary` — a fitted :class:`~danggol.scores.rfm.RFM`'s thresholds with the bins they
  make, and customers and revenue per RFM group (``danggol rfm``);
* :func:`rfm_cells` — customers and revenue per cell of the RFM grid (the report, the dashboard);
* :func:`lifecycle_summary` — customers per lifecycle stage and reason, and the churn window
  (``danggol lifecycle``); :func:`stage_counts` — customers per stage (the report, the dashboard).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir

from danggol.scores.lifecycle import REASON_LABELS, REASONS, STAGE_LABELS, STAGES, Lifecycle
from danggol.scores.rfm import RFM

__all__ = [
    "GridCell",
    "lifecycle_summary",
    "rfm_cells",
    "rfm_group_summary",
    "score_bins",
    "stage_counts",
]


def rfm_group_summary(rfm: RFM, scored: ir.Table, day: dt.date) -> dict[str, Any]:
    """The fitted thresholds with the bins they make, and customers and revenue per group."""
    counts = scored.group_by("rfm_group").aggregate(
        customers=scored.count(), revenue=scored.amount_spent.fill_null(0).sum()
    )
    found = {r["rfm_group"]: r for r in counts.to_pyarrow().to_pylist()}
    customers = sum(int(r["customers"]) for r in found.values())
    revenue = sum(float(r["revenue"] or 0) for r in found.values())
    smap = rfm.segment_map_
    groups = []
    for key in smap.keys:
        row = found.get(key, {})
        n, rev = int(row.get("customers", 0)), float(row.get("revenue") or 0)
        groups.append(
            {
                "rfm_group": key,
                "ko": smap.label(key, "ko"),
                "en": smap.label(key, "en"),
                "customers": n,
                "share": n / customers if customers else None,
                "revenue": rev,
                "revenue_share": rev / revenue if revenue else None,
            }
        )
    return {
        "as_of": day.isoformat(),
        "bins": rfm.n_bins_,
        "customers": customers,
        "buyers": rfm.n_customers_,
        "revenue": revenue,
        "thresholds": rfm.thresholds_,
        "learned": rfm.learned_,
        "bins_by_score": {d: score_bins(t, reverse=d == "r") for d, t in rfm.thresholds_.items()},
        "grid": [
            {"r_score": r, "fm_score": fm, "rfm_group": g}
            for (r, fm), g in sorted(rfm.grid().items())
        ],
        "groups": groups,
        "unscored_buyers": int(found[None]["customers"]) if None in found else 0,
    }


def score_bins(thresholds: list[float], *, reverse: bool) -> list[dict[str, Any]]:
    """Each score with its values: ``above < value ≤ up_to`` (None = open end), best first;
    ``empty`` when ties leave no value for it (see scores/rfm.py)."""
    n = len(thresholds) + 1
    bins = []
    for k in range(1, n + 1):  # k: position from the smallest values
        above = thresholds[k - 2] if k > 1 else None
        up_to = thresholds[k - 1] if k < n else None
        empty = above is not None and up_to is not None and up_to <= above
        bins.append(
            {"score": n + 1 - k if reverse else k, "above": above, "up_to": up_to, "empty": empty}
        )
    return sorted(bins, key=lambda b: -b["score"])


def lifecycle_summary(model: Lifecycle, staged: ir.Table, day: dt.date) -> dict[str, Any]:
    """Customers and share per lifecycle stage, each split by reason, and the churn window
    (``staged``: a profile through the fitted ``model``)."""
    counts = staged.group_by(["lifecycle_stage", "lifecycle_reason"]).aggregate(
        customers=staged.count()
    )
    rows = counts.to_pyarrow().to_pylist()
    found = {(r["lifecycle_stage"], r["lifecycle_reason"]): int(r["customers"]) for r in rows}
    total = sum(found.values())
    stages = []
    for stage in STAGES:
        n = sum(v for (s, _), v in found.items() if s == stage)
        reasons = [
            {
                "reason": reason,
                **REASON_LABELS[reason],
                "customers": found.get((stage, reason), 0),
                "share_of_stage": found.get((stage, reason), 0) / n if n else None,
            }
            for reason in REASONS[stage]
        ]
        stages.append(
            {
                "stage": stage,
                **STAGE_LABELS[stage],
                "customers": n,
                "share": n / total if total else 0.0,
                "reasons": reasons,
            }
        )
    return {
        "as_of": day.isoformat(),
        "customers": total,
        "churn_days": model.churn_days_,
        "churn_days_source": model.churn_days_source_,
        "repeat_buyers": model.n_repeat_buyers_,
        "params": model.get_params(),
        "stages": stages,
    }


@dataclass(frozen=True)
class GridCell:
    """One cell of the RFM grid: its scores, group, buyers and their revenue."""

    r: int
    fm: int
    group: str
    customers: int
    revenue: float


def rfm_cells(profile: ir.Table) -> tuple[list[GridCell], int]:
    """The non-empty cells of the grid, and the customers off it (no purchase)."""
    p = profile
    counts = p.group_by(["r_score", "fm_score", "rfm_group"]).aggregate(
        customers=p.count(), revenue=p.amount_spent.sum()
    )
    cells, prospects = [], 0
    for row in counts.to_pyarrow().to_pylist():
        if row["r_score"] is None:
            prospects += int(row["customers"])
            continue
        cells.append(
            GridCell(
                int(row["r_score"]),
                int(row["fm_score"]),
                str(row["rfm_group"]),
                int(row["customers"]),
                float(row["revenue"] or 0.0),
            )
        )
    return sorted(cells, key=lambda c: (-c.r, -c.fm)), prospects


def stage_counts(profile: ir.Table) -> dict[str, int]:
    """Customers per lifecycle stage, every stage listed (0 when empty)."""
    p = profile
    rows = p.group_by("lifecycle_stage").aggregate(customers=p.count()).to_pyarrow().to_pylist()
    found = {r["lifecycle_stage"]: int(r["customers"]) for r in rows}
    return {stage: found.get(stage, 0) for stage in STAGES}
