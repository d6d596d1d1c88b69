"""Per-read V(D)J detection: locus, strand, e-value, junction position and window.

Method (Giraud, Salson et al., BMC Genomics 2014, 15:409, section "Detecting V(D)J
recombinations"), with changes marked *:

1. Every spaced-seed k-mer of the read is looked up in the dense index (:mod:`vdj.kmer`); each hit
   adds one to the counters of its (system, side, strand) labels.
2. Strand: the strand with more positions hit wins if it has more than twice the positions of the
   other; otherwise ``UNSEG strand`` (when at least 5 positions are hit) or ``too few V/J``.
3. For each system, on that strand: e-value of each side = P(at least that many hits among the
   read's k-mer positions by chance) (binomial tail with the side's index density) x multiplier
   (number of systems x number of reads); e-value = left + right; the best system is the one with
   the smallest e-value; detected when it is <= the threshold (default 1).
4. * Junction: each hit k-mer carries its offset to its gene's reference point (Cys104 for V,
   after Phe/Trp118 for J, segment ends otherwise); the most frequent estimate among the side's
   hits gives the read position of each reference point. This is exact under substitutions and
   SHM, unlike the boundary of the last V k-mer / first J k-mer, which moves with mutations.
5. Window: ``w`` nt centred on the middle of the two reference points (the junction centre), on
   the forward-oriented read (minus-strand reads are reverse-complemented). If it does not fit in
   the read, it is shrunk symmetrically around the same centre (``SEG changed w``, W50) down to
   ``min(w, 30)`` nt, else ``UNSEG too short w``. Shrunk windows are centred substrings of the
   full window, so clustering can put them back into their clone.

The kernel :func:`detect_kernel` is compiled by numba (cached on disk) and processes a batch of
reads concatenated in one uint8 array; it holds no Python objects and releases the GIL.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from vdj.statuses import (  # noqa: F401  (re-exported)
    SEG, STATUS_NAMES, UNSEG_AMBIGUOUS, UNSEG_ONLY_J, UNSEG_ONLY_V, UNSEG_STRAND, UNSEG_TOO_FEW,
    UNSEG_TOO_SHORT, UNSEG_TOO_SHORT_W, UNSEG_UNEXPECTED,
)

NO_POSITION = -(1 << 30)
MIN_SHRUNK_WINDOW = 30
# Distance between the 5' and 3' reference points (for anchored genes: the IMGT junction length,
# Cys104..Phe/Trp118 inclusive). Shorter than 2 codons or longer than 300 nt is not a junction;
# un-anchored segments (D, intron, KDE) with large deletions may give small negative values.
MIN_JUNCTION_SPAN = 6
MIN_UNANCHORED_SPAN = -30
MAX_JUNCTION_SPAN = 300
# A read whose 3' (5') side is this much more significant (natural log) for another system than for
# the chosen one joins genes of two loci (chimera, PCR artefact): "UNSEG unexpected".
CHIMERA_MARGIN = 23.0
# Hits (with offsets) used to place each reference point: those nearest to the junction.
NEAR_JUNCTION_HITS = 16
# The conditional test of a side looks this far (nt) from the other side's reference point.
RESCUE_REGION = 150


@numba.njit(cache=True, nogil=True)
def _log_binomial_tail(n, p, k):
    """log P(X >= k) for X ~ Binomial(n, p) (0.0 when k <= n p: not significant)."""
    if k <= 0 or p <= 0.0:
        return 0.0 if k <= 0 else -1e300
    if k > n:
        return -1e300
    if k <= n * p:
        return 0.0
    log_term = (math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)
                + k * math.log(p) + (n - k) * math.log1p(-p))
    # sum of the following terms relative to the first: ratio decreases, stop when negligible
    total = 1.0
    ratio_term = 1.0
    odds = p / (1.0 - p)
    i = k
    while i < n:
        ratio_term *= (n - i) / (i + 1.0) * odds
        total += ratio_term
        if ratio_term < 1e-6 * total:
            break
        i += 1
    return log_term + math.log(total)


@numba.njit(cache=True, nogil=True)
def _mode(values, n):
    """Most frequent value of values[:n] (ties: the smallest); values are sorted in place."""
    v = values[:n]
    v.sort()
    best = v[0]
    best_count = 1
    run = 1
    for i in range(1, n):
        if v[i] == v[i - 1]:
            run += 1
        else:
            run = 1
        if run > best_count:
            best_count = run
            best = v[i]
    return best


INVALID = 0xFFFFFFFF  # a seed position with a non-ACGT nucleotide (never a table value)
DELTA_BIAS = 1 << 19
MASK_BITS = 12
MASK_FIELD = (1 << MASK_BITS) - 1


@numba.njit(cache=True, nogil=True)
def _oriented(p, length, span, strand):
    return p if strand == 0 else length - p - span


@numba.njit(cache=True, nogil=True)
def _side_reference(hits, n_positions, length, span, strand, label, has_label, side, estimates, hitpos):
    """Reference point of one side (label) on the oriented read: the most frequent estimate from
    the offsets of the NEAR_JUNCTION_HITS hits nearest to the junction (an indel in the read
    between a hit and the junction moves that hit's estimate); without offsets, the end of the
    last 5' hit / start of the first 3' hit.
    Returns (reference, number of hits, median hit position, whether offsets were used)."""
    n_est = 0
    n_hits = 0
    for p in range(n_positions):
        value = hits[p]
        if value == 0 or value == INVALID:
            continue
        mi = value & MASK_FIELD
        if not has_label[mi, label]:
            continue
        q = _oriented(p, length, span, strand)
        hitpos[n_hits] = q
        n_hits += 1
        delta_field = np.int64(value >> MASK_BITS)
        if delta_field != 0:
            estimates[n_est] = q - (delta_field - DELTA_BIAS)
            n_est += 1
    if n_hits == 0:
        return NO_POSITION, 0, NO_POSITION, False
    ordered = hitpos[:n_hits]
    ordered.sort()
    median = ordered[n_hits // 2]
    if n_est > 0:
        # estimates are in read order: the hits nearest to the junction are the last ones for a
        # 5' side on the + strand or a 3' side on the - strand, the first ones otherwise
        keep = min(n_est, NEAR_JUNCTION_HITS)
        if (side == 0) == (strand == 0):
            first = n_est - keep
        else:
            first = 0
        return _mode(estimates[first:first + keep], keep), n_hits, median, True
    if side == 0:
        return ordered[n_hits - 1] + span, n_hits, median, False
    return ordered[0], n_hits, median, False


@numba.njit(cache=True, nogil=True)
def _region_counts(hits, n_positions, length, span, strand, label, has_label, lo, hi):
    """(hits of ``label``, valid positions) among seed positions whose oriented start q is in
    [lo, hi)."""
    k = 0
    n = 0
    for p in range(n_positions):
        value = hits[p]
        if value == INVALID:
            continue
        q = _oriented(p, length, span, strand)
        if q < lo or q >= hi:
            continue
        n += 1
        if value != 0 and has_label[value & MASK_FIELD, label]:
            k += 1
    return k, n


@numba.njit(cache=True, nogil=True)
def _log_sum(a, b):
    hi = max(a, b)
    return hi + math.log1p(math.exp(min(a, b) - hi))


@numba.njit(cache=True, nogil=True)
def _best_system(log_lefts, log_rights, n_systems):
    """Index of the system with the smallest log_left + log_right (the product of the p-values of
    its two sides: the system that explains the read best), -1 when no system has hits."""
    best = -1
    best_score = 1e308
    for s in range(n_systems):
        if log_lefts[s] >= 1e300 and log_rights[s] >= 1e300:
            continue
        score = log_lefts[s] + log_rights[s]
        if score < best_score:
            best_score = score
            best = s
    return best


@numba.njit(cache=True, nogil=True)
def detect_kernel(codes, offsets, table, mask_labels, mask_n, mask_strands, has_label, density,
                  n_systems, seed_blocks, span,
                  log_multiplier, log_threshold, window, status, system_out, strand_out,
                  window_start, window_length, ref5_out, ref3_out, evalue_out, evalue_left_out,
                  evalue_right_out):
    """Detect the recombination of each read of a batch (see module docstring).

    Args:
        codes: uint8 2-bit codes of all reads (4 = not ACGT); offsets: int64[n_reads + 1].
        table, density: the index (:class:`vdj.kmer.KmerIndex`); mask_labels, mask_n,
            mask_strands, has_label: its label masks unpacked (:func:`unpack_masks`).
        seed_blocks: int64[n_blocks, 3] (right shift, bit mask, bits) extracting each run of '#' of
            the seed from the 2-bit code of the span (first nucleotide in the high bits)
            (:attr:`vdj.kmer.Seed.blocks`); span: its length.
        log_multiplier: ln(number of systems x number of reads); log_threshold: ln(max e-value).
        window: window length w (nt).
    Outputs (one element per read): status code, system index (-1), strand (0 +, 1 -), window
    start/length on the oriented read, reference points 5'/3' on the oriented read, and
    log10 e-values total/left/right.

    When one side is significant over the whole read but the other is not, the other side is
    re-tested only where it can be (3' side after the 5' reference point, 5' side before the 3'
    one): a J that the read cuts short after the junction is then still detected. This is a
    conditional test on a region chosen from the other side's hits, so it keeps its e-value
    meaning.
    """
    n_reads = offsets.shape[0] - 1
    n_labels = 4 * n_systems
    counts = np.zeros(n_labels, dtype=np.int64)
    log_lefts = np.zeros(n_systems, dtype=np.float64)
    log_rights = np.zeros(n_systems, dtype=np.float64)
    n_blocks = seed_blocks.shape[0]
    span_mask = (np.int64(1) << np.int64(2 * span)) - 1
    max_len = 0
    for r in range(n_reads):
        length = offsets[r + 1] - offsets[r]
        if length > max_len:
            max_len = length
    hits = np.zeros(max(max_len, 1), dtype=np.uint32)
    estimates = np.zeros(max(max_len, 1), dtype=np.int64)
    hitpos = np.zeros(max(max_len, 1), dtype=np.int64)
    log10 = math.log(10.0)
    for r in range(n_reads):
        start = offsets[r]
        length = offsets[r + 1] - start
        system_out[r] = -1
        strand_out[r] = 0
        window_start[r] = 0
        window_length[r] = 0
        ref5_out[r] = NO_POSITION
        ref3_out[r] = NO_POSITION
        evalue_out[r] = 300.0
        evalue_left_out[r] = 300.0
        evalue_right_out[r] = 300.0
        n_positions = length - span + 1
        if n_positions <= 0:
            status[r] = UNSEG_TOO_SHORT
            continue
        for i in range(n_labels):
            counts[i] = 0
        plus_positions = 0
        minus_positions = 0
        valid_positions = 0
        # 1. look up every seed position (rolling 2-bit code of the span; a non-ACGT nucleotide
        # anywhere in the span makes the position invalid)
        rolling = np.int64(0)
        last_invalid = -1
        for i in range(span - 1):
            c = codes[start + i]
            if c > 3:
                last_invalid = i
                c = 0
            rolling = ((rolling << 2) | c) & span_mask
        for p in range(n_positions):
            i = p + span - 1
            c = codes[start + i]
            if c > 3:
                last_invalid = i
                c = 0
            rolling = ((rolling << 2) | c) & span_mask
            if last_invalid >= p:
                hits[p] = INVALID
                continue
            key = np.int64(0)
            for b in range(n_blocks):
                key = (key << seed_blocks[b, 2]) | ((rolling >> seed_blocks[b, 0]) & seed_blocks[b, 1])
            valid_positions += 1
            value = table[key]
            hits[p] = value
            if value == 0:
                continue
            mi = value & MASK_FIELD
            if mask_strands[mi] & 1:
                plus_positions += 1
            if mask_strands[mi] & 2:
                minus_positions += 1
            for j in range(mask_n[mi]):
                counts[mask_labels[mi, j]] += 1
        if valid_positions == 0:
            status[r] = UNSEG_TOO_FEW
            continue
        # 2. strand
        if plus_positions > 2 * minus_positions:
            strand = 0
        elif minus_positions > 2 * plus_positions:
            strand = 1
        else:
            status[r] = UNSEG_STRAND if plus_positions + minus_positions >= 5 else UNSEG_TOO_FEW
            continue
        # 3. e-values per system; the system that explains the read best is the one with the
        # smallest product of its two p-values (sum of logs), the detection test is on its e-value
        min_left = 1e300
        min_right = 1e300
        any_system = False
        # systems with less than half the hits of the best one cannot explain the read better:
        # skip their (costly) e-values
        max_total = 0
        for s in range(n_systems):
            total = counts[4 * s + strand] + counts[4 * s + 2 + strand]
            if total > max_total:
                max_total = total
        for s in range(n_systems):
            l5 = 4 * s + strand
            l3 = 4 * s + 2 + strand
            log_lefts[s] = 1e300
            log_rights[s] = 1e300
            if counts[l5] == 0 and counts[l3] == 0:
                continue
            if 2 * (counts[l5] + counts[l3]) < max_total:
                continue
            any_system = True
            log_lefts[s] = _log_binomial_tail(valid_positions, density[l5], counts[l5]) + log_multiplier
            log_rights[s] = _log_binomial_tail(valid_positions, density[l3], counts[l3]) + log_multiplier
            if log_lefts[s] < min_left:
                min_left = log_lefts[s]
            if log_rights[s] < min_right:
                min_right = log_rights[s]
        if not any_system:
            status[r] = UNSEG_TOO_FEW
            continue
        best_system = _best_system(log_lefts, log_rights, n_systems)
        best_log_e = _log_sum(log_lefts[best_system], log_rights[best_system])
        # 3b. one side significant: test the other side where it can be
        if best_log_e > log_threshold:
            for s in range(n_systems):
                l5 = 4 * s + strand
                l3 = 4 * s + 2 + strand
                if counts[l5] == 0 or counts[l3] == 0:
                    continue
                if log_lefts[s] <= log_threshold:
                    ref, nh, med, anchored = _side_reference(hits, n_positions, length, span, strand, l5, has_label, 0,
                                                   estimates, hitpos)
                    k, n = _region_counts(hits, n_positions, length, span, strand, l3, has_label, ref,
                                          ref + RESCUE_REGION)
                    if k > 0:
                        log_rights[s] = min(log_rights[s], _log_binomial_tail(n, density[l3], k) + log_multiplier)
                elif log_rights[s] <= log_threshold:
                    ref, nh, med, anchored = _side_reference(hits, n_positions, length, span, strand, l3, has_label, 1,
                                                   estimates, hitpos)
                    k, n = _region_counts(hits, n_positions, length, span, strand, l5, has_label,
                                          ref - RESCUE_REGION, ref - span + 1)
                    if k > 0:
                        log_lefts[s] = min(log_lefts[s], _log_binomial_tail(n, density[l5], k) + log_multiplier)
            best_system = _best_system(log_lefts, log_rights, n_systems)
            best_log_e = _log_sum(log_lefts[best_system], log_rights[best_system])
        best_left = log_lefts[best_system]
        best_right = log_rights[best_system]
        evalue_out[r] = best_log_e / log10
        evalue_left_out[r] = best_left / log10
        evalue_right_out[r] = best_right / log10
        system_out[r] = best_system
        strand_out[r] = strand
        if best_log_e > log_threshold:
            if min_left <= log_threshold and min_right <= log_threshold:
                status[r] = UNSEG_UNEXPECTED
            elif min_left <= log_threshold:
                status[r] = UNSEG_ONLY_V
            elif min_right <= log_threshold:
                status[r] = UNSEG_ONLY_J
            else:
                status[r] = UNSEG_TOO_FEW
            continue
        # 3c. chimeras: another system's 3' (or 5') side far more significant than the chosen
        # system's means the read joins genes of two loci
        chimera = False
        for s in range(n_systems):
            if s == best_system:
                continue
            for side in range(2):
                label_other = 4 * s + 2 * side + strand
                label_best = 4 * best_system + 2 * side + strand
                if counts[label_other] <= counts[label_best]:
                    continue
                log_other = _log_binomial_tail(valid_positions, density[label_other], counts[label_other]) + log_multiplier
                log_mine = best_right if side == 1 else best_left
                if log_other <= log_threshold and log_other < log_mine - CHIMERA_MARGIN:
                    chimera = True
        if chimera:
            status[r] = UNSEG_UNEXPECTED
            continue
        # 4. reference points from the hits of the chosen system and strand
        ref5, h5, median5, anchored5 = _side_reference(hits, n_positions, length, span, strand, 4 * best_system + strand,
                                            has_label, 0, estimates, hitpos)
        ref3, h3, median3, anchored3 = _side_reference(hits, n_positions, length, span, strand, 4 * best_system + 2 + strand,
                                            has_label, 1, estimates, hitpos)
        ref5_out[r] = ref5
        ref3_out[r] = ref3
        # hits interleaved: the 5' gene must come before the 3' one, and the junction they
        # delimit must have a possible length
        if h5 == 0 or h3 == 0 or median5 >= median3:
            status[r] = UNSEG_AMBIGUOUS
            continue
        min_span = MIN_JUNCTION_SPAN if anchored5 and anchored3 else MIN_UNANCHORED_SPAN
        if ref3 - ref5 < min_span or ref3 - ref5 > MAX_JUNCTION_SPAN:
            status[r] = UNSEG_AMBIGUOUS
            continue
        # 5. window centred on the junction
        centre = (ref5 + ref3) // 2
        w_start = centre - window // 2
        if w_start >= 0 and w_start + window <= length:
            window_start[r] = w_start
            window_length[r] = window
            status[r] = SEG
            continue
        half = min(centre, length - centre, window // 2)
        if 2 * half < min(window, MIN_SHRUNK_WINDOW):
            status[r] = UNSEG_TOO_SHORT_W
            continue
        window_start[r] = centre - half
        window_length[r] = 2 * half
        status[r] = SEG


def unpack_masks(index):
    """Per mask index: its labels (int16[n_masks, 64]), how many, strand bits (1 +, 2 -), and a
    (n_masks, n_labels) uint8 membership matrix. Cached on the index."""
    cached = index.extra.get("unpacked")
    if cached is not None:
        return cached
    n_masks = len(index.masks)
    n_labels = 4 * index.n_systems
    mask_labels = np.zeros((n_masks, 64), dtype=np.int16)
    mask_n = np.zeros(n_masks, dtype=np.int64)
    mask_strands = np.zeros(n_masks, dtype=np.uint8)
    has_label = np.zeros((n_masks, max(n_labels, 1)), dtype=np.uint8)
    for mi, mask in enumerate(index.masks.tolist()):
        labels = [b for b in range(64) if (mask >> b) & 1]
        mask_n[mi] = len(labels)
        mask_labels[mi, :len(labels)] = labels
        for b in labels:
            mask_strands[mi] |= 1 if b % 2 == 0 else 2
            if b < n_labels:
                has_label[mi, b] = 1
    index.extra["unpacked"] = (mask_labels, mask_n, mask_strands, has_label)
    return index.extra["unpacked"]


class DetectionResult:
    """Per-read arrays of one batch (see :func:`detect_kernel`), as numpy arrays."""

    __slots__ = ("status", "system", "strand", "window_start", "window_length", "ref5", "ref3",
                 "log10_evalue", "log10_evalue_left", "log10_evalue_right")

    def __init__(self, n: int):
        self.status = np.zeros(n, dtype=np.int8)
        self.system = np.zeros(n, dtype=np.int8)
        self.strand = np.zeros(n, dtype=np.int8)
        self.window_start = np.zeros(n, dtype=np.int32)
        self.window_length = np.zeros(n, dtype=np.int32)
        self.ref5 = np.zeros(n, dtype=np.int32)
        self.ref3 = np.zeros(n, dtype=np.int32)
        self.log10_evalue = np.zeros(n, dtype=np.float64)
        self.log10_evalue_left = np.zeros(n, dtype=np.float64)
        self.log10_evalue_right = np.zeros(n, dtype=np.float64)


def detect(codes: np.ndarray, offsets: np.ndarray, index, window: int, multiplier: float,
           threshold: float = 1.0) -> DetectionResult:
    """Run :func:`detect_kernel` on an encoded batch (see :func:`vdj.kmer.encode_batch`).

    ``multiplier`` is the e-value multiplier (systems x reads), ``threshold`` the max e-value.
    """
    n = len(offsets) - 1
    result = DetectionResult(n)
    log_threshold = math.log(threshold) if threshold > 0 else -1e300
    mask_labels, mask_n, mask_strands, has_label = unpack_masks(index)
    detect_kernel(codes, offsets, index.table, mask_labels, mask_n, mask_strands, has_label,
                  index.density, index.n_systems,
                  index.seed.blocks, index.seed.span, math.log(max(multiplier, 1.0)), log_threshold,
                  window, result.status, result.system, result.strand, result.window_start,
                  result.window_length, result.ref5, result.ref3, result.log10_evalue,
                  result.log10_evalue_left, result.log10_evalue_right)
    return result
