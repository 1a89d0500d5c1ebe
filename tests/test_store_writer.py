"""The store's one writer and its readers, in one process (the multi-process cases are in
tests/test_concurrency.py and tests/test_kill.py): a reader keeps the store it attached, moves
on with ``follow``, writes need the writer, a failed write publishes nothing, and the refresh
log's times are in order (issue 14 item 20)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.store.workspace import Workspace


@pytest.fixture
def shop(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    ingest_tables(ws, generate_shop(60, seed=2, end=dt.date(2025, 6, 30)))
    ws.close()
    return tmp_path / "shop"


def test_a_reader_keeps_its_store_until_it_follows(shop):
    reader = Workspace.open(shop)
    before = reader.count("orders")
    with Workspace.open(shop) as writer, writer.transaction() as con:
        con.execute("DELETE FROM orders WHERE order_id IN (SELECT order_id FROM orders LIMIT 5)")
    assert reader.count("orders") == before  # its attached file is the old one
    assert reader.changed()
    assert reader.follow()
    assert reader.count("orders") == before - 5
    assert not reader.follow()
    reader.close()


def test_a_reader_cannot_write_and_a_failed_write_publishes_nothing(shop):
    with Workspace.open(shop) as ws:
        with pytest.raises(duckdb.Error, match="read-only"):
            ws.duck.execute("DELETE FROM orders")
        n = ws.count("orders")
        inode = (shop / "store.duckdb").stat().st_ino
        with pytest.raises(RuntimeError, match="boom"), ws.transaction() as con:
            con.execute("DELETE FROM orders")
            raise RuntimeError("boom")
        assert (shop / "store.duckdb").stat().st_ino == inode  # nothing was published
        assert ws.count("orders") == n
    assert not [p for p in shop.iterdir() if p.name.startswith(".store-writing-")]


def test_refresh_times_are_in_order(shop):
    with Workspace.open(shop) as ws:
        t0 = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        refresh(ws, dt.date(2025, 6, 30))
        t1 = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        started, finished, seconds = ws.duck.execute(
            "SELECT started_at, finished_at, seconds FROM refreshes"
        ).fetchone()
    # both in UTC, within the call, the start first
    assert t0 <= started <= finished <= t1
    assert abs((finished - started).total_seconds() - seconds) < 1.0
