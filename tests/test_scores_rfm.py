"""RFM scores and groups against a plain-Python computation of the documented rule.

The reference below never looks at danggol's thresholds: it scores a value from the share of
customers *strictly below* it (``s = 1 + min(bins − 1, floor(bins · below / n))``, R reversed),
which the module docstring states is what the inverted-CDF thresholds amount to, and reads
the segment grid straight from the YAML file.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from fractions import Fraction
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
import yaml

from danggol.errors import ConfigError
from danggol.ingest.load import ingest_tables
from danggol.profile import customer_profile
from danggol.scores.rfm import DEFAULT_SEGMENT_MAP, RFM, load_segment_map

GROUPS = {
    "champions": "챔피언",
    "loyal": "우수 단골",
    "potential_loyalist": "잠재 충성 고객",
    "new": "최근 첫 구매",
    "promising": "유망 고객",
    "need_attention": "관심 필요",
    "about_to_sleep": "휴면 직전",
    "at_risk": "이탈 위험",
    "cant_lose": "놓치면 안 될 고객",
    "hibernating": "휴면 고객",
    "lost": "떠난 구매자",
}

# --------------------------------------------------------------------------------------
# fixture: a profile-like table with heavy ties
# --------------------------------------------------------------------------------------


def tied_profile(seed: int, n: int = 80) -> list[dict]:
    """Buyers whose values come from tiny pools (most buy once, many share a day and an
    amount), plus customers without a purchase."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        if rng.random() < 0.2:
            rows.append(
                {
                    "customer_id": f"c{i:03d}",
                    "number_of_orders": 0,
                    "days_since_last_order": None,
                    "amount_spent": 0.0,
                }
            )
            continue
        orders = rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 3, 7])
        rows.append(
            {
                "customer_id": f"c{i:03d}",
                "number_of_orders": orders,
                "days_since_last_order": rng.choice([0, 3, 3, 30, 30, 30, 31, 200, 400, 400]),
                "amount_spent": rng.choice([0.1 + 0.2, 9_900.0, 9_900.0, 25_000.0, 25_000.0])
                * orders,
            }
        )
    return rows


def as_table(rows: list[dict]) -> ibis.Table:
    return ibis.memtable(
        pa.Table.from_pylist(
            rows,
            schema=pa.schema(
                [
                    ("customer_id", pa.string()),
                    ("number_of_orders", pa.int64()),
                    ("days_since_last_order", pa.int64()),
                    ("amount_spent", pa.float64()),
                ]
            ),
        )
    )


# --------------------------------------------------------------------------------------
# the independent reference
# --------------------------------------------------------------------------------------


