"""``danggol doctor``: check a workspace's store and say — or, with ``repair``, do — what
brings it back to its last complete state.

What it looks at:

* private copies left by a killed writer (``.store-writing-*``): harmless, removed on repair
  (the next writer removes them too);
* a write-ahead log beside the store (``store.duckdb.wal``): only an older danggol, or another
  DuckDB program, leaves one — a write killed inside its commit. Replaying it can give a torn
  store (bench/repro_wal_torn.py), so the repair replays it on a copy and keeps the result only
  when every table's key is unique and every load it records is logged; otherwise it keeps
  the store as it was before that write. The log is never deleted: it is renamed
  ``store.duckdb.wal.unfinished-<time>`` beside the store;
* the store itself: it opens, every table reads, the keys of the canonical tables are unique,
  the schema version. A store that does not open (checksum error) cannot be repaired here:
  ``danggol restore BACKUP --replace`` replaces it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from danggol.config import STORE_FILE
from danggol.schema import TABLES as CANONICAL
from danggol.store import tables
from danggol.store.backends import one_row
from danggol.store.workspace import (
    WRITING_PREFIX,
    Workspace,
    fsync_path,
    open_error,
    sweep,
    wal_path,
    workspace_lock,
    writer_lock,
)


@dataclass
class Finding:
    check: str
    status: str  # ok | notice | repaired | problem
    detail: str


@dataclass
class DoctorReport:
    workspace: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(f.status != "problem" for f in self.findings)

    def add(self, check: str, status: str, detail: str) -> None:
        self.findings.append(Finding(check, status, detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "healthy": self.healthy,
            "findings": [asdict(f) for f in self.findings],
        }


def problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What makes a store's state not a complete one: duplicate keys in a canonical table, a
    load recorded without its log entry, a table that does not read."""
    found = []
    have = tables.existing(con)
    for name in sorted(have):
        try:
            one_row(con.execute(f'SELECT count(*) FROM "{name}"'))
        except duckdb.Error as exc:
            found.append(f"table {name} cannot be read: {str(exc).splitlines()[0]}")
    for name, table in CANONICAL.items():
        if name not in have:
            continue
        key = ", ".join(f'"{k}"' for k in table.key)
        dups = one_row(
            con.execute(
                f'SELECT count(*) FROM (SELECT {key} FROM "{name}" GROUP BY ALL HAVING count(*) > 1)'
            )
        )[0]
        if dups:
            found.append(f"{dups:,} {name} keys ({key}) appear more than once")
    if {"touched_batches", "ingest_log"} <= have:
        orphans = one_row(
            con.execute(
                "SELECT count(*) FROM touched_batches WHERE batch_id NOT IN "
                "(SELECT batch_id FROM ingest_log)"
            )
        )[0]
        if orphans:
            found.append(f"{orphans} load(s) changed data without an entry in ingest_log")
    return found


def _check(path: Path) -> tuple[list[str], int | None, Exception | None]:
    """(problems, schema version, the error if it does not open) of a store file."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return [], None, open_error(path, exc)
    try:
        return problems(con), tables.version(con), None
    except duckdb.Error as exc:
        return [], None, open_error(path, exc)
    finally:
        con.close()


def doctor(
    workspace: str | os.PathLike[str] | None = None, *, repair: bool = False
) -> DoctorReport:
    ws = Workspace.open(workspace)
    ws.require_store("'danggol doctor'")
    store = ws.store_path
    report = DoctorReport(str(ws.path))
    with writer_lock(store), workspace_lock(ws.path, "danggol doctor"):
        leftovers = sorted(ws.path.glob(WRITING_PREFIX + "*"))
        if leftovers:
            if repair:
                sweep(ws.path)
            report.add(
                "unfinished copies",
                "repaired" if repair else "notice",
                f"{len(leftovers)} private copies left by killed writers (the store never "
                "depended on them)"
                + (
                    ": removed"
                    if repair
                    else "; the next write or 'danggol doctor --repair' removes them"
                ),
            )
        wal = wal_path(store)
        if wal.is_file() and wal.stat().st_size > 0:
            _unfinished_write(ws, wal, repair, report)
        if not store.is_file():
            report.add("store", "problem", f"{store} is missing: restore a backup")
            return report
        found, version, error = _check(store)
        if error is not None:
            report.add("store", "problem", str(error))
            return report
        report.add(
            "schema",
            "ok" if version == tables.SCHEMA_VERSION else "problem",
            f"schema version {version} (this danggol: {tables.SCHEMA_VERSION})"
            + ("" if version == tables.SCHEMA_VERSION else "; any command migrates it"),
        )
        if found:
            report.add(
                "store",
                "problem",
                "; ".join(found)
                + ". The store is not a state danggol wrote: replace it with a backup "
                "('danggol restore BACKUP --replace')",
            )
        else:
            report.add("store", "ok", f"{store.name} opens, every table reads, keys are unique")
    return report


def _unfinished_write(ws: Workspace, wal: Path, repair: bool, report: DoctorReport) -> None:
    store = ws.store_path
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = wal.with_name(f"{wal.name}.unfinished-{stamp}")
    trial_dir = ws.path / f"{WRITING_PREFIX}doctor"
    trial_dir.mkdir(exist_ok=True)
    trial = trial_dir / STORE_FILE
    try:
        shutil.copyfile(store, trial)
        shutil.copyfile(wal, wal_path(trial))
        found, _, error = _check_replay(trial)
        if error is None and not found:
            outcome = "the write it holds replays to a complete state"
            if repair:
                fsync_path(trial)
                os.replace(wal, kept)
                os.replace(trial, store)
                fsync_path(ws.path)
                outcome += f": that state is now the store (the log is kept as {kept.name})"
        else:
            why = str(error) if error else "; ".join(found)
            outcome = (
                f"replaying it gives a torn store ({why}); the store without it is the state "
                "before that write"
            )
            if repair:
                os.replace(wal, kept)
                fsync_path(ws.path)
                outcome += f", which is now kept (the log is set aside as {kept.name})"
        report.add(
            "unfinished write",
            "repaired" if repair else "problem",
            f"{wal.name} ({wal.stat().st_size if wal.exists() else kept.stat().st_size:,} "
            f"bytes) was left by a process stopped while writing; {outcome}"
            + ("" if repair else ". 'danggol doctor --repair' does it"),
        )
    finally:
        shutil.rmtree(trial_dir, ignore_errors=True)


def _check_replay(trial: Path) -> tuple[list[str], int | None, Exception | None]:
    """Replay a log on a copy (read-write: DuckDB replays and checkpoints it), then check."""
    try:
        con = duckdb.connect(str(trial))
        con.execute("CHECKPOINT")
        con.close()
    except duckdb.Error as exc:
        return [], None, open_error(trial, exc)
    return _check(trial)
