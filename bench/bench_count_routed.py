"""``danggol segment count`` asked of a running ``danggol serve`` (issue 16), next to the same
count as a fresh local CLI process and as hand-written DuckDB SQL in a Python process, same run.

For each query of bench/bench_count.py:

1. **SQL process**: a Python process that opens the store with ``duckdb`` and runs the
   hand-written SQL over the raw tables (process start included);
2. **local CLI**: ``danggol segment count QUERY --local`` as a fresh process;
3. **routed CLI**: ``danggol segment count QUERY`` while ``danggol serve`` runs on the
   workspace: the client process's wall time; its CPU (rusage) **plus the server's CPU over
   the request** (``/proc/PID/stat`` utime + stime before and after: every thread of the
   server, DuckDB's included).

Counts must agree before any time is printed, and a probe run per query checks that the
routed client loaded neither Ibis nor DuckDB (the server counted). The server is started by
the bench (this tree's code) and left to finish its start-up work (the dashboard's prewarm)
before anything is timed. Medians of ``--repeat`` runs; the machine is shared (2 cores), so
read the ratios within one run; the load average is printed at the start and the end.

``danggol serve`` writes its announcement (``.danggol-server.json``) into the workspace: give
a copy of a shared one.

    python bench/bench_count_routed.py --workspace /tmp/ws200k [--repeat 3] [--as-of 2025-06-30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_count import queries, store_file
from bench_count import run_with_stderr as run
from common import machine
from danggol.cli.remote import ANNOUNCE_FILE

SRC = Path(__file__).resolve().parents[1] / "src"
CLI = "from danggol.cli.main import run; run()"
TICK = os.sysconf("SC_CLK_TCK")
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join(sorted("
    "{m.split('.')[0] for m in sys.modules} & {'ibis', 'duckdb', 'pydantic', 'pyarrow'})) + "
    "'\\n'))\n" + CLI
)


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def count_of(stdout: str) -> int:
    return int(json.loads(stdout.splitlines()[-1])["count"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(ws: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``danggol serve`` on the workspace, once it answers, has announced itself and its
    start-up work (the dashboard's prewarm) is done: under 20 ms of CPU in a second."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "-w", str(ws), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 1800
    while True:
        if proc.poll() is not None:
            raise SystemExit("danggol serve stopped")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=60):
                if (ws / ANNOUNCE_FILE).exists():
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("danggol serve did not start")
        time.sleep(0.5)
    last = server_cpu(proc.pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = server_cpu(proc.pid)
        if now - last < 0.02:
            return proc
        last = now
    raise SystemExit("danggol serve did not go idle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", default="2025-06-30")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.as_of)
    ws = args.workspace.resolve()
    store = store_file(ws)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DANGGOL_WORKSPACE")}
    env.pop("DANGGOL_LOCAL", None)
    cli_env = {**env, "PYTHONPATH": str(SRC)}
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores (shared), {info['memory']}; Python "
        f"{info['python']}; {info['libraries']}; run {info['date']}"
    )
    print(f"workspace: {ws}, as of {day}; load average at start: {os.getloadavg()}")
    print(f"command: python bench/bench_count_routed.py --workspace WS --repeat {args.repeat}")
    sql_code = [
        sys.executable,
        "-c",
        "import sys, duckdb\ncon = duckdb.connect(sys.argv[1], read_only=True)\n"
        "con.execute('SET enable_progress_bar = false')\n"
        "print(con.execute(sys.argv[2]).fetchone()[0])",
        str(store),
    ]
    count = [sys.executable, "-c", CLI, "-w", str(ws), "segment", "count"]
    t0 = time.perf_counter()
    server = start_server(ws, cli_env)
    print(f"danggol serve (pid {server.pid}) ready and idle after {time.perf_counter() - t0:.1f} s")
    headers = [
        "query",
        "count",
        "SQL process: wall / CPU",
        "local CLI: wall / CPU",
        "× SQL (wall / CPU)",
        "routed CLI: wall / CPU client + server = total",
        "× SQL (wall / CPU total)",
        "routed: first run wall / CPU total",
    ]
    rows = []
    try:
        for query, sql in queries(day):
            argv = [*count, query, "--as-of", day.isoformat(), "--json"]
            sql_runs = [run([*sql_code, sql], env) for _ in range(args.repeat)]
            local_runs = [run([*argv, "--local"], cli_env) for _ in range(args.repeat)]
            routed_runs = []
            for _ in range(args.repeat):
                before = server_cpu(server.pid)
                wall, cpu, out, err = run(argv, cli_env)
                served = server_cpu(server.pid) - before
                if err.strip():
                    raise SystemExit(f"the routed count said on stderr: {err}")
                routed_runs.append((wall, cpu, served, out))
            _, _, _, probed = run(
                [sys.executable, "-c", PROBE, *argv[3:]], cli_env
            )  # not timed: what the routed client loaded
            if probed.strip() != "LOADED":
                raise SystemExit(f"the routed count loaded the engine: {probed.strip()}")
            counts = {int(sql_runs[0][2]), count_of(local_runs[0][2]), count_of(routed_runs[0][3])}
            if len(counts) != 1:
                raise SystemExit(f"{query!r}: the counts differ: {counts}")
            sql_w = statistics.median(r[0] for r in sql_runs)
            sql_c = statistics.median(r[1] for r in sql_runs)
            loc_w = statistics.median(r[0] for r in local_runs)
            loc_c = statistics.median(r[1] for r in local_runs)
            r_w = statistics.median(r[0] for r in routed_runs)
            r_client = statistics.median(r[1] for r in routed_runs)
            r_server = statistics.median(r[2] for r in routed_runs)
            r_total = statistics.median(r[1] + r[2] for r in routed_runs)
            first = routed_runs[0]
            row = [
                f"`{query}`",
                f"{counts.pop():,}",
                f"{sql_w:.2f} s / {sql_c:.2f} s",
                f"{loc_w:.2f} s / {loc_c:.2f} s",
                f"{loc_w / sql_w:.2f}× / {loc_c / sql_c:.2f}×",
                f"{r_w:.2f} s / {r_client:.2f} + {r_server:.2f} = {r_total:.2f} s",
                f"{r_w / sql_w:.2f}× / {r_total / sql_c:.2f}×",
                f"{first[0]:.2f} s / {first[1] + first[2]:.2f} s",
            ]
            rows.append(row)
            print("  " + " | ".join(row), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    print(f"\nload average at the end: {os.getloadavg()}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