def reference_score(value, population: list, bins: int) -> int:
    below = sum(1 for v in population if v < value)
    return 1 + min(bins - 1, (bins * below) // len(population))


def reference_grid(path: Path = DEFAULT_SEGMENT_MAP) -> dict[tuple[int, int], str]:
    """(R, FM) → group, read from the YAML: row key = R, columns FM = size … 1."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    size = len(data["grid"])
    return {(r, size - i): key for r, row in data["grid"].items() for i, key in enumerate(row)}


def on_scale(score: int, bins: int, size: int) -> int:
    """round half up of (score − 1)(size − 1)/(bins − 1), plus 1."""
    exact = Fraction((score - 1) * (size - 1), bins - 1) + Fraction(1, 2)
    return 1 + exact.numerator // exact.denominator


def reference(rows: list[dict], bins: int) -> dict[str, tuple]:
    buyers = [r for r in rows if r["number_of_orders"] > 0]
    days = [r["days_since_last_order"] for r in buyers]
    orders = [r["number_of_orders"] for r in buyers]
    spent = [r["amount_spent"] for r in buyers]
    grid = reference_grid()
    out = {}
    for row in rows:
        if row["number_of_orders"] == 0:
            out[row["customer_id"]] = (None, None, None, None, "prospects")
            continue
        r = bins + 1 - reference_score(row["days_since_last_order"], days, bins)
        f = reference_score(row["number_of_orders"], orders, bins)
        m = reference_score(row["amount_spent"], spent, bins)
        fm = (f + m) // 2
        group = grid[(on_scale(r, bins, 5), on_scale(fm, bins, 5))]
        out[row["customer_id"]] = (r, f, m, fm, group)
    return out


def scored(table: ibis.Table) -> dict[str, tuple]:
    rows = table.to_pyarrow().to_pylist()
    ids = [r["customer_id"] for r in rows]
    assert len(ids) == len(set(ids))
    return {
        r["customer_id"]: (r["r_score"], r["f_score"], r["m_score"], r["fm_score"], r["rfm_group"])
        for r in rows
    }


# --------------------------------------------------------------------------------------
# scores and groups
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", [2, 3, 4, 5, 7, 10])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_and_groups_match_the_reference_on_heavy_ties(seed, bins):
    rows = tied_profile(seed)
    profile = as_table(rows)

    result = scored(RFM(bins=bins).fit_transform(profile))

    assert result == reference(rows, bins)


def test_equal_values_share_a_score_and_skipped_scores_are_expected():
    # 6 of 10 buyers bought once: they all score F = 1, and two orders already score F = 4
    # (6 of the 10 values lie strictly below 2: 1 + floor(5 · 6 / 10) = 4).
    orders = [1, 1, 1, 1, 1, 1, 2, 2, 3, 9]
    rows = [
        {
            "customer_id": f"c{i}",
            "number_of_orders": n,
            "days_since_last_order": 10,
            "amount_spent": 100.0,
        }
        for i, n in enumerate(orders)
    ]
    rfm = RFM().fit(as_table(rows))
    assert rfm.thresholds_["f"] == [1, 1, 1, 2]  # the 2nd, 4th, 6th and 8th smallest
    result = scored(rfm.transform(as_table(rows)))
    assert [result[f"c{i}"][1] for i in range(10)] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # everyone shares R and M: a single value scores the lowest bin (none strictly below)
    assert {v[0] for v in result.values()} == {5} and {v[2] for v in result.values()} == {1}


def test_scores_do_not_depend_on_row_order():
    rows = tied_profile(7)
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    first = RFM().fit_transform(as_table(rows))
    second = RFM().fit_transform(as_table(shuffled))
    assert scored(first) == scored(second)


def test_transform_is_a_case_over_literals_not_a_row_numbering():
    sql = ibis.to_sql(RFM().fit_transform(as_table(tied_profile(1))), dialect="duckdb").upper()
    assert "CASE" in sql
    assert not any(word in sql for word in ("NTILE", "ROW_NUMBER", "PERCENT_RANK", " OVER "))


def test_every_scored_customer_is_in_exactly_one_group():
    rows = tied_profile(5, n=200)
    result = scored(RFM().fit_transform(as_table(rows)))
    assert len(result) == len(rows)
    for row in rows:
        r, f, m, fm, group = result[row["customer_id"]]
        if row["number_of_orders"] > 0:
            assert None not in (r, f, m, fm) and group in GROUPS
        else:
            assert (r, f, m, fm, group) == (None, None, None, None, "prospects")


def test_fixed_thresholds_are_inclusive_upper_bounds():
    rfm = RFM(bins={"r": [30, 90, 180, 365], "f": [1, 2, 4, 8], "m": [1e4, 5e4, 2e5, 5e5]})
    days = [0, 30, 31, 90, 91, 365, 366]
    rows = [
        {
            "customer_id": f"c{i}",
            "number_of_orders": [1, 2, 3, 4, 5, 8, 9][i],
            "days_since_last_order": d,
            "amount_spent": [1e4, 10_001.0, 5e4, 2e5, 200_001.0, 5e5, 500_001.0][i],
        }
        for i, d in enumerate(days)
    ]
    result = scored(rfm.fit_transform(as_table(rows)))
    assert [result[f"c{i}"][0] for i in range(7)] == [5, 5, 4, 4, 3, 2, 1]
    assert [result[f"c{i}"][1] for i in range(7)] == [1, 2, 3, 3, 4, 4, 5]
    assert [result[f"c{i}"][2] for i in range(7)] == [1, 2, 2, 3, 4, 4, 5]
    assert rfm.learned_ == {"r": False, "f": False, "m": False}
    assert rfm.n_customers_ == 7


def test_a_dimension_left_out_is_learned_with_the_same_number_of_bins():
    rows = tied_profile(4)
    rfm = RFM(bins={"r": [7, 30]}).fit(as_table(rows))
    assert rfm.n_bins_ == 3
    assert rfm.thresholds_["r"] == [7, 30]
    assert rfm.learned_ == {"r": False, "f": True, "m": True}
    assert len(rfm.thresholds_["f"]) == 2


def test_tertiles_are_placed_on_the_five_by_five_grid_by_their_ends():
    rfm = RFM(bins=3).fit(as_table(tied_profile(1)))
    grid = rfm.grid()
    assert grid[(3, 3)] == "champions"  # cell (5, 5)
    assert grid[(1, 1)] == "lost"  # cell (1, 1)
    assert grid[(2, 2)] == "need_attention"  # cell (3, 3)
    assert grid[(1, 3)] == "cant_lose"  # cell (1, 5)
    assert grid[(3, 1)] == "new"  # cell (5, 1)


def test_a_map_of_the_same_size_as_the_bins_is_used_as_is(tmp_path):
    path = tmp_path / "tertiles.yaml"
    path.write_text(
        """
grid:
  3: [best, best, fresh]
  2: [slipping, middle, middle]
  1: [slipping, gone, gone]
segments:
  best: {ko: 최고, en: Best}
  fresh: {ko: 신규, en: Fresh}
  middle: {ko: 중간, en: Middle}
  slipping: {ko: 이탈 위험, en: Slipping}
  gone: {ko: 이탈, en: Gone}
  prospects: {ko: 잠재 고객, en: Prospects}
""",
        encoding="utf-8",
    )
    rows = tied_profile(2)
    result = scored(RFM(bins=3, segment_map=path).fit_transform(as_table(rows)))
    grid = reference_grid(path)
    for row in rows:
        r, _, _, fm, group = result[row["customer_id"]]
        assert group == ("prospects" if r is None else grid[(r, fm)])
    assert RFM(segment_map=path).group_label("slipping", "ko") == "이탈 위험"
    # a SegmentMap object works unfitted too (it was read as a path: TypeError)
    assert RFM(segment_map=load_segment_map(path)).group_label("slipping", "en") == "Slipping"


# --------------------------------------------------------------------------------------
# the default map
# --------------------------------------------------------------------------------------


def test_rfm_groups_and_lifecycle_stages_have_different_names():
    # both are shown side by side on the dashboard and in the report: a name that means an
    # RFM group there and a lifecycle stage here misleads (issue 19: 이탈 고객, 신규 고객)
    from danggol.scores.lifecycle import STAGE_LABELS

    data = yaml.safe_load(DEFAULT_SEGMENT_MAP.read_text(encoding="utf-8"))
    for lang in ("ko", "en"):
        groups = {v[lang] for v in data["segments"].values()}
        stages = {v[lang] for v in STAGE_LABELS.values()}
        assert not groups & stages, (lang, groups & stages)


def test_default_map_covers_all_25_cells_with_the_11_groups():
    data = yaml.safe_load(DEFAULT_SEGMENT_MAP.read_text(encoding="utf-8"))
    assert sorted(data["grid"]) == [1, 2, 3, 4, 5]
    assert all(len(row) == 5 for row in data["grid"].values())
    cells = [key for row in data["grid"].values() for key in row]
    assert len(cells) == 25 and set(cells) == set(GROUPS)
    assert {k: v["ko"] for k, v in data["segments"].items() if k in GROUPS} == GROUPS
    assert data["segments"]["prospects"]["ko"] == "미구매 가입자"
    assert all(isinstance(v["en"], str) and v["en"] for v in data["segments"].values())
    # the suggested partition, rows R = 5 … 1, columns FM = 5 … 1
    assert data["grid"][5] == ["champions", "champions", "loyal", "potential_loyalist", "new"]
    assert data["grid"][1] == ["cant_lose", "cant_lose", "at_risk", "hibernating", "lost"]
    smap = load_segment_map()
    assert smap.size == 5 and len(smap.cells) == 25
    assert smap.keys[-1] == "prospects" and len(smap.keys) == 12


BAD_MAPS = {
    "short row": (
        {"grid": {2: ["a", "a"], 1: ["a"]}, "segments": {"a": {"ko": "가", "en": "A"}}},
        "grid row 1 needs 2 cells",
    ),
    "missing row": (
        {"grid": {3: ["a"] * 3, 1: ["a"] * 3}, "segments": {"a": {"ko": "가", "en": "A"}}},
        "one row for each R score 1..n",
    ),
    "unknown key": (
        {"grid": {2: ["a", "b"], 1: ["a", "a"]}, "segments": {"a": {"ko": "가", "en": "A"}}},
        "cell R=2, FM=1 names 'b'",
    ),
    "prospects on the grid": (
        {
            "grid": {2: ["a", "prospects"], 1: ["a", "a"]},
            "segments": {"a": {"ko": "가", "en": "A"}},
        },
        "cannot be on the grid",
    ),
    "unused segment": (
        {
            "grid": {2: ["a", "a"], 1: ["a", "a"]},
            "segments": {"a": {"ko": "가", "en": "A"}, "b": {"ko": "나", "en": "B"}},
        },
        "segment(s) b own no cell",
    ),
    "no labels": (
        {"grid": {2: ["a", "a"], 1: ["a", "a"]}, "segments": {"a": {"ko": "가"}}},
        "needs a Korean and an English name",
    ),
}


@pytest.mark.parametrize("name", list(BAD_MAPS))
def test_a_custom_map_must_cover_every_cell_exactly_once(name):
    data, message = BAD_MAPS[name]
    data = {**data, "segments": {**data["segments"], "prospects": {"ko": "잠재", "en": "P"}}}
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_segment_map(data)


def test_a_row_written_twice_in_the_yaml_is_an_error(tmp_path):
    path = tmp_path / "map.yaml"
    text = DEFAULT_SEGMENT_MAP.read_text(encoding="utf-8")
    path.write_text(text.replace("  1: [cant_lose", "  4: [cant_lose"), encoding="utf-8")
    with pytest.raises(ConfigError, match="the key 4 is written twice"):
        load_segment_map(path)


# --------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------


def test_bins_out_of_range_says_what_was_expected():
    with pytest.raises(ConfigError) as info:
        RFM(bins=1).fit(as_table(tied_profile(1)))
    assert str(info.value).startswith(
        "The 'bins' parameter of RFM must be an int in the range [2, 10] or a list of thresholds"
    )
    assert str(info.value).endswith("Got 1 instead.")


@pytest.mark.parametrize(
    ("bins", "message"),
    [
        (11, "Got 11 instead"),
        (True, "Got True instead"),
        ({"x": 5}, "Got {'x': 5} instead"),
        ([], "Got [] instead"),
        ([90, 30], "must increase strictly"),
        ({"r": 5, "f": [1, 2]}, "same number of bins"),
    ],
)
def test_bad_bins(bins, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        RFM(bins=bins).fit(as_table(tied_profile(1)))


def test_init_stores_parameters_only_and_transform_needs_fit():
    rfm = RFM(bins=99)  # not validated until fit
    assert rfm.get_params() == {"bins": 99, "segment_map": None}
    with pytest.raises(ConfigError, match="not fitted yet"):
        RFM().transform(as_table(tied_profile(1)))


def test_a_shop_without_purchases_has_only_prospects():
    rows = [
        {
            "customer_id": "a",
            "number_of_orders": 0,
            "days_since_last_order": None,
            "amount_spent": 0.0,
        }
    ]
    out = RFM().fit_transform(as_table(rows)).to_pyarrow().to_pylist()
    assert [(r["rfm_group"], r["r_score"], r["f_score"], r["m_score"]) for r in out] == [
        ("prospects", None, None, None)
    ]


# --------------------------------------------------------------------------------------
# on a real profile
# --------------------------------------------------------------------------------------


def test_on_the_customer_profile_of_a_small_shop(ws):
    as_of = dt.date(2025, 6, 30)
    days = [0, 0, 10, 10, 10, 40, 100, 100, 400, 400]
    orders, n = [], 0
    for i, d in enumerate(days):
        for k in range(1 + i % 3):  # 1, 2 or 3 orders each, the last one d days ago
            n += 1
            day = as_of - dt.timedelta(days=d + 30 * k)
            orders.append((f"O{n}", f"C{i}", f"{day} 12:00:00", 10_000.0 * (1 + i % 2)))
    tables = {
        "customers": pa.table({"customer_id": [f"C{i}" for i in range(12)]}),
        "orders": pa.table(
            {
                "order_id": [o[0] for o in orders],
                "customer_id": [o[1] for o in orders],
                "ordered_at": [o[2] for o in orders],
                "total": pa.array([o[3] for o in orders], pa.float64()),
            }
        ),
    }
    assert ingest_tables(ws, tables).quarantined == 0
    profile = customer_profile(ws.ibis, as_of)
    rows = profile.select(
        "customer_id", "number_of_orders", "days_since_last_order", "amount_spent"
    )
    expected = reference(rows.to_pyarrow().to_pylist(), 5)

    result = scored(RFM().fit_transform(profile))

    assert result == expected
    assert result["C10"][4] == result["C11"][4] == "prospects"
