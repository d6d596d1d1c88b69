"""The pure fuse (services/fuse/fusing.py) on real ``vdj`` results and on small hand-made documents."""

from __future__ import annotations

import copy
import json
import math

import pytest

from services.fuse.exceptions import InvalidResult
from services.fuse.fusing import (
    DEFAULT_TOP,
    Fuser,
    SampleInfo,
    diversity_indices,
    fuse,
    merge_analysis,
    morisita_horn,
    mrd_follow_up,
    parse_result,
)


def _doc(clones, total=None, segmented=None, name="s"):
    """A minimal single-sample .vidjil document; ``clones`` = [(id, reads, extra dict?)...]."""
    objects = []
    for rank, item in enumerate(sorted(clones, key=lambda c: -c[1]), start=1):
        clone_id, reads = item[0], item[1]
        clone = {"id": clone_id, "germline": "IGH", "reads": [reads], "top": rank, "sequence": clone_id,
                 "_average_read_length": [100.0]}
        if len(item) > 2:
            clone.update(item[2])
        objects.append(clone)
    reads_sum = sum(c[1] for c in clones)
    total = reads_sum if total is None else total
    return {"vidjil_json_version": "2016b", "samples": {"number": 1, "original_names": [name]},
            "reads": {"total": [total], "segmented": [reads_sum if segmented is None else segmented],
                      "germline": {"IGH": [reads_sum]}},
            "clones": objects}


# -- real results ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_fused(vdj_documents):
    spl, colon = vdj_documents["spl"], vdj_documents["colon"]
    return fuse([(spl, SampleInfo("spleen", sample_id=11, result_id=21, sampling_date="2024-01-02")),
                 (colon, SampleInfo("colon", sample_id=12, result_id=22, sampling_date="2024-03-04"))])


def test_real_fuse_follows_union_of_top_clones(vdj_documents, real_fused):
    spl, colon = vdj_documents["spl"], vdj_documents["colon"]
    top_ids = {c["id"] for c in spl["clones"] if c["top"] <= DEFAULT_TOP} | \
              {c["id"] for c in colon["clones"] if c["top"] <= DEFAULT_TOP}
    assert len(spl["clones"]) > DEFAULT_TOP, "the test needs clones beyond the top in the spleen sample"
    assert {c["id"] for c in real_fused["clones"]} == top_ids
    assert real_fused["samples"]["number"] == 2
    assert real_fused["samples"]["names"] == ["spleen", "colon"]
    assert real_fused["samples"]["id"] == [11, 12]
    assert real_fused["samples"]["results_file_id"] == [21, 22]
    assert real_fused["samples"]["timestamp"] == ["2024-01-02", "2024-03-04"]
    assert real_fused["vidjil_json_version"] == "2016b"


def test_real_fuse_reads_per_sample_are_the_real_counts(vdj_documents, real_fused):
    by_sample = [{c["id"]: c for c in vdj_documents[name]["clones"]} for name in ("spl", "colon")]
    shared_outside_top = 0
    for clone in real_fused["clones"]:
        assert len(clone["reads"]) == 2
        for index, clones in enumerate(by_sample):
            original = clones.get(clone["id"])
            assert clone["reads"][index] == (original["reads"][0] if original else 0)
            if original and original["top"] > DEFAULT_TOP and clone["reads"][index]:
                shared_outside_top += 1
        tops = [clones[clone["id"]]["top"] for clones in by_sample if clone["id"] in clones]
        assert clone["top"] == min(tops)
    # a clone followed because of one sample is counted in the other even beyond that sample's top 100
    assert shared_outside_top >= 1
    assert any(all(clone["reads"]) for clone in real_fused["clones"]), "spleen and colon share clones"
    tops = [clone["top"] for clone in real_fused["clones"]]
    assert tops == sorted(tops)


