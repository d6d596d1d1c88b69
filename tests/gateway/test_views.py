"""Views of a fused result (clone table, QC, V/J usage, exports) and the follow-up plot: pure functions, no
service needed. The fused dict follows the .vidjil format (two samples, IGH)."""

import csv
import io
import xml.etree.ElementTree as ET

from gateway import clones as views
from gateway.plot import follow_up_svg


def clone(window, name, reads, top, v, j, cdr3, d=None, productive=True, locus="IGH"):
    seg = {"5": {"name": v}, "3": {"name": j}, "cdr3": {"aa": cdr3, "seq": "TGT"},
           "junction": {"aa": "C" + cdr3 + "W", "productive": productive, "start": 1, "stop": 6}}
    if d:
        seg["4"] = {"name": d}
    return {"id": window, "name": name, "reads": reads, "top": top, "germline": locus, "sequence": "TGTGCGAAA",
            "seg": seg}


FUSED = {
    "vidjil_json_version": "2016b",
    "samples": {"number": 2, "original_names": ["spl.fastq", "colon.fastq"], "names": ["spleen", "colon"],
                "sampling_date": ["2024-03-12", "2024-01-10"], "sequence_file_id": [11, 12]},
    "reads": {"total": [1000, 500], "segmented": [800, 0 + 400], "germline": {"IGH": [800, 400], "TRG": [0, 0]}},
    "diversity": {"index_H_entropy": [{"IGH": 2.0, "all": 2.0}, {"all": 1.5}], "index_E_equitability": [0.7, 0.6],
                  "index_Ds_diversity": ["na", 0.9]},
    "clones": [
        clone("AAAA", "IGHV4-34*01 4/AAATGGGCC/1 IGHJ4*02", [400, 0], 1, "IGHV4-34*01", "IGHJ4*02", "AKMGPNLDY"),
        clone("CCCC", "IGHV3-23*01 IGHD3-10*01 IGHJ6*02", [100, 200], 2, "IGHV3-23*01", "IGHJ6*02", "ARDGYW",
              d="IGHD3-10*01", productive=False),
        clone("GGGG", "IGHV4-34*02 IGHJ4*02", [0, 8], 3, "IGHV4-34*02", "IGHJ4*02", "AR"),
    ],
}


def test_clone_rows_rank_shares_and_genes():
    rows = views.clone_rows(FUSED, top=2)
    assert [r["id"] for r in rows] == ["AAAA", "CCCC"]
    first = rows[0]
    assert (first["v"], first["d"], first["j"], first["cdr3_aa"]) == ("IGHV4-34*01", None, "IGHJ4*02", "AKMGPNLDY")
    assert first["shares"] == [0.5, 0.0]
    assert rows[1]["d"] == "IGHD3-10*01" and rows[1]["productive"] is False
    assert rows[1]["shares"] == [100 / 800, 200 / 400]


def test_saved_analysis_names_replace_designation_only_for_display():
    rows = views.clone_rows(FUSED, top=3, analysis={"clones": [{"id": "CCCC", "name": "MRD marker", "tag": 2}]})
    named = rows[1]
    assert named["display_name"] == "MRD marker" and named["user_name"] == "MRD marker" and named["tag"] == 2
    assert named["name"].startswith("IGHV3-23")
    assert rows[0]["user_name"] is None


def test_time_order_follows_sampling_dates():
    samples = views.samples_view(FUSED)
    assert [s["name"] for s in samples] == ["spleen", "colon"]
    assert views.time_order(samples) == [1, 0]


def test_qc_rows():
    qc = views.qc_rows(FUSED)
    assert qc[0]["segmented_percent"] == 80.0
    assert qc[0]["loci"] == {"IGH": 800}
    assert qc[0]["main_clone"]["id"] == "AAAA" and qc[0]["main_clone"]["share"] == 0.5
    assert qc[1]["main_clone"]["id"] == "CCCC"
    assert qc[0]["diversity"] == {"shannon": 2.0, "pielou": 0.7, "simpson": None}
    assert qc[1]["diversity"]["simpson"] == 0.9


