"""Inline SVG charts for the HTML reports: pure functions, numbers in, markup out.

    share_bars(["< 1", "[1, 2)", ">= 2"], [0.3, 0.4, 0.3], [0.1, 0.4, 0.5], title=...)
    line_chart(["2019-01", "2019-02"], [Series("PSI", [0.02, 0.31])], threshold=0.2, ...)
    hbar_chart(["amount", "age"], [0.31, 0.02], threshold=0.2, title=...)

Every chart is one ``<svg role="img">`` with a ``<title>`` (read by screen
readers), a visible title and axis labels, and a ``<title>`` per bar or
point (the browser shows it as a tooltip). Series differ by marker and line
style as well as colour. Missing values (``None``, NaN, infinity) draw
nothing: a gap in a line, an empty bar slot. Every text is escaped, so
column names and categories from users' files render as text. No script,
no external reference: the markup works under ``default-src 'none'``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import NamedTuple

__all__ = ["CHART_CSS", "DASH", "Series", "compact", "hbar_chart", "line_chart", "nice_ticks",
           "share_bars"]

#: What a missing or non-finite value shows as.
DASH = "\N{EN DASH}"
WIDTH = 640
FONT_PX = 11
CHAR_PX = 6.4  # average advance of an 11 px sans-serif character, for layout
#: Marker shape of the first, second, ... series of a line chart (CSS gives colour, dash).
MARKERS = ("circle", "square", "diamond")

#: The charts' colours and strokes; the page that embeds them includes this once.
CHART_CSS = """
svg.chart text { fill: #6b7280; }
svg.chart text.title { fill: #111827; font-weight: 600; font-size: 13px; }
svg.chart text.key, svg.chart text.name { fill: #374151; }
svg.chart text.value { fill: #111827; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.chart .e { text-anchor: end; } svg.chart .m { text-anchor: middle; }
svg.chart .grid { stroke: #e5e7eb; } svg.chart .axis { stroke: #6b7280; }
svg.chart .ref { fill: #cbd5e1; stroke: #475569; } svg.chart .cur { fill: #2563eb; }
svg.chart .over { fill: #dc2626; } svg.chart .zone { fill: #dc2626; fill-opacity: .05; }
svg.chart .threshold { stroke: #dc2626; stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.chart .l0, svg.chart .l1, svg.chart .l2 { fill: none; stroke-width: 2; }
svg.chart .l0 { stroke: #2563eb; } svg.chart .l1 { stroke: #7c3aed; stroke-dasharray: 6 4; }
svg.chart .l2 { stroke: #0f766e; stroke-dasharray: 2 3; }
svg.chart .m0, svg.chart .m1, svg.chart .m2, svg.chart .mx { stroke-width: 1.5; }
svg.chart .m0 { fill: #2563eb; stroke: #2563eb; } svg.chart .m1 { fill: #fff; stroke: #7c3aed; }
svg.chart .m2 { fill: #fff; stroke: #0f766e; } svg.chart .mx { fill: #dc2626; stroke: #dc2626; }
"""


class Series(NamedTuple):
    """One line of a line chart: a name for the legend and a value per x label."""

    name: str
    values: Sequence[float | None]


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def compact(value: float | None) -> str:
    """A short label for a number: ``12.3k``, ``1.2M``, ``0.0123``; an en dash when missing.

    Examples
    --------
    >>> [compact(v) for v in (0.01234, 12345.0, -2.5e6)]
    ['0.0123', '12.3k', '-2.5M']
    """
    v = _finite(value)
    if v is None:
        return DASH
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:.3g}{suffix}"
    return f"{v:.3g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``, about ``count`` intervals.

    Examples
    --------
    >>> nice_ticks(0.0, 0.37)
    [0.0, 0.1, 0.2, 0.3, 0.4]
    >>> nice_ticks(2.0, 2.0)
    [1.5, 2.0, 2.5]
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high < low:
        low, high = high, low
    if high == low:
        pad = 0.5 if low == 0 else abs(low) * 0.25
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    start = math.floor(low / step + 1e-9) * step
    intervals = math.ceil((high - start) / step - 1e-9)
    return [round(start + i * step, 12) for i in range(intervals + 1)]


def _tick_text(step: float, percent: bool) -> Callable[[float], str]:
    scale = 100.0 if percent else 1.0
    decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9)) if step > 0 else 0
    if step > 0 and round(step * scale, decimals) != round(step * scale, decimals + 1):
        decimals += 1
    suffix = "%" if percent else ""

    def text(value: float) -> str:
        return f"{value * scale:.{decimals}f}{suffix}"

    return text


class _Frame(NamedTuple):
    """The plot area inside the SVG and the y scale."""

    left: float
    top: float
    right: float
    bottom: float
    y_low: float
    y_high: float

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1.0
        clipped = min(max(value, self.y_low), self.y_high)
        return self.bottom - (clipped - self.y_low) / span * (self.bottom - self.top)

    @property
    def width(self) -> float:
        return self.right - self.left


def _open(title: str, width: float, height: float, label: str) -> list[str]:
    return [f'<svg class="chart" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
            f'height="{_n(height)}" role="img" font-size="{FONT_PX}">',
            f"<title>{_e(label)}</title>",
            f'<text class="title" x="0" y="14">{_e(title)}</text>']


def _y_axis(frame: _Frame, ticks: list[float], label: str, percent: bool) -> list[str]:
    text = _tick_text(ticks[1] - ticks[0] if len(ticks) > 1 else 1.0, percent)
    left, right, x = _n(frame.left), _n(frame.right), _n(frame.left - 6)
    parts = []
    for tick in ticks:
        y = _n(frame.y(tick))
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y}" y2="{y}"/>'
                     f'<text class="e" x="{x}" y="{y}" dy=".35em">{text(tick)}</text>')
    middle = _n((frame.top + frame.bottom) / 2)
    parts.append(f'<text class="m" transform="translate(12 {middle}) rotate(-90)">'
                 f"{_e(label)}</text>")
    bottom = _n(frame.bottom)
    parts.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    return parts


class _Layout(NamedTuple):
    """How x labels fit: every how-many-th label is drawn, slanted or not, extra margin."""

    every: int
    slant: bool
    room: float


def _layout(labels: Sequence[str], plot_width: float) -> _Layout:
    slot = plot_width / max(len(labels), 1)
    longest = min(max((len(s) for s in labels), default=0), 16) * CHAR_PX
    if longest + 4 <= slot:
        return _Layout(1, False, 0.0)
    if len(labels) <= 30:
        return _Layout(max(1, math.ceil(12 / slot)), True, longest * 0.58)
    return _Layout(max(1, math.ceil((longest + 8) / slot)), False, 0.0)


def _x_labels(frame: _Frame, labels: Sequence[str], centres: Sequence[float],
              x_label: str, height: float) -> list[str]:
    """Labels under the axis at ``centres``, thinned or slanted to fit, and the axis title."""
    layout = _layout(labels, frame.width)
    parts = []
    y = frame.bottom + 14
    for i, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if i % layout.every or not label:
            continue
        shown = label if len(label) <= 16 else label[:15] + "…"
        if layout.slant:
            parts.append(f'<text class="e" transform="translate({_n(x + 3)} {_n(y - 4)}) '
                         f'rotate(-35)">{_e(shown)}</text>')
        else:
            parts.append(f'<text class="m" x="{_n(x)}" y="{_n(y)}">{_e(shown)}</text>')
    parts.append(f'<text class="m" x="{_n((frame.left + frame.right) / 2)}" '
                 f'y="{_n(height - 4)}">{_e(x_label)}</text>')
    return parts


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    """``items`` are (swatch markup at the origin, name); laid out left to right."""
    parts = []
    for swatch, name in items:
        parts.append(f'<g transform="translate({_n(x)} {_n(y)})">{swatch}'
                     f'<text class="key" x="22" y="4">{_e(name)}</text></g>')
        x += 34 + len(name) * CHAR_PX
    return parts


def _marker(kind: str, x: float, y: float, cls: str, size: float = 3.5) -> str:
    if kind == "square":
        return (f'<rect class="{cls}" x="{_n(x - size)}" y="{_n(y - size)}" '
                f'width="{_n(2 * size)}" height="{_n(2 * size)}"/>')
    if kind == "diamond":
        s = size * 1.3
        return (f'<path class="{cls}" d="M{_n(x)} {_n(y - s)}L{_n(x + s)} {_n(y)}L{_n(x)} '
                f'{_n(y + s)}L{_n(x - s)} {_n(y)}Z"/>')
    if kind == "triangle":
        s = size * 1.5
        return (f'<path class="{cls}" d="M{_n(x)} {_n(y - s)}L{_n(x + s)} {_n(y + s * 0.8)}'
                f'L{_n(x - s)} {_n(y + s * 0.8)}Z"/>')
    return f'<circle class="{cls}" cx="{_n(x)}" cy="{_n(y)}" r="{_n(size)}"/>'


def _swatch(cls: str) -> str:
    return f'<rect class="{cls}" x="0" y="-5" width="16" height="10"/>'


def share_bars(
    labels: Sequence[str], reference: Sequence[float | None], current: Sequence[float | None],
    *, title: str, x_label: str, current_name: str = "current",
    edges: Sequence[str] | None = None, axis_labels: Sequence[str] | None = None,
) -> str:
    """Reference and current shares side by side per bin or category.

    ``labels`` name each bin in its tooltip and, by default, under the bars;
    ``axis_labels`` (one per bin, ``""`` for none) replace them under the
    bars; ``edges`` (one fewer than the bins) label the bin boundaries
    instead, as a numeric axis does. Reference bars are outlined grey,
    current bars solid blue. Shares are fractions; the axis shows percent.
    """
    n = len(labels)
    ref = [_finite(v) for v in reference] + [None] * max(0, n - len(reference))
    cur = [_finite(v) for v in current] + [None] * max(0, n - len(current))
    tick_labels = list(edges if edges is not None else axis_labels or labels)
    top, left, right = 44.0, 52.0, WIDTH - 12.0
    room = _layout(tick_labels, right - left).room
    height = 250.0 + room
    high = max([v for v in ref + cur if v is not None] + [0.01])
    ticks = nice_ticks(0.0, min(high * 1.05, 1.0), 4)
    frame = _Frame(left, top, right, height - 42 - room, ticks[0], ticks[-1])
    parts = _open(title, WIDTH, height, f"{title}: reference and {current_name} share per bin")
    parts += _legend([(_swatch("ref"), "reference"), (_swatch("cur"), current_name)], left, 30)
    parts += _y_axis(frame, ticks, "share of rows", percent=True)
    slot = frame.width / max(n, 1)
    bar = max(min(slot * 0.38, 28.0), 1.0)
    for i in range(n):
        x0 = frame.left + i * slot + slot / 2 - bar
        tip = f"{labels[i]}: reference {_percent(ref[i])}, {current_name} {_percent(cur[i])}"
        parts.append(f'<g class="bin"><title>{_e(tip)}</title>')
        for offset, value, cls in ((0.0, ref[i], "ref"), (bar, cur[i], "cur")):
            if value is None:
                continue
            y = frame.y(value)
            parts.append(f'<rect class="{cls}" x="{_n(x0 + offset)}" y="{_n(y)}" '
                         f'width="{_n(bar)}" height="{_n(frame.bottom - y)}"/>')
        parts.append("</g>")
    if edges is not None:
        boundaries = [frame.left + (i + 1) * slot for i in range(len(edges))]
        parts += _x_labels(frame, list(edges), boundaries, x_label, height)
    else:
        centres = [frame.left + (i + 0.5) * slot for i in range(n)]
        parts += _x_labels(frame, tick_labels, centres, x_label, height)
    parts.append("</svg>")
    return "".join(parts)


def _percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def line_chart(
    labels: Sequence[str], series: Sequence[Series], *, title: str, y_label: str,
    x_label: str, threshold: float | None = None, value_text: Callable[[float], str] = compact,
    zero_based: bool = False,
) -> str:
    """One line per series over ``labels``, with markers; gaps where a value is missing.

    Series differ by colour, dash and marker (filled circle, hollow square,
    hollow diamond). With ``threshold``: a dashed red line, the area above
    it tinted, and points above it drawn as red triangles.
    """
    values = [v for s in series for v in map(_finite, s.values) if v is not None]
    if threshold is not None:
        values.append(threshold * 1.15)
    low = 0.0 if zero_based or not values else min(values)
    high = max(values) if values else 1.0
    if not zero_based and values:
        pad = (high - low) * 0.08 or 0.05
        low, high = low - pad, high + pad
    ticks = nice_ticks(low, high, 4)
    top, left, right = 44.0, 52.0, WIDTH - 12.0
    room = _layout(labels, right - left).room
    height = 240.0 + room
    frame = _Frame(left, top, right, height - 42 - room, ticks[0], ticks[-1])
    parts = _open(title, WIDTH, height, f"{title} ({y_label} per {x_label})")
    legend = []
    for i, s in enumerate(series):
        k = i % len(MARKERS)
        legend.append((f'<line class="l{k}" x1="0" x2="16" y1="0" y2="0"/>'
                       + _marker(MARKERS[k], 8, 0, f"m{k}"), s.name))
    if threshold is not None:
        legend.append(('<line class="threshold" x1="0" x2="16" y1="0" y2="0"/>'
                       + _marker("triangle", 8, 0, "mx"), f"above threshold {threshold:g}"))
    parts += _legend(legend, left, 30)
    parts += _y_axis(frame, ticks, y_label, percent=False)
    slot = frame.width / max(len(labels), 1)
    centres = [frame.left + (i + 0.5) * slot for i in range(len(labels))]
    if threshold is not None and frame.y_low <= threshold <= frame.y_high:
        y = frame.y(threshold)
        parts.append(f'<rect class="zone" x="{_n(frame.left)}" y="{_n(frame.top)}" '
                     f'width="{_n(frame.width)}" height="{_n(y - frame.top)}"/>'
                     f'<line class="threshold" x1="{_n(frame.left)}" x2="{_n(frame.right)}" '
                     f'y1="{_n(y)}" y2="{_n(y)}"><title>threshold {threshold:g}</title></line>')
    for i, s in enumerate(series):
        k = i % len(MARKERS)
        points = [_finite(v) for v in s.values]
        parts += _polyline(centres, points, frame, f"l{k}")
        for x, label, value in zip(centres, labels, points, strict=False):
            if value is None:
                continue
            above = threshold is not None and value > threshold
            tip = f"{s.name}, {label}: {value_text(value)}"
            if above:
                tip += " (above threshold)"
            shape = (_marker("triangle", x, frame.y(value), "mx", 4.0) if above
                     else _marker(MARKERS[k], x, frame.y(value), f"m{k}"))
            cls = "point above" if above else "point"
            parts.append(f'<g class="{cls}"><title>{_e(tip)}</title>{shape}</g>')
    parts += _x_labels(frame, list(labels), centres, x_label, height)
    parts.append("</svg>")
    return "".join(parts)


def _polyline(xs: Sequence[float], values: Sequence[float | None], frame: _Frame,
              cls: str) -> list[str]:
    """One path per run of present values, so a missing value leaves a gap."""
    runs: list[list[str]] = [[]]
    for x, value in zip(xs, values, strict=False):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(f"{_n(x)} {_n(frame.y(value))}")
    return [f'<path class="{cls}" d="M{"L".join(run)}"/>' for run in runs if len(run) > 1]


def hbar_chart(
    labels: Sequence[str], values: Sequence[float | None], *, threshold: float,
    title: str, x_label: str, value_text: Callable[[float], str] = compact,
) -> str:
    """One horizontal bar per label against a dashed threshold line.

    Bars over the threshold are red and marked ``▲`` beside their value;
    missing values show an en dash and no bar.
    """
    vals = [_finite(v) for v in values]
    shown = [s if len(s) <= 28 else s[:27] + "…" for s in labels]
    left = min(max((len(s) for s in shown), default=4) * CHAR_PX + 16, 220.0)
    row, top = 20.0, 44.0
    height = top + row * max(len(labels), 1) + 42
    high = max([v for v in vals if v is not None] + [threshold * 1.2])
    ticks = nice_ticks(0.0, high, 5)
    right = WIDTH - 64.0
    bottom = height - 42
    span = (ticks[-1] - ticks[0]) or 1.0

    def x(value: float) -> float:
        return left + (min(max(value, 0.0), ticks[-1]) / span) * (right - left)

    parts = _open(title, WIDTH, height,
                  f"{title} ({x_label} per row against threshold {threshold:g})")
    parts += _legend([(_swatch("cur"), "at or under threshold"),
                      (_swatch("over"), "▲ over threshold")], left, 30)
    text = _tick_text(ticks[1] - ticks[0] if len(ticks) > 1 else 1.0, False)
    for tick in ticks:
        tx = _n(x(tick))
        parts.append(f'<line class="grid" x1="{tx}" x2="{tx}" y1="{_n(top)}" y2="{_n(bottom)}"/>'
                     f'<text class="m" x="{tx}" y="{_n(bottom + 14)}">{text(tick)}</text>')
    tx = _n(x(threshold))
    parts.append(f'<line class="threshold" x1="{tx}" x2="{tx}" y1="{_n(top - 4)}" '
                 f'y2="{_n(bottom)}"><title>threshold {threshold:g}</title></line>')
    for i, (label, full, value) in enumerate(zip(shown, labels, vals, strict=True)):
        y = top + i * row
        over = value is not None and value > threshold
        shown_value = DASH if value is None else value_text(value)
        parts.append(f'<g class="{"bar above" if over else "bar"}"><title>{_e(full)}: '
                     f'{_e(shown_value)}{" (over threshold)" if over else ""}</title>')
        parts.append(f'<text class="name e" x="{_n(left - 6)}" y="{_n(y + row / 2)}" '
                     f'dy=".35em">{_e(label)}</text>')
        if value is not None:
            parts.append(f'<rect class="{"over" if over else "cur"}" x="{_n(left)}" '
                         f'y="{_n(y + 3)}" width="{_n(x(value) - left)}" height="{_n(row - 6)}"/>')
        mark = f"{shown_value} ▲" if over else shown_value
        parts.append(f'<text class="value" x="{_n((x(value) if value is not None else left) + 4)}" '
                     f'y="{_n(y + row / 2)}" dy=".35em">{_e(mark)}</text></g>')
    parts.append(f'<line class="axis" x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" '
                 f'y2="{_n(bottom)}"/>')
    parts.append(f'<text class="m" x="{_n((left + right) / 2)}" y="{_n(height - 4)}">'
                 f"{_e(x_label)}</text>")
    parts.append("</svg>")
    return "".join(parts)
