"""Two danggol source trees on the same demo shop: the same results? (issue 20: "no behaviour
changes" of the restructuring, said with figures)

    python bench/compare_trees.py /tmp/before/src src --customers 5000 100000

Each tree runs in its own process (``PYTHONPATH=<tree>``) through the public API only
(``generate_shop``, ``Workspace.init``, ``ingest_tables``, ``refresh``), on a new workspace with
``[predictions] model = "bgnbd"`` (the old default; the new one is ``auto``, issue 18). Then the
store is read with plain SQL, the same for both trees:

* the four demo tables: rows and a SHA-256 of schema and values;
* the profile (``profile_snapshot``): rows, and a SHA-256 of every column (sorted by customer)
  — columns only one tree has are listed;
* the RFM groups and the lifecycle stages: customers and revenue per group;
* every segment's size at the refresh (``segment_sizes``);
* the prediction run (``prediction_runs``): model and fitted parameters;
* CPU seconds (rusage of the child) of the ingest and of the refresh.

Prints one table per shop size and ``--markdown`` the same as Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RUNNER = r"""
import datetime as dt, hashlib, json, resource, sys, time
from pathlib import Path
import duckdb
import danggol
from danggol.demo import generate_shop

n, seed, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
END = dt.date(2025, 6, 30)

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

out = {"version": getattr(danggol, "__version__", "?")}
shop = generate_shop(n, seed=seed, end=END)
tables = {}
for name, table in sorted(shop.items()):
    h = hashlib.sha256(str(table.schema).encode())
    for col in table.columns:
        h.update(json.dumps(col.to_pylist(), default=str, ensure_ascii=False).encode())
    tables[name] = [table.num_rows, h.hexdigest()[:16]]
out["demo"] = tables

ws = danggol.Workspace.init(folder)
import tomlkit
doc = tomlkit.parse((folder / "danggol.toml").read_text(encoding="utf-8"))
doc.setdefault("predictions", tomlkit.table())["model"] = "bgnbd"
(folder / "danggol.toml").write_text(tomlkit.dumps(doc), encoding="utf-8")
ws.close()
ws = danggol.Workspace.open(folder)
t0 = cpu()
danggol.ingest_tables(ws, shop)
t1 = cpu()
danggol.refresh(ws, END)
t2 = cpu()
out["cpu"] = {"ingest": round(t1 - t0, 2), "refresh": round(t2 - t1, 2)}
ws.close()

con = duckdb.connect(str(folder / "store.duckdb"), read_only=True)
cols = [r[0] for r in con.execute("DESCRIBE profile_snapshot").fetchall()]
prof = {}
for c in cols:
    values = con.execute(
        f'SELECT list("{c}" ORDER BY customer_id) FROM profile_snapshot'
    ).fetchone()[0]
    prof[c] = hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()[:16]
out["profile_rows"] = con.execute("SELECT count(*) FROM profile_snapshot").fetchone()[0]
out["profile"] = prof
for dim in ("rfm_group", "lifecycle_stage"):
    out[dim] = {
        str(k): [n, round(float(v or 0), 2)]
        for k, n, v in con.execute(
            f"SELECT {dim}, count(*), sum(amount_spent) FROM profile_snapshot GROUP BY 1 ORDER BY 1"
        ).fetchall()
    }
run = con.execute("SELECT run FROM prediction_runs ORDER BY as_of DESC LIMIT 1").fetchone()
out["prediction"] = json.loads(run[0]) if run else None
con.execute(f"COPY profile_snapshot TO '{folder}/profile.parquet' (FORMAT parquet)")
con.close()

