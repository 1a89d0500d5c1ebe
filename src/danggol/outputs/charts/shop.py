"""The shop's charts of the report as inline SVG, drawn in Python: no JavaScript, no fonts
or images (the predictions' diagnostics are in :mod:`danggol.outputs.charts.predictions`; both
draw with :mod:`danggol.outputs.charts.primitives`).

Each chart is a function ``draw(data, lang) -> Figure`` listed in :data:`FIGURES` (its key is
the PNG file name). Text goes through :func:`text`, which escapes it, and attribute values
through :func:`tag`, which escapes them too, so a data value can never become markup. The
elements that carry a number also carry it raw in a ``data-*`` attribute, so a test (or a
curious reader) can check what is drawn against the library.

The SVGs have no ``xmlns``: inside HTML it is implied, and leaving it out keeps the page
free of any ``http`` reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from danggol.analytics import NONE
from danggol.outputs.charts.primitives import (
    GRID,
    INK,
    MUTED,
    STAGE_COLORS,
    Figure,
    clip,
    empty,
    group_color,
    heat_cell,
    ink_on,
    root,
    tag,
    text,
    title,
)
from danggol.outputs.report_data import (
    ReportData,
    fmt_int,
    fmt_money,
    fmt_pct,
    label,
)
from danggol.scores.lifecycle import STAGE_LABELS, STAGES
from danggol.scores.rfm import PROSPECTS

__all__ = ["FIGURES", "STAGE_COLORS", "Figure", "group_color", "group_name"]


def group_name(data: ReportData, key: str, lang: str) -> str:
    if key == NONE:
        return label("none", lang)
    if key in data.segment_map.segments:
        return data.segment_map.label(key, lang)
    return key


# --------------------------------------------------------------------------------------
# the RFM grid
# --------------------------------------------------------------------------------------


def rfm_grid(data: ReportData, lang: str) -> Figure:
    """R rows (best on top) × FM columns (best on the left), as the segment map draws them."""
    smap, size = data.segment_map, data.segment_map.size
    cell_w, cell_h, left, top = 134, 80, 58, 48
    found = {(c.r, c.fm): c for c in data.grid}
    body = [
        text(
            left + size * cell_w / 2,
            16,
            label("fm_axis", lang),
            text_anchor="middle",
            font_weight=600,
        ),
        text(
            18,
            top + size * cell_h / 2,
            label("r_axis", lang),
            text_anchor="middle",
            font_weight=600,
            transform=f"rotate(-90 18 {top + size * cell_h / 2})",
        ),
    ]
    for i in range(size):
        fm, r = size - i, size - i
        body.append(
            text(left + i * cell_w + cell_w / 2, top - 10, fm, text_anchor="middle", fill=MUTED)
        )
        body.append(
            text(left - 12, top + i * cell_h + cell_h / 2 + 4, r, text_anchor="end", fill=MUTED)
        )
    for row in range(size):
        for col in range(size):
            r, fm = size - row, size - col
            cell = found.get((r, fm))
            group = cell.group if cell else smap.group(r, fm, size)
            body.append(
                _grid_cell(
                    data,
                    lang,
                    left + col * cell_w,
                    top + row * cell_h,
                    (cell_w, cell_h),
                    r,
                    fm,
                    group,
                    cell,
                )
            )
    per_group: dict[str, list[float]] = {k: [0, 0.0] for k in smap.keys if k != PROSPECTS}
    for c in data.grid:
        per_group.setdefault(c.group, [0, 0.0])
        per_group[c.group][0] += c.customers
        per_group[c.group][1] += c.revenue
    x = left + size * cell_w + 22
    body.append(
        _legend_row(x, top - 10, "", label("customers", lang), label("revenue", lang), MUTED)
    )
    for i, (key, (n, revenue)) in enumerate(per_group.items()):
        y = top + 12 + i * 24
        legend = _legend_row(
            x,
            y,
            clip(group_name(data, key, lang), 11.5),
            fmt_int(n),
            fmt_money(revenue, data.currency, lang, compact=True),
        )
        swatch = tag(
            "rect", x=x, y=y - 11, width=13, height=13, rx=2, fill=group_color(key, smap.keys)
        )
        body.append(
            tag("g", swatch + legend, class_="rfm-legend", data_group=key, data_customers=n)
        )
    y = top + 12 + len(per_group) * 24
    body.append(tag("line", x1=x, x2=x + 262, y1=y - 16, y2=y - 16, stroke=GRID))
    total = _legend_row(
        x,
        y,
        label("total", lang),
        fmt_int(sum(c.customers for c in data.grid)),
        fmt_money(sum(c.revenue for c in data.grid), data.currency, lang, compact=True),
        weight=700,
    )
    body.append(total)
    height = max(top + size * cell_h, y) + 8
    width = x + 266
    return root(width, height, body, "rfm-grid", label("rfm", lang))


def _legend_row(
    x: float, y: float, name: str, n: str, money: str, fill: str = INK, weight: int = 400
) -> str:
    return (
        text(x + 19, y, name, fill=fill, font_weight=weight)
        + text(x + 196, y, n, text_anchor="end", fill=fill, font_weight=weight)
        + text(x + 262, y, money, text_anchor="end", fill=fill, font_weight=weight)
    )


def _grid_cell(
    data: ReportData,
    lang: str,
    x: float,
    y: float,
    box: tuple[int, int],
    r: int,
    fm: int,
    group: str,
    cell: object,
) -> str:
    w, h = box
    n = getattr(cell, "customers", 0)
    revenue = getattr(cell, "revenue", 0.0)
    fill = group_color(group, data.segment_map.keys)
    ink = ink_on(fill)
    name = group_name(data, group, lang)
    money = fmt_money(revenue, data.currency, lang, compact=True)
    people = label("people", lang, n=fmt_int(n))
    cx = x + w / 2
    parts = [
        title(f"R{r} · FM{fm} · {name}: {people}, {fmt_money(revenue, data.currency, lang)}"),
        tag("rect", x=x, y=y, width=w, height=h, fill=fill, stroke="#ffffff", stroke_width=2),
        text(x + 6, y + 14, f"R{r}·FM{fm}", fill=ink, font_size=9.5, opacity=0.7),
        text(
            cx,
            y + 35,
            clip(name, 11),
            text_anchor="middle",
            fill=ink,
            font_weight=700,
            font_size=12.5,
        ),
        text(cx, y + 54, people, text_anchor="middle", fill=ink, font_size=13),
        text(cx, y + 70, money, text_anchor="middle", fill=ink, font_size=11, opacity=0.85),
    ]
    return tag(
        "g",
        "".join(parts),
        class_="rfm-cell",
        data_r=r,
        data_fm=fm,
        data_group=group,
        data_customers=n,
        data_revenue=revenue,
    )


# --------------------------------------------------------------------------------------
# lifecycle
# --------------------------------------------------------------------------------------


def lifecycle_funnel(data: ReportData, lang: str) -> Figure:
    """One centred bar per stage, in the order potential → … → churned."""
    label_w, bar_w, value_w, row_h = 120, 470, 170, 40
    total = sum(data.funnel.values())
    biggest = max(data.funnel.values(), default=0) or 1
    body = []
    for i, stage in enumerate(STAGES):
        n = data.funnel[stage]
        y = 6 + i * row_h
        w = max(2.0, bar_w * n / biggest) if n else 0.0
        x = label_w + (bar_w - w) / 2
        share = n / total if total else 0.0
        name = STAGE_LABELS[stage][lang]
        body.append(
            tag(
                "g",
                title(f"{name}: {label('people', lang, n=fmt_int(n))} ({fmt_pct(share)})")
                + text(label_w - 12, y + 19, name, text_anchor="end", font_weight=600)
                + tag("rect", x=x, y=y, width=w, height=row_h - 10, rx=3, fill=STAGE_COLORS[stage])
                + text(
                    label_w + bar_w + 12,
                    y + 19,
                    f"{label('people', lang, n=fmt_int(n))} · {fmt_pct(share)}",
                ),
                class_="funnel-stage",
                data_stage=stage,
                data_customers=n,
            )
        )
    return root(
        label_w + bar_w + value_w,
        6 + len(STAGES) * row_h,
        body,
        "lifecycle-funnel",
        label("funnel", lang, as_of=data.as_of),
    )


def stage_shares_chart(data: ReportData, lang: str) -> Figure:
    """Stacked bars: the share of each stage at each monthly as-of date."""
    dates = list(dict.fromkeys(row["as_of"] for row in data.stage_shares))
    if not dates:
        return empty("stage-shares", label("shares", lang), lang)
    left, top, chart_h, slot = 48, 14, 240, min(60, 660 // len(dates))
    chart_w = slot * len(dates)
    body = []
    for pct in (0, 25, 50, 75, 100):
        y = top + chart_h * (1 - pct / 100)
        body.append(tag("line", x1=left, x2=left + chart_w, y1=y, y2=y, stroke=GRID))
        body.append(text(left - 8, y + 4, f"{pct}%", text_anchor="end", fill=MUTED, font_size=11))
    rows = {(row["as_of"], row["stage"]): row for row in data.stage_shares}
    fmt = "%y.%m.%d" if lang == "ko" else "%y-%m-%d"
    for i, day in enumerate(dates):
        x, bottom = left + i * slot + slot * 0.15, top + chart_h
        for stage in STAGES:
            row = rows.get((day, stage))
            if row is None:
                continue
            h = chart_h * row["share"]
            bottom -= h
            fill = STAGE_COLORS[stage]
            bits = title(
                f"{day} · {STAGE_LABELS[stage][lang]}: {label('people', lang, n=fmt_int(row['customers']))} ({fmt_pct(row['share'])})"
            )
            bits += tag("rect", x=x, y=bottom, width=slot * 0.7, height=h, fill=fill)
            if row["share"] >= 0.07:
                bits += text(
                    x + slot * 0.35,
                    bottom + h / 2 + 4,
                    fmt_pct(row["share"], 0),
                    text_anchor="middle",
                    fill=ink_on(fill),
                    font_size=10.5,
                )
            body.append(
                tag(
                    "g",
                    bits,
                    class_="share-bar",
                    data_as_of=day,
                    data_stage=stage,
                    data_customers=row["customers"],
                    data_share=row["share"],
                )
            )
        body.append(
            text(
                x + slot * 0.35,
                top + chart_h + 18,
                day.strftime(fmt),
                text_anchor="middle",
                fill=MUTED,
                font_size=10.5,
            )
        )
    legend_x = left + chart_w + 20
    for i, stage in enumerate(reversed(STAGES)):
        y = top + 8 + i * 22
        body.append(
            tag("rect", x=legend_x, y=y, width=13, height=13, rx=2, fill=STAGE_COLORS[stage])
        )
        body.append(text(legend_x + 19, y + 11, STAGE_LABELS[stage][lang]))
    return root(legend_x + 120, top + chart_h + 30, body, "stage-shares", label("shares", lang))


# --------------------------------------------------------------------------------------
# concentration
# --------------------------------------------------------------------------------------


def lorenz(data: ReportData, lang: str) -> Figure:
    """The Lorenz curve with the equality line and the top 1/10/20% cut points."""
    c = data.concentration
    if not c.lorenz:
        return empty("lorenz", label("concentration", lang), lang)
    left, top, side, right = 58, 14, 300, 150

    def at(px: float, py: float) -> tuple[float, float]:
        return left + px * side, top + side * (1 - py)

    body = []
    for pct in (0, 25, 50, 75, 100):
        x, y = at(pct / 100, pct / 100)
        body.append(tag("line", x1=left, x2=left + side, y1=y, y2=y, stroke=GRID))
        body.append(tag("line", x1=x, x2=x, y1=top, y2=top + side, stroke=GRID))
        body.append(text(left - 8, y + 4, f"{pct}%", text_anchor="end", fill=MUTED, font_size=11))
        body.append(
            text(x, top + side + 16, f"{pct}%", text_anchor="middle", fill=MUTED, font_size=11)
        )
    curve = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(px, py) for px, py in c.lorenz))
    x0, y0 = at(0, 0)
    x1, y1 = at(1, 1)
    body += [
        tag("polygon", points=f"{curve} {x1:.1f},{y1:.1f}", fill="#dbe7f3"),
        tag("line", x1=x0, y1=y0, x2=x1, y2=y1, stroke=MUTED, stroke_dasharray="5 4"),
        tag("polyline", points=curve, fill="none", stroke="#1d4e89", stroke_width=2.5),
        text(
            left + side * 0.42 - 7,
            top + side * 0.58 - 7,
            label("equality", lang),
            fill=MUTED,
            font_size=11,
            transform=f"rotate(-45 {left + side * 0.42 - 7} {top + side * 0.58 - 7})",
            text_anchor="middle",
        ),
        text(
            left + 10,
            top + 20,
            f"{label('gini', lang)} {c.gini:.3f}" if c.gini is not None else "",
            font_weight=700,
        ),
        text(left + side / 2, top + side + 36, label("x_buyers", lang), text_anchor="middle"),
        text(
            14,
            top + side / 2,
            label("y_revenue", lang),
            text_anchor="middle",
            transform=f"rotate(-90 14 {top + side / 2})",
        ),
    ]
    last_y = -math.inf
    for t in sorted(c.tops, key=lambda t: t.revenue_share or 0):
        if t.revenue_share is None:
            continue
        px, py = at(1 - t.top, 1 - t.revenue_share)
        ly = max(py + 4, last_y + 18)
        last_y = ly
        body.append(
            tag(
                "g",
                tag(
                    "circle",
                    cx=px,
                    cy=py,
                    r=4.5,
                    fill="#e8703f",
                    stroke="#ffffff",
                    stroke_width=1.5,
                )
                + tag(
                    "line",
                    x1=px + 5,
                    y1=py,
                    x2=left + side + 10,
                    y2=ly - 4,
                    stroke="#e8703f",
                    stroke_width=1,
                )
                + text(
                    left + side + 14,
                    ly,
                    f"{label('top_n', lang, p=fmt_pct(t.top, 0))} {fmt_pct(t.revenue_share)}",
                    font_size=12,
                    font_weight=600,
                ),
                class_="top-point",
                data_top=t.top,
                data_share=t.revenue_share,
            )
        )
    return root(left + side + right, top + side + 46, body, "lorenz", label("concentration", lang))


# --------------------------------------------------------------------------------------
# heatmaps: migration and cohorts
# --------------------------------------------------------------------------------------


def migration_matrix(data: ReportData, lang: str) -> Figure:
    """Customers by RFM group on the comparison date (rows) and the as-of date (columns)."""
    m = data.migration
    order = [k for k in (*data.segment_map.keys, NONE) if k in m.labels]
    order += [k for k in m.labels if k not in order]
    if not order:
        return empty("migration", label("migration", lang), lang)
    grid = m.matrix()
    names = {k: clip(group_name(data, k, lang), 12) for k in order}
    label_w, head_h, cell_w, cell_h, total_w = 150, 118, 46, 27, 62
    x0, y0 = label_w, head_h
    n = len(order)
    body = [
        text(
            x0 + n * cell_w / 2,
            14,
            label("to", lang, d=m.date_to),
            text_anchor="middle",
            font_weight=600,
        ),
        text(
            x0 - 8, y0 - 36, label("from", lang, d=m.date_from), text_anchor="end", font_weight=600
        ),
    ]
    for j, key in enumerate([*order, "total"]):
        cx = x0 + j * cell_w + cell_w / 2
        name = names.get(key, label("total", lang))
        body.append(
            text(cx + 4, y0 - 8, name, font_size=11, transform=f"rotate(-45 {cx + 4} {y0 - 8})")
        )
    col_totals = dict.fromkeys(order, 0)
    for i, a in enumerate(order):
        y = y0 + i * cell_h
        row_total = sum(grid[a].values())
        body.append(text(x0 - 8, y + cell_h / 2 + 4, names[a], text_anchor="end", font_size=11.5))
        for j, b in enumerate(order):
            count = grid[a][b]
            col_totals[b] += count
            body.append(
                heat_cell(
                    x0 + j * cell_w,
                    y,
                    cell_w,
                    cell_h,
                    count / row_total if row_total else 0.0,
                    fmt_int(count) if count else "",
                    f"{group_name(data, a, lang)} → {group_name(data, b, lang)}: {fmt_int(count)}",
                    strong=a == b,
                    class_="migration-cell",
                    data_from=a,
                    data_to=b,
                    data_customers=count,
                )
            )
        body.append(
            text(
                x0 + n * cell_w + total_w / 2,
                y + cell_h / 2 + 4,
                fmt_int(row_total),
                text_anchor="middle",
                font_weight=600,
                font_size=11,
            )
        )
    y = y0 + n * cell_h
    body.append(
        text(x0 - 8, y + cell_h / 2 + 4, label("total", lang), text_anchor="end", font_weight=600)
    )
    for j, b in enumerate(order):
        body.append(
            text(
                x0 + j * cell_w + cell_w / 2,
                y + cell_h / 2 + 4,
                fmt_int(col_totals[b]),
                text_anchor="middle",
                font_weight=600,
                font_size=11,
            )
        )
    body.append(
        text(
            x0 + n * cell_w + total_w / 2,
            y + cell_h / 2 + 4,
            fmt_int(m.population),
            text_anchor="middle",
            font_weight=700,
            font_size=11,
            class_="migration-population",
        )
    )
    return root(
        x0 + n * cell_w + total_w, y + cell_h + 6, body, "migration", label("migration", lang)
    )


def cohort_heatmap(data: ReportData, lang: str) -> Figure:
    """Retention by cohort (rows, oldest on top) and months since the first purchase."""
    co = data.cohorts
    if not co.cohorts:
        return empty("cohorts", label("cohorts", lang), lang)
    width = max(len(row) for row in co.retention)
    label_w, head_h, cell_w, cell_h = 148, 40, 50, 26
    later = [v for row in co.retention for v in row[1:] if v is not None]
    scale = max(later, default=0.0) or 1.0
    body = [text(label_w - 10, 18, label("cohort", lang), text_anchor="end", font_weight=600)]
    for k in range(width):
        body.append(
            text(
                label_w + k * cell_w + cell_w / 2,
                head_h - 10,
                f"M+{k}",
                text_anchor="middle",
                fill=MUTED,
                font_size=11,
            )
        )
    for i, cohort in enumerate(co.cohorts):
        y = head_h + i * cell_h
        body.append(
            text(
                label_w - 10,
                y + cell_h / 2 + 4,
                f"{cohort} ({fmt_int(co.sizes[i])})",
                text_anchor="end",
                font_size=11.5,
            )
        )
        for k, value in enumerate(co.retention[i]):
            if value is None:
                continue
            tip = f"{cohort} M+{k}: {fmt_pct(value)} ({fmt_int(co.customers[i][k] or 0)}/{fmt_int(co.sizes[i])})"
            t = 1.0 if k == 0 else value / scale
            body.append(
                heat_cell(
                    label_w + k * cell_w,
                    y,
                    cell_w,
                    cell_h,
                    t,
                    fmt_pct(value, 0 if k == 0 else 1),
                    tip,
                    class_="cohort-cell",
                    data_cohort=cohort,
                    data_offset=k,
                    data_retention=value,
                )
            )
    return root(
        label_w + width * cell_w + 6,
        head_h + len(co.cohorts) * cell_h + 6,
        body,
        "cohorts",
        label("cohorts", lang),
    )


# --------------------------------------------------------------------------------------
# affinity
# --------------------------------------------------------------------------------------


def affinity_bars(data: ReportData, lang: str) -> Figure:
    """The top rules as bars of their lift, with the line lift = 1 (independence)."""
    rules = data.affinity.pairs
    if not rules:
        return root(
            480,
            40,
            [text(12, 24, label("no_rules", lang), fill=MUTED)],
            "affinity",
            label("affinity", lang),
        )
    label_w, bar_w, row_h, top = 330, 300, 26, 22
    biggest = max(max(r.lift for r in rules), 1.0)
    body = [
        text(
            label_w + bar_w / 2,
            14,
            label("lift", lang),
            text_anchor="middle",
            fill=MUTED,
            font_size=11,
        )
    ]
    for i, r in enumerate(rules):
        y = top + i * row_h
        a = clip(r.antecedent_name or r.antecedent, 12)
        b = clip(r.consequent_name or r.consequent, 12)
        w = bar_w * r.lift / biggest
        body.append(
            tag(
                "g",
                title(
                    f"{a} → {b}: {label('lift', lang)} {r.lift:.2f}, {label('confidence', lang)} {fmt_pct(r.confidence)}"
                )
                + text(label_w - 10, y + row_h / 2 + 4, f"{a} → {b}", text_anchor="end")
                + tag("rect", x=label_w, y=y + 4, width=w, height=row_h - 8, rx=2, fill="#3d8fc6")
                + text(
                    label_w + w + 6,
                    y + row_h / 2 + 4,
                    f"{r.lift:.2f}",
                    font_size=11,
                    font_weight=600,
                ),
                class_="affinity-rule",
                data_antecedent=r.antecedent,
                data_consequent=r.consequent,
                data_lift=r.lift,
            )
        )
    one = label_w + bar_w / biggest
    body.append(
        tag(
            "line",
            x1=one,
            x2=one,
            y1=top,
            y2=top + len(rules) * row_h,
            stroke=INK,
            stroke_dasharray="3 3",
        )
    )
    body.append(
        text(
            one, top + len(rules) * row_h + 14, "1", text_anchor="middle", fill=MUTED, font_size=11
        )
    )
    return root(
        label_w + bar_w + 60,
        top + len(rules) * row_h + 20,
        body,
        "affinity",
        label("affinity", lang),
    )


#: figure name (and PNG file name) → how to draw it
FIGURES: dict[str, Callable[[ReportData, str], Figure]] = {
    "rfm-grid": rfm_grid,
    "lifecycle-funnel": lifecycle_funnel,
    "stage-shares": stage_shares_chart,
    "lorenz": lorenz,
    "migration": migration_matrix,
    "cohorts": cohort_heatmap,
    "affinity": affinity_bars,
}
