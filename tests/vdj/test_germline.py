"""Germline database: build from GenAIRR, anchors, counts, presets, errors, IMGT and special imports.

The database is built into a temporary directory (about 0.2 s per species) so these tests do not depend
on, nor modify, the installed vdj/germline_data/.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from vdj.germline import (
    Allele, GermlineNotBuiltError, System, UnknownPresetError, build_germlines, load_germlines,
)
from vdj.germline_build import CYS, PHE_TRP, find_j_anchor, find_v_anchor, j_motif_ok, translate

HUMAN_COUNTS = {  # GenAIRR 2.3.1 IMGT sets (pinned in pyproject.toml)
    "IGH": {"V": 307, "D": 47, "J": 14}, "IGK": {"V": 99, "J": 7}, "IGL": {"V": 97, "J": 11},
    "TRA": {"V": 76, "J": 68}, "TRB": {"V": 98, "D": 3, "J": 16}, "TRG": {"V": 20, "J": 6},
    "TRD": {"V": 14, "D": 3, "J": 4},
}
COMPLETE = ["TRA", "TRB", "TRG", "TRD", "IGH", "IGK", "IGL"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("germlines")
    build_germlines(root, "homo-sapiens")
    return root


@pytest.fixture(scope="module")
def human(root):
    return load_germlines("multi", "homo-sapiens", germline_dir=root)


def test_counts_per_locus_and_segment(human):
    counts: dict = {}
    for allele in human.all_alleles:
        counts.setdefault(allele.locus, {}).setdefault(allele.segment, 0)
        counts[allele.locus][allele.segment] += 1
    assert counts == HUMAN_COUNTS
    assert human.provenance["counts"] == HUMAN_COUNTS
    assert human.species == "homo-sapiens" and human.taxon_id == 9606 and human.species_name == "Homo sapiens"


def test_sequences_are_clean(human):
    for allele in human.all_alleles:
        assert allele.sequence == allele.sequence.upper()
        assert set(allele.sequence) <= set("ACGTN"), allele.name
        assert allele.gene == allele.name.split("*")[0]


def test_every_anchor_codon_is_checked(human):
    """V anchors are Cys (TGT/TGC) and J anchors F/W-G-x-G, except the patched alleles listed in provenance."""
    flagged = {p["allele"] for p in human.provenance["anchor_patches"]
               if p["anchor"] is None or "not Cys" in p["method"] or "relaxed" in p["method"]
               or "same position" in p["method"]}
    bad = []
    for allele in human.all_alleles:
        if allele.segment == "V" and allele.name not in flagged:
            if allele.anchor is None or allele.sequence[allele.anchor:allele.anchor + 3] not in CYS:
                bad.append(allele.name)
        if allele.segment == "J" and allele.name not in flagged:
            if allele.anchor is None or not j_motif_ok(allele.sequence, allele.anchor):
                bad.append(allele.name)
        if allele.segment == "D":
            assert allele.anchor is None
    assert bad == []
    assert human.provenance["anchors_missing"] == []  # every human V/J has an anchor
    assert len(flagged) < 20


def test_known_anchor_anomalies_are_patched(human):
    alleles = human.alleles()
    assert alleles["TRGJP1*01"].anchor == 23 and alleles["TRGJP2*01"].anchor == 23
    patched = {p["allele"]: p for p in human.provenance["anchor_patches"]}
    assert patched["TRGJP1*01"]["source_anchor"] == 0
    # IGHV1-38-4*01 had anchor 0 in GenAIRR: IMGT position 104 from the gapped sequence
    v = alleles["IGHV1-38-4*01"]
    assert v.anchor == 285 and patched["IGHV1-38-4*01"]["codon"] == "TAT"
    # typical values
    assert alleles["IGHJ4*02"].anchor == 14 and translate(alleles["IGHJ4*02"].sequence[14:26]) == "WGQG"
    v323 = alleles["IGHV3-23*01"]
    assert v323.sequence[v323.anchor:v323.anchor + 3] in CYS
    assert translate(v323.sequence[v323.anchor:v323.anchor + 9]) == "CAK"


def test_junction_of_a_germline_recombination(human):
    """V anchor .. J anchor+3 of an unmutated TRGV9-TRGJ1 join without deletion (V end trimmed to be in frame) gives C...F."""
    alleles = human.alleles()
    v, j = alleles["TRGV9*01"], alleles["TRGJ1*01"]
    extra = (len(v.sequence) - v.anchor + j.anchor + 3) % 3  # delete that many nt from the V end
    junction = v.sequence[v.anchor:len(v.sequence) - extra] + j.sequence[:j.anchor + 3]
    aa = translate(junction)
    assert len(junction) % 3 == 0
    assert aa.startswith("C") and aa.endswith("F")


def test_systems_and_multi(human):
    assert list(human.systems) == ["TRA", "TRB", "TRG", "TRD", "TRA+D", "IGH", "IGK", "IGL"]
    igh = human.systems["IGH"]
    assert isinstance(igh, System) and igh.complete and igh.shortcut == "H" and igh.locus == "IGH"
    assert {a.segment for a in igh.five} == {"V"} and {a.segment for a in igh.three} == {"J"}
    assert len(igh.d) == 47
    tra_d = human.systems["TRA+D"]
    assert not tra_d.complete and tra_d.locus == "TRA" and tra_d.shortcut == "a"
    assert all(a.locus == "TRD" for a in tra_d.five) and all(a.name.startswith("TRAJ") for a in tra_d.three)
    trd = human.systems["TRD"]
    assert any(a.name.startswith("TRAV29/DV5") for a in trd.five)
    shortcuts = {s.name: s.shortcut for s in human.systems.values()}
    assert shortcuts == {"TRA": "A", "TRB": "B", "TRG": "G", "TRD": "D", "TRA+D": "a", "IGH": "H",
                         "IGK": "K", "IGL": "L"}


def test_presets(root):
    assert list(load_germlines("IGH", germline_dir=root).systems) == ["IGH"]
    assert list(load_germlines("trg, IGH", germline_dir=root).systems) == ["TRG", "IGH"]
    assert list(load_germlines("TRA+D", germline_dir=root).systems) == ["TRA+D"]
    # species directory given directly
    assert list(load_germlines("IGK", germline_dir=root / "homo-sapiens").systems) == ["IGK"]
    assert list(load_germlines("IGL", species="human", germline_dir=root).systems) == ["IGL"]


def test_unknown_and_unavailable_presets(root):
    with pytest.raises(UnknownPresetError, match="valid: multi, TRA, TRB"):
        load_germlines("IGX", germline_dir=root)
    with pytest.raises(UnknownPresetError, match="not available.*docs/germlines.md"):
        load_germlines("IGK+", germline_dir=root)
    with pytest.raises(UnknownPresetError):
        load_germlines(" , ", germline_dir=root)


def test_not_built_error_names_the_command(tmp_path):
    with pytest.raises(GermlineNotBuiltError, match="python -m vdj.germline build --species homo-sapiens"):
        load_germlines(germline_dir=tmp_path)


def test_env_variable_sets_the_root(root, monkeypatch):
    monkeypatch.setenv("REPSEQ_GERMLINE_DIR", str(root))
    assert load_germlines("TRG").directory == root / "homo-sapiens"


def test_provenance(human, root):
    prov = json.loads((root / "homo-sapiens" / "provenance.json").read_text())
    assert prov["source"]["package"] == "GenAIRR" and prov["source"]["version"] == "2.3.1"
    assert prov["source"]["licence"] == "GPL-3.0-or-later"
    assert prov["configs"]["IGH"]["reference_set"] == "IMGT"
    assert "2026-03-01" in prov["configs"]["TRG"]["metadata"]
    assert any("IMGT" in text for text in prov["licences"])
    assert (root / "homo-sapiens" / "fasta" / "IGHV.fa").read_text().startswith(">IGHV")


def test_mouse(tmp_path):
    build_germlines(tmp_path, "mus-musculus")
    mouse = load_germlines("multi", "mouse", germline_dir=tmp_path)
    assert mouse.taxon_id == 10090
    assert set(mouse.systems) >= set(COMPLETE)
    with_anchor = [a for a in mouse.all_alleles if a.segment in "VJ" and a.anchor is not None]
    assert len(with_anchor) >= 0.99 * sum(a.segment in "VJ" for a in mouse.all_alleles)
    cys = sum(a.sequence[a.anchor:a.anchor + 3] in CYS for a in with_anchor if a.segment == "V")
    assert cys >= 0.97 * sum(a.segment == "V" for a in with_anchor)


def test_ogrdb_set(tmp_path):
    build_germlines(tmp_path, "homo-sapiens", reference_set="ogrdb")
    ogrdb = load_germlines("IGH", germline_dir=tmp_path)
    assert len(ogrdb.systems["IGH"].five) == 198
    assert ogrdb.provenance["configs"]["IGH"]["reference_set"].startswith("OGRDB")


# --- anchor finders on hand-made sequences ---------------------------------------------------------

def test_find_j_anchor_motifs():
    seq = "ACTGAATAC" + "TTTGGTCAGGGGACCAAG" + "CTGGAGATCAAAC"
    assert find_j_anchor(seq, 9) == (9, None)
    assert find_j_anchor(seq, 0) == (9, "F/W-G-x-G motif")
    relaxed = "ATACCACTGGTTGGTTCAAGATATTTGCTGAAGGGACTAAGCTCATAGTAACTTCACCTG"  # TRGJP1-like, F-A-E-G
    pos, method = find_j_anchor(relaxed, 0)
    assert pos == 23 and "relaxed" in method
    assert find_j_anchor("A" * 40, None) == (None, "not found")


def test_find_v_anchor():
    body = "CAGGTGCAGCTG" * 20 + "GCCGTGTATTACTGTGCGAGAGA"
    pos, method = find_v_anchor(body, None, None)
    assert body[pos:pos + 3] == "TGT" and method.startswith("Y-x-C")
    assert find_v_anchor(body, None, pos) == (pos, None)


# --- imports ------------------------------------------------------------------------------------

def _genairr_v(name: str):
    import os
    import pickle

    import GenAIRR
    path = os.path.join(os.path.dirname(GenAIRR.__file__), "data", "builtin_dataconfigs", "HUMAN_IGH_IMGT.pkl")
    with open(path, "rb") as handle:
        config = pickle.load(handle)
    return next(a for lst in config.v_alleles.values() for a in lst if a.name == name)


def test_import_imgt_gapped_v_and_j(tmp_path):
    v = _genairr_v("IGHV3-23*01")
    gapped = v.gapped_seq.lower()
    fasta = tmp_path / "IGH.fasta"
    j = "ACTACTTTGACTACTGGGGCCAGGGAACCCTGGTCACCGTCTCCTCAG"
    fasta.write_text(
        f">M99660|IGHV3-23*01|Homo sapiens|F|V-REGION|1..296|296 nt|1| | | | |296+0=296| | |\n"
        + "\n".join(gapped[i:i + 60] for i in range(0, len(gapped), 60)) + "\n"
        + ">J00256|IGHJ4*02|Homo sapiens|F|J-REGION|1..48|48 nt|3| | | | |48+0=48| | |\n" + j.lower() + "\n"
        + ">X00000|IGHJ4*02|Mus musculus|F|J-REGION|1..48|48 nt|3| | | | |48+0=48| | |\n" + j.lower() + "\n"
        + ">X00001|IGHV3-23*01|Homo sapiens|F|L-PART1+V-EXON|1..10|10 nt|1| | | | |10+0=10| | |\nacgtacgtac\n")
    dest = tmp_path / "db"
    result = subprocess.run([sys.executable, "-m", "vdj.germline", "import-imgt", str(fasta), "--dest", str(dest)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "imported 2 alleles (1 of other species, 1 non V/D/J-REGION" in result.stdout
    imported = load_germlines("IGH", germline_dir=dest)
    alleles = imported.alleles()
    assert alleles["IGHV3-23*01"].anchor == v.anchor and alleles["IGHV3-23*01"].functional == "F"
    assert alleles["IGHJ4*02"].anchor == 14
    assert imported.provenance["imports"][0]["sets"] == ["IGHJ", "IGHV"]


def test_import_imgt_rejects_non_imgt(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">seq1\nACGT\n")
    result = subprocess.run([sys.executable, "-m", "vdj.germline", "import-imgt", str(bad), "--dest",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "not an IMGT/GENE-DB header" in result.stderr


def test_import_special_sequences_enable_incomplete_systems(tmp_path):
    build_germlines(tmp_path, "homo-sapiens")
    db = load_germlines(germline_dir=tmp_path).alleles()
    rng = random.Random(1)
    flank = lambda n=60: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    up = tmp_path / "IGHD+up.fa"
    up.write_text(f">IGHD2-2*01\n{flank()}{db['IGHD2-2*01'].sequence}\n")
    trb = tmp_path / "specials.fa"
    trb.write_text(f">TRBD1*01 segment=UP\n{flank()}{db['TRBD1*01'].sequence}\n"
                   f">TRDD2*01 segment=UP\n{flank()}{db['TRDD2*01'].sequence}\n"
                   f">TRDD3*01 segment=DOWN\n{db['TRDD3*01'].sequence}{flank()}\n"
                   f">IGK-KDE segment=KDE locus=IGK\n{flank(80)}\n"
                   f">Intron segment=INTRON locus=IGK\n{flank(80)}\n")
    for path in (up, trb):
        result = subprocess.run([sys.executable, "-m", "vdj.germline", "import-special", str(path), "--dest",
                                 str(tmp_path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    full = load_germlines(germline_dir=tmp_path)
    assert list(full.systems) == ["TRA", "TRB", "TRB+", "TRG", "TRD", "TRA+D", "TRD+", "IGH", "IGH+", "IGK",
                                  "IGK+", "IGL"]
    igh_plus = full.systems["IGH+"]
    (d_up,) = igh_plus.five
    assert d_up.segment == "UP" and d_up.flank5 == 60 and d_up.body == db["IGHD2-2*01"].sequence
    assert full.alleles()["IGHD2-2*01+up"] is d_up and full.alleles()["IGHD2-2*01"].segment == "D"
    trd_plus = full.systems["TRD+"]
    assert trd_plus.pairs == (("V", "DOWN"), ("UP", "J"), ("UP", "DOWN"))
    assert {a.segment for a in trd_plus.three} == {"DOWN", "J"}
    assert next(a for a in trd_plus.three if a.segment == "DOWN").flank3 == 60
    igk_plus = full.systems["IGK+"]
    assert {a.name for a in igk_plus.three} == {"IGK-KDE"} and "Intron" in {a.name for a in igk_plus.five}
    # TRDD+up for TRA+D Dd-Ja
    assert any(a.segment == "UP" for a in full.systems["TRA+D"].five)
    # a rebuild keeps the supplied sequences
    build_germlines(tmp_path, "homo-sapiens")
    assert "IGK+" in load_germlines(germline_dir=tmp_path).systems


def test_special_kind_required(tmp_path):
    build_germlines(tmp_path, "homo-sapiens")
    odd = tmp_path / "odd.fa"
    odd.write_text(">something\nACGTACGT\n")
    result = subprocess.run([sys.executable, "-m", "vdj.germline", "import-special", str(odd), "--dest",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "segment=UP|DOWN|KDE|INTRON" in result.stderr


def test_allele_is_frozen():
    allele = Allele("IGHV1-2*02", "V", "IGH", "ACGT", 1)
    with pytest.raises(AttributeError):
        allele.anchor = 2  # type: ignore[misc]
    assert allele.functional is None and allele.key == "IGHV1-2*02" and allele.body == "ACGT"
