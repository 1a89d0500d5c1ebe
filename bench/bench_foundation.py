"""Foundation benchmark: ingest rows/s and profile build time on the demo shop.

    python bench/bench_foundation.py --customers 1000000

Each danggol figure stands next to its baseline measured in the same run: ingest next to a
plain DuckDB load of the same files (no validation, no quarantine), the profile next to the
same profile as one hand-written DuckDB SQL query and as idiomatic pandas. The three
profiles are checked to agree before any time is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))

import ibis

from baselines import profile_pandas, profile_sql
from common import best_of, machine, md_table, peak_rss_gib
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_files
from danggol.profile import customer_profile, event_names
from danggol.store.workspace import Workspace

TABLE_ORDER = ("customers", "orders", "order_items", "events")
#: what the pandas baseline reads (only the columns the profile needs, as one would)
PANDAS_COLUMNS = {
    "customers": [
        "customer_id",
        "country",
        "region",
        "city",
        "gender",
        "birth_date",
        "signup_date",
        "signup_channel",
        "marketing_opt_in",
        "tags",
    ],
    "orders": ["order_id", "customer_id", "order_date", "status", "total", "refunded_amount"],
    "order_items": ["order_id", "product_id", "category", "quantity"],
    "events": ["customer_id", "event", "event_date"],
}


def write_files(shop: dict, folder: Path) -> dict[str, dict[str, Path]]:
    files: dict[str, dict[str, Path]] = {}
    for name in TABLE_ORDER:
        table = shop[name]
        files[name] = {"parquet": folder / f"{name}.parquet"}
        pq.write_table(table, files[name]["parquet"])
    files["orders"]["csv"] = folder / "orders.csv"
    pacsv.write_csv(shop["orders"], files["orders"]["csv"])
    return files


def bench_ingest(
    files: dict[str, dict[str, Path]], folder: Path
) -> tuple[Workspace, list[list[object]]]:
    rows: list[list[object]] = []
    ws = Workspace.init(folder / "ws")
    total_rows = 0
    start = time.perf_counter()
    for name in TABLE_ORDER:
        t0 = time.perf_counter()
        res = ingest_files(ws, name, [files[name]["parquet"]])
        took = time.perf_counter() - t0
        total_rows += res.read
        base = _plain_load(files[name]["parquet"], "parquet")
        rows.append(
            [
                f"ingest {name} (Parquet)",
                f"{res.read:,}",
                f"{res.read / took:,.0f} rows/s",
                f"{res.read / base:,.0f} rows/s",
                f"{took / base:.2f}×",
            ]
        )
        assert res.quarantined == 0, res.to_dict()
        print(rows[-1], file=sys.stderr, flush=True)
    all_took = time.perf_counter() - start
    rows.append(
        [
            "ingest whole shop (Parquet)",
            f"{total_rows:,}",
            f"{total_rows / all_took:,.0f} rows/s",
            "",
            "",
        ]
    )

    csv_ws = Workspace.init(folder / "ws_csv")
    t0 = time.perf_counter()
    res = ingest_files(csv_ws, "orders", [files["orders"]["csv"]])
    took = time.perf_counter() - t0
    csv_ws.close()
    base = _plain_load(files["orders"]["csv"], "csv")
    rows.append(
        [
            "ingest orders (CSV)",
            f"{res.read:,}",
            f"{res.read / took:,.0f} rows/s",
            f"{res.read / base:,.0f} rows/s",
            f"{took / base:.2f}×",
        ]
    )
    return ws, rows


def _plain_load(path: Path, fmt: str) -> float:
    """Baseline: DuckDB loads the file as it is, into a table on disk (no checks)."""
    import duckdb

    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(str(Path(d) / "plain.duckdb"))
        reader = f"read_parquet('{path}')" if fmt == "parquet" else f"read_csv('{path}')"
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}")
        took = time.perf_counter() - t0
        con.close()
    return took


def bench_profile(ws: Workspace, as_of: dt.date) -> list[list[object]]:
    con = ws.ibis
    duck = ws.duck
    names = event_names(con)

    def danggol_profile() -> None:
        # the whole library path: build the expression (with its event-name query), compile, run
        sql = ibis.to_sql(customer_profile(con, as_of), dialect="duckdb")
        duck.execute(f"CREATE OR REPLACE TEMP TABLE p_danggol AS {sql}")

    hand = profile_sql(as_of, names)

    def sql_profile() -> None:
        duck.execute(f"CREATE OR REPLACE TEMP TABLE p_sql AS {hand}")

    t_sql, _ = best_of(sql_profile)
    t_dg, _ = best_of(danggol_profile)
    t_sql2, _ = best_of(sql_profile)
    t_sql = min(t_sql, t_sql2)
    _check_same(duck)
    print(f"profile: danggol {t_dg:.2f} s, SQL {t_sql:.2f} s", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    frames = {
        n: duck.execute(f"SELECT {', '.join(cols)} FROM {n}").df()
        for n, cols in PANDAS_COLUMNS.items()
    }
    t_frames = time.perf_counter() - t0
    t_pd, pdf = best_of(
        lambda: profile_pandas(
            frames["customers"], frames["orders"], frames["order_items"], frames["events"], as_of
        ),
        repeat=2,
    )
    _check_pandas(duck, pdf)
    return [
        ["profile (danggol, Ibis → DuckDB)", f"{t_dg:.2f} s", "1.00×"],
        [
            "profile (hand-written DuckDB SQL)",
            f"{t_sql:.2f} s",
            f"danggol / SQL = {t_dg / t_sql:.2f}×",
        ],
        [
            "profile (idiomatic pandas, data already in memory)",
            f"{t_pd:.2f} s",
            f"pandas / danggol = {t_pd / t_dg:.1f}×",
        ],
        ["  (loading the tables into pandas, not counted)", f"{t_frames:.2f} s", ""],
    ]


def _check_same(duck) -> None:
    cols = [r[0] for r in duck.execute("DESCRIBE p_sql").fetchall()]
    sel = ", ".join(f'"{c}"' for c in cols)
    n = duck.execute(
        f"SELECT count(*) FROM ((SELECT {sel} FROM p_danggol EXCEPT ALL SELECT {sel} FROM p_sql) "
        f"UNION ALL (SELECT {sel} FROM p_sql EXCEPT ALL SELECT {sel} FROM p_danggol))"
    ).fetchall()[0][0]
    if n:
        raise SystemExit(f"danggol and the hand-written SQL profile differ in {n} rows")


def _check_pandas(duck, pdf) -> None:
    dg = duck.execute(
        "SELECT count(*), sum(number_of_orders), round(sum(amount_spent)), "
        "count(amount_spent_percentile), round(sum(amount_spent_percentile), 3), "
        "sum(distinct_products), count(favourite_category), sum(events_total), sum(age), "
        "round(sum(avg_days_between_orders), 3) FROM p_danggol"
    ).fetchall()[0]
    pd_ = (
        len(pdf),
        int(pdf.number_of_orders.sum()),
        round(pdf.amount_spent.sum()),
        int(pdf.amount_spent_percentile.notna().sum()),
        round(pdf.amount_spent_percentile.sum(), 3),
        int(pdf.distinct_products.sum()),
        int(pdf.favourite_category.notna().sum()),
        int(pdf.events_total.sum()),
        int(pdf.age.sum()),
        round(pdf.avg_days_between_orders.sum(), 3),
    )
    if tuple(dg) != pd_:
        raise SystemExit(f"pandas profile differs from danggol's: {pd_} vs {tuple(dg)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the workspace in this folder")
    parser.add_argument("--json", type=Path, help="write the results as JSON here too")
    args = parser.parse_args()
    end = dt.date(2025, 6, 30)
    info = machine()

    t0 = time.perf_counter()
    shop = generate_shop(args.customers, seed=args.seed, end=end)
    t_gen = time.perf_counter() - t0
    counts = {n: shop[n].num_rows for n in TABLE_ORDER}
    folder = Path(tempfile.mkdtemp(prefix="danggol-bench-"))
    try:
        files = write_files(shop, folder)
        del shop
        ws, ingest_rows = bench_ingest(files, folder)
        profile_rows = bench_profile(ws, end)
        ws.close()
        if args.keep:
            shutil.copytree(folder / "ws", args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    title = f"### Foundation: {args.customers:,} demo customers ({', '.join(f'{v:,} {k}' for k, v in counts.items())})"
    text = "\n\n".join(
        [
            title,
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
            f"{info['libraries']}. Run {info['date']}: `python bench/bench_foundation.py --customers {args.customers}`.",
            f"Demo generation: {t_gen:.1f} s. Peak memory of the benchmark process: {peak_rss_gib():.1f} GiB.",
            md_table(
                ["step", "rows", "danggol", "plain DuckDB load (no checks)", "danggol / plain"],
                ingest_rows,
            ),
            md_table(
                ["profile build (as of 2025-06-30, materialised)", "time", "ratio"], profile_rows
            ),
        ]
    )
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "ingest": ingest_rows, "profile": profile_rows}, indent=1)
        )


if __name__ == "__main__":
    ibis.options.interactive = False
    main()
