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


def _draws_a_table(function: object) -> bool:
    """Whether a command's function draws a Rich table: it calls ``rich_table`` itself or
    through a function of its module (``show_rfm`` …), followed by name."""
    import ast
    import inspect

    module = inspect.getmodule(function)
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    calls: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            calls[node.name] = {
                c.func.id
                for c in ast.walk(node)
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
            }
    seen: set[str] = set()
    todo = [function.__name__]  # type: ignore[attr-defined]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [c for c in calls.get(name, ()) if c in calls]
    return any("rich_table" in calls.get(name, ()) for name in seen)


def test_every_command_that_draws_a_table_takes_format():
    """Walk every command: each one that prints a table (a listing, or a report's rows) also
    prints them as CSV or JSON with --format."""
    import typer.main

    from danggol.cli.main import app, command_paths

    root = typer.main.get_command(app)
    tables, missing = [], []
    for path in command_paths():
        cmd = root
        for name in path:
            with typer.Context(cmd) as ctx:
                cmd = cmd.get_command(ctx, name)  # type: ignore[attr-defined]
        function = cmd.callback.__wrapped__  # type: ignore[union-attr]
        if not _draws_a_table(function):
            continue
        tables.append(" ".join(path))
        if not any("--format" in p.opts for p in cmd.params):
            missing.append(" ".join(path))
    # a group that runs by itself (danggol lifecycle) is a command too
    with typer.Context(root) as ctx:
        group = root.get_command(ctx, "lifecycle")  # type: ignore[attr-defined]
    assert _draws_a_table(group.callback.__wrapped__)
    if not any("--format" in p.opts for p in group.params):
        missing.append("lifecycle")
    assert len(tables) >= 20, tables  # the walk found the listings (not a vacuous pass)
    assert not missing, f"commands drawing a table without --format: {missing}"


@pytest.mark.parametrize(
    ("args", "rows_of"),
    [
        (["analytics", "concentration"], lambda d: d["tops"]),
        (["analytics", "whatif", "--repeat", "10"], lambda d: [0, 1, 2]),
        (["lifecycle", "shares", "--dates", "2025-03-31,2025-06-30"], lambda d: d),
        (["grades", "show"], lambda d: d["grades"]),
        (["segment", "list"], lambda d: d),
    ],
)
def test_listings_as_csv_and_json(demo, args, rows_of):
    """--format json is the command's --json; --format csv has a header and a line per row."""
    shop, _ = demo
    as_json = json.loads(_cli("-w", str(shop), *args, "--format", "json").stdout)
    assert as_json == json.loads(_cli("-w", str(shop), *args, "--json").stdout)
    got = list(csv.reader(io.StringIO(_cli("-w", str(shop), *args, "--format", "csv").stdout)))
    assert len(got) == 1 + len(rows_of(as_json)) and len(rows_of(as_json)) > 0


def test_concentration_csv_matches_the_store(demo):
    """The CSV's buyers and revenue of the top 20% recomputed from the store with SQL."""
    import duckdb

    shop, _ = demo
    rows = list(
        csv.DictReader(
            io.StringIO(
                _cli("-w", str(shop), "analytics", "concentration", "--format", "csv").stdout
            )
        )
    )
    top20 = next(r for r in rows if float(r["top"]) == 0.2)
    store = next(shop.glob("*.duckdb"))
    with duckdb.connect(str(store), read_only=True) as con:
        spent = [
            v
            for (v,) in con.execute(
                "SELECT sum(total - coalesce(refunded_amount, 0)) AS s FROM orders "
                "WHERE status IN ('paid', 'partially_refunded') AND order_date <= DATE "
                "'2025-06-30' GROUP BY customer_id HAVING s > 0 ORDER BY s DESC"
            ).fetchall()
        ]
    n = int(top20["customers"])
    assert abs(n - 0.2 * len(spent)) <= 1
    assert float(top20["revenue"]) == pytest.approx(sum(spent[:n]), rel=1e-9)


def test_money_in_tables_is_the_shops_currency(demo):
    shop, _ = demo
    for args in (["analytics", "concentration"], ["analytics", "whatif", "--repeat", "10"]):
        shown = _cli("-w", str(shop), *args, columns=160).stdout
        assert re.search(r"₩\d{1,3}(,\d{3})+", shown), shown
        assert not re.search(r"\d[eE][+-]\d", shown) and not re.search(r"₩[\d,]+\.\d", shown)


def test_large_backtest_figures_are_never_in_e_notation():
    from danggol.cli.predict import _metric

    assert _metric("predicted_spend", 3.2e10, "KRW") == "₩32,000,000,000"
    assert _metric("clv_top_decile_share", 0.4123, "KRW") == "41.2%"
    assert _metric("mae", 1234567.891, "KRW") == "1,234,568"
    assert _metric("brier", 0.000012346, "KRW") == "0.00001235"
    assert _metric("customers", 1_000_000, "KRW") == "1,000,000"


@pytest.mark.parametrize("columns", [40, 160])
def test_overlap_never_cuts_a_segment_name(demo, columns):
    """Both tables of `analytics overlap` name segments (a user types them): whole at any width."""
    shop, _ = demo
    names = ["free_shipping_regulars", "conversion_cycle_due", "refunded_customers"]
    shown = _cli("-w", str(shop), "analytics", "overlap", *names, columns=columns).stdout
    words = re.findall(r"[a-z0-9_]+", shown)
    for name in names:
        assert words.count(name) >= 3, (name, shown)  # its size row and its two pairs
    assert all(len(line) <= columns for line in shown.splitlines())
