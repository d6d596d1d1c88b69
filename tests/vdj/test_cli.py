"""``python -m vdj`` end to end: outputs (.vidjil, AIRR validated with the airr library, per-read
assignments), golden files on Demo-X5, bad inputs (exit 2, one line, no traceback), threads.

Golden files: tests/data/vdj/Demo-X5.vidjil.json and Demo-X5.tsv (regenerate with
``VDJ_REGENERATE_GOLDEN=1 pytest tests/vdj/test_cli.py`` after an intended change, and review the diff).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import airr
import pytest

from vdj.cli import default_basename, main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "vdj"
DEMO = DATA / "vidjil" / "Demo-X5.fa"
REAL = DATA / "real" / "immunedb-d1_spl.fastq"
VOLATILE = ("timestamp", "run_timestamp", "commandline", "original_names", "log")


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "vdj", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _normalise(document):
    if isinstance(document, dict):
        return {k: ("<volatile>" if k in VOLATILE else _normalise(v)) for k, v in document.items()}
    if isinstance(document, list):
        return [_normalise(v) for v in document]
    if isinstance(document, float):
        return round(document, 6)
    return document


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("VDJ_REGENERATE_GOLDEN") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} differs from the golden file (see module docstring)"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = _run(DEMO, "-o", out, "-r", "1", "--read-assignments", out / "reads.tsv")
    assert result.returncode == 0, result.stderr
    return out, result


def test_demo_outputs_and_summary(demo_run):
    out, result = demo_run
    assert (out / "Demo-X5.vidjil").exists() and (out / "Demo-X5.tsv").exists()
    assert "junction detected in" in result.stderr and "Traceback" not in result.stderr
    document = json.loads((out / "Demo-X5.vidjil").read_text())
    assert document["vidjil_json_version"] == "2016b"
    assert document["reads"]["total"] == [14]
    assert document["samples"]["number"] == 1
    clones = document["clones"]
    assert len(clones) == document["reads"]["segmented"][0] >= 8
    assert [c["top"] for c in clones] == list(range(1, len(clones) + 1))
    by_germline = {c["germline"]: c for c in clones}
    trb = by_germline["TRB"]
    assert trb["name"] == "TRBV11-2*01 1/GTCC/0 TRBJ2-7*01"
    assert trb["seg"]["junction"]["aa"] == "CASSLGPSYEQYF" and trb["seg"]["junction"]["productive"] is True
    assert trb["seg"]["5"]["stop"] < trb["seg"]["3"]["start"]
    assert len(trb["id"]) == 50 and trb["id"] in trb["sequence"]
    # every 1-based position is >= 1
    for clone in clones:
        for feature in clone.get("seg", {}).values():
            if isinstance(feature, dict):
                assert all(feature[k] >= 1 for k in ("start", "stop") if k in feature)


def test_demo_golden_files(demo_run):
    out, _ = demo_run
    document = _normalise(json.loads((out / "Demo-X5.vidjil").read_text()))
    _golden("Demo-X5.vidjil.json", json.dumps(document, indent=1, sort_keys=True) + "\n")
    _golden("Demo-X5.tsv", (out / "Demo-X5.tsv").read_text())


def test_airr_output_is_valid(demo_run):
    out, _ = demo_run
    assert airr.validate_rearrangement(str(out / "Demo-X5.tsv"))
    rows = list(airr.read_rearrangement(str(out / "Demo-X5.tsv")))
    trb = next(r for r in rows if r["locus"] == "TRB")
    assert trb["v_call"] == "TRBV11-2*01" and trb["j_call"] == "TRBJ2-7*01" and trb["duplicate_count"] == 1
    assert trb["junction_aa"] == "CASSLGPSYEQYF" and trb["productive"] is True
    assert trb["sequence_id"] == trb["clone_id"]


def test_airr_positions_are_the_vidjil_positions(demo_run):
    """AIRR positions are 1-based closed, like .vidjil ``seg`` (read as text, not by the airr library,
    whose reader converts *_start to 0-based)."""
    out, _ = demo_run
    clones = {c["id"]: c for c in json.loads((out / "Demo-X5.vidjil").read_text())["clones"]}
    rows = list(csv.DictReader((out / "Demo-X5.tsv").open(), delimiter="\t"))
    assert {r["sequence_id"] for r in rows} == set(clones)
    for row in rows:
        seg = clones[row["sequence_id"]].get("seg", {})
        if "5" not in seg:
            continue
        assert int(row["v_sequence_start"]) == seg["5"]["start"] and int(row["v_sequence_end"]) == seg["5"]["stop"]
        assert int(row["j_sequence_start"]) == seg["3"]["start"] and int(row["j_sequence_end"]) == seg["3"]["stop"]
        if "cdr3" in seg:
            start, end = int(row["cdr3_start"]), int(row["cdr3_end"])
            assert (start, end) == (seg["cdr3"]["start"], seg["cdr3"]["stop"])
            assert row["sequence"][start - 1:end] == row["cdr3"] == row["junction"][3:-3]


def test_read_assignments(demo_run):
    out, _ = demo_run
    rows = list(csv.reader((out / "reads.tsv").open(), delimiter="\t"))
    assert rows[0] == ["read_id", "clone_id", "locus", "status"]
    assert len(rows) == 15
    clone_ids = {c["id"] for c in json.loads((out / "Demo-X5.vidjil").read_text())["clones"]}
    for read_id, clone_id, locus, status in rows[1:]:
        assert (status == "SEG") == bool(clone_id)
        assert not clone_id or clone_id in clone_ids
        assert status == "SEG" or status.startswith("UNSEG")


def test_vidjil_file_loads_like_the_format_examples(demo_run):
    """Same top-level structure as vidjil-algo's own result file (format example)."""
    out, _ = demo_run
    ours = json.loads((out / "Demo-X5.vidjil").read_text())
    example = json.loads((DATA / "vidjil" / "format-examples" / "Demo-X5-no-clone.vidjil").read_text())
    for key in ("vidjil_json_version", "samples", "reads", "clones", "germlines", "diversity", "config"):
        assert key in ours and key in example
    for key in ("total", "segmented", "germline"):
        assert isinstance(ours["reads"][key], type(example["reads"][key]))
    for key in ("number", "original_names", "producer", "run_timestamp", "commandline", "log"):
        assert key in ours["samples"]
    assert set(ours["diversity"]) == set(example["diversity"])
    assert ours["germlines"]["species_taxon_id"] == 9606


