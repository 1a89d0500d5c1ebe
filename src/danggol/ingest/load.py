"""Load input files into the store: map, type, check, quarantine, upsert — in one transaction.

Counting rule, at every level: ``read = loaded + updated + quarantined``. A row is
*loaded* when its id is new, *updated* when its id was already in the store (``unchanged``
says how many of those were identical), *quarantined* with a reason otherwise. An upsert
replaces the columns the input has and keeps the stored values of the ones it lacks; the
lines of an order in a file replace that order's stored lines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from danggol.errors import ConfigError
from danggol.ingest import mapping as mapping_mod
from danggol.ingest.presets import LOAD_ORDER, get_preset, tables_for
from danggol.ingest.readers import read_chunks
from danggol.ingest.validate import q, typed_query
from danggol.progress import track
from danggol.schema import TABLES, Table
from danggol.store.workspace import Workspace


@dataclass
class TableResult:
    table: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    quarantined: int = 0
    unchanged: int = 0

    def add(self, other: TableResult) -> None:
        for name in ("read", "loaded", "updated", "quarantined", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class IngestResult:
    batch_id: int
    files: list[str]
    rows: int = 0
    tables: dict[str, TableResult] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    encodings: dict[str, str | None] = field(default_factory=dict)

    def _sum(self, name: str) -> int:
        return sum(getattr(t, name) for t in self.tables.values())

    @property
    def read(self) -> int:
        return self._sum("read")

    @property
    def loaded(self) -> int:
        return self._sum("loaded")

    @property
    def updated(self) -> int:
        return self._sum("updated")

    @property
    def quarantined(self) -> int:
        return self._sum("quarantined")

    @property
    def unchanged(self) -> int:
        return self._sum("unchanged")

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "loaded": self.loaded,
            "updated": self.updated,
            "quarantined": self.quarantined,
            "unchanged": self.unchanged,
            "rows": self.rows,
            "batch_id": self.batch_id,
            "files": self.files,
            "tables": {name: asdict(t) for name, t in self.tables.items()},
            "ignored_columns": self.ignored_columns,
            "encodings": self.encodings,
        }


@dataclass
class _Input:
    """One mapped input for one table, staged in the transaction's connection."""

    table: Table
    #: the staged rows (canonical column names + _line): a temp table, or a registered view
    relation: str
    source: str
    group: bool = False
    formats: tuple[str, ...] = ()
    #: a temp table (line, reason, text) of the rows the reader could not read, if any
    rejects: str | None = None
    registered: bool = False


def resolve_mapping(
    table: str, preset: str | None = None, mapping: str | Path | None = None
) -> tuple[mapping_mod.Mapping, object]:
    """The mapping to use (a preset's, a file's, both merged, or the plain one) and the
    preset's ``prepare`` hook."""
    _check_table(table)
    prepare = None
    result = mapping_mod.plain(table)
    if preset:
        chosen = get_preset(preset)
        result, prepare = chosen.mapping, chosen.prepare
    if mapping:
        extra = mapping_mod.load_mapping(mapping, table)
        tables = dict(result.tables)
        for name, tm in extra.tables.items():
            base = tables.get(name, mapping_mod.TableMapping())
            tables[name] = mapping_mod.TableMapping(
                columns={**base.columns, **tm.columns},
                values={**base.values, **tm.values},
                group=tm.group or base.group,
            )
        result = mapping_mod.Mapping(
            name=extra.name, tables=tables, date_formats=[*extra.date_formats, *result.date_formats]
        )
    return result, prepare


