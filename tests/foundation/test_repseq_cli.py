"""``repseq analyze`` / ``repseq germline`` take exactly the arguments of ``python -m vdj`` /
``python -m vdj.germline`` (options before or after INPUT, ``--help``), and ``repseq admin config NAME``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tests" / "data" / "vidjil" / "Demo-X5.fa"


def repseq(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repseq", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_top_level_help_points_to_a_working_analyze_help():
    top = repseq("--help")
    assert top.returncode == 0
    assert "repseq analyze --help" in top.stdout
    result = repseq("analyze", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: repseq analyze ")
    assert "-o OUTDIR" in result.stdout and "INPUT" in result.stdout


def test_analyze_without_arguments_shows_its_own_usage():
    result = repseq("analyze")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: repseq analyze ")
    assert "python -m vdj" not in result.stderr
    assert "INPUT" in result.stderr.splitlines()[-1]


def test_analyze_accepts_options_before_input_and_writes_what_python_m_vdj_writes(tmp_path):
    ours = repseq("analyze", "-o", tmp_path / "ours", "-q", "-r", "1", DEMO)
    assert ours.returncode == 0, ours.stderr
    assert ours.stderr == ""  # -q understood
    theirs = subprocess.run([sys.executable, "-m", "vdj", DEMO, "-r", "1", "-q", "-o", tmp_path / "theirs"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert theirs.returncode == 0, theirs.stderr
    assert (tmp_path / "ours" / "Demo-X5.tsv").read_text() == (tmp_path / "theirs" / "Demo-X5.tsv").read_text()
    assert (tmp_path / "ours" / "Demo-X5.vidjil").stat().st_size > 0
    import json

    commandlines = [json.loads((tmp_path / d / "Demo-X5.vidjil").read_text())["samples"]["commandline"][0]
                    for d in ("ours", "theirs")]
    assert commandlines[0].startswith("repseq analyze -o ") and commandlines[1].startswith("python -m vdj ")


def test_analyze_reports_a_bad_option_under_its_own_name():
    result = repseq("analyze", "--window", "3", DEMO)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: repseq analyze ")
    assert "window must be 10..500" in result.stderr


def test_germline_accepts_help_and_options_first():
    result = repseq("germline", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: repseq germline ")
    assert "build" in result.stdout and "info" in result.stdout
    info = repseq("germline", "info", "--species", "homo-sapiens")
    assert info.returncode == 0, info.stderr
    assert "systems:" in info.stdout


def test_admin_config_prints_one_value_and_masks_secrets():
    level = repseq("admin", "config", "REPSEQ_LOG_LEVEL")
    assert level.returncode == 0, level.stderr
    assert level.stdout.strip() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    secret = repseq("admin", "config", "REPSEQ_DB_PASSWORD")
    assert secret.stdout.strip() == "********"
    unknown = repseq("admin", "config", "REPSEQ_NO_SUCH")
    assert unknown.returncode == 2 and "REPSEQ_NO_SUCH" in unknown.stderr


def test_status_of_an_install_that_is_not_running_says_so(tmp_path):
    import os

    env = {**os.environ, "REPSEQ_VAR_DIR": str(tmp_path / "var"), "REPSEQ_DB_PASSWORD": "unused",
           "REPSEQ_S3_SECRET_KEY": "unused-secret", "REPSEQ_SECRET_KEY": "unused-secret-key-of-32-characters!!"}
    result = subprocess.run([sys.executable, "-m", "repseq", "status"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "nothing of this install is running" in result.stdout
