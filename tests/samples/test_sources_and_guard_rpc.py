"""Mounted file sources (browse, add without copying, paths outside refused) and the low-storage guard, over RPC
against the running samples service."""

from __future__ import annotations

import gzip
import os
import shutil

import pytest

from samples_helpers import REAL_FASTQ
from services.common.exceptions import BadRequest, Conflict, NotFound, PermissionDenied
from services.samples.exceptions import LowStorage, OutsideFileSource


@pytest.fixture
def share(tmp_path):
    """A directory like a hospital NFS share, with a link leading outside it."""
    root = tmp_path / "nfs"
    (root / "2024" / "run7").mkdir(parents=True)
    shutil.copy(REAL_FASTQ, root / "2024" / "run7" / "d1_R1.fastq")
    (root / "2024" / "run7" / "d1_R2.fastq.gz").write_bytes(gzip.compress(REAL_FASTQ.read_bytes()))
    (root / "2024" / "notes.txt").write_text("not a sequence file")
    (root / "2024" / ".hidden.fastq").write_text("@r\nACGT\n+\nIIII\n")
    (root / "2024" / "broken.fastq").write_text("@r\nACGT\n+\nIII\n")
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.fastq").write_text("@r\nACGT\n+\nIIII\n")
    os.symlink(outside, root / "2024" / "escape")
    os.symlink(outside / "secret.fastq", root / "2024" / "secret.fastq")
    return root


def test_admin_declares_a_source_users_browse_and_add_from(rpc, admin_principal, lab, share, events):
    with pytest.raises(PermissionDenied):
        rpc.samples.create_file_source(lab.owner, "nfs", str(share), ["fastq"])
    with pytest.raises(BadRequest):
        rpc.samples.create_file_source(admin_principal, "bad", "relative/dir", ["fastq"])
    with pytest.raises(BadRequest):
        rpc.samples.create_file_source(admin_principal, "bad", str(share), ["docx"])
    source = rpc.samples.create_file_source(admin_principal, f"nfs-{lab.group}", str(share),
                                            ["fastq", ".fastq.gz"])
    assert source["extensions"] == ["fastq", "fastq.gz"] and source["root"] == str(share)
    listed = rpc.samples.list_file_sources(lab.owner)
    assert any(s["id"] == source["id"] and s["root"] is None for s in listed)

    top = rpc.samples.browse_file_source(lab.owner, source["id"], "2024")
    names = [(e["name"], e["type"]) for e in top["entries"]]
    assert names == [("run7", "dir"), ("broken.fastq", "file")]   # no txt, hidden file or outside links
    run7 = rpc.samples.browse_file_source(lab.owner, source["id"], "2024/run7")
    assert [e["path"] for e in run7["entries"]] == ["2024/run7/d1_R1.fastq", "2024/run7/d1_R2.fastq.gz"]
    for escape in ("..", "2024/../..", "/etc", "2024/escape", "2024/secret.fastq",
                   "x" * 5000, "2024/" + "y" * 300):   # names too long for the filesystem: not found, not a 500
        with pytest.raises((OutsideFileSource, NotFound)):
            rpc.samples.browse_file_source(lab.owner, source["id"], escape)
    with pytest.raises(PermissionDenied):
        rpc.samples.browse_file_source(lab.reader, source["id"], "")

    patient = rpc.samples.create_sample_set(lab.owner, "patient", {"first_name": "A", "last_name": "Bernard"},
                                            lab.group)
    listener = events(["sample.uploaded"])
    sample = rpc.samples.add_mounted_sample(lab.owner, [patient["id"]], source["id"], "2024/run7/d1_R1.fastq",
                                            "2024-03-01", "#nfs", path2="2024/run7/d1_R2.fastq.gz")
    assert sample["status"] == "ready" and sample["source"] == "mounted" and sample["object_key"] is None
    assert sample["source_path"] == str(share / "2024" / "run7" / "d1_R1.fastq")
    assert sample["size"] == REAL_FASTQ.stat().st_size and sample["file_format"] == "fastq"
    event = listener.collect(lambda body: body["data"]["sample_id"] == sample["id"])
    assert event["data"]["source"] == "mounted" and event["data"]["source_path"] == sample["source_path"]
    for bad in ("2024/secret.fastq", "2024/escape/secret.fastq", "../private/secret.fastq", "2024/notes.txt",
                "2024/" + "z" * 300 + ".fastq"):
        with pytest.raises((OutsideFileSource, NotFound)):
            rpc.samples.add_mounted_sample(lab.owner, [patient["id"]], source["id"], bad)
    with pytest.raises(BadRequest) as caught:
        rpc.samples.add_mounted_sample(lab.owner, [patient["id"]], source["id"], "2024/broken.fastq")
    assert caught.value.code == "sequence_syntax_error"

    # deleting the raw file forgets the path, the mounted file stays
    assert rpc.samples.delete_sample(lab.owner, sample["id"]) == {"sample_id": sample["id"], "deleted": "raw"}
    assert (share / "2024" / "run7" / "d1_R1.fastq").read_bytes() == REAL_FASTQ.read_bytes()
    assert (share / "2024" / "run7" / "d1_R2.fastq.gz").exists()
    forgotten = rpc.samples.get_sample(lab.owner, sample["id"])
    assert forgotten["status"] == "raw_deleted", forgotten
    assert forgotten["source_path"] is None and forgotten["source_path2"] is None, forgotten
    for file_number in (1, 2):     # nothing left to read: neither file can be downloaded or analysed any more
        with pytest.raises(NotFound):
            rpc.samples.download_sample(lab.owner, sample["id"], file_number)
    assert rpc.samples.delete_sample(lab.owner, sample["id"]) == {"sample_id": sample["id"], "deleted": "raw"}
    with pytest.raises(Conflict):     # a sample still points into the source
        rpc.samples.delete_file_source(admin_principal, source["id"])
    rpc.samples.delete_sample(lab.owner, sample["id"], True, True)
    assert rpc.samples.delete_file_source(admin_principal, source["id"]) == {"deleted": source["id"]}


def test_low_storage_refuses_uploads_and_runs_and_notifies(rpc, admin_principal, lab, events):
    patient = rpc.samples.create_sample_set(lab.owner, "patient", {"first_name": "A", "last_name": "Low"},
                                            lab.group)
    status = rpc.samples.storage_status(admin_principal)
    assert status["ok"] is True and {c["component"] for c in status["checks"]} >= {"object_store"}
    with pytest.raises(PermissionDenied):
        rpc.samples.storage_status(lab.owner)
    listener = events(["storage.low"])
    try:
        low = rpc.samples.configure_storage_guard(admin_principal, 100)
        assert low["ok"] is False
        with pytest.raises(LowStorage) as caught:
            rpc.samples.create_sample(lab.owner, [patient["id"]], "a.fastq")
        assert caught.value.http_status == 503 and "Uploads are temporarily disabled" in caught.value.message
        with pytest.raises(LowStorage) as caught:
            rpc.samples.check_storage("run")
        assert "Analysis runs are temporarily disabled" in caught.value.message
        event = listener.collect(lambda body: True)
        assert event["data"]["purpose"] == "upload" and event["data"]["free_bytes"] < event["data"]["threshold_bytes"]
    finally:
        rpc.samples.configure_storage_guard(admin_principal, 1.0, 1024**3, {})
    assert rpc.samples.check_storage("upload")["ok"] is True
    assert rpc.samples.create_sample(lab.owner, [patient["id"]], "a.fastq")["status"] == "awaiting_upload"
    with pytest.raises(BadRequest):
        rpc.samples.configure_storage_guard(admin_principal, 150)