def test_vj_usage_sums_reads_by_gene():
    grids = views.vj_usage(FUSED, 1)
    igh = grids["IGH"]
    assert igh["reads"] == {"IGHV3-23": {"IGHJ6": 200}, "IGHV4-34": {"IGHJ4": 8}}
    assert igh["max"] == 200 and igh["j"] == ["IGHJ4", "IGHJ6"]


def test_tsv_export_has_one_line_per_clone_with_reads_and_shares():
    rows = views.clone_rows(FUSED, top=3)
    table = list(csv.reader(io.StringIO(views.clone_table_tsv(FUSED, rows)), delimiter="\t"))
    assert table[0][:4] == ["rank", "name", "locus", "v_call"]
    assert "reads spleen" in table[0] and "share% colon" in table[0]
    assert len(table) == 4
    assert table[1][table[0].index("share% spleen")] == "50.0000"


def test_airr_export_rows_per_clone_and_sample_with_reads():
    text = views.clone_table_airr(FUSED)
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    # AAAA in spleen only, CCCC in both, GGGG in colon only
    assert len(rows) == 4
    assert {"sequence_id", "v_call", "junction_aa", "duplicate_count", "productive", "rev_comp"} <= set(rows[0])
    cccc = [r for r in rows if r["clone_id"] == "CCCC"]
    assert [r["duplicate_count"] for r in cccc] == ["100", "200"]
    assert cccc[0]["productive"] == "F"


def test_follow_up_plot_is_valid_svg_with_log_axis_and_one_line_per_clone():
    rows = views.clone_rows(FUSED, top=3)
    samples = views.samples_view(FUSED)
    svg = follow_up_svg(rows, samples, views.time_order(samples))
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.findall("s:g[@class='clone']", ns)) == 3
    assert len(root.findall(".//s:polyline", ns)) == 3
    labels = [t.text for t in root.findall("s:text", ns)]
    assert "100%" in labels and "0.001%" in labels
    # a clone absent from a sample is drawn on the floor with an open marker
    assert any(c.get("fill") == "#ffffff" for c in root.findall(".//s:circle", ns))
    # the 50% point sits above the 12.5% point (log scale, y grows downwards)
    first = root.findall("s:g[@class='clone']", ns)[0]
    assert "IGHV4-34*01" in first.find("s:title", ns).text


def test_upload_reader_stops_at_the_limit_without_reading_everything():
    import io

    import pytest

    from gateway.api.samples import LimitedBodyReader
    from services.common.exceptions import TooLarge

    body = io.BytesIO(b"x" * (5 * 1024 * 1024))
    reader = LimitedBodyReader(body, limit=2 * 1024 * 1024)
    with pytest.raises(TooLarge):
        while reader.read(1024 * 1024):
            pass
    assert reader.count <= 3 * 1024 * 1024  # stopped within one read of the limit
    small = LimitedBodyReader(io.BytesIO(b"@r\nACGT\n+\nIIII\n"), limit=100)
    assert small.read(-1) == b"@r\nACGT\n+\nIIII\n" and small.read(10) == b""


# -- why clones are missing: the minimum of reads of the analysis config ---------------------------------------

def _with_reporting(**fuse_block):
    """FUSED plus a third sample without any reported clone (3 clones found, all under the minimum)."""
    fused = {**FUSED, "samples": {**FUSED["samples"], "number": 3,
                                  "original_names": ["spl.fastq", "colon.fastq", "small.fastq"],
                                  "names": ["spleen", "colon", "small"]},
             "reads": {"total": [1000, 500, 25], "segmented": [800, 400, 14],
                       "germline": {"IGH": [800, 400, 0], "TRB": [0, 0, 14]},
                       "clones": {"IGH": [1200, 40, 0], "TRB": [0, 0, 3]}},
             "clones": [{**c, "reads": c["reads"] + [0]} for c in FUSED["clones"]]}
    if fuse_block:
        fused["fuse"] = fuse_block
    return fused


