"""The ``.vidjil`` result file (JSON, ``vidjil_json_version`` "2016b").

Format: Vidjil's doc/vidjil-format.md (see /work/shared/reference/vidjil-format.md section 1).
One sample; every per-sample quantity is a one-element list. Positions in ``seg`` are 1-based,
inclusive, on ``clone.sequence``. Clones are the reported ones (>= min reads), ranked by reads
(``top``); the first ``-z`` have a consensus ``sequence``, ``name`` and full ``seg``, the others
have the window as ``sequence``.
"""

from __future__ import annotations

import datetime
import json
import os

from vdj import __version__

VIDJIL_JSON_VERSION = "2016b"
PRODUCER = f"repseq-vdj {__version__}"


def _germlines_block(result) -> dict:
    block: dict = {}
    for system in result.systems:
        recombination = {"5": sorted({_file_name(a) for a in system.five}),
                         "3": sorted({_file_name(a) for a in system.three})}
        if system.d:
            recombination["4"] = sorted({_file_name(a) for a in system.d})
        block[system.name] = {
            "shortcut": system.shortcut,
            "description": getattr(system, "description", "") or system.name,
            "recombinations": [recombination],
            "parameters": {"seed": result.options.seed},
        }
    germlines = result.germlines
    block["ref"] = getattr(germlines, "ref", "") or ""
    block["species"] = getattr(germlines, "species_name", "") or getattr(germlines, "species", "")
    block["species_taxon_id"] = getattr(germlines, "taxon_id", 0)
    return block


def _file_name(allele) -> str:
    gene = allele.name
    segment = getattr(allele, "segment", "")
    prefix = gene[:4] if gene[:2] in ("IG", "TR") and len(gene) >= 4 else gene.split("*")[0]
    suffix = {"UP": "+up", "DOWN": "+down"}.get(segment, "")
    return f"{prefix}{suffix}.fa"


def _clone_json(clone_result, designated: bool) -> dict:
    clone = clone_result.clone
    data: dict = {
        "id": clone.window,
        "germline": clone_result.germline,
        "reads": [clone.reads],
        "top": clone_result.top,
        "sequence": clone_result.sequence,
        "_average_read_length": [round(clone.average_read_length, 1)],
    }
    designation = clone_result.designation
    if designation is not None:
        if designation.detected and designation.v_call:
            data["name"] = designation.name
            seg = dict(designation.seg)
        else:
            data["name"] = f"Possibly {clone_result.germline}"
            seg = {k: v for k, v in designation.seg.items() if k.startswith("evalue")}
        offset = clone_result.window_offset
        seg["window"] = {"start": offset + 1, "stop": offset + len(clone.window)}
        data["seg"] = seg
    if clone_result.coverage is not None:
        average = clone.average_read_length
        data["_coverage"] = [round(clone_result.coverage, 3)]
        data["_coverage_info"] = [f"{len(clone_result.sequence)} bp ({100 * clone_result.coverage:.0f}% of {average:.1f} bp)"]
    if clone.merged_windows:
        data["_merged_windows"] = [len(clone.merged_windows)]
    if clone_result.warnings:
        data["warn"] = clone_result.warnings
    return data


def to_vidjil(result) -> dict:
    """The .vidjil document of an :class:`vdj.pipeline.AnalysisResult`."""
    stats = result.stats
    options = result.options
    per_system = {s.name: [stats.per_system.get(s.name, 0)] for s in result.systems}
    clones_per_system = {s.name: [stats.clones_per_system.get(s.name, 0)] for s in result.systems}
    warnings = []
    if stats.total and stats.segmented < 0.4 * stats.total:
        warnings.append({"code": "W20", "level": "warn",
                         "msg": "Very few V(D)J recombinations found: %.2f%%" % (100.0 * stats.segmented / stats.total)})
    config = {
        "germline": options.germline_preset, "species": options.species, "window": str(options.window),
        "min-reads": str(options.min_reads), "max-designations": str(options.max_designations),
        "max-consensus": str(options.max_designations), "e-value": str(options.evalue),
        "seed": options.seed, "threads": str(options.threads),
        "merge-distance": str(options.merge_distance),
        "merge-far-distance": "auto" if options.merge_far_distance is None else str(options.merge_far_distance),
        "error-rate": "auto" if options.merge_error_rate is None else str(options.merge_error_rate),
        "max-clones": "all" if options.max_clones is None else str(options.max_clones),
    }
    document = {
        "vidjil_json_version": VIDJIL_JSON_VERSION,
        "producer": PRODUCER,
        "timestamp": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "samples": {
            "number": 1,
            "original_names": [str(result.input_path)],
            "run_timestamp": [result.run_timestamp],
            "producer": [PRODUCER],
            "commandline": [options.commandline or f"python -m vdj {result.input_path}"],
            "log": [stats.render()],
        },
        "reads": {
            "total": [stats.total],
            "segmented": [stats.segmented],
            "germline": per_system,
            "clones": clones_per_system,
        },
        "clones": [_clone_json(c, c.top <= options.max_designations) for c in result.clones],
        "diversity": result.diversity,
        "germlines": _germlines_block(result),
        "config": config,
        "merging": {
            "windows": result.merge.windows,
            "clones": result.all_clone_count,
            "error_windows_merged": result.merge.error_windows_merged,
            "error_reads_merged": result.merge.error_reads_merged,
            "shrunk_windows_merged": result.merge.shrunk_windows_merged,
            "shrunk_reads_merged": result.merge.shrunk_reads_merged,
            "error_model": ({"substitution": round(result.merge.error_model.substitution, 6),
                             "indel": round(result.merge.error_model.indel, 6)}
                            if result.merge.error_model is not None else None),
        },
    }
    if warnings:
        document["warn"] = warnings
    return document


def write_vidjil(result, path: str | os.PathLike) -> None:
    """Write :func:`to_vidjil` as indented JSON to ``path`` (atomically: temp file + rename)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(to_vidjil(result), handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
