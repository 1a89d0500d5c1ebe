"""SVG chart primitives: colours, escaped elements, the figure frame, text measure, linear
scales and their axes, bars, lines, dots, heat cells and legends.

What every chart of the report (:mod:`danggol.outputs.charts.shop`,
:mod:`danggol.outputs.charts.predictions`) draws with; the charts know their data, the
primitives know only coordinates. Text goes through :func:`text`, which escapes it, and
attribute values through :func:`tag`, which escapes them too, so a data value can never
become markup.

>>> y = Scale(0, 10, 200, 0)
>>> y(2.5), y.invert(100)
(150.0, 5.0)
>>> nice_ticks(0.83), nice_ticks(37)
([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], [0.0, 10.0, 20.0, 30.0, 40.0])
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from danggol.analytics import NONE
from danggol.outputs.report_data import esc, label
from danggol.scores.rfm import PROSPECTS

INK = "#1f2933"
MUTED = "#5f6b7a"
GRID = "#d9dee4"

#: colours of the default RFM groups (a custom map's other groups take PALETTE in order)
GROUP_COLORS = {
    "champions": "#1a7f4b",
    "loyal": "#4fae6a",
    "potential_loyalist": "#a8d8a0",
    "new": "#8cc8e8",
    "promising": "#3d8fc6",
    "need_attention": "#f6d36b",
    "about_to_sleep": "#f3a85c",
    "at_risk": "#e8703f",
    "cant_lose": "#c2342b",
    "hibernating": "#b9bec6",
    "lost": "#7d8590",
    PROSPECTS: "#e6e9ed",
    NONE: "#f4f5f7",
}
PALETTE = ("#6a51a3", "#9e9ac8", "#d4b9da", "#c994c7", "#dd3497", "#41b6c4", "#225ea8")
STAGE_COLORS = {
    "potential": "#c7ced8",
    "new": "#8cc8e8",
    "active": "#3d8fc6",
    "loyal": "#1d4e89",
    "churned": "#e8703f",
}


@dataclass(frozen=True)
class Figure:
    """One chart: its SVG markup and its size in CSS pixels."""

    svg: str
    width: int
    height: int


# --------------------------------------------------------------------------------------
# primitives
# --------------------------------------------------------------------------------------


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return esc(v)


def tag(name: str, content: str = "", /, **attrs: object) -> str:
    """``<name attrs>content</name>``; ``content`` is markup, attribute values are escaped.

    A trailing ``_`` is dropped from an attribute name (``class_``) and ``_`` becomes ``-``
    (``font_size``, ``data_customers``); None leaves the attribute out."""
    parts = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{esc(v) if k.startswith("data_") else _value(v)}"'
        for k, v in attrs.items()
        if v is not None
    )
    return f"<{name}{parts}>{content}</{name}>" if content else f"<{name}{parts}/>"


def text(x: float, y: float, content: object, /, **attrs: object) -> str:
    """A ``<text>`` with its content escaped."""
    return tag("text", esc(content), x=float(x), y=float(y), **attrs)


def title(content: object) -> str:
    """A tooltip (``<title>``) for the enclosing element, escaped."""
    return tag("title", esc(content))


def root(width: int, height: int, body: list[str], name: str, caption: str) -> Figure:
    svg = tag(
        "svg",
        title(caption) + "".join(body),
        width=width,
        height=height,
        viewBox=f"0 0 {width} {height}",
        role="img",
        aria_label=caption,
        class_=f"chart {name}",
        font_size=12,
        fill=INK,
    )
    return Figure(svg, width, height)


def empty(name: str, caption: str, lang: str) -> Figure:
    return root(480, 60, [text(12, 34, label("no_data", lang), fill=MUTED)], name, caption)


def width_em(s: str) -> float:
    """Rough width of ``s`` in em: wide (Hangul, CJK) characters 1, others 0.58."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in s)


def clip(s: str, em: float) -> str:
    """``s`` cut with … to fit ``em`` em."""
    if width_em(s) <= em:
        return s
    while s and width_em(s) > em - 1:
        s = s[:-1]
    return s + "…"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def ink_on(fill: str) -> str:
    """Dark or white text, whichever reads better on ``fill``."""
    r, g, b = _rgb(fill)
    return INK if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def blend(t: float, low: str = "#f3f7fb", high: str = "#1d4e89") -> str:
    """The colour a fraction ``t`` (0–1) of the way from ``low`` to ``high``."""
    t = min(1.0, max(0.0, t))
    a, b = _rgb(low), _rgb(high)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def group_color(key: str, order: tuple[str, ...]) -> str:
    if key in GROUP_COLORS:
        return GROUP_COLORS[key]
    return PALETTE[order.index(key) % len(PALETTE)] if key in order else PALETTE[-1]


def heat_cell(
    x: float,
    y: float,
    w: float,
    h: float,
    t: float,
    shown: str,
    tip: str,
    *,
    strong: bool = False,
    **attrs: object,
) -> str:
    """A cell of a heat map: its colour a fraction ``t`` of the way along :func:`blend`, the
    text ``shown`` in it (an empty ``shown`` is an empty, pale cell), a tooltip, and with
    ``strong`` an outline; ``attrs`` go on the enclosing ``<g>``."""
    fill = blend(t) if shown else "#fafbfc"
    parts = title(tip) + tag("rect", x=x, y=y, width=w, height=h, fill=fill, stroke="#ffffff")
    if strong and shown:
        parts += tag(
            "rect",
            x=x + 1,
            y=y + 1,
            width=w - 2,
            height=h - 2,
            fill="none",
            stroke=INK,
            stroke_width=1.5,
        )
    if shown:
        parts += text(
            x + w / 2, y + h / 2 + 4, shown, text_anchor="middle", fill=ink_on(fill), font_size=11
        )
    return tag("g", parts, **attrs)


