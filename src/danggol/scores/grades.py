"""Membership grades (회원 등급) with their history, and percentile tiers.

Grades
------
Rules are a YAML table (default ``scores/defaults/grades.yaml``: VIP ≥ 1,000,000, GOLD ≥
500,000, SILVER ≥ 200,000 spent in the last 12 months, else BASIC '일반'), highest grade
first. Over the window ``(as_of − window_months, as_of]`` (months keep the day, clamped to
the month's end, like the segment language's ``-12m``):

* ``grade_amount`` = Σ (total − refunded_amount) over purchases (status ``paid`` or
  ``partially_refunded``) with ``order_date`` in the window;
* ``grade_orders`` = the number of those purchases;
* ``grade`` = the key of the first rule that holds (``min_amount``: grade_amount ≥ it;
  ``min_orders``: grade_orders ≥ it; ``match: all`` needs every condition, ``any`` one).

Only registered customers and customers with a purchase are graded; other ids of the profile
(anonymous visitors) get a null grade.

``evaluate_grades(ws, as_of)`` records a snapshot into ``grade_history`` (customer_id, as_of,
grade, grade_level, previous_grade, change) in one transaction. ``grade_level`` counts up from
the last (default) grade = 1, so adding a grade on top keeps old levels comparable;
``change`` compares a customer's level with their latest earlier snapshot: ``new`` (no
earlier snapshot), ``upgrade``, ``downgrade`` or ``same``. Run it on a schedule (monthly,
quarterly) for the upgrade/downgrade history; re-running a date replaces that date.

Percentile tiers
----------------
``percentile_tiers(profile)`` adds ``frequency_percentile`` (100 × PERCENT_RANK() over
number_of_orders among customers with a purchase, like the profile's
``amount_spent_percentile``), ``spend_tier`` and ``frequency_tier``: ``top20`` (percentile ≥
80), ``next20`` (≥ 60: the band to push up), ``rest``; null without a purchase. Ties share a
percentile (PERCENT_RANK gives equal values the rank of the first), so heavy ties can empty a
tier rather than split equal customers.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb
import ibis
import ibis.expr.types as ir

from danggol.dates import shift
from danggol.errors import ConfigError
from danggol.estimator import Estimator, Param, int_in, is_int, is_number
from danggol.profile import customer_profile, purchases
from danggol.scores._yaml import read_table
from danggol.store import tables as store_tables
from danggol.store.workspace import Workspace, transaction

if TYPE_CHECKING:  # loaded by what computes: reading the score fields (a count) needs neither
    import pyarrow as pa

DEFAULT_GRADES = Path(__file__).parent / "defaults" / "grades.yaml"
HISTORY_TABLE = "grade_history"
HISTORY_COLUMNS = store_tables.columns(HISTORY_TABLE)
CHANGES = ("new", "upgrade", "downgrade", "same")
#: the columns ``Grades.transform`` adds
GRADE_COLUMNS = ("grade_amount", "grade_orders", "grade")

TIERS = ("top20", "next20", "rest")
TIER_LABELS: dict[str, dict[str, str]] = {
    "top20": {"ko": "상위 20%", "en": "top 20%"},
    "next20": {"ko": "상위 21–40%", "en": "21–40%"},
    "rest": {"ko": "나머지", "en": "the rest"},
}

_KEY = re.compile(r"[a-z][a-z0-9_]*")
_RULE_KEYS = {"key", "ko", "en", "min_amount", "min_orders", "match", "description"}


# --------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeRule:
    key: str
    ko: str
    en: str
    min_amount: float | None = None
    min_orders: int | None = None
    match: str = "all"

    @property
    def is_default(self) -> bool:
        return self.min_amount is None and self.min_orders is None


@dataclass(frozen=True)
class GradeRules:
    """Validated rules, highest grade first; the last one is the default."""

    window_months: int
    grades: tuple[GradeRule, ...]
    source: str

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(g.key for g in self.grades)

    def level(self, key: str) -> int:
        """1 for the default (last) grade, counting up to the highest."""
        return len(self.grades) - self.keys.index(key)

    def label(self, key: str, lang: str = "ko") -> str:
        return str(getattr(self.grades[self.keys.index(key)], lang))


def load_grade_rules(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> GradeRules:
    """Read and check grade rules (default: danggol's VIP / GOLD / SILVER / BASIC)."""
    data, where = read_table(DEFAULT_GRADES if source is None else source, "grade rules")

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}")

    unknown = set(data) - {"window_months", "grades"}
    if unknown or "grades" not in data:
        raise fail(f"grade rules have 'window_months' and 'grades'; got {sorted(data)}")
    window = data.get("window_months", 12)
    if not int_in(1, 120)(window):
        raise fail(f"'window_months' must be an int in the range [1, 120]; got {window!r}")
    raw = data["grades"]
    if not isinstance(raw, list) or len(raw) < 2:
        raise fail("'grades' is a list of at least two grades, highest first, e.g. - key: vip")
    rules = tuple(_rule(i, item, fail) for i, item in enumerate(raw, start=1))
    keys = [r.key for r in rules]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise fail(f"grade key(s) {', '.join(twice)} written twice; each grade once")
    for i, rule in enumerate(rules[:-1], start=1):
        if rule.is_default:
            raise fail(
                f"grade {i} ('{rule.key}') has no condition, so no grade below it can be "
                "reached; give it min_amount or min_orders, or move it last"
            )
    if not rules[-1].is_default:
        raise fail(
            f"the last grade ('{rules[-1].key}') is everyone else's grade and has no "
            "condition; remove its min_amount/min_orders or add a default grade after it"
        )
    return GradeRules(window, rules, where)


