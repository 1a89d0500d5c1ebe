"""The engines a workspace can read from, and what each one can do — in one table.

A workspace reads its canonical tables (``customers``, ``orders``, ``order_items``, ``events``)
through an Ibis connection. By default that is the embedded DuckDB file (``store.duckdb``) that
danggol loads and refreshes; ``backend`` in ``danggol.toml`` (``danggol init DIR --backend URL``)
points it at another engine instead:

==============================================  =============================================
URL                                             engine
==============================================  =============================================
``duckdb``                                      the embedded store of the workspace (default)
``pyspark://local[2]``                          a local Spark session (2 cores)
``pyspark://spark-master:7077/shop``            a Spark cluster, database ``shop``
``postgres://user:${PGPASSWORD}@host:5432/db``  PostgreSQL
``bigquery://project/dataset``                  BigQuery
``snowflake://user:pass@account/db/schema``     Snowflake (``?warehouse=…`` and so on)
==============================================  =============================================

``${NAME}`` in a URL is replaced by the environment variable ``NAME`` when the workspace
connects, so passwords stay out of the file.

Engine differences live here as capability flags (:class:`Backend`), read by the library through
:func:`capabilities` — never as ``if backend == "…"`` elsewhere.

>>> backend_for("postgres://shop@db.internal:5432/shop").name
'postgres'
>>> backend_for("pyspark://local[2]").embedded_store
False
>>> expand_env("postgres://u:${DANGGOL_DOCTEST_PW}@h/db", {"DANGGOL_DOCTEST_PW": "p@ss"})
'postgres://u:p%40ss@h/db'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, quote

import ibis
import ibis.expr.types as ir

from danggol.errors import BackendError, ConfigError

if TYPE_CHECKING:  # pyarrow loads where an Arrow table is handled (~0.14 s of CPU a command)
    import pyarrow as pa

#: the ``backend`` setting of a workspace that reads its own embedded DuckDB file
EMBEDDED = "duckdb"


@dataclass(frozen=True)
class Backend:
    """One engine: how to reach it and what danggol may do with it.

    ``embedded_store``: danggol owns the data there — ``ingest`` loads into it and ``refresh``
    keeps snapshots, membership history, grade history and prediction runs in it (transactions
    on the DuckDB file). Every other engine is a read-only source: its canonical tables are
    kept up to date by the shop's own pipelines, and danggol only runs queries on it.

    ``temp_tables``: ``create_table(..., temp=True)`` works, so an intermediate result (the
    profile a segment and the score fits read several times) is materialised as a session
    temporary table; without it (Spark) the result is cached with ``Table.cache()``, which
    Ibis turns into a cached, temporary view.

    ``arrow_memtables``: ``ibis.memtable(arrow_table)`` keeps nulls. Ibis hands a memtable to
    Spark through pandas, where a null number or text becomes NaN (or the text ``'NaN'``), so
    on Spark an Arrow table (the predictions made in Python) is given to Spark's own Arrow
    reader instead.

    ``extra``: the ``pip install 'danggol[...]'`` extra that brings the engine's client.

    ``close_disconnects``: closing the workspace closes its connection. Not on Spark: the
    session is the process's one (``getOrCreate``), shared with whoever else uses it there (a
    notebook, the web server's other requests); it ends with the process.
    """

    name: str
    title: str
    schemes: tuple[str, ...]
    embedded_store: bool
    temp_tables: bool
    arrow_memtables: bool
    extra: str | None
    example: str
    close_disconnects: bool = True


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("duckdb", "DuckDB (embedded)", ("duckdb",), True, True, True, None, "duckdb"),
        Backend(
            "pyspark",
            "Apache Spark",
            ("pyspark", "spark"),
            False,
            False,
            False,
            "spark",
            "pyspark://local[2]",
            close_disconnects=False,
        ),
        Backend(
            "postgres",
            "PostgreSQL",
            ("postgres", "postgresql"),
            False,
            True,
            True,
            "postgres",
            "postgres://user:${PGPASSWORD}@host:5432/db",
        ),
        Backend(
            "bigquery",
            "Google BigQuery",
            ("bigquery",),
            False,
            True,
            True,
            None,
            "bigquery://project/dataset",
        ),
        Backend(
            "snowflake",
            "Snowflake",
            ("snowflake",),
            False,
            True,
            True,
            None,
            "snowflake://user:${SNOWFLAKE_PASSWORD}@account/db/schema?warehouse=wh",
        ),
    )
}

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)(?::|$)", re.IGNORECASE)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def scheme_of(url: str) -> str:
    match = _SCHEME.match(url.strip())
    return match.group(1).lower() if match else ""


def backend_for(url: str) -> Backend:
    """The engine a backend URL names; ConfigError for an unknown scheme."""
    scheme = scheme_of(url)
    for backend in BACKENDS.values():
        if scheme in backend.schemes:
            return backend
    examples = ", ".join(b.example for b in BACKENDS.values())
    raise ConfigError(
        f"backend {url!r} is not an engine danggol knows; give one of: {examples} "
        "(see docs/backends.md)"
    )


def capabilities(con: ibis.BaseBackend) -> Backend:
    """The capability row of an Ibis connection (by its backend name)."""
    backend = BACKENDS.get(con.name)
    if backend is None:
        # an engine Ibis supports but this table does not list: assume only what is standard
        return Backend(con.name, con.name, (con.name,), False, True, True, None, con.name)
    return backend


def expand_env(url: str, environ: Mapping[str, str] | None = None) -> str:
    """``${NAME}`` → the environment variable, URL-quoted (a password may contain ``@`` or ``/``)."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(
                f"the backend URL uses ${{{name}}}, but the environment variable {name} is not "
                f"set; export {name}=… before running danggol"
            )
        return quote(env[name], safe="")

    return _ENV.sub(value, url)


