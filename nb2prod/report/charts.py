"""Charts of the runs report as inline SVG, drawn here in Python: no charting library, no JavaScript.

Why no library: the page must open offline, be small enough to e-mail with a hundred runs, and show
the same thing in every browser and in a screenshot. A scatter of a metric against a parameter is
a few hundred bytes of SVG per run; a vendored Chart.js or Vega bundle is 200 KB to 800 KB before
the first point, needs JavaScript to draw (nothing in a mail client's preview or with scripts
blocked) and is one more licence and version to keep up. Each point carries a ``<title>`` (the
browser's tooltip) and links to its run's details on the page.

Every text that goes into the SVG (metric and parameter names, values, run ids) has its control
characters and lone surrogates shown escaped (``nb2prod.text.printable``) and is HTML-escaped here;
the functions return ``markupsafe.Markup`` so the page template does not escape it twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any, Protocol

from markupsafe import Markup

from ..text import printable

WIDTH, HEIGHT = 420, 250
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 12, 44
#: The line through the means (points take their colour from the page's styles: classes pt-run, pt-best, pt-other).
LINE = "#93c5fd"


@dataclass(frozen=True)
class Point:
    """One run on a chart: ``x`` a number, a timestamp (seconds) or a category; ``y`` a finite number."""

    x: Any
    y: float
    tip: tuple[str, ...]  # the tooltip's lines: run id and values
    href: str | None = None  # where a click goes (the run's details)
    kind: str = "run"  # "run" | "best" | "other" (a run outside the report, in the history)


def chart(points: Sequence[Point], *, x_label: str, y_label: str, x_kind: str, connect: bool = False) -> Markup:
    """An SVG scatter of ``points``; ``x_kind`` is ``number``, ``category`` or ``time``.

    Numbers spanning two or more orders of magnitude (learning rates) get a logarithmic axis.
    ``connect`` draws a line through the points in x order (history); otherwise a line joins the
    mean of each x (repeated runs of one value).
    """
    ys = [p.y for p in points]
    y_scale = _Linear(min(ys), max(ys)) if ys else _Linear(0, 1)
    if x_kind == "category":
        categories = list(dict.fromkeys(sorted((str(p.x) for p in points), key=_natural)))
        x_scale: _Scale = _Category(categories)
    elif x_kind == "time":
        x_scale = _Time(min(p.x for p in points), max(p.x for p in points)) if points else _Time(0, 1)
    else:
        xs = [float(p.x) for p in points]
        low, high = (min(xs), max(xs)) if xs else (0.0, 1.0)
        x_scale = _Log(low, high) if low > 0 and high / low >= 100 else _Linear(low, high)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(value: Any) -> float:
        return LEFT + x_scale.position(value) * plot_w

    def py(value: float) -> float:
        return TOP + (1 - y_scale.position(value)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart-svg"'
        f' aria-label="{_text(y_label)} against {_text(x_label)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#e5e7eb"/>',
    ]
    for value, text in y_scale.ticks():
        y = py(value)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#f1f5f9"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_text(text)}</text>')
    for value, text in x_scale.ticks():
        x = px(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="#9ca3af"/>')
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" class="tick">{_text(_cut(text, 14))}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" class="axis">{_text(_cut(x_label, 48))}</text>')
    parts.append(
        f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" class="axis">'
        f"{_text(_cut(y_label, 30))}</text>"
    )
    line = _connect(points, px, py) if connect else _means(points, px, py)
    if len(line) > 1:
        parts.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="1.5" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in line)}"/>')
    for point in sorted(points, key=lambda p: {"other": 0, "run": 1, "best": 2}[p.kind]):  # the best drawn last, on top
        radius = {"best": 5.5, "other": 3.5}.get(point.kind, 4)
        centre = f'cx="{px(point.x):.1f}" cy="{py(point.y):.1f}" r="{radius}"'
        tip = escape("\n".join(printable(line) for line in point.tip))
        circle = f'<circle class="pt-{point.kind}" {centre}><title>{tip}</title></circle>'
        parts.append(f'<a href="{escape(point.href)}">{circle}</a>' if point.href else circle)
    parts.append("</svg>")
    return Markup("".join(parts))


def _connect(points: Sequence[Point], px: Any, py: Any) -> list[tuple[float, float]]:
    return [(px(p.x), py(p.y)) for p in sorted(points, key=lambda p: p.x)]


def _means(points: Sequence[Point], px: Any, py: Any) -> list[tuple[float, float]]:
    """The mean of the runs at each x, in x order (a line only helps when some x has several runs or there are several x)."""
    groups: dict[float, list[float]] = {}
    for point in points:
        if point.kind != "other":
            groups.setdefault(px(point.x), []).append(point.y)
    if not any(len(ys) > 1 for ys in groups.values()):
        return []
    return [(x, py(sum(ys) / len(ys))) for x, ys in sorted(groups.items())]


class _Scale(Protocol):
    """An axis: where a value sits (0 to 1 along the axis) and which ticks to draw, with their labels."""

    def position(self, value: Any) -> float: ...

    def ticks(self) -> list[tuple[Any, str]]: ...


class _Linear:
    """A linear axis with a little room around the data and 3 to 6 round ticks."""

    def __init__(self, low: float, high: float) -> None:
        if high == low:
            pad = abs(low) * 0.1 or 1.0
            low, high = low - pad, high + pad
        else:
            pad = (high - low) * 0.06
            low, high = low - pad, high + pad
        self.step = _nice_step((high - low) / 5)
        self.low, self.high = low, high

    def position(self, value: Any) -> float:
        return (float(value) - self.low) / (self.high - self.low)

    def ticks(self) -> list[tuple[Any, str]]:
        first = math.ceil(self.low / self.step)
        last = math.floor(self.high / self.step)
        return [(i * self.step, format_number(i * self.step)) for i in range(first, last + 1)]


class _Log:
    """A base-10 logarithmic axis, ticks at the powers of ten."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = math.log10(low) - 0.15, math.log10(high) + 0.15

    def position(self, value: Any) -> float:
        return (math.log10(float(value)) - self.low) / (self.high - self.low)

    def ticks(self) -> list[tuple[Any, str]]:
        return [(10.0**k, format_number(10.0**k)) for k in range(math.ceil(self.low), math.floor(self.high) + 1)]