@pytest.mark.parametrize("threads", ["2", "3"])   # 2: detection kernel on a thread; 3+: worker processes
def test_real_reads_reverse_strand_gzip_and_threads(tmp_path, threads):
    gz = tmp_path / "spl.fastq.gz"
    gz.write_bytes(gzip.compress(REAL.read_bytes()))
    one = _run(gz, "-o", tmp_path / "one", "-z", "5", "--read-assignments", tmp_path / "one.tsv")
    two = _run(gz, "-o", tmp_path / "two", "-z", "5", "--threads", threads, "--read-assignments", tmp_path / "two.tsv",
               "--batch-size", "100")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert (tmp_path / "one.tsv").read_text() == (tmp_path / "two.tsv").read_text()
    ours, theirs = (json.loads((tmp_path / d / "spl.vidjil").read_text()) for d in ("one", "two"))
    assert [(c["id"], c["reads"]) for c in ours["clones"]] == [(c["id"], c["reads"]) for c in theirs["clones"]]
    assert ours["reads"] == theirs["reads"]
    document = json.loads((tmp_path / "one" / "spl.vidjil").read_text())
    assert document["reads"]["total"] == [1468]
    assert document["reads"]["segmented"][0] >= 1460
    assert document["reads"]["germline"]["IGH"][0] == document["reads"]["segmented"][0]
    top = document["clones"][0]
    assert top["germline"] == "IGH" and top["name"].startswith("IGHV") and top["seg"]["junction"]["aa"].startswith("C")
    assert "SEG_-" in document["samples"]["log"][0]


