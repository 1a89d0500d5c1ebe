"""Where the CPU of one ad-hoc ``danggol segment count`` process goes, stage by stage, next to
the hand-written SQL process of the same count (bench/bench_count.py's queries), same run.

Each stage is the median user+system CPU (``time.process_time``, all threads) over ``--repeat``
fresh processes, in the order the CLI pays them: the interpreter, Typer and Rich, DuckDB,
sqlglot, Ibis, danggol's store (pydantic settings), the segment language, opening the
workspace, Ibis' DuckDB backend (every SQL compiler of Ibis), building and running the count.

    python bench/bench_count_stages.py --workspace /tmp/ws200k [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_count import queries
from common import machine

ROOT = Path(__file__).resolve().parents[1]

CLI_STAGES = r"""
import json, sys, time
t = [("start", time.process_time())]
def mark(name): t.append((name, time.process_time()))
import typer, rich.console, danggol.cli.options; mark("Typer, Rich, cli/options")
import duckdb; mark("duckdb")
import sqlglot; mark("sqlglot")
import ibis; mark("ibis")
import danggol.store.workspace; mark("store (pydantic settings, tables)")
from danggol.segments import service; mark("segment language (parse, compile, fields)")
import datetime as dt
from pathlib import Path
ws = danggol.store.workspace.Workspace.open(Path(sys.argv[1])); mark("open the workspace")
ws.ibis; mark("Ibis DuckDB backend (all SQL compilers)")
tgt = service.target(ws, sys.argv[2])
n = service.count(ws, tgt, dt.date.fromisoformat(sys.argv[3])); mark("build + run the count")
service.universe_of(ws, tgt); service.value_warnings(ws, tgt.tree); ws.close(); mark("universe, warnings, close")
print(json.dumps({"count": n, "stages": [(b[0], b[1] - a[1]) for a, b in zip(t, t[1:])], "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""

SQL_STAGES = r"""
import json, sys, time
t0 = time.process_time()
import duckdb
t1 = time.process_time()
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
t2 = time.process_time()
n = con.execute(sys.argv[2]).fetchone()[0]
t3 = time.process_time()
print(json.dumps({"count": n, "stages": [["duckdb", t1 - t0], ["connect", t2 - t1], ["query", t3 - t2]]}))
"""


def median_stages(
    argv: list[str], env: dict[str, str], repeat: int
) -> tuple[int, dict[str, float], list[str]]:
    runs = []
    for _ in range(repeat):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    names = [name for name, _ in runs[0]["stages"]]
    med = {n: statistics.median(dict(r["stages"])[n] for r in runs) for n in names}
    return runs[0]["count"], med, runs[0].get("modules", [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    ws = args.workspace.resolve()
    store = ws / "store.duckdb"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DANGGOL_WORKSPACE")}
    base = statistics.median(_cpu([sys.executable, "-c", "pass"], env) for _ in range(args.repeat))
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores (shared); Python {info['python']}; "
        f"{info['libraries']}; run {info['date']}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"command: python bench/bench_count_stages.py --workspace WS --repeat {args.repeat}")
    print(
        f"\ninterpreter start (`python -c pass`, both processes pay it): {base * 1000:.0f} ms CPU\n"
    )
    for query, sql in queries(day):
        cli_env = {**env, "PYTHONPATH": str(ROOT / "src")}
        n, cli, modules = median_stages(
            [sys.executable, "-c", CLI_STAGES, str(ws), query, day.isoformat()],
            cli_env,
            args.repeat,
        )
        m, raw, _ = median_stages(
            [sys.executable, "-c", SQL_STAGES, str(store), sql], env, args.repeat
        )
        if n != m:
            raise SystemExit(f"{query!r}: danggol counted {n}, the SQL {m}")
        cli_total, sql_total = base + sum(cli.values()), base + sum(raw.values())
        print(f"#### `{query}` ({n:,} customers)\n")
        print("| danggol count process: stage | CPU ms | SQL process: stage | CPU ms |")
        print("|---|---:|---|---:|")
        left = list(cli.items())
        right = list(raw.items())
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else ("", None)
            b = right[i] if i < len(right) else ("", None)
            fa = "" if a[1] is None else f"{a[1] * 1000:.0f}"
            fb = "" if b[1] is None else f"{b[1] * 1000:.0f}"
            print(f"| {a[0]} | {fa} | {b[0]} | {fb} |")
        print(
            f"| **total with the interpreter** | **{cli_total * 1000:.0f}** | **total** | "
            f"**{sql_total * 1000:.0f}** |"
        )
        print(
            f"\nratio {cli_total / sql_total:.1f}×; loaded: {', '.join(m for m in modules if m in HEAVY)}\n"
        )


HEAVY = (
    "duckdb",
    "ibis",
    "sqlglot",
    "pyarrow",
    "numpy",
    "pandas",
    "pydantic",
    "yaml",
    "scipy",
    "sklearn",
)


def _cpu(argv: list[str], env: dict[str, str]) -> float:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
