"""Excel and CSV ingest of a SmartStore-shaped order download, next to the libraries alone.

    PYTHONPATH=src python bench/bench_ingest_excel.py --lines 1000000

Writes one SmartStore order download of ``--lines`` order lines (the platform's real header,
orders of 1–3 lines, Korean statuses, a returned line now and then) as .xlsx (xlsxwriter, a
date cell per line) and as UTF-8 CSV (kept in ``--files`` and reused when that directory
already holds them), then measures, each in its own process under ``/usr/bin/time -v``
(wall time, CPU seconds — user + system, every thread — and peak resident memory):

* the library alone: fastexcel loading the sheet as Arrow text columns (what danggol reads
  .xlsx with) and python-calamine iterating every row of the sheet (.xlsx); pyarrow's
  streaming CSV reader reading every batch as text (.csv) — the floor;
* with ``--duckdb-excel-env DIR --duckdb-excel-extension PATH``, also DuckDB's own streaming
  .xlsx reader (``read_xlsx`` of the excel extension, every column as text, Arrow batches of
  100,000 rows), run in a side environment (``pip install --target DIR duckdb==1.5.5``; the
  extension from the ``duckdb-extension-excel`` 1.5.5 wheel): that packaging needs
  duckdb==1.5.5 exactly, so it is measured next to danggol, not used by it;
* danggol's reader alone: ``readers.read_chunks`` turning the file into its text pieces;
* danggol ingest: ``danggol -w WS ingest orders FILE --preset smartstore --json`` — read,
  map, build orders from their lines, check, quarantine and load in one transaction; with
  ``--old REV`` also the same command run on the code of git revision ``REV`` (``git archive``
  of its ``src``), so that a change's before and after come from the same run.

The ratios are of CPU seconds against the first library row of the same file, measured in
the same run (on a shared machine the wall time mostly measures the other sessions). The
counts danggol reports are checked against the file (orders, lines). Writes
``bench/out/ingest-excel.md`` and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, md_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "tests"))
from test_ingest_platforms import SMARTSTORE_HEADER  # noqa: E402  (the real column list)

STATUSES = np.array(["구매확정", "배송완료", "배송중", "반품", "취소"])
STATUS_P = [0.55, 0.3, 0.1, 0.03, 0.02]


def lines_table(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """``n`` order lines: orders of 1–3 lines, ~n/10 buyers."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, n)  # lines per order, more than needed
    order_of = np.repeat(np.arange(n), sizes)[:n]
    buyers = rng.integers(0, max(n // 10, 1), n)[order_of]
    minutes = rng.integers(0, 365 * 24 * 60, n)[order_of]
    qty = rng.integers(1, 4, n)
    price = rng.integers(10, 500, n) * 100
    return {
        "order": order_of,
        "buyer": buyers,
        "minute": minutes,
        "qty": qty,
        "price": price,
        "status": STATUSES[rng.choice(len(STATUSES), n, p=STATUS_P)],
        "product": rng.integers(1, 5000, n),
    }


def write_files(n: int, xlsx: Path | None, csv: Path | None) -> int:
    """Write the files asked for; return the number of orders."""
    import datetime as dt

    import xlsxwriter

    t = lines_table(n)
    if xlsx is None and csv is None:
        return len(np.unique(t["order"]))
    col = {h: i for i, h in enumerate(SMARTSTORE_HEADER)}
    base = dt.datetime(2024, 7, 1)
    book = xlsxwriter.Workbook(str(xlsx or "unused.xlsx"), {"constant_memory": True})
    sheet = book.add_worksheet("주문조회")
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet.write_row(0, 0, SMARTSTORE_HEADER)
    with open(csv or os.devnull, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(SMARTSTORE_HEADER) + "\n")
        empty = [""] * len(SMARTSTORE_HEADER)
        for i in range(n):
            order = f"2024{int(t['order'][i]):010d}"
            paid = base + dt.timedelta(minutes=int(t["minute"][i]))
            qty, price = int(t["qty"][i]), int(t["price"][i])
            values = {
                "상품주문번호": f"{order}{i % 1000:03d}",
                "주문번호": order,
                "구매자명": "구매자",
                "구매자ID": f"buyer{int(t['buyer'][i])}",
                "주문상태": str(t["status"][i]),
                "상품번호": f"P{int(t['product'][i])}",
                "상품명": f"상품 {int(t['product'][i])}",
                "수량": qty,
                "상품가격": price,
                "최종 상품별 총 주문금액": qty * price,
            }
            r = i + 1
            if xlsx is not None:
                for name, value in values.items():
                    if isinstance(value, int):
                        sheet.write_number(r, col[name], value)
                    else:
                        sheet.write_string(r, col[name], value)
                sheet.write_datetime(r, col["결제일"], paid, when)
            if csv is None:
                continue
            row = list(empty)
            for name, value in values.items():
                row[col[name]] = str(value)
            row[col["결제일"]] = paid.strftime("%Y-%m-%d %H:%M:%S")
            f.write(",".join(row) + "\n")
    if xlsx is not None:
        book.close()
    return len(np.unique(t["order"]))


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS GiB, stdout) of ``cmd`` in its own process."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")

    def field(name: str) -> float:
        return float(re.search(rf"{name}: ([0-9.]+)", proc.stderr).group(1))

    cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
    kib = field(r"Maximum resident set size \(kbytes\)")
    return wall, cpu, kib / 1024 / 1024, proc.stdout


