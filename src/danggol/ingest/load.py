"""Load input files into the store: map, type, check, quarantine, upsert — in one transaction.

Counting rule, at every level: ``read = loaded + updated + duplicates + quarantined``. A
row is *loaded* when its id is new, *updated* when its id was already in the store
(``unchanged`` says how many of those were identical), a *duplicate* when it repeats an
earlier row of the load exactly (counted once, never loaded twice), *quarantined* with a
reason otherwise. An upsert replaces the columns the input has and keeps the stored values
of the ones it lacks; the lines of an order in a file replace that order's stored lines.

Nothing is merged silently: an order id given with different customers, times or totals
(in the load, or against the store) quarantines all its rows, each naming the others; and
orders are all or nothing: a bad line quarantines its order and every line of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from danggol.errors import ConfigError, InputFileError
from danggol.ingest import mapping as mapping_mod
from danggol.ingest.presets import LOAD_ORDER, PRESETS, get_preset, tables_for
from danggol.ingest.readers import read_chunks
from danggol.ingest.validate import Rules, q, typed_query
from danggol.progress import track
from danggol.schema import TABLES, Table
from danggol.store.backends import one_row
from danggol.store.workspace import Workspace


@dataclass
class TableResult:
    table: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    quarantined: int = 0
    unchanged: int = 0
    duplicates: int = 0

    def add(self, other: TableResult) -> None:
        for name in ("read", "loaded", "updated", "quarantined", "unchanged", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class IngestResult:
    batch_id: int
    files: list[str]
    rows: int = 0
    tables: dict[str, TableResult] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    encodings: dict[str, str | None] = field(default_factory=dict)
    #: exact repeats of earlier rows: file, line and where the row first came
    duplicate_rows: list[dict[str, object]] = field(default_factory=list)

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

    @property
    def duplicates(self) -> int:
        return self._sum("duplicates")

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "loaded": self.loaded,
            "updated": self.updated,
            "quarantined": self.quarantined,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "rows": self.rows,
            "batch_id": self.batch_id,
            "files": self.files,
            "tables": {name: asdict(t) for name, t in self.tables.items()},
            "ignored_columns": self.ignored_columns,
            "encodings": self.encodings,
            "duplicate_rows": self.duplicate_rows[:100],
        }


@dataclass
class _Input:
    """One mapped input for one table, staged in the transaction's connection."""

    table: Table
    #: the staged rows (canonical column names + _fileno, _file, _line and, for files, _hash
    #: of the whole source row): a table, or a registered view
    relation: str
    #: the files (sources) staged in it, in order (``_fileno`` indexes this)
    sources: list[str] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)
    #: a table (file, line, reason, text) of the rows the reader could not read, if any
    rejects: str | None = None
    registered: bool = False
    #: a view over the load's one staging table (:class:`_Staging`)
    view: bool = False


@dataclass
class _Staging:
    """The mapped rows of a file load, staged once for all its tables: one column per
    distinct mapped column (the order id of an order and of its lines, mapped alike, is one
    column), with ``_fileno``, ``_line`` and ``_hash``. Each table reads it through a view
    that names the columns as the table does (:func:`_create_view`)."""

    relation: str = "_staged"
    created: bool = False
    #: the staged columns, in the table's order, and their DuckDB types
    types: dict[str, str] = field(default_factory=dict)
    #: staged column of each distinct mapping (see :func:`_spec`)
    names: dict[tuple[object, ...], str] = field(default_factory=dict)
    #: the source of each file number (an Excel sheet is 'file#sheet')
    files: dict[int, str] = field(default_factory=dict)
    #: each table's (column, staged column) pairs, in the order its mapping gives them
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: the file numbers each table has rows from
    filenos: dict[str, set[int]] = field(default_factory=dict)


