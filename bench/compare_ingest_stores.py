"""The stores two versions of danggol's ingest make from the same inputs, table by table.

    PYTHONPATH=src python bench/compare_ingest_stores.py --old main --lines 200000

Proves a change to the load path (``danggol.ingest``) keeps its results: every input is
ingested once with the old code (``git archive OLD src``) and once with this worktree's, each
in its own process and fresh workspace, then every table of the two stores — the canonical
tables, the quarantine (reasons, lines, raw records), the ingest log and the touched-customers
log — is compared with ``EXCEPT ALL`` both ways (the load-time clocks ``quarantined_at`` and
``ingested_at`` left out), and the two ``IngestResult``s (counts, duplicate rows, errors)
must be equal. The inputs:

* ``bench-clean``: the SmartStore download of ``bench_ingest_excel.py`` (``--lines`` lines,
  CSV), loaded, then loaded again (a no-op re-load: every order unchanged);
* ``bench-xlsx``: the same download at 20,000 lines as .xlsx;
* ``bench-messy``: that CSV with faults written in at fixed strides — exact repeated rows,
  a line whose buyer differs from its order's other lines, unreadable quantities, guests
  with a phone and without, Korean Excel date-times, dotted dates, unreadable dates,
  negative and ambiguous amounts, an unknown status — then a second file re-stating some
  of its orders (same, another buyer, new ones) into the same store;
* every ``ingest_files`` call the ingest tests make (``--record``: the tests are run once
  with this module as a pytest plugin that copies each call's files and the workspace's
  ``danggol.toml``; the calls are then replayed in order on a fresh workspace per test
  workspace): real-shaped SmartStore, Cafe24, Shopify and WooCommerce files in UTF-8, CP949,
  .xlsx and .xls, and the fuzzed files of ``test_fuzz_ingest.py``.

Exit status 0 when every case is equal; the differences are printed otherwise.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: load-time clocks: the only columns that differ between two runs of the same load
CLOCKS = {"quarantined_at", "ingested_at", "migrated_at"}
RECORD_ENV = "DANGGOL_RECORD_INGEST"

# -- recording the tests' calls (this module as a pytest plugin) -----------------------------


def pytest_configure(config: Any) -> None:  # pragma: no cover - runs inside pytest
    """Wrap ``ingest_files`` so that every call copies its inputs into the record folder."""
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        return
    from danggol.ingest import load

    real = load.ingest_files
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)

    def recorded(ws: Any, table: str, paths: Any, **kwargs: Any) -> Any:
        case = root / hashlib.sha256(str(ws.path).encode()).hexdigest()[:16]
        steps = sorted(case.glob("step-*")) if case.exists() else []
        step = case / f"step-{len(steps):04d}"
        step.mkdir(parents=True)
        toml = Path(ws.path) / "danggol.toml"
        if toml.exists():
            shutil.copy(toml, step / "danggol.toml")
        files = []
        for i, p in enumerate(paths):
            target = step / f"f{i}" / Path(p).name
            target.parent.mkdir()
            if Path(p).is_file():
                shutil.copy(p, target)
            files.append(str(target))
        extra = dict(kwargs)
        if extra.get("mapping"):
            target = step / "mapping" / Path(extra["mapping"]).name
            target.parent.mkdir()
            shutil.copy(extra["mapping"], target)
            extra["mapping"] = str(target)
        spec = {"table": table, "files": files, "kwargs": extra}
        (step / "call.json").write_text(json.dumps(spec, default=str), encoding="utf-8")
        return real(ws, table, paths, **kwargs)

    load.ingest_files = recorded


# -- replaying: run in a subprocess with one version's src on PYTHONPATH -----------------------

DRIVER = r"""
import json, sys, shutil
from pathlib import Path
from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace

