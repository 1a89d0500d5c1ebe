"""`danggol report`: one self-contained HTML page whose every number is the library's."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from analytics_shop import load_shop
from danggol import analytics
from danggol.cli.main import app
from danggol.demo import generate_shop
from danggol.errors import ConfigError, DanggolError
from danggol.ingest.load import ingest_tables
from danggol.outputs import report as report_module
from danggol.outputs.report import (
    LABELS,
    build_report,
    collect_report,
    figures,
    render_report,
    write_pngs,
)
from danggol.outputs.report_data import fmt_int, fmt_money, fmt_pct
from danggol.scores import stage_shares
from danggol.store.workspace import Workspace
from danggol.summary import shop_summary

AS_OF = dt.date(2025, 6, 30)
SECTIONS = (
    "headline",
    "rfm",
    "lifecycle",
    "concentration",
    "migration",
    "cohorts",
    "affinity",
    "diagnostics",
)
HOSTILE = "<script>alert(1)</script>"
#: months of stage shares and cohorts in the big shop's report (12 by default; 6 is faster)
MONTHS = 6


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text shown."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a.get("class", "").split()]

    def by_id(self, name: str) -> dict[str, str]:
        (found,) = [a for _, a in self.tags if a.get("id") == name]
        return found


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("report") / "shop")
    ingest_tables(ws, generate_shop(1500, seed=5))
    data = collect_report(ws, AS_OF, months=MONTHS)
    pages = {lang: render_report(data, lang) for lang in ("ko", "en")}
    yield ws, data, pages
    ws.close()


def test_the_page_loads_nothing_from_anywhere(shop):
    _, _, pages = shop
    for page in pages.values():
        assert "http://" not in page and "https://" not in page
        assert not re.search(r"<script|<link|<img|<iframe|<object|<embed|@import|url\(", page, re.I)
        for tag, attrs in Tags(page).tags:
            assert not {"src", "href"} & set(attrs), (tag, attrs)


def test_every_section_is_there_with_its_title(shop):
    _, data, pages = shop
    for lang, page in pages.items():
        assert f'<html lang="{lang}">' in page
        for key in SECTIONS:
            assert f'<section id="{key}"><h2>{html.escape(LABELS[key][lang])}</h2>' in page
        # seven of the shop, five of the prediction diagnostics (tests/test_report_diagnostics.py)
        assert len(figures(data, lang)) == 12
        assert page.count("<svg") == 12


def test_the_rfm_grid_adds_up_to_the_buyers_shown(shop):
    ws, _, pages = shop
    buyers = shop_summary(ws, AS_OF)["buyers"]
    for page in pages.values():
        tags = Tags(page)
        cells = tags.with_class("rfm-cell")
        assert len(cells) == 25
        assert {(int(c["data-r"]), int(c["data-fm"])) for c in cells} == {
            (r, f) for r in range(1, 6) for f in range(1, 6)
        }
        shown = tags.by_id("kpi-buyers")
        assert int(shown["data-value"]) == buyers == sum(int(c["data-customers"]) for c in cells)
        assert f'<div class="value">{fmt_int(buyers)}</div>' in page
        legend = tags.with_class("rfm-legend")
        assert sum(int(x["data-customers"]) for x in legend) == buyers


def test_concentration_numbers_are_the_librarys(shop):
    ws, _, pages = shop
    c = analytics.concentration(ws.ibis, AS_OF)
    for lang, page in pages.items():
        tags = Tags(page)
        table = page.split('id="top-shares"', 1)[1].split("</table>", 1)[0]
        rows = re.findall(r"<tr>(.*?)</tr>", table)
        for t in c.tops:
            (row,) = [r for r in rows if f'data-top="{t.top!r}"' in r]
            assert f'data-share="{t.revenue_share!r}"' in row
            assert f'<b class="top-share">{fmt_pct(t.revenue_share)}</b>' in row
            assert fmt_int(t.customers) in row
            assert html.escape(fmt_money(t.revenue, "KRW", lang)) in row
            (point,) = [p for p in tags.with_class("top-point") if p["data-top"] == repr(t.top)]
            assert float(point["data-share"]) == pytest.approx(t.revenue_share)
        assert tags.by_id("gini")["data-value"] == repr(c.gini)
        assert f">{c.gini:.3f}</b>" in page
        assert tags.by_id("kpi-top10")["data-value"] == repr(c.top_share(0.10))
        assert f'<div class="value">{fmt_pct(c.top_share(0.10))}</div>' in page


def test_funnel_migration_and_cohorts_match_the_library(shop):
    ws, _, pages = shop
    tags = Tags(pages["en"])
    funnel = {x["data-stage"]: int(x["data-customers"]) for x in tags.with_class("funnel-stage")}
    last = stage_shares(ws.ibis, [AS_OF]).to_pylist()
    assert funnel == {r["stage"]: r["customers"] for r in last}
    bars = tags.with_class("share-bar")
    assert len({b["data-as-of"] for b in bars}) == MONTHS
    m = analytics.migration(ws.ibis, dt.date(2025, 5, 30), AS_OF, by="rfm_group")
    cells = tags.with_class("migration-cell")
    assert sum(int(x["data-customers"]) for x in cells) == m.population
    assert {
        (x["data-from"], x["data-to"]): int(x["data-customers"])
        for x in cells
        if int(x["data-customers"])
    } == {(x.from_label, x.to_label): x.customers for x in m.cells}
    co = analytics.cohorts(ws.ibis, AS_OF)
    shown = {(x["data-cohort"], int(x["data-offset"])) for x in tags.with_class("cohort-cell")}
    assert {c for c, _ in shown} == set(co.cohorts[-MONTHS:])
    assert {k for _, k in shown} == set(range(MONTHS))
    rules = tags.with_class("affinity-rule")
    expected = analytics.affinity(ws.ibis, AS_OF, top=10).pairs
    assert [(r["data-antecedent"], r["data-consequent"]) for r in rules] == [
        (x.antecedent, x.consequent) for x in expected
    ]
    assert html.escape(expected[0].cross_sell_query()) in pages["en"]


def test_korean_and_english_labels(shop):
    ws, _, pages = shop
    ko, en = pages["ko"], pages["en"]
    for words in (
        "RFM 그리드",
        "라이프사이클",
        "매출 집중도",
        "코호트 리텐션",
        "챔피언",
        "충성 고객",
    ):
        assert words in ko and words not in en
    for words in (
        "RFM grid",
        "Lifecycle",
        "Revenue concentration",
        "Cohort retention",
        "Champions",
    ):
        assert words in en and words not in ko
    # the shop's revenue, summed from the orders, written as ko-KR writes won: in full, in
    # 억 (10⁸) with one decimal, and in English in millions
    (revenue,) = ws.duck.execute(
        "SELECT sum(total - coalesce(refunded_amount, 0)) FROM orders "
        "WHERE status IN ('paid', 'partially_refunded') AND order_date <= ?",
        [AS_OF],
    ).fetchone()
    assert 1e8 <= revenue < 1e9
    won = round(revenue)
    eok, million = round(won / 10**7), round(won / 10**5)  # in tenths
    assert f"₩{won:,}" in ko
    assert f"{eok // 10}.{eok % 10}억원" in ko
    assert f"₩{million // 10}.{million % 10}M" in en
    assert "Noto Sans KR" in ko and "NanumGothic" in ko
    assert all(set(v) == {"ko", "en"} for v in LABELS.values())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A tiny shop whose names, ids and regions are markup."""
    path = tmp_path_factory.mktemp("hostile") / "shop"
    ws = Workspace.init(path, shop_name="<b>가게</b>")
    ingest_tables(
        ws,
        {
            "customers": pa.table(
                {"customer_id": ["c1", "c2", "c3"], "region": [HOSTILE, "서울특별시", None]}
            )
        },
    )
    load_shop(
        ws,
        orders=[
            ("o1", "c1", "2025-05-02", 10_000),
            ("o2", "c2", "2025-05-20", 20_000),
            ("o3", "c1", "2025-06-10", 15_000),
            ("o4", "c3", "2025-06-12", 5_000),
        ],
        items=[
            ("o1", "P1", HOSTILE),
            ("o1", "<i>x</i>", 'it\'s "quoted" & more'),
            ("o2", "P1", HOSTILE),
            ("o2", "<i>x</i>", 'it\'s "quoted" & more'),
            ("o3", "P1", HOSTILE),
            ("o4", "P2", "보통 상품"),
        ],
    )
    ws.close()
    return path


