"""``danggol report``: one self-contained HTML report of a shop — RFM grid, lifecycle funnel
and stage shares, revenue concentration, RFM migration, cohort retention, top affinities, and
the prediction diagnostics (the purchase model's backtest: conditional expectations, tracking,
calibration of P(repurchase), the P(alive) matrix).

The page loads nothing: no script, and no stylesheet, font or image from elsewhere, so it
opens offline and can be mailed as one file. The charts are inline SVG drawn in Python
(``outputs.charts``); text is set in a font stack that starts with Korean fonts, so 한글
renders wherever one of them is installed. Every data value is escaped with ``html.escape``.

:func:`collect_report` runs the queries once (``outputs.report_data``); :func:`render_report`
turns the result into HTML in Korean or English; :func:`build_report` does both.
:func:`save_report` writes the HTML atomically and, with ``png=DIR``, each figure as a PNG
rendered by a headless Chromium (:func:`write_pngs`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from string import Template

from danggol.errors import ConfigError, DanggolError
from danggol.outputs.charts import predictions as prediction_charts
from danggol.outputs.charts.predictions import MODEL_NAMES, fmt_num, unit_word, units
from danggol.outputs.charts.shop import FIGURES, Figure
from danggol.outputs.files import atomic_file, file_mode
from danggol.outputs.report_data import (
    FONT_STACK,
    LABELS,
    LANGS,
    TOP_RULES,
    GridCell,
    ReportData,
    collect_report,
    esc,
    fmt_int,
    fmt_money,
    fmt_pct,
    label,
)
from danggol.scores.rfm import PROSPECTS
from danggol.store.workspace import Workspace

TEMPLATE = Path(__file__).with_name("report_template.html")
#: where to look for Chromium (first found wins); ``DANGGOL_CHROMIUM`` overrides
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ENV = "DANGGOL_CHROMIUM"
#: white space around a figure in its PNG, in CSS pixels
PNG_MARGIN = 12


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------


def build_report(
    ws: Workspace,
    as_of: dt.date,
    *,
    lang: str = "ko",
    compare_to: dt.date | None = None,
    months: int = 12,
) -> str:
    """The report as one self-contained HTML page (see :func:`collect_report`)."""
    check_lang(lang)
    return render_report(collect_report(ws, as_of, compare_to=compare_to, months=months), lang)


def check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ConfigError(f"the report language is one of {', '.join(LANGS)}; got {lang!r}")


def figures(data: ReportData, lang: str) -> dict[str, Figure]:
    """Every chart of the report as SVG, by name (the PNG file names)."""
    check_lang(lang)
    figs = {name: draw(data, lang) for name, draw in FIGURES.items()}
    if data.diagnostics is not None:
        figs |= {name: draw(data, lang) for name, draw in prediction_charts.FIGURES.items()}
    return figs


def render_report(data: ReportData, lang: str = "ko") -> str:
    """The HTML page of already collected data, in ``lang`` ('ko' or 'en')."""
    check_lang(lang)
    figs = figures(data, lang)
    title = label("title", lang)
    if data.shop_name:
        title = f"{data.shop_name} · {title}"
    subtitle = label("subtitle", lang, as_of=data.as_of, compare_to=data.compare_to)
    body = [
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>",
        _headline(data, lang),
        _section("rfm", lang, figs["rfm-grid"].svg, note=_rfm_note(data, lang)),
        _lifecycle(data, lang, figs),
        _concentration(data, lang, figs["lorenz"].svg),
        _migration(data, lang, figs["migration"].svg),
        _section(
            "cohorts",
            lang,
            figs["cohorts"].svg,
            note=label("cohorts_note", lang, n=len(data.cohorts.cohorts), as_of=data.as_of),
        ),
        _affinity(data, lang, figs["affinity"].svg),
        _predictions(data, lang, figs),
        f"<footer>{esc(label('footer', lang, version=_version(), as_of=data.as_of))}</footer>",
    ]
    page = Template(TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(
        lang=lang,
        title=esc(title),
        version=esc(_version()),
        font_stack=FONT_STACK,
        body="\n".join(body),
    )


def _version() -> str:
    try:
        return metadata.version("danggol")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


def _section(key: str, lang: str, *parts: str, note: str = "") -> str:
    head = f'<section id="{key}"><h2>{esc(label(key, lang))}</h2>'
    if note:
        head += f'<p class="note">{esc(note)}</p>'
    return (
        head
        + "".join(f"<figure>{p}</figure>" if p.startswith("<svg") else p for p in parts)
        + "</section>"
    )


def _kpi(key: str, lang: str, shown: str, value: object, detail: str = "") -> str:
    more = f'<div class="detail">{esc(detail)}</div>' if detail else ""
    return (
        f'<div class="kpi" id="kpi-{key}" data-value="{esc(value)}">'
        f'<div class="label">{esc(label(key, lang))}</div>'
        f'<div class="value">{esc(shown)}</div>{more}</div>'
    )


def _headline(data: ReportData, lang: str) -> str:
    s, c = data.summary, data.concentration
    top10 = c.top_share(0.10)
    tiles = [
        _kpi("customers", lang, fmt_int(s["customers"]), s["customers"]),
        _kpi("buyers", lang, fmt_int(s["buyers"]), s["buyers"]),
        _kpi(
            "revenue",
            lang,
            fmt_money(s["revenue"], data.currency, lang, compact=True),
            s["revenue"],
            fmt_money(s["revenue"], data.currency, lang),
        ),
        _kpi("repeat_rate", lang, fmt_pct(s["repeat_rate"]), s["repeat_rate"]),
        _kpi("top10", lang, fmt_pct(top10), top10),
        _kpi("gini", lang, "–" if c.gini is None else f"{c.gini:.3f}", c.gini),
    ]
    return _section(
        "headline",
        lang,
        f'<div class="kpis">{"".join(tiles)}</div>',
        note=label("headline_note", lang),
    )


def _rfm_note(data: ReportData, lang: str) -> str:
    name = data.segment_map.label(PROSPECTS, lang)
    return label("rfm_note", lang, prospects=name, n=fmt_int(data.prospects))


def _lifecycle(data: ReportData, lang: str, figs: dict[str, Figure]) -> str:
    funnel = (
        f"<h3>{esc(label('funnel', lang, as_of=data.as_of))}</h3>{figs['lifecycle-funnel'].svg}"
    )
    shares = f"<h3>{esc(label('shares', lang))}</h3>{figs['stage-shares'].svg}"
    return _section("lifecycle", lang, funnel, shares, note=label("lifecycle_note", lang))


def _table(
    headers: list[tuple[str, bool]], rows: list[list[tuple[str, bool]]], **attrs: str
) -> str:
    """A table of already escaped cells; the flag marks text (left-aligned) columns."""
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    head = "".join(f"<th{' class=text' if t else ''}>{h}</th>" for h, t in headers)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=text' if t else ''}>{v}</td>" for v, t in row) + "</tr>"
        for row in rows
    )
    return f'<table class="data"{extra}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _concentration(data: ReportData, lang: str, chart: str) -> str:
    c = data.concentration
    rows = [
        [
            (
                f'<span data-top="{t.top!r}" data-share="{esc(t.revenue_share)}">'
                f"{esc(label('top_n', lang, p=fmt_pct(t.top, 0)))}</span>",
                True,
            ),
            (esc(fmt_int(t.customers)), False),
            (esc(fmt_money(t.revenue, data.currency, lang)), False),
            (f'<b class="top-share">{esc(fmt_pct(t.revenue_share))}</b>', False),
        ]
        for t in c.tops
    ]
    gini = "–" if c.gini is None else f"{c.gini:.3f}"
    rows.append(
        [
            (esc(label("gini", lang)), True),
            ("", False),
            ("", False),
            (f'<b id="gini" data-value="{esc(c.gini)}">{esc(gini)}</b>', False),
        ]
    )
    headers = [
        ("", True),
        (esc(label("buyers", lang)), False),
        (esc(label("revenue", lang)), False),
        (esc(label("share", lang)), False),
    ]
    table = _table(headers, rows, id="top-shares")
    note = label("concentration_note", lang, n=fmt_int(c.buyers))
    return _section(
        "concentration", lang, f'<div class="row"><figure>{chart}</figure>{table}</div>', note=note
    )


def _migration(data: ReportData, lang: str, chart: str) -> str:
    m = data.migration
    note = label(
        "migration_note",
        lang,
        a=m.date_from,
        b=m.date_to,
        stayed=fmt_int(m.stayed),
        moved=fmt_int(m.moved),
        population=fmt_int(m.population),
    )
    return _section("migration", lang, chart, note=note)


def _affinity(data: ReportData, lang: str, chart: str) -> str:
    a = data.affinity
    note = label("affinity_note", lang, orders=fmt_int(a.orders), n=TOP_RULES)
    if not a.pairs:
        return _section(
            "affinity", lang, f'<p class="muted">{esc(label("no_rules", lang))}</p>', note=note
        )
    rows = [
        [
            (_product(r.antecedent, r.antecedent_name), True),
            (_product(r.consequent, r.consequent_name), True),
            (esc(fmt_int(r.count)), False),
            (esc(fmt_pct(r.support, 2)), False),
            (esc(fmt_pct(r.confidence)), False),
            (esc(f"{r.lift:.2f}"), False),
            (f"<code>{esc(r.cross_sell_query())}</code>", True),
        ]
        for r in a.pairs
    ]
    headers = [
        (esc(label(k, lang)), k in ("product_a", "product_b", "query"))
        for k in ("product_a", "product_b", "together", "support", "confidence", "lift", "query")
    ]
    table = _table(headers, rows, id="affinity-rules")
    return _section(
        "affinity", lang, chart, f'<div style="overflow-x:auto">{table}</div>', note=note
    )


def _predictions(data: ReportData, lang: str, figs: dict[str, Figure]) -> str:
    """The purchase model's backtest: a summary sentence, then each diagnostic with a
    sentence saying how to read it (nothing when the report was collected without it)."""
    b = data.diagnostics
    if b is None:
        if not data.diagnostics_reason:
            return ""
        said = data.diagnostics_reason_ko if lang == "ko" else ""
        reason = label("diag_none", lang, reason=said or data.diagnostics_reason)
        return _section(
            "diagnostics", lang, f'<p class="muted" id="no-diagnostics">{esc(reason)}</p>'
        )
    cutoff = dt.date.fromisoformat(b.cutoff)
    note = label(
        "diag_note",
        lang,
        model=MODEL_NAMES.get(b.model, b.model),
        cutoff=cutoff,
        days=fmt_int(b.horizon_days),
        end=cutoff + dt.timedelta(days=b.horizon_days),
        n=fmt_int(b.customers),
        actual=fmt_int(b.actual_total),
        predicted=fmt_int(b.predicted_total),
        auc=fmt_num(b.auc, 3),
        brier=fmt_num(b.brier, 4),
    )
    if b.actual_spend is not None and b.predicted_spend is not None:
        note += " " + label(
            "diag_spend",
            lang,
            actual=fmt_money(b.actual_spend, data.currency, lang),
            predicted=fmt_money(b.predicted_spend, data.currency, lang),
        )
    unit = unit_word(b, lang)
    T = b.p_alive_matrix.get("T", 0.0)

    def part(key: str, body: str, **values: object) -> str:
        return (
            f'<div class="diagnostic" id="diag-{key}"><h3>{esc(label("diag_" + key, lang))}</h3>'
            f'<p class="note">{esc(label("diag_" + key + "_note", lang, **values))}</p>{body}</div>'
        )

    rows = [
        [
            (esc(r["frequency"]), True),
            (esc(fmt_int(r["customers"])), False),
            (_mean_cell(r["actual_mean"]), False),
            (_mean_cell(r["predicted_mean"]), False),
            (esc(f"{r['predicted_mean'] - r['actual_mean']:+.3f}"), False),
        ]
        for r in b.conditional_expectations
    ]
    headers = [
        (esc(label(k if k == "customers" else "diag_" + k, lang)), k == "repeat_purchases")
        for k in ("repeat_purchases", "customers", "actual_mean", "predicted_mean", "difference")
    ]
    table = _table(headers, rows, id="cond-exp-table")
    parts = [
        part(
            "cond_exp",
            f'<div class="row"><figure>{figs["conditional-expectations"].svg}</figure>{table}</div>',
            days=fmt_int(b.horizon_days),
        ),
        part(
            "tracking",
            f"<h4>{esc(label('diag_tracking_weekly', lang, unit=unit))}</h4>"
            f"<figure>{figs['tracking-weekly'].svg}</figure>"
            f"<h4>{esc(label('diag_tracking_cumulative', lang))}</h4>"
            f"<figure>{figs['tracking-cumulative'].svg}</figure>",
            unit=unit,
        ),
        part("calibration", f"<figure>{figs['calibration'].svg}</figure>"),
        part(
            "p_alive",
            f'<figure style="overflow-x:auto">{figs["p-alive"].svg}</figure>',
            T=units(T, b, lang),
        ),
    ]
    return _section("diagnostics", lang, *parts, note=note)


def _mean_cell(value: float) -> str:
    """A mean number of purchases in a table: three decimals shown, the value raw beside."""
    shown = f"{value:,.3f}"
    return f'<span data-value="{value!r}">{esc(shown)}</span>'


def _product(product_id: str, name: str | None) -> str:
    if not name:
        return f'<span class="name">{esc(product_id)}</span>'
    return f'<span class="name">{esc(name)}</span><br><span class="muted">{esc(product_id)}</span>'


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------


def check_out_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, once its folder is known to exist (check before the queries run)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"cannot write {target}: the folder {folder} does not exist")
    return target


def write_atomic(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` beside ``path`` and rename it into place (never a half-written file)."""
    target = check_out_path(path)
    with atomic_file(target, overwrite=overwrite) as sink:
        sink.write(data)
    return target


