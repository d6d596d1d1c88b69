"""Representative (consensus) sequence of a clone from a sample of its reads.

All reads of a clone share the window, so they are aligned by the position of the window in each
(forward-oriented) read, without dynamic programming; substitution errors are outvoted column by
column. The consensus spans the columns covered by at least ``min_cover`` reads (default: 3, or
all reads when fewer, and at least a quarter of the sampled reads), contiguous around the window;
each column takes its most frequent nucleotide (ties: A < C < G < T). Coverage = consensus length
/ average read length (vidjil-algo's ``_coverage``; below 0.6 gives warning W51).
"""

from __future__ import annotations

import math

import numpy as np

from vdj.kmer import NUCLEOTIDE_CODE

_LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)


def consensus(reads: list[tuple], min_cover: int | None = None) -> tuple[str, int]:
    """Consensus of reads given as (length, -read number, sequence, window start) tuples (as kept by
    :class:`vdj.cluster.WindowTable`) and the offset of the window start in it.

    Returns (consensus sequence, offset of the window start in the consensus). An empty list gives
    ("", 0).
    """
    if not reads:
        return "", 0
    n = len(reads)
    if min_cover is None:
        min_cover = min(n, max(3, math.ceil(n / 4)))
    left = max(r[3] for r in reads)  # columns before the window
    right = max(len(r[2]) - r[3] for r in reads)
    width = left + right
    counts = np.zeros((5, width), dtype=np.int32)
    for _, _, seq, start in reads:
        codes = NUCLEOTIDE_CODE[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]
        offset = left - start
        columns = np.arange(offset, offset + len(codes))
        np.add.at(counts, (codes, columns), 1)
    cover = counts.sum(axis=0)
    ok = cover >= min_cover
    # contiguous covered run containing the window start
    if not ok[left]:
        ok = cover >= 1
    lo = left
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    hi = left
    while hi < width and ok[hi]:
        hi += 1
    best = counts[:4, lo:hi].argmax(axis=0)
    no_base = counts[:4, lo:hi].max(axis=0) == 0
    best[no_base] = 4
    return _LETTERS[best].tobytes().decode("ascii"), left - lo
