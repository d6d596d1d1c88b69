"""``/api/v1/sample_sets/{id}/results/{config_id}``: the fused result of a set for a configuration, and views of
it (clone table, QC, V/J usage, follow-up plot, TSV/AIRR exports); saved analyses (clone names and tags); compare.
"""

from __future__ import annotations

from flask import Response

from gateway import clones as views
from gateway.api import bp
from gateway.api.schemas import AnalysisBody, CloneAnnotationBody, ClonesQuery, CloneTable, CompareBody
from gateway.auth import call_as_user
from gateway.openapi import operation
from gateway.plot import follow_up_svg
from services.common.exceptions import NotFound

TAG = "results"
RESULT = "/sample_sets/<int:sample_set_id>/results/<int:config_id>"


def fused_result(sample_set_id: int, config_id: int) -> dict:
    """``fuse.get_fused`` for the caller: the latest fused result with the saved analysis merged (404 when
    nothing was fused yet)."""
    return call_as_user("fuse", "get_fused", sample_set_id, config_id)


def saved_analysis(fused: dict) -> dict | None:
    """The saved analysis merged into a served fused result (``None`` if there is none)."""
    analysis = fused.get("analysis")
    return analysis if isinstance(analysis, dict) else None


def latest_analysis_content(sample_set_id: int, config_id: int) -> dict:
    """Content of the latest saved analysis of a set and config, or an empty analysis."""
    try:
        row = call_as_user("fuse", "get_analysis", sample_set_id, config_id)
    except NotFound:
        return {"clones": [], "clusters": [], "tags": {}}
    content = row.get("content")
    return content if isinstance(content, dict) else {"clones": [], "clusters": [], "tags": {}}


