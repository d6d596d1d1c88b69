"""Samples and uploads over RPC against the real stack: the object is written to the real S3 server with
services.common.storage (as the gateway does), then ``complete_upload`` checks it from the store."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from samples_helpers import REAL_FASTQ, REAL_FASTQ_GZ, store_and_complete
from services.common.exceptions import BadRequest, NotFound, PermissionDenied
from services.samples.exceptions import UploadMismatch


@pytest.fixture
def patient_and_run(rpc, lab):
    patient = rpc.samples.create_sample_set(lab.owner, "patient", {"first_name": "Jean", "last_name": "Dupont",
                                                                   "birth_date": "1979-03-02"}, lab.group)
    run = rpc.samples.create_sample_set(lab.owner, "run", {"name": "run 12"}, lab.group)
    return patient, run


def test_real_fastq_gz_upload_is_recorded_and_read_back_identical(rpc, lab, object_store, patient_and_run, events):
    patient, run = patient_and_run
    listener = events(["sample.uploaded"])
    sample = rpc.samples.create_sample(lab.tech, [patient["id"], run["id"]], "C:\\seq\\spl d1.fastq.gz",
                                       "2024-02-03", "diagnosis #dx")
    assert sample["status"] == "awaiting_upload" and sample["filename"] == "spl_d1.fastq.gz"
    assert sample["original_filename"] == "C:\\seq\\spl d1.fastq.gz"
    assert sample["upload_key"].startswith(f"samples/{sample['id']}/") and "spl" not in sample["upload_key"]
    data = REAL_FASTQ_GZ.read_bytes()
    done = store_and_complete(rpc, object_store, lab.tech, sample, data)
    assert done["status"] == "ready" and done["size"] == len(data)
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    assert done["file_format"] == "fastq" and done["compressed"] is True
    assert done["check"]["file1"]["records_checked"] == 1468 and done["check"]["file1"]["complete"] is True
    got = rpc.samples.get_sample(lab.reader, sample["id"])
    assert got["object_key"] == sample["upload_key"] and got["sampling_date"] == "2024-02-03"
    assert got["sample_set_ids"] == sorted([patient["id"], run["id"]])
    assert object_store.get_bytes(got["bucket"], got["object_key"]) == data
    event = listener.collect(lambda body: body["data"]["sample_id"] == sample["id"])
    assert event["version"] == 1 and event["data"]["object_key"] == got["object_key"]
    assert event["data"]["size"] == len(data) and event["data"]["sha256"] == got["sha256"]
    assert sorted(event["data"]["sample_set_ids"]) == sorted([patient["id"], run["id"]])
    # the sample appears in both sets, each telling it is shared with the other
    in_run = rpc.samples.get_sample_set(lab.tech, run["id"])["samples"]
    assert [s["id"] for s in in_run] == [sample["id"]]
    assert in_run[0]["shared_with"] == [{"id": patient["id"], "kind": "patient", "name": "Dup"}]
    sets = rpc.samples.sets_of_sample(sample["id"])
    assert {s["sample_set_id"] for s in sets} == {patient["id"], run["id"]}
    assert sets[0]["samples"][0]["object_key"] == got["object_key"]
    trail = rpc.samples.list_audit(lab.reader, run["id"])
    assert [e["action"] for e in trail["items"]][:2] == ["upload", "create_sample"]


def test_download_is_audited_and_needs_read(rpc, lab, object_store, patient_and_run):
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "a.fastq")
    store_and_complete(rpc, object_store, lab.owner, sample, REAL_FASTQ.read_bytes())
    where = rpc.samples.download_sample(lab.reader, sample["id"])
    assert where["object_key"] == sample["upload_key"] and where["filename"] == "a.fastq"
    assert rpc.samples.list_audit(lab.owner, patient["id"])["items"][0]["action"] == "download"
    with pytest.raises(NotFound):
        rpc.samples.download_sample(lab.stranger, sample["id"])


def test_upload_needs_upload_right_on_every_set(rpc, lab, patient_and_run):
    patient, run = patient_and_run
    with pytest.raises(PermissionDenied):
        rpc.samples.create_sample(lab.reader, [patient["id"]], "a.fastq")
    with pytest.raises(NotFound):
        rpc.samples.create_sample(lab.stranger, [patient["id"]], "a.fastq")
    with pytest.raises(BadRequest):
        rpc.samples.create_sample(lab.owner, [], "a.fastq")
    sample = rpc.samples.create_sample(lab.owner, [run["id"]], "a.fastq")
    with pytest.raises(NotFound):
        rpc.samples.get_sample(lab.stranger, sample["id"])
    with pytest.raises(PermissionDenied):
        rpc.samples.begin_upload(lab.reader, sample["id"])
    with pytest.raises(NotFound):
        rpc.samples.complete_upload(lab.stranger, sample["id"], sample["upload_key"], 1, "0" * 64)


def test_wrong_key_size_or_checksum_is_refused_and_retry_works(rpc, lab, object_store, patient_and_run):
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "r.fastq")
    data = REAL_FASTQ.read_bytes()
    with pytest.raises(UploadMismatch):
        rpc.samples.complete_upload(lab.owner, sample["id"], "samples/other/key.fastq", len(data), "0" * 64)
    with pytest.raises(NotFound):   # nothing stored yet (interrupted before the first byte)
        rpc.samples.complete_upload(lab.owner, sample["id"], sample["upload_key"], len(data), "0" * 64)
    with pytest.raises(UploadMismatch):   # the gateway saw more bytes than were stored: interrupted
        store_and_complete(rpc, object_store, lab.owner, sample, data[:1000], size=len(data))
    with pytest.raises(UploadMismatch):
        store_and_complete(rpc, object_store, lab.owner, sample, data, sha256="ab" * 32)
    assert rpc.samples.get_sample(lab.owner, sample["id"])["status"] == "awaiting_upload"
    retry = rpc.samples.begin_upload(lab.owner, sample["id"])
    assert retry["object_key"] != sample["upload_key"]     # a new key per attempt (an old one never completes)
    with pytest.raises(UploadMismatch):
        store_and_complete(rpc, object_store, lab.owner, sample, data)
    assert not object_store.exists(sample["upload_bucket"], sample["upload_key"])   # the stray object removed
    done = store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": retry["object_key"]}, data)
    assert done["status"] == "ready"


HOSTILE = {
    "empty.fastq": (b"", "empty_file"),
    "truncated.fastq.gz": (REAL_FASTQ_GZ.read_bytes()[:50_000], "corrupt_gzip"),
    "plain.fastq.gz": (b"@r1\nACGT\n+\nIIII\n", "not_gzip"),
    "image.fastq": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "binary_file"),
    "archive.fastq": (b"PK\x03\x04" + b"\x00" * 100, "unsupported_compression"),
    "broken.fastq": (b"@r1\nACGT\n+\nIII\n", "sequence_syntax_error"),
    "words.fasta": (b">r1\nHELLO WORLD\n", "invalid_bases"),
    "notes.fastq": (b"these are my notes\n", "sequence_syntax_error"),
    "empty.fastq.gz": (gzip.compress(b""), "empty_file"),
    "bad.vidjil": (b'{"not": "vidjil"}', "invalid_analysis_file"),
}


@pytest.mark.parametrize("filename", sorted(HOSTILE))
def test_corrupted_and_hostile_files_each_get_their_error(rpc, lab, object_store, patient_and_run, filename):
    data, code = HOSTILE[filename]
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], filename)
    with pytest.raises(BadRequest) as caught:
        store_and_complete(rpc, object_store, lab.owner, sample, data)
    assert caught.value.code == code, caught.value.message
    assert filename in caught.value.message
    assert rpc.samples.get_sample(lab.owner, sample["id"])["status"] == "awaiting_upload"
    assert not object_store.exists(sample["upload_bucket"], sample["upload_key"])   # rejected object removed


def test_accepted_oddities_are_reported_as_warnings(rpc, lab, object_store, patient_and_run):
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "odd.fastq")
    data = b"@r1\r\nacgtn\r\n+\r\nIIIII\r\n@r1\r\nACGTN\r\n+\r\nIIIII\r\n"
    done = store_and_complete(rpc, object_store, lab.owner, sample, data)
    codes = [w["code"] for w in done["check"]["file1"]["warnings"]]
    assert codes == ["windows_line_ends", "lower_case_bases", "duplicate_read_names"]


@pytest.mark.parametrize("name", ["report.docx", "../../etc/passwd", "\x00\x01", "reads.vidjil.gz"])
def test_unacceptable_file_names(rpc, lab, patient_and_run, name):
    patient, _ = patient_and_run
    with pytest.raises(BadRequest) as caught:
        rpc.samples.create_sample(lab.owner, [patient["id"]], name)
    assert caught.value.code in ("unsupported_file_type", "invalid_file_name")


def test_pair_is_ready_only_with_both_files(rpc, lab, object_store, patient_and_run):
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "x_R1.fastq", filename2="x_R2.fastq",
                                       pre_process_id=1)
    assert sample["is_pair"] and sample["upload_key2"]
    data = REAL_FASTQ.read_bytes()
    assert store_and_complete(rpc, object_store, lab.owner, sample, data)["status"] == "awaiting_upload"
    done = store_and_complete(rpc, object_store, lab.owner, sample, data, file_number=2)
    assert done["status"] == "ready" and done["object_key2"] == sample["upload_key2"]


def test_replacing_a_file_keeps_the_old_one_until_the_new_is_accepted(rpc, lab, object_store, patient_and_run):
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "s.fastq")
    first = store_and_complete(rpc, object_store, lab.owner, sample, REAL_FASTQ.read_bytes())
    again = rpc.samples.begin_upload(lab.owner, sample["id"])
    assert again["object_key"] != first["object_key"]
    with pytest.raises(BadRequest):
        store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": again["object_key"]}, b"junk\n")
    assert object_store.exists(first["bucket"], first["object_key"])
    replaced = store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": again["object_key"]},
                                  b"@r\nACGT\n+\nIIII\n")
    assert replaced["object_key"] == again["object_key"] and replaced["size"] == len(b"@r\nACGT\n+\nIIII\n")
    assert not object_store.exists(first["bucket"], first["object_key"])


def test_the_name_given_to_begin_upload_goes_with_its_key(rpc, lab, object_store, patient_and_run):
    """``begin_upload(..., filename)``: sanitised as at creation, the key's type follows it, ``complete_upload``
    checks the content under it and the sample takes it once accepted; a later ``begin_upload`` without a name
    gives a key that completes under the sample's current name."""
    patient, _ = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "s.fastq")
    first = store_and_complete(rpc, object_store, lab.owner, sample, REAL_FASTQ.read_bytes())
    named = rpc.samples.begin_upload(lab.owner, sample["id"], 1, "C:\\runs\\d2 R1.fa")
    assert named["filename"] == "d2_R1.fa" and named["object_key"].endswith("/r1.fasta")
    unnamed = rpc.samples.begin_upload(lab.owner, sample["id"])   # supersedes the named attempt
    assert unnamed["filename"] == "s.fastq" and unnamed["object_key"].endswith("/r1.fastq")
    with pytest.raises(UploadMismatch):
        store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": named["object_key"]}, b">r\nAC\n")
    kept = store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": unnamed["object_key"]},
                              b"@r\nACGT\n+\nIIII\n")
    assert (kept["filename"], kept["original_filename"]) == ("s.fastq", "s.fastq")
    named = rpc.samples.begin_upload(lab.owner, sample["id"], 1, "C:\\runs\\d2 R1.fa")
    with pytest.raises(BadRequest) as refused:     # the message names the file sent, not the sample's
        store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": named["object_key"]}, b"junk\n")
    assert "d2_R1.fa" in str(refused.value) and "s.fastq" not in str(refused.value)
    assert rpc.samples.get_sample(lab.owner, sample["id"])["filename"] == "s.fastq"
    renamed = store_and_complete(rpc, object_store, lab.owner, {**sample, "upload_key": named["object_key"]},
                                 b">r\nACGT\n")
    assert (renamed["filename"], renamed["original_filename"]) == ("d2_R1.fa", "C:\\runs\\d2 R1.fa")
    assert renamed["file_format"] == "fasta" and first["object_key"] != renamed["object_key"]
    trail = rpc.samples.list_audit(lab.owner, patient["id"])["items"]
    assert trail[0]["action"] == "upload" and trail[0]["details"]["renamed"] is True
    for bad in ("", 5, "notes.docx"):
        with pytest.raises(BadRequest):
            rpc.samples.begin_upload(lab.owner, sample["id"], 1, bad)


