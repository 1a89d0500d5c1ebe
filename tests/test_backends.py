"""Backend URLs, capabilities and what a workspace on another engine allows (no engine needed:
the parity of results on Spark and Postgres is tests/test_parity.py)."""

from __future__ import annotations

import datetime as dt
import socket
import sys
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from danggol.cli.main import app, run
from danggol.config import CONFIG_FILE, STORE_FILE, read_config
from danggol.errors import BackendError, ConfigError
from danggol.ingest.load import ingest_tables
from danggol.pipeline import refresh
from danggol.store.backends import (
    BACKENDS,
    backend_for,
    capabilities,
    connect,
    expand_env,
    redact,
    temp_table,
)
from danggol.store.workspace import Workspace

runner = CliRunner()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("duckdb", "duckdb"),
        ("pyspark://local[2]", "pyspark"),
        ("pyspark://spark-master:7077/shop", "pyspark"),
        ("spark://spark-master:7077", "pyspark"),
        ("postgres://u:p@h:5432/db", "postgres"),
        ("postgresql://u@h/db", "postgres"),
        ("bigquery://project/dataset", "bigquery"),
        ("snowflake://u:p@account/db/schema?warehouse=wh", "snowflake"),
        ("  PostgreSQL://u@h/db", "postgres"),
    ],
)
def test_backend_for_url(url: str, name: str) -> None:
    assert backend_for(url).name == name


@pytest.mark.parametrize("url", ["mysql://u@h/db", "", "local[2]", "/tmp/store.duckdb"])
def test_unknown_engine_names_the_known_ones(url: str) -> None:
    with pytest.raises(ConfigError, match=r"not an engine danggol knows.*pyspark://local\[2\]"):
        backend_for(url)


def test_only_the_embedded_store_loads() -> None:
    loading = [b.name for b in BACKENDS.values() if b.embedded_store]
    assert loading == ["duckdb"]
    assert not BACKENDS["pyspark"].temp_tables and not BACKENDS["pyspark"].arrow_memtables


def test_env_vars_in_the_url_are_expanded_and_quoted() -> None:
    env = {"PW": "p@ss/word", "HOST": "db.internal"}
    url = "postgres://shop:${PW}@${HOST}:5432/shop"
    assert expand_env(url, env) == "postgres://shop:p%40ss%2Fword@db.internal:5432/shop"
    with pytest.raises(ConfigError, match=r"environment variable MISSING is not set"):
        expand_env("postgres://shop:${MISSING}@h/db", env)


def test_redact_hides_a_literal_password() -> None:
    assert redact("postgres://shop:s3cret@h:5432/db") == "postgres://shop:***@h:5432/db"
    assert redact("pyspark://local[2]") == "pyspark://local[2]"


def test_capabilities_of_a_connection() -> None:
    con = ibis.duckdb.connect()
    assert capabilities(con) is BACKENDS["duckdb"]


def test_temp_table_holds_the_rows_once() -> None:
    con = ibis.duckdb.connect()
    data = pa.table({"customer_id": ["a", "b", None], "x": [1.5, None, 3.0]})
    stored = temp_table(con, "_t", data)
    assert stored.to_pyarrow().to_pylist() == data.to_pylist()
    # a second call replaces it (a refresh of the same date in one session)
    other = ibis.memtable({"customer_id": ["c"], "x": [9.0]})
    again = temp_table(con, "_t", other)
    assert con.table("_t").to_pyarrow().to_pylist() == [{"customer_id": "c", "x": 9.0}]
    assert again.count().to_pyarrow().as_py() == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_engine_is_a_clear_error_without_the_password() -> None:
    pytest.importorskip("psycopg")
    url = f"postgres://shop:s3cret@127.0.0.1:{_closed_port()}/shop"
    with pytest.raises(BackendError, match=r"cannot connect to PostgreSQL") as info:
        connect(url)
    assert "s3cret" not in str(info.value) and "shop:***@" in str(info.value)


# --------------------------------------------------------------------------------------
# a workspace that reads from another engine
# --------------------------------------------------------------------------------------

PG_URL = "postgres://shop:${DANGGOL_TEST_PW}@db.internal:5432/shop"


def test_old_config_without_backend_still_loads(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_FILE
    path.write_text('[workspace]\ntimezone = "UTC"\ncurrency = "KRW"\n', encoding="utf-8")
    assert read_config(path).backend == "duckdb"


def test_init_with_a_backend_writes_the_url_and_no_store(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "shop", backend=PG_URL)
    assert not (tmp_path / "shop" / STORE_FILE).exists()
    assert read_config(tmp_path / "shop" / CONFIG_FILE).backend == PG_URL
    reopened = Workspace.open(tmp_path / "shop")
    assert reopened.backend.name == "postgres" and not reopened.backend.embedded_store


def test_a_read_only_engine_refuses_loading_and_refresh(tmp_path: Path) -> None:
    """Refused before any connection is tried (db.internal does not exist)."""
    ws = Workspace.init(tmp_path / "shop", backend=PG_URL)
    with pytest.raises(BackendError, match=r"'danggol refresh' needs the embedded DuckDB store"):
        refresh(ws, dt.date(2025, 6, 30))
    with pytest.raises(BackendError, match=r"loading data needs .* read-only source"):
        ingest_tables(ws, {})
    with pytest.raises(BackendError, match=r"PostgreSQL \(postgres://shop:\*\*\*@db.internal"):
        _ = ws.duck


def test_cli_init_backend_and_ingest_refused(
    tmp_path: Path, write_csv, capsys, monkeypatch
) -> None:
    shop = str(tmp_path / "shop")
    result = runner.invoke(app, ["init", shop, "--backend", "pyspark://local[2]"])
    assert result.exit_code == 0, result.output
    assert "reading from Apache Spark" in result.output
    assert 'backend = "pyspark://local[2]"' in (tmp_path / "shop" / CONFIG_FILE).read_text()
    orders = write_csv("orders.csv", ["order_id", "customer_id", "ordered_at", "total"], [])
    monkeypatch.setattr(sys, "argv", ["danggol", "-w", shop, "ingest", "orders", str(orders)])
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "'danggol ingest' needs the embedded DuckDB store" in message
    assert "Apache Spark" in message


def test_cli_init_unknown_backend_is_one_line_error(tmp_path: Path, capsys, monkeypatch) -> None:
    argv = ["danggol", "init", str(tmp_path / "shop"), "--backend", "mysql://u@h/db"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2
    assert "not an engine danggol knows" in capsys.readouterr().err
    assert not (tmp_path / "shop").exists()