def _attachment(text: str, filename: str, mimetype: str) -> Response:
    response = Response(text, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@operation(bp, RESULT, "GET", summary="Fused .vidjil result of a set for a configuration", tag=TAG,
           response={"type": "object", "description": ".vidjil JSON (vidjil_json_version 2016b), enriched"})
def get_fused(sample_set_id: int, config_id: int):
    """All samples of the set analysed with the configuration, merged by clone; patients pseudonymised unless the
    caller has the ``anon`` right."""
    return fused_result(sample_set_id, config_id)


@operation(bp, RESULT + "/clones", "GET", summary="Clone table: top clones with V/D/J, CDR3, reads and share",
           tag=TAG, query=ClonesQuery, response=CloneTable)
def get_clones(sample_set_id: int, config_id: int, query: ClonesQuery):
    """Clones sorted by rank; ``shares[i]`` = reads / segmented reads of sample ``i`` (fraction). Each sample
    carries ``reporting`` (minimum of reads of the analysis config, clones found / reported / not reported, reads of
    the reported clones, ``note``); ``notes`` = "<sample>: <why it lists no clone>" for each sample without a
    reported clone (e.g. all its clones have fewer reads than the minimum)."""
    fused = fused_result(sample_set_id, config_id)
    reporting = views.clone_reporting(fused)
    samples = [{**sample, "reporting": r} for sample, r in zip(views.samples_view(fused), reporting)]
    return {"sample_set_id": sample_set_id, "config_id": config_id, "samples": samples,
            "clones": views.clone_rows(fused, query.top, query.locus, saved_analysis(fused)),
            "notes": views.reporting_notes(fused, reporting)}


@operation(bp, RESULT + "/qc", "GET", summary="QC per sample: reads, segmented %, loci, main clone, diversity",
           tag=TAG, response={"type": "array", "items": {"type": "object"}})
def get_qc(sample_set_id: int, config_id: int):
    """One row per sample; ``main_clone`` is ``null`` when the sample has no reported clone, and
    ``reporting.note`` then says why (e.g. "No clone has at least 5 reads (minimum of the analysis config); 14
    clones with fewer reads are not reported.")."""
    return views.qc_rows(fused_result(sample_set_id, config_id))


@operation(bp, RESULT + "/vj/<int(min=0):sample_index>", "GET", summary="V/J usage grid per locus for one sample",
           tag=TAG, response={"type": "object"})
def get_vj_usage(sample_set_id: int, config_id: int, sample_index: int):
    fused = fused_result(sample_set_id, config_id)
    if sample_index >= views.sample_count(fused):
        raise NotFound("no such sample in this result", {"sample_index": sample_index})
    return views.vj_usage(fused, sample_index)


@operation(bp, RESULT + "/clones.tsv", "GET", summary="Clone table as TSV", tag=TAG, query=ClonesQuery,
           produces="text/tab-separated-values")
def export_tsv(sample_set_id: int, config_id: int, query: ClonesQuery):
    fused = fused_result(sample_set_id, config_id)
    rows = views.clone_rows(fused, query.top, query.locus, saved_analysis(fused))
    return _attachment(views.clone_table_tsv(fused, rows), f"clones-set{sample_set_id}-config{config_id}.tsv",
                       "text/tab-separated-values")


@operation(bp, RESULT + "/clones.airr.tsv", "GET", summary="Clone table as AIRR rearrangements (TSV)", tag=TAG,
           query=ClonesQuery, produces="text/tab-separated-values")
def export_airr(sample_set_id: int, config_id: int, query: ClonesQuery):
    fused = fused_result(sample_set_id, config_id)
    return _attachment(views.clone_table_airr(fused, query.top),
                       f"clones-set{sample_set_id}-config{config_id}.airr.tsv", "text/tab-separated-values")


@operation(bp, RESULT + "/plot.svg", "GET", summary="Follow-up plot of the top clones (SVG, log scale)", tag=TAG,
           query=ClonesQuery, produces="image/svg+xml")
def plot_svg(sample_set_id: int, config_id: int, query: ClonesQuery):
    fused = fused_result(sample_set_id, config_id)
    samples = views.samples_view(fused)
    rows = views.clone_rows(fused, min(query.top, 20), query.locus, saved_analysis(fused))
    svg = follow_up_svg(rows, samples, views.time_order(samples))
    return _attachment(svg, f"followup-set{sample_set_id}-config{config_id}.svg", "image/svg+xml")


@operation(bp, RESULT + "/mrd", "GET", tag=TAG, response={"type": "object"},
           summary="MRD follow-up of the set: each followed clone's fraction per sample, with detection limit")
def mrd(sample_set_id: int, config_id: int):
    return call_as_user("fuse", "mrd_view", sample_set_id, config_id)


@operation(bp, RESULT + "/history", "GET", tag=TAG, response={"type": "array", "items": {"type": "object"}},
           summary="Every fuse recorded for the set and configuration, newest first")
def fuse_history(sample_set_id: int, config_id: int):
    return call_as_user("fuse", "list_fused", sample_set_id, config_id)


@operation(bp, RESULT + "/rebuild", "POST", tag=TAG, response={"type": "object"},
           summary="Fuse the set's results again now (needs the run right)")
def rebuild(sample_set_id: int, config_id: int):
    return call_as_user("fuse", "rebuild", sample_set_id, config_id)


@operation(bp, RESULT + "/analysis", "GET", tag=TAG, response={"type": "object"},
           summary="The latest saved analysis (clone names, tags, clusters) of the set and configuration")
def get_analysis(sample_set_id: int, config_id: int):
    """404 when none was saved yet."""
    return call_as_user("fuse", "get_analysis", sample_set_id, config_id)


@operation(bp, RESULT + "/analysis/versions", "GET", tag=TAG, response={"type": "array", "items": {"type": "object"}},
           summary="Saved versions of the analysis, newest first (without content)")
def list_analyses(sample_set_id: int, config_id: int):
    return call_as_user("fuse", "list_analyses", sample_set_id, config_id)


@operation(bp, RESULT + "/analysis", "PUT", tag=TAG, body=AnalysisBody, errors=(409, 413),
           summary="Save a new version of the analysis (needs the save right)", response={"type": "object"})
def save_analysis(sample_set_id: int, config_id: int, body: AnalysisBody):
    comment = body.comment or ""
    return call_as_user("fuse", "save_analysis", sample_set_id, config_id,
                        body.model_dump(mode="json", exclude_none=True, exclude={"comment"}), comment)


@operation(bp, RESULT + "/clones/<string:clone_id>", "PUT", tag=TAG, body=CloneAnnotationBody, errors=(409, 413),
           summary="Name or tag one clone (saved as a new version of the analysis)", response={"type": "object"})
def annotate_clone(sample_set_id: int, config_id: int, clone_id: str, body: CloneAnnotationBody):
    """Takes the latest saved analysis, sets this clone's ``name`` / ``tag`` (an empty name removes it) and saves
    the result as a new version (the fuse service checks the ``save`` right)."""
    content = latest_analysis_content(sample_set_id, config_id)
    clones = [c for c in content.get("clones") or [] if isinstance(c, dict)]
    entry = next((c for c in clones if c.get("id") == clone_id), None)
    if entry is None:
        entry = {"id": clone_id}
        clones.append(entry)
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value in (None, ""):
            entry.pop(key, None)
        else:
            entry[key] = value
    content["clones"] = [c for c in clones if set(c) - {"id"}]
    saved = call_as_user("fuse", "save_analysis", sample_set_id, config_id, content,
                         f"clone {clone_id[:20]}: {', '.join(sorted(changes)) or 'no change'}")
    return {"clone_id": clone_id, **{k: entry.get(k) for k in ("name", "tag")}, "analysis": saved}


@operation(bp, "/compare", "POST", tag=TAG, body=CompareBody, errors=(413,),
           summary="Fuse analysis results from several sets on demand (compare samples)",
           response={"type": "object"})
def compare(body: CompareBody):
    """Needs the read right on every result's set; answers a fused .vidjil."""
    return call_as_user("fuse", "compare", body.results, body.top)