def test_real_fuse_totals_loci_and_diversity(vdj_documents, real_fused):
    spl, colon = vdj_documents["spl"], vdj_documents["colon"]
    reads = real_fused["reads"]
    assert reads["total"] == [spl["reads"]["total"][0], colon["reads"]["total"][0]]
    assert reads["segmented"] == [spl["reads"]["segmented"][0], colon["reads"]["segmented"][0]]
    assert reads["germline"]["IGH"] == [spl["reads"]["germline"]["IGH"][0], colon["reads"]["germline"]["IGH"][0]]
    assert reads["clones"]["IGH"] == [spl["reads"]["clones"]["IGH"][0], colon["reads"]["clones"]["IGH"][0]]
    for key in ("index_H_entropy", "index_E_equitability", "index_Ds_diversity"):
        assert real_fused["diversity"][key] == [spl["diversity"][key], colon["diversity"][key]]
    # the indices vdj wrote are those of diversity_indices over every window's reads; ours agree on its clones
    computed = diversity_indices(c["reads"][0] for c in spl["clones"])
    assert computed["index_H_entropy"] == pytest.approx(spl["diversity"]["index_H_entropy"]["all"], rel=0.05)


def test_real_fuse_overlaps_over_all_clones(vdj_documents, real_fused):
    spl = {c["id"]: c["reads"][0] for c in vdj_documents["spl"]["clones"]}
    colon = {c["id"]: c["reads"][0] for c in vdj_documents["colon"]["clones"]}
    shared = set(spl) & set(colon)
    assert shared
    jaccard = real_fused["overlaps"]["jaccard"]
    assert jaccard[0][1] == jaccard[1][0] == pytest.approx(len(shared) / len(set(spl) | set(colon)), abs=1e-6)
    assert jaccard[0][0] == jaccard[1][1] == 1.0
    every = sorted(set(spl) | set(colon))
    expected = morisita_horn([spl.get(i, 0) for i in every], [colon.get(i, 0) for i in every])
    morisita = real_fused["overlaps"]["morisita"]
    assert morisita[0][1] == morisita[1][0] == pytest.approx(expected, abs=1e-6)
    assert 0 < morisita[0][1] < 1
    assert morisita[0][0] == 1.0


def test_real_fuse_keeps_designation_of_best_sample(vdj_documents, real_fused):
    by_sample = [{c["id"]: c for c in vdj_documents[name]["clones"]} for name in ("spl", "colon")]
    for clone in real_fused["clones"][:30]:
        candidates = [(clones[clone["id"]]["top"], i) for i, clones in enumerate(by_sample) if clone["id"] in clones]
        best = by_sample[min(candidates)[1]][clone["id"]]
        assert clone.get("name") == best.get("name")
        assert clone["sequence"] == best["sequence"]
    json.dumps(real_fused)  # JSON-safe (no numpy scalars)


def test_fuse_does_not_modify_inputs(vdj_documents):
    before = copy.deepcopy(vdj_documents["colon"])
    fuse([(vdj_documents["colon"], SampleInfo("a")), (vdj_documents["colon"], SampleInfo("b"))])
    assert vdj_documents["colon"] == before


# -- edge cases ------------------------------------------------------------------------------------------------

def test_clone_present_in_one_sample_only():
    fused = fuse([(_doc([("AAA", 10), ("CCC", 5)]), SampleInfo("d0")),
                  (_doc([("AAA", 3)]), SampleInfo("d30"))])
    reads = {c["id"]: c["reads"] for c in fused["clones"]}
    assert reads == {"AAA": [10, 3], "CCC": [5, 0]}
    ccc = next(c for c in fused["clones"] if c["id"] == "CCC")
    assert ccc["_average_read_length"] == [100.0, 0.0]
    assert ccc["top"] == 2


def test_identical_sample_names_stay_separate_samples():
    fused = fuse([(_doc([("AAA", 10)], name="same.fastq"), SampleInfo("same", sample_id=1)),
                  (_doc([("AAA", 4)], name="same.fastq"), SampleInfo("same", sample_id=2))])
    assert fused["samples"]["number"] == 2
    assert fused["samples"]["names"] == ["same", "same"]
    assert fused["samples"]["id"] == [1, 2]
    assert fused["clones"][0]["reads"] == [10, 4]


def test_empty_result_is_a_sample_with_no_clone():
    empty = {"vidjil_json_version": "2016b", "samples": {"number": 1}, "reads": {"total": [0], "segmented": [0]},
             "clones": None}
    fused = fuse([(_doc([("AAA", 10), ("CCC", 2)]), SampleInfo("d0")), (empty, SampleInfo("empty"))])
    assert [c["reads"] for c in fused["clones"]] == [[10, 0], [2, 0]]
    assert fused["reads"]["total"] == [12, 0]
    assert fused["diversity"]["index_H_entropy"][1] == "na"
    assert fused["overlaps"]["morisita"][0][1] is None
    assert fused["overlaps"]["morisita"][1][1] is None
    assert fused["overlaps"]["jaccard"][0][1] == 0.0
    assert mrd_follow_up(fused)["samples"][1]["limit_of_detection"] is None
    only_empty = fuse([(empty, SampleInfo("empty"))])
    assert only_empty["clones"] == [] and only_empty["samples"]["number"] == 1