def resolve_mapping(
    table: str, preset: str | None = None, mapping: str | Path | None = None
) -> tuple[mapping_mod.Mapping, Callable[[pa.Table], pa.Table] | None]:
    """The mapping to use (a preset's, a file's, both merged, or the plain one) and the
    preset's ``prepare`` hook."""
    _check_table(table)
    prepare: Callable[[pa.Table], pa.Table] | None = None
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
                lines=tm.lines or base.lines,
            )
        result = mapping_mod.Mapping(
            name=extra.name,
            tables=tables,
            date_formats=[*extra.date_formats, *result.date_formats],
            decimal=extra.decimal if extra.decimal != "." else result.decimal,
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
    sheet: str | None = None,
    header_row: int | None = None,
) -> IngestResult:
    """Read, map, check and load ``paths`` into ``table`` (and a preset's companion tables).

    Each file is read a piece at a time (``readers.read_chunks``) and its mapped rows are
    staged in a temporary table created inside the load's own transaction (in memory up to
    ``memory_limit``, spilled past it; dropped before the commit); the checks,
    the quarantine and the upsert then run once over everything staged — all the files of
    the load together, so an order whose lines fall in different pieces or files is still
    one order. Nothing is written unless the whole load succeeds.
    """
    ws.require_store("'danggol ingest'")
    chosen, prepare = resolve_mapping(table, preset, mapping)
    if not paths:
        raise ConfigError(
            "no input file given: name one or more CSV, Excel (.xlsx), Parquet or JSONL files"
        )
    result = IngestResult(batch_id=0, files=[str(p) for p in paths])
    targets = tables_for(get_preset(preset), table) if preset else [table]
    params = _params(ws)
    staged: dict[str, _Input] = {}
    staging = _Staging()
    options = _ReadOptions(encoding, sheet, header_row, preset)
    # the writer first, so that the thread count is set on its connection before the
    # transaction begins and set back after it ends (an aborted transaction refuses SET)
    with ws.writer(), _threads(ws.duck, LOAD_THREADS), ws.transaction() as con:
        try:
            result.batch_id = _next_batch(con)
            for fileno, path in enumerate(track(paths, "load")):
                # one name per file, so that its quarantine entries are replaced on a re-load
                resolved = Path(path).resolve()
                _stage_file(
                    con,
                    resolved,
                    fileno,
                    table,
                    targets,
                    chosen,
                    prepare,
                    options,
                    result,
                    staged,
                    staging,
                )
            repeats = None
            if staging.created:  # the hashes of exact repeats, found once for every table
                repeats = f"{staging.relation}_repeats"
                con.execute(
                    f"CREATE TEMP TABLE {repeats} AS SELECT _hash FROM {staging.relation} "
                    "GROUP BY _hash HAVING count(*) > 1"
                )
            for item in staged.values():
                item.rules = replace(
                    item.rules,
                    multi_file=len(item.sources) > 1,
                    guests=ws.config.guests,
                    repeats=repeats,
                )
                _create_view(con, staging, item)
            _load(con, list(staged.values()), result, params)
        finally:
            _drop_staged(con, list(staged.values()))
            if staging.created:
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DROP TABLE IF EXISTS {staging.relation}_repeats")
                    con.execute(f"DROP TABLE IF EXISTS {staging.relation}")
    return result


#: DuckDB threads for a file load's statements (staging, checks, writes). One: at 1M
#: SmartStore lines the load's statements took 5.2 s CPU on one thread against 10.3-10.9 s
#: on two, and less wall time on a busy two-core machine (docs/benchmarks.md, "The load on
#: one DuckDB thread").
LOAD_THREADS = 1


@contextlib.contextmanager
def _threads(con: duckdb.DuckDBPyConnection, n: int) -> Iterator[None]:
    """Run the block with DuckDB's ``threads`` set to ``n`` (at most what it was), then set it
    back."""
    before = int(one_row(con.execute("SELECT current_setting('threads')"))[0])
    if n >= before:
        yield
        return
    con.execute(f"SET threads = {int(n)}")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"SET threads = {before}")


def _params(ws: Workspace) -> dict[str, object]:
    earliest, latest = ws.config.plausible_dates()
    return {"tz": ws.config.timezone, "dmin": earliest, "dmax": latest}


