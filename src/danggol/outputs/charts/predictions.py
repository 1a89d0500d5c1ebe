"""The predictions' diagnostics as inline SVG (Fader, Hardie & Lee 2005, figures 3–5;
lifetimes' ``plotting``), drawn from the backtest :func:`danggol.predict.backtest.backtest`
returns with :mod:`danggol.outputs.charts.primitives`.

* ``conditional-expectations`` — mean holdout purchases per customer, actual against
  predicted, by the number of repeat purchases before the cutoff (grouped bars);
* ``tracking-weekly`` and ``tracking-cumulative`` — purchases per period after the cutoff and
  their running total, actual (solid) against predicted (dashed);
* ``calibration`` — mean predicted P(repurchase) against the share that bought again, per
  tenth of the customers (points and the diagonal);
* ``p-alive`` — P(alive) on a frequency × recency grid (a heat map).

Each chart is a function ``draw(data, lang) -> Figure`` in :data:`FIGURES`; every mark carries
its number raw in a ``data-*`` attribute (``data-value``, ``data-p-alive``, …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from danggol.outputs.charts.primitives import (
    MUTED,
    Figure,
    Scale,
    axis_title,
    bar,
    dot,
    empty,
    heat_cell,
    legend,
    line,
    nice_ticks,
    root,
    tag,
    text,
    x_axis,
    y_axis,
)
from danggol.outputs.report_data import ReportData, fmt_int, fmt_pct, label

if TYPE_CHECKING:
    from danggol.predict.backtest import Backtest

ACTUAL = "#1d4e89"
PREDICTED = "#e8703f"
#: the purchase models' names as the papers write them
MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}


def fmt_num(value: float, digits: int = 2) -> str:
    """A number with thousands separators and ``digits`` decimals, trailing zeros dropped."""
    shown = f"{value:,.{digits}f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def unit_word(b: Backtest, lang: str) -> str:
    return label(f"diag_unit_{b.time_unit}", lang)


def units(n: float, b: Backtest, lang: str) -> str:
    return label(f"diag_units_{b.time_unit}", lang, n=fmt_num(n, 1))


def _legend_top(x: float, lang: str, kinds: tuple[str, str]) -> str:
    markup, _ = legend(
        x,
        16,
        [
            (label("diag_actual", lang), ACTUAL, kinds[0]),
            (label("diag_predicted", lang), PREDICTED, kinds[1]),
        ],
    )
    return markup


# --------------------------------------------------------------------------------------
# conditional expectations
# --------------------------------------------------------------------------------------


def conditional_expectations_chart(data: ReportData, lang: str) -> Figure:
    """Two bars per calibration frequency (0, 1, …, 7+): actual and predicted mean purchases."""
    b, name = data.diagnostics, "conditional-expectations"
    caption = label("diag_cond_exp", lang)
    if b is None or not b.conditional_expectations:
        return empty(name, caption, lang)
    rows = b.conditional_expectations
    left, top, slot, plot_h = 64, 34, 62, 220
    plot_w = slot * len(rows)
    hi = max(max(r["actual_mean"], r["predicted_mean"]) for r in rows)
    ticks = nice_ticks(hi)
    y = Scale(0, ticks[-1], top + plot_h, top)
    body = [_legend_top(left, lang, ("bar", "bar"))]
    body += y_axis(y, ticks, left, left + plot_w, lambda v: fmt_num(v, 2))
    for i, r in enumerate(rows):
        x = left + i * slot + slot * 0.14
        w = slot * 0.36
        for j, (series, colour) in enumerate((("actual", ACTUAL), ("predicted", PREDICTED))):
            v = r[f"{series}_mean"]
            tip = (
                f"{label('diag_repeat_purchases', lang)} {r['frequency']} · "
                f"{label(f'diag_{series}', lang)} {fmt_num(v, 3)} ({label('people', lang, n=fmt_int(r['customers']))})"
            )
            body.append(
                bar(
                    x + j * w,
                    y(v),
                    w,
                    y(0) - y(v),
                    colour,
                    tip,
                    class_="ce-bar",
                    data_frequency=r["frequency"],
                    data_series=series,
                    data_value=repr(float(v)),
                    data_customers=r["customers"],
                )
            )
        body.append(
            text(x + w, top + plot_h + 16, r["frequency"], text_anchor="middle", fill=MUTED)
        )
        body.append(
            text(
                x + w,
                top + plot_h + 31,
                label("people", lang, n=fmt_int(r["customers"])),
                text_anchor="middle",
                fill=MUTED,
                font_size=11,
            )
        )
    body.append(axis_title(left + plot_w / 2, top + plot_h + 50, label("diag_x_repeat", lang)))
    body.append(
        axis_title(16, top + plot_h / 2, label("diag_y_mean_purchases", lang), vertical=True)
    )
    return root(left + plot_w + 12, top + plot_h + 58, body, name, caption)


# --------------------------------------------------------------------------------------
# tracking
# --------------------------------------------------------------------------------------


def _day_label(iso: str, lang: str) -> str:
    day = dt.date.fromisoformat(iso)
    return day.strftime("%m.%d" if lang == "ko" else "%m-%d")


def tracking_chart(data: ReportData, lang: str, *, cumulative: bool) -> Figure:
    """Actual (solid, dots) and predicted (dashed) purchases per period, or their running
    totals, against the day each period ends."""
    b = data.diagnostics
    name = "tracking-cumulative" if cumulative else "tracking-weekly"
    caption = (
        label("diag_tracking_cumulative", lang)
        if cumulative
        else label("diag_tracking_weekly", lang, unit=unit_word(b, lang) if b else "")
    )
    if b is None or not b.tracking:
        return empty(name, caption, lang)
    rows = b.tracking
    keys = ("cumulative_actual", "cumulative_predicted") if cumulative else ("actual", "predicted")
    left, top, plot_h = 64, 34, 200
    step = max(16.0, min(52.0, 620 / len(rows)))
    plot_w = step * (len(rows) - 1) if len(rows) > 1 else step
    hi = max(max(float(r[keys[0]]), float(r[keys[1]])) for r in rows)
    ticks = nice_ticks(hi)
    y = Scale(0, ticks[-1], top + plot_h, top)
    x = Scale(1, max(len(rows), 2), left, left + plot_w)
    body = [_legend_top(left, lang, ("line", "dash"))]
    body += y_axis(y, ticks, left, left + plot_w, lambda v: fmt_num(v, 1))
    every = max(1, round(44 / step))  # a date label every ~44 px
    for r in rows:
        if (r["period"] - 1) % every == 0 or r["period"] == len(rows):
            body.append(
                text(
                    x(r["period"]),
                    top + plot_h + 16,
                    _day_label(r["end"], lang),
                    text_anchor="middle",
                    fill=MUTED,
                    font_size=11,
                )
            )
    for series, colour, dash in ((keys[1], PREDICTED, "6 4"), (keys[0], ACTUAL, None)):
        points = [(x(r["period"]), y(float(r[series]))) for r in rows]
        body.append(line(points, colour, dash=dash, class_="tracking-line", data_series=series))
    for r in rows:
        for series, colour in ((keys[0], ACTUAL), (keys[1], PREDICTED)):
            v = float(r[series])
            kind = "actual" if series == keys[0] else "predicted"
            tip = f"{_day_label(r['end'], lang)} · {label(f'diag_{kind}', lang)} {fmt_num(v, 1)}"
            body.append(
                dot(
                    x(r["period"]),
                    y(v),
                    colour,
                    tip,
                    r=3.0 if kind == "actual" else 2.2,
                    class_="tracking-point",
                    data_period=r["period"],
                    data_end=r["end"],
                    data_series=kind,
                    data_value=repr(v),
                )
            )
    unit = unit_word(b, lang)
    body.append(
        axis_title(
            left + plot_w / 2, top + plot_h + 38, label("diag_x_period_end", lang, unit=unit)
        )
    )
    body.append(axis_title(16, top + plot_h / 2, label("diag_y_purchases", lang), vertical=True))
    return root(int(left + plot_w + 30), top + plot_h + 46, body, name, caption)


# --------------------------------------------------------------------------------------
# calibration
# --------------------------------------------------------------------------------------


def calibration_chart(data: ReportData, lang: str) -> Figure:
    """Each tenth of the customers (by predicted P(repurchase)) as a point: mean predicted
    probability across, share that bought again up; the diagonal is perfect calibration."""
    b, name = data.diagnostics, "calibration"
    caption = label("diag_calibration", lang)
    if b is None or not b.calibration:
        return empty(name, caption, lang)
    rows = b.calibration
    left, top, side = 64, 34, 280
    hi = max(max(r["predicted"], r["observed"]) for r in rows)
    ticks = [t for t in nice_ticks(min(hi, 1.0), 4) if t <= 1.0] or [0.0, 1.0]
    top_value = ticks[-1] if ticks[-1] >= hi else 1.0
    if ticks[-1] < top_value:
        ticks.append(top_value)
    x = Scale(0, top_value, left, left + side)
    y = Scale(0, top_value, top + side, top)
    pct = lambda v: fmt_pct(v, 0)  # noqa: E731
    keys = [
        (label("diag_actual", lang), ACTUAL, "bar"),
        (label("diag_perfect", lang), MUTED, "dash"),
    ]
    body = [legend(left, 16, keys)[0]]
    body += y_axis(y, ticks, left, left + side, pct)
    body += x_axis(x, ticks, top, top + side, pct)
    body.append(
        tag(
            "line",
            x1=x(0),
            y1=y(0),
            x2=x(top_value),
            y2=y(top_value),
            stroke=MUTED,
            stroke_dasharray="5 4",
        )
    )
    body.append(line([(x(r["predicted"]), y(r["observed"])) for r in rows], ACTUAL, width=1.5))
    for r in rows:
        tip = (
            f"{r['bin']}/10 · {label('diag_predicted', lang)} {fmt_pct(r['predicted'])} · "
            f"{label('diag_actual', lang)} {fmt_pct(r['observed'])} "
            f"({label('people', lang, n=fmt_int(r['customers']))})"
        )
        body.append(
            dot(
                x(r["predicted"]),
                y(r["observed"]),
                ACTUAL,
                tip,
                r=5.0,
                class_="calibration-point",
                data_bin=r["bin"],
                data_predicted=repr(float(r["predicted"])),
                data_observed=repr(float(r["observed"])),
                data_customers=r["customers"],
            )
        )
    body.append(axis_title(left + side / 2, top + side + 36, label("diag_x_predicted_p", lang)))
    body.append(axis_title(16, top + side / 2, label("diag_y_observed_p", lang), vertical=True))
    return root(left + side + 20, top + side + 44, body, name, caption)


# --------------------------------------------------------------------------------------
# P(alive)
# --------------------------------------------------------------------------------------


def p_alive_chart(data: ReportData, lang: str) -> Figure:
    """P(alive | x, t_x, T) as a heat map: repeat purchases x across, the time of the last
    purchase t_x down (the most recent, t_x = T, on top)."""
    b, name = data.diagnostics, "p-alive"
    caption = label("diag_p_alive", lang)
    if b is None or not b.p_alive_matrix:
        return empty(name, caption, lang)
    m: dict[str, Any] = b.p_alive_matrix
    freq, recency, grid = m["frequency"], m["recency"], m["p_alive"]
    label_w, head_h, cell_w, cell_h = 92, 44, 38, 24
    unit = unit_word(b, lang)
    body = [
        axis_title(label_w + len(freq) * cell_w / 2, 14, label("diag_x_frequency", lang)),
        axis_title(
            14,
            head_h + len(recency) * cell_h / 2,
            label("diag_y_recency", lang, unit=unit),
            vertical=True,
        ),
    ]
    for j, f in enumerate(freq):
        body.append(
            text(
                label_w + j * cell_w + cell_w / 2,
                head_h - 8,
                f,
                text_anchor="middle",
                fill=MUTED,
                font_size=11,
            )
        )
    for row_i, i in enumerate(reversed(range(len(recency)))):
        t = recency[i]
        y = head_h + row_i * cell_h
        body.append(
            text(
                label_w - 8,
                y + cell_h / 2 + 4,
                fmt_num(t, 1),
                text_anchor="end",
                fill=MUTED,
                font_size=11,
            )
        )
        for j, f in enumerate(freq):
            p = grid[i][j]
            tip = (
                f"{label('diag_x_frequency', lang)} {f} · {label('diag_y_recency', lang, unit=unit)} "
                f"{fmt_num(t, 1)}: {label('diag_alive', lang)} {fmt_pct(p)}"
            )
            body.append(
                heat_cell(
                    label_w + j * cell_w,
                    y,
                    cell_w,
                    cell_h,
                    0.0 if p is None else p,
                    "" if p is None else fmt_pct(p, 0),
                    tip if p is not None else "",
                    class_="p-alive-cell",
                    data_frequency=f,
                    data_recency=repr(float(t)),
                    data_p_alive="" if p is None else repr(float(p)),
                )
            )
    return root(
        label_w + len(freq) * cell_w + 8,
        head_h + len(recency) * cell_h + 8,
        body,
        name,
        caption,
    )


#: figure name (and PNG file name) → how to draw it; drawn only when the backtest ran
FIGURES: dict[str, Callable[[ReportData, str], Figure]] = {
    "conditional-expectations": conditional_expectations_chart,
    "tracking-weekly": lambda data, lang: tracking_chart(data, lang, cumulative=False),
    "tracking-cumulative": lambda data, lang: tracking_chart(data, lang, cumulative=True),
    "calibration": calibration_chart,
    "p-alive": p_alive_chart,
}
