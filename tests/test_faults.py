"""Faults of the machine: a full disk, a store that cannot be written, a huge value.

A full disk is real here: the command runs in a subprocess whose file-size limit
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored) makes the store's writes fail with ``EFBIG``
part-way through, as ``ENOSPC`` would. A read-only workspace cannot be made real for root
(these tests run as root in CI), so the store connection is wrapped to fail the way DuckDB
fails on a read-only file system. Either way the command must end with one clear error line
(a :class:`WorkspaceError`, exit code 2) and the store must be as before.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from danggol.errors import WorkspaceError
from danggol.ingest.load import ingest_files
from danggol.pipeline import refresh
from danggol.store import workspace as wsmod
from danggol.store.workspace import Workspace

SRC = Path(__file__).parent.parent / "src"


def _cli(*args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-c", "from danggol.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "200"},
        preexec_fn=limit if fsize else None,
    )


def _state(path: Path) -> dict[str, list[tuple]]:
    with Workspace.open(path) as ws:
        return {
            t: sorted(map(repr, ws.duck.execute(f'SELECT * FROM "{t}"').fetchall()))
            for t in ("customers", "orders", "order_items", "events", "quarantine", "ingest_log")
        }


def _orders_csv(path: Path, n: int, prefix: str = "O", customers: int = 997) -> Path:
    rows = [
        f"{prefix}{i},C{i % customers},2024-01-{1 + i % 28:02d} 10:00,{1000 + i}" for i in range(n)
    ]
    path.write_text("order_id,customer_id,ordered_at,total\n" + "\n".join(rows) + "\n")
    return path


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_full_disk_during_a_load_is_a_clear_error_and_changes_nothing(tmp_path):
    shop = tmp_path / "shop"
    ws = Workspace.init(shop)
    ingest_files(ws, "orders", [_orders_csv(tmp_path / "first.csv", 50, "F")])
    ws.close()
    before = _state(shop)
    size = (shop / "store.duckdb").stat().st_size
    big = _orders_csv(tmp_path / "big.csv", 20_000)

    line = _one_error_line(_cli("-w", str(shop), "ingest", "orders", str(big), fsize=size + 4_096))
    assert line.startswith("error: cannot write the store")
    assert "free disk space" in line and "changed nothing" in line
    assert _state(shop) == before

    done = _cli("-w", str(shop), "ingest", "orders", str(big), "--json")  # space again
    assert done.returncode == 0, done.stderr
    with Workspace.open(shop) as again:
        assert again.count("orders") == 50 + 20_000


@pytest.mark.slow
def test_a_full_disk_during_a_refresh_is_a_clear_error(tmp_path):
    shop = tmp_path / "shop"
    ws = Workspace.init(shop)
    ingest_files(ws, "orders", [_orders_csv(tmp_path / "orders.csv", 20_000, customers=20_000)])
    ws.close()
    before = _state(shop)
    size = (shop / "store.duckdb").stat().st_size
    line = _one_error_line(
        _cli("-w", str(shop), "refresh", "--as-of", "2024-02-01", fsize=size + 5_000)
    )
    assert line.startswith("error: cannot write the store")
    assert _state(shop) == before
    with Workspace.open(shop) as again:
        refresh(again, dt.date(2024, 2, 1))  # and with room it runs
        assert again.count("profile_snapshot") == 20_000


class _ReadOnly:
    """A DuckDB connection on a read-only file system: reads work, the first write fails."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)

    def execute(self, sql: str, *args: object) -> object:
        if re.match(r"\s*(INSERT|CREATE OR REPLACE TABLE|DELETE|UPDATE)", sql):
            raise duckdb.IOException(
                'IO Error: Could not write file "store.duckdb.wal": Read-only file system'
            )
        return self._con.execute(sql, *args)

    def executemany(self, sql: str, *args: object) -> object:
        return self.execute(sql, *args)


def test_a_read_only_workspace_is_a_clear_error(ws, tmp_path, monkeypatch):
    first = ingest_files(ws, "orders", [_orders_csv(tmp_path / "a.csv", 20)])
    assert first.loaded == 20
    ws.close()
    before = _state(ws.path)
    monkeypatch.setattr(wsmod.Workspace, "duck", property(lambda self: _ReadOnly(self.ibis.con)))
    again = Workspace.open(ws.path)
    with pytest.raises(WorkspaceError, match="Read-only file system") as info:
        ingest_files(again, "orders", [_orders_csv(tmp_path / "b.csv", 30, "B")])
    assert "make the workspace folder writable" in str(info.value)
    with pytest.raises(WorkspaceError, match="cannot write the store"):
        refresh(again, dt.date(2024, 2, 1))
    again.close()
    monkeypatch.undo()
    assert _state(ws.path) == before


def test_a_workspace_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WorkspaceError, match="cannot create the workspace"):
        Workspace.init(blocker / "shop")


# -- found by the fuzz tests ------------------------------------------------------------------
def test_a_value_over_128_kib_is_loaded_not_a_whole_file_error(ws, tmp_path):
    """The csv module's field limit (128 KiB) refused the whole file; now the row is read and
    checked like any other (found and fixed, docs/reliability.md)."""
    path = tmp_path / "orders.csv"
    huge = "x\n" * 100_000  # a quoted value with line breaks: the exact reader's path
    path.write_text(
        "order_id,customer_id,ordered_at,total\n"
        f'A,C1,2024-01-01,1\nB,"{huge}",2024-01-01,oops\nC,C2,2024-01-02,3\n'
        f"D,{'y' * 300_000},2024-01-03,4\n"
    )
    result = ingest_files(ws, "orders", [path])
    assert (result.read, result.loaded, result.quarantined) == (4, 3, 1)
    line, reason = ws.duck.execute("SELECT source_line, reason FROM quarantine").fetchall()[0]
    assert line == 3 and "cannot read total 'oops'" in reason
    stored = ws.duck.execute("SELECT length(customer_id) FROM orders WHERE order_id = 'D'")
    assert stored.fetchall() == [(300_000,)]
