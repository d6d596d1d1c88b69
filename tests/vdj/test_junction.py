"""vdj.junction: translation, IMGT JUNCTION/CDR3 and productivity rules."""

from __future__ import annotations

from vdj.junction import junction_features, translate, translate_junction


def test_translate():
    assert translate("ATGTGGTAAGG") == "MW*"
    assert translate("TGTNNN") == "CX"


def test_out_of_frame_junction_is_split_at_the_j_frame():
    # vidjil's convention: J part read back from Phe118, '#' for the 1-2 left-over nucleotides
    junction = "TGTGCCACCTGGGCC" + "TT" + "TATTATAAGAAACTCTTT"  # V frame 5 codons | 2 nt | J frame 6 codons
    assert translate_junction(junction, j_start=17) == "CATWA#YYKKLF"
    assert translate_junction("TGTGCCAGCAGC", None) == "CASS"
    assert translate_junction("TGTGCAGT", None) == "C#S"  # no J start known: split in the middle


def _sequence(junction: str, fr4: str = "GGCCAGGGAACCCTG") -> tuple[str, int, int]:
    v = "GACACGGCCGTGTATTAC"
    sequence = v + junction + fr4
    return sequence, len(v), len(v) + len(junction) - 3


def test_trb_junction_imgt_example():
    # TRBV11-2 / TRBJ2-7 junction of vidjil's Demo-X5 (CASSLGPSYEQYF)
    junction = "TGTGCCAGCAGCTTAGGTCCCTCGTACGAGCAGTACTTC"
    sequence, cys, phe = _sequence(junction, "GGGCCGGGCACCAGG")
    features = junction_features(sequence, cys, phe, "TRB")
    assert features.junction == junction and features.junction_aa == "CASSLGPSYEQYF"
    assert features.cdr3 == junction[3:-3] and features.cdr3_aa == "ASSLGPSYEQY"
    assert (features.cdr3_start, features.cdr3_end) == (cys + 3, phe)
    assert features.productive and features.unproductive_reason is None


def test_unproductive_reasons():
    sequence, cys, phe = _sequence("TGTGCGAGATAGTACTGG")  # C A R * Y W
    features = junction_features(sequence, cys, phe, "IGH")
    assert not features.productive and features.unproductive_reason == "stop-codon" and features.stop_codon
    sequence, cys, phe = _sequence("TGTGCGAGAGTACTGG")  # 16 nt
    features = junction_features(sequence, cys, phe, "IGH")
    assert features.unproductive_reason == "out-of-frame" and not features.in_frame
    sequence, cys, phe = _sequence("TGTGCGAGAGGGTACTGG", fr4="GCCCAGGGAACCCTG")  # W A Q G: not W/P-G-x-G
    assert junction_features(sequence, cys, phe, "IGH").unproductive_reason == "no-WPGxG-pattern"
    assert junction_features(sequence, cys, phe, "IGK").productive  # the FR4 motif rule is IGH only


def test_anchors_outside_the_sequence():
    assert junction_features("ACGT" * 10, -3, 20, "TRG") is None
    assert junction_features("ACGT" * 10, 10, 12, "TRG") is None
