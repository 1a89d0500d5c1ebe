"""Ad-hoc segment counts, each next to the same count in hand-written DuckDB SQL, same run.

1. On a shop that has **not** been refreshed for the date: ``danggol segment count QUERY`` as a
   whole process (start included) against a Python process that opens the store with ``duckdb``
   and runs the hand-written SQL over the raw tables — and the same inside one process.
2. After ``danggol refresh`` for that date: the count inside one process (the stored profile),
   against the hand-written SQL over the raw tables again.

Counts must agree before any time is reported. ``--src`` adds a second source tree (the code
before the change) for the un-refreshed CLI column. Wall-clock medians of ``--repeat`` runs;
the machine is shared (2 cores), so ratios within one run are what to read.

    python bench/bench_count.py --workspace /tmp/ws200k [--src /work/main/src] [--refresh]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the in-process columns measure this tree's code, not an installed danggol
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from common import machine
from danggol.profile import snapshot_is_current
from danggol.segments import service
from danggol.segments.compile import shift_date
from danggol.segments.nodes import DateOffset
from danggol.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
PURCHASE = "status IN ('paid', 'partially_refunded')"


def ago(day: dt.date, amount: int, unit: str) -> str:
    return f"DATE '{shift_date(day, DateOffset(-amount, unit))}'"  # type: ignore[arg-type]


def queries(day: dt.date) -> list[tuple[str, str]]:
    """(danggol query, the same count as hand-written DuckDB SQL over the raw tables)."""
    d = f"DATE '{day}'"
    return [
        (
            "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0",
            f"SELECT count(DISTINCT customer_id) FROM events WHERE event = 'cart_add' "
            f"AND event_date BETWEEN {ago(day, 7, 'd')} AND {d} AND customer_id NOT IN "
            f"(SELECT customer_id FROM orders WHERE {PURCHASE} "
            f"AND order_date BETWEEN {ago(day, 7, 'd')} AND {d}) "
            # a count is drawn from the known customers (issue 17): signed up by the date, or
            # with an order by then — a visitor's cart alone does not make one
            f"AND (customer_id IN (SELECT customer_id FROM customers WHERE signup_date IS NULL "
            f"OR signup_date <= {d}) OR customer_id IN (SELECT customer_id FROM orders "
            f"WHERE order_date <= {d}))",
        ),
        (
            "number_of_orders >= 1 AND last_order_date < -5m",
            f"SELECT count(*) FROM (SELECT customer_id, max(order_date) AS last FROM orders "
            f"WHERE {PURCHASE} AND order_date <= {d} GROUP BY customer_id) "
            f"WHERE last < {ago(day, 5, 'm')}",
        ),
        (
            "amount_spent_percentile >= 80",
            "SELECT count(*) FROM (SELECT percent_rank() OVER (ORDER BY spent) * 100 AS pct "
            "FROM (SELECT customer_id, sum(total - coalesce(refunded_amount, 0)) AS spent "
            f"FROM orders WHERE {PURCHASE} AND order_date <= {d} GROUP BY customer_id)) "
            "WHERE pct >= 80",
        ),
    ]


def run_process(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the process and its threads; a busy shared
    machine stretches wall time far more than CPU time) and stdout."""
    wall, cpu, out, _ = run_with_stderr(argv, env)
    return wall, cpu, out