def test_empty_input_is_a_valid_run(tmp_path, capsys):
    empty = tmp_path / "empty.fastq"
    empty.write_bytes(b"")
    assert main([str(empty), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert "note: the input holds no reads" in capsys.readouterr().err  # said even with -q
    document = json.loads((tmp_path / "out" / "empty.vidjil").read_text())
    assert document["reads"]["total"] == [0] and document["clones"] == []
    assert airr.validate_rearrangement(str(tmp_path / "out" / "empty.tsv"))


@pytest.mark.parametrize("content, expected", [
    (b"\x1f\x8b\x08\x00garbage", "error:"),
    (b"this is not a sequence file\n", "not a FASTA or FASTQ"),
    (b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nII\n", "record 2"),
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.fastq"
    path.write_bytes(content)
    assert main([str(path), "-o", str(tmp_path / "out")]) == 2
    stderr = capsys.readouterr().err
    assert expected in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_bad_input_subprocess_no_traceback(tmp_path):
    path = tmp_path / "bad.fastq"
    path.write_bytes(b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nII\n")
    result = _run(path, "-o", tmp_path / "out")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "record 2" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("make_args, expected", [
    (lambda t: [str(t / "absent.fq")], "no such file"),
    (lambda t: [str(DEMO), "-g", "XYZ"], "XYZ"),
    (lambda t: [str(DEMO), "-w", "abc"], "invalid"),
    (lambda t: [str(DEMO), "--read-assignments", str(t / "no" / "dir" / "r.tsv")], "does not exist"),
])
def test_bad_options_exit_2(tmp_path, capsys, make_args, expected):
    assert main(make_args(tmp_path) + ["-o", str(tmp_path / "out")]) == 2
    stderr = capsys.readouterr().err
    assert expected in stderr and "Traceback" not in stderr


def test_preset_and_basename(tmp_path):
    assert main([str(DEMO), "-o", str(tmp_path), "-g", "TRB,TRG", "-b", "sample", "-r", "1", "-q"]) == 0
    document = json.loads((tmp_path / "sample.vidjil").read_text())
    assert {c["germline"] for c in document["clones"]} == {"TRB", "TRG"}
    assert set(document["reads"]["germline"]) == {"TRB", "TRG"}
    assert default_basename("x/S1.fastq.gz") == "S1" and default_basename("a.b.fa") == "a.b"


def test_library_entry(tmp_path):
    import vdj
    result = vdj.analyze(DEMO, min_reads=1, germline_preset="TRG")
    assert result.stats.total == 14 and result.stats.per_system == {"TRG": 1}
    assert result.to_vidjil()["clones"][0]["germline"] == "TRG"
    result.write_airr(tmp_path / "trg.tsv")
    assert airr.validate_rearrangement(str(tmp_path / "trg.tsv"))
    assert result.stats.to_dict()["reasons"]["UNSEG too short"] == 0


def test_warm_up_compiles_once(tmp_path):
    """vdj.warm_up() fills the numba cache; a run afterwards compiles nothing (starts fast)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    warm = subprocess.run([sys.executable, "-c", "import vdj; vdj.warm_up()"], env=env, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert warm.returncode == 0, warm.stderr
    cached = {p.name for p in (tmp_path / "numba").rglob("*.nbc")}
    assert cached
    run = subprocess.run([sys.executable, "-m", "vdj", str(DEMO), "-o", str(tmp_path / "out"), "-r", "1", "-q"],
                         env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert {p.name for p in (tmp_path / "numba").rglob("*.nbc")} == cached


@pytest.mark.parametrize("threads", ["2", "3"])
def test_bad_record_with_threads_stops_the_workers(tmp_path, threads):
    good = "".join(f"@r{i}\n{'ACGT' * 40}\n+\n{'I' * 160}\n" for i in range(30_000))
    path = tmp_path / "bad.fastq"
    path.write_text(good + "@broken\nACGT\n+\nII\n")
    result = _run(path, "-o", tmp_path / "out", "--threads", threads)
    assert result.returncode == 2 and "record 30001" in result.stderr and "Traceback" not in result.stderr


def test_clones_left_out_by_min_reads_are_explained(tmp_path, capsys):
    demo = Path(__file__).resolve().parents[1] / "data" / "vidjil" / "Demo-X5.fa"
    assert main([str(demo), "-o", str(tmp_path / "out"), "-q"]) == 0  # default -r 5: 14 reads, 1 read per clone
    err = capsys.readouterr().err
    assert "have fewer than 5 reads (-r 5) and are not in the outputs; use -r 1" in err
    assert main([str(demo), "-o", str(tmp_path / "out1"), "-q", "-r", "1"]) == 0
    assert "not in the outputs" not in capsys.readouterr().err
