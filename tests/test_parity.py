"""Backend parity: the same profile, scores and segment members on Spark and Postgres as on DuckDB.

One generated shop is loaded into an embedded DuckDB workspace, its canonical tables are copied
as they are into each engine, and a second workspace reads them there through its ``backend``
URL (``pyspark://local[2]``, ``$DANGGOL_TEST_POSTGRES``). Every expectation is "what DuckDB
gives on the same data" — DuckDB itself is checked against hand-written SQL elsewhere
(test_segment_compile, test_scale).

An engine that is not installed or not reachable here is skipped with the reason; ``.ci/run``
installs and starts both, so in CI every test runs. A known gap of an engine is marked
``xfail(strict=True, raises=...)`` with the reason, so a gap that gets fixed fails loudly.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from danggol.demo import generate_shop
from danggol.errors import BackendError
from danggol.ingest.load import ingest_tables
from danggol.predict.summary import rfm_summary
from danggol.profile import customer_profile
from danggol.scores import RFM, Lifecycle, scored_profile
from danggol.segments import service
from danggol.segments.registry import builtin_segments
from danggol.store.backends import capabilities, temp_table
from danggol.store.workspace import Workspace
from segment_fixtures import result, run_segments

pytestmark = pytest.mark.parity

#: the generated shop ends on 2025-06-30; 2025-05-31 cuts it (later data exists, months clamp)
D_END = dt.date(2025, 6, 30)
D_MID = dt.date(2025, 5, 31)
CUSTOMERS = 2000
#: the canonical tables (and the load log: a snapshot's freshness check reads it)
COPIED = ("customers", "orders", "order_items", "events", "ingest_log")
POSTGRES_ENV = "DANGGOL_TEST_POSTGRES"
#: set by .ci/run: there an engine that cannot run is a failure, not a skip
REQUIRED_ENV = "DANGGOL_PARITY_REQUIRED"
SPARK_URL = "pyspark://local[2]"


def unavailable(reason: str) -> None:
    """Skip (on a developer's machine without the engine) or fail (in CI)."""
    if os.environ.get(REQUIRED_ENV):
        pytest.fail(f"{reason} (${REQUIRED_ENV} is set: CI must run every engine)")
    pytest.skip(reason)


def needs_module(name: str, extra: str) -> None:
    try:
        __import__(name)
    except ImportError:
        unavailable(f"{name} is not installed: pip install -e '.[{extra}]'")


# --------------------------------------------------------------------------------------
# the shop, and the engines that read a copy of it
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def duck_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path_factory.mktemp("parity") / "duck", timezone="Asia/Seoul")
    ingest_tables(ws, generate_shop(CUSTOMERS, seed=11, end=D_END))
    yield ws
    ws.close()


def _canonical(duck_shop: Workspace) -> dict[str, pa.Table]:
    return {name: duck_shop.ibis.table(name).to_pyarrow() for name in COPIED}


