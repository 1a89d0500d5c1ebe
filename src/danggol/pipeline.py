"""The refresh pipeline: one step that calls several layers, so it sits above them.

``refresh(ws, as_of)`` runs the stages in one transaction — a reader sees the previous
refresh or this one, never half:

1. **profile** — the customer profile as of the date (:mod:`danggol.profile`), rebuilt
   incrementally when that gives the same table more cheaply (:func:`materialise_profile`);
2. **scores** — RFM, lifecycle, grades and tiers learned from it (:mod:`danggol.scores`);
3. **predictions** — the purchase and spend models fitted and their fields joined on
   (:mod:`danggol.predict.customers`); the result is stored as ``profile_snapshot``;
4. **purchase lines** — every purchased order line with its order's customer and date, stored
   as ``purchase_lines`` when the store was loaded since they were last built
   (:func:`materialise_purchase_lines`; the segment compiler reads them instead of joining
   the fact tables while no load came since);
5. **grades** — the grade history recorded from it (:func:`record_grades`);
6. **segments** — every saved segment evaluated on it, and its members, entered/left and
   size recorded (:func:`danggol.segments.history.snapshot_segments`);
7. **snapshot** — the run itself in ``refreshes``.

The membership history (snapshots, diffs, sizes) lives in :mod:`danggol.segments.history`;
this module only composes the stages.
"""

from __future__ import annotations

import datetime as dt
import time

import ibis

from danggol.predict.customers import predict_profile, store_run
from danggol.profile import (
    SNAPSHOT_META,
    SNAPSHOT_TABLE,
    customer_profile,
    data_version,
    event_column,
    event_names,
    profile_of,
    purchase_lines_current,
    with_percentiles,
)
from danggol.progress import stage
from danggol.schema import PURCHASE_STATUSES
from danggol.scores import add_scores
from danggol.scores.grades import Grades, record_grade_history
from danggol.segments import history
from danggol.segments.definition import Segment
from danggol.segments.history import RefreshResult
from danggol.segments.registry import Registry
from danggol.store.backends import one_row
from danggol.store.tables import PURCHASE_LINES, PURCHASE_LINES_META
from danggol.store.workspace import Workspace

__all__ = [
    "INCREMENTAL_MAX_SHARE",
    "PAST_PROFILE",
    "RefreshResult",
    "incremental_plan",
    "materialise_profile",
    "materialise_purchase_lines",
    "record_grades",
    "refresh",
    "stored_as_of",
]


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
    :func:`materialise_profile`); ``full`` forces a complete rebuild.

    History is by date (:mod:`danggol.segments.history`): refreshing a date again replaces
    its snapshot, and refreshing a date older than the stored profile's records that date's
    snapshot (and the grade history) while ``profile_snapshot`` stays the latest date's."""
    ws.require_store("'danggol refresh'")
    started = time.perf_counter()
    # wall clock in UTC, both ends taken here (current_timestamp is the transaction's start,
    # in the session's zone: it put finished_at before started_at)
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    chosen = Registry(ws.path / "segments").saved() if segments is None else segments
    with ws.transaction():
        # inside: a refresh in another thread may be creating them too
        history.ensure_tables(ws.duck)
        # the stored profile is the latest date's: an older date is worked out on the side
        latest = stored_as_of(ws)
        profile = PAST_PROFILE if latest is not None and as_of < latest else SNAPSHOT_TABLE
        recomputed = materialise_profile(ws, as_of, full=full, table=profile)
        stage("purchase lines")
        materialise_purchase_lines(ws, full=full)
        stage("grades")
        record_grades(ws, as_of, profile=profile)
        stage("segments")
        result = history.snapshot_segments(ws, as_of, chosen, profile=profile)
        result.recomputed = recomputed
        if profile == PAST_PROFILE:
            ws.duck.execute(f"DROP TABLE {PAST_PROFILE}")
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


#: the temporary table a refresh of a date older than the stored profile's works in
PAST_PROFILE = "_profile_past"


def stored_as_of(ws: Workspace) -> dt.date | None:
    """The as-of date of the stored profile (``profile_snapshot``), None before the first."""
    con = ws.duck
    exists = one_row(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [SNAPSHOT_META]
        )
    )[0]
    rows = con.execute(f"SELECT as_of FROM {SNAPSHOT_META}").fetchall() if exists else []
    return rows[0][0] if rows else None


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
    current = data_version(ws.ibis)
    if current <= since:
        return None
    logged = one_row(
        con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT batch_id FROM ingest_log WHERE batch_id > ? "
            "EXCEPT SELECT batch_id FROM touched_batches)",
            [since],
        )
    )[0]
    if logged:
        return None  # a load from before touched customers were logged
    stored = [r[0] for r in con.execute(f"DESCRIBE {SNAPSHOT_TABLE}").fetchall()]
    if {c for c in stored if c.startswith("events_") and c != "events_total"} != {
        event_column(n) for n in event_names(ws.ibis)
    }:
        return None  # a new event name: new columns
    touched, total = one_row(
        con.execute(
            f"SELECT (SELECT count(DISTINCT customer_id) FROM touched_customers WHERE batch_id > ?), "
            f"(SELECT count(*) FROM {SNAPSHOT_TABLE})",
            [since],
        )
    )
    return since if touched <= INCREMENTAL_MAX_SHARE * max(total, 1) else None


