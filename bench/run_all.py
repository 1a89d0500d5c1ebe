"""The whole benchmark suite, one command:

    python bench/run_all.py --sizes 100k,1m            # about an hour at 1M on 2 cores
    python bench/run_all.py --sizes 100k --only refresh,memory

For each size it builds (or reuses, ``bench/out/ws-SIZE``) a demo workspace and runs, each in its
own process, the benchmark scripts of this folder — every danggol figure beside its baseline
measured in the same run:

=============  =========================================================  ==========================
step           what                                                        baseline
=============  =========================================================  ==========================
foundation     generate + ingest (rows/s), profile build                   plain DuckDB load; one
                                                                           hand-written SQL query;
                                                                           idiomatic pandas
segments       one ad-hoc count (median of 5) and the segment step         hand-written SQL
refresh        full refresh (profile, scores, predictions, segments,      the same work as hand
               history)                                                    SQL (+ the same fit)
predict        BG/NBD + Gamma-Gamma fit                                    lifetimes, PyMC-Marketing
web            dashboard pages and API p95 after a refresh                 —
incremental    refresh after a small load, incremental vs full             full refresh
memory         peak resident memory of ``danggol refresh``, ``profile``    4 GB target at 1M
               and ``segment count`` (``/usr/bin/time -v``)
=============  =========================================================  ==========================

Each step's markdown goes to ``bench/out/SIZE-STEP.md``; all of them, with the machine, date and
versions, to ``bench/out/results.md``, and (with ``--write-docs``) into docs/benchmarks.md between
the ``run_all`` markers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, md_table

HERE = Path(__file__).parent
ROOT = HERE.parent
OUT = HERE / "out"
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
STEPS = ("foundation", "segments", "refresh", "predict", "web", "incremental", "memory")
START, END = "<!-- run_all:start -->", "<!-- run_all:end -->"
MEMORY_TARGET_GIB = 4.0


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def run_step(cmd: list[str], log: Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env())
    return proc.returncode, proc.stdout, time.perf_counter() - started


def peak_rss(cmd: list[str]) -> tuple[int, float, float]:
    """Exit code, seconds and peak resident memory (GiB) of one command, by /usr/bin/time."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env())
    seconds = time.perf_counter() - started
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    gib = int(match.group(1)) / 1024 / 1024 if match else float("nan")
    return proc.returncode, seconds, gib


def memory(ws: Path, size: str) -> str:
    danggol = [sys.executable, "-c", "from danggol.cli.main import run; run()", "-w", str(ws)]
    jobs = [
        (
            "refresh --full (profile, scores, predictions, saved segments)",
            ["refresh", "--as-of", "2025-06-30", "--full"],
        ),
        (
            "profile to a Parquet file",
            [
                "profile",
                "--as-of",
                "2025-06-30",
                "--out",
                str(OUT / f"{size}-profile.parquet"),
                "--overwrite",  # the file of the previous run
            ],
        ),
        (
            "segment count (ad hoc, on the stored profile)",
            [
                "segment",
                "count",
                "number_of_orders >= 1 AND last_order_date < -5m",
                "--as-of",
                "2025-06-30",
            ],
        ),
    ]
    rows = []
    for what, args in jobs:
        code, seconds, gib = peak_rss([*danggol, *args])
        verdict = "error" if code else ("met" if gib < MEMORY_TARGET_GIB else "NOT met")
        rows.append(
            [f"`danggol {args[0]}` — {what}", f"{gib:.2f} GiB", f"{seconds:.1f} s", verdict]
        )
    return md_table(
        ["command (own process)", "peak RSS", "time", f"< {MEMORY_TARGET_GIB:.0f} GB"], rows
    )


def commands(step: str, size: str, n: int, ws: Path) -> list[str] | None:
    py = sys.executable
    return {
        "foundation": [
            py,
            str(HERE / "bench_foundation.py"),
            "--customers",
            str(n),
            "--keep",
            str(ws),
        ],
        "segments": [py, str(HERE / "bench_segments.py"), "--workspace", str(ws)],
        "refresh": [py, str(HERE / "bench_refresh.py"), "--workspace", str(ws)],
        "predict": [
            py,
            str(HERE / "bench_predict.py"),
            "--sizes",
            size,
            "--workspace",
            f"{size}={ws}",
        ],
        "web": [py, str(HERE / "bench_web.py"), "--workspace", str(ws)],
        "incremental": [py, str(HERE / "bench_incremental.py"), "--workspace", str(ws)],
    }.get(step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help=f"comma-separated: {', '.join(SIZES)}")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated steps")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    steps = [s for s in args.only.split(",") if s]
    unknown = [s for s in steps if s not in STEPS] + [
        s for s in args.sizes.split(",") if s not in SIZES
    ]
    if unknown:
        raise SystemExit(f"unknown step or size: {unknown}; steps {STEPS}, sizes {list(SIZES)}")
    OUT.mkdir(exist_ok=True)
    info = machine()
    parts = [
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
        f"{info['libraries']}. Run {info['date']}: `python bench/run_all.py --sizes {args.sizes} "
        f"--only {','.join(steps)}`."
    ]
    summary = []
    for size in args.sizes.split(","):
        n = SIZES[size]
        ws = OUT / f"ws-{size}"
        if "foundation" not in steps and not ws.exists():
            raise SystemExit(f"{ws} does not exist: run the foundation step first")
        if "foundation" in steps and ws.exists():
            shutil.rmtree(ws)
        for step in steps:
            if step == "memory":
                started = time.perf_counter()
                text, code = memory(ws, size), 0
                seconds = time.perf_counter() - started
            else:
                cmd = commands(step, size, n, ws)
                assert cmd is not None
                code, text, seconds = run_step(cmd, OUT / f"{size}-{step}.err")
            (OUT / f"{size}-{step}.md").write_text(text, encoding="utf-8")
            status = "ok" if code == 0 else f"FAILED (exit {code}; see bench/out/{size}-{step}.err)"
            summary.append([size, step, status, f"{seconds:.0f} s"])
            parts.append(f"#### {size}: {step}\n\n{text.strip() if code == 0 else status}")
            print(f"{size} {step}: {status} in {seconds:.0f} s", file=sys.stderr)
    parts.insert(1, md_table(["size", "step", "result", "wall time"], summary))
    text = "\n\n".join(parts) + "\n"
    (OUT / "results.md").write_text(text, encoding="utf-8")
    if args.write_docs:
        docs = ROOT / "docs" / "benchmarks.md"
        current = docs.read_text(encoding="utf-8")
        block = f"{START}\n## The whole suite (`bench/run_all.py`)\n\n{text}{END}"
        if START in current:
            current = re.sub(
                re.escape(START) + ".*?" + re.escape(END), lambda _: block, current, flags=re.S
            )
        else:
            current = current.rstrip() + "\n\n" + block + "\n"
        docs.write_text(current, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