def test_invalid_json_is_a_clear_error():
    with pytest.raises(InvalidResult) as caught:
        parse_result(b'{"clones": [', source="sample 7 (d30.fastq)")
    assert "sample 7 (d30.fastq)" in caught.value.message
    assert "not valid JSON" in caught.value.message
    assert caught.value.http_status == 400


@pytest.mark.parametrize("document, words", [
    ([1, 2], "JSON object"),
    ({"clones": {"a": 1}}, "'clones' must be a list"),
    ({"clones": [], "samples": {"number": 3}}, "single-sample"),
    ({"foo": 1}, "not a .vidjil"),
])
def test_malformed_documents_are_refused(document, words):
    with pytest.raises(InvalidResult, match=words):
        parse_result(json.dumps(document).encode(), source="x")


@pytest.mark.parametrize("clones, words", [
    ([{"id": "A"}], "'id' and 'reads'"),
    ([{"id": "A", "reads": ["many"]}], "integers"),
    ([{"id": 5, "reads": [1]}], "strings"),
    ([{"id": "A", "reads": [1]}, {"id": "A", "reads": [2]}], "appears twice"),
])
def test_malformed_clones_are_refused(clones, words):
    with pytest.raises(InvalidResult, match=words):
        Fuser().add({"clones": clones, "reads": {"total": [3]}}, SampleInfo("bad"))


def test_gzip_input_is_read():
    import gzip

    document = parse_result(gzip.compress(json.dumps(_doc([("AAA", 1)])).encode()))
    assert document["clones"][0]["id"] == "AAA"


def test_top_limits_followed_clones_and_zero_follows_all():
    first = _doc([(f"A{i}", 100 - i) for i in range(10)])
    second = _doc([(f"B{i}", 50 - i) for i in range(10)] + [("A9", 1)])
    fused = fuse([(first, SampleInfo("a")), (second, SampleInfo("b"))], top=3)
    assert {c["id"] for c in fused["clones"]} == {"A0", "A1", "A2", "B0", "B1", "B2"}
    assert len(fuse([(first, SampleInfo("a")), (second, SampleInfo("b"))], top=0)["clones"]) == 20
    assert fused["fuse"]["top"] == 3


def test_rank_by_reads_when_top_is_missing():
    document = {"reads": {"total": [30]}, "clones": [{"id": "X", "reads": [1]}, {"id": "Y", "reads": [20]},
                                                     {"id": "Z", "reads": [9]}]}
    fused = fuse([(document, SampleInfo("a"))], top=2)
    assert [(c["id"], c["top"]) for c in fused["clones"]] == [("Y", 1), ("Z", 2)]
    assert fused["reads"]["germline"] == {"undetermined": [30]}
    assert fused["diversity"]["index_H_entropy"][0]["all"] == pytest.approx(
        diversity_indices([1, 20, 9])["index_H_entropy"])


def test_designation_and_productivity_differences_are_warned():
    a = _doc([("AAA", 10, {"name": "IGHV1-2*01 0//0 IGHJ4*02", "seg": {"junction": {"productive": True}}})])
    b = _doc([("AAA", 8, {"name": "IGHV1-2*02 0//0 IGHJ4*02", "seg": {"junction": {"productive": False}}})])
    clone = fuse([(a, SampleInfo("a")), (b, SampleInfo("b"))])["clones"][0]
    assert {w["code"] for w in clone["warn"]} == {"W81", "W82"}
    assert clone["name"] == "IGHV1-2*01 0//0 IGHJ4*02"  # best rank, first sample on ties


def test_diversity_indices_by_hand():
    indices = diversity_indices([2, 2])
    assert indices["index_H_entropy"] == pytest.approx(math.log(2))
    assert indices["index_E_equitability"] == pytest.approx(math.log(2) / math.log(4))
    assert indices["index_Ds_diversity"] == pytest.approx(1 - (2 + 2) / 12)
    assert diversity_indices([1]) is None


