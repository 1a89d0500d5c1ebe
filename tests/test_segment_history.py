"""Refresh snapshots, entered/left, diff, size over time, atomicity; explain vs membership."""

from __future__ import annotations

import datetime as dt

import pytest

from danggol import pipeline
from danggol.errors import SegmentError
from danggol.ingest.load import ingest_files
from danggol.segments import history, service
from danggol.segments.definition import Segment
from danggol.segments.explain import describe, explain

D1, D2, D3 = dt.date(2025, 6, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 31)


@pytest.fixture
def shop(ws, write_csv):
    # c1 buys on 05-20 and 06-20; c2 on 05-25; c3 on 06-25; c4 never buys (events only)
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [
            ["o1", "c1", "2025-05-20", 100_000],
            ["o2", "c1", "2025-06-20", 20_000],
            ["o3", "c2", "2025-05-25", 30_000],
            ["o4", "c3", "2025-06-25", 5_000],
        ],
    )
    events = write_csv(
        "events.csv", ["customer_id", "event", "occurred_at"], [["c4", "visit", "2025-05-01"]]
    )
    ingest_files(ws, "orders", [orders])
    ingest_files(ws, "events", [events])
    reg = service.registry(ws)
    # bought in the 10 days before the as-of date
    reg.save(Segment(name="recent", query="last_order_date >= -10d"))
    reg.save(Segment(name="big", query="amount_spent >= 50000"))
    return ws


def members(ws, name: str, day: dt.date) -> set[str]:
    table = service.members(ws, service.target(ws, name), day)
    return set(table.select("customer_id").to_pyarrow()["customer_id"].to_pylist())


