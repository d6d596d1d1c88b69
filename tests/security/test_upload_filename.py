"""The file name of a ``PUT /api/v1/samples/{id}/file`` (query ``filename``, else header ``X-Filename``, else the
sample's current name) is the name of the file sent, through the real gateway and samples service: every
message about that body names it (the samples service's checks, the gateway's own empty-body and big-gzip
verdicts), it is sanitised and type-checked as at sample creation, and it becomes the sample's file name only
when the upload is accepted. A refused upload leaves the sample with its file and its name."""

from __future__ import annotations

import hashlib

import pytest

from attack_helpers import REAL_FASTQ, REAL_FASTQ_GZ, SMALL_FASTQ, error_code, objects_under, \
    stored_gzip_with_bad_crc

GOOD = REAL_FASTQ.read_bytes()
GOOD_GZ = REAL_FASTQ_GZ.read_bytes()
CORRUPT_GZ = GOOD_GZ[: len(GOOD_GZ) // 2]   # a truncated gzip


def named(how: str, name) -> dict:
    """The request arguments giving the file name ``name`` by query (``?filename=``) or by header (X-Filename)."""
    return {"params": {"filename": name}} if how == "query" else {"headers": {"X-Filename": name}}


@pytest.fixture
def good_sample(people, patient) -> dict:
    """A sample created as ``good.fastq`` holding an accepted real FASTQ."""
    sample = people.tech.new_sample(patient["id"], "good.fastq")
    answer = people.tech.upload(sample["id"], GOOD)
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_unchanged(people, object_store, sample: dict) -> dict:
    """The sample still has its accepted file (byte-identical, same key) and its name; no other object is left
    under its prefix (the refused attempt was deleted)."""
    now = people.reader.get(f"/samples/{sample['id']}").json()
    assert now["status"] == "ready" and now["object_key"] == sample["object_key"], now
    assert now["filename"] == sample["filename"] and now["original_filename"] == sample["original_filename"], now
    assert now["size"] == sample["size"] and now["sha256"] == sample["sha256"]
    assert people.reader.get(f"/samples/{sample['id']}/file").content == GOOD
    bucket = now["bucket"] or object_store.buckets["sequences"]
    assert objects_under(object_store, bucket, f"samples/{sample['id']}/") == [now["object_key"]]
    return now


@pytest.mark.parametrize("how", ["query", "header"])
def test_refused_body_is_named_by_its_own_file_name_and_changes_nothing(people, object_store, good_sample, how):
    """A truncated .fastq.gz sent as new.fastq.gz onto a sample holding good.fastq: 400 corrupt_gzip naming
    new.fastq.gz (not the file already there); the sample keeps good.fastq, its name and its bytes."""
    answer = people.tech.upload(good_sample["id"], CORRUPT_GZ, **named(how, "new.fastq.gz"))
    assert answer.status_code == 400 and error_code(answer) == "corrupt_gzip", answer.text
    message = answer.json()["error"]["message"]
    assert "new.fastq.gz" in message and "good.fastq" not in message, message
    assert_unchanged(people, object_store, good_sample)


@pytest.mark.parametrize("how", ["query", "header"])
def test_accepted_replacement_takes_the_new_name(people, object_store, good_sample, how):
    """A valid replacement sent as replaced.fastq: the sample is now named replaced.fastq (file name and
    original name), holds the new bytes, and the old object is gone."""
    answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, **named(how, "replaced.fastq"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["filename"] == "replaced.fastq"
    now = people.reader.get(f"/samples/{good_sample['id']}").json()
    assert now["filename"] == "replaced.fastq" and now["original_filename"] == "replaced.fastq", now
    assert now["sha256"] == hashlib.sha256(SMALL_FASTQ).hexdigest()
    assert people.reader.get(f"/samples/{good_sample['id']}/file").content == SMALL_FASTQ
    bucket = now["bucket"] or object_store.buckets["sequences"]
    assert objects_under(object_store, bucket, f"samples/{good_sample['id']}/") == [now["object_key"]]
    # the download is offered under the new name
    download = people.reader.get(f"/samples/{good_sample['id']}/file")
    assert "replaced.fastq" in download.headers["Content-Disposition"]


def test_a_replacement_of_another_type_is_checked_and_stored_as_that_type(people, good_sample):
    """good.fastq replaced by a .fastq.gz: checked as gzip (no ``gzip_without_gz_extension`` warning), stored
    under a .fastq.gz key, recorded as compressed FASTQ."""
    answer = people.tech.upload(good_sample["id"], GOOD_GZ, params={"filename": "d2.fastq.gz"})
    assert answer.status_code == 200, answer.text
    now = answer.json()
    assert now["filename"] == "d2.fastq.gz" and now["compressed"] is True and now["file_format"] == "fastq"
    assert now["object_key"].endswith("/r1.fastq.gz"), now["object_key"]
    assert "gzip_without_gz_extension" not in str(now["check"]["file1"]), now["check"]


@pytest.mark.parametrize("how", ["query", "header"])
def test_hostile_name_is_sanitised_as_at_creation(people, patient, good_sample, how):
    """``../../etc/passwd.fastq`` as the PUT's name: the sample gets the name sample creation would give (last
    path component), the name as sent is kept as original_filename, the object key names neither."""
    hostile = "../../etc/passwd.fastq"
    as_created = people.tech.new_sample(patient["id"], hostile)
    answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, **named(how, hostile))
    assert answer.status_code == 200, answer.text
    now = answer.json()
    assert now["filename"] == as_created["filename"] == "passwd.fastq", now
    assert now["original_filename"] == as_created["original_filename"] == hostile
    assert ".." not in now["object_key"] and "passwd" not in now["object_key"]


def test_control_characters_and_long_names_are_sanitised_as_at_creation(people, patient, good_sample):
    for name in ("a\x1b[31mred\x07.fastq", "x" * 390 + ".fastq"):
        as_created = people.tech.new_sample(patient["id"], name)
        answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, params={"filename": name})
        assert answer.status_code == 200, answer.text
        assert answer.json()["filename"] == as_created["filename"], (name, answer.json()["filename"])
        assert answer.json()["original_filename"] == as_created["original_filename"] == name