def _rule(i: int, item: object, fail: Any) -> GradeRule:
    if not isinstance(item, dict):
        raise fail(f"grade {i} is a mapping with key, ko, en and conditions; got {item!r}")
    extra = set(item) - _RULE_KEYS
    if extra:
        raise fail(f"grade {i}: unknown setting(s) {sorted(extra)}; expected {sorted(_RULE_KEYS)}")
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise fail(f"grade {i}: 'key' must be lower-case letters, digits and _; got {key!r}")
    for lang in ("ko", "en"):
        if not isinstance(item.get(lang), str | int):
            raise fail(f"grade {i} ('{key}') needs a Korean and an English name: ko: …, en: …")
    amount, orders = item.get("min_amount"), item.get("min_orders")
    if amount is not None and not (is_number(amount) and amount >= 0):
        raise fail(f"grade {i} ('{key}'): min_amount must be a number ≥ 0; got {amount!r}")
    if orders is not None and not (is_int(orders) and orders >= 1):
        raise fail(f"grade {i} ('{key}'): min_orders must be an int ≥ 1; got {orders!r}")
    match = item.get("match", "all")
    if match not in ("all", "any"):
        raise fail(f"grade {i} ('{key}'): match is 'all' or 'any'; got {match!r}")
    return GradeRule(key, str(item["ko"]), str(item["en"]), amount, orders, match)


# --------------------------------------------------------------------------------------
# grading
# --------------------------------------------------------------------------------------


class Grades(Estimator):
    """Membership grade of every customer as of a date, from rules.

    ``rules``: a YAML path, a mapping of the same shape, a ``GradeRules`` or None (defaults).
    ``rules_`` holds the validated rules after the first ``transform`` (``load_grade_rules``
    checks their content, rule by rule).

    >>> Grades().window_start(dt.date(2025, 6, 30))
    datetime.date(2024, 6, 30)
    """

    _parameters = (
        Param(
            "rules",
            lambda v: v is None or isinstance(v, str | os.PathLike | Mapping | GradeRules),
            "a path to a YAML file, a mapping, a GradeRules or None",
        ),
    )

    def __init__(
        self, rules: str | os.PathLike[str] | Mapping[str, Any] | GradeRules | None = None
    ) -> None:
        self.rules = rules

    def set_params(self, **params: Any) -> Grades:
        super().set_params(**params)
        self.__dict__.pop("rules_", None)  # learned from the old rules
        return self

    def _checked(self) -> GradeRules:
        if not hasattr(self, "rules_"):
            self.validate_params()
            rules = self.rules
            self.rules_ = rules if isinstance(rules, GradeRules) else load_grade_rules(rules)
        return self.rules_

    def window_start(self, as_of: dt.date) -> dt.date:
        """The day before the window: orders dated after it, up to ``as_of``, count."""
        months = self._checked().window_months
        return shift(as_of, -months, "m")

    def window_purchases(self, con: ibis.BaseBackend, as_of: dt.date) -> ir.Table:
        """customer_id, grade_amount, grade_orders over the window (buyers in it only)."""
        p = purchases(con, as_of)
        p = p.filter(p.order_date > self.window_start(as_of))
        return p.group_by("customer_id").aggregate(
            grade_amount=(p.total - p.refunded_amount.fill_null(0)).sum(),
            grade_orders=p.count(),
        )

    def transform(self, con: ibis.BaseBackend, profile: ir.Table, as_of: dt.date) -> ir.Table:
        """The profile with grade_amount, grade_orders and grade."""
        rules = self._checked()
        window = self.window_purchases(con, as_of)
        joined = profile.left_join(window, "customer_id")
        if "customer_id_right" in joined.columns:
            joined = joined.drop("customer_id_right")
        table = joined.mutate(
            grade_amount=joined.grade_amount.fill_null(0.0),
            grade_orders=joined.grade_orders.fill_null(0),
        )
        graded = _graded(table)
        branches = []
        for rule in rules.grades[:-1]:
            tests = []
            if rule.min_amount is not None:
                tests.append(table.grade_amount >= float(rule.min_amount))
            if rule.min_orders is not None:
                tests.append(table.grade_orders >= rule.min_orders)
            met = tests[0]
            for test in tests[1:]:
                met = (met & test) if rule.match == "all" else (met | test)
            branches.append((met, rule.key))
        grade = ibis.cases(*branches, else_=rules.grades[-1].key)
        return table.mutate(grade=graded.ifelse(grade, ibis.null("string")))

    def level_expr(self, grade: ir.StringValue) -> ir.IntegerValue:
        """grade → grade_level as a CASE over the rule keys (null for a null grade)."""
        rules = self._checked()
        return ibis.cases(
            *((grade == key, rules.level(key)) for key in rules.keys),
            else_=ibis.null("int64"),
        ).cast("int64")


