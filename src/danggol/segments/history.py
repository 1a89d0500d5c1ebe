"""Membership history by date: segment snapshots, who entered and who left, diffs and sizes.

:func:`snapshot_segments` evaluates segments on a stored profile and records their members
as of the refresh's date (inside the caller's transaction — :func:`danggol.pipeline.refresh`
runs it as its segments stage). History is keyed by the as-of date, not by the order the
refreshes ran in:

* ``segment_changes`` holds, for each segment and date it was evaluated at, who entered and
  who left relative to the *previous date* it was evaluated at, so a customer is a member as of
  date *d* when their latest change at or before *d* is ``entered``. The rows of a date carry
  the id of the refresh that holds that date's snapshot (``refreshes`` gives its date).
* A second refresh of the same date replaces that date's snapshot; a refresh of a date
  between two others recomputes the next date's changes relative to it — so the history, the
  diffs and the sizes are the same whatever order the dates were refreshed in.
* ``segment_members`` holds the members at the segment's *latest* date, and ``segment_moves``
  what each refresh changed in it (what the webhooks announce, ``activation/webhooks.py``): a
  refresh of a date older than the latest moves nobody, so it never announces members as
  having just entered or left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import ibis

from danggol.errors import SegmentError
from danggol.profile import SNAPSHOT_TABLE
from danggol.segments.compile import Compiler
from danggol.segments.definition import Segment
from danggol.segments.printer import to_query
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


def segment_queries(
    ws: Workspace,
    as_of: dt.date,
    segments: dict[str, Segment],
    *,
    profile: str = SNAPSHOT_TABLE,
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Each runnable segment's member SQL over the stored profile ``profile`` (and its query
    text), and the segments skipped with the reason."""
    reg = Registry(ws.path / "segments")
    compiler = Compiler(
        ws.ibis,
        as_of,
        base=ws.ibis.table(profile),
        resolver=reg.tree,
        timezone=ws.config.timezone,
    )
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
    profile: str = SNAPSHOT_TABLE,
) -> RefreshResult:
    """Evaluate the segments on the stored profile ``profile`` and record their snapshot as of
    ``as_of`` under a new refresh id (inside the caller's transaction): members, entered/left
    relative to the previous date, the next date's changes recomputed, sizes and moves.
    ``queries`` replaces the compiled member SQL (the benchmark passes hand-written SQL
    through the same bookkeeping)."""
    con = ws.duck
    skipped: dict[str, str] = {}
    if queries is None:
        queries, skipped = segment_queries(ws, as_of, segments, profile=profile)
    refresh_id = int(
        con.execute("SELECT COALESCE(max(refresh_id), 0) + 1 FROM refreshes").fetchall()[0][0]
    )
    customers = int(con.execute(f"SELECT count(*) FROM {profile}").fetchall()[0][0])
    result = RefreshResult(refresh_id, as_of.isoformat(), 0.0, customers, skipped=skipped)
    result.segments = _snapshot(con, refresh_id, as_of, queries)
    return result


#: the members of each segment of ``{dates}`` (segment, as_of) as of its date, from the changes
#: (``_runs`` gives each refresh id its date): the latest change at or before it is 'entered'
_MEMBERS_AT = """
SELECT c.segment, c.customer_id
FROM segment_changes c JOIN _runs r USING (refresh_id) JOIN {dates} d ON d.segment = c.segment
WHERE r.as_of <= d.as_of
QUALIFY row_number() OVER (
  PARTITION BY c.segment, c.customer_id ORDER BY r.as_of DESC, c.refresh_id DESC) = 1
AND c.change = 'entered'
"""

_TEMP = ("_new", "_chosen", "_runs", "_held", "_prev", "_next", "_before", "_after")


