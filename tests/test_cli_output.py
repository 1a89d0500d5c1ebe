"""Output a person can read: a progress bar on stderr only for a terminal (never in a pipe or
with --json); tables that never cut an identifier; listings in table, CSV or JSON.

Real processes: the CLI runs as a subprocess, its stderr a pipe or a pseudo-terminal (pty).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
CLI = [sys.executable, "-c", "from danggol.cli.main import run; run()"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DANGGOL_WORKSPACE"}
    env.update(PYTHONPATH=SRC, TERM="xterm-256color", **extra)
    env.pop("NO_COLOR", None)
    return env


def run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (as a person's shell) and stdout a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=slave, env=_env(COLUMNS="100"), cwd=cwd
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the other end closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=600)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo shop made by the CLI with stderr a pipe: no progress may show there."""
    root = tmp_path_factory.mktemp("out")
    done = subprocess.run(
        [*CLI, "demo", str(root / "shop"), "--customers", "300", "--seed", "3"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    return root / "shop", done


def test_no_progress_when_stderr_is_a_pipe(demo):
    _, done = demo
    assert "generate" not in done.stderr and "load" not in done.stderr
    assert "\x1b[?25l" not in done.stderr  # Rich hides the cursor while a live display runs
    refreshed = subprocess.run(
        [*CLI, "-w", str(demo[0]), "refresh", "--as-of", "2025-06-30"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert refreshed.returncode == 0, refreshed.stderr
    assert refreshed.stderr == ""


def test_progress_on_a_terminal_and_none_with_json(demo, tmp_path):
    code, stdout, stderr = run_with_tty_stderr(
        ["-w", str(demo[0]), "refresh", "--as-of", "2025-06-30"], tmp_path
    )
    assert code == 0, stderr
    assert "refresh" in stderr and "\x1b[?25l" in stderr  # a live display ran on the terminal
    assert "segments" in stderr  # the refresh's stages are named as they go
    assert "\x1b" not in stdout  # the result on stdout stays clean
    code, stdout, stderr = run_with_tty_stderr(
        ["-w", str(demo[0]), "refresh", "--as-of", "2025-06-30", "--json"], tmp_path
    )
    assert code == 0, stderr
    assert stderr.strip() == ""
    assert stdout.lstrip().startswith("{")


def test_each_file_of_a_load_shows_on_a_terminal(demo, tmp_path):
    orders = tmp_path / "new_orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,total,status\nX1,C-NEW,2025-06-01,10000,paid\n",
        encoding="utf-8",
    )
    code, _, stderr = run_with_tty_stderr(
        ["-w", str(demo[0]), "ingest", "orders", str(orders)], tmp_path
    )
    assert code == 0, stderr
    assert "new_orders.csv" in stderr


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    """A new workspace: the built-in segments are listed without any data."""
    path = tmp_path_factory.mktemp("list") / "shop"
    done = subprocess.run([*CLI, "init", str(path)], capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    return path


def _cli(*args: str, columns: int = 100) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=_env(COLUMNS=str(columns))
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("columns", [40, 160])
def test_segment_names_are_never_cut(empty, columns):
    names = [
        s["name"] for s in json.loads(_cli("-w", str(empty), "segment", "list", "--json").stdout)
    ]
    assert len(names) > 20 and max(map(len, names)) > 20
    shown = _cli("-w", str(empty), "segment", "list", columns=columns).stdout
    words = set(re.findall(r"[a-z0-9_]+", shown))
    assert set(names) <= words, sorted(set(names) - words)
    assert all(len(line) <= columns for line in shown.splitlines())


def test_listing_as_csv_parses_and_matches_json(empty):
    as_json = json.loads(_cli("-w", str(empty), "segment", "list", "--format", "json").stdout)
    as_csv = list(
        csv.DictReader(
            io.StringIO(_cli("-w", str(empty), "segment", "list", "--format", "csv").stdout)
        )
    )
    assert [r["name"] for r in as_csv] == [r["name"] for r in as_json]
    assert [r["goal"] for r in as_csv] == [r["goal"] for r in as_json]
    by_name = {r["name"]: r for r in as_csv}
    assert by_name["cross_sell"]["needs"] == "product_a; product_b"


@pytest.mark.parametrize(
    "args",
    [
        ["quarantine"],
        ["campaign", "list"],
        ["webhooks", "list"],
        ["schedule", "runs"],
        ["grades", "history"],
    ],
)
def test_every_listing_takes_format(empty, args):
    items = json.loads(_cli("-w", str(empty), *args, "--format", "json").stdout)
    items = items["rows"] if isinstance(items, dict) else items
    got = list(csv.reader(io.StringIO(_cli("-w", str(empty), *args, "--format", "csv").stdout)))
    assert len(got) == 1 + len(items)  # a header line, then one line per item


def test_an_unknown_format_is_a_clear_error(empty):
    bad = subprocess.run(
        [*CLI, "-w", str(empty), "segment", "list", "--format", "xml"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert bad.returncode == 2 and "--format is one of table, csv, json" in bad.stderr


def test_money_in_the_shops_currency():
    from danggol.cli.options import money

    assert money(1234567.8) == "₩1,234,568"  # KRW: no decimals, separators
    assert money(12_345_678_901.0, "KRW") == "₩12,345,678,901"  # never 1.23e+10
    assert money(-0.4, "KRW") == "₩0" and money(-1500, "KRW") == "-₩1,500"
    assert money(1234.5, "USD") == "$1,234.50"
    assert money(99.999, "CHF") == "100.00 CHF"
    assert money(500, "JPY") == "¥500"


def test_prediction_and_campaign_values_read_as_money_and_percent():
    from danggol.cli.activation import _kpi
    from danggol.cli.predict import _field_value

    assert _field_value("predicted_clv", 3.2e9, "KRW") == "₩3,200,000,000"
    assert _field_value("mean_p_alive", 0.4567, "KRW") == "45.7%"
    assert _field_value("expected_orders", 123456.789, "KRW") == "123,456.79"
    assert _field_value("future_vips", 1200, "KRW") == "1,200"
    assert _kpi(0.0312, "conversion_rate", "KRW") == "3.12%"
    assert _kpi(45210.6, "aov", "KRW") == "₩45,211"
    assert _kpi(1.25, "orders", "KRW") == "1.25"
