"""``danggol backup`` / ``danggol restore``: an exact round trip of a workspace, and clear
refusals (damaged backup, busy store, a folder that is not a workspace)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from danggol.demo import generate_shop
from danggol.errors import WorkspaceError
from danggol.ingest.load import ingest_files, ingest_tables
from danggol.pipeline import refresh
from danggol.segments.definition import Segment
from danggol.segments.service import registry
from danggol.store.backup import MANIFEST, backup, restore
from danggol.store.workspace import Workspace

SRC = Path(__file__).parent.parent / "src"
AS_OF = dt.date(2025, 6, 30)


def everything(path: Path) -> dict[str, object]:
    """Every table (its columns, types and all rows), the settings and the segment files."""
    with Workspace.open(path) as ws:
        con = ws.duck
        tables = {}
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY 1"
        ).fetchall():
            columns = con.execute(f'DESCRIBE "{name}"').fetchall()
            rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
            tables[name] = (columns, sorted(rows, key=repr))
    segments = path / "segments"
    return {
        "tables": tables,
        "config": (path / "danggol.toml").read_bytes(),
        "segments": {p.name: p.read_bytes() for p in sorted(segments.iterdir())},
    }


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backup") / "shop"
    ws = Workspace.init(path, shop_name="단골 상점")
    ingest_tables(ws, generate_shop(250, seed=4, end=AS_OF))
    bad = path.parent / "bad.csv"
    bad.write_text("order_id,customer_id,ordered_at,total\nX1,c1,2025-01-01,-5\n")
    ingest_files(ws, "orders", [bad])  # something in the quarantine too
    registry(ws).save(Segment(name="regulars", query="number_of_orders >= 2", title={"ko": "단골"}))
    refresh(ws, dt.date(2025, 5, 31))
    refresh(ws, AS_OF)
    ws.close()
    return path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from danggol.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_backup_and_restore_round_trip_exactly(shop, tmp_path):
    before = everything(shop)
    assert before["tables"]["segment_changes"][1] and before["tables"]["quarantine"][1]
    info = backup(shop, tmp_path / "b1")
    assert info.tables["orders"] == len(before["tables"]["orders"][1])
    restore(tmp_path / "b1", tmp_path / "copy")
    assert everything(tmp_path / "copy") == before
    assert everything(shop) == before  # the backup changed nothing


@pytest.mark.slow
def test_the_cli_round_trip_and_replace(shop, tmp_path):
    before = everything(shop)
    made = _cli("-w", str(shop), "backup", str(tmp_path / "b2"), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["tables"]["customers"] == 250
    # replace a changed copy with the backup
    copy = tmp_path / "copy"
    assert _cli("-w", str(copy), "restore", str(tmp_path / "b2")).returncode == 0
    with Workspace.open(copy) as ws, ws.transaction() as con:
        con.execute("DELETE FROM orders")
    refused = _cli("-w", str(copy), "restore", str(tmp_path / "b2"))
    assert refused.returncode == 2 and "--replace" in refused.stderr
    done = _cli("-w", str(copy), "restore", str(tmp_path / "b2"), "--replace")
    assert done.returncode == 0, done.stderr
    assert "checksums verified" in done.stdout
    assert everything(copy) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_damaged_backup_is_refused_before_anything_changes(shop, tmp_path):
    backup(shop, tmp_path / "b")
    store = tmp_path / "b" / "store.duckdb"
    data = bytearray(store.read_bytes())
    data[len(data) // 2] ^= 0xFF
    store.write_bytes(bytes(data))
    with pytest.raises(WorkspaceError, match="checksum"):
        restore(tmp_path / "b", tmp_path / "copy")
    assert not (tmp_path / "copy").exists()
    manifest = tmp_path / "b" / MANIFEST
    info = json.loads(manifest.read_text())
    info["files"]["../../etc/passwd"] = "0" * 64
    manifest.write_text(json.dumps(info))
    with pytest.raises(WorkspaceError, match="outside the backup"):
        restore(tmp_path / "b", tmp_path / "copy")
    with pytest.raises(WorkspaceError, match="not a danggol backup"):
        restore(tmp_path, tmp_path / "copy")


def test_restore_replaces_only_a_workspace_and_readers_keep_their_store(shop, tmp_path):
    backup(shop, tmp_path / "b")
    other = tmp_path / "documents"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    with pytest.raises(WorkspaceError, match="not a danggol workspace"):
        restore(tmp_path / "b", other, replace=True)
    assert (other / "thesis.txt").read_text() == "keep me"
    restore(tmp_path / "b", tmp_path / "live")
    with Workspace.open(tmp_path / "live") as ws:
        orders = ws.count("orders")  # this process reads the store meanwhile
        proc = _cli("-w", str(tmp_path / "live"), "restore", str(tmp_path / "b"), "--replace")
        assert ws.count("orders") == orders  # a reader keeps the store it attached
    assert proc.returncode == 0, proc.stderr
    assert everything(tmp_path / "live") == everything(shop)
    with pytest.raises(WorkspaceError, match="already exists"):
        backup(shop, tmp_path / "b")


def test_a_backup_of_a_store_in_use_is_taken(shop, tmp_path):
    """Readers (and writers) do not stop a backup: it copies the published store, one
    complete state (issue 16: readers and the CLI share a workspace)."""
    restore(backup(shop, tmp_path / "b").path, tmp_path / "live")
    with Workspace.open(tmp_path / "live") as ws:
        ws.ibis  # noqa: B018 — this process reads the store
        proc = _cli("-w", str(tmp_path / "live"), "backup", str(tmp_path / "b2"))
    assert proc.returncode == 0, proc.stderr
    restore(tmp_path / "b2", tmp_path / "again")
    assert everything(tmp_path / "again") == everything(shop)


def test_restore_replace_touches_only_danggols_files_and_keeps_the_folder_mode(shop, tmp_path):
    """Issue 14 item 2: an inbox, exports and notes survive; the folder keeps its mode."""
    backup(shop, tmp_path / "b")
    live = tmp_path / "live"
    restore(tmp_path / "b", live)
    (live / "inbox").mkdir()
    (live / "inbox" / "orders-2025-07-01.csv").write_text("order_id\nX\n")
    (live / "exports").mkdir()
    (live / "exports" / "vip.csv").write_text("customer_id\nc1\n")
    (live / "notes.md").write_text("메모: 7월 캠페인")
    os.chmod(live, 0o755)
    (live / "segments" / "extra.yaml").write_text("name: extra\nquery: number_of_orders >= 9\n")
    proc = _cli("-w", str(live), "restore", str(tmp_path / "b"), "--replace")
    assert proc.returncode == 0, proc.stderr
    assert (live / "inbox" / "orders-2025-07-01.csv").read_text() == "order_id\nX\n"
    assert (live / "exports" / "vip.csv").read_text() == "customer_id\nc1\n"
    assert (live / "notes.md").read_text() == "메모: 7월 캠페인"
    assert live.stat().st_mode & 0o777 == 0o755
    assert everything(live) == everything(shop)  # the segments are the backup's again
    assert sorted(p.name for p in live.iterdir()) == sorted(
        [
            ".danggol-writer.lock",
            "danggol.toml",
            "exports",
            "inbox",
            "notes.md",
            "segments",
            "store.duckdb",
        ]
    )


def test_a_corrupt_store_is_called_corrupt_and_restore_replaces_it(shop, tmp_path):
    """Issue 14 item 19: a checksum error is "corrupt" (with what to do), not "in use"."""
    backup(shop, tmp_path / "b")
    live = tmp_path / "live"
    restore(tmp_path / "b", live)
    store = live / "store.duckdb"
    data = bytearray(store.read_bytes())
    for offset in range(1 << 14, len(data), 1 << 16):  # damage every block after the headers
        data[offset] ^= 0xFF
    store.write_bytes(bytes(data))
    proc = _cli("-w", str(live), "segment", "count", "number_of_orders >= 1")
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr)
    assert proc.returncode == 2, proc.stdout
    assert "corrupt" in text and "in use" not in text and "Traceback" not in text
    assert "doctor" in text and "restore" in text
    doctor = _cli("-w", str(live), "doctor")
    assert doctor.returncode == 1 and "corrupt" in doctor.stdout
    proc = _cli("-w", str(live), "restore", str(tmp_path / "b"), "--replace")
    assert proc.returncode == 0, proc.stderr
    assert everything(live) == everything(shop)
