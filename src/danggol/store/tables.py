"""Every table of the store, in one place, and the store's schema version.

The canonical tables (customers, orders, order_items, events) come from
:mod:`danggol.schema`; the bookkeeping tables of every layer above (the load log and
quarantine, refresh history, grade history, prediction runs, campaigns, webhooks, the
schedule) are declared here. A new store gets all of them at ``danggol init``; a store made
by an older danggol is brought to :data:`SCHEMA_VERSION` when it is first opened
(:func:`migrate`, one transaction) — so a reader never has to create a table, and a store
opened read-only has every table it will be asked for.

Two tables are not declared: ``profile_snapshot`` and ``profile_snapshot_meta`` are written
whole by each refresh (``CREATE OR REPLACE TABLE … AS``), their columns following the
profile's, and a reader checks that they exist.

The derived tables (:data:`DERIVED`) are declared but not created by ``init`` or
:func:`migrate`: a refresh writes them whole, and an absent one means "not built" (the reader
falls back to the fact tables), so a store of any version may lack them and no version
change comes with them.

Versions:

* 1 — danggol up to this change: no ``danggol_schema`` table; the bookkeeping tables were
  created by the module that first wrote them, so an old store may lack some.
* 2 — every table below exists; ``danggol_schema`` records the version.
* 3 — the ``products`` table (a catalogue's product tags, for ``products_purchased(tag: …)``)
  and the customers' ``account_status`` and ``company`` columns. A version-2 store gains them
  empty (``ALTER TABLE … ADD COLUMN``); the profile snapshot is unaffected (the segment
  compiler joins these columns from the customers table when a query names them).
* 4 — the customers' ``sms_opt_in`` column (SMS consent apart from e-mail); a version-3 store
  gains it empty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from danggol.schema import TABLES as CANONICAL

#: the version this danggol writes and expects
SCHEMA_VERSION = 4
VERSION_TABLE = "danggol_schema"

#: name → column definitions (DuckDB DDL), every table but the canonical ones
BOOKKEEPING: dict[str, str] = {
    # ingest: the load log, the quarantine, the customers each load touched (an
    # incremental refresh recomputes only them)
    "quarantine": "batch_id BIGINT, table_name VARCHAR, source_file VARCHAR, "
    "source_line BIGINT, reason VARCHAR, record VARCHAR, quarantined_at TIMESTAMP",
    "ingest_log": "batch_id BIGINT, table_name VARCHAR, source_file VARCHAR, rows_read BIGINT, "
    "loaded BIGINT, updated BIGINT, quarantined BIGINT, ingested_at TIMESTAMP",
    "touched_customers": "batch_id BIGINT, customer_id VARCHAR",
    "touched_batches": "batch_id BIGINT",
    # refresh and membership history (segments/history.py)
    "refreshes": "refresh_id BIGINT, as_of DATE, started_at TIMESTAMP, finished_at TIMESTAMP, "
    "segments INTEGER, seconds DOUBLE",
    "segment_members": "segment VARCHAR, customer_id VARCHAR",
    "segment_changes": "refresh_id BIGINT, segment VARCHAR, customer_id VARCHAR, change VARCHAR",
    "segment_sizes": "refresh_id BIGINT, segment VARCHAR, size BIGINT, entered BIGINT, "
    "left_count BIGINT, query VARCHAR",
    # what each refresh changed in the latest date's members (the webhooks read it)
    "segment_moves": "refresh_id BIGINT, segment VARCHAR, customer_id VARCHAR, change VARCHAR",
    # grades (scores/grades.py) and prediction runs (predict/customers.py)
    "grade_history": "customer_id VARCHAR, as_of DATE, grade VARCHAR, grade_level INTEGER, "
    "previous_grade VARCHAR, change VARCHAR",
    "prediction_runs": "as_of DATE, recorded_at TIMESTAMP, run JSON",
    # activation (activation/campaigns.py, webhooks.py, schedule.py)
    "campaigns": "name VARCHAR PRIMARY KEY, segment VARCHAR, query VARCHAR, goal VARCHAR, "
    "kpi VARCHAR, as_of DATE, window_start DATE, window_end DATE, holdout_share DOUBLE, "
    "seed BIGINT, treated BIGINT, holdout BIGINT, created_at TIMESTAMP",
    "campaign_members": "campaign VARCHAR, customer_id VARCHAR, holdout BOOLEAN",
    "webhook_endpoints": "name VARCHAR PRIMARY KEY, url VARCHAR, secret VARCHAR, "
    "segments VARCHAR[], batch_size INTEGER, last_refresh BIGINT, created_at TIMESTAMP",
    "webhook_outbox": "delivery_id VARCHAR PRIMARY KEY, endpoint VARCHAR, refresh_id BIGINT, "
    "segment VARCHAR, batch_no INTEGER, body VARCHAR, status VARCHAR, attempts INTEGER, "
    "next_attempt_at TIMESTAMP, last_error VARCHAR, created_at TIMESTAMP, "
    "delivered_at TIMESTAMP",
    "webhook_dead_letters": "delivery_id VARCHAR, endpoint VARCHAR, attempts INTEGER, "
    "last_error VARCHAR, failed_at TIMESTAMP",
    "schedule_files": "path VARCHAR, size BIGINT, mtime DOUBLE, table_name VARCHAR, "
    "loaded_at TIMESTAMP",
    "schedule_runs": "run_id BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP, "
    "as_of DATE, status VARCHAR, files INTEGER, refresh_id BIGINT, error VARCHAR",
    # the store's own schema version
    VERSION_TABLE: "version INTEGER, migrated_at TIMESTAMP",
}

#: the purchased order lines (every line of a purchase — an order with status ``paid`` or
#: ``partially_refunded`` — with its order's customer and local date; ``unit`` numbers the
#: order), written by each refresh that finds the store loaded since the last one built
#: them (``pipeline.materialise_purchase_lines``), read by the segment compiler in place of
#: joining ``order_items`` with ``orders`` while no load came since
#: (``profile.purchase_lines_current``)
PURCHASE_LINES = "purchase_lines"
#: the data version (latest ingest batch) the purchased lines were built from
PURCHASE_LINES_META = "purchase_lines_meta"
DERIVED: dict[str, str] = {
    PURCHASE_LINES: "customer_id VARCHAR, unit BIGINT, order_date DATE, product_id VARCHAR, "
    "category VARCHAR, unit_price DOUBLE, amount DOUBLE",
    PURCHASE_LINES_META: "data_version BIGINT, built_at TIMESTAMP",
}

#: the tables of each layer (the modules that write them name them from here)
SYSTEM = ("quarantine", "ingest_log", "touched_customers", "touched_batches")
HISTORY = (
    "refreshes",
    "segment_members",
    "segment_changes",
    "segment_sizes",
    "segment_moves",
)
CAMPAIGNS = ("campaigns", "campaign_members")
WEBHOOKS = ("webhook_endpoints", "webhook_outbox", "webhook_dead_letters")
SCHEDULE = ("schedule_files", "schedule_runs")


def columns(name: str) -> str:
    """The column definitions of a declared table (canonical or bookkeeping)."""
    if name in CANONICAL:
        return ", ".join(f'"{c}" {t}' for c, t in CANONICAL[name].store_columns())
    return BOOKKEEPING[name]


def ddl(name: str) -> str:
    if name == "segment_moves":
        # a store from before moves were kept apart: its changes were the moves (each
        # refresh was compared with the one before it), so they start the table
        return (
            "CREATE TABLE IF NOT EXISTS segment_moves AS SELECT refresh_id, segment, "
            "customer_id, change FROM segment_changes"
        )
    return f'CREATE TABLE IF NOT EXISTS "{name}" ({columns(name)})'


def all_tables() -> list[str]:
    return [*CANONICAL, *BOOKKEEPING]


def existing(con: Any) -> set[str]:
    """The tables the store has (``con``: a DuckDB connection)."""
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database()"
        ).fetchall()
    }


def version(con: Any) -> int:
    """The schema version the store records (1: made before versions were recorded)."""
    if VERSION_TABLE not in existing(con):
        return 1
    row = con.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0]) if row and row[0] is not None else 1


def ensure(con: Any, names: tuple[str, ...] | list[str]) -> None:
    """Create the declared tables among ``names`` that the store lacks. On a store at the
    current version every table exists and this writes nothing (a read-only connection is
    fine)."""
    missing = [n for n in names if n not in existing(con)]
    for name in missing:
        con.execute(ddl(name))


def missing_columns(con: Any, name: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a canonical table's declared columns the stored table lacks."""
    stored = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_catalog = current_database() AND table_name = ?",
            [name],
        ).fetchall()
    }
    return [(c, t) for c, t in CANONICAL[name].store_columns() if c not in stored]


def migrate(con: Any) -> list[str]:
    """Bring the store to :data:`SCHEMA_VERSION` inside the caller's transaction: create every
    missing table, add the canonical tables' missing columns (empty), and record the version.
    Returns the tables created."""
    have = existing(con)
    created = [n for n in all_tables() if n not in have]
    for name in created:
        con.execute(ddl(name))
    for name in CANONICAL:
        if name in created:
            continue
        for column, type_ in missing_columns(con, name):
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {type_}')
    con.execute(
        f"INSERT INTO {VERSION_TABLE} VALUES (?, ?)",
        [SCHEMA_VERSION, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )
    return created
