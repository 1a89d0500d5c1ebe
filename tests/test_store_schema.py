"""The store's schema in one place, versioned (issue 16 item 6): a new store has every
declared table and records its version; a store written by the previous release (its DDL
frozen below, as ``danggol init`` and the first refresh on main wrote it before versions were
recorded) is migrated in one transaction when it is first opened, its data untouched; a store
from a newer danggol is refused with what to do."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from danggol.config import WorkspaceConfig
from danggol.errors import WorkspaceError
from danggol.store import tables
from danggol.store.workspace import Workspace

SRC = Path(__file__).parent.parent / "src"
CLI = [sys.executable, "-c", "from danggol.cli.main import run; run()"]

#: the previous release's store, frozen: ``Workspace.create_tables`` of main before this
#: change (canonical tables + SYSTEM_TABLES) and the history tables its first refresh made;
#: every other bookkeeping table was created later by the module that first wrote it
PREVIOUS_RELEASE_DDL = [
    'CREATE TABLE "customers" ("customer_id" VARCHAR, "email" VARCHAR, "phone" VARCHAR, '
    '"name" VARCHAR, "gender" VARCHAR, "birth_date" DATE, "country" VARCHAR, "region" VARCHAR, '
    '"city" VARCHAR, "signup_at" TIMESTAMP, "signup_date" DATE, "signup_channel" VARCHAR, '
    '"marketing_opt_in" BOOLEAN, "tags" VARCHAR[])',
    'CREATE TABLE "orders" ("order_id" VARCHAR, "customer_id" VARCHAR, "ordered_at" TIMESTAMP, '
    '"order_date" DATE, "total" DOUBLE, "currency" VARCHAR, "status" VARCHAR, '
    '"refunded_amount" DOUBLE, "discount" DOUBLE, "coupon_code" VARCHAR, "shipping_fee" DOUBLE, '
    '"channel" VARCHAR)',
    'CREATE TABLE "order_items" ("order_id" VARCHAR, "product_id" VARCHAR, "product_name" '
    'VARCHAR, "category" VARCHAR, "quantity" BIGINT, "unit_price" DOUBLE, "line_no" BIGINT)',
    'CREATE TABLE "events" ("event_id" VARCHAR, "customer_id" VARCHAR, "event" VARCHAR, '
    '"occurred_at" TIMESTAMP, "event_date" DATE, "product_id" VARCHAR, "category" VARCHAR, '
    '"value" DOUBLE, "properties" VARCHAR)',
    'CREATE TABLE "quarantine" ("batch_id" BIGINT, "table_name" VARCHAR, "source_file" VARCHAR, '
    '"source_line" BIGINT, "reason" VARCHAR, "record" VARCHAR, "quarantined_at" TIMESTAMP)',
    'CREATE TABLE "ingest_log" ("batch_id" BIGINT, "table_name" VARCHAR, "source_file" VARCHAR, '
    '"rows_read" BIGINT, "loaded" BIGINT, "updated" BIGINT, "quarantined" BIGINT, '
    '"ingested_at" TIMESTAMP)',
    'CREATE TABLE "touched_customers" ("batch_id" BIGINT, "customer_id" VARCHAR)',
    'CREATE TABLE "touched_batches" ("batch_id" BIGINT)',
    "CREATE TABLE refreshes (refresh_id BIGINT, as_of DATE, started_at TIMESTAMP, "
    "finished_at TIMESTAMP, segments INTEGER, seconds DOUBLE)",
    "CREATE TABLE segment_members (segment VARCHAR, customer_id VARCHAR)",
    "CREATE TABLE segment_changes (refresh_id BIGINT, segment VARCHAR, customer_id VARCHAR, "
    "change VARCHAR)",
    "CREATE TABLE segment_sizes (refresh_id BIGINT, segment VARCHAR, size BIGINT, "
    "entered BIGINT, left_count BIGINT, query VARCHAR)",
]


def previous_release_store(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "danggol.toml").write_text(WorkspaceConfig().to_toml(), encoding="utf-8")
    con = duckdb.connect(str(path / "store.duckdb"))
    for ddl in PREVIOUS_RELEASE_DDL:
        con.execute(ddl)
    con.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, order_date, total, status) "
        "VALUES ('o1', 'c1', '2025-06-01 01:00', '2025-06-01', 12000, 'paid'), "
        "('o2', 'c1', '2025-06-20 01:00', '2025-06-20', 8000, 'paid'), "
        "('o3', 'c2', '2025-06-21 01:00', '2025-06-21', 5000, 'paid')"
    )
    con.execute("INSERT INTO ingest_log VALUES (1, 'orders', 'old.csv', 3, 3, 0, 0, now())")
    con.close()
    return path


def test_every_store_table_is_declared_in_one_module_and_a_new_store_has_them(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    have = tables.existing(ws.duck)
    assert have == set(tables.all_tables())
    assert tables.version(ws.duck) == tables.SCHEMA_VERSION
    ws.close()
    # the modules that write bookkeeping tables declare none of their own
    for module in ("activation/campaigns.py", "activation/webhooks.py", "activation/schedule.py"):
        text = (SRC / "danggol" / module).read_text(encoding="utf-8")
        assert "CREATE TABLE" not in text, module


def test_a_store_of_the_previous_release_is_migrated_when_first_opened(tmp_path):
    path = previous_release_store(tmp_path / "old")
    with Workspace.open(path) as ws:
        assert ws.count("orders") == 3  # opening migrated it (a writer), then read it
        assert tables.version(ws.duck) == tables.SCHEMA_VERSION
        assert tables.existing(ws.duck) == set(tables.all_tables())
        total = ws.duck.execute("SELECT sum(total) FROM orders").fetchone()[0]
    assert total == 12000 + 8000 + 5000
    # a read-only command on the migrated store: campaigns and webhooks read tables the old
    # store never had
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "200"}
    for args in (
        ["segment", "count", "number_of_orders >= 2", "--as-of", "2025-06-30"],
        ["campaign", "list"],
        ["webhooks", "list"],
    ):
        proc = subprocess.run(
            [*CLI, "-w", str(path), *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert proc.returncode == 0, (args, proc.stderr)
    # the version is recorded once, with the time of the migration
    con = duckdb.connect(str(path / "store.duckdb"), read_only=True)
    assert con.execute("SELECT version FROM danggol_schema").fetchall() == [
        (tables.SCHEMA_VERSION,)
    ]
    con.close()


#: schema version 2 as the release before product tags wrote it, frozen: the previous
#: release's tables above, every other bookkeeping table, and the version row
VERSION_2_DDL = [
    *PREVIOUS_RELEASE_DDL,
    "CREATE TABLE segment_moves (refresh_id BIGINT, segment VARCHAR, customer_id VARCHAR, "
    "change VARCHAR)",
    'CREATE TABLE "grade_history" (customer_id VARCHAR, as_of DATE, grade VARCHAR, '
    "grade_level INTEGER, previous_grade VARCHAR, change VARCHAR)",
    'CREATE TABLE "prediction_runs" (as_of DATE, recorded_at TIMESTAMP, run JSON)',
    'CREATE TABLE "campaigns" (name VARCHAR PRIMARY KEY, segment VARCHAR, query VARCHAR, '
    "goal VARCHAR, kpi VARCHAR, as_of DATE, window_start DATE, window_end DATE, "
    "holdout_share DOUBLE, seed BIGINT, treated BIGINT, holdout BIGINT, created_at TIMESTAMP)",
    'CREATE TABLE "campaign_members" (campaign VARCHAR, customer_id VARCHAR, holdout BOOLEAN)',
    'CREATE TABLE "webhook_endpoints" (name VARCHAR PRIMARY KEY, url VARCHAR, secret VARCHAR, '
    "segments VARCHAR[], batch_size INTEGER, last_refresh BIGINT, created_at TIMESTAMP)",
    'CREATE TABLE "webhook_outbox" (delivery_id VARCHAR PRIMARY KEY, endpoint VARCHAR, '
    "refresh_id BIGINT, segment VARCHAR, batch_no INTEGER, body VARCHAR, status VARCHAR, "
    "attempts INTEGER, next_attempt_at TIMESTAMP, last_error VARCHAR, created_at TIMESTAMP, "
    "delivered_at TIMESTAMP)",
    'CREATE TABLE "webhook_dead_letters" (delivery_id VARCHAR, endpoint VARCHAR, '
    "attempts INTEGER, last_error VARCHAR, failed_at TIMESTAMP)",
    'CREATE TABLE "schedule_files" (path VARCHAR, size BIGINT, mtime DOUBLE, '
    "table_name VARCHAR, loaded_at TIMESTAMP)",
    'CREATE TABLE "schedule_runs" (run_id BIGINT, started_at TIMESTAMP, finished_at TIMESTAMP, '
    "as_of DATE, status VARCHAR, files INTEGER, refresh_id BIGINT, error VARCHAR)",
    'CREATE TABLE "danggol_schema" (version INTEGER, migrated_at TIMESTAMP)',
    "INSERT INTO danggol_schema VALUES (2, '2026-11-01 00:00:00')",
]


def test_a_version_2_store_gains_products_and_the_customers_new_columns(tmp_path):
    """Version 3 adds the products table (product tags) and the customers' account_status and
    company columns: a version-2 store gets them empty in one transaction, its rows kept, and
    the segments that read them run on it."""
    path = tmp_path / "v2"
    path.mkdir()
    (path / "danggol.toml").write_text(WorkspaceConfig().to_toml(), encoding="utf-8")
    con = duckdb.connect(str(path / "store.duckdb"))
    for ddl in VERSION_2_DDL:
        con.execute(ddl)
    con.execute(
        "INSERT INTO customers (customer_id, email, tags) VALUES "
        "('c1', 'a@x.kr', ['vip']), ('c2', NULL, NULL)"
    )
    con.execute(
        "INSERT INTO orders (order_id, customer_id, ordered_at, order_date, total, status) "
        "VALUES ('o1', 'c1', '2025-06-01 01:00', '2025-06-01', 12000, 'paid')"
    )
    con.execute("INSERT INTO order_items VALUES ('o1', 'P1', 'Tee', 'tops', 1, 12000, 1)")
    con.close()

    with Workspace.open(path) as ws:
        assert tables.version(ws.duck) == 4  # through version 3 (and 4: sms_opt_in) at once
        assert tables.existing(ws.duck) == set(tables.all_tables())
        columns = [r[0] for r in ws.duck.execute("DESCRIBE customers").fetchall()]
        assert columns[-3:] == ["account_status", "company", "sms_opt_in"]
        rows = ws.duck.execute(
            "SELECT customer_id, email, tags, account_status, company FROM customers "
            "ORDER BY customer_id"
        ).fetchall()
        assert rows == [("c1", "a@x.kr", ["vip"], None, None), ("c2", None, None, None, None)]
        assert ws.duck.execute("SELECT count(*) FROM products").fetchone()[0] == 0
        assert ws.count("order_items") == 1
    # one version row more, the migration's; the segments over the new columns run
    con = duckdb.connect(str(path / "store.duckdb"), read_only=True)
    versions = con.execute("SELECT version FROM danggol_schema ORDER BY 1").fetchall()
    assert versions == [(2,), (4,)]
    con.close()
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", "COLUMNS": "200"}
    for query, want in (
        ("products_purchased MATCHES (tag = 'summer')", "0 customers"),
        ("customer_account_status IS NULL", "2 customers"),
        ("companies IS NOT NULL", "0 customers"),
        ("products_purchased MATCHES (id = 'P1')", "1 customers"),
    ):
        proc = subprocess.run(
            [*CLI, "-w", str(path), "segment", "count", query, "--as-of", "2025-06-30"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert proc.returncode == 0, (query, proc.stderr)
        assert proc.stdout.startswith(want), (query, proc.stdout)


def test_a_version_3_store_gains_the_sms_consent_column_where_a_new_store_has_it(tmp_path):
    """Version 4 adds customers.sms_opt_in (SMS consent apart from e-mail): a version-3 store's
    customers gain it empty, at the end, as a new store's customers have it — so a load writes
    the same columns into both."""
    old = Workspace.init(tmp_path / "v3")
    with old.transaction() as con:
        con.execute('ALTER TABLE customers DROP COLUMN "sms_opt_in"')
        con.execute(f"DELETE FROM {tables.VERSION_TABLE}")
        con.execute(f"INSERT INTO {tables.VERSION_TABLE} VALUES (3, '2026-12-01')")
        con.execute("INSERT INTO customers (customer_id, marketing_opt_in) VALUES ('c1', true)")
    old.close()
    fresh = Workspace.init(tmp_path / "new")
    want = [r[0] for r in fresh.duck.execute("DESCRIBE customers").fetchall()]
    fresh.close()
    with Workspace.open(tmp_path / "v3") as ws:
        assert tables.version(ws.duck) == 4
        assert [r[0] for r in ws.duck.execute("DESCRIBE customers").fetchall()] == want
        assert ws.duck.execute(
            "SELECT customer_id, marketing_opt_in, sms_opt_in FROM customers"
        ).fetchall() == [("c1", True, None)]


def test_a_store_from_a_newer_danggol_is_refused_with_what_to_do(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    with ws.transaction() as con:
        con.execute(
            f"INSERT INTO {tables.VERSION_TABLE} VALUES (?, ?)",
            [tables.SCHEMA_VERSION + 1, dt.datetime(2030, 1, 1)],
        )
    ws.close()
    with pytest.raises(WorkspaceError, match=r"newer danggol.*upgrade danggol"):
        Workspace.open(tmp_path / "shop").ibis  # noqa: B018
