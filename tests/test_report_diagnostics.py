"""The prediction diagnostics of the report and of `predict backtest`: every number drawn equals
the same diagnostic computed here independently — plain Python over a small purchase log, and
BG/NBD's closed forms (Fader, Hardie & Lee 2005, eqs. (10) and (13)) in mpmath with the
parameters the fit found. The log is shaped like a shop's export: several orders on one day
(one purchase day), refunded and cancelled orders (not purchases), partly refunded ones (still
purchases), guests known only by their e-mail, orders around midnight."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
from html.parser import HTMLParser

import mpmath
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from danggol.cli.main import app
from danggol.ingest.load import ingest_tables
from danggol.outputs.report import collect_report, figures, render_report
from danggol.outputs.report_data import LABELS
from danggol.store.workspace import Workspace

CUTOFF = dt.date(2024, 12, 31)
HORIZON = 90  # the [predictions] horizon_days default the report uses
AS_OF = CUTOFF + dt.timedelta(days=HORIZON)
START = dt.date(2024, 1, 1)
CUSTOMERS = 240
PURCHASE = ("paid", "partially_refunded")
DIAGNOSTIC_FIGURES = (
    "conditional-expectations",
    "tracking-weekly",
    "tracking-cumulative",
    "calibration",
    "p-alive",
)


def purchase_log(n: int = CUSTOMERS, seed: int = 18) -> list[dict]:
    """Customer i first buys on START + i days (so no two customers share (x, t_x, T) and the
    deciles have no ties), then at random gaps until it drops out."""
    rng = random.Random(seed)
    rows: list[dict] = []

    def order(who: int, day: dt.date, status: str = "paid", refunded: float = 0.0) -> None:
        guest = who % 40 == 7
        at = dt.datetime.combine(day, dt.time(rng.choice([0, 9, 13, 21, 23]), rng.randrange(60)))
        rows.append(
            {
                "order_id": f"O{len(rows):05d}",
                "customer_id": "" if guest else f"C{who:03d}",
                "email": f"guest{who}@example.kr" if guest else "",
                "ordered_at": at.isoformat(sep=" "),
                "total": float(rng.randrange(9, 200) * 1000),
                "status": status,
                "refunded_amount": refunded,
            }
        )

    for who in range(n):
        day = START + dt.timedelta(days=who)
        mean_gap = rng.choice([9, 20, 45, 90, 200])
        alive_until = day + dt.timedelta(days=rng.choice([30, 120, 300, 900]))
        while day <= AS_OF and day <= alive_until:
            roll = rng.random()
            if roll < 0.08:
                order(who, day, "partially_refunded", 5000.0)
            else:
                order(who, day)
            if roll > 0.9:
                order(who, day)  # a second order the same day: still one purchase day
            if rng.random() < 0.06:
                order(who, day + dt.timedelta(days=1), rng.choice(["refunded", "cancelled"]))
            day += dt.timedelta(days=max(1, round(rng.expovariate(1 / mean_gap))))
    return rows


def orders_table(rows: list[dict]) -> pa.Table:
    return pa.table({k: [r[k] for r in rows] for k in rows[0]})


def expected(rows: list[dict], params: dict[str, float]) -> dict:
    """The diagnostics by hand: purchase days per buyer (their key: the id, or a guest's e-mail),
    the summary at the cutoff in weeks, BG/NBD's formulas with ``params``."""
    days: dict[str, set[dt.date]] = {}
    for r in rows:
        if r["status"] in PURCHASE:
            key = r["customer_id"] or r["email"]
            days.setdefault(key, set()).add(dt.datetime.fromisoformat(r["ordered_at"]).date())
    mp = mpmath.mp
    mp.dps = 30
    rr, alpha, a, b = (mpmath.mpf(params[k]) for k in ("r", "alpha", "a", "b"))

    def p_alive(x: int, tx: float, T: float) -> mpmath.mpf:
        if x == 0:
            return mpmath.mpf(1)
        return 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (rr + x))

    def expected_purchases(t: float, x: int, tx: float, T: float) -> mpmath.mpf:
        ratio = (alpha + T) / (alpha + T + t)
        hyp = mpmath.hyp2f1(rr + x, b + x, a + b + x - 1, t / (alpha + T + t))
        return (a + b + x - 1) / (a - 1) * (1 - ratio ** (rr + x) * hyp) * p_alive(x, tx, T)

    people = []
    for d in days.values():
        cal = sorted(x for x in d if x <= CUTOFF)
        if not cal or cal[0] >= CUTOFF:
            continue
        x = len(cal) - 1
        tx, T = (cal[-1] - cal[0]).days / 7, (CUTOFF - cal[0]).days / 7
        offsets = [(x_ - CUTOFF).days for x_ in d if CUTOFF < x_ <= AS_OF]
        alive = p_alive(x, tx, T)
        none = 1 - alive + alive * ((alpha + T) / (alpha + T + HORIZON / 7)) ** (rr + x)
        people.append(
            {
                "x": x,
                "tx": tx,
                "T": T,
                "offsets": offsets,
                "predicted": float(expected_purchases(HORIZON / 7, x, tx, T)),
                "prob": float(1 - none),
            }
        )
    groups = {}
    for k in range(8):
        members = [p for p in people if (p["x"] >= 7 if k == 7 else p["x"] == k)]
        if members:
            groups["7+" if k == 7 else str(k)] = {
                "customers": len(members),
                "actual": sum(len(p["offsets"]) for p in members) / len(members),
                "predicted": sum(p["predicted"] for p in members) / len(members),
            }
    bounds = [*range(0, HORIZON, 7), HORIZON]
    weeks = []
    for lo, hi in itertools.pairwise(bounds):
        weeks.append(
            {
                "actual": sum(lo < o <= hi for p in people for o in p["offsets"]),
                "predicted": sum(
                    float(
                        expected_purchases(hi / 7, p["x"], p["tx"], p["T"])
                        - expected_purchases(lo / 7, p["x"], p["tx"], p["T"])
                    )
                    for p in people
                ),
            }
        )
    ranked = sorted(people, key=lambda p: p["prob"])
    size, extra = divmod(len(ranked), 10)
    deciles, at = [], 0
    for i in range(10):
        chunk = ranked[at : at + size + (i < extra)]
        at += len(chunk)
        deciles.append(
            {
                "customers": len(chunk),
                "predicted": sum(p["prob"] for p in chunk) / len(chunk),
                "observed": sum(bool(p["offsets"]) for p in chunk) / len(chunk),
            }
        )
    oldest = max(p["T"] for p in people)
    top = min(max(p["x"] for p in people), 20)
    grid = {}
    for i in range(11):
        t = oldest * i / 10
        for x in range(top + 1):
            grid[(x, i)] = None if (x == 0) != (i == 0) else float(p_alive(x, t, oldest))
    return {
        "customers": len(people),
        "groups": groups,
        "weeks": weeks,
        "deciles": deciles,
        "T": oldest,
        "top": top,
        "grid": grid,
    }


