"""Inline SVG of the top clones' shares across samples over time, log scale: the MRD follow-up plot.

x = samples in follow-up order (sampling date, then fused order), y = share of segmented reads on a log10 axis
from 10^-5 (0.001 %) to 1 (100 %); a clone absent from a sample (0 reads) is drawn on the floor line with an open
marker, since a share of 0 has no logarithm. Colours repeat every 10 clones; the legend names each clone. Labels
too long for their room (sample names under the axis, legend entries) end with "…" and show the whole text as a
tooltip (``<title>``); their width is estimated (:func:`text_width`), as the server does not measure fonts.
Pure function of the clone rows (:func:`gateway.clones.clone_rows`); the same SVG is shown and exported.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22")
FLOOR = 1e-5


def _y(share: float | None, top: float, height: float) -> float:
    value = max(share or 0.0, FLOOR)
    fraction = (math.log10(value) - math.log10(FLOOR)) / (0 - math.log10(FLOOR))
    return top + height * (1 - fraction)


#: Advance widths in em of a sans-serif face, rounded up from DejaVu Sans (the widest of the usual defaults):
#: an estimate that keeps labels inside the plot whatever font the browser picks.
_NARROW, _SEMI, _WIDE = set("iIjl.,:;'|!"), set("frt()[]{}-/ *"), set("mwMW@%")


def text_width(text: str, size: float = 12) -> float:
    """Estimated width in px of ``text`` at font size ``size`` px (see :data:`_NARROW`)."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.32
        elif char in _SEMI:
            em += 0.45
        elif char in _WIDE:
            em += 1.0
        elif char.isupper() or char.isdigit():
            em += 0.74
        else:
            em += 0.62
    return em * size


def fit_text(text: str, max_width: float, size: float = 12) -> str:
    """``text``, or its longest prefix followed by "…" whose estimated width is at most ``max_width`` px."""
    if text_width(text, size) <= max_width:
        return text
    room = max_width - text_width("…", size)
    kept = ""
    for char in text:
        if text_width(kept + char, size) > room:
            break
        kept += char
    return kept.rstrip() + "…"


def legend_label(row: dict[str, Any]) -> str:
    """A clone in the legend: its user name if it has one, else "V J CDR3" (genes without alleles). Full text;
    :func:`follow_up_svg` shortens it to the legend's width (with the full text as a tooltip)."""
    if row.get("user_name"):
        return row["user_name"]
    genes = " ".join((name or "?").split("*")[0] for name in (row.get("v"), row.get("j")))
    return f"{genes} {row.get('cdr3_aa') or ''}".strip()


def _label_boxes(xs: list[float], low: float, high: float, gap: float = 6) -> list[tuple[float, float]]:
    """Horizontal room of each x-axis label: from half-way to the previous sample (or ``low``) to half-way to the
    next one (or ``high``), minus half a ``gap`` on each side."""
    boxes = []
    for i, x in enumerate(xs):
        left = low if i == 0 else (xs[i - 1] + x) / 2 + gap / 2
        right = high if i == len(xs) - 1 else (x + xs[i + 1]) / 2 - gap / 2
        boxes.append((left, right))
    return boxes


def _axis_label(x: float, y: float, box: tuple[float, float], text: str, fill: str, size: float = 12) -> str:
    """A ``<text>`` centred on ``x`` when it fits in ``box``, else moved inside it, else shortened with "…"; a
    shortened label carries the full text as a ``<title>`` tooltip."""
    left, right = box
    shown = fit_text(text, right - left, size)
    width = text_width(shown, size)
    start = min(max(x - width / 2, left), right - width)
    tooltip = f"<title>{escape(text)}</title>" if shown != text else ""
    if abs(start - (x - width / 2)) < 0.05:
        return f'<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{fill}">{escape(shown)}{tooltip}</text>'
    return f'<text x="{start:.1f}" y="{y}" text-anchor="start" fill="{fill}">{escape(shown)}{tooltip}</text>'


def follow_up_svg(rows: list[dict[str, Any]], samples: list[dict[str, Any]], order: list[int],
                  width: int = 1100, height: int = 420, legend_width: int = 330) -> str:
    """SVG text (``<svg ...>``) for ``rows`` (clone rows) over ``samples`` taken in ``order`` (sample indexes)."""
    left, right, top, bottom = 70, 20, 20, 70
    plot_w = width - legend_width - left - right
    plot_h = height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="followup" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Share of the top clones in each sample, '
             f'log scale" font-family="sans-serif" font-size="12">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    # y axis: decades
    for exponent in range(-5, 1):
        y = _y(10.0 ** exponent, top, plot_h)
        label = f"{100 * 10.0 ** exponent:g}%"
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#333">{label}</text>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>')
    parts.append(f'<text x="14" y="{top + plot_h / 2:.1f}" transform="rotate(-90 14 {top + plot_h / 2:.1f})" '
                 f'text-anchor="middle" fill="#333">share of segmented reads (log)</text>')
    count = len(order)
    xs = {}
    for position, index in enumerate(order):
        xs[index] = left + (plot_w / 2 if count == 1 else 20 + position * (plot_w - 40) / (count - 1))
    # x-axis labels stay between the left edge and the legend column, each in its own share of the axis
    boxes = _label_boxes([xs[i] for i in order], 4, width - legend_width + 4)
    for (index, box) in zip(order, boxes):
        x = xs[index]
        sample = samples[index]
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#eeeeee"/>')
        parts.append(_axis_label(x, top + plot_h + 18, box, sample["name"], "#333"))
        if sample.get("sampling_date"):
            parts.append(_axis_label(x, top + plot_h + 34, box, sample["sampling_date"], "#666"))
    for number, row in enumerate(rows):
        colour = PALETTE[number % len(PALETTE)]
        points = [(xs[i], _y(row["shares"][i], top, plot_h), row["shares"][i]) for i in order]
        title = escape(f"{row['display_name']} ({row.get('cdr3_aa') or '?'})")
        parts.append(f'<g class="clone" data-clone-id="{escape(row["id"] or "")}"><title>{title}</title>')
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, share in points:
            fill = colour if share else "#ffffff"
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{fill}" stroke="{colour}" '
                         f'stroke-width="1.5"/>')
        parts.append("</g>")
        ly = top + 14 + number * 18
        if ly < height - 10:
            lx = width - legend_width + 10
            label = legend_label(row)
            shown = fit_text(label, width - (lx + 24) - 6)  # ends 6 px before the right edge of the SVG
            tooltip = f"<title>{escape(label)}</title>" if shown != label else ""
            parts.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" stroke="{colour}" '
                         f'stroke-width="3"/>')
            parts.append(f'<text x="{lx + 24}" y="{ly}" fill="#222" class="legend">{escape(shown)}{tooltip}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
