"""Membership grades, their upgrade/downgrade history, and percentile tiers.

Every expected grade below is worked out by hand from the rules (VIP ≥ 1,000,000, GOLD ≥
500,000, SILVER ≥ 200,000 over (as_of − 12 months, as_of], purchases at total − refunded);
the arithmetic is in the comments. Tiers are checked against exact fractions.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from fractions import Fraction

import duckdb
import ibis
import pyarrow as pa
import pytest

from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.profile import customer_profile
from danggol.scores.grades import (
    Grades,
    evaluate_grades,
    grade_history,
    load_grade_rules,
    percentile_tiers,
)

D1, D2, D3 = dt.date(2024, 12, 31), dt.date(2025, 6, 30), dt.date(2025, 12, 31)

#: (order_id, customer_id, date, total, status, refunded_amount)
ORDERS = [
    ("P1", "P", "2024-03-01", 1_200_000, "paid", 0),
    ("P2", "P", "2025-02-01", 600_000, "paid", 0),
    ("Q1", "Q", "2024-12-31", 200_000, "paid", 0),
    ("Q2", "Q", "2025-06-30", 300_000, "paid", 0),
    ("R1", "R", "2024-06-01", 1_000_000, "partially_refunded", 100_000),
    ("R2", "R", "2025-03-01", 2_000_000, "refunded", 2_000_000),
    ("R3", "R", "2025-04-01", 1_500_000, "cancelled", 0),
    ("T1", "T", "2025-09-01", 1_000_000, "paid", 0),
    ("X1", "X", "2024-07-01", 199_999, "paid", 0),
    ("X2", "X", "2025-01-01", 1, "paid", 0),
]

# windows: D1 → 2024-01-01..2024-12-31, D2 → 2024-07-01..2025-06-30, D3 → 2025-01-01..2025-12-31
#   P: D1 1,200,000 vip · D2 600,000 (P1 out) gold · D3 600,000 gold
#   Q: D1 200,000 (on the as-of day) silver · D2 500,000 gold · D3 300,000 (Q1 on the day
#      before the window) silver
#   R: D1 900,000 (partial refund) gold · D2 0 (refunded and cancelled orders do not count) basic
#   S: registered, never buys: basic throughout;  T: first order 2025-09-01, exactly 1,000,000
#   X: D1 199,999 basic · D2 200,000 silver · D3 1 basic;  U: an anonymous visitor, no grade
EXPECTED_HISTORY = {
    D1: {
        "P": ("vip", None, "new"),
        "Q": ("silver", None, "new"),
        "R": ("gold", None, "new"),
        "S": ("basic", None, "new"),
        "X": ("basic", None, "new"),
    },
    D2: {
        "P": ("gold", "vip", "downgrade"),
        "Q": ("gold", "silver", "upgrade"),
        "R": ("basic", "gold", "downgrade"),
        "S": ("basic", "basic", "same"),
        "X": ("silver", "basic", "upgrade"),
    },
    D3: {
        "P": ("gold", "gold", "same"),
        "Q": ("silver", "gold", "downgrade"),
        "R": ("basic", "basic", "same"),
        "S": ("basic", "basic", "same"),
        "T": ("vip", None, "new"),
        "X": ("basic", "silver", "downgrade"),
    },
}
LEVEL = {"vip": 4, "gold": 3, "silver": 2, "basic": 1}


@pytest.fixture
def shop(ws):
    tables = {
        "customers": pa.table({"customer_id": ["S"], "signup_at": ["2024-01-01 09:00:00"]}),
        "orders": pa.table(
            {
                "order_id": [o[0] for o in ORDERS],
                "customer_id": [o[1] for o in ORDERS],
                "ordered_at": [f"{o[2]} 12:00:00" for o in ORDERS],
                "total": pa.array([float(o[3]) for o in ORDERS], pa.float64()),
                "status": [o[4] for o in ORDERS],
                "refunded_amount": pa.array([float(o[5]) for o in ORDERS], pa.float64()),
            }
        ),
        "events": pa.table(
            {"customer_id": ["U"], "event": ["visit"], "occurred_at": ["2024-05-01 12:00:00"]}
        ),
    }
    assert ingest_tables(ws, tables).quarantined == 0
    return ws


def history(ws) -> dict[dt.date, dict[str, tuple]]:
    out: dict[dt.date, dict[str, tuple]] = {}
    for r in grade_history(ws).to_pylist():
        assert r["grade_level"] == LEVEL[r["grade"]]
        out.setdefault(r["as_of"], {})[r["customer_id"]] = (
            r["grade"],
            r["previous_grade"],
            r["change"],
        )
    return out


# --------------------------------------------------------------------------------------
# grades and history
# --------------------------------------------------------------------------------------


def test_grades_and_window_amounts_as_of_one_date(shop):
    profile = customer_profile(shop.ibis, D2)
    rows = Grades().transform(shop.ibis, profile, D2).to_pyarrow().to_pylist()
    got = {r["customer_id"]: (r["grade"], r["grade_amount"], r["grade_orders"]) for r in rows}
    assert got == {
        "P": ("gold", 600_000.0, 1),
        "Q": ("gold", 500_000.0, 2),
        "R": ("basic", 0.0, 0),
        "S": ("basic", 0.0, 0),
        "U": (None, 0.0, 0),
        "X": ("silver", 200_000.0, 2),
    }


def test_upgrade_and_downgrade_history_over_three_dates(shop):
    first = evaluate_grades(shop, D1)
    second = evaluate_grades(shop, D2)
    third = evaluate_grades(shop, D3)

    assert history(shop) == EXPECTED_HISTORY
    assert first.to_dict() == {
        "as_of": "2024-12-31",
        "customers": 5,
        "grades": {"vip": 1, "gold": 1, "silver": 1, "basic": 2},
        "changes": {"new": 5, "upgrade": 0, "downgrade": 0, "same": 0},
    }
    assert second.changes == {"new": 0, "upgrade": 2, "downgrade": 2, "same": 1}
    assert third.changes == {"new": 1, "upgrade": 0, "downgrade": 2, "same": 3}
    assert third.grades == {"vip": 1, "gold": 1, "silver": 1, "basic": 3}


def test_re_evaluating_a_date_replaces_it(shop):
    for day in (D1, D2, D3):
        evaluate_grades(shop, day)
    again = evaluate_grades(shop, D2)
    assert again.changes == {"new": 0, "upgrade": 2, "downgrade": 2, "same": 1}
    assert history(shop) == EXPECTED_HISTORY
    assert grade_history(shop).num_rows == 16


def test_a_missed_date_evaluated_later_keeps_the_chain_right(shop, tmp_path):
    for day in (D1, D3, D2):
        evaluate_grades(shop, day)
    assert history(shop) == EXPECTED_HISTORY
    # an Ibis DuckDB connection of one's own (read-write) works too: here on a copy of the store
    own = tmp_path / "own.duckdb"
    shutil.copyfile(shop.store_path, own)
    con = ibis.duckdb.connect(str(own))
    con.raw_sql("DELETE FROM grade_history")
    for day in (D1, D3, D2):
        evaluate_grades(con, day)
    assert history(con) == EXPECTED_HISTORY
    con.disconnect()
    # the workspace's own connection is its read-only view of the store: a clear error
    with pytest.raises(ConfigError, match="pass the Workspace"):
        evaluate_grades(shop.ibis, D1)


def test_a_failed_evaluation_leaves_the_history_as_it_was(shop, monkeypatch):
    evaluate_grades(shop, D1)
    before = grade_history(shop)

    def broken(self, grade):  # a level column that cannot be cast: the INSERT fails
        return ibis.literal("not a number")

    monkeypatch.setattr(Grades, "level_expr", broken)
    with pytest.raises(duckdb.ConversionException):
        evaluate_grades(shop, D1)
    assert grade_history(shop).equals(before)


def test_history_of_one_customer_and_before_any_evaluation(shop):
    assert grade_history(shop).num_rows == 0
    for day in (D1, D2, D3):
        evaluate_grades(shop, day)
    rows = grade_history(shop, customer_id="Q").to_pylist()
    assert [(r["as_of"], r["grade"], r["change"]) for r in rows] == [
        (D1, "silver", "new"),
        (D2, "gold", "upgrade"),
        (D3, "silver", "downgrade"),
    ]


def test_rules_with_orders_and_match_any(shop):
    rules = {
        "window_months": 24,
        "grades": [
            # all: 1,000,000 and 3 orders
            {"key": "vvip", "ko": "VVIP", "en": "VVIP", "min_amount": 1_000_000, "min_orders": 3},
            # any: 1,500,000 or 2 orders
            {
                "key": "regular",
                "ko": "단골",
                "en": "Regular",
                "min_amount": 1_500_000,
                "min_orders": 2,
                "match": "any",
            },
            {"key": "member", "ko": "일반", "en": "Member"},
        ],
    }
    grades = Grades(rules)
    profile = customer_profile(shop.ibis, D3)
    rows = grades.transform(shop.ibis, profile, D3).to_pyarrow().to_pylist()
    # window 2024-01-01..2025-12-31: P 1,800,000 in 2 orders → regular (not 3 orders);
    # Q 500,000 in 2 → regular; R 900,000 in 1 → member; T 1,000,000 in 1 → member;
    # X 200,000 in 2 → regular; S none → member
    assert {r["customer_id"]: r["grade"] for r in rows} == {
        "P": "regular",
        "Q": "regular",
        "R": "member",
        "S": "member",
        "T": "member",
        "U": None,
        "X": "regular",
    }
    assert grades.rules_.label("regular", "ko") == "단골"
    assert grades.window_start(D3) == dt.date(2023, 12, 31)


def test_default_rules_are_the_korean_shop_grades():
    rules = load_grade_rules()
    assert rules.window_months == 12
    assert [(g.key, g.min_amount) for g in rules.grades] == [
        ("vip", 1_000_000),
        ("gold", 500_000),
        ("silver", 200_000),
        ("basic", None),
    ]
    assert rules.label("basic", "ko") == "일반"
    assert [rules.level(k) for k in rules.keys] == [4, 3, 2, 1]


def test_the_window_clamps_to_the_months_end():
    grades = Grades(
        {
            "window_months": 1,
            "grades": [
                {"key": "a", "ko": "가", "en": "A", "min_orders": 1},
                {"key": "b", "ko": "나", "en": "B"},
            ],
        }
    )
    assert grades.window_start(dt.date(2025, 3, 31)) == dt.date(2025, 2, 28)


BAD_RULES = {
    "last has a condition": (
        [
            {"key": "a", "ko": "가", "en": "A", "min_amount": 1},
            {"key": "b", "ko": "나", "en": "B", "min_orders": 1},
        ],
        "the last grade ('b') is everyone else's grade",
    ),
    "middle without condition": (
        [{"key": "a", "ko": "가", "en": "A"}, {"key": "b", "ko": "나", "en": "B"}],
        "grade 1 ('a') has no condition",
    ),
    "key twice": (
        [
            {"key": "a", "ko": "가", "en": "A", "min_amount": 1},
            {"key": "a", "ko": "가", "en": "A"},
        ],
        "grade key(s) a written twice",
    ),
    "negative amount": (
        [
            {"key": "a", "ko": "가", "en": "A", "min_amount": -5},
            {"key": "b", "ko": "나", "en": "B"},
        ],
        "min_amount must be a number ≥ 0; got -5",
    ),
    "unknown setting": (
        [{"key": "a", "ko": "가", "en": "A", "min_spend": 5}, {"key": "b", "ko": "나", "en": "B"}],
        "unknown setting(s) ['min_spend']",
    ),
    "one grade": ([{"key": "a", "ko": "가", "en": "A"}], "at least two grades"),
    "bad match": (
        [
            {"key": "a", "ko": "가", "en": "A", "min_orders": 1, "match": "some"},
            {"key": "b", "ko": "나", "en": "B"},
        ],
        "match is 'all' or 'any'",
    ),
}


@pytest.mark.parametrize("name", list(BAD_RULES))
def test_bad_rules_say_what_to_fix(name):
    grades, message = BAD_RULES[name]
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_grade_rules({"grades": grades})


def test_bad_window_and_a_duplicated_key_in_a_file(tmp_path):
    with pytest.raises(
        ConfigError, match=re.escape("'window_months' must be an int in the range [1, 120]")
    ):
        load_grade_rules({"window_months": 0, "grades": BAD_RULES["middle without condition"][0]})
    path = tmp_path / "grades.yaml"
    path.write_text(
        "grades:\n  - key: a\n    ko: 가\n    en: A\n    min_amount: 1\n    min_amount: 2\n"
        "  - {key: b, ko: 나, en: B}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="line 6: the key 'min_amount' is written twice"):
        load_grade_rules(path)


# --------------------------------------------------------------------------------------
# percentile tiers
# --------------------------------------------------------------------------------------


def reference_tier(value, population: list) -> str:
    """PERCENT_RANK × 100 = 100 · below / (n − 1) (0 for a single customer), as a fraction."""
    below = sum(1 for v in population if v < value)
    pct = Fraction(100 * below, len(population) - 1) if len(population) > 1 else Fraction(0)
    return "top20" if pct >= 80 else "next20" if pct >= 60 else "rest"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentile_tiers_match_the_reference_on_heavy_ties(seed):
    rng = random.Random(seed)
    rows = []
    for i in range(rng.choice([12, 27, 52])):
        orders = rng.choice([0, 1, 1, 1, 1, 2, 2, 3, 5])
        rows.append(
            {
                "customer_id": f"c{i}",
                "number_of_orders": orders,
                "amount_spent": float(rng.choice([10_000, 10_000, 20_000, 50_000])) * (orders > 0),
            }
        )
    table = percentile_tiers(ibis.memtable(pa.Table.from_pylist(rows))).to_pyarrow().to_pylist()
    buyers = [r for r in rows if r["number_of_orders"] > 0]
    orders = [r["number_of_orders"] for r in buyers]
    spent = [r["amount_spent"] for r in buyers]
    expected = {
        r["customer_id"]: (
            (
                reference_tier(r["amount_spent"], spent),
                reference_tier(r["number_of_orders"], orders),
            )
            if r["number_of_orders"] > 0
            else (None, None)
        )
        for r in rows
    }
    assert {r["customer_id"]: (r["spend_tier"], r["frequency_tier"]) for r in table} == expected


def test_tiers_at_exactly_60_and_80():
    # 11 buyers with 1 … 11 orders: percentiles 0, 10, …, 100; 7 orders is exactly 60 and
    # 9 orders exactly 80 (100 · 8 / 10), both inside the upper band
    rows = [
        {"customer_id": f"c{n}", "number_of_orders": n, "amount_spent": float(n)}
        for n in range(1, 12)
    ]
    table = percentile_tiers(ibis.memtable(pa.Table.from_pylist(rows))).to_pyarrow().to_pylist()
    tiers = {r["number_of_orders"]: r["frequency_tier"] for r in table}
    assert [tiers[n] for n in range(1, 12)] == ["rest"] * 6 + ["next20"] * 2 + ["top20"] * 3
    percentiles = sorted(r["frequency_percentile"] for r in table)
    assert percentiles == pytest.approx([10.0 * k for k in range(11)])


def test_spend_tier_uses_the_profile_percentile(shop):
    profile = customer_profile(shop.ibis, D3)
    rows = percentile_tiers(profile).to_pyarrow().to_pylist()
    # buyers at D3: P 1,800,000 · Q 500,000 · R 900,000 · T 1,000,000 · X 200,000
    # spend percentiles 100, 25, 50, 75, 0; orders P 2, Q 2, R 1, T 1, X 2 → 50, 50, 0, 0, 50
    got = {r["customer_id"]: (r["spend_tier"], r["frequency_tier"]) for r in rows}
    assert got == {
        "P": ("top20", "rest"),
        "Q": ("rest", "rest"),
        "R": ("rest", "rest"),
        "T": ("next20", "rest"),
        "X": ("rest", "rest"),
        "S": (None, None),
        "U": (None, None),
    }