def ingest_files(
    ws: Workspace,
    table: str,
    paths: Sequence[str | Path],
    *,
    preset: str | None = None,
    mapping: str | Path | None = None,
    encoding: str | None = None,
) -> IngestResult:
    """Read, map, check and load ``paths`` into ``table`` (and a preset's companion tables).

    Each file is read a piece at a time (``readers.read_chunks``) and its mapped rows are
    staged in tables created inside the load's own transaction (DuckDB writes their row
    groups to the store file as they fill; they are dropped before the commit); the checks,
    the quarantine and the upsert then run once over everything staged, so a file of any size
    loads in bounded memory and an order whose lines fall in different pieces is still one
    order. Nothing is written unless the whole load succeeds.
    """
    ws.require_store("'danggol ingest'")
    chosen, prepare = resolve_mapping(table, preset, mapping)
    if not paths:
        raise ConfigError("no input file given: name one or more CSV, Parquet or JSONL files")
    result = IngestResult(batch_id=0, files=[str(p) for p in paths])
    targets = tables_for(get_preset(preset), table) if preset else [table]
    inputs: list[_Input] = []
    with ws.transaction() as con:
        try:
            result.batch_id = _next_batch(con)
            for path in track(paths, "load"):
                # one name per file, so that its quarantine entries are replaced on a re-load
                resolved = Path(path).resolve()
                _stage_file(
                    con, resolved, table, targets, chosen, prepare, encoding, result, inputs
                )
            _load(con, inputs, result, {"tz": ws.config.timezone})
        finally:
            _drop_staged(con, inputs)
    return result


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    targets: list[str],
    chosen: mapping_mod.Mapping,
    prepare: Callable[[pa.Table], pa.Table] | None,
    encoding: str | None,
    result: IngestResult,
    inputs: list[_Input],
) -> None:
    """Read ``path`` piece by piece into one staged input per target table (appended to
    ``inputs``)."""
    staged: dict[str, _Input] = {}
    used: set[str] = set()
    headers: list[str] = []
    for piece in read_chunks(path, encoding=encoding):
        result.rows += piece.rows_read
        result.encodings[str(path)] = piece.encoding
        headers = piece.table.column_names
        data = prepare(piece.table) if prepare else piece.table
        for name in targets:
            tm = chosen.tables.get(name, mapping_mod.TableMapping())
            mapped = mapping_mod.apply(
                data, TABLES[name], tm, source=str(path), strict=(name == table)
            )
            if mapped is None:
                continue
            used |= _headers_used(data, TABLES[name], tm)
            mapped = mapped.append_column("_line", pa.array(piece.lines, pa.int64()))
            item = staged.get(name)
            if item is None:
                item = staged[name] = _Input(
                    TABLES[name],
                    f"_in_{len(inputs)}",
                    str(path),
                    group=tm.group,
                    formats=tuple(chosen.date_formats),
                )
                inputs.append(item)
                _append(con, item.relation, mapped, create=True)
            else:
                _append(con, item.relation, mapped, create=False)
            if name == table and piece.rejects:
                rejects = pa.table(
                    {
                        "line": pa.array([r.line for r in piece.rejects], pa.int64()),
                        "reason": pa.array([r.reason for r in piece.rejects], pa.string()),
                        "text": pa.array([r.text for r in piece.rejects], pa.string()),
                    }
                )
                create = item.rejects is None
                item.rejects = f"{item.relation}_rejects"
                _append(con, item.rejects, rejects, create=create)
    ignored = [h for h in headers if h not in used]
    if ignored:
        result.ignored_columns[str(path)] = ignored


def _append(con: duckdb.DuckDBPyConnection, relation: str, data: pa.Table, *, create: bool) -> None:
    """Write an Arrow piece into the staging table ``relation`` (a table of the store inside
    the load's transaction: DuckDB writes its row groups out as they fill, so staging holds
    little memory; a temporary table would keep it all in memory up to ``memory_limit``).
    Through a relation, not ``register``: a registered view's memory stays taken after
    ``unregister`` — measured, 100 MB per million rows."""
    piece = con.from_arrow(data)
    if create:
        piece.create(relation)
    else:
        piece.insert_into(relation)


def _drop_staged(con: duckdb.DuckDBPyConnection, inputs: list[_Input]) -> None:
    # after a failure the transaction is aborted and its rollback drops them anyway
    with contextlib.suppress(duckdb.Error):
        for item in inputs:
            if item.registered:
                con.unregister(item.relation)
            else:
                con.execute(f"DROP TABLE IF EXISTS {item.relation}")
            if item.rejects:
                con.execute(f"DROP TABLE IF EXISTS {item.rejects}")


