"""vdj.designation / vdj.align: V(D)J designation, deletions, N, D, junction, on synthetic and curated
sequences."""

from __future__ import annotations

import numpy as np
import pytest

from vdj import align
from vdj.designation import Designer, designate_sequence
from vdj.kmer import encode, reverse_complement

import vdj_synthetic as syn


@pytest.fixture(scope="module")
def designer(tmp_path_factory):
    import os
    os.environ.setdefault("VDJ_INDEX_CACHE", str(tmp_path_factory.mktemp("index")))
    return Designer(syn.germline_set())


def test_end_scores_and_traceback():
    germ = encode("ACGTACGTTT")
    read = encode("GGACGTACGTAAC")
    h = align.score_matrix(read, germ, 4, -6, -10)
    scores, ends = align.end_scores_from_matrix(h, 0)
    assert scores.max() == 8 * 4 and int(np.argmax(scores)) == 9 and ends[9] == 8
    rp, gp = align.traceback(read, germ, h, 8, 10, 4, -6, -10)
    assert rp.tolist() == list(range(2, 10)) and gp.tolist() == list(range(0, 8))
    assert align.cigar(rp, gp, len(read), 0) == "2S8M3S"
    assert align.best_local(encode("TTTTGGCCATTTT"), encode("AGGCCAT"), 4, -6, -10)[:5] == (24, 4, 10, 1, 7)


def test_vj_designation(designer):
    sequence, j0, j1 = syn.recombine(syn.TRGV[1], syn.TRGJ[0], "GGATC", del_v=4, del_j=2)
    read = sequence[100:]
    for query in (read, reverse_complement(read).lower()):
        d = designer.designate(query)
        assert d.detected and d.system == "TRG" and d.locus == "TRG"
        assert d.v_call == "TRGV2*01" and d.j_call == "TRGJ1*01" and d.d_call is None
        assert d.junction == read[j0 - 100: j1 - 100]
        assert d.seg["junction"]["start"] == j0 - 100 + 1 and d.seg["junction"]["stop"] == j1 - 100
        # germline nucleotides that happen to match the N region are given to V/J (IMGT rule), so
        # check the consistency of the boundaries rather than the exact simulated deletions
        v_stop, j_start = d.seg["5"]["stop"], d.seg["3"]["start"]
        del_v, del_j = d.seg["5"]["delRight"], d.seg["3"]["delLeft"]
        assert v_stop == 300 - del_v - 100 and del_v <= 4
        assert len(read) - (j_start - 1) == len(syn.TRGJ[0].sequence) - del_j and del_j <= 2
        assert d.seg["N"] == j_start - v_stop - 1
        assert d.name == f"TRGV2*01 {del_v}/{read[v_stop:j_start - 1]}/{del_j} TRGJ1*01"
        assert d.rev_comp == (query != read)
        assert float(d.seg["evalue"]["val"]) < 1e-10
    assert designer.designate(read).sequence == read


def test_vdj_designation(designer):
    sequence, j0, j1 = syn.recombine(syn.IGHV[0], syn.IGHJ[1], "CCTA", del_v=3, del_j=4, d=syn.IGHD[1],
                                     d_trim=(2, 5), n2="GGGAT")
    d = designer.designate(sequence)
    assert d.v_call == "IGHV1-1*01" and d.d_call == "IGHD2-1*01" and d.j_call == "IGHJ2*01"
    seg = d.seg
    assert seg["4"]["delLeft"] <= 2 and seg["4"]["delRight"] <= 5
    assert seg["4"]["stop"] - seg["4"]["start"] + 1 == 23 - seg["4"]["delLeft"] - seg["4"]["delRight"]
    assert seg["N1"] == seg["4"]["start"] - seg["5"]["stop"] - 1
    assert seg["N2"] == seg["3"]["start"] - seg["4"]["stop"] - 1
    assert d.name.startswith("IGHV1-1*01 ") and " IGHD2-1*01 " in d.name and d.name.endswith(" IGHJ2*01")
    assert d.junction == sequence[j0:j1]
    assert d.productive == ((j1 - j0) % 3 == 0 and "*" not in d.junction_aa)


def test_not_detected(designer):
    d = designer.designate(syn.random_sequence(200, 9))
    assert not d.detected and d.status.startswith("UNSEG") and d.name == ""
    d = designer.designate(syn.IGHV[1].sequence[20:])
    assert not d.detected and d.status == "UNSEG only V/5'"


def test_forced_system(designer):
    sequence, _, _ = syn.recombine(syn.TRGV[0], syn.TRGJ[1], "AAA")
    d = designer.designate(sequence, system="TRG")
    assert d.system == "TRG" and d.v_call == "TRGV1*01"
    with pytest.raises(KeyError):
        designer.designate(sequence, system="TRA")


@pytest.fixture(scope="module")
def human():
    from vdj.germline import GermlineNotBuiltError, load_germlines
    try:
        return load_germlines("multi")
    except GermlineNotBuiltError as error:
        pytest.fail(f"germline database missing: {error}")


@pytest.mark.parametrize("sequence_header", [
    ("TRBV11-2*01 1/GTCC/0 TRBJ2-7*01", "TRB", "CASSLGPSYEQYF"),
    ("IGKV1-5*03 9/ACTT/1 IGKJ1*01", "IGK", "CQQYNRLWTF"),
    ("TRGV10*02 6/AGAC/3 TRGJP1*01", "TRG", "CAAWRPTGWFKIF"),
    ("TRAV1-1*01 0//0 TRAJ1*01", "TRA", "CAVREYESITSQLQF"),
])
def test_demo_x5_designations(human, sequence_header):
    from pathlib import Path
    name, system, junction_aa = sequence_header
    records = _demo_records()
    sequence = next(seq for header, seq in records if header.startswith(name.split()[0]) and f"[{system}]" in header)
    d = designate_sequence(sequence, human)
    assert d.system == system and d.name == name and d.junction_aa == junction_aa and d.productive


def _demo_records():
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "data" / "vidjil" / "Demo-X5.fa"
    records, header, parts = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if header:
                records.append((header, "".join(parts)))
            header, parts = line[1:], []
        elif line and not line.startswith("#") and header is not None:
            parts.append(line.strip())
    records.append((header, "".join(parts)))
    return records
