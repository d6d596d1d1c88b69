"""vdj.detect: locus, strand, e-value, junction reference points and window of each read."""

from __future__ import annotations

import pytest

from vdj import detect, kmer

import vdj_synthetic as syn


@pytest.fixture(scope="module")
def index():
    return kmer.build_index(list(syn.germline_set().systems.values()), kmer.DEFAULT_SEED)


def _detect(index, reads, window=50, multiplier=1e6):
    codes, offsets = kmer.encode_batch(reads)
    return detect.detect(codes, offsets, index, window, multiplier)


def _clone():
    sequence, j0, j1 = syn.recombine(syn.TRGV[1], syn.TRGJ[0], "GGATC", del_v=4, del_j=2)
    return sequence, j0, j1


def test_recombination_on_both_strands(index):
    sequence, j0, j1 = _clone()
    start = 120
    read = sequence[start:]
    result = _detect(index, [read, kmer.reverse_complement(read)])
    for i, strand in enumerate((0, 1)):
        assert detect.STATUS_NAMES[result.status[i]] == "SEG"
        assert index.systems[result.system[i]].name == "TRG"
        assert result.strand[i] == strand
        # reference points are the IMGT junction (Cys104 .. end of Phe118 codon) on the oriented read
        assert (result.ref5[i], result.ref3[i]) == (j0 - start, j1 - start)
        centre = (j0 + j1) // 2 - start
        assert result.window_start[i] == centre - 25 and result.window_length[i] == 50
        assert result.log10_evalue[i] < -20


def test_window_is_stable_under_substitutions(index):
    """Errors in V and J (not in the window) do not move the window: it is placed from the anchors."""
    sequence, j0, j1 = _clone()
    read = sequence[100:]
    noisy = syn.mutate(read, [5, 20, 40, 70, 90, 150 - 100 + 160, len(read) - 3])
    result = _detect(index, [read, noisy])
    assert result.status.tolist() == [detect.SEG, detect.SEG]
    assert result.window_start[0] == result.window_start[1]


def test_reasons_for_undetected_reads(index):
    v_only = syn.IGHV[0].sequence[50:250] + syn.random_sequence(60, 1)
    j_only = syn.random_sequence(150, 2) + syn.IGHJ[1].sequence
    random_read = syn.random_sequence(250, 3)
    result = _detect(index, [v_only, j_only, random_read, "ACGTAC", ""])
    names = [detect.STATUS_NAMES[s] for s in result.status]
    assert names[0] == "UNSEG only V/5'"
    assert names[1] == "UNSEG only J/3'"
    assert names[2] in ("UNSEG too few V/J", "UNSEG strand")
    assert names[3] == "UNSEG too short" and names[4] == "UNSEG too short"


def test_n_and_lowercase(index):
    sequence, j0, j1 = _clone()
    read = sequence[120:].lower()
    with_n = read[:30] + "N" * 5 + read[35:]
    result = _detect(index, [read, with_n])
    assert result.status.tolist() == [detect.SEG, detect.SEG]
    assert result.window_start[0] == result.window_start[1]


def test_short_read_gets_a_shrunk_centred_window(index):
    sequence, j0, j1 = _clone()
    centre = (j0 + j1) // 2
    # read ending 18 nt after the junction centre: a 36-nt window fits, not a 50-nt one
    read = sequence[centre - 150: centre + 18]
    result = _detect(index, [read])
    assert detect.STATUS_NAMES[result.status[0]] == "SEG"
    assert result.window_length[0] == 36
    assert result.window_start[0] + 18 == 150
    # ending 10 nt after the centre: below 30 nt, no window
    result = _detect(index, [sequence[centre - 150: centre + 10]])
    assert detect.STATUS_NAMES[result.status[0]] in ("UNSEG too short w", "UNSEG only V/5'")


def test_evalue_threshold_and_multiplier(index):
    sequence, _, _ = _clone()
    read = sequence[120:]
    codes, offsets = kmer.encode_batch([read])
    strict = detect.detect(codes, offsets, index, 50, 1e6, threshold=1e-300)
    assert detect.STATUS_NAMES[strict.status[0]] != "SEG"
    loose = detect.detect(codes, offsets, index, 50, 1e6, threshold=1.0)
    assert loose.status[0] == detect.SEG
    more = detect.detect(codes, offsets, index, 50, 1e9, threshold=1.0)
    assert more.log10_evalue[0] == pytest.approx(loose.log10_evalue[0] + 3, abs=1e-6)


def test_binomial_tail():
    # P(X >= 1), X ~ B(10, 0.1) = 1 - 0.9^10
    import math
    assert math.exp(detect._log_binomial_tail(10, 0.1, 2)) == pytest.approx(1 - 0.9 ** 10 - 10 * 0.1 * 0.9 ** 9, rel=1e-6)
    assert detect._log_binomial_tail(10, 0.1, 0) == 0.0
    assert detect._log_binomial_tail(100, 0.5, 10) == 0.0  # below the mean: not significant


def test_chimera_of_two_loci_is_unexpected(index):
    """V of IGH joined to a J of TRG: not a recombination of either system."""
    igh, _, _ = syn.recombine(syn.IGHV[0], syn.IGHJ[0], "CCGTA")
    trg, _, _ = syn.recombine(syn.TRGV[0], syn.TRGJ[1], "GGA")
    chimera = igh[100:300] + trg[300:]
    result = _detect(index, [chimera])
    assert detect.STATUS_NAMES[result.status[0]] == "UNSEG unexpected"
