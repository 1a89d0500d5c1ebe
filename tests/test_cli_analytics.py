"""``danggol analytics …``: the --json output is the analytics function's own result."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest

from danggol.analytics import (
    affinity,
    cohorts,
    concentration,
    cross_sell_query,
    migration,
    overlap,
    whatif,
)
from danggol.cli.main import app
from danggol.segments import service
from danggol.store.workspace import Workspace
from test_cli_scores import AS_OF, DAY, generated_shop, plain, run, run_json, runner, same

FROM, TO = "2025-03-31", "2025-06-30"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> str:
    return generated_shop(tmp_path_factory, "analytics")


def test_concentration(shop):
    out = run_json(shop, "analytics", "concentration", "--as-of", DAY, "--top", "0.05,0.5")
    with Workspace.open(shop) as ws:
        lib = concentration(ws.ibis, AS_OF, tops=(0.05, 0.5))
    assert same(out, plain(lib.to_dict()))
    assert [t["customers"] for t in out["tops"]] == [
        math.ceil(0.05 * out["buyers"]),
        math.ceil(0.5 * out["buyers"]),
    ]
    assert 0 < out["gini"] < 1 and out["lorenz"][-1] == [1.0, 1.0]
    assert "Gini" in run(shop, "analytics", "concentration", "--as-of", DAY)


def test_cohorts(shop):
    out = run_json(shop, "analytics", "cohorts", "--as-of", DAY, "--period", "quarter")
    with Workspace.open(shop) as ws:
        lib = cohorts(ws.ibis, AS_OF, "quarter")
        buyers = concentration(ws.ibis, AS_OF, tops=(1.0,)).buyers
    assert same(out, plain(lib.to_dict()))
    assert sum(out["sizes"]) == buyers  # every buyer is in exactly one cohort
    assert all(row[0] == 1.0 for row in out["retention"])
    cells = list(
        csv.DictReader(
            io.StringIO(run(shop, "analytics", "cohorts", "--as-of", DAY, "--format", "csv"))
        )
    )
    assert len(cells) == cohorts_cells(shop)
    assert "2025-Q2" in run(shop, "analytics", "cohorts", "--as-of", DAY, "--period", "quarter")


def test_cohorts_on_a_narrow_terminal(shop, monkeypatch):
    """Too narrow for the table, each cohort becomes a short list (it crashed: the list form
    has no columns to set no_wrap on)."""
    from danggol.cli import options

    monkeypatch.setattr(options.out, "_width", 20)
    shown = run(shop, "analytics", "cohorts", "--as-of", DAY, "--period", "quarter")
    assert "2025-Q2" in shown and "size: " in shown


def cohorts_cells(shop: str) -> int:
    with Workspace.open(shop) as ws:
        return cohorts(ws.ibis, AS_OF).to_table().num_rows


def test_affinity_and_the_one_command_cross_sell_segment(shop):
    args = ("--as-of", DAY, "--min-support", "0.001", "--top", "5", "--months", "12")
    out = run_json(shop, "analytics", "affinity", *args)
    with Workspace.open(shop) as ws:
        lib = affinity(ws.ibis, AS_OF, min_support=0.001, top=5, months=12)
    assert same(out, plain(lib.to_dict()))
    assert out["pairs"] and all(r["support"] >= 0.001 for r in out["pairs"])

    best = out["pairs"][0]
    a, b = best["antecedent"], best["consequent"]
    saved = run_json(
        shop, "analytics", "affinity", "--save-segment", "cross_ab", "--rule", f"{a},{b}",
        "--window", "6",
    )  # fmt: skip
    query = cross_sell_query(a, b, 6)
    assert saved["query"] == query and saved["goal"] == "cross_sell"
    by_name = run_json(shop, "segment", "count", "cross_ab", "--as-of", DAY)
    by_query = run_json(shop, "segment", "count", query, "--as-of", DAY)
    with Workspace.open(shop) as ws:
        segment = service.registry(ws).get("cross_ab")
        lib_count = service.count(ws, service.target(ws, query), AS_OF)
    assert by_name["count"] == by_query["count"] == lib_count > 0
    assert segment.goal == "cross_sell" and segment.query == query and segment.title["ko"]


def test_migration_and_movers(shop):
    base = ("analytics", "migration", "--from", FROM, "--to", TO, "--by", "lifecycle_stage")
    out = run_json(shop, *base)
    with Workspace.open(shop) as ws:
        lib = migration(ws.ibis, dt.date(2025, 3, 31), AS_OF, by="lifecycle_stage")
    assert same({k: out[k] for k in lib.to_dict()}, plain(lib.to_dict()))
    assert sum(c["customers"] for c in out["cells"]) == out["population"]
    assert out["stayed"] + out["moved"] == out["population"]
    moved = run_json(shop, *base, "--movers", "loyal,churned")
    # the ids of the matrix cell loyal → churned, sorted (movers())
    assert moved["count"] == len(moved["customers"]) == lib.count("loyal", "churned") > 0
    assert moved["customers"] == sorted(set(moved["customers"]))


def test_whatif(shop):
    args = ("--repeat", "50", "--vip", "10", "--vip-top", "0.1", "--months", "12", "--as-of", DAY)
    out = run_json(shop, "analytics", "whatif", *args)
    with Workspace.open(shop) as ws:
        lib = whatif(
            ws.ibis, AS_OF, repeat_conversions=50, vip_conversions=10, vip_rule=0.1, months=12
        )
    assert same(out, plain(lib.to_dict()))
    assert out["one_time_buyers"] + out["repeat_buyers"] + out["vip_buyers"] == out["buyers"]
    assert math.isclose(out["revenue_change"], out["repeat_gain"] + out["vip_gain"])


def test_overlap(shop):
    names = ["top_spenders", "number_of_orders >= 3"]
    out = run_json(shop, "analytics", "overlap", *names, "--as-of", DAY)
    with Workspace.open(shop) as ws:
        tables = {n: service.members(ws, service.target(ws, n), AS_OF) for n in names}
        lib = overlap(ws.ibis, AS_OF, tables)
    assert same(out, plain(lib.to_dict()))
    pair = out["pairs"][0]
    assert pair["customers"] <= min(s["customers"] for s in out["sizes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["concentration", "--top", "1.5"], "a top share must be a fraction in (0, 1]"),
        (["cohorts", "--period", "week"], "period must be one of month, quarter, year"),
        (["affinity", "--min-support", "2"], "min_support must be a fraction in [0, 1]"),
        (["affinity", "--save-segment", "x"], "--save-segment NAME and --rule A,B go together"),
        (["affinity", "--save-segment", "x", "--rule", "A"], "exactly 2 comma-separated"),
        (["affinity", "--save-segment", "Bad", "--rule", "A,B"], "lower-case letters"),
        (["migration", "--from", TO, "--to", FROM], "swap them"),
        (["migration", "--from", FROM, "--to", TO, "--by", "nosuch"], "no column 'nosuch'"),
        (["whatif", "--repeat", "100000", "--as-of", DAY], "cannot convert 100000"),
        (["overlap", "no_such_segment"], "unknown segment 'no_such_segment'"),
    ],
)
def test_bad_input_says_what_to_do(shop, args, message):
    result = runner.invoke(app, ["-w", shop, "analytics", *args])
    assert result.exit_code != 0
    assert message in str(result.exception)