@dataclass(frozen=True)
class _ReadOptions:
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    preset: str | None = None


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fileno: int,
    table: str,
    targets: list[str],
    chosen: mapping_mod.Mapping,
    prepare: Callable[[pa.Table], pa.Table] | None,
    options: _ReadOptions,
    result: IngestResult,
    staged: dict[str, _Input],
    staging: _Staging,
) -> None:
    """Read ``path`` piece by piece into the staging table, once for all target tables."""
    used: set[str] = set()
    headers: list[str] = []
    source = str(path)
    pieces = read_chunks(
        path, encoding=options.encoding, sheet=options.sheet, header_row=options.header_row
    )
    for piece in pieces:
        source = piece.path  # an Excel sheet is 'file#sheet'
        staging.files[fileno] = source
        result.rows += piece.rows_read
        result.encodings[source] = piece.encoding
        headers = piece.table.column_names
        data = prepare(piece.table) if prepare else piece.table
        columns: dict[str, pa.ChunkedArray] = {}
        for name in targets:
            tm = chosen.tables.get(name, mapping_mod.TableMapping())
            try:
                mapped = mapping_mod.apply(
                    data, TABLES[name], tm, source=source, strict=(name == table)
                )
            except InputFileError as exc:
                raise InputFileError(f"{exc} {nearest_preset(headers, options.preset)}") from exc
            if mapped is None:
                continue
            used |= _headers_used(data, TABLES[name], tm)
            pairs = []
            for column in mapped.column_names:
                at = staging.names.setdefault(_spec(tm, column), f"_c{len(staging.names)}")
                columns.setdefault(at, mapped.column(column))
                pairs.append((column, at))
            known = staging.columns.setdefault(name, pairs)
            if known != pairs:
                raise InputFileError(
                    f"{source}: its {name} columns {[c for c, _ in pairs]} are not those of "
                    f"the files before it ({[c for c, _ in known]}): load files with "
                    "different headers one at a time"
                )
            staging.filenos.setdefault(name, set()).add(fileno)
            item = staged.get(name)
            if item is None:
                rules = Rules(
                    formats=tuple(chosen.date_formats),
                    decimal_comma=chosen.decimal == ",",
                    group=tm.group,
                    lines=tm.lines,
                    hashed=True,
                    companion=name != table,
                )
                item = staged[name] = _Input(
                    TABLES[name], f"_in_{len(staged)}", rules=rules, view=True
                )
            if source not in item.sources:
                item.sources.append(source)
            if name == table and piece.rejects:
                rejects = pa.table(
                    {
                        "file": pa.array([source] * len(piece.rejects), pa.string()),
                        "line": pa.array([r.line for r in piece.rejects], pa.int64()),
                        "reason": pa.array([r.reason for r in piece.rejects], pa.string()),
                        "text": pa.array([r.text for r in piece.rejects], pa.string()),
                    }
                )
                create = item.rejects is None
                item.rejects = f"{item.relation}_rejects"
                _append(con, item.rejects, rejects, create=create)
        _stage_piece(con, staging, data, columns, piece.lines, fileno)
    ignored = [h for h in headers if h not in used]
    if ignored:
        result.ignored_columns[source] = ignored


def _spec(tm: mapping_mod.TableMapping, column: str) -> tuple[object, ...]:
    """What a mapped column is made of: its headers (in order of preference) and its value
    translations. Two tables' columns with the same spec hold the same values in every piece
    (``mapping.apply`` reads nothing else), so they are staged once."""
    wanted = tm.columns.get(column, [])
    headers = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    values = {
        **mapping_mod.DEFAULT_VALUES.get(column, {}),
        **{k.lower(): v for k, v in tm.values.get(column, {}).items()},
    }
    return (headers, column, tuple(sorted(values.items())))


def _stage_piece(
    con: duckdb.DuckDBPyConnection,
    staging: _Staging,
    raw: pa.Table,
    columns: dict[str, pa.ChunkedArray],
    lines: np.ndarray,
    fileno: int,
) -> None:
    """Append one piece's mapped columns to the staging table, with its file number, lines
    and ``_hash`` — a hash of each whole source row (every column, used or not: rows with
    the same hash are exact repeats), computed in the same pass."""
    names = [f"_r{i}" for i in range(raw.num_columns)]
    arrays = [*raw.columns, *columns.values(), pa.array(lines, pa.int64())]
    piece = pa.Table.from_arrays(arrays, [*names, *columns, "_line"])
    row_hash = f"hash({', '.join(names)})" if names else "CAST(0 AS UBIGINT)"
    exprs = {c: c for c in columns}
    exprs |= {"_fileno": f"CAST({fileno} AS INTEGER)", "_line": "_line", "_hash": row_hash}
    relation = con.from_arrow(piece)
    if not staging.created:
        relation = relation.project(", ".join(f"{e} AS {c}" for c, e in exprs.items()))
        staging.types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        # a temporary table: never compressed into the store file (it is dropped before the
        # commit); DuckDB keeps it in memory up to memory_limit and spills the rest to its
        # temporary directory, so memory stays bounded
        columns_sql = ", ".join(f"{c} {kind}" for c, kind in staging.types.items())
        con.execute(f"CREATE TEMP TABLE {staging.relation} ({columns_sql})")
        staging.created = True
        relation.insert_into(staging.relation)
        return
    new = [c for c in exprs if c not in staging.types]
    if new:  # a column a later file maps and the earlier ones did not: NULL in their rows
        kinds = relation.project(", ".join(f"{exprs[c]} AS {c}" for c in new)).types
        for c, kind in zip(new, kinds, strict=True):
            con.execute(f"ALTER TABLE {staging.relation} ADD COLUMN {c} {kind}")
            staging.types[c] = str(kind)
    select = ", ".join(
        f"{exprs[c]} AS {c}" if c in exprs else f"CAST(NULL AS {kind}) AS {c}"
        for c, kind in staging.types.items()
    )
    relation.project(select).insert_into(staging.relation)


