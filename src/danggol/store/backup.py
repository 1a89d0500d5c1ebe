"""Backup and restore of a workspace: the store, ``danggol.toml`` and the saved segments.

``backup(ws_path, dest)`` copies the published store file (it is never written in place —
see :mod:`danggol.store.workspace` — so the copy is one complete state, whatever writers do
meanwhile; the copy is read from one open file), the settings and ``segments/`` into
``dest`` with a manifest: the danggol version, the row count of every table (counted on the
copy) and the SHA-256 of every file.

``restore(backup_dir, ws_path)`` checks the manifest before it touches anything. Into a new
folder, it copies the files into a staging folder beside the target, checks the row counts
of the restored store, then moves the folder into place. With ``replace=True`` it replaces
only danggol's own files in the workspace — ``store.duckdb`` (and a write-ahead log beside
it), ``danggol.toml`` and ``segments/`` — as the workspace's writer (a running load or refresh
is waited for; readers keep the store they had), each staged in full beside its target first
and then renamed over it; every other file and folder (an inbox, exports, notes) and the
folder's own mode are left as they were. A store that cannot be opened (corrupt, or left
with an unfinished write) can be replaced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from danggol import __version__
from danggol.config import CONFIG_FILE, STORE_FILE
from danggol.errors import WorkspaceError
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

MANIFEST = "danggol-backup.json"
SEGMENTS = "segments"


@dataclass
class BackupInfo:
    path: str
    created_at: str
    version: str
    tables: dict[str, int]
    files: dict[str, str]  # relative path → sha256

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table_counts(store: Path) -> dict[str, int]:
    """The row count of every table of a store file (opened read-only)."""
    try:
        con = duckdb.connect(str(store), read_only=True)
    except duckdb.Error as exc:
        raise open_error(store, exc) from exc
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_catalog = current_database() ORDER BY 1"
            ).fetchall()
        ]
        return {n: int(one_row(con.execute(f'SELECT count(*) FROM "{n}"'))[0]) for n in names}
    except duckdb.Error as exc:
        raise open_error(store, exc) from exc
    finally:
        con.close()


def _files(root: Path) -> list[Path]:
    found = [root / CONFIG_FILE, root / STORE_FILE]
    segments = root / SEGMENTS
    if segments.is_dir():
        found += sorted(p for p in segments.iterdir() if p.is_file() and not p.name.startswith("."))
    return found


def backup(workspace: str | os.PathLike[str], dest: str | os.PathLike[str]) -> BackupInfo:
    """Copy the workspace into the new folder ``dest`` (it must not exist yet)."""
    target = Path(dest)
    if target.exists():
        raise WorkspaceError(f"{target} already exists: give a new folder for the backup")
    ws = Workspace.open(workspace)
    ws.require_store("'danggol backup'")
    ws.check_unfinished()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=_parent(target)))
    try:
        files = {}
        for src in _files(ws.path):
            rel = src.relative_to(ws.path)
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            # one open file: a writer publishing meanwhile replaces the name, not this file
            with src.open("rb") as fin, (tmp / rel).open("wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            shutil.copystat(src, tmp / rel)
            files[rel.as_posix()] = _sha256(tmp / rel)
        tables = _table_counts(tmp / STORE_FILE)
        info = BackupInfo(
            str(target),
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            __version__,
            tables,
            files,
        )
        (tmp / MANIFEST).write_text(json.dumps(info.to_dict(), indent=2), encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WorkspaceError(f"cannot write the backup {target}: {exc}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def read_manifest(source: Path) -> BackupInfo:
    manifest = source / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        info = BackupInfo(**data)
    except FileNotFoundError as exc:
        raise WorkspaceError(
            f"{source} is not a danggol backup (no {MANIFEST}); make one with 'danggol backup'"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise WorkspaceError(f"{manifest} is damaged: {exc}") from exc
    for rel in info.files:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise WorkspaceError(f"{manifest} names a file outside the backup: {rel!r}")
    for rel, digest in info.files.items():
        path = source / rel
        if not path.is_file():
            raise WorkspaceError(f"the backup {source} lacks {rel}: it is incomplete")
        if _sha256(path) != digest:
            raise WorkspaceError(
                f"{path} does not match its checksum in {MANIFEST}: the backup is damaged"
            )
    return info


def restore(
    source: str | os.PathLike[str], workspace: str | os.PathLike[str], *, replace: bool = False
) -> BackupInfo:
    """Restore the backup ``source`` as the workspace folder ``workspace``."""
    src, target = Path(source), Path(workspace)
    info = read_manifest(src)
    if target.exists() and any(target.iterdir()):
        if not replace:
            raise WorkspaceError(
                f"{target} is not empty: restore into a new folder, or pass --replace to "
                "replace that workspace with the backup"
            )
        if not (target / CONFIG_FILE).is_file():
            raise WorkspaceError(
                f"{target} is not a danggol workspace (no {CONFIG_FILE}): --replace replaces "
                "only a workspace; restore into a new folder"
            )
        _replace_in_place(src, target, info)
        return info
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o777 & ~_umask()
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore.", dir=_parent(target)))
    try:
        for rel in info.files:
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, staged / rel)
        _check_counts(staged / STORE_FILE, info)
        os.chmod(staged, mode)
        os.replace(staged, target)  # onto a missing or empty folder
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise WorkspaceError(f"cannot restore into {target}: {exc}") from exc
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return info


def _check_counts(store: Path, info: BackupInfo) -> None:
    counts = _table_counts(store)
    if counts != info.tables:
        raise WorkspaceError(
            f"the restored store does not have the tables and rows the backup recorded "
            f"({counts} ≠ {info.tables}): the backup is damaged"
        )


def _replace_in_place(src: Path, target: Path, info: BackupInfo) -> None:
    """Replace the store, the settings and the saved segments of the workspace ``target``,
    nothing else, as its writer."""
    store = target / STORE_FILE
    with writer_lock(store), workspace_lock(target, "danggol restore"):
        sweep(target)
        stage = Path(tempfile.mkdtemp(prefix=f"{WRITING_PREFIX}restore-", dir=target))
        old_segments = target / f"{WRITING_PREFIX}old-{SEGMENTS}"
        try:
            for rel in info.files:
                (stage / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src / rel, stage / rel)
            _check_counts(stage / STORE_FILE, info)
            for rel in (STORE_FILE, CONFIG_FILE):  # keep the workspace's own file modes
                if (target / rel).exists():
                    shutil.copymode(target / rel, stage / rel)
                fsync_path(stage / rel)
            # the settings, then the segments folder, then the store (its log first: an old
            # log must never be replayed against the restored file)
            os.replace(stage / CONFIG_FILE, target / CONFIG_FILE)
            if (target / SEGMENTS).exists():
                os.replace(target / SEGMENTS, old_segments)
            if (stage / SEGMENTS).is_dir():
                os.replace(stage / SEGMENTS, target / SEGMENTS)
            with suppress(FileNotFoundError):
                wal_path(store).unlink()
            os.replace(stage / STORE_FILE, store)
            fsync_path(target)
        except OSError as exc:
            raise WorkspaceError(f"cannot restore into {target}: {exc}") from exc
        finally:
            shutil.rmtree(stage, ignore_errors=True)
            shutil.rmtree(old_segments, ignore_errors=True)
            sweep(target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _parent(path: Path) -> Path:
    parent = path.resolve().parent
    if not parent.is_dir():
        raise WorkspaceError(f"the folder {parent} does not exist: create it first")
    return parent