@pytest.mark.parametrize("name, code", [("notes.docx", "unsupported_file_type"),
                                        ("../../", "invalid_file_name")])
def test_unusable_name_is_refused_before_any_byte_and_changes_nothing(people, object_store, good_sample, name,
                                                                      code):
    answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, params={"filename": name})
    assert answer.status_code == 400 and error_code(answer) == code, answer.text
    assert_unchanged(people, object_store, good_sample)


def test_a_refused_rename_does_not_stick_to_the_next_upload(people, object_store, good_sample):
    """After a refused upload sent as new.fastq.gz, a PUT without a name keeps the sample's current name."""
    refused = people.tech.upload(good_sample["id"], CORRUPT_GZ, params={"filename": "new.fastq.gz"})
    assert refused.status_code == 400, refused.text
    again = people.tech.upload(good_sample["id"], SMALL_FASTQ)
    assert again.status_code == 200, again.text
    assert again.json()["filename"] == "good.fastq" and again.json()["original_filename"] == "good.fastq"


def test_query_wins_over_header_and_a_utf8_header_is_read_as_utf8(people, good_sample):
    answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, params={"filename": "from-query.fastq"},
                                headers={"X-Filename": "from-header.fastq"})
    assert answer.status_code == 200 and answer.json()["filename"] == "from-query.fastq", answer.text
    answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, headers={"X-Filename": "état.fastq".encode()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["original_filename"] == "état.fastq" and answer.json()["filename"] == "état.fastq"


def test_header_name_too_long_is_refused_like_the_query(people, object_store, good_sample):
    answer = people.tech.upload(good_sample["id"], SMALL_FASTQ, headers={"X-Filename": "x" * 401 + ".fastq"})
    assert answer.status_code == 422 and error_code(answer) == "validation_failed", answer.text
    assert_unchanged(people, object_store, good_sample)


def test_gateway_refusal_of_an_empty_body_names_the_file_sent(people, object_store, good_sample):
    answer = people.tech.upload(good_sample["id"], b"", params={"filename": "blank.fastq"})
    assert answer.status_code == 400 and error_code(answer) == "empty_file", answer.text
    message = answer.json()["error"]["message"]
    assert "blank.fastq" in message and "good.fastq" not in message, message
    assert_unchanged(people, object_store, good_sample)


def test_gateway_gzip_verdict_on_a_big_file_names_the_file_sent(people, object_store, good_sample):
    """Over 64 MiB the gateway's streaming gzip check decides (bad CRC at the very end): its message names the
    file sent."""
    answer = people.tech.upload(good_sample["id"], stored_gzip_with_bad_crc(66), params={"filename": "big.fq.gz"})
    assert answer.status_code == 400 and error_code(answer) == "corrupt_gzip", answer.text[:500]
    message = answer.json()["error"]["message"]
    assert "big.fq.gz" in message and "good.fastq" not in message, message
    assert_unchanged(people, object_store, good_sample)


def test_r2_of_a_pair_takes_its_new_name_and_r1_keeps_its_own(people, patient):
    sample = people.tech.new_sample(patient["id"], "d1_R1.fastq", filename2="d1_R2.fastq")
    assert people.tech.upload(sample["id"], GOOD).status_code == 200
    answer = people.tech.upload(sample["id"], SMALL_FASTQ, params={"file_number": 2, "filename": "d9_R2.fq"})
    assert answer.status_code == 200, answer.text
    now = answer.json()
    assert (now["filename"], now["filename2"], now["original_filename2"]) == ("d1_R1.fastq", "d9_R2.fq", "d9_R2.fq")
    refused = people.tech.upload(sample["id"], SMALL_FASTQ, params={"file_number": 2, "filename": "r.vidjil"})
    assert refused.status_code == 400, refused.text
    assert people.reader.get(f"/samples/{sample['id']}").json()["filename2"] == "d9_R2.fq"
