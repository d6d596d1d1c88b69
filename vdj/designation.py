"""Full V(D)J designation of one sequence (a clone's consensus, or any sequence).

Method (vidjil-algo's "FineSegmenter", Giraud, Salson et al., BMC Genomics 2014, 15:409, with our
own boundary and D rules):

1. Locus and strand by the k-mer detection (:mod:`vdj.detect`), or the system given.
2. V: candidate alleles of the system's 5' side pre-filtered by shared 10-mers, then local
   alignment (match +4, mismatch -6, indel -10) of each candidate; the best-scoring allele wins
   (ties: the first in germline order, reported as warning W69).
   J: local alignment of every 3' allele, from the 3' end (reversed sequences).
3. V/J boundary: the split p maximising (best V alignment ending at or before p) + (best J
   alignment starting after p); ties give the nucleotides to V. Deletions are the germline
   nucleotides outside the chosen alignment ends; N is what lies between.
4. D (systems with D genes): best local alignment of each D allele inside the N zone; kept when its
   e-value (Karlin-Altschul estimate, -E, default 0.05) is small enough; TRD may get a second D.
5. JUNCTION/CDR3 (IMGT) from the germline anchors mapped through the alignments (Cys104 of V,
   Phe/Trp118 of J), productivity (:mod:`vdj.junction`).

Entry points: :func:`designate_sequence` (one string, any germline set) and :class:`Designer`
(cached per germline set, used by the pipeline for the top clones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vdj import align
from vdj.detect import SEG, STATUS_NAMES, UNSEG_TOO_SHORT_W, detect
from vdj.junction import junction_features
from vdj.kmer import encode, encode_batch, load_or_build_index, reverse_complement

PREFILTER_K = 10
MAX_V_CANDIDATES = 12
D_EVALUE = 0.05
# Karlin-Altschul parameters for +4/-6 scoring on uniform nucleotides (lambda solves
# 0.25 e^{4l} + 0.75 e^{-6l} = 1; K a conservative constant).
KA_LAMBDA = 0.3183
KA_K = 0.2
SEVERAL_D_LOCI = ("TRD", "IGH")
# Loci with short D genes (8-13 nt): their D, often trimmed to a few nucleotides, is called with a
# looser e-value (vidjil-algo's curated TRD designations keep such Ds).
SHORT_D_LOCI = ("TRD",)
D_EVALUE_SHORT = 0.3
# E-value for a second D (several-D loci), in the zone left after the first.
SECOND_D_EVALUE = 0.05
# How far the D search zone reaches into the V and J alignments (nt), like vidjil-algo's
# EXTEND_D_ZONE (values 0/2/5 and the e-values above were compared on the curated sequences).
D_ZONE_EXTENSION = 2
# Score lost per germline nucleotide deleted at the junction side of V and J: among equally good
# alignments, the allele/end with fewer deletions wins (vidjil-algo's "deletion at ends" cost).
END_PENALTY = 1


@dataclass
class Designation:
    """Result of :func:`designate_sequence`.

    Positions in ``seg`` are 1-based inclusive on ``sequence`` (the forward-oriented input), as in
    the .vidjil format. ``name`` is vidjil's designation string (``V delV/N/delJ J`` or, with D,
    ``V delV/N1/delD5 D delD3/N2/delJ J``; N printed as the inserted nucleotides).
    """

    detected: bool
    system: str | None = None
    locus: str | None = None
    v_call: str | None = None
    d_call: str | None = None
    j_call: str | None = None
    name: str = ""
    seg: dict = field(default_factory=dict)
    junction: str | None = None
    junction_aa: str | None = None
    cdr3: str | None = None
    cdr3_aa: str | None = None
    productive: bool | None = None
    unproductive_reason: str | None = None
    evalue: float | None = None
    evalue_left: float | None = None
    evalue_right: float | None = None
    status: str = ""
    sequence: str = ""
    rev_comp: bool = False
    d_calls: list[str] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    airr: dict = field(default_factory=dict)
    vj_in_frame: bool | None = None
    stop_codon: bool | None = None


@dataclass
class _Side:
    """Encoded alleles of one side of a system and their 10-mer lookup."""

    alleles: list
    codes: list
    kmer_alleles: dict


def _kmer_keys(codes: np.ndarray, k: int) -> np.ndarray:
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    for offset in range(k):
        column = codes[offset:offset + n].astype(np.int64)
        valid &= column < 4
        keys = (keys << 2) | (column & 3)
    return np.unique(keys[valid])


def _build_side(alleles) -> _Side:
    codes = [encode(a.sequence.upper()) for a in alleles]
    lookup: dict[int, list[int]] = {}
    for i, c in enumerate(codes):
        for key in _kmer_keys(c, PREFILTER_K).tolist():
            lookup.setdefault(key, []).append(i)
    return _Side(list(alleles), codes, {k: np.array(v, dtype=np.int64) for k, v in lookup.items()})


def _format_evalue(value: float | None) -> dict:
    return {"val": "%.3e" % value} if value is not None else {"val": "1"}


def _d_evalue(score: int, zone_length: int, total_d_length: int) -> float:
    if score <= 0:
        return math.inf
    return KA_K * zone_length * total_d_length * math.exp(-KA_LAMBDA * score)


class Designer:
    """Designation against one germline set (indexes and encoded alleles built once).

    ``index``: a :class:`vdj.kmer.KmerIndex` of the same systems (built/cached when omitted).
    """

    def __init__(self, germlines, index=None, d_evalue: float = D_EVALUE, evalue_threshold: float = 1.0,
                 d_evalue_short: float | None = None):
        self.germlines = germlines
        self.systems = list(germlines.systems.values())
        self.index = index or load_or_build_index(self.systems, germline_directory=getattr(germlines, "directory", None))
        self.d_evalue = d_evalue
        self.second_d_evalue = SECOND_D_EVALUE
        self.d_evalue_short = D_EVALUE_SHORT if d_evalue_short is None else d_evalue_short
        self.evalue_threshold = evalue_threshold
        self._sides: dict[tuple[str, str], _Side] = {}

    def _side(self, system, which: str) -> _Side:
        key = (system.name, which)
        side = self._sides.get(key)
        if side is None:
            side = _build_side(getattr(system, which))
            self._sides[key] = side
        return side

    # -- detection -------------------------------------------------------------------------
    def detect_one(self, sequence: str, multiplier: float | None = None):
        """k-mer detection of one sequence: (status, system index, strand, log10 e, left, right)."""
        codes, offsets = encode_batch([sequence])
        if multiplier is None:
            multiplier = float(self.index.n_systems)
        result = detect(codes, offsets, self.index, 50, multiplier, self.evalue_threshold)
        return (int(result.status[0]), int(result.system[0]), int(result.strand[0]),
                float(result.log10_evalue[0]), float(result.log10_evalue_left[0]),
                float(result.log10_evalue_right[0]))

    # -- designation -----------------------------------------------------------------------
    def designate(self, sequence: str, system: str | None = None, multiplier: float | None = None) -> Designation:
        """Designate ``sequence`` (see module docstring). ``system`` forces the germline system.

        Raises KeyError for a system name not in the germline set.
        """
        clean = "".join(sequence.split()).upper()
        status, s_index, strand, log_e, log_left, log_right = self.detect_one(clean, multiplier)
        evalue = 10 ** log_e if log_e < 300 else None
        evalue_left = 10 ** log_left if log_left < 300 else None
        evalue_right = 10 ** log_right if log_right < 300 else None
        if system is not None:
            chosen = self.germlines.systems[system]
            if status not in (SEG, UNSEG_TOO_SHORT_W) or self.systems[s_index].name != system:
                strand = self._best_strand(clean, chosen) if s_index < 0 or status not in (SEG, UNSEG_TOO_SHORT_W) else strand
        else:
            if status not in (SEG, UNSEG_TOO_SHORT_W) or s_index < 0:
                return Designation(detected=False, status=STATUS_NAMES[status], sequence=clean,
                                   name="", evalue=evalue, evalue_left=evalue_left, evalue_right=evalue_right)
            chosen = self.systems[s_index]
        oriented = reverse_complement(clean) if strand == 1 else clean
        designation = self._designate_oriented(oriented, chosen)
        designation.rev_comp = strand == 1
        designation.status = "SEG"
        designation.evalue = evalue
        designation.evalue_left = evalue_left
        designation.evalue_right = evalue_right
        designation.seg["evalue"] = _format_evalue(evalue)
        designation.seg["evalue_left"] = _format_evalue(evalue_left)
        designation.seg["evalue_right"] = _format_evalue(evalue_right)
        return designation

    def _best_strand(self, sequence: str, system) -> int:
        scores = []
        for candidate in (sequence, reverse_complement(sequence)):
            codes = encode(candidate)
            v = self._best_alleles(codes, self._side(system, "five"), 3, reverse=False)
            scores.append(v[0][1] if v else 0)
        return 0 if scores[0] >= scores[1] else 1

    def _candidates(self, codes: np.ndarray, side: _Side, limit: int) -> list[int]:
        keys = _kmer_keys(codes, PREFILTER_K)
        counts = np.zeros(len(side.alleles), dtype=np.int64)
        for key in keys.tolist():
            hit = side.kmer_alleles.get(key)
            if hit is not None:
                counts[hit] += 1
        if len(side.alleles) <= limit:
            return list(range(len(side.alleles)))
        order = np.argsort(-counts, kind="stable")
        cutoff = counts[order[limit - 1]]
        chosen = [int(i) for i in order if counts[i] >= max(cutoff, 1)]
        return chosen[:3 * limit] if chosen else [int(i) for i in order[:limit]]

    def _best_alleles(self, codes: np.ndarray, side: _Side, limit: int, reverse: bool):
        """[(allele index, max score, scores, germ_ends, h)] sorted by score (best first)."""
        results = []
        read = codes[::-1].copy() if reverse else codes
        for i in self._candidates(codes, side, limit):
            germ = side.codes[i][::-1].copy() if reverse else side.codes[i]
            h = align.score_matrix(read, germ, align.MATCH, align.MISMATCH, align.GAP)
            scores, ends = align.end_scores_from_matrix(h, END_PENALTY)
            results.append((i, int(scores.max()) if len(scores) else 0, scores, ends, h))
        results.sort(key=lambda r: -r[1])
        return results

    def _designate_oriented(self, sequence: str, system) -> Designation:
        codes = encode(sequence)
        n = len(codes)
        five = self._side(system, "five")
        three = self._side(system, "three")
        v_results = self._best_alleles(codes, five, MAX_V_CANDIDATES, reverse=False)
        j_results = self._best_alleles(codes, three, 10 ** 6, reverse=True)
        designation = Designation(detected=True, system=system.name, locus=system.locus, sequence=sequence)
        if not v_results or not j_results or v_results[0][1] <= 0 or j_results[0][1] <= 0:
            designation.detected = False
            designation.name = f"Possibly {system.name}"
            designation.warnings.append({"code": "W68", "msg": "V(D)J designation failed", "level": "warn"})
            return designation
        v_index, v_best, v_scores, v_ends, v_h = v_results[0]
        j_index, j_best, j_scores_rev, j_starts_rev, j_h = j_results[0]
        ties = [r for r in v_results[1:] if r[1] == v_best] + [r for r in j_results[1:] if r[1] == j_best]
        v_allele = five.alleles[v_index]
        j_allele = three.alleles[j_index]
        v_germ = five.codes[v_index]
        j_germ = three.codes[j_index]
        # J arrays in forward read coordinates: j_scores[p] = best J alignment starting at p
        j_scores = j_scores_rev[::-1]
        # 3. split maximising prefix-max V + suffix-max J
        prefix_best = np.maximum.accumulate(v_scores)
        suffix_best = np.maximum.accumulate(j_scores[::-1])[::-1]
        totals = np.full(n, -1, dtype=np.int64)
        totals[:-1] = prefix_best[:-1].astype(np.int64) + suffix_best[1:]
        split = int(np.flatnonzero(totals == totals.max())[-1])
        v_end = int(np.flatnonzero(v_scores[:split + 1] == prefix_best[split])[0])  # inclusive
        j_start = split + 1 + int(np.flatnonzero(j_scores[split + 1:] == suffix_best[split + 1])[0])
        if prefix_best[split] <= 0 or suffix_best[split + 1] <= 0:
            designation.detected = False
            designation.name = f"Possibly {system.name}"
            designation.warnings.append({"code": "W68", "msg": "V(D)J designation failed", "level": "warn"})
            return designation
        v_germ_end = int(v_ends[v_end])  # exclusive
        v_rp, v_gp = align.traceback(codes, v_germ, v_h, v_germ_end, v_end + 1, align.MATCH, align.MISMATCH, align.GAP)
        j_rev_end = n - j_start  # exclusive end in reversed read
        j_germ_rev_end = int(j_starts_rev[j_rev_end - 1])
        rev_rp, rev_gp = align.traceback(codes[::-1].copy(), j_germ[::-1].copy(), j_h, j_germ_rev_end, j_rev_end,
                                         align.MATCH, align.MISMATCH, align.GAP)
        j_rp = np.where(rev_rp >= 0, n - 1 - rev_rp, -1)[::-1]
        j_gp = np.where(rev_gp >= 0, len(j_germ) - 1 - rev_gp, -1)[::-1]
        j_germ_start = len(j_germ) - j_germ_rev_end
        v_start = int(v_rp[v_rp >= 0][0])
        v_germ_start = int(v_gp[v_gp >= 0][0])
        j_end = int(j_rp[j_rp >= 0][-1])  # inclusive
        j_germ_end = int(j_gp[j_gp >= 0][-1]) + 1
        del_v = len(v_germ) - v_germ_end
        del_j = j_germ_start
        # 4. D genes in the N zone
        d_hits = []
        if system.d:
            # the D zone reaches D_ZONE_EXTENSION nt into V and J; a D overlapping V is trimmed
            # (V first), a D overlapping J trims J (nucleotides matching both D and J go to D,
            # as vidjil-algo resolves overlaps)
            zone_start = max(v_start, v_end + 1 - D_ZONE_EXTENSION)
            zone_end = min(j_end + 1, j_start + D_ZONE_EXTENSION)
            d_hits = self._find_d(codes, zone_start, zone_end, system)
            trimmed = []
            for d_allele, r0, r1, g0, g1, d_len in d_hits:
                if r0 <= v_end:
                    g0 += v_end + 1 - r0
                    r0 = v_end + 1
                if g1 - g0 >= 1 and r1 > r0:
                    trimmed.append((d_allele, r0, r1, g0, g1, d_len))
            d_hits = trimmed
            if d_hits and d_hits[-1][2] > j_start:
                new_start = d_hits[-1][2]
                keep = np.flatnonzero(j_rp >= new_start)
                if len(keep) and new_start <= j_end:
                    first = int(keep[0])
                    j_rp, j_gp = j_rp[first:], j_gp[first:]
                    j_start = int(j_rp[j_rp >= 0][0])
                    j_germ_start = int(j_gp[j_gp >= 0][0])
                    del_j = j_germ_start
                else:
                    d_hits = d_hits[:-1]
        # names and seg
        seg: dict = {
            "5": {"name": v_allele.name, "start": v_start + 1, "stop": v_end + 1, "delRight": del_v},
            "3": {"name": j_allele.name, "start": j_start + 1, "stop": j_end + 1, "delLeft": del_j},
        }
        parts = [v_allele.name]
        previous_end = v_end + 1
        previous_del = del_v
        inserts = []
        for k, hit in enumerate(d_hits):
            d_allele, r0, r1, g0, g1, d_len = hit
            inserted = sequence[previous_end:r0]
            inserts.append(inserted)
            parts.append(f"{previous_del}/{inserted}/{g0}")
            parts.append(d_allele.name)
            key = "4" if len(d_hits) == 1 else "4" + "abc"[k]
            seg[key] = {"name": d_allele.name, "start": r0 + 1, "stop": r1, "delLeft": g0, "delRight": d_len - g1}
            previous_end = r1
            previous_del = d_len - g1
        inserted = sequence[previous_end:j_start]
        inserts.append(inserted)
        parts.append(f"{previous_del}/{inserted}/{del_j}")
        parts.append(j_allele.name)
        if len(inserts) == 1:
            seg["N"] = len(inserts[0])
        else:
            for k, ins in enumerate(inserts, start=1):
                seg[f"N{k}"] = len(ins)
        designation.name = " ".join(parts)
        designation.v_call = v_allele.name
        designation.j_call = j_allele.name
        designation.d_calls = [h[0].name for h in d_hits]
        designation.d_call = ",".join(designation.d_calls) or None
        if ties:
            names = sorted({five.alleles[r[0]].name for r in v_results if r[1] == v_best} |
                           {three.alleles[r[0]].name for r in j_results if r[1] == j_best})
            designation.warnings.append({"code": "W69", "level": "info",
                                         "msg": "Several genes with equal probability: " + ", ".join(names)})
        # 5. junction
        cys = self._map_anchor(v_allele.anchor, v_rp, v_gp, v_end, v_germ_end, side=5)
        phe = self._map_anchor(j_allele.anchor, j_rp, j_gp, j_start, j_germ_start, side=3)
        features = None
        if cys is not None and phe is not None:
            features = junction_features(sequence, cys, phe, system.locus, coding_start=v_start,
                                         coding_end=j_end + 1, j_start=j_start)
        if features is not None:
            designation.junction = features.junction
            designation.junction_aa = features.junction_aa
            designation.cdr3 = features.cdr3
            designation.cdr3_aa = features.cdr3_aa
            designation.productive = features.productive
            designation.unproductive_reason = features.unproductive_reason
            designation.vj_in_frame = features.in_frame
            designation.stop_codon = features.stop_codon
            junction_seg = {"start": features.junction_start + 1, "stop": features.junction_end,
                            "aa": features.junction_aa, "productive": features.productive}
            if features.unproductive_reason:
                junction_seg["unproductive"] = features.unproductive_reason
            seg["junction"] = junction_seg
            seg["cdr3"] = {"start": features.cdr3_start + 1, "stop": features.cdr3_end,
                           "seq": features.cdr3, "aa": features.cdr3_aa}
        designation.seg = seg
        d_first = d_hits[0] if d_hits else None
        designation.airr = {
            "v_sequence_start": v_start + 1, "v_sequence_end": v_end + 1,
            "v_germline_start": v_germ_start + 1, "v_germline_end": v_germ_end,
            "j_sequence_start": j_start + 1, "j_sequence_end": j_end + 1,
            "j_germline_start": j_germ_start + 1, "j_germline_end": j_germ_end,
            "v_cigar": align.cigar(v_rp, v_gp, n, v_germ_start),
            "j_cigar": align.cigar(j_rp, j_gp, n, j_germ_start),
            "v_score": int(v_best), "j_score": int(j_best),
            "np1": inserts[0], "np1_length": len(inserts[0]),
        }
        if d_first is not None:
            _, r0, r1, g0, g1, _ = d_first
            designation.airr.update({"d_sequence_start": r0 + 1, "d_sequence_end": r1,
                                     "d_germline_start": g0 + 1, "d_germline_end": g1,
                                     "d_cigar": f"{r0}S{g0}N{r1 - r0}M{n - r1}S" if r1 > r0 else "",
                                     "np2": inserts[-1], "np2_length": len(inserts[-1])})
        if features is not None:
            designation.airr.update({"junction_start": features.junction_start + 1,
                                     "junction_end": features.junction_end,
                                     "cdr3_start": features.cdr3_start + 1, "cdr3_end": features.cdr3_end})
        return designation

    @staticmethod
    def _map_anchor(anchor, read_pos, germ_pos, read_edge, germ_edge, side):
        """Read position of germline position ``anchor`` through the alignment path; outside the
        aligned part, extrapolated from the alignment edge next to the junction."""
        if anchor is None:
            return None
        hits = np.flatnonzero(germ_pos == anchor)
        if len(hits) and read_pos[hits[0]] >= 0:
            return int(read_pos[hits[0]])
        if side == 5:
            return read_edge + 1 + (anchor - germ_edge)
        return read_edge + (anchor - germ_edge)

    def _find_d(self, codes: np.ndarray, zone_start: int, zone_end: int, system):
        """D hits [(allele, read_start, read_end, germ_start, germ_end, d_length)] in the zone.

        The best-scoring D allele whose e-value passes the threshold (``d_evalue``, or
        ``d_evalue_short`` for loci with short D genes, TRD); then, for loci that recombine
        several D (SEVERAL_D_LOCI), a second D of another gene in the zone left of the first
        (a gene upstream in the locus) or right of it (downstream), with the zone and D set
        reduced accordingly.
        """
        side = self._side(system, "d")
        several = any(a.locus in SEVERAL_D_LOCI for a in side.alleles)
        short = any(a.locus in SHORT_D_LOCI for a in side.alleles)
        threshold = self.d_evalue_short if short else self.d_evalue
        genes = sorted({a.gene for a in side.alleles}, key=_gene_order)
        hits = []
        zones = [(zone_start, zone_end, set(genes))]
        for _round in range(2 if several else 1):
            best = None
            for z0, z1, allowed in zones:
                if z1 - z0 < 3 or not allowed:
                    continue
                total_length = sum(len(c) for a, c in zip(side.alleles, side.codes) if a.gene in allowed)
                zone = codes[z0:z1].copy()
                for i, germ in enumerate(side.codes):
                    if side.alleles[i].gene not in allowed:
                        continue
                    score, r0, r1, g0, g1 = align.best_local(zone, germ, align.MATCH, align.MISMATCH, align.GAP)
                    if score <= 0:
                        continue
                    e = _d_evalue(score, z1 - z0, total_length)
                    limit = threshold if _round == 0 else self.second_d_evalue
                    if e <= limit and (best is None or score > best[0]):
                        best = (score, (side.alleles[i], z0 + r0, z0 + r1, g0, g1, len(germ)), (z0, z1, allowed))
            if best is None:
                break
            hit = best[1]
            hits.append(hit)
            z0, z1, _ = best[2]
            rank = genes.index(hit[0].gene)
            zones = [(z0, hit[1], set(genes[:rank])), (hit[2], z1, set(genes[rank + 1:]))]
        hits.sort(key=lambda h: h[1])
        return hits


def _gene_order(gene: str) -> tuple:
    """Sort key of gene names in locus order: IGHD2-2 < IGHD3-9 < IGHD3-10, TRDD1 < TRDD2."""
    import re

    return tuple(int(n) if n.isdigit() else n for n in re.split(r"(\d+)", gene))


_DESIGNERS: dict[int, Designer] = {}


def designate_sequence(seq: str, germlines, system: str | None = None) -> Designation:
    """Designate one nucleotide sequence against ``germlines`` (a :class:`vdj.germline.GermlineSet`).

    ``system``: force a germline system ("IGH", "TRA+D", ...) instead of the k-mer detection.
    Returns a :class:`Designation` (``detected`` False when no recombination is found; ``status``
    then gives vidjil's reason, e.g. "UNSEG only V/5'"). The e-value uses a multiplier of the
    number of systems (one sequence). Designers are cached per germline set.

    Raises KeyError when ``system`` is not in ``germlines.systems``.
    """
    designer = _DESIGNERS.get(id(germlines))
    if designer is None or designer.germlines is not germlines:
        designer = Designer(germlines)
        _DESIGNERS[id(germlines)] = designer
    return designer.designate(seq, system=system)
