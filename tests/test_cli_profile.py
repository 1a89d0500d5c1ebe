"""`danggol init`, `profile` in every format, `quarantine`, `demo`: the commands a new user meets."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from danggol.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_init_ingest_profile_in_every_format(tmp_path, write_csv):
    shop = str(tmp_path / "shop")
    invoke("init", shop, "--timezone", "Asia/Seoul", "--currency", "krw")
    assert 'currency = "KRW"' in (tmp_path / "shop" / "danggol.toml").read_text(encoding="utf-8")
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total", "status"],
        [
            ["o1", "c1", "2025-06-01", 10_000, "paid"],
            ["o2", "c1", "2025-06-11", 30_000, "paid"],
            ["o3", "c2", "2025-06-20", 5_000, "cancelled"],
            ["o4", "c3", "bad date", 1, "paid"],
        ],
    )
    counts = json.loads(invoke("-w", shop, "ingest", "orders", str(orders), "--json"))
    assert (counts["read"], counts["loaded"], counts["quarantined"]) == (4, 3, 1)
    quarantined = json.loads(invoke("-w", shop, "quarantine", "--json"))
    assert quarantined["total"] == 1 and quarantined["rows"][0]["line"] == 5

    text = invoke("-w", shop, "profile", "--as-of", "2025-06-30")
    rows = {r["customer_id"]: r for r in csv.DictReader(io.StringIO(text))}
    # c1: 2 purchases 10 days apart, 40,000 won; c2: only a cancelled order
    assert rows["c1"]["number_of_orders"] == "2" and float(rows["c1"]["amount_spent"]) == 40000
    assert (
        float(rows["c1"]["avg_days_between_orders"]) == 10.0
        and rows["c2"]["number_of_orders"] == "0"
    )

    out = tmp_path / "profile.parquet"
    invoke("-w", shop, "profile", "--as-of", "2025-06-30", "--format", "parquet", "--out", str(out))
    table = pq.read_table(out)
    assert sorted(table["customer_id"].to_pylist()) == ["c1", "c2"]

    out = tmp_path / "profile.jsonl"
    invoke("-w", shop, "profile", "--as-of", "2025-06-15", "--format", "json", "--out", str(out))
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # as of 06-15 only c1 (o1, o2) exists; c2's cancelled order is on 06-20
    assert [(r["customer_id"], r["number_of_orders"]) for r in lines] == [("c1", 2)]


def test_workspace_from_the_environment(tmp_path, monkeypatch):
    shop = str(tmp_path / "envshop")
    invoke("init", shop)
    monkeypatch.setenv("DANGGOL_WORKSPACE", shop)
    assert invoke("profile", "--as-of", "2025-06-30").startswith('"customer_id"')


def test_missing_workspace_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["-w", str(tmp_path / "nowhere"), "profile"])
    assert result.exit_code != 0
    assert "danggol init" in str(result.exception)


def test_demo_summary_json(tmp_path):
    out = json.loads(invoke("demo", str(tmp_path / "demo"), "--customers", "500", "--json"))
    assert out["customers"] == 500 and out["ingest"]["quarantined"] == 0
    assert out["ingest"]["read"] == out["ingest"]["loaded"]
    again = runner.invoke(app, ["demo", str(tmp_path / "demo"), "--customers", "500"])
    assert again.exit_code != 0 and "--replace" in str(again.exception)


def test_the_demo_shop_is_seen_as_of_its_last_day(tmp_path):
    # its history ends on --end; without danggol.toml's as_of, a command with no --as-of would
    # look at it from today, when nobody has bought for months
    folder = tmp_path / "demo"
    invoke("demo", str(folder), "--customers", "300", "--end", "2024-03-31", "--json")
    assert 'as_of = "2024-03-31"' in (folder / "danggol.toml").read_text(encoding="utf-8")
    query = "last_order_date >= -30d"
    given = json.loads(
        invoke("-w", str(folder), "segment", "count", query, "--as-of", "2024-03-31", "--json")
    )
    default = json.loads(invoke("-w", str(folder), "segment", "count", query, "--json"))
    assert default == given and given["count"] > 0
    later = json.loads(
        invoke("-w", str(folder), "segment", "count", query, "--as-of", "2025-03-31", "--json")
    )
    assert later["count"] == 0