def test_overlaps_by_hand():
    fused = fuse([(_doc([("A", 4), ("B", 4)]), SampleInfo("x")), (_doc([("A", 8)]), SampleInfo("y")),
                  (_doc([("C", 1)]), SampleInfo("z"))])
    # x = (4,4,0), y = (8,0,0): 2*32 / ((32/64 + 64/64) * 8 * 8) = 2/3
    assert fused["overlaps"]["morisita"][0][1] == pytest.approx(2 / 3, abs=1e-6)
    assert fused["overlaps"]["jaccard"][0][1] == pytest.approx(0.5)
    assert fused["overlaps"]["morisita"][0][2] == 0.0
    assert morisita_horn([4, 4, 0], [8, 0, 0]) == pytest.approx(2 / 3)


def test_mrd_follow_up_shares_and_limit_of_detection():
    fused = fuse([(_doc([("A", 90), ("B", 10)], segmented=100), SampleInfo("diagnosis", sampling_date="2024-01-01")),
                  (_doc([("A", 1), ("C", 999)], segmented=1000), SampleInfo("d30", sampling_date="2024-02-01"))])
    view = mrd_follow_up(fused)
    assert [s["limit_of_detection"] for s in view["samples"]] == [0.01, 0.001]
    assert [c["id"] for c in view["clones"]] == ["A", "B"]  # clones of the diagnosis sample only
    a = view["clones"][0]
    assert a["shares"] == [0.9, 0.001]
    assert a["detected"] == [True, True]
    assert view["clones"][1]["detected"] == [True, False]


def test_merge_analysis_overrides_names_tags_and_clusters():
    fused = fuse([(_doc([("A", 9), ("B", 3)]), SampleInfo("x"))])
    analysis = {"clones": [{"id": "A", "name": "my clone", "tag": 2}, {"id": "unknown", "name": "ignored"}],
                "clusters": [["A", "B"], ["A", "unknown"]], "tags": {"names": {"2": "leukemic"}}}
    merged = merge_analysis(fused, analysis)
    clone_a = next(c for c in merged["clones"] if c["id"] == "A")
    assert clone_a["name"] == "my clone" and clone_a["tag"] == 2
    assert merged["clusters"] == [["A", "B"]]
    assert merged["tags"] == {"names": {"2": "leukemic"}}


# -- what each sample's analysis reported (the minimum of reads, the reads of its reported clones) -----------------

def test_real_fuse_keeps_minimum_of_reads_and_reads_of_reported_clones(vdj_documents, real_fused):
    # vdj writes its -r in config["min-reads"]; the session's results were made with -r 1
    assert real_fused["fuse"]["min_reads_per_sample"] == [1, 1]
    assert real_fused["fuse"]["clone_reads_per_sample"] == [
        sum(c["reads"][0] for c in vdj_documents[name]["clones"]) for name in ("spl", "colon")]
    assert real_fused["fuse"]["clones_per_sample"] == [len(vdj_documents[name]["clones"])
                                                       for name in ("spl", "colon")]


@pytest.mark.parametrize("config, commandline, expected", [
    ({"min-reads": "7"}, "python -m vdj in.fastq -r 3", 7),       # the config block is what the program used
    (None, "python -m vdj in.fastq -r 3 -o out", 3),
    (None, "vidjil-algo -g germline/homo-sapiens.g --min-reads=4 in.fa", 4),
    (None, "repseq analyze in.fastq --min-reads 6", 6),
    (None, "python -m vdj in.fastq -r2", 2),
    (None, "python -m vdj in.fastq -o out", None),                 # no -r written: not guessed
    (None, "mixcr analyze -r report.txt in.fastq", None),          # another program's -r means something else
    (None, "", None),
    ({"min-reads": "all"}, "", None),
])
def test_minimum_of_reads_from_config_or_command_line(config, commandline, expected):
    document = _doc([("AAA", 10)])
    document["samples"]["commandline"] = [commandline]
    if config is not None:
        document["config"] = config
    fused = fuse([(document, SampleInfo("a"))])
    assert fused["fuse"]["min_reads_per_sample"] == [expected]
    assert fused["fuse"]["clone_reads_per_sample"] == [10]
