"""Small, dependency-free SVG charts for plot artifacts (matplotlib is not a dependency).

``context.log_plot("confusion-matrix", confusion_matrix_svg(cm, labels), format="svg")``
"""

from __future__ import annotations

from html import escape
from typing import Sequence

_FONT = 'font-family="sans-serif"'


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        *body,
        "</svg>",
        "",
    ])


def _num(value: float) -> str:
    return f"{value:.4g}"


def confusion_matrix_svg(matrix: Sequence[Sequence[int]], labels: Sequence[object], *,
                         title: str = "Confusion matrix") -> str:
    """A heat-map of ``matrix`` (rows: true label, columns: predicted label) as SVG text."""
    n = len(matrix)
    if n == 0 or any(len(row) != n for row in matrix) or len(labels) != n:
        raise ValueError("confusion_matrix_svg needs a square matrix and one label per row")
    cell, left, top = 56, 120, 70
    width, height = left + n * cell + 30, top + n * cell + 60
    peak = max((max(row) for row in matrix), default=0) or 1
    body = [f'<text x="{width // 2}" y="24" text-anchor="middle" font-size="16" {_FONT}>'
            f"{escape(title)}</text>",
            f'<text x="{left + n * cell // 2}" y="{top - 28}" text-anchor="middle" '
            f'font-size="12" {_FONT}>predicted</text>',
            f'<text x="18" y="{top + n * cell // 2}" font-size="12" {_FONT} '
            f'transform="rotate(-90 18 {top + n * cell // 2})" text-anchor="middle">true</text>']
    for j, label in enumerate(labels):
        body.append(f'<text x="{left + j * cell + cell // 2}" y="{top - 8}" '
                    f'text-anchor="middle" font-size="11" {_FONT}>{escape(str(label))}</text>')
    for i, row in enumerate(matrix):
        y = top + i * cell
        body.append(f'<text x="{left - 8}" y="{y + cell // 2 + 4}" text-anchor="end" '
                    f'font-size="11" {_FONT}>{escape(str(labels[i]))}</text>')
        for j, count in enumerate(row):
            share = count / peak
            shade = int(255 - 200 * share)
            colour = f"rgb({shade},{shade},255)"
            ink = "white" if share > 0.6 else "black"
            x = left + j * cell
            body.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                        f'fill="{colour}" stroke="#888"/>')
            body.append(f'<text x="{x + cell // 2}" y="{y + cell // 2 + 5}" '
                        f'text-anchor="middle" font-size="14" fill="{ink}" {_FONT}>'
                        f"{int(count)}</text>")
    return _svg(width, height, body, title)


def line_chart_svg(values: Sequence[float], *, title: str, x_label: str = "",
                   y_label: str = "", width: int = 640, height: int = 320) -> str:
    """A line chart of ``values`` (x = 1..n) with min/max axis labels, as SVG text."""
    left, right, top, bottom = 70, 20, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    body = [f'<text x="{width // 2}" y="22" text-anchor="middle" font-size="15" {_FONT}>'
            f"{escape(title)}</text>",
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
            'stroke="black"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
            f'<text x="{left + plot_w // 2}" y="{height - 12}" text-anchor="middle" '
            f'font-size="12" {_FONT}>{escape(x_label)}</text>',
            f'<text x="16" y="{top + plot_h // 2}" font-size="12" {_FONT} text-anchor="middle" '
            f'transform="rotate(-90 16 {top + plot_h // 2})">{escape(y_label)}</text>']
    if values:
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        count = len(values)
        points = []
        for i, value in enumerate(values):
            x = left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)
            y = top + plot_h - plot_h * (value - low) / span
            points.append(f"{x:.1f},{y:.1f}")
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f77b4" '
                    'stroke-width="2"/>')
        for point in points:
            x, y = point.split(",")
            body.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="#1f77b4"/>')
        body.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" '
                    f"{_FONT}>{_num(high)}</text>")
        body.append(f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" '
                    f"{_FONT}>{_num(low)}</text>")
        body.append(f'<text x="{left}" y="{top + plot_h + 16}" font-size="11" {_FONT}>1</text>')
        body.append(f'<text x="{left + plot_w}" y="{top + plot_h + 16}" text-anchor="end" '
                    f'font-size="11" {_FONT}>{count}</text>')
    return _svg(width, height, body, title)