def _create_view(con: duckdb.DuckDBPyConnection, staging: _Staging, item: _Input) -> None:
    """The view through which ``item``'s table reads the staging table: its own column
    names, the file's name for ``_file``, and only the files it has rows from."""
    name = item.table.name
    files = ", ".join(
        "'" + staging.files.get(n, "").replace("'", "''") + "'"
        for n in range(max(staging.files, default=-1) + 1)
    )
    columns = ", ".join(f"{at} AS {q(column)}" for column, at in staging.columns[name])
    where = ""
    if staging.filenos[name] != set(staging.files):
        where = f" WHERE _fileno IN ({', '.join(map(str, sorted(staging.filenos[name])))})"
    con.execute(
        f"CREATE VIEW {item.relation} AS SELECT {columns + ', ' if columns else ''}_fileno, "
        f"[{files}][_fileno + 1] AS _file, _line, _hash FROM {staging.relation}{where}"
    )


def nearest_preset(headers: list[str], given: str | None = None) -> str:
    """A sentence naming the preset whose headers the file's are closest to."""
    keys = {mapping_mod.header_key(h) for h in headers}
    best, score = None, 0.0
    for name, preset in PRESETS.items():
        wanted = {
            mapping_mod.header_key(h)
            for tm in preset.mapping.tables.values()
            for v in tm.columns.values()
            for h in ([v] if isinstance(v, str) else v)
        }
        share = len(keys & wanted) / max(len(keys), 1)
        if share > score:
            best, score = name, share
    if best is None:
        return "No preset knows these headers: map them with --mapping FILE.yaml."
    if best == given:
        return f"The nearest preset is {best!r}, the one given: the file lacks the columns above."
    return f"The nearest preset is {best!r} (--preset {best})."


