"""The segment commands as a user runs them: a query or a saved name wherever a segment is."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from danggol.cli.main import app

runner = CliRunner()


@pytest.fixture
def shop(ws, write_csv):
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [
            ["o1", "c1", "2025-01-10", 100_000],  # c1: last order in January
            ["o2", "c2", "2025-06-20", 20_000],  # c2: recent
            ["o3", "c3", "2024-12-01", 5_000],  # c3: long ago
        ],
    )
    customers = write_csv(
        "customers.csv", ["customer_id", "tags"], [["c1", "vip"], ["c2", ""], ["c3", "wholesale"]]
    )
    runner_ws = str(ws.path)
    ws.close()  # the CLI opens the store itself
    for table, path in (("customers", customers), ("orders", orders)):
        result = runner.invoke(app, ["-w", runner_ws, "ingest", table, str(path), "--json"])
        assert result.exit_code == 0, result.output
    return runner_ws


def run(ws: str, *args: str) -> str:
    result = runner.invoke(app, ["-w", ws, *args])
    assert result.exit_code == 0, result.output
    return result.output


LAPSED = "number_of_orders >= 1 AND last_order_date < -5m"  # as of 06-30: before 01-30


def test_count_json(shop):
    out = json.loads(run(shop, "segment", "count", LAPSED, "--as-of", "2025-06-30", "--json"))
    assert out["count"] == 2 and out["query"] == LAPSED  # c1 (01-10) and c3 (12-01)


def test_members_csv_with_fields(shop):
    out = run(
        shop,
        "segment",
        "members",
        LAPSED,
        "--as-of",
        "2025-06-30",
        "--fields",
        "customer_id,amount_spent,customer_tags",
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["customer_id"], float(r["amount_spent"]), r["tags"]) for r in rows] == [
        ("c1", 100000.0, "vip"),
        ("c3", 5000.0, "wholesale"),
    ]


def test_save_list_show_explain_sql_delete(shop):
    run(
        shop,
        "segment",
        "save",
        "lapsed",
        "--query",
        LAPSED,
        "--title-ko",
        "휴면 고객",
        "--goal",
        "conversion_cycle",
    )
    listing = json.loads(run(shop, "segment", "list", "--json"))
    saved = [s for s in listing if s["name"] == "lapsed"]
    assert saved and saved[0]["title"] == "휴면 고객" and not saved[0]["builtin"]
    assert {s["name"] for s in listing} >= {"cross_sell", "top_spenders"}
    shown = json.loads(run(shop, "segment", "show", "lapsed", "--json"))
    assert shown["query"] == LAPSED
    assert shown["words"]["en"][1] == "  - number of orders is at least 1"
    explained = json.loads(
        run(
            shop,
            "segment",
            "explain",
            "lapsed",
            "--customer",
            "c2",
            "--as-of",
            "2025-06-30",
            "--json",
        )
    )
    assert explained["in_segment"] is False
    assert [c["held"] for c in explained["tree"]["children"]] == [True, False]
    sql = run(shop, "segment", "sql", "lapsed", "--as-of", "2025-06-30", "--dialect", "postgres")
    assert "SELECT" in sql and "2025" in sql
    run(shop, "segment", "delete", "lapsed")
    assert "lapsed" not in {s["name"] for s in json.loads(run(shop, "segment", "list", "--json"))}


def test_refresh_and_diff(shop):
    run(shop, "segment", "save", "lapsed", "--query", LAPSED)
    first = json.loads(run(shop, "refresh", "--as-of", "2025-05-31", "--json"))
    # as of 05-31: before 12-31 → c3 only (c2 has not bought yet)
    assert first["segments"] == [{"segment": "lapsed", "size": 1, "entered": 1, "left": 0}]
    second = json.loads(run(shop, "refresh", "--as-of", "2025-06-30", "--json"))
    assert second["segments"] == [{"segment": "lapsed", "size": 2, "entered": 1, "left": 0}]
    diff = json.loads(
        run(
            shop,
            "segment",
            "diff",
            "lapsed",
            "--from",
            "2025-05-31",
            "--to",
            "2025-06-30",
            "--json",
        )
    )
    assert diff["entered"] == ["c1"] and diff["left"] == []


def test_builtin_with_params(shop):
    out = json.loads(
        run(
            shop,
            "segment",
            "count",
            "local_festival",
            "--param",
            "region=서울특별시",
            "--json",
            "--as-of",
            "2025-06-30",
        )
    )
    assert out["count"] == 0 and out["segment"] == "local_festival"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segment", "count", "amount_spend > 5"], "did you mean 'amount_spent'"),
        (["segment", "count", "last_order_date > 'abc'"], "compare it with a date"),
        (["segment", "count", "cross_sell"], "product_a, product_b"),
        (["segment", "explain", "top_spenders", "--customer", "nobody"], "no customer 'nobody'"),
        (["segment", "sql", "top_spenders", "--dialect", "oracle9"], "unknown SQL dialect"),
        (["segment", "diff", "x", "--from", "2025-13-01", "--to", "2025-06-30"], "YYYY-MM-DD"),
    ],
)
def test_errors_say_what_to_do(shop, args, message):
    result = runner.invoke(app, ["-w", shop, *args])
    assert result.exit_code != 0
    assert message in str(result.exception)