# --------------------------------------------------------------------------------------
# scales and axes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """A linear map from data values (``lo`` … ``hi``) to pixels (``start`` … ``end``); a
    vertical scale has ``start`` below ``end`` (pixels grow downwards)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.hi == self.lo:
            return (self.start + self.end) / 2
        return self.start + (value - self.lo) * (self.end - self.start) / (self.hi - self.lo)

    def invert(self, pixel: float) -> float:
        if self.end == self.start:
            return self.lo
        return self.lo + (pixel - self.start) * (self.hi - self.lo) / (self.end - self.start)


def nice_ticks(hi: float, count: int = 5) -> list[float]:
    """Ticks 0, s, 2s, … up to the first at or above ``hi``, with a step s of 1, 2, 2.5 or 5
    times a power of ten giving about ``count`` steps; ``[0, 1]`` when ``hi`` is not above 0."""
    if not hi > 0 or not math.isfinite(hi):
        return [0.0, 1.0]
    raw = hi / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    steps = math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def y_axis(
    scale: Scale, ticks: Sequence[float], x0: float, x1: float, fmt: Callable[[float], str]
) -> list[str]:
    """A grid line from ``x0`` to ``x1`` at each tick, its label left of ``x0``."""
    out = []
    for v in ticks:
        y = scale(v)
        out.append(tag("line", x1=x0, x2=x1, y1=y, y2=y, stroke=GRID))
        out.append(text(x0 - 8, y + 4, fmt(v), text_anchor="end", fill=MUTED, font_size=11))
    return out


def x_axis(
    scale: Scale,
    ticks: Sequence[float],
    y0: float,
    y1: float,
    fmt: Callable[[float], str],
    *,
    grid: bool = True,
) -> list[str]:
    """At each tick a grid line from ``y0`` to ``y1`` (with ``grid``) and its label below ``y1``."""
    out = []
    for v in ticks:
        x = scale(v)
        if grid:
            out.append(tag("line", x1=x, x2=x, y1=y0, y2=y1, stroke=GRID))
        out.append(text(x, y1 + 16, fmt(v), text_anchor="middle", fill=MUTED, font_size=11))
    return out


def axis_title(x: float, y: float, words: str, *, vertical: bool = False) -> str:
    """An axis' name centred on (x, y); ``vertical`` turns it to read upwards."""
    turn = f"rotate(-90 {x:g} {y:g})" if vertical else None
    return text(x, y, words, text_anchor="middle", fill=MUTED, font_size=11.5, transform=turn)


# --------------------------------------------------------------------------------------
# marks
# --------------------------------------------------------------------------------------


def bar(x: float, y: float, w: float, h: float, fill: str, tip: str, **attrs: object) -> str:
    """A bar (its top-left corner at x, y) with a tooltip; ``attrs`` go on its ``<g>``."""
    rect = tag("rect", x=x, y=y, width=max(w, 0.0), height=max(h, 0.0), fill=fill)
    return tag("g", title(tip) + rect, **attrs)


def line(
    points: Sequence[tuple[float, float]],
    stroke: str,
    *,
    width: float = 2.0,
    dash: str | None = None,
    **attrs: object,
) -> str:
    """A polyline through ``points``; ``dash`` like ``"5 4"``."""
    return tag(
        "polyline",
        points=" ".join(f"{x:.1f},{y:.1f}" for x, y in points),
        fill="none",
        stroke=stroke,
        stroke_width=width,
        stroke_dasharray=dash,
        stroke_linejoin="round",
        **attrs,
    )


def dot(x: float, y: float, fill: str, tip: str, *, r: float = 4.0, **attrs: object) -> str:
    """A point with a white rim and a tooltip; ``attrs`` go on its ``<g>``."""
    mark = tag("circle", cx=x, cy=y, r=r, fill=fill, stroke="#ffffff", stroke_width=1.5)
    return tag("g", title(tip) + mark, **attrs)


def legend(x: float, y: float, items: Sequence[tuple[str, str, str]]) -> tuple[str, float]:
    """A row of keys from (x, y): each ``(words, colour, kind)`` with kind ``bar`` (a square),
    ``line`` or ``dash`` (a short line); returns the markup and the x where it ends."""
    out = []
    for words, colour, kind in items:
        if kind == "bar":
            out.append(tag("rect", x=x, y=y - 10, width=12, height=12, rx=2, fill=colour))
        else:
            out.append(
                tag(
                    "line",
                    x1=x,
                    x2=x + 16,
                    y1=y - 4,
                    y2=y - 4,
                    stroke=colour,
                    stroke_width=2.5,
                    stroke_dasharray="5 3" if kind == "dash" else None,
                )
            )
        out.append(text(x + 21, y, words, font_size=11.5))
        x += 21 + width_em(words) * 11.5 + 18
    return "".join(out), x
