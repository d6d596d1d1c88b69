"""Every refused upload is in the sample's audit trail, whoever found the problem: the samples service for the
files it reads whole (up to 64 MiB), the gateway's streaming gzip check for bigger ones and its refusal of an empty
body (recorded through ``samples.reject_upload``), and a forged ``reject_upload`` is refused like any other
write."""

from __future__ import annotations

import pytest

from attack_helpers import REAL_FASTQ_GZ, error_code, objects_under, stored_gzip_with_bad_crc
from services.common.exceptions import BadRequest, NotFound, PermissionDenied

GOOD = REAL_FASTQ_GZ.read_bytes()


def _rejections(people, set_id: int, sample_id: int) -> list[dict]:
    trail = people.reader.get(f"/sample_sets/{set_id}/audit")
    assert trail.status_code == 200, trail.text
    return [e for e in trail.json()["items"] if e["action"] == "upload_rejected" and e["sample_id"] == sample_id]


@pytest.mark.parametrize("file_number", [1, 2])
def test_big_gzip_refused_by_the_gateway_is_in_the_audit_trail(people, patient, object_store, file_number):
    """70 MiB of gzip with a wrong CRC-32: only the gateway reads it whole. 400 ``corrupt_gzip``, nothing kept,
    and the audit trail (read through the API) holds the same ``upload_rejected`` entry the samples service
    writes for the files it checks itself."""
    sample = people.tech.new_sample(patient["id"], "big_R1.fastq.gz", filename2="big_R2.fastq.gz")
    answer = people.tech.upload(sample["id"], stored_gzip_with_bad_crc(70), params={"file_number": file_number})
    assert answer.status_code == 400 and error_code(answer) == "corrupt_gzip", answer.text[:500]
    bucket = sample.get("bucket") or object_store.buckets["sequences"]
    assert objects_under(object_store, bucket, f"samples/{sample['id']}/") == []
    entries = _rejections(people, patient["id"], sample["id"])
    assert len(entries) == 1, entries
    assert entries[0]["user_id"] == people.users["tech"]["id"]
    assert entries[0]["details"] == {"file_number": file_number, "code": "corrupt_gzip"}, entries

    # the same shape as the entry of a file the samples service refuses itself (a truncated small gzip)
    small = people.tech.new_sample(patient["id"], "small.fastq.gz")
    refused = people.tech.upload(small["id"], GOOD[: len(GOOD) // 2])
    assert refused.status_code == 400 and error_code(refused) == "corrupt_gzip", refused.text
    by_service = _rejections(people, patient["id"], small["id"])
    assert len(by_service) == 1 and by_service[0]["details"] == {"file_number": 1, "code": "corrupt_gzip"}
    assert set(by_service[0]) == set(entries[0])


@pytest.mark.parametrize("file_number", [1, 2])
def test_empty_body_refused_by_the_gateway_is_in_the_audit_trail(people, patient, object_store, file_number):
    """An empty PUT is refused by the gateway before the samples service sees any byte: 400 ``empty_file``,
    nothing kept, and the same ``upload_rejected`` entry in the audit trail (through ``samples.reject_upload``)."""
    sample = people.tech.new_sample(patient["id"], "empty_R1.fastq.gz", filename2="empty_R2.fastq.gz")
    answer = people.tech.upload(sample["id"], b"", params={"file_number": file_number})
    assert answer.status_code == 400 and error_code(answer) == "empty_file", answer.text[:500]
    bucket = sample.get("bucket") or object_store.buckets["sequences"]
    assert objects_under(object_store, bucket, f"samples/{sample['id']}/") == []
    entries = _rejections(people, patient["id"], sample["id"])
    assert len(entries) == 1, entries
    assert entries[0]["user_id"] == people.users["tech"]["id"]
    assert entries[0]["details"] == {"file_number": file_number, "code": "empty_file"}, entries
    # nothing was recorded as the sample's file
    assert people.tech.get(f"/samples/{sample['id']}").json()["object_key"] in (None, "")


def test_a_forged_reject_upload_is_refused(rpc, people, patient):
    """``samples.reject_upload`` writes in a sample's audit trail: it needs the ``upload`` right on a set holding
    the sample (404 for a caller who may not read it, 403 for a reader), an upload attempt of that sample (not its
    accepted file, not another sample's key) and a known file-check code."""
    sample = people.tech.new_sample(patient["id"], "target.fastq.gz")
    accepted = people.tech.upload(sample["id"], GOOD)
    assert accepted.status_code == 200, accepted.text
    accepted_key = accepted.json()["object_key"]
    attempt = f"samples/{sample['id']}/0123456789abcdef/r1.fastq.gz"
    other = people.tech.new_sample(patient["id"], "other.fastq.gz")
    refusals = [
        (people.principals["stranger"], sample["id"], 1, attempt, "corrupt_gzip", NotFound),
        (people.principals["reader"], sample["id"], 1, attempt, "corrupt_gzip", PermissionDenied),
        (people.principals["tech"], sample["id"], 1, accepted_key, "corrupt_gzip", BadRequest),
        (people.principals["tech"], sample["id"], 1, f"samples/{other['id']}/0123456789abcdef/r1.fastq.gz",
         "corrupt_gzip", BadRequest),
        (people.principals["tech"], sample["id"], 1, "../../etc/passwd", "corrupt_gzip", BadRequest),
        (people.principals["tech"], sample["id"], 1, attempt, "all_fine", BadRequest),
        (people.principals["tech"], sample["id"], 1, attempt, "upload_mismatch", BadRequest),
        (people.principals["tech"], sample["id"], 2, attempt, "corrupt_gzip", BadRequest),  # not a pair
        (people.principals["tech"], sample["id"], 1, attempt, ["corrupt_gzip"], BadRequest),
        (people.principals["tech"], 10 ** 9, 1, attempt, "corrupt_gzip", NotFound),
    ]
    for principal, sample_id, file_number, key, code, expected in refusals:
        with pytest.raises(expected):
            rpc.samples.reject_upload(principal, sample_id, file_number, key, code, "forged")
    assert _rejections(people, patient["id"], sample["id"]) == []
    # the sample and its accepted file are untouched
    now = people.reader.get(f"/samples/{sample['id']}").json()
    assert now["status"] == "ready" and now["object_key"] == accepted_key

    # what the gateway sends for a refused attempt is recorded, with the caller as its author
    entry = rpc.samples.reject_upload(people.principals["tech"], sample["id"], 1, attempt, "excessive_compression",
                                      "big.fastq.gz: the gzip data inflates more than 100 times")
    assert entry["action"] == "upload_rejected" and entry["details"] == {"file_number": 1,
                                                                          "code": "excessive_compression"}
    entries = _rejections(people, patient["id"], sample["id"])
    assert [e["id"] for e in entries] == [entry["id"]] and entries[0]["user_id"] == people.users["tech"]["id"]