LIBRARY = {
    "fastexcel": (
        "import fastexcel, sys\n"
        "book = fastexcel.read_excel(sys.argv[1])\n"
        "print(book.load_sheet(0, dtypes='string', eager=True).num_rows)"
    ),
    "python-calamine": (
        "from python_calamine import CalamineWorkbook; import sys\n"
        "book = CalamineWorkbook.from_path(sys.argv[1])\n"
        "n = sum(1 for _ in book.get_sheet_by_name(book.sheet_names[0]).iter_rows())\n"
        "print(n - 1)"
    ),
    # readers that stream an .xlsx in bounded memory (--streamed-readers)
    "openpyxl read-only": (
        "import openpyxl, sys\n"
        "book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)\n"
        "print(sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1)"
    ),
    "xlsx2csv": (
        "import io, sys\n"
        "from xlsx2csv import Xlsx2csv\n"
        "class Count(io.TextIOBase):\n"
        "    n = 0\n"
        "    def write(self, s):\n"
        "        self.n += s.count('\\n')\n"
        "        return len(s)\n"
        "out = Count()\n"
        "Xlsx2csv(sys.argv[1], outputencoding='utf-8').convert(out, sheetid=1)\n"
        "print(out.n - 1)"
    ),
    "pyarrow.csv (streamed)": (
        "import pyarrow as pa, pyarrow.csv as c, sys\n"
        "names = open(sys.argv[1], encoding='utf-8').readline().rstrip('\\n').split(',')\n"
        "r = c.open_csv(sys.argv[1], convert_options=c.ConvertOptions("
        "column_types={k: pa.string() for k in names}))\n"
        "print(sum(b.num_rows for b in r))"
    ),
}
#: DuckDB's excel extension (``read_xlsx``, a streaming reader), run in a side environment:
#: its only PyPI packaging (duckdb-extension-excel 1.5.5) needs duckdb==1.5.5 exactly, not
#: danggol's pin. argv: file, side env (a ``pip install --target`` of duckdb==1.5.5), the
#: extension file. Every column as text, handed over as Arrow batches (as fastexcel does).
DUCKDB_XLSX = "DuckDB read_xlsx (excel extension, side env)"
LIBRARY[DUCKDB_XLSX] = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "import duckdb\n"
    "con = duckdb.connect()\n"
    "con.execute('SET enable_progress_bar = false')\n"
    'con.execute("LOAD \'" + sys.argv[3].replace("\'", "\'\'") + "\'")\n'
    'f = sys.argv[1].replace("\'", "\'\'")\n'
    "r = con.execute(f\"SELECT * FROM read_xlsx('{f}', all_varchar=true, header=true)\")"
    ".to_arrow_reader(100000)\n"
    "print(sum(b.num_rows for b in r))"
)
#: a hand-written load of the same CSV (DuckDB SQL, no checks): what a user of DuckDB alone
#: would write to get the three tables danggol makes — every column as text, the payment
#: time read in Asia/Seoul and kept in UTC, amounts as numbers, one row per order (its lines'
#: sum, earliest time, first buyer; refunded when every line is 반품/취소, partly when some
#: are), the lines, one row per buyer — written into a DuckDB file in one transaction. No
#: quarantine, no duplicate or conflict checks, no guests, no log: the floor of any loader
#: that stores the rows. On one thread, as danggol's load: 2.2 s CPU at 1M lines against
#: 2.9-3.4 s on two. argv: file, store.
HAND_SQL_CSV = textwrap.dedent(
    """
    import duckdb, sys
    f = sys.argv[1].replace("'", "''")
    con = duckdb.connect(sys.argv[2])
    con.execute("SET enable_progress_bar = false")
    con.execute("SET threads = 1")  # its cheapest CPU, as danggol's load (LOAD_THREADS)
    con.execute("BEGIN")
    con.execute(f\"\"\"
        CREATE TEMP TABLE lines AS SELECT
            주문번호 AS order_id, 구매자ID AS customer_id, 구매자명 AS name,
            timezone('UTC', timezone('Asia/Seoul', CAST(결제일 AS TIMESTAMP))) AS ordered_at,
            CAST("최종 상품별 총 주문금액" AS DOUBLE) AS amount, 주문상태 IN ('반품', '취소') AS off,
            상품번호 AS product_id, 상품명 AS product_name, CAST(수량 AS BIGINT) AS quantity,
            CAST(상품가격 AS DOUBLE) AS unit_price
        FROM read_csv('{f}', all_varchar=true, header=true)\"\"\")
    con.execute(\"\"\"
        CREATE TABLE orders AS SELECT
            order_id, first(customer_id) AS customer_id, min(ordered_at) AS ordered_at,
            sum(amount) AS total,
            CASE WHEN bool_and(off) THEN 'refunded' WHEN bool_or(off) THEN 'partially_refunded'
                 ELSE 'paid' END AS status,
            coalesce(sum(amount) FILTER (WHERE off), 0) AS refunded_amount
        FROM lines GROUP BY order_id\"\"\")
    con.execute(\"\"\"
        CREATE TABLE order_items AS
        SELECT order_id, product_id, product_name, quantity, unit_price FROM lines\"\"\")
    con.execute(\"\"\"
        CREATE TABLE customers AS
        SELECT customer_id, first(name) AS name FROM lines GROUP BY customer_id\"\"\")
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    print(con.execute("SELECT count(*) FROM order_items").fetchone()[0])
    """
)
HAND_SQL = "hand-written load (DuckDB SQL, no checks)"
READER = (
    "import sys; from danggol.ingest.readers import read_chunks\n"
    "print(sum(p.table.num_rows for p in read_chunks(sys.argv[1])))"
)


