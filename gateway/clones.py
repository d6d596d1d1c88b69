"""Views of a fused ``.vidjil`` result for people: the clone table, the QC table per sample, the V/J usage grid,
and the TSV / AIRR exports. Pure functions on the dict returned by ``fuse.get_fused`` (format:
/work/shared/reference/vidjil-format.md, section 1); nothing here decides rights or changes data.

Definitions used (as in the Vidjil web application):
- *share* of a clone in a sample = reads of the clone / segmented reads of the sample (``reads.segmented``), a
  fraction in [0, 1]; ``None`` when the sample has no segmented read.
- *rank* = the clone's ``top`` (best rank over samples after fusion).
- V/D/J = ``seg["5"]``, ``seg["4"]``, ``seg["3"]`` names; CDR3 = ``seg.cdr3.aa`` (IMGT CDR3, junction minus the
  anchors); a user-saved name (analysis) replaces the designation in ``display_name``.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable


def _list(value: Any, n: int, default: Any = None) -> list:
    if isinstance(value, list):
        return (value + [default] * n)[:n]
    return [value if value is not None else default] * n


def sample_count(fused: dict) -> int:
    samples = fused.get("samples") or {}
    number = samples.get("number")
    if isinstance(number, int):
        return number
    return len(samples.get("original_names") or [])


def samples_view(fused: dict) -> list[dict[str, Any]]:
    """One dict per sample in fused order: index, name, original name, sampling date, sample id, reads."""
    n = sample_count(fused)
    samples = fused.get("samples") or {}
    reads = fused.get("reads") or {}
    names = _list(samples.get("names"), n) or []
    originals = _list(samples.get("original_names"), n)
    dates = _list(samples.get("sampling_date") or samples.get("timestamp"), n)
    ids = _list(samples.get("sequence_file_id") or samples.get("id"), n)
    deleted = _list(samples.get("deleted"), n, False)
    total = _list(reads.get("total"), n, 0)
    segmented = _list(reads.get("segmented"), n, 0)
    view = []
    for i in range(n):
        original = originals[i] or f"sample {i + 1}"
        name = names[i] or original.rsplit("/", 1)[-1]
        view.append({"index": i, "name": name, "original_name": original,
                     "sampling_date": (str(dates[i])[:10] if dates[i] else None), "sample_id": ids[i],
                     "deleted": bool(deleted[i]),
                     "total_reads": total[i] or 0, "segmented_reads": segmented[i] or 0})
    return view


def _known_count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _clones_found(fused: dict, index: int, n: int) -> int | None:
    """Every clone the analysis found in sample ``index`` (``reads.clones`` summed over loci), reported or not;
    ``None`` when the result does not say."""
    per_locus = (fused.get("reads") or {}).get("clones")
    if not isinstance(per_locus, dict) or not per_locus:
        return None
    counts = [_known_count(_list(values, n, None)[index]) for values in per_locus.values()]
    return None if any(c is None for c in counts) else sum(counts)


def _reporting_note(r: dict[str, Any], total_reads: int) -> str | None:
    """The sentence a biologist reads about sample ``r`` (see :func:`clone_reporting`)."""
    minimum, hidden = r["min_reads"], r["unreported_clones"]
    if r["no_clone"]:
        if not total_reads:
            return "The sample's file holds no reads: there is no clone to report."
        if not r["segmented_reads"]:
            return (f"No V(D)J recombination was found in the {total_reads:,} reads of this sample: "
                    "there is no clone to report.")
        if hidden == 0:
            return "The analysis reported no clone for this sample."
        first = (f"No clone has at least {minimum:,} reads (minimum of the analysis config)" if minimum
                 else "No clone reaches the minimum number of reads of the analysis config")
        if hidden is None:
            return f"{first}; clones with fewer reads are not reported."
        return f"{first}; {hidden:,} clone{'s' if hidden != 1 else ''} with fewer reads " \
               f"{'are' if hidden != 1 else 'is'} not reported."
    if not hidden:
        return None
    shown = r["reported_clones"]
    if minimum:
        return (f"{shown:,} clone{'s have' if shown != 1 else ' has'} at least {minimum:,} reads (minimum of the "
                f"analysis config); {hidden:,} clone{'s' if hidden != 1 else ''} with fewer reads "
                f"{'are' if hidden != 1 else 'is'} not reported.")
    return (f"{shown:,} clone{'s are' if shown != 1 else ' is'} reported; {hidden:,} clone"
            f"{'s' if hidden != 1 else ''} with fewer reads than the minimum of the analysis config "
            f"{'are' if hidden != 1 else 'is'} not.")


def clone_reporting(fused: dict) -> list[dict[str, Any]]:
    """Per sample (fused order), what its analysis reported and why clones may be missing from the lists:

    ``{"min_reads", "clones", "reported_clones", "unreported_clones", "clone_reads", "segmented_reads",
    "no_clone", "note"}``: the minimum of reads of a reported clone (``fuse.min_reads_per_sample``), every clone
    found (``reads.clones`` summed over loci), the clones listed in the sample's result (``fuse.clones_per_sample``)
    and their reads (``fuse.clone_reads_per_sample``), the clones under the minimum (found - listed); each ``None``
    when the fused result does not hold it (results fused before these fields existed, other producers), never a
    guess. ``no_clone``: the sample has no reported clone; ``note``: why (e.g. "No clone has at least 5 reads
    (minimum of the analysis config); 14 clones with fewer reads are not reported."), or how many clones are not
    reported when some are, or ``None`` when every clone is listed."""
    n = sample_count(fused)
    info = fused.get("fuse") if isinstance(fused.get("fuse"), dict) else {}
    minimums = _list(info.get("min_reads_per_sample"), n)
    listed = _list(info.get("clones_per_sample"), n)
    listed_reads = _list(info.get("clone_reads_per_sample"), n)
    clones = [c for c in fused.get("clones") or [] if isinstance(c, dict)]
    result = []
    for sample in samples_view(fused):
        i = sample["index"]
        reported = _known_count(listed[i])
        if reported is None:  # older fused results: whether the sample has a clone at all is still known
            has_clone = any(int(_list(c.get("reads"), n, 0)[i] or 0) > 0 for c in clones)
        else:
            has_clone = reported > 0
        found = _clones_found(fused, i, n)
        minimum = _known_count(minimums[i])
        entry = {"min_reads": minimum or None, "clones": found, "reported_clones": reported,
                 "unreported_clones": (found - reported if found is not None and reported is not None
                                       and found >= reported else None),
                 "clone_reads": _known_count(listed_reads[i]), "segmented_reads": sample["segmented_reads"],
                 "no_clone": not has_clone}
        entry["note"] = _reporting_note(entry, sample["total_reads"])
        result.append(entry)
    return result


def reporting_notes(fused: dict, reporting: list[dict[str, Any]] | None = None) -> list[str]:
    """"<sample name>: <why it has no clone>" for each sample without a reported clone (fused order)."""
    reporting = clone_reporting(fused) if reporting is None else reporting
    return [f"{sample['name']}: {r['note']}" for sample, r in zip(samples_view(fused), reporting)
            if r["no_clone"] and r["note"]]


def time_order(samples: list[dict[str, Any]]) -> list[int]:
    """Sample indexes sorted by sampling date (undated last, then fused order): the follow-up order."""
    return [s["index"] for s in sorted(samples, key=lambda s: (s["sampling_date"] is None,
                                                               s["sampling_date"] or "", s["index"]))]


def _seg_name(seg: dict, key: str) -> str | None:
    part = seg.get(key)
    if isinstance(part, dict):
        return part.get("name")
    return None


def annotations(analysis: dict | None) -> dict[str, dict[str, Any]]:
    """``{clone id: {"name", "tag"}}`` from a saved analysis (``clones`` list of ``{id, name?, tag?}``)."""
    found: dict[str, dict[str, Any]] = {}
    for clone in (analysis or {}).get("clones") or []:
        if isinstance(clone, dict) and isinstance(clone.get("id"), str):
            found[clone["id"]] = {k: clone[k] for k in ("name", "tag") if clone.get(k) not in (None, "")}
    return found


def clone_rows(fused: dict, top: int | None = 50, locus: str | None = None,
               analysis: dict | None = None) -> list[dict[str, Any]]:
    """The clone table: clones sorted by rank (then reads), at most ``top``; see the module docstring."""
    n = sample_count(fused)
    segmented = _list((fused.get("reads") or {}).get("segmented"), n, 0)
    saved = annotations(analysis or fused.get("analysis"))
    clones = [c for c in fused.get("clones") or [] if isinstance(c, dict)]
    if locus:
        clones = [c for c in clones if c.get("germline") == locus]
    clones.sort(key=lambda c: (c.get("top") or 10**9, -sum(x or 0 for x in _list(c.get("reads"), n, 0))))
    rows = []
    for position, clone in enumerate(clones[:top] if top else clones, start=1):
        seg = clone.get("seg") or {}
        reads = [int(x or 0) for x in _list(clone.get("reads"), n, 0)]
        shares = [(r / s if s else None) for r, s in zip(reads, segmented)]
        cdr3 = seg.get("cdr3") or {}
        junction = seg.get("junction") or {}
        note = saved.get(clone.get("id"), {})
        designation = clone.get("name")
        if note.get("name") and designation == note["name"]:
            # the fuse service merged the saved name over the designation: rebuild a short one from the genes
            designation = " ".join(x for x in (_seg_name(seg, "5"), _seg_name(seg, "4"), _seg_name(seg, "3")) if x)
        rows.append({
            "id": clone.get("id"), "rank": clone.get("top") or position, "position": position,
            "name": designation, "display_name": note.get("name") or designation or f"clone {position}",
            "user_name": note.get("name"), "tag": note.get("tag"), "locus": clone.get("germline"),
            "v": _seg_name(seg, "5"), "d": _seg_name(seg, "4"), "j": _seg_name(seg, "3"),
            "cdr3_aa": cdr3.get("aa"), "junction_aa": junction.get("aa"),
            "productive": junction.get("productive") if "productive" in junction else None,
            "reads": reads, "shares": shares,
        })
    return rows


def _diversity(fused: dict, index: int, n: int) -> dict[str, float | None]:
    diversity = fused.get("diversity") or {}
    result = {}
    for key, label in (("index_H_entropy", "shannon"), ("index_E_equitability", "pielou"),
                       ("index_Ds_diversity", "simpson")):
        value = diversity.get(key)
        if isinstance(value, list):  # fused: one element per sample
            value = value[index] if index < len(value) else None
        elif n > 1 and not isinstance(value, (dict, float, int)):
            value = None
        if isinstance(value, dict):
            value = value.get("all")
        result[label] = value if isinstance(value, (int, float)) else None
    return result


def qc_rows(fused: dict) -> list[dict[str, Any]]:
    """QC per sample: reads, segmented reads and %, reads per locus, main clone and its share (``None`` when the
    sample has no reported clone: ``reporting["note"]`` says why), diversity, ``reporting``
    (:func:`clone_reporting`)."""
    n = sample_count(fused)
    reads = fused.get("reads") or {}
    germline = reads.get("germline") or {}
    rows = []
    all_clones = clone_rows(fused, top=None)
    reporting = clone_reporting(fused)
    for sample in samples_view(fused):
        i = sample["index"]
        per_locus = {locus: int(_list(counts, n, 0)[i] or 0) for locus, counts in germline.items()}
        main = max(all_clones, key=lambda c: c["reads"][i], default=None)
        if main is not None and main["reads"][i] == 0:
            main = None
        total, segmented = sample["total_reads"], sample["segmented_reads"]
        rows.append({
            **sample,
            "segmented_percent": (100.0 * segmented / total) if total else None,
            "loci": {k: v for k, v in per_locus.items() if v},
            "main_clone": None if main is None else {"id": main["id"], "name": main["display_name"],
                                                     "reads": main["reads"][i], "share": main["shares"][i]},
            "diversity": _diversity(fused, i, n),
            "reporting": reporting[i],
        })
    return rows


def _gene(name: str | None) -> str:
    """Gene of an allele name (IGHV3-23*01 -> IGHV3-23); '?' when unknown."""
    return name.split("*", 1)[0] if name else "?"


def vj_usage(fused: dict, sample_index: int = 0) -> dict[str, dict[str, Any]]:
    """Per locus: ``{"v": [genes], "j": [genes], "reads": {v: {j: reads}}, "max": n}`` for one sample, summed
    over the clones of the fused result (the clones kept by fusion, i.e. the top clones of every sample)."""
    n = sample_count(fused)
    grids: dict[str, dict[str, Any]] = {}
    for clone in fused.get("clones") or []:
        count = _list(clone.get("reads"), n, 0)[sample_index] or 0
        if not count:
            continue
        seg = clone.get("seg") or {}
        grid = grids.setdefault(clone.get("germline") or "?", {"reads": {}})
        v, j = _gene(_seg_name(seg, "5")), _gene(_seg_name(seg, "3"))
        grid["reads"].setdefault(v, {}).setdefault(j, 0)
        grid["reads"][v][j] += int(count)
    for grid in grids.values():
        grid["v"] = sorted(grid["reads"])
        grid["j"] = sorted({j for row in grid["reads"].values() for j in row})
        grid["max"] = max((x for row in grid["reads"].values() for x in row.values()), default=0)
    return dict(sorted(grids.items()))


def vj_counted(fused: dict, sample_index: int, reporting: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the V/J grid of one sample counts: ``{"reads", "segmented_reads", "clone_reads", "followed_only",
    "note"}``. ``reads`` = reads summed in the grid (the clones of the fused result), ``clone_reads`` = reads of
    the sample's reported clones when known; ``followed_only`` is true when the grid holds fewer (clones beyond
    the top clones followed by the fuse are not in it). ``note``: e.g. "Counts the reads of the reported clones:
    961 of 1,468 segmented reads." or, without any clone, why (:func:`clone_reporting`)."""
    reporting = reporting or clone_reporting(fused)[sample_index]
    n = sample_count(fused)
    counted = sum(int(_list(c.get("reads"), n, 0)[sample_index] or 0) for c in fused.get("clones") or []
                  if isinstance(c, dict))
    segmented, listed = reporting["segmented_reads"], reporting["clone_reads"]
    followed_only = listed is not None and counted < listed
    if reporting["no_clone"]:
        note = reporting["note"]
    elif followed_only:
        note = (f"Counts the reads of the top clones followed in this result: {counted:,} of {segmented:,} "
                f"segmented reads (all the reported clones of this sample hold {listed:,}).")
    elif listed is not None:
        note = f"Counts the reads of the reported clones: {counted:,} of {segmented:,} segmented reads."
    else:
        note = f"Counts the reads of the clones of this result: {counted:,} of {segmented:,} segmented reads."
    if not reporting["no_clone"] and reporting["unreported_clones"]:
        hidden, minimum = reporting["unreported_clones"], reporting["min_reads"]
        fewer = f"fewer than {minimum:,} reads" if minimum else "fewer reads than the minimum of the analysis config"
        note += f" The {hidden:,} clone{'s' if hidden != 1 else ''} with {fewer} {'are' if hidden != 1 else 'is'} " \
                "not counted."
    return {"reads": counted, "segmented_reads": segmented, "clone_reads": listed, "followed_only": followed_only,
            "note": note}


def clone_table_tsv(fused: dict, rows: Iterable[dict[str, Any]]) -> str:
    """TSV of the clone table: one line per clone, reads and share (%) per sample."""
    samples = samples_view(fused)
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    header = ["rank", "name", "locus", "v_call", "d_call", "j_call", "cdr3_aa", "junction_aa", "productive"]
    for s in samples:
        header += [f"reads {s['name']}", f"share% {s['name']}"]
    header.append("clone_id")
    writer.writerow(header)
    for row in rows:
        line = [row["rank"], row["display_name"], row["locus"] or "", row["v"] or "", row["d"] or "", row["j"] or "",
                row["cdr3_aa"] or "", row["junction_aa"] or "", "" if row["productive"] is None else
                ("T" if row["productive"] else "F")]
        for reads, share in zip(row["reads"], row["shares"]):
            line += [reads, "" if share is None else f"{100 * share:.4f}"]
        line.append(row["id"])
        writer.writerow(line)
    return out.getvalue()


#: AIRR Rearrangement columns of the fused export: the schema's required fields first (AIRR 1.4 / airr 2.0:
#: v_cigar, d_cigar and j_cigar included, empty since a fused clone keeps no alignment), then optional AIRR fields,
#: then custom columns (``sample``, ``ratio_segmented``, ``germline``: the Vidjil system, e.g. "IGK+").
AIRR_FIELDS = ("sequence_id", "sequence", "rev_comp", "productive", "v_call", "d_call", "j_call",
               "sequence_alignment", "germline_alignment", "junction", "junction_aa", "v_cigar", "d_cigar",
               "j_cigar", "cdr3", "cdr3_aa", "locus", "duplicate_count", "clone_id", "repertoire_id", "sample",
               "ratio_segmented", "germline")

#: The AIRR ``locus`` vocabulary (controlled: IGH, IGI, IGK, IGL, TRA, TRB, TRD, TRG).
AIRR_LOCI = ("IGH", "IGI", "IGK", "IGL", "TRA", "TRB", "TRD", "TRG")


def airr_locus(germline: str | None) -> str:
    """AIRR locus of a Vidjil system: "IGH" -> "IGH", incomplete "IGK+" / "IGH+" -> "IGK" / "IGH", "TRA+D" ->
    "TRA" (the first locus named); "" when it is none of :data:`AIRR_LOCI`."""
    head = (germline or "").strip().upper()[:3]
    return head if head in AIRR_LOCI else ""


def clone_table_airr(fused: dict, top: int | None = None) -> str:
    """AIRR Rearrangement TSV, one row per (clone, sample with reads), as fuse.py ``--export-airr`` does; valid
    for ``airr.validate_rearrangement`` (every required field, empty where unknown). ``sequence_id`` =
    "<row number>-<sample number>" (unique; the rank is not: it is the best rank over samples)."""
    samples = samples_view(fused)
    clones = {c.get("id"): c for c in fused.get("clones") or []}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AIRR_FIELDS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for row in clone_rows(fused, top=top):
        clone = clones.get(row["id"]) or {}
        seg = clone.get("seg") or {}
        junction_nt = ""
        sequence = clone.get("sequence") or ""
        junction = seg.get("junction") or {}
        if sequence and isinstance(junction.get("start"), int) and isinstance(junction.get("stop"), int):
            junction_nt = sequence[junction["start"] - 1:junction["stop"]]
        for sample in samples:
            count = row["reads"][sample["index"]]
            if not count:
                continue
            share = row["shares"][sample["index"]]
            writer.writerow({
                "sequence_id": f"{row['position']}-{sample['index'] + 1}", "sequence": sequence, "rev_comp": "F",
                "productive": "" if row["productive"] is None else ("T" if row["productive"] else "F"),
                "v_call": row["v"] or "", "d_call": row["d"] or "", "j_call": row["j"] or "",
                "sequence_alignment": "", "germline_alignment": "", "junction": junction_nt,
                "junction_aa": row["junction_aa"] or "", "v_cigar": "", "d_cigar": "", "j_cigar": "",
                "cdr3": (seg.get("cdr3") or {}).get("seq") or "", "cdr3_aa": row["cdr3_aa"] or "",
                "locus": airr_locus(row["locus"]), "duplicate_count": count, "clone_id": row["id"],
                "repertoire_id": sample["sample_id"] or "", "sample": sample["name"],
                "ratio_segmented": "" if share is None else f"{share:.6g}", "germline": row["locus"] or "",
            })
    return out.getvalue()
