"""Inline SVG of the top clones' shares across samples over time, log scale: the MRD follow-up plot.

x = samples in follow-up order (sampling date, then fused order), y = share of segmented reads on a log10 axis
from 10^-5 (0.001 %) to 1 (100 %); a clone absent from a sample (0 reads) is drawn on the floor line with an open
marker, since a share of 0 has no logarithm. Colours repeat every 10 clones; the legend names each clone.
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


def legend_label(row: dict[str, Any], width: int = 34) -> str:
    """A clone in the legend: its user name if it has one, else "V J CDR3" (genes without alleles)."""
    if row.get("user_name"):
        text = row["user_name"]
    else:
        genes = " ".join((name or "?").split("*")[0] for name in (row.get("v"), row.get("j")))
        text = f"{genes} {row.get('cdr3_aa') or ''}".strip()
    return text if len(text) <= width else text[:width - 1] + "…"


def follow_up_svg(rows: list[dict[str, Any]], samples: list[dict[str, Any]], order: list[int],
                  width: int = 900, height: int = 420, legend_width: int = 260) -> str:
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
        x = left + (plot_w / 2 if count == 1 else 20 + position * (plot_w - 40) / (count - 1))
        xs[index] = x
        sample = samples[index]
        label = escape(sample["name"][:22])
        date = escape(sample.get("sampling_date") or "")
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#eeeeee"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle" fill="#333">{label}</text>')
        if date:
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 34}" text-anchor="middle" fill="#666">{date}</text>')
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
            parts.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" stroke="{colour}" '
                         f'stroke-width="3"/>')
            parts.append(f'<text x="{lx + 24}" y="{ly}" fill="#222" class="legend">'
                         f'{escape(legend_label(row))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