def save_report(
    data: ReportData,
    out: str | os.PathLike[str],
    *,
    lang: str = "ko",
    png: str | os.PathLike[str] | None = None,
    overwrite: bool = True,
) -> list[Path]:
    """Write the HTML report to ``out`` (an existing file only with ``overwrite``) and, with
    ``png``, every figure as ``png/NAME.png``; return the files written."""
    html = render_report(data, lang).encode("utf-8")
    written = [write_atomic(out, html, overwrite=overwrite)]
    if png is not None:
        written += write_pngs(figures(data, lang), png, lang)
    return written


HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")


def find_chromium() -> str:
    """The Chromium (or Chrome) program that renders the PNGs."""
    given = os.environ.get(CHROMIUM_ENV)
    found = shutil.which(given) if given else None
    if given and not found:
        raise DanggolError(f"${CHROMIUM_ENV} is {given!r}, which is not an executable program")
    for name in () if found else CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            break
    if not found:
        raise DanggolError(
            "--png renders the figures with a headless Chromium, and none was found (looked "
            f"for {', '.join(CHROMIUM_NAMES)}). Install it (Debian/Ubuntu: 'apt-get install "
            f"chromium fonts-nanum') or point ${CHROMIUM_ENV} to a Chromium or Chrome program."
        )
    return found


