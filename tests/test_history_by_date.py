"""Membership history by as-of date, not by the order refreshes ran in (issue 16, item 4).

Each test builds the same shop twice (or more) and refreshes the same dates in different
orders; the history (diff, sizes, changes), the latest date (stored profile, dashboard,
prediction run) and what the webhooks announce must not depend on the order. Expected
members are worked out by hand from the four orders below.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from danggol import pipeline
from danggol.activation import webhooks
from danggol.errors import SegmentError
from danggol.ingest.load import ingest_files
from danggol.predict.customers import last_run
from danggol.segments import history, service
from danggol.segments.definition import Segment
from danggol.store.workspace import Workspace
from danggol.web import dashboard

D1, D2, D3 = dt.date(2025, 6, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 31)
ORDERS = [
    ["o1", "c1", "2025-05-20", 100_000],
    ["o2", "c1", "2025-06-20", 20_000],
    ["o3", "c2", "2025-05-25", 30_000],
    ["o4", "c3", "2025-06-25", 5_000],
]
# 'recent' = bought in the 10 days up to the date (last_order_date >= -10d):
#   as of 06-01 (on/after 05-22): c2 (05-25)          c1's last order then is 05-20
#   as of 06-30 (on/after 06-20): c1 (06-20), c3 (06-25)
#   as of 07-31 (on/after 07-21): nobody
# 'big' = amount_spent >= 50,000: c1 (100,000 on 05-20) at every date
RECENT = {D1: {"c2"}, D2: {"c1", "c3"}, D3: set()}
BIG = {D1: {"c1"}, D2: {"c1"}, D3: {"c1"}}


@pytest.fixture
def make_shop(tmp_path: Path, write_csv) -> Iterator[Callable[[str], Workspace]]:
    opened: list[Workspace] = []
    orders = write_csv("orders.csv", ["order_id", "customer_id", "ordered_at", "total"], ORDERS)

    def make(name: str) -> Workspace:
        ws = Workspace.init(tmp_path / name, timezone="Asia/Seoul", currency="KRW")
        opened.append(ws)
        ingest_files(ws, "orders", [orders])
        reg = service.registry(ws)
        reg.save(Segment(name="recent", query="last_order_date >= -10d"))
        reg.save(Segment(name="big", query="amount_spent >= 50000"))
        with (ws.path / "danggol.toml").open("a", encoding="utf-8") as f:
            f.write("\n[webhooks]\nallow_private_urls = true\n")  # the endpoint is on loopback
        webhooks.add_endpoint(ws, "crm", "http://127.0.0.1:9/crm", secret="s", batch_size=1)
        return ws

    yield make
    for ws in opened:
        ws.close()


def refreshed(make_shop, name: str, days: list[dt.date], *, enqueue_each: bool) -> Workspace:
    ws = make_shop(name)
    for day in days:
        pipeline.refresh(ws, day)
        if enqueue_each:
            webhooks.enqueue(ws)
    webhooks.enqueue(ws)
    return ws


def history_of(ws: Workspace) -> dict[str, object]:
    """What must not depend on the refresh order (refresh ids aside)."""
    changes = ws.duck.execute(
        "SELECT r.as_of, c.segment, c.customer_id, c.change FROM segment_changes c "
        "JOIN refreshes r USING (refresh_id) ORDER BY ALL"
    ).fetchall()
    return {
        "sizes": [
            (r["segment"], r["as_of"], r["size"], r["entered"], r["left"])
            for r in history.sizes(ws)
        ],
        "changes": changes,
        "members": ws.duck.execute("SELECT * FROM segment_members ORDER BY ALL").fetchall(),
        "stored profile as of": ws.duck.execute(
            "SELECT as_of FROM profile_snapshot_meta"
        ).fetchall(),
        "dashboard's refresh as of": dashboard.last_refresh(ws)["as_of"],
        "prediction run as of": last_run(ws.duck).as_of,
    }


def announced(ws: Workspace) -> dict[str, set[str]]:
    """What a receiver that applies every batch in order holds at the end, per segment."""
    held: dict[str, set[str]] = {"recent": set(), "big": set()}
    for (body,) in ws.duck.execute(
        "SELECT body FROM webhook_outbox ORDER BY refresh_id, segment, batch_no"
    ).fetchall():
        batch = json.loads(body)
        held[batch["segment"]] |= set(batch["entered"])
        held[batch["segment"]] -= set(batch["left"])
    return held


def lefts(ws: Workspace) -> list[str]:
    bodies = ws.duck.execute("SELECT body FROM webhook_outbox").fetchall()
    return [c for (b,) in bodies for c in json.loads(b)["left"]]


@pytest.mark.parametrize("enqueue_each", [True, False], ids=["enqueue-each", "enqueue-at-end"])
def test_an_older_date_refreshed_after_a_newer_one_gives_the_same_history(make_shop, enqueue_each):
    in_order = refreshed(make_shop, "in", [D1, D2], enqueue_each=enqueue_each)
    reverse = refreshed(make_shop, "out", [D2, D1], enqueue_each=enqueue_each)

    for ws in (in_order, reverse):
        d = history.diff(ws, "recent", D1, D2)
        assert (d["entered"], d["left"]) == (sorted(RECENT[D2] - RECENT[D1]), ["c2"])
        assert (d["from_as_of"], d["to_as_of"]) == (D1, D2)
        assert history.diff(ws, "big", D1, D2)["entered"] == []
    assert history_of(reverse) == history_of(in_order)
    state = history_of(reverse)
    assert state["sizes"] == [
        ("big", D1, 1, 1, 0),
        ("big", D2, 1, 0, 0),
        ("recent", D1, 1, 1, 0),
        ("recent", D2, 2, 2, 1),
    ]
    assert state["stored profile as of"] == [(D2,)]
    assert state["dashboard's refresh as of"] == D2.isoformat()
    assert state["prediction run as of"] == D2.isoformat()
    assert set(state["members"]) == {("recent", "c1"), ("recent", "c3"), ("big", "c1")}

    # the webhooks: a receiver ends with the latest date's members either way
    assert announced(in_order) == announced(reverse) == {"recent": RECENT[D2], "big": BIG[D2]}
    if enqueue_each:
        # 06-30 was announced first; 06-01 (older) must not announce anyone as having left
        assert lefts(reverse) == []
        assert lefts(in_order) == ["c2"]


def test_a_date_between_two_others_recomputes_the_next_dates_changes(make_shop):
    in_order = refreshed(make_shop, "in", [D1, D2, D3], enqueue_each=True)
    middle_last = refreshed(make_shop, "mid", [D1, D3, D2], enqueue_each=True)
    assert history_of(middle_last) == history_of(in_order)
    # before 06-30 was refreshed, 07-31's changes were relative to 06-01 (c2 left); now they
    # are relative to 06-30: c1 and c3 left
    sizes = {
        (r["segment"], r["as_of"]): (r["entered"], r["left"]) for r in history.sizes(middle_last)
    }
    assert sizes[("recent", D3)] == (0, 2)
    for a, b in ((D1, D2), (D2, D3), (D1, D3)):
        d = history.diff(middle_last, "recent", a, b)
        assert (set(d["entered"]), set(d["left"])) == (RECENT[b] - RECENT[a], RECENT[a] - RECENT[b])
    assert announced(middle_last) == {"recent": set(), "big": {"c1"}}


def test_refreshing_a_date_again_replaces_its_snapshot(make_shop, write_csv):
    ws = make_shop("again")
    pipeline.refresh(ws, D1)
    pipeline.refresh(ws, D2)
    webhooks.enqueue(ws)
    # a late order of c2 on 06-28 arrives; 06-30 is refreshed again
    late = write_csv(
        "late.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [["o5", "c2", "2025-06-28", 10_000]],
    )
    ingest_files(ws, "orders", [late])
    pipeline.refresh(ws, D2)
    rows = [(r["as_of"], r["size"], r["entered"], r["left"]) for r in history.sizes(ws, "recent")]
    # one row per date: 06-30 now {c1, c2, c3}, relative to 06-01's {c2}: +c1 +c3, nobody left
    assert rows == [(D1, 1, 1, 0), (D2, 3, 2, 0)]
    d = history.diff(ws, "recent", D1, D2)
    assert (d["entered"], d["left"]) == (["c1", "c3"], [])
    # the receiver had 06-30's first members {c1, c3}: the new refresh announces +c2 only
    webhooks.enqueue(ws)
    assert announced(ws)["recent"] == {"c1", "c2", "c3"}
    last = ws.duck.execute(
        "SELECT body FROM webhook_outbox WHERE segment = 'recent' "
        "AND refresh_id = (SELECT max(refresh_id) FROM webhook_outbox)"
    ).fetchall()
    assert [(json.loads(b)["entered"], json.loads(b)["left"]) for (b,) in last] == [(["c2"], [])]


def test_a_store_from_before_keeps_its_changes_as_moves(make_shop):
    """A store written before segment_moves existed: its changes were the moves."""
    ws = make_shop("old")
    pipeline.refresh(ws, D1)
    pipeline.refresh(ws, D2)
    with ws.transaction() as con:  # writes go through the workspace's writer
        con.execute("DROP TABLE segment_moves")
        history.ensure_tables(con)
    moves = ws.duck.execute("SELECT * FROM segment_moves ORDER BY ALL").fetchall()
    changes = ws.duck.execute("SELECT * FROM segment_changes ORDER BY ALL").fetchall()
    # as of 06-01: +c2 (recent), +c1 (big); as of 06-30: +c1, +c3, -c2 (recent)
    assert moves == changes and len(moves) == 5


def test_diff_of_a_segment_never_refreshed_says_to_save_it(make_shop):
    ws = make_shop("unsaved")
    pipeline.refresh(ws, D2)
    with pytest.raises(SegmentError, match="'lapsed' has no history: a refresh records the saved"):
        history.diff(ws, "lapsed", D1, D2)
    with pytest.raises(SegmentError, match=r"no snapshot as of 2025-06-01 or earlier \(its first"):
        history.diff(ws, "recent", D1, D2)