class _Category:
    """Evenly spaced categories (strings, booleans, lists), in natural order."""

    def __init__(self, categories: list[str]) -> None:
        self.categories = categories

    def position(self, value: Any) -> float:
        return (self.categories.index(str(value)) + 0.5) / len(self.categories)

    def ticks(self) -> list[tuple[Any, str]]:
        every = max(1, math.ceil(len(self.categories) / 8))  # at most 8 labels: the others are in the tooltips
        return [(c, c) for i, c in enumerate(self.categories) if i % every == 0]


class _Time(_Linear):
    """Seconds since the epoch, ticks labelled as dates or times of day (UTC) depending on the span."""

    def ticks(self) -> list[tuple[Any, str]]:
        span = self.high - self.low
        count = 4
        values = [self.low + (self.high - self.low) * (i + 0.5) / count for i in range(count)]
        fmt = "%H:%M:%S" if span < 600 else "%H:%M" if span < 86_400 else "%m-%d %H:%M" if span < 7 * 86_400 else "%Y-%m-%d"
        return [(v, datetime.fromtimestamp(v, tz=timezone.utc).strftime(fmt)) for v in values]


def _nice_step(rough: float) -> float:
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= rough:
            return factor * power
    return 10 * power


def format_number(value: float) -> str:
    """A short tick label: ``0.25``, ``1e-05``, ``1200``; no ``-0``."""
    if abs(value) < 1e-12:
        return "0"
    return f"{value:.4g}"


def _natural(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def _text(text: str) -> str:
    """Text for the SVG: control characters shown escaped, then HTML-escaped."""
    return escape(printable(text))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
