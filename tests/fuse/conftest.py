"""Fixtures of the fuse tests: real single-sample results produced by ``python -m vdj`` on two related files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "real"
#: Two samples of one donor (spleen, colon): clones shared between them are real (tests/data/README.md).
REAL_SAMPLES = {"spl": DATA / "immunedb-d1_spl.fastq", "colon": DATA / "immunedb-d1_colon.fastq"}


@pytest.fixture(scope="session")
def vdj_results(tmp_path_factory) -> dict[str, Path]:
    """``{"spl": path, "colon": path}`` of the .vidjil files written by ``python -m vdj -r 1`` (every clone with
    at least one read is reported, so that clones outside the top 100 exist in both samples). Both analyses run
    at once (about 4 s)."""
    out = tmp_path_factory.mktemp("vdj")
    processes = {
        name: subprocess.Popen([sys.executable, "-m", "vdj", str(path), "-o", str(out), "-b", name, "-r", "1",
                                "-q", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, path in REAL_SAMPLES.items()}
    paths = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"vdj failed on {name}: {stderr.decode()[-2000:]}"
        paths[name] = out / f"{name}.vidjil"
    return paths


@pytest.fixture(scope="session")
def vdj_documents(vdj_results) -> dict[str, dict]:
    """The parsed .vidjil results (do not modify: shared by the session; copy first)."""
    return {name: json.loads(path.read_bytes()) for name, path in vdj_results.items()}
