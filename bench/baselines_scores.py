"""Baselines for the refresh benchmark: the scores of the profile written by hand in DuckDB SQL.

Written from the rules the score modules document (``danggol.scores.rfm``, ``lifecycle``,
``grades``), not from their code:

* RFM: thresholds t_1..t_{bins-1} are inverted-CDF quantiles over the buyers
  (``quantile_disc`` is exactly that: the ceil(q·n)-th smallest value), a score is
  ``1 + #{k : t_k < x}`` (R reversed: ``bins + 1 −`` that), ``fm = (f + m) // 2`` and the
  group comes from the grid of ``rfm_segments.yaml``;
* lifecycle: the churn window is ``ceil(churn_cycles × Q)`` with Q the 0.9 inverted-CDF quantile
  of the repeat buyers' cycles (``fallback`` below ``min_repeat_buyers`` of them), then the
  stage and reason rules top to bottom;
* grades: spend and purchases over ``(as_of − window_months, as_of]`` and the first rule of
  ``grades.yaml`` that holds (registered customers and buyers only);
* tiers: 100 × PERCENT_RANK() among buyers; ≥ 80 ``top20``, ≥ 60 ``next20``, else ``rest``.

The SQL reads the hand-made profile table (``baselines.profile_sql`` materialised) and
produces the same columns, in the same order, as danggol's ``profile_snapshot``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULTS = Path(__file__).resolve().parent.parent / "src" / "danggol" / "scores" / "defaults"
PURCHASE = "status IN ('paid', 'partially_refunded')"

# Lifecycle defaults (the parameters of ``Lifecycle()``)
NEW_DAYS = 30
CHURN_CYCLES = 3.0
CHURN_QUANTILE = 0.9
LOYAL_ORDERS = 3
REFUND_CHURN = 2
FALLBACK_CHURN_DAYS = 180
MIN_REPEAT_BUYERS = 20
BINS = 5


@dataclass(frozen=True)
class ScoreParams:
    """What the hand-written scores learn from the data (one small query)."""

    thresholds: dict[str, list[float]]  # 'r', 'f', 'm' → ascending thresholds
    repeat_buyers: int
    cycle_quantile: float | None
    churn_days: int


def q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_grid(path: Path = DEFAULTS / "rfm_segments.yaml") -> dict[tuple[int, int], str]:
    """(r, fm) → segment from the YAML grid (row R = n..1, columns FM = n..1)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    size = len(data["grid"])
    return {(int(r), size - i): key for r, row in data["grid"].items() for i, key in enumerate(row)}