cases = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
out = Path(sys.argv[2])
results = {}
for name, steps in cases.items():
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    Workspace.init(folder)
    got = []
    for step in steps:
        if step["toml"]:
            (folder / "danggol.toml").write_text(step["toml"], encoding="utf-8")
        ws = Workspace.open(folder)
        try:
            r = ingest_files(ws, step["table"], step["files"], **step["kwargs"])
            got.append(r.to_dict())
        except Exception as exc:  # an error is a result too: both versions must give it
            got.append({"error": type(exc).__name__, "message": str(exc)})
        finally:
            ws.close()
    results[name] = got
(out / "results.json").write_text(json.dumps(results, default=str), encoding="utf-8")
"""


def run_version(src: Path, cases: dict[str, list[dict[str, Any]]], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    spec = out / "cases.json"
    spec.write_text(json.dumps(cases), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", DRIVER, str(spec), str(out)], check=True, env=env)
    return dict(json.loads((out / "results.json").read_text(encoding="utf-8")))


def compare_stores(old: Path, new: Path) -> list[str]:
    """The tables whose rows differ (EXCEPT ALL both ways), with counts and examples."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{old}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{new}' AS b (READ_ONLY)")

    def tables(db: str) -> set[str]:
        rows = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [db]
        ).fetchall()
        return {r[0] for r in rows}

    problems = []
    ta, tb = tables("a"), tables("b")
    if ta != tb:
        problems.append(f"tables differ: only old {sorted(ta - tb)}, only new {sorted(tb - ta)}")
    for t in sorted(ta & tb):
        cols_a = [r[0] for r in con.execute(f'DESCRIBE a."{t}"').fetchall()]
        cols_b = [r[0] for r in con.execute(f'DESCRIBE b."{t}"').fetchall()]
        if cols_a != cols_b:
            problems.append(f"{t}: columns differ {cols_a} / {cols_b}")
            continue
        cols = ", ".join(f'"{c}"' for c in cols_a if c not in CLOCKS)
        for x, y, word in (("a", "b", "only old"), ("b", "a", "only new")):
            sql = f'SELECT {cols} FROM {x}."{t}" EXCEPT ALL SELECT {cols} FROM {y}."{t}"'
            n = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
            if n:
                sample = con.execute(f"{sql} LIMIT 3").fetchall()
                problems.append(f"{t}: {n} rows {word}, e.g. {sample}")
    con.close()
    return problems


# -- the bench files -------------------------------------------------------------------------


