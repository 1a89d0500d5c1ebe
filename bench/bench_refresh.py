"""Refresh benchmark: danggol's full ``refresh`` next to the same work as hand-made DuckDB SQL.

    python bench/bench_refresh.py --workspace bench/out/ws-1m    # a workspace with the demo shop
    python bench/bench_refresh.py --customers 100000             # or generate one

A refresh = profile, RFM, lifecycle, grades, percentile tiers (the stored
``profile_snapshot``), every segment (the built-in ones, parameters chosen as in
bench_segments.py) and the membership history, in one transaction. The hand-written side
does the same work in one ``BEGIN … COMMIT``:

1. the profile as one query (``baselines.profile_sql``) into a temporary table;
2. one query learns the RFM thresholds (``quantile_disc`` over buyers: the inverted-CDF
   rule) and the repeat buyers' 90th-percentile cycle for the churn window;
3. one ``CREATE TABLE profile_snapshot AS`` adds every score column
   (``baselines_scores.scored_sql``), then ``profile_snapshot_meta`` is written;
4. the segments as hand-written SQL (``bench_segments.hand_segments``) go through
   danggol's own bookkeeping (``history.snapshot_segments(..., queries=...)``: members,
   entered/left, sizes) and a ``refreshes`` row is added.

Before any time counts, the stored tables of both sides must agree row for row
(EXCEPT ALL both ways, on the score columns and on every column), the learned thresholds
must agree (and match the documented rule computed with numpy), danggol's scores must obey
the documented equivalent form s = 1 + min(bins − 1, floor(bins · below / n)), and the
segment sizes must agree. Then the two refreshes alternate, best of 3 each. Both times are
broken down by running the pieces inside rolled-back transactions (best of 3 each).

Two kinds of refresh are timed. The everyday one, with nothing loaded since the last
refresh (the stored purchase lines are current, so danggol's refresh does not rebuild them);
and ``--full``, a refresh as after a load: danggol's ``refresh(full=True)`` rebuilds the
stored ``purchase_lines`` (issue 19), and the hand-written side then builds the same table
with one ``CREATE TABLE … AS`` (checked equal, EXCEPT ALL both ways).

Every write goes through the store's one writer (``Workspace.transaction``: a private copy of
the store, published by rename — docs/internals.md, "Sharing a workspace"), so both sides
pay the same copy; the breakdown runs its pieces inside a writer that is abandoned (nothing
published). A connection taken before a write is closed by it: the bench reads ``ws.duck``
again after each one, and danggol's stored profile is kept aside as Parquet for the checks.

Note: with ``--workspace`` the timed refreshes are published to that workspace (its refresh
history grows by 8 refreshes, like bench_segments.py adds one); danggol's refresh runs last,
so the stored profile is danggol's. Copy a workspace you want to keep as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ibis
import numpy as np

from baselines import profile_sql
from baselines_scores import learn, scored_sql
from bench_segments import AS_OF, choose_params, hand_segments
from common import machine, md_table, peak_rss_gib
from danggol import pipeline
from danggol.predict.customers import (
    customer_predictions,
    predict_profile,
    store_run,
    vip_clusters,
)
from danggol.profile import SNAPSHOT_META, SNAPSHOT_TABLE, customer_profile, data_version
from danggol.scores import RFM, Grades, Lifecycle, percentile_tiers
from danggol.segments import history
from danggol.segments.registry import builtin_segments
from danggol.store.workspace import Workspace

HAND_BASE = "_hand_profile_base"
HAND_SCORED = "_hand_scored"
SCORE_COLUMNS = [
    "customer_id",
    "r_score",
    "f_score",
    "m_score",
    "rfm_group",
    "lifecycle_stage",
    "lifecycle_reason",
    "grade",
    "spend_tier",
    "frequency_tier",
]
REPEAT = 3


class HandRefresh:
    """The whole refresh as hand-written DuckDB SQL, through danggol's bookkeeping."""

    def __init__(
        self, ws: Workspace, segments: dict, hand_where: dict[str, str], lines: bool = False
    ) -> None:
        self.ws = ws
        self.lines = lines  # also build the stored purchase lines (a refresh after a load)
        self.segments = segments
        self.queries = {
            name: (f"SELECT customer_id FROM {SNAPSHOT_TABLE} WHERE {where}", name)
            for name, where in hand_where.items()
        }
        self.learned = None

    def profile(self) -> list[str]:
        """The profile into a temporary table; returns its columns."""
        duck = self.ws.duck
        names = [
            r[0]
            for r in duck.execute(
                "SELECT DISTINCT event FROM events WHERE event IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
        duck.execute(f"CREATE OR REPLACE TEMP TABLE {HAND_BASE} AS {profile_sql(AS_OF, names)}")
        return [r[0] for r in duck.execute(f"DESCRIBE {HAND_BASE}").fetchall()]

    def scores(self, columns: list[str]) -> None:
        duck = self.ws.duck
        self.learned = learn(duck, HAND_BASE)
        sql = scored_sql(HAND_BASE, AS_OF, self.learned, columns)
        duck.execute(f"CREATE OR REPLACE TEMP TABLE {HAND_SCORED} AS {sql}")
        duck.execute(f"DROP TABLE {HAND_BASE}")
        self.predictions()

    def predictions(self) -> None:
        """The models are numpy, not SQL: both sides call the same prediction function; the
        hand side joins its output in SQL."""
        duck = self.ws.duck
        grades = duck.execute(f"SELECT customer_id, grade FROM {HAND_SCORED}").to_arrow_table()
        settings = self.ws.config.predictions
        table, run = customer_predictions(
            self.ws.ibis, AS_OF, settings, grades=grades, vip_grade="vip"
        )
        clusters = vip_clusters(self.ws.ibis, AS_OF, self.ws.ibis.table(HAND_SCORED), "vip", run)
        duck.register("_hand_predictions", table)
        duck.register("_hand_clusters", clusters)
        next_date = (
            "CAST(s.last_order_date + to_days(CAST(round(s.avg_days_between_orders) AS INTEGER)) AS DATE)"
            if settings.next_order == "cycle"
            else "p.model_next_order_date"
        )
        duck.execute(
            f"""CREATE OR REPLACE TABLE {SNAPSHOT_TABLE} AS
                SELECT s.*, p.expected_orders, p.expected_orders_low, p.expected_orders_high,
                       p.p_alive, p.repurchase_probability, p.predicted_clv,
                       p.predicted_clv_low, p.predicted_clv_high,
                       p.predicted_clv_percentile, p.future_vip,
                       {next_date} AS expected_next_order_date, c.vip_cluster
                FROM {HAND_SCORED} s LEFT JOIN _hand_predictions p USING (customer_id)
                LEFT JOIN _hand_clusters c USING (customer_id)"""
        )
        duck.unregister("_hand_predictions")
        duck.unregister("_hand_clusters")
        duck.execute(f"DROP TABLE {HAND_SCORED}")
        duck.execute(
            f"CREATE OR REPLACE TABLE {SNAPSHOT_META} AS SELECT DATE '{AS_OF}' AS as_of, "
            "(SELECT coalesce(max(batch_id), 0) FROM ingest_log)::BIGINT AS data_version"
        )

    def purchase_lines(self) -> None:
        """``purchase_lines`` as one hand-written query: each purchased line with its order's
        customer, date and row number."""
        duck = self.ws.duck
        duck.execute(
            "CREATE OR REPLACE TABLE purchase_lines AS SELECT o.customer_id, o.rowid AS unit, "
            "o.order_date, i.product_id, i.category, i.unit_price, "
            "i.unit_price * i.quantity AS amount FROM order_items i JOIN (SELECT rowid, "
            "order_id, customer_id, order_date FROM orders WHERE status IN ('paid', "
            "'partially_refunded')) o USING (order_id)"
        )
        duck.execute(
            "CREATE OR REPLACE TABLE purchase_lines_meta AS SELECT (SELECT coalesce(max("
            "batch_id), 0) FROM ingest_log)::BIGINT AS data_version, now()::TIMESTAMP AS built_at"
        )

    def segments_step(self) -> history.RefreshResult:
        return history.snapshot_segments(self.ws, AS_OF, self.segments, queries=self.queries)

    def __call__(self) -> history.RefreshResult:
        started = time.perf_counter()
        with self.ws.transaction() as duck:
            history.ensure_tables(duck)
            self.scores(self.profile())
            if self.lines:
                self.purchase_lines()
            result = self.segments_step()
            duck.execute(
                "INSERT INTO refreshes VALUES (?, ?, ?, current_timestamp, ?, ?)",
                [
                    result.refresh_id,
                    AS_OF,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    len(result.segments),
                    time.perf_counter() - started,
                ],
            )
        return result


# ------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------


def _differ(duck, left: str, right: str, columns: list[str]) -> int:
    sel = ", ".join(f'"{c}"' for c in columns)
    return int(
        duck.execute(
            f"SELECT count(*) FROM ((SELECT {sel} FROM {left} EXCEPT ALL SELECT {sel} FROM {right}) "
            f"UNION ALL (SELECT {sel} FROM {right} EXCEPT ALL SELECT {sel} FROM {left}))"
        ).fetchall()[0][0]
    )


def _describe(duck, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in duck.execute(f"DESCRIBE {table}").fetchall()]


def inverted_cdf(values: np.ndarray, q_num: int, q_den: int) -> float:
    """The documented rule with exact integers: the ceil(q·n)-th smallest value."""
    ordered = np.sort(values)
    return float(ordered[max(1, -(-q_num * len(ordered) // q_den)) - 1])


def check_learned(ws: Workspace, hand: HandRefresh, table: str) -> list[str]:
    """danggol's fitted thresholds and churn window vs the SQL ones vs numpy on the rule,
    all on danggol's stored profile ``table``."""
    notes = []
    snap = ws.ibis.table(table)
    rfm = RFM().fit(snap)
    lc = Lifecycle().fit(snap)
    duck = ws.duck
    buyers = duck.execute(
        f"SELECT days_since_last_order, number_of_orders, amount_spent FROM {table} "
        "WHERE number_of_orders > 0"
    ).fetchnumpy()
    cycles = duck.execute(
        f"SELECT avg_days_between_orders FROM {table} "
        "WHERE number_of_orders >= 2 AND avg_days_between_orders IS NOT NULL"
    ).fetchnumpy()["avg_days_between_orders"]
    columns = {"r": "days_since_last_order", "f": "number_of_orders", "m": "amount_spent"}
    learned = hand.learned
    for dim, col in columns.items():
        values = np.asarray(buyers[col], dtype=float)
        rule = [inverted_cdf(values, k, 5) for k in range(1, 5)]
        dg = [float(x) for x in rfm.thresholds_[dim]]
        sql = [float(x) for x in learned.thresholds[dim]]
        if not dg == sql == rule:
            raise SystemExit(
                f"RFM thresholds for {dim} differ: danggol {dg}, hand SQL {sql}, documented rule {rule}"
            )
        notes.append(f"{dim}: {dg}")
    rule_q = inverted_cdf(np.asarray(cycles, dtype=float), 9, 10)
    rule_days = max(1, math.ceil(3 * rule_q)) if len(cycles) >= 20 else 180
    if not lc.churn_days_ == learned.churn_days == rule_days:
        raise SystemExit(
            f"churn window differs: danggol {lc.churn_days_} ({lc.churn_days_source_}), "
            f"hand SQL {learned.churn_days}, documented rule {rule_days}"
        )
    notes.append(
        f"churn window {lc.churn_days_} days ({len(cycles):,} repeat buyers, Q = {rule_q:g})"
    )
    return notes


def check_position_rule(duck) -> None:
    """The docstring's equivalent form: s(x) = 1 + min(bins − 1, floor(bins · b / n)) with
    b the number of buyers strictly below x (R reversed), on danggol's stored scores."""
    bad = duck.execute(
        f"""
        WITH b AS (
          SELECT r_score, f_score, m_score,
                 rank() OVER (ORDER BY days_since_last_order) - 1 AS br,
                 rank() OVER (ORDER BY number_of_orders) - 1 AS bf,
                 rank() OVER (ORDER BY amount_spent) - 1 AS bm,
                 count(*) OVER () AS n
          FROM {SNAPSHOT_TABLE} WHERE number_of_orders > 0
        )
        SELECT count(*) FILTER (WHERE r_score IS DISTINCT FROM 6 - (1 + least(4, (5 * br) // n))),
               count(*) FILTER (WHERE f_score IS DISTINCT FROM 1 + least(4, (5 * bf) // n)),
               count(*) FILTER (WHERE m_score IS DISTINCT FROM 1 + least(4, (5 * bm) // n))
        FROM b
        """
    ).fetchall()[0]
    if any(bad):
        raise SystemExit(f"RFM scores break the documented position rule (R, F, M rows): {bad}")


def check(
    ws: Workspace, hand: HandRefresh, segments: dict, aside: Path
) -> tuple[list[str], list[str], dict[str, int]]:
    """One refresh each, then compare the stored tables and the segment sizes. danggol's
    stored profile (and purchase lines) are kept aside in ``aside`` as Parquet: the hand
    side's write publishes a new store, and a temporary table would go with the old one."""
    dg = pipeline.refresh(ws, AS_OF, segments=segments, full=hand.lines)
    if dg.skipped:
        raise SystemExit(f"danggol skipped segments: {dg.skipped}")
    duck = ws.duck  # the store the refresh published
    check_position_rule(duck)
    kept = {"_dg_snapshot": SNAPSHOT_TABLE}
    if hand.lines:
        kept["_dg_lines"] = "purchase_lines"
    for name, table in kept.items():
        duck.execute(f"COPY {table} TO '{aside / name}.parquet' (FORMAT parquet)")
    hd = hand()
    duck = ws.duck  # the store the hand side published
    for name in kept:
        duck.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet('{aside / name}.parquet')"
        )
    dg_layout = _describe(duck, "_dg_snapshot")
    notes = check_learned(ws, hand, "_dg_snapshot")
    if hand.lines:
        lines = [c for c, _ in _describe(duck, "purchase_lines")]
        n = _differ(duck, "_dg_lines", "purchase_lines", lines)
        if n:
            raise SystemExit(f"danggol's and the hand-written purchase lines differ in {n} rows")
    hand_layout = _describe(duck, SNAPSHOT_TABLE)
    n = _differ(duck, "_dg_snapshot", SNAPSHOT_TABLE, SCORE_COLUMNS)
    if n:
        sample = duck.execute(
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM _dg_snapshot EXCEPT ALL "
            f"SELECT {', '.join(SCORE_COLUMNS)} FROM {SNAPSHOT_TABLE} LIMIT 5"
        ).fetchall()
        raise SystemExit(
            f"danggol and the hand-written scores differ in {n} rows; danggol's side: {sample}"
        )
    if [c for c, _ in dg_layout] != [c for c, _ in hand_layout]:
        raise SystemExit(
            "the stored profiles have different columns:\n"
            f"danggol {dg_layout}\nhand    {hand_layout}"
        )
    types: dict[str, list[str]] = {}
    for (c, dg_type), (_, hand_type) in zip(dg_layout, hand_layout, strict=True):
        if dg_type != hand_type:
            types.setdefault(f"{dg_type} where the hand SQL has {hand_type}", []).append(c)
    type_notes = [f"{what}: {', '.join(cols)}" for what, cols in types.items()]
    n_all = _differ(duck, "_dg_snapshot", SNAPSHOT_TABLE, [c for c, _ in dg_layout])
    if n_all:
        raise SystemExit(f"the stored profiles differ in {n_all} rows (all columns)")
    for name in kept:
        duck.execute(f"DROP VIEW {name}")
    dg_sizes = {s.segment: s.size for s in dg.segments}
    hand_sizes = {s.segment: s.size for s in hd.segments}
    if dg_sizes != hand_sizes:
        diff = {
            k: (dg_sizes.get(k), hand_sizes.get(k))
            for k in sorted(dg_sizes.keys() | hand_sizes)
            if dg_sizes.get(k) != hand_sizes.get(k)
        }
        raise SystemExit(f"segment sizes differ (danggol, hand-written): {diff}")
    if hd.customers != dg.customers:
        raise SystemExit(f"customers differ: danggol {dg.customers}, hand {hd.customers}")
    return notes, type_notes, dg_sizes


# ------------------------------------------------------------------------------------------
# breakdown (inside rolled-back transactions)
# ------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.last
        self.last = now


class _Abandon(Exception):
    """Raised inside the writer so that it publishes nothing."""


def rolled_back(ws: Workspace, fn: Callable[[Clock], None]) -> dict[str, float]:
    """The pieces inside a writer (the store's private copy) that is then abandoned."""
    clock = Clock()
    try:
        with ws.writer():
            history.ensure_tables(ws.duck)
            ws.duck.execute("BEGIN TRANSACTION")
            clock.last = time.perf_counter()
            fn(clock)
            ws.duck.execute("ROLLBACK")
            raise _Abandon
    except _Abandon:
        pass
    return clock.laps


def danggol_pieces(ws: Workspace, segments: dict, lines: bool) -> Callable[[Clock], None]:
    """``refresh`` cut at its seams (materialise_profile and add_scores spelled out)."""

    def run(c: Clock) -> None:
        con, duck = ws.ibis, ws.duck
        sql = ibis.to_sql(customer_profile(con, AS_OF), dialect="duckdb")
        c.lap("profile: build + compile the expression")
        duck.execute(f"CREATE OR REPLACE TEMP TABLE _profile_base AS {sql}")
        c.lap("profile: run (CREATE TEMP TABLE)")
        base = con.table("_profile_base")
        rfm = RFM().fit(base)
        c.lap("scores: RFM.fit (thresholds)")
        lifecycle = Lifecycle().fit(base)
        c.lap("scores: Lifecycle.fit (churn window)")
        scored = percentile_tiers(
            Grades().transform(con, lifecycle.transform(rfm.transform(base)), AS_OF)
        )
        sql = ibis.to_sql(scored, dialect="duckdb")
        c.lap("scores: build + compile the expression")
        duck.execute(f"CREATE OR REPLACE TEMP TABLE _scored AS {sql}")
        c.lap("scores: run (CREATE TEMP TABLE)")
        full, run = predict_profile(con, con.table("_scored"), AS_OF, ws.config.predictions)
        duck.execute(
            f"CREATE OR REPLACE TABLE {SNAPSHOT_TABLE} AS {ibis.to_sql(full, dialect='duckdb')}"
        )
        store_run(duck, run)
        c.lap("predictions: summary, fits, join (CREATE TABLE profile_snapshot)")
        duck.execute("DROP TABLE _profile_base")
        duck.execute("DROP TABLE _scored")
        duck.execute(
            f"CREATE OR REPLACE TABLE {SNAPSHOT_META} AS SELECT ?::DATE AS as_of, ?::BIGINT AS data_version",
            [AS_OF, data_version(con)],
        )
        c.lap("bookkeeping: snapshot meta")
        if lines:
            pipeline.materialise_purchase_lines(ws, full=True)
            c.lap("purchase lines (CREATE TABLE purchase_lines)")
        queries, _ = history.segment_queries(ws, AS_OF, segments)
        c.lap("segments: compile")
        union = " UNION ALL ".join(
            f"SELECT DISTINCT ? AS segment, customer_id FROM ({s})" for s, _ in queries.values()
        )
        duck.execute(f"CREATE OR REPLACE TEMP TABLE _eval_only AS {union}", list(queries))
        duck.execute("DROP TABLE _eval_only")
        c.lap("segments: evaluate (alone, as _snapshot's first query)")
        history.snapshot_segments(ws, AS_OF, segments, queries=queries)
        c.lap("segments: evaluate + history bookkeeping")

    return run


def hand_pieces(hand: HandRefresh, segments: dict) -> Callable[[Clock], None]:
    def run(c: Clock) -> None:
        duck = hand.ws.duck
        columns = hand.profile()
        c.lap("profile: run (CREATE TEMP TABLE)")
        hand.learned = learn(duck, HAND_BASE)
        c.lap("scores: thresholds + churn window (one query)")
        sql = scored_sql(HAND_BASE, AS_OF, hand.learned, columns)
        duck.execute(f"CREATE OR REPLACE TEMP TABLE {HAND_SCORED} AS {sql}")
        c.lap("scores: run (CREATE TEMP TABLE)")
        hand.predictions()
        c.lap("predictions: summary, fits, join (CREATE TABLE profile_snapshot)")
        duck.execute(f"DROP TABLE {HAND_BASE}")
        duck.execute(
            f"CREATE OR REPLACE TABLE {SNAPSHOT_META} AS SELECT DATE '{AS_OF}' AS as_of, "
            "(SELECT coalesce(max(batch_id), 0) FROM ingest_log)::BIGINT AS data_version"
        )
        c.lap("bookkeeping: snapshot meta")
        if hand.lines:
            hand.purchase_lines()
            c.lap("purchase lines (CREATE TABLE purchase_lines)")
        union = " UNION ALL ".join(
            f"SELECT DISTINCT ? AS segment, customer_id FROM ({s})"
            for s, _ in hand.queries.values()
        )
        duck.execute(f"CREATE OR REPLACE TEMP TABLE _eval_only AS {union}", list(hand.queries))
        duck.execute("DROP TABLE _eval_only")
        c.lap("segments: evaluate (alone, as _snapshot's first query)")
        hand.segments_step()
        c.lap("segments: evaluate + history bookkeeping")

    return run


def best_laps(ws: Workspace, fn: Callable[[Clock], None]) -> dict[str, float]:
    runs = [rolled_back(ws, fn) for _ in range(REPEAT)]
    return {k: min(r[k] for r in runs) for k in runs[0]}


# ------------------------------------------------------------------------------------------


def open_workspace(args: argparse.Namespace) -> tuple[Workspace, Path | None]:
    """The given workspace, or a generated demo shop in a temporary folder (removed after)."""
    if args.workspace:
        return Workspace.open(args.workspace), None
    from danggol.demo import generate_shop
    from danggol.ingest.load import ingest_tables

    folder = Path(tempfile.mkdtemp(prefix="danggol-refresh-"))
    ws = Workspace.init(folder / "ws")
    ingest_tables(ws, generate_shop(args.customers, seed=7, end=AS_OF))
    return ws, folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, help="a workspace with the demo shop")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--full",
        action="store_true",
        help="time refresh --full (as after a load: the stored purchase lines rebuilt) against "
        "hand-written SQL that builds them too",
    )
    args = parser.parse_args()
    info = machine()
    ws, folder = open_workspace(args)
    try:
        print(run(ws, args, info))
    finally:
        ws.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def run(ws: Workspace, args: argparse.Namespace, info: dict[str, str]) -> str:
    duck = ws.duck
    n_customers = duck.execute("SELECT count(DISTINCT customer_id) FROM customers").fetchall()[0][0]
    n_orders = ws.count("orders")
    params = choose_params(ws)
    segments = {
        name: seg.with_params(**params.get(name, {})) for name, seg in builtin_segments().items()
    }
    hand_where = hand_segments(params)
    if set(hand_where) != set(segments):
        raise SystemExit(f"hand-written segments do not cover: {set(segments) ^ set(hand_where)}")
    hand = HandRefresh(ws, segments, hand_where, lines=args.full)

    with tempfile.TemporaryDirectory(prefix="danggol-refresh-check-") as aside:
        notes, type_notes, sizes = check(ws, hand, segments, Path(aside))
    print("checked: stored profiles, thresholds and segment sizes agree", file=sys.stderr)

    def danggol_refresh() -> None:
        pipeline.refresh(ws, AS_OF, segments=segments, full=args.full)

    dg_times, hand_times = [], []
    for _ in range(REPEAT):  # hand first, so the workspace ends with danggol's refresh
        t0 = time.perf_counter()
        hand()
        hand_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        danggol_refresh()
        dg_times.append(time.perf_counter() - t0)
        print(f"danggol {dg_times[-1]:.2f} s, hand {hand_times[-1]:.2f} s", file=sys.stderr)
    t_dg, t_hand = min(dg_times), min(hand_times)

    dg_laps = best_laps(ws, danggol_pieces(ws, segments, args.full))
    hand_laps = best_laps(ws, hand_pieces(hand, segments))

    def rows(laps: dict[str, float], total: float) -> list[list[str]]:
        evaluate = laps.pop("segments: evaluate (alone, as _snapshot's first query)")
        out = [[k, f"{v:.2f} s", f"{v / total:.0%}"] for k, v in laps.items()]
        out.append(
            [
                "  (of which the segment evaluation alone)",
                f"{evaluate:.2f} s",
                f"{evaluate / total:.0%}",
            ]
        )
        rest = total - sum(laps.values())
        out.append(
            [
                "timed refresh − the pieces (commit, `refreshes` row; noise)",
                f"{rest:+.2f} s",
                f"{rest / total:+.0%}",
            ]
        )
        return out

    command = f"--workspace {args.workspace}" if args.workspace else f"--customers {args.customers}"
    command += " --full" if args.full else ""
    kind = "refresh --full (purchase lines rebuilt, as after a load)" if args.full else "refresh"
    text = "\n\n".join(
        [
            f"### Refresh: {n_customers:,} demo customers, {n_orders:,} orders",
            f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; Python {info['python']}; "
            f"{info['libraries']}. Run {info['date']}: `python bench/bench_refresh.py {command}`.",
            md_table(
                ["full refresh as of 2025-06-30", "time (best of 3, alternating)", "ratio"],
                [
                    [
                        f"danggol `{kind}` (profile, scores, {len(segments)} built-in segments, history)",
                        f"{t_dg:.2f} s",
                        f"{t_dg / t_hand:.2f}× hand SQL",
                    ],
                    [
                        "the same work as hand-written DuckDB SQL"
                        + (" (with the purchase lines)" if args.full else ""),
                        f"{t_hand:.2f} s",
                        "1.00×",
                    ],
                ],
            ),
            "Both sides run in one transaction and write the same tables: `profile_snapshot` "
            "(checked equal on every column, EXCEPT ALL both ways), `profile_snapshot_meta`, the "
            "segment members, entered/left and sizes (through danggol's `snapshot_segments`, "
            f"sizes checked equal for all {len(sizes)} segments) and a `refreshes` row. "
            "Learned parameters (equal on both sides and to the documented inverted-CDF rule): "
            + "; ".join(notes)
            + "."
            + (
                " Column types that differ (values equal): danggol has "
                + "; ".join(type_notes)
                + "."
                if type_notes
                else ""
            ),
            "Where the time goes (each piece best of 3, inside a rolled-back transaction, so "
            "without the commit; the segment evaluation is run once more on its own: it is part "
            "of the step above it; shares are of the timed refresh):",
            md_table(["danggol", "time", "share"], rows(dict(dg_laps), t_dg)),
            md_table(["hand-written SQL", "time", "share"], rows(dict(hand_laps), t_hand)),
            f"Peak memory of the benchmark process: {peak_rss_gib():.1f} GiB.",
        ]
    )
    return text


if __name__ == "__main__":
    main()
