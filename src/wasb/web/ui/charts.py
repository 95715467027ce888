"""Server-rendered charts: inline SVG, no script and no library (the page works without
JavaScript, and nothing is fetched from another site). Colours come from CSS classes
(`.chart .s0`…), so the stylesheet owns them."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]


def _nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def bar_chart(labels: list[str], series: list[Series], *, title: str, stacked: bool = False,
              line: Series | None = None, fmt=_number) -> Markup:
    """Bars per label (side by side, or stacked), and optionally a line over them."""
    n = max(len(labels), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if stacked:
        peak = max((sum(s.values[i] for s in series) for i in range(len(labels))), default=0)
    else:
        peak = max((v for s in series for v in s.values), default=0)
    if line is not None:
        peak = max(peak, max(line.values, default=0))
    top = _nice_top(peak)
    slot = plot_w / n
    bar_w = slot * 0.8 / (1 if stacked else max(len(series), 1))
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
           f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(top * fraction)}</text>')
    every = max(1, round(n / 12))  # at most about a dozen day labels
    for i, label in enumerate(labels):
        x0 = LEFT + slot * i + slot * 0.1
        base = TOP + plot_h
        for k, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            x = x0 if stacked else x0 + bar_w * k
            y = base - h
            out.append(f'<rect class="s{k}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                       f'<title>{escape(label)} · {escape(s.label)}: {fmt(value)}</title></rect>')
            if stacked:
                base = y
        if i % every == 0:
            out.append(f'<text class="axis" x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 8}" '
                       f'text-anchor="middle">{escape(label)}</text>')
    if line is not None and labels:
        points = " ".join(f"{LEFT + slot * (i + 0.5):.1f},{TOP + plot_h * (1 - v / top):.1f}"
                          for i, v in enumerate(line.values))
        out.append(f'<polyline class="line" points="{points}"><title>{escape(line.label)}</title></polyline>')
    out.append("</svg>")
    return Markup("".join(out))


def legend(series: list[Series], line: Series | None = None) -> Markup:
    items = [f'<li><span class="swatch s{k}" aria-hidden="true"></span>{escape(s.label)}</li>'
             for k, s in enumerate(series)]
    if line is not None:
        items.append(f'<li><span class="swatch line" aria-hidden="true"></span>{escape(line.label)}</li>')
    return Markup(f'<ul class="chart-legend">{"".join(items)}</ul>')