def test_refresh_records_entered_and_left(shop):
    first = pipeline.refresh(shop, D1)
    # as of 06-01: recent = last purchase on/after 05-22 → c2 (05-25); big = c1 (100,000)
    sizes = {s.segment: (s.size, s.entered, s.left) for s in first.segments}
    assert sizes == {"recent": (1, 1, 0), "big": (1, 1, 0)}
    second = pipeline.refresh(shop, D2)
    # as of 06-30: recent = on/after 06-20 → c1 (06-20), c3 (06-25); c2 left
    sizes = {s.segment: (s.size, s.entered, s.left) for s in second.segments}
    assert sizes == {"recent": (2, 2, 1), "big": (1, 0, 0)}
    current = shop.duck.execute(
        "SELECT customer_id FROM segment_members WHERE segment = 'recent' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in current] == ["c1", "c3"]


def test_diff_lists_the_movers_between_two_dates(shop):
    pipeline.refresh(shop, D1)
    pipeline.refresh(shop, D2)
    pipeline.refresh(shop, D3)  # as of 07-31: recent = on/after 07-21 → nobody
    d = history.diff(shop, "recent", D1, D2)
    assert d["entered"] == ["c1", "c3"] and d["left"] == ["c2"]
    d = history.diff(shop, "recent", D1, D3)
    assert d["entered"] == [] and d["left"] == ["c2"]
    d = history.diff(shop, "recent", D2, D3)
    assert d["entered"] == [] and d["left"] == ["c1", "c3"]
    with pytest.raises(SegmentError, match="no snapshot as of 2020-01-01 or earlier"):
        history.diff(shop, "recent", dt.date(2020, 1, 1), D2)


def test_size_over_time(shop):
    for day in (D1, D2, D3):
        pipeline.refresh(shop, day)
    rows = [(r["as_of"], r["size"]) for r in history.sizes(shop, "recent")]
    assert rows == [(D1, 1), (D2, 2), (D3, 0)]


def test_refresh_snapshot_matches_live_members(shop):
    pipeline.refresh(shop, D2)
    stored = shop.duck.execute("SELECT segment, customer_id FROM segment_members").fetchall()
    for name in ("recent", "big"):
        assert {c for s, c in stored if s == name} == members(shop, name, D2)


def test_a_failing_refresh_leaves_the_last_snapshot(shop, monkeypatch):
    pipeline.refresh(shop, D1)
    before = {
        t: shop.duck.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("segment_members", "segment_changes", "segment_sizes", "refreshes")
    }

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(history, "_snapshot", boom)
    with pytest.raises(RuntimeError):
        pipeline.refresh(shop, D2)
    after = {t: shop.duck.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in before}
    assert after == before
    meta = shop.duck.execute("SELECT as_of FROM profile_snapshot_meta").fetchall()
    assert meta == [(D1,)]


def test_builtins_needing_params_are_refused_or_skipped_with_a_reason(shop):
    reg = service.registry(shop)
    cross_sell = reg.get("cross_sell")
    with pytest.raises(SegmentError, match="product_a, product_b"):
        reg.save(cross_sell.model_copy(update={"name": "xs", "builtin": False}))
    result = pipeline.refresh(shop, D2, segments={"cross_sell": cross_sell})
    assert "product_a" in result.skipped["cross_sell"] and result.segments == []


@pytest.mark.parametrize(
    "query",
    [
        "last_order_date >= -10d",
        "amount_spent >= 50000 OR NOT (number_of_orders >= 1)",
        "(number_of_orders = 0 AND events(name: 'visit') >= 1) OR in_segment('big')",
        "NOT (amount_spent_percentile >= 50) AND number_of_orders BETWEEN 1 AND 5",
    ],
)
def test_explain_agrees_with_membership(shop, query):
    tgt = service.target(shop, query)
    inside = members(shop, query, D2)
    comp = service.compiler(shop, D2)
    for cid in ("c1", "c2", "c3", "c4"):
        result = explain(comp, tgt.tree, cid)
        assert result["in_segment"] == (cid in inside), (cid, result)


def test_explain_shows_values_and_results(shop):
    tgt = service.target(shop, "number_of_orders >= 2 AND amount_spent >= 100000")
    result = explain(service.compiler(shop, D2), tgt.tree, "c1")
    # c1: 2 orders, 120,000 spent → both hold
    children = result["tree"]["children"]
    assert [(c["value"], c["held"]) for c in children] == [(2, True), (120000.0, True)]
    assert result["in_segment"] is True
    result = explain(service.compiler(shop, D2), tgt.tree, "c2")
    assert [(c["value"], c["held"]) for c in result["tree"]["children"]] == [
        (1, False),
        (30000.0, False),
    ]
    with pytest.raises(SegmentError, match="no customer"):
        explain(service.compiler(shop, D2), tgt.tree, "nobody")


def test_describe_in_korean_and_english(shop):
    tree = service.target(shop, "number_of_orders >= 1 AND last_order_date < -5m").tree
    assert describe(tree, "en") == [
        "- all of:",
        "  - number of orders is at least 1",
        "  - last order date more than 5 months ago",
    ]
    assert describe(tree, "ko") == [
        "- 모두 만족:",
        "  - 주문 수 1 이상",
        "  - 최근 구매일: 5개월 전보다 이전",
    ]
    # a window up to the as-of date, coded values and money in words
    tree = service.target(
        shop,
        "last_order_date >= -90d AND gender = 'male' AND amount_spent > 50000 AND "
        "products_purchased(category: 'shoes', date: -3m) = true",
    ).tree
    assert describe(tree, "ko")[1:] == [
        "  - 최근 구매일: 최근 90일 이내",
        "  - 성별: 남성",
        "  - 누적 구매금액 50,000원 초과",
        "  - 구매함 (카테고리 'shoes', 최근 3개월)",
    ]
    assert describe(tree, "en")[1:] == [
        "  - last order date within the last 90 days",
        "  - gender is Male",
        "  - amount spent is more than 50,000",
        "  - bought (category 'shoes', in the last 3 months)",
    ]


def test_refresh_records_grade_history(shop):
    pipeline.refresh(shop, D1)
    pipeline.refresh(shop, D2)
    rows = shop.duck.execute(
        "SELECT customer_id, as_of, change FROM grade_history ORDER BY customer_id, as_of"
    ).fetchall()
    # c1 and c2 are graded at both dates (buyers by 06-01); c3 (first order 06-25) only at 06-30;
    # c4 is a visitor (not graded). Nobody spends 200,000 in 12 months: the lowest grade, unchanged.
    assert rows == [
        ("c1", D1, "new"),
        ("c1", D2, "same"),
        ("c2", D1, "new"),
        ("c2", D2, "same"),
        ("c3", D2, "new"),
    ]