def korean_font_installed() -> bool | None:
    """Whether fontconfig knows a font with Korean glyphs (None: no fontconfig to ask)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    done = subprocess.run(
        [fc_list, ":lang=ko", "family"], capture_output=True, text=True, check=False
    )
    return bool(done.stdout.strip())


def write_pngs(
    figs: dict[str, Figure], folder: str | os.PathLike[str], lang: str = "ko"
) -> list[Path]:
    """Render each SVG figure to ``folder/NAME.png`` (2× pixel density) with headless
    Chromium; the folder is created when missing. Fails with a DanggolError naming the
    package to install when Chromium, or a Korean font for 한글 text, is missing."""
    chromium = find_chromium()
    if any(HANGUL.search(f.svg) for f in figs.values()) and korean_font_installed() is False:
        raise DanggolError(
            "the figures contain Korean text but no Korean font is installed (fc-list "
            ":lang=ko finds none), so the PNGs would show empty boxes instead of 한글. "
            "Install one, e.g. 'apt-get install fonts-nanum' (NanumGothic) or fonts-noto-cjk."
        )
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="danggol-png-") as work:
        for name, fig in figs.items():
            page = Path(work) / f"{name}.html"
            page.write_text(_png_page(fig, lang), encoding="utf-8")
            written.append(_screenshot(chromium, page, fig, target / f"{name}.png", work))
    return written


def _png_page(fig: Figure, lang: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><style>'
        f"html,body{{margin:0;background:#fff;overflow:hidden;font-family:{FONT_STACK}}}"
        f"body{{padding:{PNG_MARGIN}px}}"
        "svg{display:block}</style></head><body>" + fig.svg + "</body></html>"
    )


def _screenshot(chromium: str, page: Path, fig: Figure, out: Path, work: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".png", dir=out.parent)
    os.close(fd)
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # our own page without scripts; the sandbox refuses to run as root
        "--disable-gpu",
        "--disable-background-networking",
        "--hide-scrollbars",
        f"--user-data-dir={work}/profile",
        "--force-device-scale-factor=2",
        f"--window-size={fig.width + 2 * PNG_MARGIN},{fig.height + 2 * PNG_MARGIN}",
        f"--screenshot={tmp}",
        page.as_uri(),
    ]
    try:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise DanggolError(f"{chromium} took over 120 s to render {out.name}") from None
        if done.returncode != 0 or not os.path.getsize(tmp):
            # Chromium complains about the missing D-Bus on every headless run: not the cause
            said = [line for line in done.stderr.splitlines() if "dbus" not in line]
            raise DanggolError(
                f"{chromium} could not render {out.name} (exit {done.returncode}): "
                + ("\n".join(said[-3:]) or "it wrote no image")
            )
        os.chmod(tmp, file_mode())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


__all__ = [
    "FONT_STACK",
    "LABELS",
    "GridCell",
    "ReportData",
    "build_report",
    "check_lang",
    "check_out_path",
    "collect_report",
    "figures",
    "render_report",
    "save_report",
    "write_pngs",
]
