"""Pairwise alignment kernels (numba) for the designation of clone sequences.

Local alignment (Smith-Waterman, linear gap cost) of a germline sequence against a read, with the
per-read-position best scores that the V/J boundary search needs:

* :func:`end_scores`: for every read position j, the best score of a local alignment of the
  germline that *ends* at j, and the germline position where it ends. Run on reversed sequences it
  gives, for a J, the best alignment *starting* at each read position.
* :func:`traceback`: the alignment path ending at a given cell, as parallel arrays of aligned
  (read, germline) positions (-1 for a gap), for anchors, CIGARs and mismatch counts.
* :func:`best_local`: the best local alignment (score and both ends) of a short germline (D)
  inside a read zone.

Scores: vidjil-algo's designation cost (match +4, mismatch -6; Giraud, Salson et al., BMC Genomics
2014) with a higher indel cost (-13 instead of -10), so that a gap is only opened for at least 4
matches: otherwise a 1-nt gap next to a J start wins over the right allele's clean alignment.
Nucleotides are 2-bit codes (:func:`vdj.kmer.encode`); a non-ACGT code never matches.
"""

from __future__ import annotations

import numba
import numpy as np

MATCH = 4
MISMATCH = -6
GAP = -13


@numba.njit(cache=True, nogil=True)
def score_matrix(read, germ, match, mismatch, gap):
    """Smith-Waterman matrix H[(len(germ)+1), (len(read)+1)] (int32), linear gap cost."""
    m = germ.shape[0]
    n = read.shape[0]
    h = np.zeros((m + 1, n + 1), dtype=np.int32)
    for i in range(1, m + 1):
        g = germ[i - 1]
        for j in range(1, n + 1):
            r = read[j - 1]
            s = match if (g == r and g < 4) else mismatch
            best = h[i - 1, j - 1] + s
            up = h[i - 1, j] + gap
            if up > best:
                best = up
            left = h[i, j - 1] + gap
            if left > best:
                best = left
            if best < 0:
                best = 0
            h[i, j] = best
    return h


@numba.njit(cache=True, nogil=True)
def end_scores_from_matrix(h, end_penalty):
    """Per read position j (0-based): best H[i, j+1] - end_penalty * (m - i) over germline rows i,
    and that i (germline end, exclusive). Returns (scores int32[n], germ_ends int32[n])."""
    m = h.shape[0] - 1
    n = h.shape[1] - 1
    scores = np.zeros(n, dtype=np.int32)
    ends = np.zeros(n, dtype=np.int32)
    for j in range(n):
        best = 0
        best_i = 0
        for i in range(1, m + 1):
            v = h[i, j + 1]
            if v <= 0:
                continue
            v -= end_penalty * (m - i)
            if v > best:
                best = v
                best_i = i
        scores[j] = best
        ends[j] = best_i
    return scores, ends


@numba.njit(cache=True, nogil=True)
def end_scores(read, germ, match, mismatch, gap, end_penalty):
    """:func:`score_matrix` then :func:`end_scores_from_matrix`; also returns the max score."""
    h = score_matrix(read, germ, match, mismatch, gap)
    scores, ends = end_scores_from_matrix(h, end_penalty)
    return scores, ends, h.max()


@numba.njit(cache=True, nogil=True)
def traceback(read, germ, h, i, j, match, mismatch, gap):
    """Path of the local alignment ending at germline i (exclusive end) and read j (exclusive end).

    Returns (read_positions, germ_positions) int32 arrays in alignment order, -1 marking a gap.
    """
    read_pos = np.empty(i + j, dtype=np.int32)
    germ_pos = np.empty(i + j, dtype=np.int32)
    k = 0
    while i > 0 and j > 0 and h[i, j] > 0:
        g = germ[i - 1]
        r = read[j - 1]
        s = match if (g == r and g < 4) else mismatch
        if h[i, j] == h[i - 1, j - 1] + s:
            read_pos[k] = j - 1
            germ_pos[k] = i - 1
            i -= 1
            j -= 1
        elif h[i, j] == h[i - 1, j] + gap:
            read_pos[k] = -1
            germ_pos[k] = i - 1
            i -= 1
        else:
            read_pos[k] = j - 1
            germ_pos[k] = -1
            j -= 1
        k += 1
    return read_pos[:k][::-1].copy(), germ_pos[:k][::-1].copy()


@numba.njit(cache=True, nogil=True)
def best_local(read, germ, match, mismatch, gap):
    """Best local alignment of ``germ`` in ``read``: (score, read_start, read_end, germ_start,
    germ_end), ends exclusive; ties keep the first cell in (germline, read) order."""
    h = score_matrix(read, germ, match, mismatch, gap)
    m = h.shape[0] - 1
    n = h.shape[1] - 1
    best = 0
    bi = 0
    bj = 0
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            if h[i, j] > best:
                best = h[i, j]
                bi = i
                bj = j
    if best == 0:
        return 0, 0, 0, 0, 0
    rp, gp = traceback(read, germ, h, bi, bj, match, mismatch, gap)
    r0 = -1
    g0 = -1
    for k in range(rp.shape[0]):
        if r0 < 0 and rp[k] >= 0:
            r0 = rp[k]
        if g0 < 0 and gp[k] >= 0:
            g0 = gp[k]
    return best, r0, bj, g0, bi


def cigar(read_positions: np.ndarray, germ_positions: np.ndarray, read_length: int, germ_start: int) -> str:
    """AIRR CIGAR of an alignment path: leading read soft-clip (S), germline offset (N), then
    M/I/D runs, trailing read soft-clip (S)."""
    if len(read_positions) == 0:
        return ""
    ops = []
    first_read = next((int(r) for r in read_positions if r >= 0), 0)
    last_read = next((int(r) for r in read_positions[::-1] if r >= 0), -1)
    if first_read > 0:
        ops.append((first_read, "S"))
    if germ_start > 0:
        ops.append((germ_start, "N"))
    for r, g in zip(read_positions.tolist(), germ_positions.tolist()):
        op = "M" if r >= 0 and g >= 0 else ("I" if r >= 0 else "D")
        if ops and ops[-1][1] == op:
            ops[-1] = (ops[-1][0] + 1, op)
        else:
            ops.append((1, op))
    tail = read_length - last_read - 1
    if tail > 0:
        ops.append((tail, "S"))
    return "".join(f"{n}{op}" for n, op in ops)