def _versions(side: list[str]) -> str:
    from importlib.metadata import distributions, version

    text = ", ".join(f"{p} {version(p)}" for p in ("fastexcel", "python-calamine"))
    if side:
        found = {d.metadata["Name"]: d.version for d in distributions(path=[side[0]])}
        text += (
            f"; DuckDB read_xlsx in a side environment: duckdb {found.get('duckdb', '?')} "
            f"with the excel extension {side[1]}"
        )
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--formats", default="xlsx,csv", help="xlsx, csv or both")
    parser.add_argument("--workdir", help="where the stores go (default: a temp dir)")
    parser.add_argument("--files", help="where the generated files are kept and reused")
    parser.add_argument(
        "--streamed-readers",
        action="store_true",
        help="also time openpyxl's read-only mode and xlsx2csv (bounded memory, slower)",
    )
    parser.add_argument(
        "--old", help="also run danggol ingest on this git revision's code (before/after)"
    )
    parser.add_argument(
        "--duckdb-excel-env",
        help="a side environment holding duckdb==1.5.5 (pip install --target DIR "
        "duckdb==1.5.5): also time DuckDB's read_xlsx on the .xlsx (with --duckdb-excel-extension)",
    )
    parser.add_argument(
        "--duckdb-excel-extension",
        help="the excel extension built for that DuckDB (excel.duckdb_extension, from the "
        "duckdb-extension-excel 1.5.5 wheel)",
    )
    args = parser.parse_args()
    info = machine()
    load = os.getloadavg()[0]
    tmp = tempfile.TemporaryDirectory(prefix="danggol-excel-", dir=args.workdir)
    work = Path(tmp.name)
    files = Path(args.files) if args.files else work
    files.mkdir(parents=True, exist_ok=True)
    formats = args.formats.split(",")
    xlsx = files / f"smartstore-{args.lines}.xlsx" if "xlsx" in formats else None
    csv = files / f"smartstore-{args.lines}.csv" if "csv" in formats else None
    start = time.perf_counter()
    missing_x = xlsx if xlsx is not None and not xlsx.exists() else None
    missing_c = csv if csv is not None and not csv.exists() else None
    orders = write_files(args.lines, missing_x, missing_c)  # the orders, even if none written
    print(f"{args.lines:,} lines ({orders:,} orders) ready in {time.perf_counter() - start:.0f} s")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cli = [sys.executable, "-c", "from danggol.cli.main import run; run()"]
    versions = [("", env)]
    if args.old:
        old_src = work / "old"
        old_src.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.old, "src"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
        old_env = {**os.environ, "PYTHONPATH": str(old_src / "src")}
        versions = [(f" (old: {args.old})", old_env), (" (this tree)", env)]
    rows = []
    libraries = {"xlsx": ["fastexcel", "python-calamine"], "csv": ["pyarrow.csv (streamed)"]}
    if args.streamed_readers:
        libraries["xlsx"] += ["openpyxl read-only", "xlsx2csv"]
    side: list[str] = []
    if args.duckdb_excel_env or args.duckdb_excel_extension:
        if not (args.duckdb_excel_env and args.duckdb_excel_extension):
            raise SystemExit("give both --duckdb-excel-env DIR and --duckdb-excel-extension PATH")
        libraries["xlsx"].append(DUCKDB_XLSX)
        side = [
            str(Path(args.duckdb_excel_env).resolve()),
            str(Path(args.duckdb_excel_extension).resolve()),
        ]

    def row(fmt: str, size: str, run: str, wall: float, cpu: float, peak: float, base: float):
        rows.append([fmt, size, run, f"{wall:.1f} s", f"{cpu:.1f} s", f"{args.lines / cpu:,.0f}",
                     f"{cpu / base:.2f}", f"{peak:.2f} GiB"])  # fmt: skip

    for fmt, file in (("xlsx", xlsx), ("csv", csv)):
        if file is None:
            continue
        size = f"{file.stat().st_size / 2**20:,.0f} MiB"
        base = 0.0
        for lib in libraries[fmt]:
            extra = side if lib == DUCKDB_XLSX else []
            wall, cpu, peak, out = timed([sys.executable, "-c", LIBRARY[lib], str(file), *extra])
            assert int(out.strip()) == args.lines, out
            base = base or cpu
            row(fmt, size, f"{lib} alone", wall, cpu, peak, base)
            size = ""
        wall, cpu, peak, out = timed([sys.executable, "-c", READER, str(file)], env)
        assert int(out.strip()) == args.lines, out
        row(fmt, "", "danggol reader (read_chunks)", wall, cpu, peak, base)
        if fmt == "csv":
            store = work / "hand.duckdb"
            wall, cpu, peak, out = timed(
                [sys.executable, "-c", HAND_SQL_CSV, str(file), str(store)]
            )
            assert int(out.strip()) == args.lines, out
            store.unlink()
            row(fmt, "", HAND_SQL, wall, cpu, peak, base)
        for n, (label, run_env) in enumerate(versions):
            ws = work / f"ws-{fmt}-{n}"
            subprocess.run([*cli, "init", str(ws)], check=True, env=run_env, capture_output=True)
            toml = ws / "danggol.toml"
            text = re.sub(
                r'memory_limit = ".*"',
                f'memory_limit = "{args.memory_limit}"',
                toml.read_text(encoding="utf-8"),
            )
            toml.write_text(text, encoding="utf-8")
            wall, cpu, peak, out = timed(
                [*cli, "-w", str(ws), "ingest", "orders", str(file), "--preset", "smartstore",
                 "--json"], run_env,
            )  # fmt: skip
            result = json.loads(out)
            t = result["tables"]
            got = (t["orders"]["read"], t["order_items"]["read"])
            if got != (orders, args.lines) or result["quarantined"]:
                raise SystemExit(
                    f"danggol read {got} (orders, lines); the file has {orders, args.lines}"
                )
            row(fmt, "", f"danggol ingest --preset smartstore{label}", wall, cpu, peak, base)
            shutil.rmtree(ws)  # the next run's disk and page cache start alike
        print(
            md_table(["file", "size", "run", "wall", "CPU", "lines/CPU s", "× lib", "peak"], rows)
        )
    end_load = os.getloadavg()[0]
    command = (
        f"PYTHONPATH=src python bench/bench_ingest_excel.py --lines {args.lines} "
        f"--memory-limit {args.memory_limit} --formats {args.formats}"
        + (" --streamed-readers" if args.streamed_readers else "")
        + (f" --old {args.old}" if args.old else "")
        + (
            f" --duckdb-excel-env {args.duckdb_excel_env}"
            f" --duckdb-excel-extension {args.duckdb_excel_extension}"
            if side
            else ""
        )
    )
    md = (
        "### Excel and CSV ingest of a SmartStore download, next to the libraries alone\n\n"
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python "
        f"{info['python']}; {info['libraries']}, {_versions(side)}. **Shared machine** (other sessions on 2 "
        f"cores; load average {load:.2f} at the start, {end_load:.2f} at the end): read the "
        f"CPU ratios, not the seconds. Run {info['date']}: `{command}`; {orders:,} orders.\n\n"
        + md_table(
            [
                "file",
                "size",
                "run",
                "wall",
                "CPU (user + sys)",
                "lines per CPU s",
                "× first library (CPU)",
                "peak memory",
            ],
            rows,
        )
        + "\n"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest-excel.md").write_text(md, encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
