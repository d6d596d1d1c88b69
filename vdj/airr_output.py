"""AIRR rearrangement TSV of the reported clones (one row per clone), AIRR Community
Rearrangement schema v1 (Vander Heiden et al., Front. Immunol. 2018): tab-separated, booleans as
T/F, missing values empty, positions 1-based closed intervals on ``sequence``.

Written with the csv module (the ``airr`` library takes ~0.6 s to import: it is used by the tests
to validate the files). ``sequence_id`` = ``clone_id`` = the clone's window (the .vidjil clone
id); ``sequence`` = the consensus (designated clones) or the window; ``v_support``/``j_support`` =
the k-mer e-values of the V and J sides; ``warnings`` = vidjil warning codes (custom field, as
vidjil-algo writes it); ``germline`` (system) and ``top`` (rank) are custom fields too.
"""

from __future__ import annotations

import csv
import os

FIELDS = [
    "sequence_id", "sequence", "rev_comp", "productive", "v_call", "d_call", "j_call",
    "sequence_alignment", "germline_alignment", "junction", "junction_aa", "v_cigar", "d_cigar", "j_cigar",
    "clone_id", "locus", "duplicate_count", "cdr3", "cdr3_aa", "vj_in_frame", "stop_codon",
    "v_sequence_start", "v_sequence_end", "v_germline_start", "v_germline_end",
    "d_sequence_start", "d_sequence_end", "d_germline_start", "d_germline_end",
    "j_sequence_start", "j_sequence_end", "j_germline_start", "j_germline_end",
    "junction_length", "cdr3_start", "cdr3_end", "np1", "np1_length", "np2", "np2_length",
    "v_score", "j_score", "v_support", "j_support", "germline", "top", "warnings",
]


def clone_row(clone_result) -> dict:
    """The AIRR record (dict) of one :class:`vdj.pipeline.CloneResult`."""
    clone = clone_result.clone
    row = {name: "" for name in FIELDS}
    row.update({
        "sequence_id": clone.window,
        "clone_id": clone.window,
        "sequence": clone_result.sequence,
        "locus": clone_result.locus,
        "duplicate_count": clone.reads,
        "germline": clone_result.germline,
        "top": clone_result.top,
        "rev_comp": None,
        "productive": None,
        "warnings": ",".join(w["code"] for w in clone_result.warnings),
    })
    designation = clone_result.designation
    if designation is not None and designation.detected and designation.v_call:
        row.update({
            "rev_comp": False,
            "v_call": designation.v_call or "",
            "d_call": designation.d_call or "",
            "j_call": designation.j_call or "",
            "junction": designation.junction or "",
            "junction_aa": designation.junction_aa or "",
            "cdr3": designation.cdr3 or "",
            "cdr3_aa": designation.cdr3_aa or "",
            "productive": designation.productive,
            "vj_in_frame": designation.vj_in_frame,
            "stop_codon": designation.stop_codon,
            "junction_length": len(designation.junction) if designation.junction else "",
            "v_support": designation.evalue_left if designation.evalue_left is not None else "",
            "j_support": designation.evalue_right if designation.evalue_right is not None else "",
        })
        for key, value in designation.airr.items():
            if key in row:
                row[key] = value
    return row


def _cell(value) -> str:
    if value is None:
        return ""
    if value is True:
        return "T"
    if value is False:
        return "F"
    return str(value)


def write_airr(result, path: str | os.PathLike) -> None:
    """Write the reported clones of ``result`` as an AIRR TSV at ``path`` (atomically)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
        writer.writerow(FIELDS)
        for clone_result in result.clones:
            row = clone_row(clone_result)
            writer.writerow([_cell(row[name]) for name in FIELDS])
    os.replace(tmp, path)