def read_grades(path: Path = DEFAULTS / "grades.yaml") -> tuple[int, list[dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return int(data.get("window_months", 12)), list(data["grades"])


def months_back(day: dt.date, months: int) -> dt.date:
    """``day`` moved back by whole months, keeping the day clamped to the month's end."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def params_sql(base: str, bins: int = BINS) -> str:
    """One query for everything the scores learn: the RFM thresholds over the buyers and
    the repeat buyers' cycle quantile (with their count)."""
    qs = "[" + ", ".join(repr(k / bins) for k in range(1, bins)) + "]"
    buyer = "number_of_orders > 0"
    repeat = "number_of_orders >= 2 AND avg_days_between_orders IS NOT NULL"
    return f"""
SELECT quantile_disc(days_since_last_order::DOUBLE, {qs}) FILTER (WHERE {buyer}),
       quantile_disc(number_of_orders::DOUBLE, {qs}) FILTER (WHERE {buyer}),
       quantile_disc(amount_spent::DOUBLE, {qs}) FILTER (WHERE {buyer}),
       count(*) FILTER (WHERE {repeat}),
       quantile_disc(avg_days_between_orders, {CHURN_QUANTILE}) FILTER (WHERE {repeat})
FROM {base}
"""


def learn(con, base: str, bins: int = BINS) -> ScoreParams:
    r, f, m, repeat, cycle = con.execute(params_sql(base, bins)).fetchall()[0]
    empty = [0.0] * (bins - 1)  # no buyer yet: nobody is scored
    if repeat < MIN_REPEAT_BUYERS:
        churn = FALLBACK_CHURN_DAYS
    else:
        churn = max(1, math.ceil(CHURN_CYCLES * cycle))
    return ScoreParams(
        {"r": list(r or empty), "f": list(f or empty), "m": list(m or empty)},
        int(repeat),
        cycle,
        churn,
    )


def _score(column: str, thresholds: list[float], *, reverse: bool) -> str:
    """1 + #{t < x} (``reverse``: bins + 1 − that), null for a non-buyer or a null value."""
    bins = len(thresholds) + 1
    above = " + ".join(f"({column} > {t!r})::INTEGER" for t in thresholds)
    value = f"{bins} - ({above})" if reverse else f"1 + {above}"
    return f"CASE WHEN number_of_orders > 0 AND {column} IS NOT NULL THEN ({value})::BIGINT END"


def _group(grid: dict[tuple[int, int], str]) -> str:
    size = max(r for r, _ in grid)
    rows = []
    for r in range(size, 0, -1):
        cells = " ".join(f"WHEN {fm} THEN {q(grid[(r, fm)])}" for fm in range(size, 0, -1))
        rows.append(f"WHEN {r} THEN CASE fm_score {cells} END")
    return (
        "CASE WHEN number_of_orders <= 0 THEN 'prospects' "
        f"ELSE CASE r_score {' '.join(rows)} END END"
    )


def _tier(column: str) -> str:
    return (
        f"CASE WHEN {column} >= 80 THEN 'top20' WHEN {column} >= 60 THEN 'next20' "
        f"WHEN {column} IS NOT NULL THEN 'rest' END"
    )


def scored_sql(
    base: str,
    as_of: dt.date,
    learned: ScoreParams,
    base_columns: list[str],
    *,
    grid: dict[tuple[int, int], str] | None = None,
    grades: tuple[int, list[dict]] | None = None,
) -> str:
    """The profile ``base`` with every score column, as one SELECT."""
    grid = grid or read_grid()
    window_months, rules = grades or read_grades()
    if max(r for r, _ in grid) != len(learned.thresholds["r"]) + 1:
        raise ValueError("the hand-written RFM expects a grid of the same size as the bins")
    d = f"DATE '{as_of.isoformat()}'"
    start = f"DATE '{months_back(as_of, window_months).isoformat()}'"
    t = learned.thresholds
    cols = set(base_columns)

    def events(*names: str) -> list[str]:
        return [f"events_{n} > 0" for n in names if f"events_{n}" in cols]

    potential = [
        ("refunds > 0", "refunded"),
        (" OR ".join(events("trial_start")), "trial"),
        (" OR ".join(events("cart_add", "checkout_start")), "cart_abandoner"),
        (
            " OR ".join([*events("email_subscribe"), "email_subscription_status = 'subscribed'"]),
            "subscriber",
        ),
        ("events_total > 0", "visitor"),
        ("known_customer", "known"),
    ]
    potential_case = " ".join(f"WHEN {c} THEN '{r}'" for c, r in potential if c)
    grade_case = []
    for rule in rules[:-1]:
        tests = []
        if rule.get("min_amount") is not None:
            tests.append(f"grade_amount >= {float(rule['min_amount'])!r}")
        if rule.get("min_orders") is not None:
            tests.append(f"grade_orders >= {int(rule['min_orders'])}")
        joiner = " AND " if rule.get("match", "all") == "all" else " OR "
        grade_case.append(f"WHEN {joiner.join(tests)} THEN {q(rule['key'])}")
    base_list = ", ".join(f'b."{c}"' for c in base_columns)
    return f"""
WITH g AS (
  SELECT customer_id, sum(total - coalesce(refunded_amount, 0)) AS grade_amount,
         count(*) AS grade_orders
  FROM orders
  WHERE {PURCHASE} AND order_date > {start} AND order_date <= {d}
  GROUP BY customer_id
),
s AS (
  SELECT {base_list},
    {_score("days_since_last_order", t["r"], reverse=True)} AS r_score,
    {_score("number_of_orders", t["f"], reverse=False)} AS f_score,
    {_score("amount_spent", t["m"], reverse=False)} AS m_score,
    CASE
      WHEN number_of_orders <= 0 THEN 'potential'
      WHEN days_since_last_order > {learned.churn_days}
           AND (avg_days_between_orders IS NULL
                OR days_since_last_order > {CHURN_CYCLES!r} * avg_days_between_orders)
        THEN 'churned'
      WHEN {d} - first_order_date <= {NEW_DAYS} THEN 'new'
      WHEN number_of_orders >= {LOYAL_ORDERS} THEN 'loyal'
      ELSE 'active'
    END AS lifecycle_stage,
    coalesce(g.grade_amount, 0.0) AS grade_amount,
    coalesce(g.grade_orders, 0) AS grade_orders,
    CASE WHEN number_of_orders > 0 THEN percent_rank() OVER (
      PARTITION BY number_of_orders > 0 ORDER BY number_of_orders) * 100 END
      AS frequency_percentile
  FROM {base} b LEFT JOIN g USING (customer_id)
)
SELECT {", ".join(f'"{c}"' for c in base_columns)},
  r_score, f_score, m_score, ((f_score + m_score) // 2)::BIGINT AS fm_score,
  {_group(grid).replace("fm_score", "((f_score + m_score) // 2)")} AS rfm_group,
  lifecycle_stage,
  CASE lifecycle_stage
    WHEN 'potential' THEN CASE {potential_case} ELSE 'other' END
    WHEN 'churned' THEN CASE WHEN refunds >= {REFUND_CHURN} THEN 'refunds' ELSE 'lapsed' END
    WHEN 'new' THEN CASE WHEN number_of_orders = 1 THEN 'first_order' ELSE 'returning' END
    ELSE CASE
      WHEN number_of_orders = 1 OR avg_days_between_orders IS NULL THEN 'one_order'
      WHEN days_since_last_order > avg_days_between_orders THEN 'overdue'
      ELSE 'on_cycle' END
  END AS lifecycle_reason,
  grade_amount, grade_orders,
  CASE WHEN known_customer OR number_of_orders > 0 THEN
    CASE {" ".join(grade_case)} ELSE {q(rules[-1]["key"])} END
  END AS grade,
  frequency_percentile,
  {_tier("amount_spent_percentile")} AS spend_tier,
  {_tier("frequency_percentile")} AS frequency_tier
FROM s
"""