# every built-in that needs no parameter: its size and its members, through the library
from danggol.segments import service
import pyarrow as pa, pyarrow.parquet as pq
ws = danggol.Workspace.open(folder)
sizes, names, ids = {}, [], []
for name, seg in sorted(service.registry(ws).all().items()):
    if seg.missing_params():
        continue
    tgt = service.named(ws, name)
    sizes[name] = service.count(ws, tgt, END)
    if "known_customer" in (tgt.query or ""):
        out.setdefault("names_known", []).append(name)
    got = service.members(ws, tgt, END).select("customer_id").to_pyarrow()
    ids += got.column(0).to_pylist()
    names += [name] * got.num_rows
pq.write_table(pa.table({"segment": names, "customer_id": ids}), folder / "members.parquet")
ws.close()
out["segments"] = sizes
out["folder"] = str(folder)
print(json.dumps(out, default=str))
"""


def run_tree(src: str, customers: int, seed: int) -> dict[str, object]:
    folder = tempfile.mkdtemp(prefix="danggol-compare-")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(customers), str(seed), folder + "/shop"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{src}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _params(run: object) -> dict[str, object]:
    """The fitted parameters of a prediction run, whatever its layout."""
    if not isinstance(run, dict):
        return {}
    found: dict[str, object] = {}
    for key, value in run.items():
        if key in ("model", "model_params", "log_likelihood", "spend_model", "spend_params"):
            found[key] = value
    return found


def _members_explained(
    before: str, after: str, exempt: list[str]
) -> list[tuple[str, str, str, str]]:
    """Issue 17 counts a segment among the known customers (a customer record or an order):
    is every size change exactly that? after's members = before's members ∩ known customers
    (``known_customer`` of after's profile), segment by segment — but for the segments whose
    query names ``known_customer`` (``exempt``: their universe is every profile)."""
    import duckdb

    con = duckdb.connect()
    found = con.execute(
        f"""
        WITH b AS (SELECT * FROM '{before}/members.parquet' WHERE NOT list_contains(?, segment)),
             a0 AS (SELECT * FROM '{after}/members.parquet'),
             known AS (SELECT customer_id FROM '{after}/profile.parquet' WHERE known_customer),
             expected AS (SELECT b.* FROM b SEMI JOIN known USING (customer_id)),
             a AS (SELECT * FROM a0 WHERE NOT list_contains(?, segment))
        SELECT
          (SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM a)),
          (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM expected)),
          (SELECT count(*) FROM b) - (SELECT count(*) FROM expected),
          (SELECT count(*) FROM '{after}/profile.parquet' WHERE NOT known_customer)
        """,
        [exempt or [""], exempt or [""]],
    ).fetchone()
    missing, extra, dropped, visitors = found
    return [
        (
            "members: after = before ∩ known customers (issue 17)",
            f"{dropped:,} memberships of the {visitors:,} profiles that are not known customers",
            f"{missing:,} expected but missing, {extra:,} unexpected",
            "same" if missing == extra == 0 else "DIFFERENT",
        )
    ]


def _profile_differences(
    before: str, after: str, columns: list[str]
) -> list[tuple[str, str, str, str]]:
    """For each profile column whose values differ: how many rows, and the largest relative
    difference of a numeric column."""
    import duckdb

    con = duckdb.connect()
    rows = []
    for c in columns:
        kind = con.execute(
            f"SELECT typeof(\"{c}\") FROM '{before}/profile.parquet' LIMIT 1"
        ).fetchone()[0]
        numeric = kind in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "DECIMAL", "HUGEINT")
        rel = f'max(abs(a."{c}" - b."{c}") / greatest(abs(b."{c}"), 1e-12))' if numeric else "NULL"
        n, worst = con.execute(
            f"""SELECT count(*) FILTER (WHERE a."{c}" IS DISTINCT FROM b."{c}"), {rel}
            FROM '{before}/profile.parquet' b JOIN '{after}/profile.parquet' a
            USING (customer_id)"""
        ).fetchone()
        shown = f"{n:,} rows differ" + (
            f", largest relative difference {worst:.1e}" if numeric else ""
        )
        rows.append((f"profile {c}", "", shown, "DIFFERENT"))
    return rows


def compare(before: dict, after: dict) -> list[tuple[str, str, str, str]]:
    """(what, before, after, same?) rows."""
    rows: list[tuple[str, str, str, str]] = []

    def add(what: str, a: object, b: object) -> None:
        rows.append((what, str(a), str(b), "same" if a == b else "DIFFERENT"))

    for name in sorted(before["demo"]):
        add(f"demo {name} (rows, hash)", before["demo"][name], after["demo"].get(name))
    add("profile rows", before["profile_rows"], after["profile_rows"])
    pb, pa = before["profile"], after["profile"]
    common = sorted(set(pb) & set(pa))
    differ = [c for c in common if pb[c] != pa[c]]
    add(f"profile columns in both ({len(common)}): differing", [], differ)
    add("profile columns only before", [], sorted(set(pb) - set(pa)))
    add("profile columns only after", [], sorted(set(pa) - set(pb)))
    for dim in ("rfm_group", "lifecycle_stage"):
        for key in sorted(set(before[dim]) | set(after[dim])):
            add(f"{dim} {key} (customers, revenue)", before[dim].get(key), after[dim].get(key))
    for seg in sorted(set(before["segments"]) | set(after["segments"])):
        add(f"segment {seg}", before["segments"].get(seg), after["segments"].get(seg))
    rows.extend(_members_explained(before["folder"], after["folder"], after.get("names_known", [])))
    rows.extend(_profile_differences(before["folder"], after["folder"], differ))
    pb_, pa_ = _params(before["prediction"]), _params(after["prediction"])
    worst = max(
        (
            abs(pa_[group][k] - v) / max(abs(v), 1e-300)
            for group in ("model_params", "spend_params")
            for k, v in (pb_.get(group) or {}).items()
            if k in (pa_.get(group) or {})
        ),
        default=float("nan"),
    )
    rows.append(
        (
            "prediction parameters (BG/NBD r, α, a, b; Gamma-Gamma p, q, γ)",
            json.dumps({g: pb_.get(g) for g in ("model_params", "spend_params")}),
            json.dumps({g: pa_.get(g) for g in ("model_params", "spend_params")}),
            f"largest relative difference {worst:.1e}",
        )
    )
    add(
        "log-likelihood of the purchase model",
        round(pb_.get("log_likelihood", 0), 6),
        round(pa_.get("log_likelihood", 0), 6),
    )
    for stage in ("ingest", "refresh"):
        a, b = before["cpu"][stage], after["cpu"][stage]
        rows.append((f"CPU s {stage}", str(a), str(b), f"{b / a:.2f}×" if a else "-"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the src/ folder of the reference tree")
    parser.add_argument("after", help="the src/ folder of the tree to check")
    parser.add_argument("--customers", type=int, nargs="+", default=[5000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", help="also write both trees' raw results to this file")
    parser.add_argument("--from-json", help="print the tables of a saved --json file (no run)")
    args = parser.parse_args()
    raw: dict[str, dict[str, dict]] = {}
    saved = json.loads(Path(args.from_json).read_text(encoding="utf-8")) if args.from_json else {}
    for n in args.customers:
        if saved:
            before, after = saved[str(n)]["before"], saved[str(n)]["after"]
        else:
            before = run_tree(args.before, n, args.seed)
            after = run_tree(args.after, n, args.seed)
        raw[str(n)] = {"before": before, "after": after}
        print(f"\n{n:,} customers, seed {args.seed}, as of 2025-06-30")
        rows = compare(before, after)
        if args.markdown:
            print("\n| what | before | after | |\n|---|---|---|---|")
            for r in rows:
                print("| " + " | ".join(x.replace("|", "/") for x in r) + " |")
        else:
            for r in rows:
                print(f"{r[3]:9} {r[0]:50} {r[1][:60]:60} {r[2][:60]}")
    if args.json and not saved:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(raw, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