def messy_copy(clean: Path, target: Path) -> None:
    """``clean`` with faults written in at fixed strides (see the module docstring)."""
    with clean.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(header)}
    out = [header]
    for i, row in enumerate(body):
        row = list(row)
        if i % 211 == 5:
            row[col["구매자ID"]] = "someone-else"
        if i % 307 == 7:
            row[col["수량"]] = "two"
        if i % 149 == 3:
            row[col["구매자ID"]] = ""
            row[col["구매자연락처"]] = f"010-{i % 10000:04d}-{i % 7777:04d}"
        if i % 149 == 4:
            row[col["구매자ID"]] = ""
        paid = row[col["결제일"]]
        if i % 53 == 1:  # 2024-07-03 14:15:00 → 2024-07-03 오후 2:15:00
            day, clock = paid.split(" ")
            h, m, s = (int(x) for x in clock.split(":"))
            word = "오전" if h < 12 else "오후"
            row[col["결제일"]] = f"{day} {word} {(h % 12) or 12}:{m:02d}:{s:02d}"
        if i % 59 == 2:
            row[col["결제일"]] = paid.replace("-", ".")[:16]
        if i % 401 == 9:
            row[col["결제일"]] = "어제"
        if i % 503 == 11:
            row[col["최종 상품별 총 주문금액"]] = "-500"
        if i % 509 == 13:
            row[col["최종 상품별 총 주문금액"]] = "1.500"
        if i % 613 == 17:
            row[col["주문상태"]] = "보류"
        out.append(row)
        if i % 97 == 0:
            out.append(list(row))  # an exact repeat
    with target.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(out)
    # a second file: some orders again (the same, with another buyer) and new ones
    again = [header]
    for i, row in enumerate(body[:5000]):
        row = list(row)
        if i % 3 == 1:
            row[col["구매자ID"]] = "buyer-moved"
        if i % 3 == 2:
            row[col["주문번호"]] = "9" + row[col["주문번호"]]
            row[col["상품주문번호"]] = "9" + row[col["상품주문번호"]]
        again.append(row)
    with target.with_name(target.stem + "-again.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(again)


def bench_cases(lines: int, files: Path) -> dict[str, list[dict[str, Any]]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_ingest_excel import write_files

    files.mkdir(parents=True, exist_ok=True)
    clean = files / f"smartstore-{lines}.csv"
    if not clean.exists():
        write_files(lines, None, clean)
    small = files / "smartstore-20000.xlsx"
    if not small.exists():
        write_files(20_000, small, None)
    messy = files / f"smartstore-{lines}-messy.csv"
    messy_copy(clean, messy)
    toml = None  # the workspace's default settings
    smart = {"preset": "smartstore"}

    def step(*paths: Path) -> dict[str, Any]:
        return {"table": "orders", "files": [str(p) for p in paths], "kwargs": smart, "toml": toml}

    again = messy.with_name(messy.stem + "-again.csv")
    return {
        "bench-clean": [step(clean), step(clean)],
        "bench-xlsx": [step(small)],
        "bench-messy": [step(messy), step(again), step(messy)],
    }


def recorded_cases(folder: Path) -> dict[str, list[dict[str, Any]]]:
    cases = {}
    for case in sorted(p for p in folder.iterdir() if p.is_dir()):
        steps = []
        for step in sorted(case.glob("step-*")):
            call = json.loads((step / "call.json").read_text(encoding="utf-8"))
            toml = step / "danggol.toml"
            call["toml"] = toml.read_text(encoding="utf-8") if toml.exists() else None
            steps.append(call)
        cases[f"test-{case.name}"] = steps
    return cases


def record(folder: Path, tests: list[str]) -> None:
    env = {
        **os.environ,
        RECORD_ENV: str(folder),
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}",
    }
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p",
           "compare_ingest_stores", "-x", *tests]  # fmt: skip
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


TESTS = [
    "tests/test_ingest.py",
    "tests/test_ingest_bad_input.py",
    "tests/test_ingest_excel.py",
    "tests/test_ingest_platforms.py",
    "tests/test_ingest_stream.py",
    "tests/test_presets.py",
    "tests/test_fuzz_ingest.py",
    "tests/test_dates_at_edges.py",
    "tests/test_shopify_catalogue.py",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", default="main", help="the git revision to compare against")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--files", help="where the bench files are kept and reused")
    parser.add_argument("--workdir", help="where the stores go (default: a temp dir)")
    parser.add_argument("--no-tests", action="store_true", help="only the bench files")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="danggol-compare-", dir=args.workdir)
    work = Path(tmp.name)
    old_src = work / "old"
    old_src.mkdir()
    archive = subprocess.run(
        ["git", "archive", args.old, "src"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
    cases = bench_cases(args.lines, Path(args.files) if args.files else work / "files")
    if not args.no_tests:
        record(work / "recorded", TESTS)
        cases |= recorded_cases(work / "recorded")
    old = run_version(old_src / "src", cases, work / "old-stores")
    new = run_version(ROOT / "src", cases, work / "new-stores")
    bad = 0
    for name in cases:
        problems = []
        if old[name] != new[name]:
            problems.append(f"results differ:\n  old {old[name]}\n  new {new[name]}")
        a, b = (
            work / "old-stores" / name / "store.duckdb",
            work / "new-stores" / name / "store.duckdb",
        )
        problems += compare_stores(a, b)
        quarantined = sum(int(r.get("quarantined", 0)) for r in old[name])
        print(f"{name}: {len(cases[name])} load(s), {quarantined} quarantined — "
              + ("equal" if not problems else "DIFFERENT"))  # fmt: skip
        for p in problems:
            print("   ", p)
        bad += bool(problems)
    print(f"{len(cases) - bad} of {len(cases)} cases equal (old = {args.old}, new = worktree)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