def run_with_stderr(argv: list[str], env: dict[str, str]) -> tuple[float, float, str, str]:
    """:func:`run_process` with the process's stderr as well."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout.strip(), done.stderr


def median_process(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    runs = [run_process(argv, env) for _ in range(repeat)]
    return (
        statistics.median(w for w, _, _ in runs),
        statistics.median(c for _, c, _ in runs),
        runs[-1][2],
    )


def store_file(ws: Path) -> Path:
    with Workspace.open(ws) as opened:
        return opened.store_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", type=Path, action="append", default=[])
    parser.add_argument("--refresh", action="store_true", help="then refresh and count again")
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    ws = args.workspace.resolve()
    store = store_file(ws)
    srcs = [ROOT / "src", *args.src]
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DANGGOL_WORKSPACE")}
    info = machine()
    with Workspace.open(ws) as opened:
        customers = opened.count("customers")
        refreshed = snapshot_is_current(opened.ibis, day)
    print(
        f"machine: {info['cpu']}, {info['cores']} cores (shared), {info['memory']}; Python "
        f"{info['python']}; {info['libraries']}; run {info['date']}"
    )
    print(f"workspace: {ws} ({customers:,} customers), as of {day}, refreshed: {refreshed}")
    print(
        "command: python bench/bench_count.py --workspace WS "
        + " ".join(f"--src {s}" for s in args.src)
        + (" --refresh" if args.refresh else "")
    )
    sql_code = [
        sys.executable,
        "-c",
        "import sys, duckdb\ncon = duckdb.connect(sys.argv[1], read_only=True)\n"
        "con.execute('SET enable_progress_bar = false')\n"  # its bar would go to stdout
        "print(con.execute(sys.argv[2]).fetchone()[0])",
        str(store),
    ]

    def measure(label: str) -> None:
        headers = ["query", "count", "SQL process: wall / CPU"]
        for src in srcs:
            name = "this branch" if src == srcs[0] else str(src)
            headers += [f"danggol CLI ({name}): wall / CPU", "× SQL (wall / CPU)"]
        headers += ["count in-process: wall / CPU", "SQL in-process", "× (wall / CPU)"]
        print(f"\n#### {label}\n", flush=True)
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers), flush=True)
        for query, sql in queries(day):
            sql_w, sql_c, sql_n = median_process([*sql_code, sql], base_env, args.repeat)
            row = [f"`{query}`", f"{int(sql_n):,}", f"{sql_w:.2f} s / {sql_c:.2f} s"]
            for src in srcs:
                env = {**base_env, "PYTHONPATH": str(src)}
                argv = [
                    sys.executable,
                    "-c",
                    "from danggol.cli.main import run; run()",
                    "-w",
                    str(ws),
                    "segment",
                    "count",
                    query,
                    "--as-of",
                    day.isoformat(),
                    "--json",
                ]
                repeat = args.repeat if src == srcs[0] else 1
                cli_w, cli_c, out = median_process(argv, env, repeat)
                n = int(out.splitlines()[-1].split('"count": ')[1].split(",")[0])
                if n != int(sql_n):
                    raise SystemExit(f"{src}: {query!r} counted {n}, the SQL {sql_n}")
                row += [
                    f"{cli_w:.2f} s / {cli_c:.2f} s",
                    f"{cli_w / sql_w:.2f}× / {cli_c / sql_c:.2f}×",
                ]
            # inside one process: imports done, the workspace open, the count alone
            with Workspace.open(ws) as opened:
                tgt = service.target(opened, query)
                service.count(opened, tgt, day)  # warm: the first call loads what it needs
                walls, cpus = [], []
                for _ in range(args.repeat):
                    t0, c0 = time.perf_counter(), time.process_time()
                    n = service.count(opened, tgt, day)
                    walls.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                t0, c0 = time.perf_counter(), time.process_time()
                opened.duck.execute(sql).fetchone()
                sql_in, sql_in_c = time.perf_counter() - t0, time.process_time() - c0
            in_w, in_c = statistics.median(walls), statistics.median(cpus)
            row += [
                f"{in_w * 1000:.0f} ms / {in_c * 1000:.0f} ms",
                f"{sql_in * 1000:.0f} ms / {sql_in_c * 1000:.0f} ms",
                f"{in_w / sql_in:.1f}× / {in_c / max(sql_in_c, 1e-3):.1f}×",
            ]
            print("| " + " | ".join(row) + " |", flush=True)

    measure("not refreshed for the date" if not refreshed else "refreshed for the date")
    if args.refresh and not refreshed:
        env = {**base_env, "PYTHONPATH": str(srcs[0])}
        t0 = time.perf_counter()
        _ = run_process(
            [
                sys.executable,
                "-c",
                "from danggol.cli.main import run; run()",
                "-w",
                str(ws),
                "refresh",
                "--as-of",
                day.isoformat(),
            ],
            env,
        )
        print(f"\nrefresh: {time.perf_counter() - t0:.1f} s")
        srcs[1:] = []  # after the refresh, this branch only
        measure("after `danggol refresh` for the date")


if __name__ == "__main__":
    main()