def ingest_tables(
    ws: Workspace, tables: dict[str, pa.Table], *, source: str = "arrow"
) -> IngestResult:
    """Load Arrow tables already named as the canonical columns (the demo shop, notebooks)."""
    ws.require_store("loading data")
    result = IngestResult(batch_id=0, files=[source])
    inputs: list[_Input] = []
    with ws.transaction() as con:
        try:
            result.batch_id = _next_batch(con)
            for name in track([n for n in LOAD_ORDER if n in tables], "load"):
                if name in tables:
                    data = tables[name]
                    data = data.append_column(
                        "_line", pa.array(np.arange(1, data.num_rows + 1), pa.int64())
                    )
                    mapping_mod.apply(
                        data, TABLES[name], mapping_mod.TableMapping(), source=source, strict=True
                    )
                    item = _Input(
                        TABLES[name], f"_in_{len(inputs)}", f"{source}:{name}", registered=True
                    )
                    con.register(item.relation, data)
                    inputs.append(item)
            _load(con, inputs, result, {"tz": ws.config.timezone})
        finally:
            _drop_staged(con, inputs)
    return result


def _next_batch(con: duckdb.DuckDBPyConnection) -> int:
    return int(
        con.execute("SELECT COALESCE(max(batch_id), 0) + 1 FROM ingest_log").fetchall()[0][0]
    )


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r}; expected one of {list(TABLES)}")


def _headers_used(raw: pa.Table, table: Table, tm: mapping_mod.TableMapping) -> set[str]:
    picked = mapping_mod.pick_headers(raw.column_names, table, tm)
    return {h for headers in picked.values() for h in headers}


def _load(
    con: duckdb.DuckDBPyConnection,
    inputs: Iterable[_Input],
    result: IngestResult,
    tz: dict[str, str],
) -> None:
    for item in sorted(inputs, key=lambda i: LOAD_ORDER.index(i.table.name)):
        part = _load_one(con, item, result.batch_id, tz)
        result.tables.setdefault(item.table.name, TableResult(item.table.name)).add(part)


def _load_one(
    con: duckdb.DuckDBPyConnection, item: _Input, batch: int, tz: dict[str, str]
) -> TableResult:
    table = item.table
    relation = item.relation
    try:
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
        types.pop("_line")
        sql = typed_query(table, relation, types, group=item.group, formats=item.formats)
        con.execute(f"CREATE OR REPLACE TABLE _batch AS {sql}", tz if "$tz" in sql else None)
        if table.name == "order_items":
            con.execute(
                "UPDATE _batch SET _reason = 'unknown order ' || '''' || order_id || '''' || "
                "': load the order before its lines' "
                "WHERE _reason IS NULL AND order_id NOT IN (SELECT order_id FROM orders)"
            )
        part = TableResult(table.name)
        part.quarantined = _quarantine(con, item, batch)
        _record_touched(con, table, batch)
        counts = _upsert(con, table, present=set(types))
        part.loaded, part.updated, part.unchanged = counts
        part.read = part.loaded + part.updated + part.quarantined
        con.execute(
            "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)",
            [
                batch,
                table.name,
                item.source,
                part.read,
                part.loaded,
                part.updated,
                part.quarantined,
            ],
        )
        return part
    finally:
        # after a failure the transaction is aborted and rolls this back anyway
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS _batch")


def _quarantine(con: duckdb.DuckDBPyConnection, item: _Input, batch: int) -> int:
    # the quarantine holds the problems of a file's latest load: re-reading a file replaces them
    con.execute(
        "DELETE FROM quarantine WHERE table_name = ? AND source_file = ?",
        [item.table.name, item.source],
    )
    # the bad rows first: a known small table, so the join with the input is built on it
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _bad AS SELECT _line, _reason FROM _batch "
        "WHERE _reason IS NOT NULL"
    )
    try:
        con.execute(
            "INSERT INTO quarantine SELECT ?, ?, ?, b._line, b._reason, to_json(i)::VARCHAR, "
            f"current_timestamp FROM {item.relation} i JOIN _bad b ON i._line = b._line",
            [batch, item.table.name, item.source],
        )
        bad = int(con.execute("SELECT count(*) FROM _bad").fetchall()[0][0])
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS _bad")
    if item.rejects:
        con.execute(
            "INSERT INTO quarantine SELECT ?, ?, ?, line, reason, text, current_timestamp "
            f"FROM {item.rejects}",
            [batch, item.table.name, item.source],
        )
        bad += int(con.execute(f"SELECT count(*) FROM {item.rejects}").fetchall()[0][0])
    return bad


