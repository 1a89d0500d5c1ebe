"""Backup and restore of a workspace: the store, ``danggol.toml`` and the saved segments.

``backup(ws_path, dest)`` opens the store (which takes DuckDB's write lock, so no other
process changes it meanwhile), checkpoints it (the write-ahead log is folded into the file),
and copies the store file, the settings and ``segments/`` into ``dest`` with a manifest:
the danggol version, the row count of every table and the SHA-256 of every file.
``restore(backup_dir, ws_path)`` checks the manifest before it touches anything, copies the
files into a new folder beside the target, checks the row counts of the restored store, then
moves it into place — so the target is the old workspace or the backup, never a mix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from danggol import __version__
from danggol.config import CONFIG_FILE, STORE_FILE
from danggol.errors import WorkspaceError
from danggol.store.workspace import Workspace

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


def _table_counts(ws: Workspace) -> dict[str, int]:
    names = [
        r[0]
        for r in ws.duck.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY 1"
        ).fetchall()
    ]
    return {name: ws.count(name) for name in names}


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
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=_parent(target)))
    try:
        with ws:
            ws.duck.execute("CHECKPOINT")  # everything committed is now in the store file
            tables = _table_counts(ws)
            # copied while the connection holds the store's lock: no one writes meanwhile
            files = {}
            for src in _files(ws.path):
                rel = src.relative_to(ws.path)
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, tmp / rel)
                files[rel.as_posix()] = _sha256(tmp / rel)
        info = BackupInfo(
            str(target),
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            __version__,
            tables,
            files,
        )
        (tmp / MANIFEST).write_text(json.dumps(info.to_dict(), indent=2), encoding="utf-8")
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
        probe = Workspace.open(target)
        try:
            probe.ibis  # noqa: B018 — StoreBusyError while another process uses the store
        finally:
            probe.close()
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore.", dir=_parent(target)))
    try:
        for rel in info.files:
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, staged / rel)
        with Workspace.open(staged) as ws:
            counts = _table_counts(ws)
        if counts != info.tables:
            raise WorkspaceError(
                f"the restored store does not have the tables and rows the backup recorded "
                f"({counts} ≠ {info.tables}): the backup is damaged"
            )
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(staged, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise WorkspaceError(f"cannot restore into {target}: {exc}") from exc
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return info


def _parent(path: Path) -> Path:
    parent = path.resolve().parent
    if not parent.is_dir():
        raise WorkspaceError(f"the folder {parent} does not exist: create it first")
    return parent