def test_delete_raw_keeps_metadata_delete_all_needs_confirmation(rpc, lab, object_store, patient_and_run, events):
    patient, _ = patient_and_run
    listener = events(["sample.deleted"])
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "d.fastq", info="#keep")
    done = store_and_complete(rpc, object_store, lab.owner, sample, REAL_FASTQ.read_bytes())
    with pytest.raises(PermissionDenied):
        rpc.samples.delete_sample(lab.reader, sample["id"])
    assert rpc.samples.delete_sample(lab.owner, sample["id"]) == {"sample_id": sample["id"], "deleted": "raw"}
    kept = rpc.samples.get_sample(lab.owner, sample["id"])
    assert kept["status"] == "raw_deleted" and kept["object_key"] is None and kept["tags"] == ["keep"]
    assert kept["sha256"] == done["sha256"]
    assert not object_store.exists(done["bucket"], done["object_key"])
    event = listener.collect(lambda body: body["data"]["sample_id"] == sample["id"])
    assert event["data"]["raw_only"] is True and event["data"]["results_deleted"] is False
    with pytest.raises(NotFound):
        rpc.samples.download_sample(lab.owner, sample["id"])
    with pytest.raises(BadRequest):
        rpc.samples.delete_sample(lab.owner, sample["id"], True)
    assert rpc.samples.delete_sample(lab.owner, sample["id"], True, True)["deleted"] == "sample"
    with pytest.raises(NotFound):
        rpc.samples.get_sample(lab.owner, sample["id"])


