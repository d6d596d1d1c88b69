"""The follow-up plot as Chromium draws it (no service needed): with long sample names and long clone names, every
label ends inside the SVG, the axis labels left of the legend; shortened labels end with "…" and carry the whole
text as a tooltip. The server only estimates text widths, so this checks the estimate against a real font."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from test_views import FUSED  # noqa: E402

from gateway import clones as views  # noqa: E402
from gateway.plot import follow_up_svg  # noqa: E402

MEASURE = """() => {
    const svg = document.querySelector('svg.followup');
    const frame = svg.getBoundingClientRect();
    const box = (t) => { const r = t.getBoundingClientRect(); return [r.left - frame.left, r.right - frame.left]; };
    const legendLeft = Math.min(...[...svg.querySelectorAll('text.legend')].map(t => box(t)[0])) - 24;
    return [...svg.querySelectorAll(':scope > text')].map(t => ({
        text: t.childNodes[0].textContent, title: t.querySelector('title') ? t.querySelector('title').textContent : null,
        left: box(t)[0], right: box(t)[1], legend: t.classList.contains('legend'),
        limit: t.classList.contains('legend') ? frame.width : legendLeft}));
}"""


def test_long_labels_fit_in_the_drawn_plot(browser, screenshot):
    fused = copy.deepcopy(FUSED)
    names = ["peripheral-blood-after-induction-therapy-2024-03-12-sample-B03.fastq.gz",  # sampled 2024-03-12
             "bone-marrow-aspirate-at-diagnosis-2024-01-10-sample-A17.fastq.gz"]
    fused["samples"]["names"] = names
    long_name = "MRD marker followed since the diagnosis in 2019 (relapse clone, lab notebook 7, page 31)"
    rows = views.clone_rows(fused, top=3, analysis={"clones": [{"id": "AAAA", "name": long_name}]})
    samples = views.samples_view(fused)
    svg = follow_up_svg(rows, samples, views.time_order(samples))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_content(f'<!doctype html><body style="margin:0">{svg}</body>')
    labels = page.evaluate(MEASURE)
    screenshot(page, "21-plot-long-labels")
    context.close()
    outside = [(l["text"], round(l["left"]), round(l["right"]), round(l["limit"])) for l in labels
               if l["left"] < 0 or l["right"] > l["limit"]]
    assert outside == []
    shortened = {l["title"]: l["text"] for l in labels if l["title"]}
    assert set(shortened) == {*names, long_name}, shortened
    assert all(text.endswith("…") and title.startswith(text[:-1]) for title, text in shortened.items())
