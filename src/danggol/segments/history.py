"""Refresh and membership history.

``refresh(ws, as_of)`` materialises the profile and evaluates every saved segment in one
transaction (a reader sees the previous refresh or this one, never half), recording who
entered and who left each segment. The store keeps the current members and the changes,
so the members at any past refresh — and the movers between two — can be reconstructed:
a customer is a member at refresh *r* when their latest change up to *r* is ``entered``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import asdict, dataclass, field

import duckdb
import ibis

from danggol.errors import SegmentError
from danggol.predict.customers import predict_profile, store_run
from danggol.profile import (
    SNAPSHOT_META,
    SNAPSHOT_TABLE,
    _data_version,
    customer_profile,
    event_column,
    event_names,
    profile_of,
    with_percentiles,
)
from danggol.scores import add_scores
from danggol.scores.grades import Grades, record_grade_history
from danggol.segments.compile import Compiler
from danggol.segments.definition import Segment
from danggol.segments.parse import to_query
from danggol.segments.registry import Registry
from danggol.store import tables as store_tables
from danggol.store.workspace import Workspace

#: the history tables (declared with every store table in danggol.store.tables)
TABLES = {name: store_tables.columns(name) for name in store_tables.HISTORY}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    store_tables.ensure(con, store_tables.HISTORY)


@dataclass
class SegmentRefresh:
    segment: str
    size: int
    entered: int
    left: int


@dataclass
class RefreshResult:
    refresh_id: int
    as_of: str
    seconds: float
    customers: int
    segments: list[SegmentRefresh] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    #: customers recomputed by an incremental refresh; None after a full one
    recomputed: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "segments"},
            "segments": [asdict(s) for s in self.segments],
        }


def refresh(
    ws: Workspace,
    as_of: dt.date,
    *,
    segments: dict[str, Segment] | None = None,
    full: bool = False,
) -> RefreshResult:
    """Materialise the scored profile and snapshot every saved segment (or the ones given),
    all in one transaction: a reader sees the previous refresh or this one, never half.
    The profile is rebuilt incrementally when that gives the same table more cheaply (see
    :func:`materialise_profile`); ``full`` forces a complete rebuild."""
    ws.require_store("'danggol refresh'")
    started = time.perf_counter()
    # wall clock in UTC, both ends taken here (current_timestamp is the transaction's start,
    # in the session's zone: it put finished_at before started_at)
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    chosen = Registry(ws.path / "segments").saved() if segments is None else segments
    with ws.transaction():
        ensure_tables(ws.duck)  # inside: a refresh in another thread may be creating them too
        recomputed = materialise_profile(ws, as_of, full=full)
        record_grades(ws, as_of)
        result = snapshot_segments(ws, as_of, chosen)
        result.recomputed = recomputed
        ws.duck.execute(
            "INSERT INTO refreshes VALUES (?, ?, ?, ?, ?, ?)",
            [
                result.refresh_id,
                as_of,
                started_at,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                len(result.segments),
                time.perf_counter() - started,
            ],
        )
    result.seconds = round(time.perf_counter() - started, 3)
    return result


#: an incremental refresh is used when at most this share of the stored customers changed
INCREMENTAL_MAX_SHARE = 0.3


def incremental_plan(ws: Workspace, as_of: dt.date) -> int | None:
    """The stored profile's data version when an incremental refresh can rebuild it exactly
    (same as-of date, same event names, every later load logged its touched customers, and
    few enough customers touched), else None: a full refresh."""
    con = ws.duck
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    if not {SNAPSHOT_TABLE, SNAPSHOT_META, "touched_batches", "touched_customers"} <= tables:
        return None
    meta = con.execute(f"SELECT as_of, data_version FROM {SNAPSHOT_META}").fetchall()
    if not meta or meta[0][0] != as_of:
        return None
    since = int(meta[0][1])
    current = _data_version(ws.ibis)
    if current <= since:
        return None
    logged = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT batch_id FROM ingest_log WHERE batch_id > ? "
        "EXCEPT SELECT batch_id FROM touched_batches)",
        [since],
    ).fetchone()[0]
    if logged:
        return None  # a load from before touched customers were logged
    stored = [r[0] for r in con.execute(f"DESCRIBE {SNAPSHOT_TABLE}").fetchall()]
    if {c for c in stored if c.startswith("events_") and c != "events_total"} != {
        event_column(n) for n in event_names(ws.ibis)
    }:
        return None  # a new event name: new columns
    touched, total = con.execute(
        f"SELECT (SELECT count(DISTINCT customer_id) FROM touched_customers WHERE batch_id > ?), "
        f"(SELECT count(*) FROM {SNAPSHOT_TABLE})",
        [since],
    ).fetchone()
    return since if touched <= INCREMENTAL_MAX_SHARE * max(total, 1) else None


def materialise_profile(ws: Workspace, as_of: dt.date, *, full: bool = False) -> int | None:
    """Store the profile with every score and prediction as ``profile_snapshot`` (inside the
    caller's transaction); ``profile_snapshot_meta`` says for which date and data version, and
    ``prediction_runs`` what the prediction models fitted (or why they did not).

    Incremental (unless ``full``, see :func:`incremental_plan`): only the customers the loads
    since the stored profile touched are recomputed from the fact tables; the others' rows are
    kept, then the spend percentiles, scores and predictions are recomputed over everyone —
    the same table a full refresh builds. Returns the number of customers recomputed, or None
    after a full rebuild."""
    con = ws.duck
    since = None if full else incremental_plan(ws, as_of)
    recomputed = None
    if since is None:
        sql = ibis.to_sql(customer_profile(ws.ibis, as_of), dialect="duckdb")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _profile_base AS {sql}")
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _touched AS SELECT DISTINCT customer_id "
            "FROM touched_customers WHERE batch_id > ?",
            [since],
        )
        fresh = profile_of(ws.ibis, as_of, ws.ibis.table("_touched"), events=event_names(ws.ibis))
        kept = ws.ibis.table(SNAPSHOT_TABLE).anti_join(ws.ibis.table("_touched"), "customer_id")
        merged = ibis.union(kept.select(*fresh.columns), fresh)
        sql = ibis.to_sql(with_percentiles(merged), dialect="duckdb")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _profile_base AS {sql}")
        recomputed = int(con.execute("SELECT count(*) FROM _touched").fetchone()[0])
        con.execute("DROP TABLE _touched")
    scored = add_scores(ws.ibis, ws.ibis.table("_profile_base"), as_of)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _scored AS {ibis.to_sql(scored, dialect='duckdb')}")
    full_table, run = predict_profile(
        ws.ibis, ws.ibis.table("_scored"), as_of, ws.config.predictions
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {SNAPSHOT_TABLE} AS {ibis.to_sql(full_table, dialect='duckdb')}"
    )
    con.execute("DROP TABLE _profile_base")
    con.execute("DROP TABLE _scored")
    store_run(con, run)
    con.execute(
        f"CREATE OR REPLACE TABLE {SNAPSHOT_META} AS SELECT ?::DATE AS as_of, ?::BIGINT AS data_version",
        [as_of, _data_version(ws.ibis)],
    )
    return recomputed


def record_grades(ws: Workspace, as_of: dt.date) -> None:
    """Grade history from the stored profile's ``grade`` (inside the caller's transaction), so
    every scheduled refresh re-evaluates grades and records upgrades and downgrades."""
    stored = ws.ibis.table(SNAPSHOT_TABLE)
    graded = stored.filter(stored.grade.notnull())
    current = graded.select("customer_id", "grade", grade_level=Grades().level_expr(graded.grade))
    record_grade_history(ws.duck, as_of, ibis.to_sql(current, dialect="duckdb"))


def segment_queries(
    ws: Workspace, as_of: dt.date, segments: dict[str, Segment]
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Each runnable segment's member SQL over the stored profile (and its query text), and
    the segments skipped with the reason."""
    reg = Registry(ws.path / "segments")
    compiler = Compiler(ws.ibis, as_of, base=ws.ibis.table(SNAPSHOT_TABLE), resolver=reg.tree)
    queries: dict[str, tuple[str, str]] = {}
    skipped: dict[str, str] = {}
    for name, segment in segments.items():
        missing = segment.missing_params()
        if missing:
            skipped[name] = f"needs the parameter(s) {', '.join(missing)}"
            continue
        tree = segment.tree()
        members = compiler.members(tree).select("customer_id")
        queries[name] = (ibis.to_sql(members, dialect="duckdb"), to_query(tree))
    return queries, skipped