def _append(con: duckdb.DuckDBPyConnection, relation: str, data: pa.Table, *, create: bool) -> None:
    """Write an Arrow table into ``relation``, a table of the store inside the load's
    transaction (the reader's rejects, few; the mapped rows go through :func:`_stage_piece`).
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
            elif item.view:
                con.execute(f"DROP VIEW IF EXISTS {item.relation}")
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
                    mapping_mod.apply(
                        data, TABLES[name], mapping_mod.TableMapping(), source=source, strict=True
                    )
                    n = data.num_rows
                    where = f"{source}:{name}"
                    data = (
                        data.append_column("_fileno", pa.array(np.zeros(n, np.int32)))
                        .append_column("_file", pa.array(np.full(n, where, object), pa.string()))
                        .append_column("_line", pa.array(np.arange(1, n + 1), pa.int64()))
                    )
                    rules = Rules(guests=ws.config.guests)
                    item = _Input(
                        TABLES[name], f"_in_{len(inputs)}", [where], rules, registered=True
                    )
                    con.register(item.relation, data)
                    inputs.append(item)
            _load(con, inputs, result, _params(ws))
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


_INTERNAL = ("_fileno", "_file", "_line", "_hash")


def _load(
    con: duckdb.DuckDBPyConnection,
    inputs: Iterable[_Input],
    result: IngestResult,
    params: dict[str, object],
) -> None:
    """Check every input first (one ``_batch_<table>`` each), then settle what depends on
    several (an order and its lines stand or fall together; an order must agree with the
    stored one), then quarantine and write each table in load order."""
    ordered = sorted(inputs, key=lambda i: LOAD_ORDER.index(i.table.name))
    batches: dict[str, str] = {}
    try:
        for item in ordered:
            batches[item.table.name] = _check_one(con, item, params)
        duplicates = {item.table.name: _take_duplicates(con, item, result) for item in ordered}
        _settle_orders(con, batches)
        for item in ordered:
            part = _write_one(con, item, batches[item.table.name], result.batch_id)
            part.duplicates = duplicates[item.table.name]
            part.read += part.duplicates
            _log(con, item, part, result.batch_id)
            result.tables.setdefault(item.table.name, TableResult(item.table.name)).add(part)
    finally:
        # after a failure the transaction is aborted and rolls these back anyway
        with contextlib.suppress(duckdb.Error):
            for batch in batches.values():
                con.execute(f"DROP TABLE IF EXISTS {batch}")


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _check_one(con: duckdb.DuckDBPyConnection, item: _Input, params: dict[str, object]) -> str:
    """Type and check ``item`` into the temporary table ``_batch_<table>``; return its name."""
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {item.relation}").fetchall()}
    rules = item.rules if "_hash" in types else replace(item.rules, hashed=False)
    for internal in _INTERNAL:
        types.pop(internal, None)
    sql = typed_query(item.table, item.relation, types, rules)
    batch = f"_batch_{item.table.name}"
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    # a temporary table: the checked rows are read a few times and dropped before the commit,
    # so they are not compressed into the store file (DuckDB spills them past memory_limit)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {batch} AS {sql}", used or None)
    return batch


def _take_duplicates(con: duckdb.DuckDBPyConnection, item: _Input, result: IngestResult) -> int:
    """Count the exact repeats in ``item``'s batch (and list the first ones), then drop them."""
    batch = f"_batch_{item.table.name}"
    n = int(one_row(con.execute(f"SELECT count(*) FROM {batch} WHERE _dup_of IS NOT NULL"))[0])
    if n:
        if not result.duplicate_rows:
            rows = con.execute(
                f"SELECT _fileno, _line, _dup_of FROM {batch} WHERE _dup_of IS NOT NULL "
                "ORDER BY _fileno, _line LIMIT 100"
            ).fetchall()
            result.duplicate_rows = [
                {"file": item.sources[f], "line": line, "same_as": first} for f, line, first in rows
            ]
        con.execute(f"DELETE FROM {batch} WHERE _dup_of IS NOT NULL")
    return n


def _quoted(ref: str) -> str:
    return f"'''' || {ref} || ''''"


def _settle_orders(con: duckdb.DuckDBPyConnection, batches: dict[str, str]) -> None:
    """An order is all or nothing, and never silently changes hands.

    * An order already stored with a different customer, time or total is quarantined.
    * A bad line quarantines its order, and a quarantined order all its lines (each says
      which line was bad).
    * A lines file alone: a bad line holds back the other lines of its order.
    * A line whose order is neither stored nor loaded now is an 'unknown order'.
    """
    orders, items = batches.get("orders"), batches.get("order_items")
    if orders:
        differs = [
            ("customer_id", "customer", "s.customer_id"),
            ("ordered_at", "time", "strftime(s.ordered_at, '%Y-%m-%d %H:%M:%S') || ' UTC'"),
            ("total", "total", "CAST(s.total AS VARCHAR)"),
        ]
        what = ", ".join(
            f"CASE WHEN s.{c} IS DISTINCT FROM b.{c} THEN '{word} ' || {shown} END"
            for c, word, shown in differs
        )
        test = " OR ".join(f"s.{c} IS DISTINCT FROM b.{c}" for c, _, _ in differs)
        con.execute(
            f"UPDATE {orders} b SET _reason = 'order ' || {_quoted('b.order_id')} || "
            f"' is already stored with another ' || concat_ws(', ', {what}) || "
            "': one order id is one order; if the stored one is wrong, restore a backup' "
            f"FROM orders s WHERE s.order_id = b.order_id AND b._reason IS NULL AND ({test})"
        )
    if orders and items:
        con.execute(
            f"UPDATE {orders} b SET _reason = COALESCE(b._reason || '; ', '') || "
            "'its item row ' || l.why FROM (SELECT order_id, "
            "arg_min('line ' || _line || ' is bad (' || _reason || ')', _line) AS why "
            f"FROM {items} WHERE _reason IS NOT NULL GROUP BY order_id) l "
            "WHERE l.order_id = b.order_id"
        )
        con.execute(
            f"UPDATE {items} i SET _reason = 'order ' || {_quoted('i.order_id')} || "
            f"' is quarantined: ' || b._reason FROM {orders} b "
            "WHERE b.order_id = i.order_id AND b._reason IS NOT NULL AND i._reason IS NULL"
        )
    if items and not orders:
        con.execute(
            f"UPDATE {items} i SET _reason = 'another line of order ' || {_quoted('i.order_id')} "
            "|| ' is bad: line ' || l._line || ' (' || l._reason || ')' "
            "FROM (SELECT order_id, min(_line) AS _line, arg_min(_reason, _line) AS _reason "
            f"FROM {items} WHERE _reason IS NOT NULL GROUP BY order_id) l "
            "WHERE l.order_id = i.order_id AND i._reason IS NULL"
        )
    if items:
        loaded = f" UNION ALL SELECT order_id FROM {orders} WHERE _reason IS NULL" if orders else ""
        con.execute(
            f"UPDATE {items} SET _reason = 'unknown order ' || {_quoted('order_id')} || "
            "': load the order before its lines' WHERE _reason IS NULL AND order_id NOT IN "
            f"(SELECT order_id FROM orders{loaded})"
        )