def materialise_profile(
    ws: Workspace, as_of: dt.date, *, full: bool = False, table: str = SNAPSHOT_TABLE
) -> int | None:
    """Store the profile with every score and prediction as ``profile_snapshot`` (inside the
    caller's transaction); ``profile_snapshot_meta`` says for which date and data version, and
    ``prediction_runs`` what the prediction models fitted (or why they did not).

    Incremental (unless ``full``, see :func:`incremental_plan`): only the customers the loads
    since the stored profile touched are recomputed from the fact tables; the others' rows are
    kept, then the spend percentiles, scores and predictions are recomputed over everyone —
    the same table a full refresh builds. Returns the number of customers recomputed, or None
    after a full rebuild.

    With another ``table`` (a refresh of an older date), the profile is built in full into
    that temporary table and the stored profile and its meta are left alone."""
    con = ws.duck
    stored = table == SNAPSHOT_TABLE
    stage("profile")
    since = None if full or not stored else incremental_plan(ws, as_of)
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
        recomputed = int(one_row(con.execute("SELECT count(*) FROM _touched"))[0])
        con.execute("DROP TABLE _touched")
    stage("scores")
    scored = add_scores(ws.ibis, ws.ibis.table("_profile_base"), as_of)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _scored AS {ibis.to_sql(scored, dialect='duckdb')}")
    stage("predictions")
    full_table, run = predict_profile(
        ws.ibis, ws.ibis.table("_scored"), as_of, ws.config.predictions
    )
    kind = "TABLE" if stored else "TEMP TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {table} AS {ibis.to_sql(full_table, dialect='duckdb')}")
    con.execute("DROP TABLE _profile_base")
    con.execute("DROP TABLE _scored")
    store_run(con, run)
    if not stored:
        return recomputed
    con.execute(
        f"CREATE OR REPLACE TABLE {SNAPSHOT_META} AS SELECT ?::DATE AS as_of, ?::BIGINT AS data_version",
        [as_of, data_version(ws.ibis)],
    )
    return recomputed


#: the purchased lines' columns, from one order line (``i``) joined with its order (``o``);
#: ``unit`` numbers the order (its row in ``orders``: a number counts faster than the text id)
_LINE_COLUMNS = (
    "o.customer_id, o.rowid AS unit, o.order_date, i.product_id, i.category, i.unit_price, "
    "i.unit_price * i.quantity AS amount"
)


def materialise_purchase_lines(ws: Workspace, *, full: bool = False) -> bool:
    """Store every purchased order line with its order's customer and date as
    ``purchase_lines`` (inside the caller's transaction), and in ``purchase_lines_meta`` the
    data version it was built from — unless the stored lines are already of this data
    version (no load since) and ``full`` is not asked. The segment compiler reads them
    instead of joining the fact tables while they are current
    (:func:`danggol.profile.purchase_lines_current`). Returns whether they were built."""
    con = ws.duck
    version = data_version(ws.ibis)
    if not full and purchase_lines_current(ws.ibis):
        return False
    statuses = ", ".join(f"'{s}'" for s in PURCHASE_STATUSES)
    con.execute(
        f"CREATE OR REPLACE TABLE {PURCHASE_LINES} AS SELECT {_LINE_COLUMNS} "
        f"FROM order_items i JOIN (SELECT rowid, order_id, customer_id, order_date FROM orders "
        f"WHERE status IN ({statuses})) o USING (order_id)"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {PURCHASE_LINES_META} AS "
        "SELECT ?::BIGINT AS data_version, ?::TIMESTAMP AS built_at",
        [version, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )
    return True


def record_grades(ws: Workspace, as_of: dt.date, *, profile: str = SNAPSHOT_TABLE) -> None:
    """Grade history from the stored profile's ``grade`` (inside the caller's transaction), so
    every scheduled refresh re-evaluates grades and records upgrades and downgrades."""
    stored = ws.ibis.table(profile)
    graded = stored.filter(stored.grade.notnull())
    current = graded.select("customer_id", "grade", grade_level=Grades().level_expr(graded.grade))
    record_grade_history(ws.duck, as_of, ibis.to_sql(current, dialect="duckdb"))