class Marks(HTMLParser):
    """The attributes of every element with a class, by class name."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: dict[str, list[dict[str, str]]] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for name in values.get("class", "").split():
            self.found.setdefault(name, []).append(values)

    def of(self, name: str) -> list[dict[str, str]]:
        return self.found.get(name, [])


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    rows = purchase_log()
    ws = Workspace.init(tmp_path_factory.mktemp("diag") / "shop")
    ingest_tables(ws, {"orders": orders_table(rows)})
    data = collect_report(ws, AS_OF, months=3)
    assert data.diagnostics is not None, data.diagnostics_reason
    want = expected(rows, data.diagnostics.params)
    pages = {lang: render_report(data, lang) for lang in ("ko", "en")}
    yield ws, data, want, pages
    ws.close()


def close(got: str | float, want: float, rel: float = 1e-7) -> bool:
    return float(got) == pytest.approx(want, rel=rel, abs=1e-12)


def test_the_fixture_has_what_a_shop_export_has():
    rows = purchase_log()
    statuses = {r["status"] for r in rows}
    assert {"paid", "partially_refunded", "refunded", "cancelled"} <= statuses
    assert any(not r["customer_id"] and r["email"] for r in rows)
    same_day = {(r["customer_id"] or r["email"], r["ordered_at"][:10]) for r in rows}
    assert len(same_day) < len(rows)  # several orders on one day


def test_the_report_has_the_four_diagnostics_in_both_languages(shop):
    _, data, _, pages = shop
    assert set(DIAGNOSTIC_FIGURES) <= set(figures(data, "ko"))
    for lang, page in pages.items():
        assert '<section id="diagnostics">' in page
        for key in ("cond_exp", "tracking", "calibration", "p_alive"):
            assert f'id="diag-{key}"' in page
            heading = LABELS[f"diag_{key}"][lang]
            assert f"<h3>{heading}</h3>" in page
        for name in DIAGNOSTIC_FIGURES:
            assert re.search(rf'<svg [^>]*class="chart {name}"', page), name
        assert 'id="cond-exp-table"' in page
    ko = pages["ko"]
    assert "보정 기간 재구매 횟수별 실제 대 예측 구매" in ko and "재구매 확률 보정" in ko
    assert "BG/NBD" in ko and "₩" in ko  # the model's name; the holdout spend in won


def test_conditional_expectations_drawn_are_the_hand_computed_ones(shop):
    _, _, want, pages = shop
    for page in pages.values():
        bars = Marks(page).of("ce-bar")
        assert {b["data-frequency"] for b in bars} == set(want["groups"])
        for b in bars:
            group = want["groups"][b["data-frequency"]]
            assert int(b["data-customers"]) == group["customers"]
            assert close(b["data-value"], group[b["data-series"]], 1e-6), b
        table = page.split('id="cond-exp-table"', 1)[1].split("</table>", 1)[0]
        values = [float(v) for v in re.findall(r'data-value="([^"]+)"', table)]
        expected_values = [
            v for g in want["groups"].values() for v in (g["actual"], g["predicted"])
        ]
        assert values == pytest.approx(expected_values, rel=1e-6)
    assert sum(g["customers"] for g in want["groups"].values()) == want["customers"]


def test_tracking_drawn_is_the_hand_computed_one(shop):
    _, data, want, pages = shop
    assert data.diagnostics.actual_total == sum(w["actual"] for w in want["weeks"])
    for page in pages.values():
        points = Marks(page).of("tracking-point")
        weekly = [p for p in points if p["data-series"] in ("actual", "predicted")]
        assert len(weekly) == 2 * 2 * len(want["weeks"])  # two charts, two series
        running = {"actual": 0.0, "predicted": 0.0}
        cumulative = {}
        for k, w in enumerate(want["weeks"], start=1):
            for series in running:
                running[series] += w[series]
                cumulative[(k, series)] = running[series]
        got = {}
        for p in points:
            got.setdefault((int(p["data-period"]), p["data-series"]), []).append(
                float(p["data-value"])
            )
        for k, w in enumerate(want["weeks"], start=1):
            for series in ("actual", "predicted"):
                per_week, total = got[(k, series)]
                assert close(per_week, w[series], 1e-6), (k, series)
                assert close(total, cumulative[(k, series)], 1e-6), (k, series)
        ends = sorted({p["data-end"] for p in points})
        assert ends[0] == str(CUTOFF + dt.timedelta(days=7)) and ends[-1] == str(AS_OF)


def test_calibration_drawn_is_the_hand_computed_one(shop):
    _, _, want, pages = shop
    for page in pages.values():
        points = sorted(Marks(page).of("calibration-point"), key=lambda p: int(p["data-bin"]))
        assert len(points) == 10
        for p, d in zip(points, want["deciles"], strict=True):
            assert int(p["data-customers"]) == d["customers"]
            assert close(p["data-predicted"], d["predicted"], 1e-6)
            assert close(p["data-observed"], d["observed"])


def test_p_alive_matrix_drawn_is_the_hand_computed_one(shop):
    _, data, want, pages = shop
    assert data.diagnostics.p_alive_matrix["T"] == pytest.approx(want["T"])
    for page in pages.values():
        cells = Marks(page).of("p-alive-cell")
        assert len(cells) == 11 * (want["top"] + 1)
        recency = sorted({float(c["data-recency"]) for c in cells})
        for c in cells:
            x, i = int(c["data-frequency"]), recency.index(float(c["data-recency"]))
            assert float(c["data-recency"]) == pytest.approx(want["T"] * i / 10)
            value = want["grid"][(x, i)]
            if value is None:
                assert c["data-p-alive"] == ""
            else:
                assert close(c["data-p-alive"], value, 1e-6), (x, i)


def test_cli_backtest_json_and_tables_carry_the_same_diagnostics(shop):
    ws, _, want, _ = shop
    runner = CliRunner()
    args = ["--workspace", str(ws.path), "predict", "backtest"]
    args += ["--cutoff", str(CUTOFF), "--horizon", f"{HORIZON}d"]
    ws.close()  # the CLI opens the store itself
    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    got = json.loads(done.output)
    ce = {r["frequency"]: r for r in got["conditional_expectations"]}
    assert set(ce) == set(want["groups"])
    for key, group in want["groups"].items():
        assert ce[key]["customers"] == group["customers"]
        assert close(ce[key]["actual_mean"], group["actual"])
        assert close(ce[key]["predicted_mean"], group["predicted"], 1e-6)
    assert [r["actual"] for r in got["tracking"]] == [w["actual"] for w in want["weeks"]]
    assert [r["customers"] for r in got["calibration"]] == [d["customers"] for d in want["deciles"]]
    assert len(got["p_alive_matrix"]["frequency"]) == want["top"] + 1
    table = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert table.exit_code == 0, table.output
    assert "conditional expectations" in table.output and "P(alive)" in table.output
    seven = want["groups"]["7+"]
    assert re.search(rf"7\+\s+│\s+{seven['customers']}\s+│\s+{seven['actual']:.3f}", table.output)
    first = want["weeks"][0]
    assert re.search(rf"{CUTOFF + dt.timedelta(days=7)}\s+│\s+{first['actual']}\s", table.output)


def test_a_shop_without_enough_history_says_why(tmp_path):
    ws = Workspace.init(tmp_path / "small")
    try:
        ingest_tables(ws, {"orders": orders_table(purchase_log(40))})
        data = collect_report(ws, AS_OF, months=2)
    finally:
        ws.close()
    assert data.diagnostics is None and "too little data" in data.diagnostics_reason
    assert not set(DIAGNOSTIC_FIGURES) & set(figures(data, "en"))
    page = render_report(data, "ko")
    assert 'id="no-diagnostics"' in page and "예측 진단을 계산할 수 없습니다" in page
    assert "ce-bar" not in page
    out = tmp_path / "report.html"
    args = ["-w", str(tmp_path / "small"), "report", "--as-of", str(AS_OF), "--months", "2"]
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--no-diagnostics"])
    assert done.exit_code == 0, done.output
    assert '<section id="diagnostics">' not in out.read_text(encoding="utf-8")
    done = CliRunner().invoke(app, [*args, "--out", str(out), "--overwrite", "--lang", "en"])
    assert done.exit_code == 0, done.output
    assert 'id="no-diagnostics"' in out.read_text(encoding="utf-8")