def _graded(profile: ir.Table) -> ir.BooleanValue:
    """Who gets a grade: registered customers and customers with a purchase (everyone when
    the profile has neither column)."""
    tests = []
    if "known_customer" in profile.columns:
        tests.append(profile.known_customer.fill_null(False))
    if "number_of_orders" in profile.columns:
        tests.append(profile.number_of_orders.fill_null(0) > 0)
    if not tests:
        return ibis.literal(True)
    return tests[0] if len(tests) == 1 else tests[0] | tests[1]


# --------------------------------------------------------------------------------------
# history
# --------------------------------------------------------------------------------------


@dataclass
class GradeEvaluation:
    as_of: str
    customers: int
    grades: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


Target: TypeAlias = Workspace | ibis.BaseBackend


def evaluate_grades(
    target: Target, as_of: dt.date, *, grades: Grades | None = None
) -> GradeEvaluation:
    """Grade every customer as of ``as_of`` and record it in ``grade_history``.

    One transaction: the rows of ``as_of`` are replaced (re-running a date is idempotent),
    then ``previous_grade`` and ``change`` are recomputed for that date and every later one
    (so evaluating a missed date afterwards keeps the chain right).
    """
    model = grades or Grades()
    con, transaction = _connections(target)
    profile = customer_profile(con, as_of, events=[])
    graded = model.transform(con, profile, as_of)
    graded = graded.filter(graded.grade.notnull())
    current = graded.select("customer_id", "grade", grade_level=model.level_expr(graded.grade))
    sql = ibis.to_sql(current, dialect="duckdb")
    with transaction() as tx:
        by_grade, by_change = record_grade_history(tx, as_of, sql)
    found_grades = dict(by_grade)
    found_changes = dict(by_change)
    keys = model._checked().keys
    return GradeEvaluation(
        as_of=as_of.isoformat(),
        customers=sum(found_grades.values()),
        grades={k: int(found_grades.get(k, 0)) for k in keys},
        changes={c: int(found_changes.get(c, 0)) for c in CHANGES},
    )


