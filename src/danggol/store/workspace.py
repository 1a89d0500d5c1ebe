"""The workspace: a folder with ``danggol.toml`` and the embedded DuckDB store.

The library talks to the store through an Ibis connection (``Workspace.ibis``), so the
queries it builds stay portable; loading (``ingest``) and snapshots use the DuckDB
connection underneath (``Workspace.duck``), where transactions live.

Many readers, one writer, across processes (docs/internals.md, "Sharing a workspace"):

* ``store.duckdb`` is *published* and never written in place. A reader attaches it
  read-only (its own in-memory DuckDB with the file attached ``READ_ONLY``), so any number of
  processes read at once, and each sees the file as it was when it attached it.
* A writer (``Workspace.writer()``, entered by every ``Workspace.transaction()``) takes the
  workspace's write lock (``.danggol-writer.lock``, ``flock``; a second writer waits, bounded,
  saying so on stderr), copies the published store to a private file, does its work there,
  commits and checkpoints it (so it has no write-ahead log), fsyncs it and renames it over
  ``store.duckdb`` (``os.replace``, then the folder is fsynced). A writer killed at any
  instant leaves the published store as it was — its private copy is swept by the next writer
  — so no state depends on DuckDB replaying a write-ahead log (which, in DuckDB 1.5, can replay
  a transaction killed inside its commit half-way: bench/repro_wal_torn.py).
* A long-lived reader (the web server) calls :meth:`Workspace.follow` to move to the newest
  published store.

With ``backend`` set to another engine (``danggol init DIR --backend pyspark://local[2]``,
see :mod:`danggol.store.backends`), ``Workspace.ibis`` connects to that engine and reads the
canonical tables there; such a workspace has no embedded store, and what needs one (loading,
refresh and its history) refuses with :class:`~danggol.errors.BackendError`.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
from pydantic import ValidationError

from danggol.config import CONFIG_FILE, STORE_FILE, WorkspaceConfig, read_config
from danggol.errors import (
    BackendError,
    ConfigError,
    StoreBusyError,
    StoreCorruptError,
    WorkspaceError,
)
from danggol.store import tables
from danggol.store.backends import Backend, backend_for, connect, redact
from danggol.store.paths import ENV_VAR, resolve_path

#: the workspace's write lock (flock): one writer at a time across processes
LOCK_FILE = ".danggol-writer.lock"
#: a writer's private copy of the store, renamed over the store when it is complete
WRITING_PREFIX = ".store-writing-"
#: how long a writer waits for another one (seconds); DANGGOL_WRITER_WAIT overrides it
WRITER_WAIT = 1800.0
WAIT_ENV = "DANGGOL_WRITER_WAIT"
#: the name a reader gives the attached store
ATTACHED = "store"
_COPIES = itertools.count(1)


def wal_path(store: Path) -> Path:
    return store.with_name(store.name + ".wal")


def generation(store: Path) -> tuple[int, int, int] | None:
    """What identifies one published store file (a new one is a new inode)."""
    try:
        st = store.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT on a DuckDB connection; ROLLBACK on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        # after a failed write (disk full) DuckDB may have ended the transaction itself;
        # the error to report is the one that stopped the work, not the ROLLBACK's
        with suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


#: what DuckDB says when a write reaches a full disk, a read-only file system or a size limit
_WRITE_FAILED = re.compile(
    r"could not write|no space left|read-only file system|file too large|disk quota|"
    r"permission denied",
    re.IGNORECASE,
)


@contextmanager
def writing(store: Path) -> Iterator[None]:
    """Turn a store that cannot be written (disk full, read-only, file too large) into a
    WorkspaceError that says so; the transaction it interrupted is rolled back."""
    try:
        yield
    except duckdb.Error as exc:
        if not isinstance(exc, duckdb.IOException | duckdb.FatalException) and not (
            _WRITE_FAILED.search(str(exc))
        ):
            raise
        detail = str(exc).split("\n", 1)[0]
        raise WorkspaceError(
            f"cannot write the store {store}: {detail}. The command changed nothing; free "
            "disk space or make the workspace folder writable, then run it again."
        ) from exc


_WRITERS: dict[Path, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def writer_lock(store: Path) -> threading.RLock:
    """The lock that serialises writers on one store within this process (across processes,
    :func:`workspace_lock` does)."""
    key = store.resolve()
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


def _wait_limit() -> float:
    try:
        return float(os.environ.get(WAIT_ENV, WRITER_WAIT))
    except ValueError:
        raise ConfigError(
            f"${WAIT_ENV} takes a number of seconds; got {os.environ[WAIT_ENV]!r}"
        ) from None


@contextmanager
def workspace_lock(folder: Path, what: str = "") -> Iterator[None]:
    """Hold the workspace's write lock. Another process holding it is waited for (up to
    ``$DANGGOL_WRITER_WAIT`` seconds, default 30 minutes), with one line on stderr saying who
    and how long; then StoreBusyError."""
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WorkspaceError(f"cannot create the write lock {path}: {exc}") from exc
    try:
        limit = _wait_limit()
        started = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise WorkspaceError(f"cannot lock {path}: {exc}") from exc
            waited = time.monotonic() - started
            holder = _holder(fd)
            if waited >= limit:
                raise StoreBusyError(
                    f"another danggol process ({holder}) is still writing to {folder} after "
                    f"{waited:.0f} s of waiting; let it finish and run this again (raise the "
                    f"wait with ${WAIT_ENV}=SECONDS)"
                )
            if not told:
                print(
                    f"danggol: another process ({holder}) is writing to this workspace; "
                    f"waiting for it to finish (up to {limit:.0f} s) …",
                    file=sys.stderr,
                    flush=True,
                )
                told = True
            time.sleep(0.1)
        with suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {what or ' '.join(sys.argv)[:200]}\n".encode(), 0)
        try:
            yield
        finally:
            with suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    with suppress(OSError):
        text = os.pread(fd, 300, 0).decode("utf-8", "replace").strip()
        if text:
            return text
    return "unknown"


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_store(src: Path, dst: Path) -> None:
    """Copy a store file with ``copy_file_range``: in the kernel, and a reflink (no data copied
    until either file changes) on file systems that share blocks (XFS, Btrfs); a plain copy
    where it is not supported."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        left = os.fstat(fin.fileno()).st_size
        try:
            while left > 0:
                done = os.copy_file_range(fin.fileno(), fout.fileno(), min(left, 1 << 30))
                if done == 0:
                    break
                left -= done
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            fin.seek(0)
            fout.seek(0)
            fout.truncate()
            shutil.copyfileobj(fin, fout, 1 << 24)