def _spark(duck_shop: Workspace, folder: Path) -> Workspace:
    needs_module("pyspark", "spark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("Spark needs Java (no java on PATH, no JAVA_HOME)")
    # tables on disk in a warehouse of the test's own (query parameters are Spark settings)
    url = f"{SPARK_URL}?spark.sql.warehouse.dir={folder.parent / 'warehouse'}"
    ws = Workspace.init(folder, timezone="Asia/Seoul", backend=url)
    session = ws.ibis._session
    for name, table in _canonical(duck_shop).items():
        # Spark's own Arrow reader (Ibis' create_table goes through pandas, where null text
        # becomes the string 'NaN': store.backends.Backend.arrow_memtables), saved as a Parquet
        # table like a shop's own (a DataFrame made from Arrow keeps its rows in the plan,
        # which every query would then ship around)
        session.createDataFrame(table).write.saveAsTable(name, mode="overwrite")
    return ws


def _postgres(duck_shop: Workspace, folder: Path) -> Workspace:
    needs_module("psycopg", "postgres")
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        unavailable(f"no PostgreSQL server: set {POSTGRES_ENV}=postgres://user@host:port/db")
    ws = Workspace.init(folder, timezone="Asia/Seoul", backend=url)
    try:
        con = ws.ibis
    except BackendError as exc:
        unavailable(f"PostgreSQL at ${POSTGRES_ENV} is not reachable: {exc}")
    for name, table in _canonical(duck_shop).items():
        con.create_table(name, table, overwrite=True)
    return ws


@pytest.fixture(scope="session", params=["pyspark", "postgres"])
def engine(
    request: pytest.FixtureRequest, duck_shop: Workspace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """A workspace whose backend is the engine, reading a copy of ``duck_shop``'s tables."""
    folder = tmp_path_factory.mktemp(request.param) / "shop"
    ws = _spark(duck_shop, folder) if request.param == "pyspark" else _postgres(duck_shop, folder)
    assert capabilities(ws.ibis).name == request.param
    yield ws
    con = ws.ibis
    ws.close()  # (leaves a Spark session running: it is the process's one)
    con.disconnect()


# --------------------------------------------------------------------------------------
# comparing tables
# --------------------------------------------------------------------------------------


def _same_value(got: object, want: object, *, approx: bool) -> bool:
    if approx and isinstance(got, float) and isinstance(want, float):
        # sums and divisions of doubles may be added up in another order on another engine
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(got, list | tuple) and isinstance(want, list | tuple):
        return list(got) == list(want)
    return got == want


def assert_same_rows(got: pa.Table, want: pa.Table, what: str, key: str = "customer_id") -> None:
    """Row by row, column by column, sorted by ``key``; floats within 1e-9 (relative)."""
    assert got.column_names == want.column_names, f"{what}: columns differ"
    assert got.num_rows == want.num_rows, f"{what}: {got.num_rows} rows, DuckDB {want.num_rows}"
    got, want = got.sort_by(key), want.sort_by(key)
    ids = want[key].to_pylist()
    problems = []
    for name in want.column_names:
        approx = pa.types.is_floating(want.schema.field(name).type)
        for i, (g, w) in enumerate(zip(got[name].to_pylist(), want[name].to_pylist(), strict=True)):
            if not _same_value(g, w, approx=approx):
                problems.append(f"{name} of {ids[i]}: {g!r}, DuckDB {w!r}")
    assert not problems, f"{what}: {len(problems)} values differ, e.g.\n  " + "\n  ".join(
        problems[:10]
    )


# --------------------------------------------------------------------------------------
# profile, scores, summary
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [D_END, D_MID], ids=str)
def test_profile_matches_duckdb(engine: Workspace, duck_shop: Workspace, as_of: dt.date) -> None:
    want = customer_profile(duck_shop.ibis, as_of).to_pyarrow()
    got = customer_profile(engine.ibis, as_of).to_pyarrow()
    assert want.num_rows > CUSTOMERS // 2
    assert_same_rows(got, want, f"profile as of {as_of} on {engine.backend.name}")


SCORE_COLUMNS = [
    "customer_id",
    "r_score",
    "f_score",
    "m_score",
    "fm_score",
    "rfm_group",
    "lifecycle_stage",
    "lifecycle_reason",
    "grade_amount",
    "grade_orders",
    "grade",
    "frequency_percentile",
    "spend_tier",
    "frequency_tier",
]


def test_scores_match_duckdb(engine: Workspace, duck_shop: Workspace) -> None:
    """RFM, lifecycle, grades and percentile tiers: every score column of every customer."""
    want = scored_profile(duck_shop.ibis, D_END).select(*SCORE_COLUMNS).to_pyarrow()
    got = scored_profile(engine.ibis, D_END).select(*SCORE_COLUMNS).to_pyarrow()
    assert len(set(want["rfm_group"].to_pylist())) > 5, "too few RFM groups to compare"
    assert len(set(want["lifecycle_stage"].to_pylist())) == 5
    assert_same_rows(got, want, f"scores on {engine.backend.name}")


def test_learned_thresholds_match_duckdb(engine: Workspace, duck_shop: Workspace) -> None:
    """What the fits learn (RFM quantiles, the churn window) from the profile on each engine."""

    def fitted(ws: Workspace) -> tuple[dict, int]:
        # computed once, as scored_profile does, so the two fits do not build it twice
        profile = temp_table(ws.ibis, "_parity_profile", customer_profile(ws.ibis, D_END))
        return RFM().fit(profile).thresholds_, Lifecycle().fit(profile).churn_days_

    assert fitted(engine) == fitted(duck_shop)


@pytest.mark.parametrize("time_unit", ["week", "day"])
def test_rfm_summary_matches_duckdb(
    engine: Workspace, duck_shop: Workspace, time_unit: str
) -> None:
    """The BG/NBD input (an Ibis query) runs on the engine; the fit itself is numpy."""
    want = rfm_summary(duck_shop.ibis, D_END, time_unit=time_unit)
    got = rfm_summary(engine.ibis, D_END, time_unit=time_unit)
    assert want.num_rows > 200
    assert_same_rows(got, want, f"rfm_summary ({time_unit}) on {engine.backend.name}")


# --------------------------------------------------------------------------------------
# segments: the whole built-in library and ad-hoc queries
# --------------------------------------------------------------------------------------


def choose_params(ws: Workspace) -> dict[str, dict[str, object]]:
    """Values that occur in the shop for the built-ins' required parameters (as
    bench/bench_segments.choose_params), read with Ibis from the DuckDB copy."""
    items = ws.ibis.table("order_items")
    by_product = items.group_by("product_id").aggregate(n=items.count())
    top = by_product.order_by([by_product.n.desc(), "product_id"]).limit(3).to_pyarrow()
    top_ids = top["product_id"].to_pylist()
    by_cat = items.group_by("category").aggregate(n=items.count())
    cat = by_cat.order_by([by_cat.n.desc(), "category"]).limit(1).to_pyarrow()["category"][0]
    c = ws.ibis.table("customers")
    c = c.filter(c.region.notnull())
    by_region = c.group_by("region").aggregate(n=c.count())
    regions = by_region.order_by([by_region.n.desc(), "region"]).limit(3).to_pyarrow()
    return {
        "cross_sell": {"product_a": top_ids[0], "product_b": top_ids[1]},
        "upgrade_candidates": {"product": top_ids[2]},
        "product_interest": {"product": top_ids[0]},
        "category_lovers": {"category": cat.as_py()},
        "local_festival": {"region": regions["region"][2].as_py()},
    }


#: ad-hoc queries: nesting, NOT, offsets (months clamp at 2025-05-31), calls, arithmetic
ADHOC = {
    "nested_and_or_not": (
        "(customer_regions IN ('서울특별시', '경기도') "
        "AND NOT (first_order_date BETWEEN -1y AND -3m OR customer_cities IS NULL)) "
        "OR (NOT (NOT (gender = 'FEMALE' AND amount_spent > 100000)) "
        "AND (last_order_date BETWEEN 2025-01-01 AND 2025-03-31 "
        "OR (refunds >= 1 AND NOT (customer_tags CONTAINS 'newsletter'))))"
    ),
    "date_offsets": "number_of_orders >= 1 AND last_order_date < -5m AND signup_date >= -2y",
    "products_purchased": (
        "products_purchased(category: {category}, date: -3m) = true "
        "AND products_purchased(id: {product}, date: -3m) = false"
    ),
    "products_purchased_count_price": (
        "products_purchased(min_price: 50000, count: 2, date: -6m) = true"
    ),
    "events": "events(name: 'cart_add', date: -7d) >= 1 AND number_of_orders(date: -7d) = 0",
    "events_window": "events(name: 'visit', date: -30d) >= 2 AND signup_date IS NULL",
    "arithmetic": "days_since_last_order > 1.5 * avg_days_between_orders",
    "arithmetic_division": "amount_spent / number_of_orders >= 2 * aov - 10000",
    "amount_spent_window": "amount_spent(date: -1y) >= 300000",
    "percentiles": "amount_spent_percentile >= 60 AND amount_spent_percentile < 80",
    "scores": "rfm_group IN ('champions', 'loyal') OR lifecycle_stage = 'churned'",
    "grades_and_tiers": "grade = 'vip' OR (spend_tier = 'next20' AND frequency_tier != 'rest')",
    "text_contains": "NOT (customer_tags CONTAINS 'wholesale') AND customer_cities CONTAINS '구'",
    "predictions": "p_alive < 0.3 OR future_vip = true",
}


def _quoted(value: object) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _cases(duck_shop: Workspace) -> dict[tuple[str, str, dt.date], tuple]:
    params = choose_params(duck_shop)
    fill = {
        "category": _quoted(params["category_lovers"]["category"]),
        "product": _quoted(params["product_interest"]["product"]),
    }
    cases: dict[tuple[str, str, dt.date], tuple] = {}
    for as_of in (D_END, D_MID):
        for name in builtin_segments():
            cases["builtin", name, as_of] = (name, params.get(name), as_of)
        for name, query in ADHOC.items():
            cases["adhoc", name, as_of] = (query.format(**fill), None, as_of)
    return cases


@pytest.fixture(scope="session")
def duck_members(duck_shop: Workspace) -> dict:
    return run_segments(duck_shop, _cases(duck_shop))


@pytest.fixture(scope="session")
def engine_members(engine: Workspace, duck_shop: Workspace) -> dict:
    """Every case on the engine in one round trip per as-of date (segment_fixtures.run_segments)."""
    return run_segments(engine, _cases(duck_shop))


AS_OF_DATES = pytest.mark.parametrize("as_of", [D_END, D_MID], ids=str)


def test_the_comparison_is_not_empty(duck_members: dict) -> None:
    """Most cases have members on DuckDB, and none is everyone, so equal sets mean something."""
    sizes = {key: len(result(duck_members, key)) for key in duck_members}
    assert max(sizes.values()) < CUSTOMERS, "a case selects everyone"
    empty = sorted(k[1] for k, n in sizes.items() if n == 0)
    assert len(empty) <= len(sizes) // 6, f"too many empty segments to compare: {empty}"


@AS_OF_DATES
@pytest.mark.parametrize("name", sorted(builtin_segments()))
def test_builtin_segment_members_match_duckdb(
    engine: Workspace, duck_members: dict, engine_members: dict, name: str, as_of: dt.date
) -> None:
    want = result(duck_members, ("builtin", name, as_of))
    got = result(engine_members, ("builtin", name, as_of))
    assert got == want, (
        f"{name} as of {as_of} on {engine.backend.name}: {len(got)} members, DuckDB {len(want)}; "
        f"missing {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}"
    )


@AS_OF_DATES
@pytest.mark.parametrize("name", list(ADHOC))
def test_adhoc_query_members_match_duckdb(
    engine: Workspace, duck_members: dict, engine_members: dict, name: str, as_of: dt.date
) -> None:
    want = result(duck_members, ("adhoc", name, as_of))
    got = result(engine_members, ("adhoc", name, as_of))
    assert got == want, (
        f"{name} as of {as_of} on {engine.backend.name}: {len(got)} members, DuckDB {len(want)}; "
        f"missing {sorted(want - got)[:5]}, extra {sorted(got - want)[:5]}"
    )


def test_count_on_the_engine(engine: Workspace, duck_shop: Workspace) -> None:
    """``service.count`` (what ``danggol segment count`` calls) on its own, not in a union."""
    tgt = service.target(engine, "number_of_orders >= 2 AND last_order_date >= -90d")
    assert service.count(engine, tgt, D_END) == service.count(duck_shop, tgt, D_END) > 0


# --------------------------------------------------------------------------------------
# what a read-only engine refuses
# --------------------------------------------------------------------------------------


def test_loading_and_refresh_are_refused(engine: Workspace) -> None:
    from danggol.pipeline import refresh

    with pytest.raises(BackendError, match="'danggol refresh' needs the embedded DuckDB store"):
        refresh(engine, D_END)
    with pytest.raises(BackendError, match="read-only source"):
        ingest_tables(engine, {})


def test_explain_on_the_engine(engine: Workspace, duck_shop: Workspace, duck_members: dict) -> None:
    """``segment explain``: each condition's value and verdict for a member, as on DuckDB."""
    from danggol.segments.explain import explain

    tree = service.target(engine, ADHOC["nested_and_or_not"]).tree
    member = min(result(duck_members, ("adhoc", "nested_and_or_not", D_END)))
    got = explain(service.compiler(engine, D_END), tree, member)
    want = explain(service.compiler(duck_shop, D_END), tree, member)
    assert got == want
    assert want["in_segment"] is True


def test_read_commands_on_the_engine(engine: Workspace, duck_shop: Workspace, tmp_path) -> None:
    """``danggol profile``, ``segment count`` and ``rfm --json`` on a workspace whose backend is
    the engine print what they print on the DuckDB workspace."""
    import json

    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from danggol.cli.main import app

    runner = CliRunner()

    def run(ws: Workspace, *args: str) -> str:
        got = runner.invoke(app, ["-w", str(ws.path), *args])
        assert got.exit_code == 0, got.output
        return got.output

    day = ["--as-of", str(D_END)]
    for ws, name in ((engine, "engine"), (duck_shop, "duck")):
        run(ws, "profile", *day, "--format", "parquet", "--out", str(tmp_path / f"{name}.parquet"))
    want = pq.read_table(tmp_path / "duck.parquet")
    assert_same_rows(pq.read_table(tmp_path / "engine.parquet"), want, "danggol profile")
    count = ["segment", "count", "repeat_cycle_due", *day]
    assert run(engine, *count) == run(duck_shop, *count)
    rfm = json.loads(run(engine, "rfm", *day, "--json"))
    assert rfm == json.loads(run(duck_shop, "rfm", *day, "--json"))
    assert rfm["buyers"] > 0 and len(rfm["groups"]) > 5
