"""SVG chart primitives: colours, escaped elements, the figure frame, text measure.

What every chart of the report (:mod:`danggol.outputs.report_svg`) and the dashboard draw with.
Text goes through :func:`text`, which escapes it, and attribute values through :func:`tag`,
which escapes them too, so a data value can never become markup.
"""

from __future__ import annotations

import unicodedata
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