def test_a_sample_without_reported_clone_says_why_with_the_numbers():
    fused = _with_reporting(clones_per_sample=[250, 2, 0], clone_reads_per_sample=[700, 208, 0],
                            min_reads_per_sample=[5, 5, 5])
    spleen, colon, small = views.clone_reporting(fused)
    assert small == {"min_reads": 5, "clones": 3, "reported_clones": 0, "unreported_clones": 3, "clone_reads": 0,
                     "segmented_reads": 14, "no_clone": True,
                     "note": "No clone has at least 5 reads (minimum of the analysis config); 3 clones with fewer "
                             "reads are not reported."}
    assert spleen["note"] == ("250 clones have at least 5 reads (minimum of the analysis config); 950 clones with "
                              "fewer reads are not reported.")
    assert colon["unreported_clones"] == 38 and colon["no_clone"] is False
    assert views.reporting_notes(fused) == ["small: " + small["note"]]
    qc = views.qc_rows(fused)
    assert qc[2]["main_clone"] is None and qc[2]["reporting"] == small


def test_numbers_the_result_does_not_hold_are_left_out_not_invented():
    # a result fused before the fuse kept the minimum and the reported clones, without reads.clones either
    fused = _with_reporting()
    del fused["reads"]["clones"]
    small = views.clone_reporting(fused)[2]
    assert small["min_reads"] is None and small["clones"] is None and small["reported_clones"] is None
    assert small["no_clone"] is True  # no clone of the result has reads in it
    assert small["note"] == ("No clone reaches the minimum number of reads of the analysis config; clones with "
                             "fewer reads are not reported.")
    assert views.clone_reporting(fused)[0]["note"] is None
    with_minimum = _with_reporting(min_reads_per_sample=[None, None, 10])
    del with_minimum["reads"]["clones"]
    assert views.clone_reporting(with_minimum)[2]["note"].startswith("No clone has at least 10 reads (minimum")


def test_singular_and_empty_samples():
    fused = _with_reporting(clones_per_sample=[1, 2, 0], min_reads_per_sample=[5, 5, 5])
    fused["reads"]["clones"] = {"IGH": [2, 2, 0], "TRB": [0, 0, 1]}
    spleen, colon, small = views.clone_reporting(fused)
    assert small["note"] == ("No clone has at least 5 reads (minimum of the analysis config); 1 clone with fewer "
                             "reads is not reported.")
    assert spleen["note"] == ("1 clone has at least 5 reads (minimum of the analysis config); 1 clone with fewer "
                              "reads is not reported.")
    assert colon["note"] is None  # every clone found is listed
    fused["reads"]["segmented"][2] = 0
    assert views.clone_reporting(fused)[2]["note"] == ("No V(D)J recombination was found in the 25 reads of this "
                                                       "sample: there is no clone to report.")
    fused["reads"]["total"][2] = 0
    assert "holds no reads" in views.clone_reporting(fused)[2]["note"]


def test_vj_grid_says_which_reads_it_counts():
    fused = _with_reporting(clones_per_sample=[250, 2, 0], clone_reads_per_sample=[700, 208, 0],
                            min_reads_per_sample=[5, 5, 5])
    colon = views.vj_counted(fused, 1)
    assert colon["reads"] == 208 and colon["followed_only"] is False
    assert colon["note"] == ("Counts the reads of the reported clones: 208 of 400 segmented reads. The 38 clones "
                             "with fewer than 5 reads are not counted.")
    # the spleen's 250 reported clones hold 700 reads, the fused result follows only its top (500 reads here)
    spleen = views.vj_counted(fused, 0)
    assert spleen["followed_only"] is True
    assert spleen["note"].startswith("Counts the reads of the top clones followed in this result: 500 of 800 "
                                     "segmented reads (all the reported clones of this sample hold 700).")
    assert views.vj_counted(fused, 2)["note"].startswith("No clone has at least 5 reads")
    unknown = _with_reporting()
    # an older fused result: no reads of the reported clones, no count of them, hence nothing about the others
    assert views.vj_counted(unknown, 1)["note"] == ("Counts the reads of the clones of this result: 208 of 400 "
                                                     "segmented reads.")