def _record_touched(con: duckdb.DuckDBPyConnection, table: Table, batch: int) -> None:
    """Log the customers whose rows this load adds or changes (before the upsert, so that an
    order moved to another customer touches both): an incremental refresh recomputes them."""
    good = "(SELECT * FROM _batch WHERE _reason IS NULL)"
    name, key = q(table.name), q(table.key[0])
    if table.name == "order_items":
        ids = f"SELECT customer_id FROM orders WHERE order_id IN (SELECT order_id FROM {good})"
    else:
        ids = (
            f"SELECT customer_id FROM {good} UNION "
            f"SELECT customer_id FROM {name} WHERE {key} IN (SELECT {key} FROM {good})"
        )
    for ddl in (
        "touched_customers (batch_id BIGINT, customer_id VARCHAR)",
        "touched_batches (batch_id BIGINT)",
    ):
        con.execute(f"CREATE TABLE IF NOT EXISTS {ddl}")
    con.execute(
        f"INSERT INTO touched_customers SELECT DISTINCT ?, customer_id FROM ({ids}) "
        "WHERE customer_id IS NOT NULL",
        [batch],
    )
    if not con.execute(
        "SELECT count(*) FROM touched_batches WHERE batch_id = ?", [batch]
    ).fetchone()[0]:
        con.execute("INSERT INTO touched_batches VALUES (?)", [batch])


def _upsert(
    con: duckdb.DuckDBPyConnection, table: Table, present: set[str]
) -> tuple[int, int, int]:
    """Write the good rows of ``_batch``; return (loaded, updated, unchanged)."""
    name = q(table.name)
    key = table.key[0]
    columns = [c for c, _ in table.store_columns()]
    col_list = ", ".join(q(c) for c in columns)
    empty = con.execute(f"SELECT count(*) = 0 FROM (SELECT 1 FROM {name} LIMIT 1)").fetchall()[0][0]
    if empty:
        n = con.execute(f"INSERT INTO {name} SELECT {col_list} FROM _batch WHERE _reason IS NULL")
        return int(n.fetchall()[0][0]), 0, 0

    good = "(SELECT * FROM _batch WHERE _reason IS NULL)"
    if table.name == "order_items":
        # a file's lines of an order replace all the stored lines of that order
        merged = f"SELECT {col_list} FROM {good}"
        exists = f"order_id IN (SELECT order_id FROM {name})"
    else:
        kept = {c: c in present or _derived_from(table, c) in present for c in columns}
        select = ", ".join(
            f"b.{q(c)}" if kept[c] else f"COALESCE(s.{q(c)}, b.{q(c)}) AS {q(c)}" for c in columns
        )
        merged = f"SELECT {select} FROM {good} b LEFT JOIN {name} s ON s.{q(key)} = b.{q(key)}"
        exists = f"{q(key)} IN (SELECT {q(key)} FROM {name})"
    con.execute(f"CREATE OR REPLACE TABLE _merged AS {merged}")
    try:
        updated = int(con.execute(f"SELECT count(*) FROM _merged WHERE {exists}").fetchall()[0][0])
        total = int(con.execute("SELECT count(*) FROM _merged").fetchall()[0][0])
        unchanged = (
            int(
                con.execute(
                    f"SELECT count(*) FROM (SELECT {col_list} FROM _merged INTERSECT ALL "
                    f"SELECT {col_list} FROM {name} WHERE {q(key)} IN (SELECT {q(key)} FROM _merged))"
                ).fetchall()[0][0]
            )
            if updated
            else 0
        )
        con.execute(f"DELETE FROM {name} WHERE {q(key)} IN (SELECT {q(key)} FROM _merged)")
        con.execute(f"INSERT INTO {name} SELECT {col_list} FROM _merged")
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS _merged")
    return total - updated, updated, unchanged


def _derived_from(table: Table, column: str) -> str | None:
    """The input column a derived (local date) column comes from."""
    for c in table.columns:
        if c.local_date == column:
            return c.name
    return None