def _snapshot(
    con: duckdb.DuckDBPyConnection,
    refresh_id: int,
    as_of: dt.date,
    queries: dict[str, tuple[str, str]],
) -> list[SegmentRefresh]:
    """Evaluate all segments in one query, then record the date's snapshot set-wise:

    1. the members at each segment's previous date (``_before``: the current members when
       that date is the segment's latest) and next date (``_after``) are read from the changes
       *before* anything is written;
    2. the date's earlier snapshot (if any) and the next date's changes are deleted;
    3. the date's changes (new members vs ``_before``) and the next date's (``_after`` vs the
       new members) are inserted, and the sizes written or updated;
    4. where the date is the segment's latest, the current members are replaced and what
       moved is recorded in ``segment_moves``."""
    if not queries:
        return []
    union = " UNION ALL ".join(
        f"SELECT DISTINCT ? AS segment, customer_id FROM ({sql})" for sql, _ in queries.values()
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS {union}", list(queries))
    con.execute("CREATE OR REPLACE TEMP TABLE _chosen (segment VARCHAR, query VARCHAR)")
    con.executemany("INSERT INTO _chosen VALUES (?, ?)", [[k, q] for k, (_, q) in queries.items()])
    chosen = "segment IN (SELECT segment FROM _chosen)"
    try:
        # every refresh's date, this one's included (its row in 'refreshes' comes at the end)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _runs AS SELECT refresh_id, as_of FROM refreshes "
            "UNION ALL SELECT ?::BIGINT, ?::DATE",
            [refresh_id, as_of],
        )
        # the dates each chosen segment was evaluated at, and the refresh holding each
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _held AS SELECT s.segment, r.as_of, "
            "max(s.refresh_id) AS refresh_id FROM segment_sizes s JOIN _runs r USING (refresh_id) "
            f"WHERE s.{chosen} GROUP BY ALL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _prev AS SELECT segment, max(as_of) AS as_of "
            "FROM _held WHERE as_of < ? GROUP BY segment",
            [as_of],
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _next AS SELECT segment, arg_min(refresh_id, as_of) "
            "AS refresh_id, min(as_of) AS as_of FROM _held WHERE as_of > ? GROUP BY segment",
            [as_of],
        )
        # members at the previous date: where it is the segment's latest (the usual refresh
        # of a new date), the current members; otherwise read back from the changes
        latest = "(SELECT segment, max(as_of) AS as_of FROM _held GROUP BY segment)"
        replayed = f"(SELECT p.* FROM _prev p JOIN {latest} l USING (segment) WHERE l.as_of >= ?)"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _before AS "
            f"SELECT m.segment, m.customer_id FROM segment_members m JOIN {latest} l "
            "USING (segment) WHERE l.as_of < ? "
            f"UNION ALL {_MEMBERS_AT.format(dates=replayed)}",
            [as_of, as_of],
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _after AS {_MEMBERS_AT.format(dates='_next')}")

        # 2. this date's earlier snapshot and the next date's changes go
        this_date = "refresh_id IN (SELECT refresh_id FROM _runs WHERE as_of = ?)"
        con.execute(f"DELETE FROM segment_changes WHERE {chosen} AND {this_date}", [as_of])
        con.execute(f"DELETE FROM segment_sizes WHERE {chosen} AND {this_date}", [as_of])
        next_date = (
            "(segment, refresh_id) IN (SELECT n.segment, r.refresh_id FROM _next n "
            "JOIN _runs r ON r.as_of = n.as_of)"
        )
        con.execute(f"DELETE FROM segment_changes WHERE {next_date}")
        con.execute(
            f"DELETE FROM segment_sizes WHERE {next_date} "
            "AND (segment, refresh_id) NOT IN (SELECT segment, refresh_id FROM _next)"
        )

        # 3. this date's changes, the next date's, the sizes
        con.execute(
            "INSERT INTO segment_changes SELECT ?, segment, customer_id, 'entered' FROM "
            "(SELECT segment, customer_id FROM _new EXCEPT SELECT segment, customer_id FROM _before)",
            [refresh_id],
        )
        con.execute(
            "INSERT INTO segment_changes SELECT ?, segment, customer_id, 'left' FROM "
            "(SELECT segment, customer_id FROM _before EXCEPT SELECT segment, customer_id FROM _new)",
            [refresh_id],
        )
        con.execute(
            "INSERT INTO segment_changes SELECT n.refresh_id, d.segment, d.customer_id, d.change "
            "FROM (SELECT segment, customer_id, 'entered' AS change FROM "
            "  (SELECT segment, customer_id FROM _after EXCEPT SELECT segment, customer_id FROM _new) "
            "  UNION ALL SELECT segment, customer_id, 'left' FROM "
            "  (SELECT segment, customer_id FROM _new EXCEPT SELECT segment, customer_id FROM _after)"
            ") d JOIN _next n USING (segment)"
        )
        con.execute(
            """
            UPDATE segment_sizes s SET entered = n.entered, left_count = n.left_count
            FROM (
              SELECT n.segment, n.refresh_id,
                     count(c.change) FILTER (WHERE c.change = 'entered') AS entered,
                     count(c.change) FILTER (WHERE c.change = 'left') AS left_count
              FROM _next n LEFT JOIN segment_changes c USING (segment, refresh_id)
              GROUP BY ALL
            ) n
            WHERE s.segment = n.segment AND s.refresh_id = n.refresh_id
            """
        )
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

        # 4. the current members and what moved in them, where this date is the latest
        latest = "segment IN (SELECT segment FROM _chosen EXCEPT SELECT segment FROM _next)"
        current = f"SELECT segment, customer_id FROM segment_members WHERE {latest}"
        fresh = f"SELECT segment, customer_id FROM _new WHERE {latest}"
        con.execute(
            "INSERT INTO segment_moves SELECT ?, segment, customer_id, 'entered' FROM "
            f"({fresh} EXCEPT {current})",
            [refresh_id],
        )
        con.execute(
            "INSERT INTO segment_moves SELECT ?, segment, customer_id, 'left' FROM "
            f"({current} EXCEPT {fresh})",
            [refresh_id],
        )
        con.execute(f"DELETE FROM segment_members WHERE {latest}")
        con.execute(f"INSERT INTO segment_members {fresh}")
    finally:
        with contextlib.suppress(duckdb.Error):
            for table in _TEMP:
                con.execute(f"DROP TABLE IF EXISTS {table}")
    sizes = {r[0]: SegmentRefresh(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows}
    return [sizes[name] for name in queries]


def snapshot_date(
    con: duckdb.DuckDBPyConnection, segment: str, day: dt.date
) -> tuple[dt.date, int]:
    """The latest date on or before ``day`` that ``segment`` was evaluated at, and the refresh
    holding its snapshot."""
    rows = con.execute(
        "SELECT r.as_of, max(s.refresh_id) FROM segment_sizes s JOIN refreshes r USING (refresh_id) "
        "WHERE s.segment = ? AND r.as_of <= ? GROUP BY r.as_of ORDER BY r.as_of DESC LIMIT 1",
        [segment, day],
    ).fetchall()
    if not rows:
        known = con.execute(
            "SELECT min(r.as_of) FROM segment_sizes s JOIN refreshes r USING (refresh_id) "
            "WHERE s.segment = ?",
            [segment],
        ).fetchall()[0][0]
        if known is None:
            raise SegmentError(
                f"{segment!r} has no history: a refresh records the saved segments only; save "
                f"it (danggol segment save {segment} --from {segment}, or --query …), then run "
                f"'danggol refresh --as-of {day}'"
            )
        raise SegmentError(
            f"{segment!r} has no snapshot as of {day} or earlier (its first is as of {known}): "
            f"run 'danggol refresh --as-of {day}' first"
        )
    return rows[0][0], int(rows[0][1])


def members_at_sql() -> str:
    """SQL (with 2 parameters: segment, as-of date) for the members as of a date."""
    return (
        "SELECT c.customer_id FROM segment_changes c JOIN refreshes r USING (refresh_id) "
        "WHERE c.segment = ? AND r.as_of <= ? "
        "QUALIFY row_number() OVER (PARTITION BY c.customer_id "
        "ORDER BY r.as_of DESC, c.refresh_id DESC) = 1 AND c.change = 'entered'"
    )


def diff(ws: Workspace, segment: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Who entered and who left ``segment`` between its snapshots as of two dates (each the
    latest it has on or before the date), whatever order those dates were refreshed in."""
    con = ws.duck
    ensure_tables(con)
    (d1, r1), (d2, r2) = snapshot_date(con, segment, start), snapshot_date(con, segment, end)
    sql = members_at_sql()
    entered = con.execute(
        f"SELECT customer_id FROM ({sql}) EXCEPT SELECT customer_id FROM ({sql}) ORDER BY 1",
        [segment, d2, segment, d1],
    ).fetchall()
    left = con.execute(
        f"SELECT customer_id FROM ({sql}) EXCEPT SELECT customer_id FROM ({sql}) ORDER BY 1",
        [segment, d1, segment, d2],
    ).fetchall()
    return {
        "segment": segment,
        "from_refresh": r1,
        "to_refresh": r2,
        "from_as_of": d1,
        "to_as_of": d2,
        "entered": [r[0] for r in entered],
        "left": [r[0] for r in left],
    }


def sizes(ws: Workspace, segment: str | None = None) -> list[dict[str, object]]:
    """Size over time: one row per date (and segment), in date order."""
    con = ws.duck
    ensure_tables(con)
    where = "WHERE s.segment = ?" if segment else ""
    rows = con.execute(
        "SELECT s.segment, r.refresh_id, r.as_of, s.size, s.entered, s.left_count "
        f"FROM segment_sizes s JOIN refreshes r USING (refresh_id) {where} "
        "ORDER BY s.segment, r.as_of, r.refresh_id",
        [segment] if segment else [],
    ).fetchall()
    keys = ("segment", "refresh_id", "as_of", "size", "entered", "left")
    return [dict(zip(keys, r, strict=True)) for r in rows]
