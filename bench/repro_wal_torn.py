"""Minimal reproduction, without danggol: a DuckDB transaction killed with SIGKILL just after
its write-ahead log appears can leave a torn database (issue 14, item 1).

The child opens ``db.duckdb`` (a table ``orders`` of ``--base`` rows, checkpointed, no WAL)
and runs one transaction shaped like a danggol load: a staging table of ``--rows`` new rows
created inside the transaction, a DELETE of ``--updates`` existing ids, an INSERT of the staged
rows, a DROP of the staging table, one row in ``log``, COMMIT. The parent watches for
``db.duckdb.wal`` and SIGKILLs the child a random 0–``--window`` ms after it appears. Each
database left behind is opened by a fresh process and classified:

* ``before``: the base rows, no log row;  ``after``: the committed rows and the log row;
* ``torn``: anything else (rows appended without the log row, duplicate ids, …);
* ``unopenable``: opening fails (e.g. ``Failure while replaying WAL file``).

Usage: ``python bench/repro_wal_torn.py --kills 30 --base 10000 --rows 3000000``
(``--checkpoint`` runs the variant where the child sets ``wal_autocheckpoint`` so high that
the commit never checkpoints by itself.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import sys, duckdb
path, rows, updates, base, autocp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
con = duckdb.connect(path)
if autocp != "default":
    con.execute(f"SET wal_autocheckpoint = '{autocp}'")
con.execute("BEGIN TRANSACTION")
# the new rows: `updates` of them reuse existing ids, the rest are new
con.execute(
    f"CREATE TABLE staged AS SELECT CASE WHEN i < {updates} THEN i ELSE {base} + i END AS id, "
    f"i * 7 % 100000 AS amount, 'new' AS note FROM range({rows}) t(i)"
)
con.execute("DELETE FROM orders WHERE id IN (SELECT id FROM staged)")
con.execute("INSERT INTO orders SELECT * FROM staged")
con.execute("DROP TABLE staged")
con.execute("INSERT INTO log VALUES (1, (SELECT count(*) FROM orders))")
print("committing", flush=True)
con.execute("COMMIT")
print("committed", flush=True)
con.close()
"""

CHECK = r"""
import sys, json, duckdb
try:
    con = duckdb.connect(sys.argv[1])
    n, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM orders").fetchone()
    logged = con.execute("SELECT count(*) FROM log").fetchone()[0]
    print(json.dumps({"rows": n, "distinct": distinct, "logged": logged}))
except Exception as exc:
    print(json.dumps({"error": str(exc).splitlines()[0][:300]}))
"""


def make_base(folder: Path, base: int) -> Path:
    import duckdb

    path = folder / "base.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        f"CREATE TABLE orders AS SELECT i AS id, i % 1000 AS amount, 'old' AS note "
        f"FROM range({base}) t(i)"
    )
    con.execute("CREATE TABLE log (batch BIGINT, total BIGINT)")
    con.execute("CHECKPOINT")
    con.close()
    assert not Path(str(path) + ".wal").exists()
    return path


def classify(path: Path, base: int, rows: int, updates: int) -> tuple[str, dict]:
    out = subprocess.run(
        [sys.executable, "-c", CHECK, str(path)], capture_output=True, text=True, timeout=600
    )
    seen = json.loads(out.stdout)
    if "error" in seen:
        return "unopenable", seen
    after = base + rows - updates
    if seen == {"rows": base, "distinct": base, "logged": 0}:
        return "before", seen
    if seen == {"rows": after, "distinct": after, "logged": 1}:
        return "after", seen
    return "torn", seen


def one_kill(base_db: Path, work: Path, args: argparse.Namespace, rng: random.Random) -> tuple:
    db = work / "db.duckdb"
    for p in work.iterdir():
        p.unlink()
    shutil.copy(base_db, db)
    wal = Path(str(db) + ".wal")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(db),
            str(args.rows),
            str(args.updates),
            str(args.base),
            args.autocheckpoint,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    delay = rng.uniform(0, args.window / 1000)
    seen_wal = False
    while child.poll() is None:
        if wal.exists():
            seen_wal = True
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0005)
    child.wait()
    wal_size = wal.stat().st_size if wal.exists() else 0
    state, seen = classify(db, args.base, args.rows, args.updates)
    return state, seen, round(delay * 1000, 1), seen_wal, child.returncode, wal_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=150.0, help="ms after the WAL appears")
    parser.add_argument("--autocheckpoint", default="default")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import duckdb

    print(f"duckdb {duckdb.__version__}, {args}", flush=True)
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="walrepro."))
    base_db = make_base(folder, args.base)
    work = folder / "work"
    work.mkdir()
    counts: dict[str, int] = {}
    for i in range(args.kills):
        state, seen, delay, seen_wal, rc, wal_size = one_kill(base_db, work, args, rng)
        counts[state] = counts.get(state, 0) + 1
        print(
            f"{i:3d} kill {delay:6.1f} ms after the WAL (seen={seen_wal}, rc={rc}, "
            f"wal={wal_size} B): {state} {seen}",
            flush=True,
        )
        if state in ("torn", "unopenable") and not os.environ.get("KEEP"):
            keep = folder / f"torn-{i}"
            keep.mkdir()
    shutil.rmtree(folder, ignore_errors=True)
    print("summary:", json.dumps(counts))


if __name__ == "__main__":
    main()