def snapshot_segments(
    ws: Workspace,
    as_of: dt.date,
    segments: dict[str, Segment],
    *,
    queries: dict[str, tuple[str, str]] | None = None,
) -> RefreshResult:
    """Evaluate the segments on the stored profile and record members, entered/left and sizes
    under a new refresh id (inside the caller's transaction). ``queries`` replaces the compiled
    member SQL (the benchmark passes hand-written SQL through the same bookkeeping)."""
    con = ws.duck
    skipped: dict[str, str] = {}
    if queries is None:
        queries, skipped = segment_queries(ws, as_of, segments)
    refresh_id = int(
        con.execute("SELECT COALESCE(max(refresh_id), 0) + 1 FROM refreshes").fetchall()[0][0]
    )
    customers = int(con.execute(f"SELECT count(*) FROM {SNAPSHOT_TABLE}").fetchall()[0][0])
    result = RefreshResult(refresh_id, as_of.isoformat(), 0.0, customers, skipped=skipped)
    result.segments = _snapshot(con, refresh_id, queries)
    return result


def _snapshot(
    con: duckdb.DuckDBPyConnection, refresh_id: int, queries: dict[str, tuple[str, str]]
) -> list[SegmentRefresh]:
    """Evaluate all segments in one query, then record entered/left and sizes set-wise."""
    if not queries:
        return []
    union = " UNION ALL ".join(
        f"SELECT DISTINCT ? AS segment, customer_id FROM ({sql})" for sql, _ in queries.values()
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS {union}", list(queries))
    con.execute("CREATE OR REPLACE TEMP TABLE _chosen (segment VARCHAR, query VARCHAR)")
    con.executemany("INSERT INTO _chosen VALUES (?, ?)", [[k, q] for k, (_, q) in queries.items()])
    try:
        old = "SELECT segment, customer_id FROM segment_members WHERE segment IN (SELECT segment FROM _chosen)"
        con.execute(
            "INSERT INTO segment_changes SELECT ?, segment, customer_id, 'entered' FROM "
            f"(SELECT segment, customer_id FROM _new EXCEPT {old})",
            [refresh_id],
        )
        con.execute(
            "INSERT INTO segment_changes SELECT ?, segment, customer_id, 'left' FROM "
            f"({old} EXCEPT SELECT segment, customer_id FROM _new)",
            [refresh_id],
        )
        con.execute("DELETE FROM segment_members WHERE segment IN (SELECT segment FROM _chosen)")
        con.execute("INSERT INTO segment_members SELECT segment, customer_id FROM _new")
        rows = con.execute(
            """
            INSERT INTO segment_sizes
            SELECT ?, c.segment, COALESCE(n.size, 0), COALESCE(ch.entered, 0), COALESCE(ch.left_count, 0), c.query
            FROM _chosen c
            LEFT JOIN (SELECT segment, count(*) AS size FROM _new GROUP BY segment) n USING (segment)
            LEFT JOIN (
              SELECT segment, count(*) FILTER (WHERE change = 'entered') AS entered,
                     count(*) FILTER (WHERE change = 'left') AS left_count
              FROM segment_changes WHERE refresh_id = ? GROUP BY segment
            ) ch USING (segment)
            RETURNING segment, size, entered, left_count
            """,
            [refresh_id, refresh_id],
        ).fetchall()
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS _new")
            con.execute("DROP TABLE IF EXISTS _chosen")
    sizes = {r[0]: SegmentRefresh(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows}
    return [sizes[name] for name in queries]


def _refresh_at(con: duckdb.DuckDBPyConnection, day: dt.date) -> int:
    """The latest refresh whose as-of date is on or before ``day``."""
    rows = con.execute("SELECT max(refresh_id) FROM refreshes WHERE as_of <= ?", [day]).fetchall()
    if rows[0][0] is None:
        raise SegmentError(
            f"no refresh as of {day} or earlier: run 'danggol refresh --as-of {day}' first"
        )
    return int(rows[0][0])


def members_at_sql() -> str:
    """SQL (with 2 parameters: segment, refresh_id) for the members at a refresh."""
    return (
        "SELECT customer_id FROM segment_changes WHERE segment = ? AND refresh_id <= ? "
        "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY refresh_id DESC) = 1 "
        "AND change = 'entered'"
    )


def diff(ws: Workspace, segment: str, start: dt.date, end: dt.date) -> dict[str, object]:
    """Who entered and who left ``segment`` between the refreshes as of two dates."""
    con = ws.duck
    ensure_tables(con)
    r1, r2 = _refresh_at(con, start), _refresh_at(con, end)
    sql = members_at_sql()
    entered = con.execute(
        f"SELECT customer_id FROM ({sql}) EXCEPT SELECT customer_id FROM ({sql}) ORDER BY 1",
        [segment, r2, segment, r1],
    ).fetchall()
    left = con.execute(
        f"SELECT customer_id FROM ({sql}) EXCEPT SELECT customer_id FROM ({sql}) ORDER BY 1",
        [segment, r1, segment, r2],
    ).fetchall()
    return {
        "segment": segment,
        "from_refresh": r1,
        "to_refresh": r2,
        "entered": [r[0] for r in entered],
        "left": [r[0] for r in left],
    }


def sizes(ws: Workspace, segment: str | None = None) -> list[dict[str, object]]:
    """Size over time: one row per refresh (and segment)."""
    con = ws.duck
    ensure_tables(con)
    where = "WHERE s.segment = ?" if segment else ""
    rows = con.execute(
        "SELECT s.segment, r.refresh_id, r.as_of, s.size, s.entered, s.left_count "
        f"FROM segment_sizes s JOIN refreshes r USING (refresh_id) {where} ORDER BY s.segment, r.refresh_id",
        [segment] if segment else [],
    ).fetchall()
    keys = ("segment", "refresh_id", "as_of", "size", "entered", "left")
    return [dict(zip(keys, r, strict=True)) for r in rows]
