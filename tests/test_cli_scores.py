"""``danggol rfm``, ``lifecycle`` and ``grades``: the --json output is the library's own result."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections import Counter
from typing import Any

import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.demo import generate_shop
from danggol.ingest.load import ingest_tables
from danggol.scores import RFM, Lifecycle, grade_history, scored_profile, stage_shares
from danggol.scores.grades import CHANGES, evaluate_grades, load_grade_rules
from danggol.store.workspace import Workspace

runner = CliRunner()
DAY = "2025-06-30"
AS_OF = dt.date(2025, 6, 30)


def generated_shop(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """A generated shop of 1,500 customers, closed so that the CLI opens the store itself."""
    path = tmp_path_factory.mktemp(name) / "shop"
    ws = Workspace.init(path, timezone="Asia/Seoul", currency="KRW")
    ingest_tables(ws, generate_shop(1500, seed=3), source="demo")
    ws.close()
    return str(path)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> str:
    return generated_shop(tmp_path_factory, "scores")


def run(shop: str, *args: str) -> str:
    result = runner.invoke(app, ["-w", shop, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def run_json(shop: str, *args: str) -> Any:
    return json.loads(run(shop, *args, "--json"))


def plain(value: object) -> Any:
    """A value as the CLI's JSON gives it (dates as text, tuples as lists)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def same(a: object, b: object) -> bool:
    """Equal, with floats compared to 1e-9 (the CLI and the test sum on separate connections)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# --------------------------------------------------------------------------------------
# rfm
# --------------------------------------------------------------------------------------


def test_rfm_summary_is_the_fitted_estimator(shop):
    out = run_json(shop, "rfm", "--as-of", DAY, "--bins", "4")
    with Workspace.open(shop) as ws:
        profile = scored_profile(ws.ibis, AS_OF)
        rfm = RFM(4).fit(profile)
        scored = rfm.transform(profile)
        rows = scored.select("rfm_group", "amount_spent").to_pyarrow().to_pylist()
    assert out["bins"] == 4 and out["buyers"] == rfm.n_customers_
    assert out["thresholds"] == rfm.thresholds_
    counts = Counter(r["rfm_group"] for r in rows)
    assert {g["rfm_group"]: g["customers"] for g in out["groups"] if g["customers"]} == counts
    # every customer is in one group; the groups' revenue is the shop's
    assert sum(g["customers"] for g in out["groups"]) == out["customers"] == len(rows)
    assert math.isclose(
        sum(g["revenue"] for g in out["groups"]), sum(r["amount_spent"] or 0 for r in rows)
    )
    assert math.isclose(sum(g["share"] for g in out["groups"]), 1.0)
    # every threshold visible: R's best score covers "bought at most t_1 days ago"
    r_bins = out["bins_by_score"]["r"]
    assert [b["score"] for b in r_bins] == [4, 3, 2, 1]
    assert r_bins[0] == {
        "score": 4,
        "above": None,
        "up_to": rfm.thresholds_["r"][0],
        "empty": False,
    }
    assert len(out["grid"]) == 16
    assert {g["rfm_group"]: (g["ko"], g["en"]) for g in out["groups"]}["champions"] == (
        "챔피언",
        "Champions",
    )


def test_rfm_default_is_the_segment_language_rfm(shop, tmp_path):
    """With 5 bins, `danggol rfm` gives each customer the scores and group that the segment
    field `rfm_group` reads (the scored profile's own RFM)."""
    out = run_json(shop, "rfm", "--as-of", DAY)
    rows = list(csv.DictReader(io.StringIO(run(shop, "rfm", "--as-of", DAY, "--format", "csv"))))
    with Workspace.open(shop) as ws:
        p = scored_profile(ws.ibis, AS_OF)
        columns = ("customer_id", "r_score", "f_score", "m_score", "rfm_group")
        want = {r["customer_id"]: r for r in p.select(*columns).to_pyarrow().to_pylist()}
    counts = Counter(r["rfm_group"] for r in want.values())
    assert {g["rfm_group"]: g["customers"] for g in out["groups"] if g["customers"]} == counts
    assert list(rows[0]) == list(columns) and len(rows) == len(want)
    for row in rows:
        lib = want[row["customer_id"]]
        scores = [None if row[k] == "" else int(row[k]) for k in columns[1:4]]
        assert scores == [lib["r_score"], lib["f_score"], lib["m_score"]]
        assert row["rfm_group"] == lib["rfm_group"]
    target = tmp_path / "rfm.json"
    run(shop, "rfm", "--as-of", DAY, "--format", "json", "--out", str(target))
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(want) and set(lines[0]) == set(columns)
    table = run(shop, "rfm", "--as-of", DAY, "--lang", "en")
    assert "Champions" in table and "thresholds" in table


# --------------------------------------------------------------------------------------
# lifecycle
# --------------------------------------------------------------------------------------


def test_lifecycle_counts_are_stage_shares(shop):
    out = run_json(shop, "lifecycle", "--as-of", DAY)
    with Workspace.open(shop) as ws:
        lib = stage_shares(ws.ibis, [AS_OF]).to_pylist()
        model = Lifecycle().fit(scored_profile(ws.ibis, AS_OF))
    assert [(s["stage"], s["customers"]) for s in out["stages"]] == [
        (r["stage"], r["customers"]) for r in lib
    ]
    assert all(
        math.isclose(s["share"], r["share"]) for s, r in zip(out["stages"], lib, strict=True)
    )
    assert math.isclose(sum(s["share"] for s in out["stages"]), 1.0)
    assert out["churn_days"] == lib[0]["churn_days"] == model.churn_days_
    assert out["churn_days_source"] == model.churn_days_source_
    for stage in out["stages"]:  # the reasons split each stage
        assert sum(r["customers"] for r in stage["reasons"]) == stage["customers"]
    assert out["stages"][0]["ko"] == "잠재 고객"


def test_lifecycle_shares_over_dates(shop):
    out = run_json(shop, "lifecycle", "shares", "--dates", "2025-06-30,2025-03-31")
    with Workspace.open(shop) as ws:
        lib = stage_shares(ws.ibis, [dt.date(2025, 3, 31), AS_OF]).to_pylist()
    assert same(out, plain(lib))
    for day in ("2025-03-31", "2025-06-30"):
        assert math.isclose(sum(r["share"] for r in out if r["as_of"] == day), 1.0)


# --------------------------------------------------------------------------------------
# grades
# --------------------------------------------------------------------------------------


def test_grades_show_every_threshold(shop):
    out = run_json(shop, "grades", "show")
    rules = load_grade_rules()
    assert out["window_months"] == rules.window_months
    assert [(g["grade"], g["min_amount"], g["level"]) for g in out["grades"]] == [
        (g.key, g.min_amount, rules.level(g.key)) for g in rules.grades
    ]
    assert out["grades"][0]["rule"]["ko"] == "12개월 구매금액 ≥ 1,000,000"
    assert "그 밖의 모든 고객" in run(shop, "grades", "show")


def test_grades_evaluate_and_history(shop):
    first = run_json(shop, "grades", "evaluate", "--as-of", "2025-03-31")
    second = run_json(shop, "grades", "evaluate", "--as-of", DAY)
    with Workspace.open(shop) as ws:
        again = evaluate_grades(ws, AS_OF).to_dict()  # re-running a date replaces it
        history = grade_history(ws).to_pylist()
    assert second == again
    assert first["changes"] == {"new": first["customers"], "upgrade": 0, "downgrade": 0, "same": 0}
    for result in (first, second):
        assert sum(result["grades"].values()) == result["customers"]
        assert sum(result["changes"].values()) == result["customers"]
    assert set(second["changes"]) == set(CHANGES) and second["changes"]["upgrade"] > 0
    moved = next(r["customer_id"] for r in history if r["change"] in ("upgrade", "downgrade"))
    out = run_json(shop, "grades", "history", "--customer", moved)
    assert out == plain([r for r in history if r["customer_id"] == moved])
    assert len(run_json(shop, "grades", "history")) == len(history)


# --------------------------------------------------------------------------------------
# bad input: one clear error, exit code ≠ 0
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rfm", "--bins", "1"], "The 'bins' parameter of RFM must be an int in the range [2, 10]"),
        (["rfm", "--format", "xml"], "unknown format 'xml'"),
        (["rfm", "--out", "x.csv"], "give --format csv, json or parquet"),
        (["lifecycle", "--as-of", "2025-02-30"], "--as-of takes a date as YYYY-MM-DD"),
        (["lifecycle", "shares", "--dates", "2025-03-31,soon"], "got 'soon'"),
        (["grades", "show", "--lang", "fr"], "--lang is ko or en"),
        (["grades", "evaluate", "--as-of", "30/06/2025"], "YYYY-MM-DD"),
        (["grades", "history", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_bad_input_says_what_to_do(shop, args, message):
    result = runner.invoke(app, ["-w", shop, *args])
    assert result.exit_code != 0
    assert message in str(result.exception)