def test_deleting_a_set_keeps_samples_used_by_another_set(rpc, lab, object_store, patient_and_run):
    patient, run = patient_and_run
    shared = rpc.samples.create_sample(lab.owner, [patient["id"], run["id"]], "shared.fastq")
    only = rpc.samples.create_sample(lab.owner, [run["id"]], "only.fastq")
    store_and_complete(rpc, object_store, lab.owner, shared, b"@r\nACGT\n+\nIIII\n")
    store_and_complete(rpc, object_store, lab.owner, only, b"@r\nACGT\n+\nIIII\n")
    with pytest.raises(PermissionDenied):
        rpc.samples.delete_sample_set(lab.reader, run["id"])
    result = rpc.samples.delete_sample_set(lab.owner, run["id"])
    assert result["deleted_sample_ids"] == [only["id"]] and result["kept_sample_ids"] == [shared["id"]]
    assert rpc.samples.get_sample(lab.owner, shared["id"])["sample_set_ids"] == [patient["id"]]
    assert object_store.exists(shared["upload_bucket"], shared["upload_key"])
    assert not object_store.exists(only["upload_bucket"], only["upload_key"])
    with pytest.raises(NotFound):
        rpc.samples.get_sample_set(lab.owner, run["id"])
    with pytest.raises(NotFound):
        rpc.samples.get_sample(lab.owner, only["id"])


def test_sets_of_sample_unknown_is_not_found(rpc):
    with pytest.raises(NotFound):
        rpc.samples.sets_of_sample(10**9)


def test_edit_sample_metadata_and_memberships(rpc, lab, patient_and_run):
    patient, run = patient_and_run
    sample = rpc.samples.create_sample(lab.owner, [patient["id"]], "m.fastq", info="#a")
    edited = rpc.samples.update_sample(lab.owner, sample["id"], {"info": "#b", "sampling_date": "2024-01-31"},
                                       [patient["id"], run["id"]])
    assert edited["tags"] == ["b"] and edited["sampling_date"] == "2024-01-31"
    assert edited["sample_set_ids"] == sorted([patient["id"], run["id"]])
    with pytest.raises(BadRequest):
        rpc.samples.update_sample(lab.owner, sample["id"], {"sampling_date": "31/01/2024"})
    with pytest.raises(PermissionDenied):
        rpc.samples.update_sample(lab.reader, sample["id"], {"info": "x"})