def redact(url: str) -> str:
    """The URL with any literal password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


# --------------------------------------------------------------------------------------
# connecting
# --------------------------------------------------------------------------------------


def _spark(url: str) -> ibis.BaseBackend:
    """``pyspark://local[2]``, ``pyspark://host:7077/db?spark.executor.memory=2g``: a Spark
    session (the running one if there is one) with the session time zone set to UTC, so dates
    and timestamps mean what they mean in the store."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BackendError(
            "the pyspark backend needs PySpark: pip install 'danggol[spark]'"
        ) from exc
    rest = url.split("://", 1)[1] if "://" in url else ""
    rest, _, query = rest.partition("?")
    master, _, database = rest.partition("/")
    master = master or "local[*]"
    if not master.startswith("local"):
        master = f"spark://{master}"
    builder = (
        SparkSession.builder.master(master)
        .appName("danggol")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        # results come back through toPandas (Ibis' to_pyarrow): let Spark hand them over as Arrow
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if master.startswith("local"):
        # 200 shuffle partitions (the default) make every small local query slow
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    for key, value in parse_qsl(query):
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    con = ibis.pyspark.connect(session)
    if database:
        session.catalog.setCurrentDatabase(database)
    return con


def _by_ibis(url: str) -> ibis.BaseBackend:
    return ibis.connect(url)


_CONNECT: dict[str, Callable[[str], ibis.BaseBackend]] = {
    "pyspark": _spark,
    "postgres": _by_ibis,
    "bigquery": _by_ibis,
    "snowflake": _by_ibis,
}


def connect(url: str) -> ibis.BaseBackend:
    """An Ibis connection to the engine a (non-embedded) backend URL names, ``${VAR}``
    expanded. BackendError, saying what to check, when the engine cannot be reached."""
    backend = backend_for(url)
    if backend.embedded_store:
        raise ConfigError("the embedded store is opened by the workspace (Workspace.ibis)")
    expanded = expand_env(url)
    if backend.name == "postgres" and expanded.startswith("postgresql://"):
        expanded = "postgres://" + expanded.split("://", 1)[1]
    try:
        return _CONNECT[backend.name](expanded)
    except (BackendError, ConfigError):
        raise
    except ImportError as exc:
        hint = f"pip install 'danggol[{backend.extra}]'" if backend.extra else "install its client"
        raise BackendError(f"the {backend.title} backend needs {exc.name}: {hint}") from exc
    except Exception as exc:
        raise BackendError(
            f"cannot connect to {backend.title} at {redact(url)}: {exc}. Check the URL in "
            "danggol.toml ([workspace] backend), that the engine is reachable, and the "
            "credentials"
        ) from exc


# --------------------------------------------------------------------------------------
# engine-dependent operations used by the library
# --------------------------------------------------------------------------------------


def temp_table(con: ibis.BaseBackend, name: str, obj: ir.Table | pa.Table) -> ir.Table:
    """``obj`` (an expression or an Arrow table) computed once for this session: a temporary
    table named ``name`` where the engine has them, else a cached temporary view."""
    import pyarrow as pa

    caps = capabilities(con)
    if caps.temp_tables:
        con.drop_table(name, force=True)  # (create_table(overwrite=True) fails on DuckDB, Ibis 12)
        return con.create_table(name, obj, temp=True)
    if isinstance(obj, pa.Table):
        if caps.arrow_memtables:
            return ibis.memtable(obj, name=name).cache()
        return _ARROW_IMPORT[caps.name](con, name, obj)
    return obj.cache()


def _spark_from_arrow(con: ibis.BaseBackend, name: str, table: pa.Table) -> ir.Table:
    """An Arrow table as a Spark temporary view, read by Spark's own Arrow reader (nulls kept)."""
    session = con._session
    session.createDataFrame(table).createOrReplaceTempView(name)
    return con.table(name)


#: engines whose Ibis memtables lose nulls: how to hand them an Arrow table instead
_ARROW_IMPORT: dict[str, Callable[[ibis.BaseBackend, str, pa.Table], ir.Table]] = {
    "pyspark": _spark_from_arrow,
}


#: the tables whose columns never change while a store is open (the canonical tables, the
#: load log): ``fixed_table`` looks each up once per connection
FIXED_TABLES = frozenset({"customers", "orders", "order_items", "products", "events", "ingest_log"})
#: the attribute of an Ibis connection that holds its fixed tables (an attribute, not a dict
#: keyed by connection: Ibis connections compare equal by what they opened — every DuckDB
#: store is attached to an in-memory database — so two workspaces' connections would share)
_FIXED_ATTR = "_danggol_fixed_tables"


def fixed_table(con: Any, name: str) -> ir.Table:
    """``con.table(name)``, looked up once per connection for the tables whose columns never
    change while it is open (:data:`FIXED_TABLES`: their columns are declared in
    ``store/tables.py`` and change only by a migration, done before a connection is handed
    out). Ibis' DuckDB backend asks the engine for a table's schema at every ``table()``
    call (2–3 ms; a behavioural count made seven). Anything else (another table, a wrapper
    that is not a backend, such as ``profile._OnlyCustomers``) is looked up every time."""
    if name not in FIXED_TABLES or not isinstance(con, ibis.BaseBackend):
        return con.table(name)
    tables: dict[str, ir.Table] | None = con.__dict__.get(_FIXED_ATTR)
    if tables is None:
        tables = con.__dict__[_FIXED_ATTR] = {}
    found = tables.get(name)
    if found is None:
        found = tables[name] = con.table(name)
    return found


def to_rows(
    con: ibis.BaseBackend, expr: ir.Expr, *, inline_ctes: bool = False
) -> list[tuple[Any, ...]]:
    """The rows of a small result (a count, a bookkeeping row) as tuples. On the embedded DuckDB
    store the expression's SQL runs on the DuckDB connection: Ibis' ``to_pyarrow`` there loads
    pandas for its type converters, which costs a command more than its query does.
    ``inline_ctes``: see :func:`duckdb_sql`."""
    if capabilities(con).embedded_store:
        return con.con.execute(duckdb_sql(expr, inline_ctes=inline_ctes)).fetchall()
    import pyarrow as pa

    result = expr.to_pyarrow()
    if isinstance(result, pa.Table):
        return [tuple(row.values()) for row in result.to_pylist()]
    return [(result.as_py(),)]


def duckdb_sql(expr: ir.Expr, *, inline_ctes: bool = False) -> str:
    """An expression's DuckDB SQL, on one line (printing it pretty costs a count tens of ms).

    ``inline_ctes``: every common table expression Ibis makes of a relation used twice (two
    MATCHES over the same purchased lines) is marked ``NOT MATERIALIZED``, so DuckDB plans
    each use with its own filters — as hand-written SQL with two subqueries does — instead of
    computing every line of every order once into a temporary result and filtering that
    (twice the CPU of the cross-sell count at 1M customers, docs/benchmarks.md)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers import duckdb as compilers

    compiler = compilers.compiler
    query = compiler.to_sqlglot(expr.unbind())
    if inline_ctes:
        for cte in query.find_all(sge.CTE):
            cte.set("materialized", False)
    return str(query.sql(dialect=compiler.dialect, pretty=False))


class _Cursor(Protocol):
    def fetchone(self) -> tuple[Any, ...] | None: ...


def one_row(cursor: _Cursor) -> tuple[Any, ...]:
    """The row of a DuckDB query that always returns exactly one (a ``count(*)``, an aggregate
    without ``GROUP BY``); a missing row is a bug, not data, and raises.

    >>> import duckdb
    >>> one_row(duckdb.connect().execute("SELECT count(*) FROM range(3)"))
    (3,)
    """
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("a query that returns one row returned none")
    return row


__all__ = [
    "BACKENDS",
    "EMBEDDED",
    "Backend",
    "backend_for",
    "capabilities",
    "connect",
    "expand_env",
    "one_row",
    "redact",
    "temp_table",
    "to_rows",
]
