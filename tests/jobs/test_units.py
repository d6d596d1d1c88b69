"""Unit tests of the jobs pieces that need no service: program command lines, output reading, AIRR import,
payload validation, the segmenter's input rules and helper process, the worker's run limits."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from services.common.exceptions import BadRequest, TooLarge
from services.jobs import programs, states
from services.jobs.queue import JobMessage, new_token
from services.jobs.schemas import ConfigFields, Outcome, PreProcessFields, parse
from services.jobs.segmenter import normalise, serve
from services.jobs.worker import Worker, _merged_name, _safe_name

DATA = Path(__file__).resolve().parents[1] / "data"


def test_vdj_command_line(tmp_path):
    argv = programs.analysis_argv("vdj", "-g IGH -r 3", tmp_path / "in.fastq", tmp_path / "out", "s1-c2-j3")
    assert argv[:3] == [sys.executable, "-m", "vdj"]
    assert argv[3:] == [str(tmp_path / "in.fastq"), "-o", str(tmp_path / "out"), "-b", "s1-c2-j3", "--no-progress",
                        "-g", "IGH", "-r", "3"]
    assert programs.analysis_argv("none", "", tmp_path / "x", tmp_path, "b") is None


def test_command_template_placeholders(tmp_path):
    argv = programs.analysis_argv("command", "vidjil-algo -g germline/homo-sapiens.g -o &output_dir& -b &basename& "
                                  "&input&", Path("/s/in put.fq"), Path("/o"), "base")
    assert argv == ["vidjil-algo", "-g", "germline/homo-sapiens.g", "-o", "/o", "-b", "base", "/s/in put.fq"]
    with pytest.raises(programs.ProgramError, match="empty"):
        programs.analysis_argv("command", "  ", Path("a"), Path("b"), "c")
    with pytest.raises(programs.ProgramError, match="unknown program"):
        programs.analysis_argv("mixcr", "", Path("a"), Path("b"), "c")


def test_pre_process_template_quotes_paths():
    argv = programs.pre_process_argv("flash --to-stdout &file1& &file2& > &result&", Path("/a/R 1.fq"),
                                     Path("/a/R2.fq"), Path("/o/m.fq"))
    assert argv == ["/bin/sh", "-c", "flash --to-stdout '/a/R 1.fq' /a/R2.fq > /o/m.fq"]
    with pytest.raises(BadRequest, match="lacks &file2&"):
        parse(PreProcessFields, {"name": "x", "command": "merge &file1& > &result&"})


def test_read_stats_of_a_vidjil_file(tmp_path):
    path = tmp_path / "r.vidjil"
    path.write_text(json.dumps({"reads": {"total": [100], "segmented": [80],
                                          "germline": {"IGH": [70], "TRG": [10], "IGK": [0]}},
                                "clones": [{"id": "A"}, {"id": "B"}]}))
    assert programs.read_stats(path) == {"total": 100, "segmented": 80, "by_locus": {"IGH": 70, "TRG": 10},
                                         "clones": 2}
    path.write_text("{not json")
    with pytest.raises(programs.ProgramError, match="not valid JSON"):
        programs.read_stats(path)


def test_import_sniffs_and_converts_airr(tmp_path):
    airr = DATA / "vidjil" / "format-examples" / "Demo-X5.airr"
    assert programs.sniff_analysed_file(airr) == "airr"
    assert programs.sniff_analysed_file(DATA / "vidjil" / "format-examples" / "analysis-example.vidjil") == "vidjil"
    out = tmp_path / "x.vidjil"
    programs.airr_to_vidjil(airr, out)  # Vidjil's example holds only the header
    assert programs.read_stats(out) == {"total": 0, "segmented": 0, "by_locus": {}, "clones": 0}
    rows = tmp_path / "rows.tsv"
    rows.write_text("sequence_id\tlocus\tv_call\td_call\tj_call\tjunction\tjunction_aa\tduplicate_count\tsequence\n"
                    "a\tIGH\tIGHV3-23*01,IGHV3-23*04\tIGHD3-10*01\tIGHJ4*02\tTGTGCGAGATGG\tCARW\t5\tACGTTGTGCGAGATGG\n"
                    "b\tTRG\tTRGV9*01\t\tTRGJ1*01\tTGTGCCTTG\tCAL\t12\tTGTGCCTTG\n"
                    "c\tIGH\tIGHV3-23*01\t\tIGHJ4*02\tTGTGCGAGATGG\tCARW\t1\tTGTGCGAGATGG\n")
    programs.airr_to_vidjil(rows, out)
    data = json.loads(out.read_text())
    assert programs.read_stats(out) == {"total": 18, "segmented": 18, "by_locus": {"IGH": 6, "TRG": 12},
                                        "clones": 2}
    assert [(c["id"], c["reads"], c["top"], c["germline"]) for c in data["clones"]] == [
        ("TGTGCCTTG", [12], 1, "TRG"), ("TGTGCGAGATGG", [6], 2, "IGH")]
    assert data["clones"][1]["seg"]["5"]["name"] == "IGHV3-23*01"
    assert data["clones"][1]["seg"]["junction"]["aa"] == "CARW"
    fastq = tmp_path / "r.fastq"
    fastq.write_text("@r\nACGT\n+\nIIII\n")
    with pytest.raises(programs.ProgramError, match="neither a .vidjil"):
        programs.sniff_analysed_file(fastq)


def test_grep_reads_both_strands(tmp_path):
    reads = tmp_path / "r.fasta"
    reads.write_text(">a\nTTTTACGTACGGATCCAAAA\n>b\nGGGGGGGGGGGGGGGGG\n>c\nTTTTGGATCCGTACGTAAAA\n")
    out = tmp_path / "o.fa"
    assert programs.grep_reads(reads, "ACGTACGGATCC", out) == 2
    assert out.read_text().split("\n")[::2][:2] == [">a", ">c"]


def test_outcome_and_config_validation():
    assert parse(Outcome, {"state": "COMPLETED"}).state == "COMPLETED"
    with pytest.raises(BadRequest, match="state"):
        parse(Outcome, {"state": "RUNNING"})
    with pytest.raises(BadRequest, match="program"):
        parse(ConfigFields, {"name": "x", "program": "rm"})
    with pytest.raises(BadRequest, match="time_limit_s"):
        parse(ConfigFields, {"name": "x", "time_limit_s": 0})
    with pytest.raises(BadRequest):
        parse(ConfigFields, {"name": "x", "surprise": 1})


def test_queue_message_and_keys():
    token = new_token()
    assert JobMessage(job_id=3, token=token).model_dump() == {"job_id": 3, "token": token, "kind": "analysis"}
    assert states.active_key("analysis", 4, 2) == "analysis:4:2"
    assert states.active_key("grep_reads", 4, 2, "ACGT") != states.active_key("grep_reads", 4, 2, "ACGG")
    assert states.FINAL.isdisjoint(states.ACTIVE)


def test_scratch_names():
    assert _safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert _safe_name("ok-1.fastq.gz") == "ok-1.fastq.gz"
    assert _merged_name("lib1_R1.fastq.gz", "R2-lib1_R2.fastq.gz") == "lib1_merged.fastq.gz"


def test_segmenter_input_rules():
    assert normalise(">x\nacgt\nACGT\n>y\nTTTT") == [{"name": "x", "sequence": "ACGTACGT"},
                                                      {"name": "y", "sequence": "TTTT"}]
    assert normalise([{"name": "a", "sequence": " ac gt "}]) == [{"name": "a", "sequence": "ACGT"}]
    with pytest.raises(TooLarge):
        normalise(["ACGT"] * 11)
    with pytest.raises(BadRequest, match="not nucleotides"):
        normalise(["ACGT", "hello"])
    with pytest.raises(BadRequest):
        normalise([])


def test_segmenter_helper_designates():
    request = {"germline": "IGH", "sequences": [{"name": "noise", "sequence": "ACGT" * 30}]}
    out = io.StringIO()
    serve(io.StringIO(json.dumps(request) + "\n" + "not json\n"), out)
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["results"][0]["name"] == "noise" and first["results"][0]["detected"] is False
    assert "error" in second


class _Settings:
    scratch_dir = ""
    worker_heartbeat = 1.0

    def __init__(self, tmp):
        self.var_dir = tmp


def _bare_worker(tmp_path) -> Worker:
    worker = Worker.__new__(Worker)
    worker.settings = _Settings(tmp_path)
    worker.cancel_ids = set()
    worker.connection = None
    import threading

    worker.stop_event = threading.Event()
    return worker


def test_run_enforces_time_and_memory_limits(tmp_path):
    worker = _bare_worker(tmp_path)
    spec = {"job_id": 1, "time_limit_s": 1, "memory_limit_mb": 4096}
    log = tmp_path / "a.log"
    state, reason = worker._run([sys.executable, "-c", "import time; time.sleep(30)"], spec, log, tmp_path)
    assert (state, reason) == ("TIMEOUT", "exceeded the time limit of 1 s")
    spec = {"job_id": 2, "time_limit_s": 30, "memory_limit_mb": 200}
    state, reason = worker._run([sys.executable, "-c", "x = bytearray(400 * 1024 * 1024)"], spec, log, tmp_path)
    assert state == "FAILED" and "MemoryError" in reason and "memory limit 200 MiB" in reason
    state, reason = worker._run(["/nonexistent/program"], spec, log, tmp_path)
    assert state == "FAILED" and "cannot start" in reason
    worker.cancel_ids.add(3)
    state, reason = worker._run([sys.executable, "-c", "import time; time.sleep(30)"],
                                {"job_id": 3, "time_limit_s": 60, "memory_limit_mb": 4096}, log, tmp_path)
    assert state == "CANCELLED"
