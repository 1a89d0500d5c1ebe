"""One scheduled run: load the new files of an inbox, refresh, then exports and webhooks.

The inbox is a folder with one sub-folder per table (``customers/``, ``orders/``,
``order_items/``, ``events/``); each run loads the files it has not loaded before — a file is
known by its path, size and modification time, recorded in ``schedule_files`` after its load
commits (a crash in between only loads it again, which is an upsert: nothing doubles). Then
``refresh`` runs in its one transaction: when it fails, the last good snapshot (profile,
members, sizes) stays as it was, the run stops before any export or webhook, and
``schedule_runs`` records why. Cron or a systemd timer gives the cadence (docs/activation.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from danggol import pipeline
from danggol.activation import exports, webhooks
from danggol.errors import ConfigError, DanggolError
from danggol.ingest.load import ingest_files
from danggol.ingest.readers import EXCEL_SUFFIXES
from danggol.serial import ToDict
from danggol.store import tables as store_tables
from danggol.store.workspace import Workspace

#: the schedule's tables (declared with every store table in danggol.store.tables)
TABLES = {name: store_tables.columns(name) for name in store_tables.SCHEDULE}
#: the order tables are loaded in (an order line needs its order)
LOAD_ORDER = ("customers", "orders", "order_items", "products", "events")
#: the files an inbox loads: what ``danggol ingest`` reads, Excel downloads included
SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".jsonl", ".ndjson", ".json", *EXCEL_SUFFIXES)
#: names that are never data: Excel's owner file of an open workbook (``~$name.xlsx``),
#: LibreOffice's lock (``.~lock.name#``) and other hidden files
SKIPPED_PREFIXES = ("~$", ".")


@dataclass(frozen=True)
class ExportJob:
    """``SEGMENT:FORMAT:PATH``; ``{date}`` in the path becomes the as-of date."""

    segment: str
    format: str
    path: str

    @classmethod
    def parse(cls, text: str) -> ExportJob:
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ConfigError(
                f"an export job is SEGMENT:FORMAT:PATH (e.g. vip:sms:out/vip-{{date}}.csv); "
                f"got {text!r}"
            )
        return cls(parts[0].strip(), parts[1].strip(), parts[2].strip())


@dataclass
class RunResult(ToDict):
    run_id: int
    as_of: dt.date
    status: str = "running"
    files: list[str] = field(default_factory=list)
    refresh: dict[str, Any] | None = None  # RefreshResult.to_dict()
    exports: list[dict[str, object]] = field(default_factory=list)
    webhooks: dict[str, object] | None = None
    error: str | None = None


def ensure_tables(ws: Workspace) -> None:
    store_tables.ensure(ws.duck, store_tables.SCHEDULE)


def new_files(ws: Workspace, inbox: Path) -> list[tuple[str, Path]]:
    """(table, file) of the inbox files not loaded yet, in load order then by name."""
    if not inbox.is_dir():
        raise ConfigError(
            f"the inbox {inbox} is not a folder; make it with sub-folders "
            f"{', '.join(LOAD_ORDER)} for the files to load"
        )
    ensure_tables(ws)
    known = {
        (p, s, m)
        for p, s, m in ws.duck.execute("SELECT path, size, mtime FROM schedule_files").fetchall()
    }
    found = []
    for table in LOAD_ORDER:
        folder = inbox / table
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in SUFFIXES or not path.is_file():
                continue
            if path.name.startswith(SKIPPED_PREFIXES):
                continue
            st = path.stat()
            if (str(path.resolve()), st.st_size, st.st_mtime) not in known:
                found.append((table, path))
    return found


def run(
    ws: Workspace,
    as_of: dt.date,
    *,
    inbox: Path | None = None,
    preset: str | None = None,
    jobs: list[ExportJob] | None = None,
    send_webhooks: bool = True,
    webhook_options: webhooks.SendOptions | None = None,
    overwrite: bool = False,
) -> RunResult:
    """ingest → refresh → exports → webhooks. A failure stops the run and is recorded.
    An export job does not replace an existing file (a second run for the same day) unless
    ``overwrite``.

    The whole run is one write of the workspace (``Workspace.writer``): its loads, refresh
    and records are published together when it ends — readers (the dashboard) see the store
    before the run or after it — and the store is copied once, not once per step. A run
    killed before it ends leaves the store as it was; the next run loads the same files."""
    unexpected: list[BaseException] = []
    with ws.writer("danggol schedule run"):
        result = _run(
            ws, as_of, inbox, preset, jobs, send_webhooks, webhook_options, overwrite, unexpected
        )
    if unexpected:  # recorded (and published) first: an unexpected failure is a bug to see
        raise unexpected[0]
    return result


def _run(
    ws: Workspace,
    as_of: dt.date,
    inbox: Path | None,
    preset: str | None,
    jobs: list[ExportJob] | None,
    send_webhooks: bool,
    webhook_options: webhooks.SendOptions | None,
    overwrite: bool,
    unexpected: list[BaseException],
) -> RunResult:
    ensure_tables(ws)
    run_id = int(
        ws.duck.execute("SELECT COALESCE(max(run_id), 0) + 1 FROM schedule_runs").fetchall()[0][0]
    )
    result = RunResult(run_id, as_of)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        for table, path in new_files(ws, inbox) if inbox is not None else []:
            ingest_files(ws, table, [path], preset=preset if table == "orders" else None)
            st = path.stat()
            with ws.transaction() as con:
                con.execute(
                    "INSERT INTO schedule_files VALUES (?, ?, ?, ?, current_timestamp)",
                    [str(path.resolve()), st.st_size, st.st_mtime, table],
                )
            result.files.append(str(path))
        refreshed = pipeline.refresh(ws, as_of)
        result.refresh = refreshed.to_dict()
        for job in jobs or []:
            out = job.path.replace("{date}", as_of.isoformat())
            done = exports.export_segment(
                ws, job.segment, job.format, out, as_of=as_of, overwrite=overwrite
            )
            result.exports.append(done.to_dict())
        if send_webhooks:
            queued = webhooks.enqueue(ws)
            sent = webhooks.send(ws, wait=False, **(webhook_options or {}))
            result.webhooks = {"enqueued": queued, **sent.to_dict()}
        result.status = "ok"
    except DanggolError as exc:
        result.status, result.error = "failed", str(exc)
    except Exception as exc:  # recorded, then raised: an unexpected failure is a bug to see
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        unexpected.append(exc)
    _record(ws, result, started)
    return result


def _record(ws: Workspace, result: RunResult, started: dt.datetime) -> None:
    refresh_id = result.refresh["refresh_id"] if result.refresh else None
    with ws.transaction() as con:
        con.execute(
            "INSERT INTO schedule_runs VALUES (?, ?, current_timestamp, ?, ?, ?, ?, ?)",
            [
                result.run_id,
                started,
                result.as_of,
                result.status,
                len(result.files),
                refresh_id,
                result.error,
            ],
        )


def runs(ws: Workspace, limit: int = 20) -> list[dict[str, object]]:
    """The latest runs, newest first."""
    ensure_tables(ws)
    rows = ws.duck.execute(
        "SELECT run_id, started_at, finished_at, as_of, status, files, refresh_id, error "
        "FROM schedule_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    keys = (
        "run_id",
        "started_at",
        "finished_at",
        "as_of",
        "status",
        "files",
        "refresh_id",
        "error",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]
