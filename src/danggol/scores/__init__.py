"""Scores: RFM, lifecycle stages, membership grades and percentile tiers.

Estimator style (scikit-learn): parameters in ``__init__``, ``fit(profile)`` validates them and
learns the attributes ending in ``_``, ``transform(profile)`` adds columns built from literals
only (CASE over thresholds), so a score is the same on every engine.

* :class:`RFM` → ``r_score``, ``f_score``, ``m_score``, ``fm_score``, ``rfm_group``
* :class:`Lifecycle` → ``lifecycle_stage``, ``lifecycle_reason``; :func:`stage_shares`
* :class:`Grades` → ``grade_amount``, ``grade_orders``, ``grade``; :func:`evaluate_grades`
  records ``grade_history``; :func:`percentile_tiers` → ``spend_tier``, ``frequency_tier``

:func:`add_scores` adds them all to a profile; :func:`field_specs` describes them for the
segment language (``segments.fields`` registers them). Scores are profile fields, so this
package sits between ``profile`` and ``segments``: :func:`scored_profile` is the profile every
segment runs on.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from danggol.profile import SNAPSHOT_TABLE, customer_profile, snapshot_is_current
from danggol.schema import FieldSpec
from danggol.scores.grades import (
    TIERS,
    GradeEvaluation,
    GradeRules,
    Grades,
    evaluate_grades,
    grade_history,
    load_grade_rules,
    percentile_tiers,
)
from danggol.scores.lifecycle import REASONS, STAGES, Lifecycle, stage_shares
from danggol.scores.rfm import RFM, SegmentMap, load_segment_map
from danggol.store.backends import temp_table


def field_specs(
    segment_map: SegmentMap | None = None, grade_rules: GradeRules | None = None
) -> tuple[FieldSpec, ...]:
    """The segment-language fields for the score columns (enum values from the given or
    default RFM map and grade rules)."""
    smap = segment_map or load_segment_map()
    rules = grade_rules or load_grade_rules()
    reasons = tuple(dict.fromkeys(r for stage in REASONS.values() for r in stage))
    return (
        FieldSpec("r_score", "r_score", "integer", "RFM recency score", "RFM 최근성 점수"),
        FieldSpec("f_score", "f_score", "integer", "RFM frequency score", "RFM 구매 빈도 점수"),
        FieldSpec("m_score", "m_score", "integer", "RFM monetary score", "RFM 구매 금액 점수"),
        FieldSpec("fm_score", "fm_score", "integer", "RFM FM score", "RFM 빈도·금액 점수"),
        FieldSpec("rfm_group", "rfm_group", "enum", "RFM group", "RFM 그룹", values=smap.keys),
        FieldSpec(
            "lifecycle_stage",
            "lifecycle_stage",
            "enum",
            "lifecycle stage",
            "라이프사이클 단계",
            values=STAGES,
        ),
        FieldSpec(
            "lifecycle_reason",
            "lifecycle_reason",
            "enum",
            "lifecycle reason",
            "단계 사유",
            values=reasons,
        ),
        FieldSpec("grade", "grade", "enum", "membership grade", "회원 등급", values=rules.keys),
        FieldSpec(
            "grade_amount",
            "grade_amount",
            "number",
            "spend in the grade window",
            "등급 산정 구매금액",
            money=True,
        ),
        FieldSpec(
            "grade_orders",
            "grade_orders",
            "integer",
            "orders in the grade window",
            "등급 산정 주문 수",
        ),
        FieldSpec(
            "frequency_percentile",
            "frequency_percentile",
            "number",
            "order count percentile",
            "주문 수 백분위",
        ),
        FieldSpec("spend_tier", "spend_tier", "enum", "spend tier", "구매금액 구간", values=TIERS),
        FieldSpec(
            "frequency_tier",
            "frequency_tier",
            "enum",
            "frequency tier",
            "구매 빈도 구간",
            values=TIERS,
        ),
    )


def add_scores(
    con: ibis.BaseBackend,
    profile: ir.Table,
    as_of: dt.date,
    *,
    rfm: RFM | None = None,
    lifecycle: Lifecycle | None = None,
    grades: Grades | None = None,
) -> ir.Table:
    """The profile with every score column: RFM, lifecycle, grade and percentile tiers.

    ``rfm`` and ``lifecycle`` give the parameters (default: the defaults) and are fitted on
    ``profile`` here; each fit runs a small query over it, so pass a materialised profile
    (a stored table) rather than the ``customer_profile`` expression when the shop is big.
    """
    table = (rfm or RFM()).fit(profile).transform(profile)
    table = (lifecycle or Lifecycle()).fit(profile).transform(table)
    table = (grades or Grades()).transform(con, table, as_of)
    return percentile_tiers(table)


def scored_profile(con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
    """The profile with every score, as of a date: the table the last ``refresh`` stored when it
    is current for this date and data, else computed now — the profile is materialised once as a
    temporary table so that the fits and the segment read it, not recompute it."""
    if snapshot_is_current(con, as_of):
        return con.table(SNAPSHOT_TABLE)
    stored = temp_table(con, f"_profile_{as_of:%Y%m%d}", customer_profile(con, as_of))
    return add_scores(con, stored, as_of)


__all__ = [
    "RFM",
    "GradeEvaluation",
    "Grades",
    "Lifecycle",
    "add_scores",
    "evaluate_grades",
    "field_specs",
    "grade_history",
    "percentile_tiers",
    "scored_profile",
    "stage_shares",
]