def sweep(folder: Path) -> list[Path]:
    """Remove the private copies that killed writers left (call holding the write lock)."""
    removed = []
    for leftover in folder.glob(WRITING_PREFIX + "*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with suppress(FileNotFoundError):
                leftover.unlink()
        removed.append(leftover)
    return removed


_LOCKED = re.compile(r"could not set lock|conflicting lock", re.IGNORECASE)
_CORRUPT = re.compile(
    r"checksum|corrupt|not a valid duckdb database|invalid database|replaying wal|"
    r"database file .* (?:is|was) (?:truncated|too small)|failed to read database header",
    re.IGNORECASE,
)


def open_error(store: Path, exc: duckdb.Error) -> Exception:
    """The danggol error for a store DuckDB could not open."""
    text = str(exc)
    first = text.split("\n", 1)[0]
    if _LOCKED.search(text):
        return StoreBusyError(
            f"the store {store} is held for writing by another program (an older danggol, or "
            "a DuckDB session opened on the file); close it and try again"
        )
    if _CORRUPT.search(text):
        return StoreCorruptError(
            f"the store {store} is corrupt ({first}). 'danggol doctor' says what can be "
            "recovered; 'danggol restore BACKUP --replace' replaces it with a backup"
        )
    return WorkspaceError(f"cannot open the store {store}: {first}")


class Workspace:
    """An initialised workspace folder.

    >>> import tempfile
    >>> ws = Workspace.init(tempfile.mkdtemp(), timezone="Asia/Seoul", currency="KRW")
    >>> ws.config.timezone
    'Asia/Seoul'
    """

    def __init__(self, path: Path, config: WorkspaceConfig) -> None:
        self.path = path
        self.config = config

    # -- creation and opening -------------------------------------------------------------
    @classmethod
    def init(
        cls,
        path: str | os.PathLike[str],
        *,
        timezone: str = "Asia/Seoul",
        currency: str = "KRW",
        shop_name: str = "",
        backend: str = "duckdb",
        as_of: str = "",
    ) -> Workspace:
        """Create (or re-open, keeping its settings) a workspace folder with an empty store
        (none when ``backend`` is another engine: the data is read there). ``as_of`` fixes
        the default as-of day of a shop whose history has ended ('' = today)."""
        folder = Path(path)
        config_file = folder / CONFIG_FILE
        if config_file.exists():
            config = read_config(config_file)
        else:
            try:
                config = WorkspaceConfig(
                    timezone=timezone,
                    currency=currency,
                    shop_name=shop_name,
                    backend=backend,
                    as_of=as_of,
                )
            except ValidationError as exc:
                raise ConfigError(
                    "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
                ) from None
            try:
                folder.mkdir(parents=True, exist_ok=True)
                config_file.write_text(config.to_toml(), encoding="utf-8")
            except OSError as exc:
                raise WorkspaceError(f"cannot create the workspace at {folder}: {exc}") from exc
        ws = cls(folder, config)
        if ws.backend.embedded_store:
            ws.create_tables()
        return ws

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        folder = resolve_path(path)
        config_file = folder / CONFIG_FILE
        if not config_file.is_file():
            raise WorkspaceError(
                f"{folder.resolve()} is not a danggol workspace (no {CONFIG_FILE}). "
                f"Create one with 'danggol init {folder}' or point to one with -w DIR "
                f"or ${ENV_VAR}."
            )
        return cls(folder, read_config(config_file))

    # -- connections ------------------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return self.path / STORE_FILE

    @property
    def backend(self) -> Backend:
        """The engine the workspace reads from, with its capabilities."""
        return backend_for(self.config.backend)

    def require_store(self, action: str) -> None:
        """BackendError unless the workspace has its embedded store (``action`` is what needs
        it, e.g. "'danggol ingest'")."""
        backend = self.backend
        if not backend.embedded_store:
            raise BackendError(
                f"{action} needs the embedded DuckDB store, but this workspace reads from "
                f"{backend.title} ({redact(self.config.backend)}), a read-only source: load "
                f"the data with the engine's own tools, or run {action} in a workspace without "
                "--backend. Read commands (profile, segment count/members, rfm, lifecycle) "
                "run on the engine (docs/backends.md)"
            )

    @cached_property
    def ibis(self) -> ibis.BaseBackend:
        """The Ibis connection every query of the library is built on: the published store,
        read-only (inside :meth:`writer`, the writer's private copy)."""
        if not self.backend.embedded_store:
            return connect(self.config.backend)
        con = self._attach()
        try:
            found = tables.version(con)
        except duckdb.Error as exc:
            con.close()
            raise open_error(self.store_path, exc) from exc
        if found > tables.SCHEMA_VERSION:
            con.close()
            raise WorkspaceError(
                f"the store {self.store_path} has schema version {found}, made by a newer "
                f"danggol (this one reads up to {tables.SCHEMA_VERSION}); upgrade danggol"
            )
        if found < tables.SCHEMA_VERSION:
            con.close()
            self.migrate()
            con = self._attach()
        return ibis.duckdb.from_connection(con)

    def _settings(self, con: duckdb.DuckDBPyConnection) -> None:
        # DuckDB draws a progress bar on stdout for long queries: it would break `--json`
        con.execute("SET enable_progress_bar = false")
        if self.config.memory_limit:
            # bounded memory: DuckDB spills the rest of a large join or aggregate to disk
            con.execute(f"SET memory_limit = '{self.config.memory_limit}'")

    def _attach(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB of its own with the published store attached read-only (not
        ``duckdb.connect(path)``: DuckDB hands every connect to one path in a process the same
        database, which would keep showing a store that has since been replaced)."""
        path = self.store_path
        if not path.is_file():
            raise WorkspaceError(
                f"the store {path} is missing: restore a backup ('danggol restore BACKUP "
                f"{self.path} --replace') or create it with 'danggol init {self.path}'"
            )
        self.check_unfinished()
        for _ in range(10):
            seen = generation(path)
            con = duckdb.connect(":memory:")
            try:
                self._settings(con)
                spill = Path(tempfile.gettempdir()) / f"danggol-{os.getpid()}"
                con.execute(f"SET temp_directory = '{_quote(str(spill))}'")
                con.execute(f"ATTACH '{_quote(str(path.resolve()))}' AS {ATTACHED} (READ_ONLY)")
                con.execute(f"USE {ATTACHED}")
            except duckdb.Error as exc:
                con.close()
                raise open_error(path, exc) from exc
            if generation(path) == seen:  # not replaced while attaching
                self._generation = seen
                return con
            con.close()
        raise StoreBusyError(f"the store {path} keeps being replaced; try again")

    def check_unfinished(self) -> None:
        """StoreCorruptError when a write-ahead log lies beside the published store: a write
        of an older danggol (or another DuckDB program) was killed, and replaying it can give a
        torn store (bench/repro_wal_torn.py) — ``danggol doctor`` decides."""
        wal = wal_path(self.store_path)
        if wal.is_file() and wal.stat().st_size > 0:
            raise StoreCorruptError(
                f"the store {self.store_path} has an unfinished write ({wal.name}, "
                f"{wal.stat().st_size:,} bytes) left by a process that was stopped while "
                f"writing. Run 'danggol -w {self.path} doctor' to check it and keep the last "
                "complete state"
            )

    _generation: tuple[int, int, int] | None = None
    _writing: int = 0

    def changed(self) -> bool:
        """True when another process has published a newer store since this one attached."""
        return (
            "ibis" in self.__dict__
            and not self._writing
            and self.backend.embedded_store
            and generation(self.store_path) != self._generation
        )

    def follow(self) -> bool:
        """Move to the newest published store if there is one (a long-lived reader, e.g. the
        web server, calls this before each use): the same Ibis backend, on a new connection.
        Returns True when it moved."""
        if not self.changed():
            return False
        # the old connection is not closed: cursors taken from it (the web app's background
        # readers) finish on the store they started on; it closes with the last of them
        _swap(self.__dict__["ibis"], self._attach())
        return True

    def cursor(self) -> Workspace:
        """This workspace on a cursor of its connection: another thread can read on it at
        the same time, sharing the DuckDB instance (and its memory limit); it keeps the store
        it started on until it is closed."""
        cursor = self.duck.cursor()
        cursor.execute(f"USE {ATTACHED}")
        cursor.execute("SET enable_progress_bar = false")
        clone = Workspace(self.path, self.config)
        clone.__dict__["ibis"] = ibis.duckdb.from_connection(cursor)
        clone._generation = self._generation
        return clone

    @property
    def duck(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection under ``ibis`` (loading, transactions)."""
        self.require_store("this command")
        return self.ibis.con

    def close(self) -> None:
        if "ibis" in self.__dict__:
            if self.backend.close_disconnects:
                self.ibis.disconnect()
            del self.__dict__["ibis"]

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def writer(self, what: str = "") -> Iterator[None]:
        """Be the workspace's one writer: everything inside runs on a private copy of the
        store, which replaces the published store only when the block ends without error
        (committed, checkpointed, fsynced, renamed). Re-entrant; other threads of this process
        and other processes wait (bounded). A kill at any instant leaves the published store
        as it was."""
        self.require_store("this command")
        if self._writing:
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1
            return
        store = self.store_path
        with writer_lock(store), workspace_lock(self.path, what):
            sweep(self.path)
            private = self.path / f"{WRITING_PREFIX}{os.getpid()}-{next(_COPIES)}.duckdb"
            if store.exists():
                self.check_unfinished()
                try:
                    copy_store(store, private)
                    shutil.copymode(store, private)
                except OSError as exc:
                    sweep(self.path)
                    raise WorkspaceError(
                        f"cannot copy the store {store} to write it: {exc}. The command "
                        "changed nothing; free disk space (a write needs room for a second "
                        "copy of the store) and run it again."
                    ) from exc
            backend = self.__dict__.get("ibis")
            reader = backend.con if backend is not None else None
            try:
                con = duckdb.connect(str(private))
            except duckdb.Error as exc:
                sweep(self.path)
                raise open_error(store, exc) from exc
            self._settings(con)
            if backend is None:  # no reader yet (a new store, or a migration while opening)
                self.__dict__["ibis"] = ibis.duckdb.from_connection(con)
            else:  # the same Ibis backend on the copy: expressions built on it stay valid
                _swap(backend, con)
            self._writing = 1
            done = False
            try:
                yield
                with writing(store):
                    con.execute("CHECKPOINT")  # all of it in the file: no log to replay
                done = True
            finally:
                self._writing = 0
                try:
                    if backend is None:
                        self.__dict__.pop("ibis", None)
                    elif done or reader is None:
                        _swap(backend, None)
                    else:  # nothing published: back to the store it was reading
                        _swap(backend, reader)
                        reader = None
                    con.close()
                    if done:
                        self._publish(private)
                    if backend is not None and backend.con is None:
                        _swap(backend, self._attach())
                finally:
                    if reader is not None:
                        reader.close()
                    sweep(self.path)

    def _publish(self, private: Path) -> None:
        wal = wal_path(private)
        if wal.exists() and wal.stat().st_size > 0:  # a checkpoint that did not finish
            raise WorkspaceError(
                f"the store copy {private} was not fully written (its log remains); the "
                "command changed nothing. Run it again."
            )
        try:
            fsync_path(private)
            os.replace(private, self.store_path)
            fsync_path(self.path)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot replace the store {self.store_path}: {exc}. The command changed nothing."
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: on any exception the store is left as it was; a store that cannot
        be written (disk full, read-only) raises WorkspaceError. Runs as the workspace's writer
        (:meth:`writer`): other writers, in this process or others, wait for it; readers keep
        reading the store as it was until it is published."""
        with (
            self.writer(),
            writer_lock(self.store_path),
            writing(self.store_path),
            transaction(self.duck) as con,
        ):
            yield con

    def migrate(self) -> list[str]:
        """Bring the store to the current schema version (one transaction). Returns the tables
        created."""
        with self.transaction() as con:
            if tables.version(con) >= tables.SCHEMA_VERSION:
                return []
            return tables.migrate(con)

    def create_tables(self) -> None:
        """A new store with every table (an existing one is migrated when it is opened)."""
        if self.store_path.exists():
            self.ibis  # noqa: B018 — opening checks the version and migrates
            return
        with self.transaction() as con:
            tables.migrate(con)

    def table(self, name: str) -> ir.Table:
        return self.ibis.table(name)

    def count(self, name: str) -> int:
        return int(self.ibis.table(name).count().to_pyarrow().as_py())


def _swap(backend: ibis.BaseBackend, con: duckdb.DuckDBPyConnection | None) -> None:
    """Point an Ibis DuckDB backend at another connection (the writer's copy, or a newer
    published store): Ibis expressions built on it, and callers holding it, follow. What the
    backend registered on the old connection (in-memory tables, cached tables) is forgotten so
    that it is registered again where it is used next."""
    backend.con = con
    backend._memtables = weakref.WeakSet()
    for name in ("_cache_name_to_entry", "_cache_op_to_entry"):
        if isinstance(getattr(backend, name, None), dict):
            getattr(backend, name).clear()


def _quote(text: str) -> str:
    return text.replace("'", "''")