def test_data_values_are_escaped(hostile):
    with Workspace.open(hostile) as ws:
        page = build_report(ws, AS_OF, lang="en", months=1)
    assert "<script" not in page.lower() and "<i>x" not in page and "<b>가게" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page and "&lt;b&gt;가게&lt;/b&gt;" in page
    assert "it&#x27;s &quot;quoted&quot; &amp; more" in page
    assert len(Tags(page).with_class("affinity-rule")) == 2  # the pair, both ways


def test_options_are_checked_before_any_query(shop):
    ws, data, _ = shop
    with pytest.raises(ConfigError, match="one of ko, en; got 'fr'"):
        render_report(data, "fr")
    with pytest.raises(ConfigError, match="after the as-of date"):
        collect_report(ws, AS_OF, compare_to=dt.date(2025, 7, 1))
    with pytest.raises(ConfigError, match="months"):
        collect_report(ws, AS_OF, months=0)


def test_cli_writes_the_report_atomically(hostile, tmp_path):
    out = tmp_path / "report.html"
    runner = CliRunner()
    args = ["-w", str(hostile), "report", "--as-of", "2025-06-30", "--months", "1"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "고객 세분화 리포트" in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    # wrong options fail before any query runs
    result = runner.invoke(app, [*args, "--out", str(out), "--compare-to", "2025-07-01"])
    assert isinstance(result.exception, ConfigError)
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "missing" / "r.html")])
    assert isinstance(result.exception, ConfigError) and "does not exist" in str(result.exception)
    result = runner.invoke(app, [*args, "--out", str(out), "--lang", "fr"])
    assert isinstance(result.exception, ConfigError)


def test_png_needs_chromium_and_a_korean_font(shop, tmp_path, monkeypatch):
    _, data, _ = shop
    figs = figures(data, "ko")
    monkeypatch.delenv(report_module.CHROMIUM_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DanggolError, match="apt-get install chromium fonts-nanum"):
        write_pngs(figs, tmp_path / "png")
    monkeypatch.setattr(report_module, "find_chromium", lambda: "/bin/true")
    monkeypatch.setattr(report_module, "korean_font_installed", lambda: False)
    with pytest.raises(DanggolError, match=r"no Korean font.*fonts-nanum"):
        write_pngs(figs, tmp_path / "png")
    assert not (tmp_path / "png").exists()


@pytest.mark.skipif(
    not any(shutil.which(n) for n in report_module.CHROMIUM_NAMES), reason="no Chromium here"
)
def test_png_renders_a_figure(shop, tmp_path):
    _, data, _ = shop
    lorenz = figures(data, "ko")["lorenz"]
    (written,) = write_pngs({"lorenz": lorenz}, tmp_path / "png", "ko")
    head = Path(written).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    margin = 2 * report_module.PNG_MARGIN
    assert (width, height) == (2 * (lorenz.width + margin), 2 * (lorenz.height + margin))
    assert [p.name for p in (tmp_path / "png").iterdir()] == ["lorenz.png"]