def _write_one(
    con: duckdb.DuckDBPyConnection, item: _Input, batch: str, batch_id: int
) -> TableResult:
    table = item.table
    # a view, not a copy: the steps below read the checked rows where they are
    con.execute(f"CREATE OR REPLACE TEMP VIEW _batch AS SELECT * FROM {batch}")
    try:
        present = set(_columns(con, item.relation)) - set(_INTERNAL)
        part = TableResult(table.name)
        part.quarantined = _quarantine(con, item, batch_id)
        _record_touched(con, table, batch_id)
        counts = _upsert(con, table, present=present)
        part.loaded, part.updated, part.unchanged = counts
        part.read = part.loaded + part.updated + part.quarantined
        return part
    finally:
        # after a failure the transaction is aborted and rolls this back anyway
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP VIEW IF EXISTS _batch")


def _log(con: duckdb.DuckDBPyConnection, item: _Input, part: TableResult, batch: int) -> None:
    con.execute(
        "INSERT INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [
            batch,
            item.table.name,
            "; ".join(item.sources),
            part.read,
            part.loaded,
            part.updated,
            part.quarantined,
        ],
    )


def _quarantine(con: duckdb.DuckDBPyConnection, item: _Input, batch: int) -> int:
    # the quarantine holds the problems of a file's latest load: re-reading a file replaces them
    for source in item.sources:
        con.execute(
            "DELETE FROM quarantine WHERE table_name = ? AND source_file = ?",
            [item.table.name, source],
        )
    # the bad rows first: a known small table, so the join with the input is built on it
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _bad AS SELECT _fileno, _line, _reason FROM _batch "
        "WHERE _reason IS NOT NULL"
    )
    record = ", ".join(
        f"'{c}': i.{q(c)}" for c in _columns(con, item.relation) if c not in _INTERNAL
    )
    try:
        con.execute(
            "INSERT INTO quarantine SELECT ?, ?, i._file, b._line, b._reason, "
            f"to_json({{{record}}})::VARCHAR, current_timestamp FROM {item.relation} i "
            "JOIN _bad b ON i._line = b._line AND i._fileno = b._fileno",
            [batch, item.table.name],
        )
        bad = int(con.execute("SELECT count(*) FROM _bad").fetchall()[0][0])
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS _bad")
    if item.rejects:
        con.execute(
            "INSERT INTO quarantine SELECT ?, ?, file, line, reason, text, current_timestamp "
            f"FROM {item.rejects}",
            [batch, item.table.name],
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
    elif table.name == "products":  # a product's tags: the segments of its buyers
        ids = (
            "SELECT customer_id FROM orders WHERE order_id IN (SELECT order_id FROM order_items "
            f"WHERE product_id IN (SELECT product_id FROM {good}))"
        )
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
    if not one_row(con.execute("SELECT count(*) FROM touched_batches WHERE batch_id = ?", [batch]))[
        0
    ]:
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
        if table.name == "orders" and "status" in present:
            # a status says how much was refunded (all of a refunded order, none of a paid one)
            kept["refunded_amount"] = True
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