def record_grade_history(
    tx: duckdb.DuckDBPyConnection, as_of: dt.date, graded_sql: str
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Replace the ``as_of`` rows of ``grade_history`` with ``graded_sql`` (customer_id, grade,
    grade_level) and recompute previous grade and change from that date on, inside the
    caller's transaction (``evaluate_grades``, or ``refresh`` from the stored profile).
    Returns the counts per grade and per change."""
    store_tables.ensure(tx, [HISTORY_TABLE])
    tx.execute(f"DELETE FROM {HISTORY_TABLE} WHERE as_of = ?", [as_of])
    tx.execute(
        f"INSERT INTO {HISTORY_TABLE} "
        f"SELECT customer_id, ?::DATE, grade, grade_level, NULL, NULL FROM ({graded_sql})",
        [as_of],
    )
    tx.execute(
        f"""
        UPDATE {HISTORY_TABLE} AS h
        SET previous_grade = x.prev_grade,
            change = CASE
                WHEN x.prev_level IS NULL THEN 'new'
                WHEN h.grade_level > x.prev_level THEN 'upgrade'
                WHEN h.grade_level < x.prev_level THEN 'downgrade'
                ELSE 'same'
            END
        FROM (
            SELECT customer_id, as_of,
                   lag(grade) OVER w AS prev_grade,
                   lag(grade_level) OVER w AS prev_level
            FROM {HISTORY_TABLE}
            WINDOW w AS (PARTITION BY customer_id ORDER BY as_of)
        ) AS x
        WHERE h.customer_id = x.customer_id AND h.as_of = x.as_of AND h.as_of >= ?
        """,
        [as_of],
    )
    by_grade = tx.execute(
        f"SELECT grade, count(*) FROM {HISTORY_TABLE} WHERE as_of = ? GROUP BY grade",
        [as_of],
    ).fetchall()
    by_change = tx.execute(
        f"SELECT change, count(*) FROM {HISTORY_TABLE} WHERE as_of = ? GROUP BY change",
        [as_of],
    ).fetchall()
    return by_grade, by_change


def grade_history(target: Target, *, customer_id: str | None = None) -> pa.Table:
    """The recorded grade snapshots, ordered by customer and date (empty before the first)."""
    import pyarrow as pa

    con, _ = _connections(target)
    if HISTORY_TABLE not in con.list_tables():
        return pa.table(
            {
                "customer_id": pa.array([], pa.string()),
                "as_of": pa.array([], pa.date32()),
                "grade": pa.array([], pa.string()),
                "grade_level": pa.array([], pa.int32()),
                "previous_grade": pa.array([], pa.string()),
                "change": pa.array([], pa.string()),
            }
        )
    h = con.table(HISTORY_TABLE)
    if customer_id is not None:
        h = h.filter(h.customer_id == customer_id)
    return h.order_by(["customer_id", "as_of"]).to_pyarrow()


def _connections(
    target: Target,
) -> tuple[ibis.BaseBackend, Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]]:
    """(Ibis connection, a transaction on its DuckDB connection) for a workspace or backend."""
    if isinstance(target, Workspace):
        return target.ibis, target.transaction
    raw = getattr(target, "con", None)
    if getattr(target, "name", None) != "duckdb" or not isinstance(raw, duckdb.DuckDBPyConnection):
        raise ConfigError(
            "grade history is kept in the DuckDB store: pass a Workspace or an Ibis DuckDB "
            f"connection; got {type(target).__name__}"
        )
    return target, lambda: _writable(raw)


def _writable(raw: duckdb.DuckDBPyConnection) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A transaction on an Ibis DuckDB connection of one's own; a workspace's read-only view of
    its store is refused with what to pass instead."""
    readonly = raw.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if readonly and readonly[0]:
        raise ConfigError(
            "this Ibis connection reads a workspace's store read-only (its published copy): "
            "pass the Workspace, whose writer records the grade history"
        )
    return transaction(raw)


# --------------------------------------------------------------------------------------
# percentile tiers
# --------------------------------------------------------------------------------------


def percentile_tiers(profile: ir.Table) -> ir.Table:
    """The profile with frequency_percentile, spend_tier and frequency_tier.

    Percentiles are 100 × PERCENT_RANK() among customers with a purchase (a window
    partitioned by "has a purchase", so no join); tiers: ≥ 80 ``top20``, ≥ 60 ``next20``,
    else ``rest``; null without a purchase.
    """
    buyer = profile.number_of_orders.fill_null(0) > 0
    none_f, none_s = ibis.null("float64"), ibis.null("string")

    def percentile(column: str) -> ir.FloatingValue:
        rank = ibis.percent_rank().over(group_by=buyer, order_by=profile[column]) * 100
        return buyer.ifelse(rank, none_f)

    table = profile.mutate(frequency_percentile=percentile("number_of_orders"))
    if "amount_spent_percentile" not in table.columns:
        table = table.mutate(amount_spent_percentile=percentile("amount_spent"))

    def tier(value: ir.FloatingValue) -> ir.StringValue:
        return ibis.cases(
            (value.isnull(), none_s), (value >= 80, "top20"), (value >= 60, "next20"), else_="rest"
        )

    return table.mutate(
        spend_tier=tier(table.amount_spent_percentile),
        frequency_tier=tier(table.frequency_percentile),
    )


__all__ = [
    "CHANGES",
    "DEFAULT_GRADES",
    "GRADE_COLUMNS",
    "HISTORY_TABLE",
    "TIERS",
    "TIER_LABELS",
    "GradeEvaluation",
    "GradeRule",
    "GradeRules",
    "Grades",
    "evaluate_grades",
    "grade_history",
    "load_grade_rules",
    "percentile_tiers",
]
