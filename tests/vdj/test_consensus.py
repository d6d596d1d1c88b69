"""vdj.consensus: column majority of reads aligned on their window."""

from __future__ import annotations

from vdj.consensus import consensus

import vdj_synthetic as syn


def test_consensus_outvotes_errors_and_spans_covered_columns():
    template = syn.random_sequence(300, 11)
    window_start = 150
    reads = []
    for i, (start, end) in enumerate([(0, 300), (20, 280), (40, 300), (10, 260), (60, 240)]):
        read = template[start:end]
        read = syn.mutate(read, [(7 * i + 13) % len(read), (11 * i + 101) % len(read)])
        reads.append((len(read), -i, read, window_start - start))
    sequence, offset = consensus(reads)
    # columns covered by >= 3 reads: template[20:280]
    assert sequence == template[20:280]
    assert offset == window_start - 20


def test_single_read_and_empty():
    assert consensus([]) == ("", 0)
    assert consensus([(10, 0, "ACGTACGTAC", 4)]) == ("ACGTACGTAC", 4)
