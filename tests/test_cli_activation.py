"""The activation commands as a user runs them: export, webhooks, campaign, schedule."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.errors import DanggolError

runner = CliRunner()


@pytest.fixture
def shop(ws, write_csv):
    customers = write_csv(
        "customers.csv",
        ["customer_id", "name", "email", "phone", "marketing_opt_in"],
        [
            ["c1", "김민지", "a@example.com", "010-1234-5678", "true"],
            ["c2", "이서준", "b@example.com", "+82 10 9876 5432", "false"],
            ["c3", "박지우", "c@example.com", "02-123-4567", "true"],
        ],
    )
    orders = write_csv(
        "orders.csv",
        ["order_id", "customer_id", "ordered_at", "total"],
        [
            ["o1", "c1", "2025-06-01", 10_000],
            ["o2", "c2", "2025-06-02", 20_000],
            ["o3", "c3", "2025-06-03", 30_000],
        ],
    )
    path = str(ws.path)
    ws.close()
    for table, file in (("customers", customers), ("orders", orders)):
        run(path, "ingest", table, str(file), "--json")
    return path


def run(ws: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["-w", ws, *args])
    assert result.exit_code == code, result.output
    return result.output


def fails(ws: str, *args: str) -> str:
    """The message of the danggol error a command stops with (``run`` prints it, exit 2)."""
    result = runner.invoke(app, ["-w", ws, *args])
    assert result.exit_code != 0 and isinstance(result.exception, DanggolError)
    return str(result.exception)


BUYERS = "number_of_orders >= 1"


def test_export_sms_summary(shop, tmp_path):
    out = tmp_path / "sms.csv"
    summary = json.loads(
        run(
            shop,
            "export",
            BUYERS,
            "--format",
            "sms",
            "--out",
            str(out),
            "--as-of",
            "2025-06-30",
            "--json",
        )
    )
    assert (summary["members"], summary["written"]) == (3, 1)
    assert summary["left_out"] == {
        "not opted in to marketing": 1,
        "phone is not a Korean mobile number": 1,
    }
    assert out.read_text(encoding="utf-8-sig").splitlines()[1] == '"c1","010-1234-5678","김민지"'
    # the file exists: replacing it is asked for (issue 14 item 3: never overwritten silently)
    args = ("export", BUYERS, "--format", "sms", "--out", str(out), "--include-opted-out")
    assert "--overwrite" in fails(shop, *args)
    text = run(shop, *args, "--overwrite")
    assert "2 of 3 members written" in text


def test_export_never_writes_over_the_workspace_or_a_folder(shop, tmp_path):
    """Issue 14 item 3: ``export SEG --out WS/store.duckdb`` replaced the store with CSV ("7 of
    7 members written"); item 18: ``--out FOLDER`` ended in an IsADirectoryError traceback."""
    from pathlib import Path

    ws = Path(shop)
    (ws / "exports").mkdir()
    run(shop, "segment", "save", "buyers", "--query", BUYERS)
    before = {p.name: p.read_bytes() for p in (ws / "store.duckdb", ws / "danggol.toml")}
    saved = (ws / "segments" / "buyers.yaml").read_bytes()
    (tmp_path / "link.duckdb").symlink_to(ws / "store.duckdb")
    for target in (
        ws / "store.duckdb",
        ws / "store.duckdb.wal",
        ws / "danggol.toml",
        ws / "segments" / "buyers.yaml",
        ws / "segments" / "new.yaml",
        tmp_path / "link.duckdb",  # a link to the store is the store
    ):
        for extra in ((), ("--overwrite",)):  # not even when asked
            message = fails(shop, "export", BUYERS, "--out", str(target), *extra)
            assert "own files" in message, target
    for folder in (tmp_path, ws / "segments", ws):
        assert "is a folder" in fails(shop, "export", BUYERS, "--out", str(folder))
    assert {p.name: p.read_bytes() for p in (ws / "store.duckdb", ws / "danggol.toml")} == before
    assert (ws / "segments" / "buyers.yaml").read_bytes() == saved
    assert sorted(p.name for p in (ws / "segments").iterdir()) == ["buyers.yaml"]
    assert not (ws / "store.duckdb.wal").exists()
    # a folder of the user's own inside the workspace is fine
    assert "3 of 3 members written" in run(
        shop, "export", BUYERS, "--out", str(ws / "exports" / "b.csv")
    )
    # the store still opens and holds the shop
    run(shop, "export", "buyers", "--out", str(ws / "exports" / "c.csv"), "--as-of", "2025-06-30")
    lines = (ws / "exports" / "c.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines] == ['"customer_id"', '"c1"', '"c2"', '"c3"']


def test_export_unknown_format_is_an_error(shop, tmp_path):
    message = fails(shop, "export", BUYERS, "--format", "xls", "--out", str(tmp_path / "x"))
    assert "unknown export format 'xls'" in message


def test_campaign_create_list_export_report(shop, tmp_path):
    made = json.loads(
        run(
            shop,
            "campaign",
            "create",
            "spring",
            BUYERS,
            "--holdout",
            "0.34",
            "--as-of",
            "2025-06-30",
            "--json",
        )
    )
    assert (made["treated"], made["holdout"]) == (2, 1)  # round(0.34 × 3) = 1
    assert json.loads(run(shop, "campaign", "list", "--json"))[0]["name"] == "spring"
    out = tmp_path / "spring.csv"
    summary = json.loads(
        run(
            shop,
            "campaign",
            "export",
            "spring",
            "--out",
            str(out),
            "--fields",
            "customer_id",
            "--json",
        )
    )
    assert summary["holdout_left_out"] == 1 and summary["written"] == 2
    rep = json.loads(run(shop, "campaign", "report", "spring", "--json"))
    assert rep["treated"]["customers"] == 2 and rep["holdout"]["customers"] == 1
    assert rep["treated"]["buyers"] == 0 and rep["complete"] is False  # no order after 06-30
    assert "conversion_rate" in run(shop, "campaign", "report", "spring")


def test_webhooks_add_list_status_remove(shop):
    # a loopback URL is refused unless danggol.toml allows non-public addresses (issue 14)
    assert "allow_private_urls" in fails(shop, "webhooks", "add", "crm", "http://127.0.0.1:9/x")
    allow_private_urls(shop)
    added = json.loads(run(shop, "webhooks", "add", "crm", "http://127.0.0.1:9/x", "--json"))
    assert len(added["secret"]) == 64
    listed = json.loads(run(shop, "webhooks", "list", "--json"))
    assert [e["name"] for e in listed] == ["crm"] and "secret" not in listed[0]
    run(shop, "refresh", "--as-of", "2025-06-30")
    sent = json.loads(run(shop, "webhooks", "send", "--no-wait", "--json"))
    assert sent["enqueued"] == 0  # no saved segment, so no change to send
    status = json.loads(run(shop, "webhooks", "status", "--json"))
    assert status["endpoints"] == [{"endpoint": "crm", "pending": 0, "delivered": 0, "failed": 0}]
    run(shop, "webhooks", "remove", "crm")
    assert "no webhook named 'crm'" in fails(shop, "webhooks", "remove", "crm")


def test_schedule_run_failure_exits_1_and_is_listed(shop, tmp_path):
    out = run(shop, "schedule", "run", "--inbox", str(tmp_path / "missing"), code=1)
    assert "is not a" in out and "last good snapshot is unchanged" in out
    runs = json.loads(run(shop, "schedule", "runs", "--json"))
    assert runs[0]["status"] == "failed"
    ok = json.loads(run(shop, "schedule", "run", "--as-of", "2025-06-30", "--json"))
    assert ok["status"] == "ok" and ok["refresh"]["customers"] == 3


def allow_private_urls(shop: str) -> None:
    with open(f"{shop}/danggol.toml", "a", encoding="utf-8") as f:
        f.write("\n[webhooks]\nallow_private_urls = true\n")


def test_refresh_queues_the_changes_for_the_webhooks(shop):
    allow_private_urls(shop)  # the endpoint is on 127.0.0.1
    run(shop, "webhooks", "add", "crm", "http://127.0.0.1:9/x", "--json")
    run(shop, "segment", "save", "big", "--query", "amount_spent >= 20000")
    out = run(shop, "refresh", "--as-of", "2025-06-30")
    # c2 and c3 entered 'big': one batch of two, queued by the refresh itself
    assert "1 webhook batches queued" in out
    status = json.loads(run(shop, "webhooks", "status", "--json"))
    assert status["endpoints"][0]["pending"] == 1
    # sending enqueues again: nothing is added twice
    sent = json.loads(run(shop, "webhooks", "send", "--no-wait", "--json"))
    assert sent["enqueued"] == 0
