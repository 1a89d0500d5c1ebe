"""Streamed ingest: a 10M-row orders file loaded in bounded memory (issue #9).

    PYTHONPATH=src python bench/bench_ingest_stream.py --rows 2000000,10000000,20000000
    # optional: --before c7274a0   also load the file with danggol as of that commit
    #           --formats csv,parquet,jsonl

For each size in ``--rows``, writes an orders file of that many rows (UTF-8 CSV with Korean statuses and a planted bad
row every 1,000,003 rows: a non-numeric total; also Parquet and JSON Lines when asked), then
loads it, each run in its own process measured by ``/usr/bin/time -v`` (wall time and peak
resident memory), into a fresh workspace whose ``memory_limit`` is ``--memory-limit``:

* danggol: ``danggol -w WS ingest orders FILE --json`` — read a piece at a time, staged,
  checked, quarantined and upserted in one transaction;
* plain DuckDB: ``CREATE TABLE orders AS SELECT * FROM read_csv(FILE, all_varchar = true)`` (or
  ``read_parquet`` / ``read_json``) under the same ``memory_limit`` — DuckDB's own streaming
  reader with no checks, the floor for time and memory;
* ``--before REV``: danggol as of git revision REV (exported with ``git archive``), for a
  before/after line (before this change a file was read whole).

The counts danggol reports are checked: read = rows, quarantined = the planted bad rows,
loaded = the rest. Writes ``bench/out/ingest-stream.md`` and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, md_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BAD_EVERY = 1_000_003
STATUSES = np.array(["결제완료", "배송완료", "paid", "환불", "취소"])


def write_orders(path: Path, rows: int, fmt: str, piece: int = 1_000_000) -> int:
    """Write ``rows`` orders in pieces (so writing needs little memory); return the number
    of planted bad rows."""
    rng = np.random.default_rng(7)
    bad = 0
    writer = None
    with path.open("wb") as f:
        for start in range(0, rows, piece):
            n = min(piece, rows - start)
            i = np.arange(start, start + n)
            total = rng.integers(1_000, 500_000, n).astype(str).astype(object)
            planted = (i + 1) % BAD_EVERY == 0
            total[planted] = "abc"
            bad += int(planted.sum())
            seconds = rng.integers(0, 3 * 365 * 86_400, n)
            stamps = np.datetime64("2023-01-01T00:00:00") + seconds.astype("timedelta64[s]")
            table = pa.table(
                {
                    "order_id": pa.array(np.char.add("O", i.astype(str))),
                    "customer_id": pa.array(np.char.add("C", (i % (rows // 10 + 1)).astype(str))),
                    "ordered_at": pa.array(np.datetime_as_string(stamps, unit="s")),
                    "total": pa.array(total.astype(str)),
                    "status": pa.array(STATUSES[rng.integers(0, len(STATUSES), n)]),
                }
            )
            if fmt == "csv":
                pacsv.write_csv(
                    table,
                    f,
                    pacsv.WriteOptions(include_header=(start == 0), quoting_style="needed"),
                )
            elif fmt == "parquet":
                if writer is None:
                    writer = pq.ParquetWriter(f, table.schema)
                writer.write_table(table)
            else:
                for record in table.to_pylist():
                    f.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        if writer is not None:
            writer.close()
    return bad


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GiB, stdout) of ``cmd`` in its own process."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return wall, kib / 1024 / 1024, proc.stdout


def danggol_load(
    src: Path, file: Path, workdir: Path, memory_limit: str
) -> tuple[float, float, dict]:
    ws = workdir / f"ws-{time.monotonic_ns()}"
    env = {**os.environ, "PYTHONPATH": str(src)}
    cli = [sys.executable, "-c", "from danggol.cli.main import run; run()"]
    subprocess.run([*cli, "init", str(ws)], check=True, env=env, capture_output=True)
    toml = ws / "danggol.toml"
    text = toml.read_text(encoding="utf-8")
    if "memory_limit" in text:
        text = re.sub(r'memory_limit = ".*"', f'memory_limit = "{memory_limit}"', text)
    toml.write_text(text, encoding="utf-8")
    wall, peak, out = timed([*cli, "-w", str(ws), "ingest", "orders", str(file), "--json"], env)
    # danggol before 2026-11-23 let DuckDB draw its progress bar on stdout: skip those lines
    last = next((line for line in reversed(out.splitlines()) if line.startswith("{")), "")
    try:
        return wall, peak, json.loads(last)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"danggol at {src} printed no JSON: {out[:2000]!r}") from exc


def duckdb_load(file: Path, fmt: str, workdir: Path, memory_limit: str) -> tuple[float, float]:
    # every value as text (the file's totals hold a planted 'abc'), as danggol reads them
    reader = {"csv": "read_csv", "parquet": "read_parquet", "jsonl": "read_json"}[fmt]
    options = {"csv": ", all_varchar = true", "parquet": "", "jsonl": ""}[fmt]
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        f"con.execute(\"SET memory_limit = '{memory_limit}'\"); "
        f"con.execute(\"CREATE TABLE orders AS SELECT * FROM {reader}('{file}'{options})\"); "
        "print(con.execute('SELECT count(*) FROM orders').fetchone()[0])"
    )
    wall, peak, _ = timed(
        [sys.executable, "-c", script, str(workdir / f"plain-{fmt}-{time.monotonic_ns()}.duckdb")]
    )
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="2000000,10000000", help="comma-separated file sizes")
    parser.add_argument("--formats", default="csv")
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--before", help="also load with danggol as of this git revision")
    parser.add_argument("--workdir", help="where files and stores go (default: a temp dir)")
    args = parser.parse_args()

    info = machine()
    tmp = tempfile.TemporaryDirectory(prefix="danggol-stream-", dir=args.workdir)
    workdir = Path(tmp.name)
    before_src = None
    if args.before:
        before_src = workdir / "before"
        before_src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.before, "src"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(before_src)], input=archive.stdout, check=True)
        before_src = before_src / "src"

    rows_md = []
    sizes = [int(n) for n in args.rows.split(",")]
    for rows, fmt in ((n, f) for n in sizes for f in args.formats.split(",")):
        suffix = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}[fmt]
        file = workdir / f"orders{suffix}"
        start = time.perf_counter()
        bad = write_orders(file, rows, fmt)
        size = file.stat().st_size
        print(f"wrote {file.name}: {size / 2**20:,.0f} MiB in {time.perf_counter() - start:.1f} s")
        wall, peak, result = danggol_load(ROOT / "src", file, workdir, args.memory_limit)
        part = result["tables"]["orders"]
        expected = {"read": rows, "quarantined": bad, "loaded": rows - bad}
        got = {k: part[k] for k in expected}
        if got != expected:
            raise SystemExit(f"danggol's counts {got} differ from the file's {expected}")
        rows_md.append(
            [
                fmt,
                f"{size / 2**20:,.0f} MiB",
                "danggol (streamed)",
                f"{wall:.1f} s",
                f"{rows / wall:,.0f}",
                f"{peak:.2f} GiB",
                f"{got}",
            ]
        )
        if before_src is not None:
            try:
                bwall, bpeak, bresult = danggol_load(before_src, file, workdir, args.memory_limit)
                bpart = bresult["tables"]["orders"]
                rows_md.append(
                    [
                        fmt,
                        "",
                        f"danggol at {args.before} (file read whole)",
                        f"{bwall:.1f} s",
                        f"{rows / bwall:,.0f}",
                        f"{bpeak:.2f} GiB",
                        f"{ {k: bpart[k] for k in expected} }",
                    ]
                )
            except SystemExit as exc:
                rows_md.append(
                    [fmt, "", f"danggol at {args.before}", "failed", "", "", str(exc)[:200]]
                )
        pwall, ppeak = duckdb_load(file, fmt, workdir, args.memory_limit)
        rows_md.append(
            [
                fmt,
                "",
                "plain DuckDB (no checks)",
                f"{pwall:.1f} s",
                f"{rows / pwall:,.0f}",
                f"{ppeak:.2f} GiB",
                "",
            ]
        )
        file.unlink()
        print(md_table(["format", "file", "loader", "wall", "rows/s", "peak", "counts"], rows_md))

    md = (
        "### Streamed ingest: one orders file of growing size\n\n"
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python "
        f"{info['python']}; {info['libraries']}. Run {info['date']}: `PYTHONPATH=src python "
        f"bench/bench_ingest_stream.py --rows {args.rows} --formats {args.formats} "
        f"--memory-limit {args.memory_limit}"
        + (f" --before {args.before}" if args.before else "")
        + f"`. Load average before: {os.getloadavg()[0]:.2f}.\n\n"
        + md_table(
            ["format", "file", "loader", "wall", "rows/s", "peak memory (own process)", "counts"],
            rows_md,
        )
        + "\n"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest-stream.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
