"""The workspace: a folder with ``danggol.toml`` and the embedded DuckDB store.

The library talks to the store through an Ibis connection (``Workspace.ibis``), so the
queries it builds stay portable; loading (``ingest``) and snapshots use the DuckDB
connection underneath (``Workspace.duck``), where transactions live.

With ``backend`` set to another engine (``danggol init DIR --backend pyspark://local[2]``,
see :mod:`danggol.store.backends`), ``Workspace.ibis`` connects to that engine and reads the
canonical tables there; such a workspace has no embedded store, and what needs one (loading,
refresh and its history) refuses with :class:`~danggol.errors.BackendError`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path

import duckdb
import ibis
from pydantic import ValidationError

from danggol.config import CONFIG_FILE, STORE_FILE, WorkspaceConfig, read_config
from danggol.errors import BackendError, ConfigError, StoreBusyError, WorkspaceError
from danggol.schema import TABLES
from danggol.store.backends import Backend, backend_for, connect, redact

ENV_VAR = "DANGGOL_WORKSPACE"

#: bookkeeping tables beside the canonical ones
SYSTEM_TABLES: dict[str, list[tuple[str, str]]] = {
    "quarantine": [
        ("batch_id", "BIGINT"),
        ("table_name", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("source_line", "BIGINT"),
        ("reason", "VARCHAR"),
        ("record", "VARCHAR"),
        ("quarantined_at", "TIMESTAMP"),
    ],
    "ingest_log": [
        ("batch_id", "BIGINT"),
        ("table_name", "VARCHAR"),
        ("source_file", "VARCHAR"),
        ("rows_read", "BIGINT"),
        ("loaded", "BIGINT"),
        ("updated", "BIGINT"),
        ("quarantined", "BIGINT"),
        ("ingested_at", "TIMESTAMP"),
    ],
    # the customers each load touched (an incremental refresh recomputes only them)
    "touched_customers": [("batch_id", "BIGINT"), ("customer_id", "VARCHAR")],
    "touched_batches": [("batch_id", "BIGINT")],
}


def _ddl(name: str, columns: list[tuple[str, str]]) -> str:
    cols = ", ".join(f'"{c}" {t}' for c, t in columns)
    return f'CREATE TABLE IF NOT EXISTS "{name}" ({cols})'


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
    """The lock that serialises write transactions on one store file within this process."""
    key = store.resolve()
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """The workspace folder: the given path, else $DANGGOL_WORKSPACE, else the current folder."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or ".")


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
        """The Ibis connection every query of the library is built on."""
        if not self.backend.embedded_store:
            return connect(self.config.backend)
        try:
            con = ibis.duckdb.connect(str(self.store_path))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreBusyError(
                    f"the store {self.store_path} is in use by another danggol process; "
                    "wait for it to finish and try again"
                ) from exc
            raise WorkspaceError(f"cannot open the store {self.store_path}: {exc}") from exc
        # DuckDB draws a progress bar on stdout for long queries: it would break `--json`
        con.con.execute("SET enable_progress_bar = false")
        if self.config.memory_limit:
            # bounded memory: DuckDB spills the rest of a large join or aggregate to disk
            con.con.execute(f"SET memory_limit = '{self.config.memory_limit}'")
        return con

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
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: on any exception the store is left as it was; a store that cannot
        be written (disk full, read-only) raises WorkspaceError. Transactions on one store
        from several threads of a process run one after the other (DuckDB would abort the
        second with a write-write conflict); another process is refused at connect
        (StoreBusyError)."""
        with writer_lock(self.store_path), writing(self.store_path), transaction(self.duck) as con:
            yield con

    def create_tables(self) -> None:
        with self.transaction() as con:
            for table in TABLES.values():
                con.execute(_ddl(table.name, table.store_columns()))
            for name, columns in SYSTEM_TABLES.items():
                con.execute(_ddl(name, columns))

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def count(self, name: str) -> int:
        return int(self.ibis.table(name).count().to_pyarrow().as_py())
