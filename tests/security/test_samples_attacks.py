"""A hostile or clumsy user against the samples service, through the real gateway (API tokens, real S3, real
RabbitMQ/MariaDB). Each attack checks three things: the answer (status and error code), that nothing already
stored was lost or altered (a good file uploaded before stays byte-identical and referenced), and, for the big
ones, that the gateway and the samples service stayed within memory and kept answering.

Files: hostile uploads (corrupt/truncated gzip, bad CRC at the end of a big file, gzip bomb, a 200 MB line,
binary garbage, UTF-16, empty, .vidjil not JSON), file names, size limit and lying Content-Length, interrupted
uploads, concurrent uploads. Ids, pseudonymisation, sharing, deletion and principals: test_samples_access_attacks.py.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import threading
import time

import pytest

from attack_helpers import (REAL_FASTQ, REAL_FASTQ_GZ, SMALL_FASTQ, GeneratedBody, abort_upload_midway,
                            error_code, gzip_bomb, objects_under, peak_rss_mb, random_bytes, raw_request,
                            reset_peak_rss, stored_gzip_with_bad_crc, wait_until)

GOOD = REAL_FASTQ_GZ.read_bytes()


@pytest.fixture
def ready_sample(people, patient):
    """A sample of the patient whose real FASTQ.gz is stored and accepted: ``(sample, set)``."""
    sample = people.tech.new_sample(patient["id"], "good.fastq.gz")
    answer = people.tech.upload(sample["id"], GOOD)
    assert answer.status_code == 200, answer.text
    return answer.json(), patient


def assert_intact(people, object_store, sample: dict) -> None:
    """The sample still points to its accepted file, byte-identical, and nothing else lies under its prefix
    except objects no record points to that were deleted (rejected uploads are removed)."""
    now = people.reader.get(f"/samples/{sample['id']}").json()
    assert now["status"] == "ready" and now["object_key"] == sample["object_key"], now
    assert now["sha256"] == hashlib.sha256(GOOD).hexdigest() and now["size"] == len(GOOD)
    download = people.reader.get(f"/samples/{sample['id']}/file")
    assert download.status_code == 200 and download.content == GOOD


def samples_pid(stack) -> int:
    pid = stack.stack.running_pid("samples")
    assert pid, "samples service not running"
    return pid


def gateway_pid(stack) -> int:
    pid = stack.stack.running_pid("gateway")
    assert pid, "gateway not running"
    return pid


# -- hostile content, uploaded as the replacement of a good file ------------------------------------------------

def _utf16_fastq() -> bytes:
    return codecs.BOM_UTF16_LE + SMALL_FASTQ.decode().encode("utf-16-le")


HOSTILE = {
    "truncated gzip": ("t.fastq.gz", GOOD[: len(GOOD) // 2], "corrupt_gzip"),
    "gzip with a bad CRC": ("crc.fastq.gz", GOOD[:-8] + b"\0\0\0\0" + GOOD[-4:], "corrupt_gzip"),
    "gzip with a wrong length": ("len.fastq.gz", GOOD[:-4] + b"\1\0\0\0", "corrupt_gzip"),
    "corrupt deflate data": ("mid.fastq.gz", GOOD[:5000] + bytes(1000) + GOOD[6000:], "corrupt_gzip"),
    "random bytes named .fastq": ("garbage.fastq", random_bytes(300_000), "binary_file"),
    "random bytes named .fastq.gz": ("garbage.fastq.gz", random_bytes(300_000), "not_gzip"),
    "gzip magic then garbage": ("magic.fastq.gz", b"\x1f\x8b\x08\x00" + random_bytes(300_000), "corrupt_gzip"),
    "UTF-16 FASTQ": ("utf16.fastq", _utf16_fastq(), "binary_file"),
    "UTF-16 FASTQ gzipped": ("utf16.fastq.gz", gzip.compress(_utf16_fastq()), "binary_file"),
    "only blank lines": ("blank.fastq", b"\n\n \r\n\t\n", "empty_file"),
    "empty gzip": ("e.fastq.gz", gzip.compress(b""), "empty_file"),
    "vidjil that is not JSON": ("r.vidjil", b"<html><body>not json</body></html>", "invalid_analysis_file"),
    "vidjil, JSON but a list": ("r.vidjil", b"[1, 2, 3]", "invalid_analysis_file"),
    "vidjil, truncated JSON": ("r.vidjil", b'{"reads": {"total": [1]}, "clones": [', "invalid_analysis_file"),
    "vidjil in latin-1": ("r.vidjil", '{"samples": {"commandline": ["\xe9"]}}'.encode("latin-1"),
                          "binary_file"),
    "AIRR without header": ("a.tsv", b"x\ty\n1\t2\n", "invalid_analysis_file"),
    "bzip2": ("b.fastq", b"BZh91AY&SY" + random_bytes(1000), "unsupported_compression"),
    "FASTQ quality shorter": ("q.fastq", b"@r\nACGT\n+\nII\n", "sequence_syntax_error"),
    "HTML error page": ("page.fastq", b"<!DOCTYPE html><html>Proxy error</html>\n", "sequence_syntax_error"),
    "protein FASTA": ("p.fa", b">p1\nMKVLAAGIVGLLLWQQ\n", "invalid_bases"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_replacement_is_refused_and_the_good_file_stays(people, object_store, ready_sample, case):
    """A hostile file sent to replace an accepted one: 400 with its own code, the accepted file untouched, the
    rejected object deleted (no orphan besides the accepted file)."""
    sample, patient = ready_sample
    name, body, code = HOSTILE[case]
    # a sample is created per name (the name decides the type), then its good file is replaced
    target = people.tech.new_sample(patient["id"], name)
    if name.endswith(".fastq.gz"):
        target = people.tech.upload(target["id"], GOOD).json()
    answer = people.tech.upload(target["id"], body)
    assert answer.status_code == 400, answer.text
    assert error_code(answer) == code, answer.text
    message = answer.json()["error"]["message"]
    assert name in message or case == "vidjil in latin-1" or len(message) > 20
    assert_intact(people, object_store, sample)
    after = people.reader.get(f"/samples/{target['id']}").json()
    keys = objects_under(object_store, after["bucket"] or object_store.buckets["sequences"],
                         f"samples/{target['id']}/")
    assert keys == ([after["object_key"]] if after["object_key"] else []), keys
    if name.endswith(".fastq.gz"):
        assert after["status"] == "ready" and after["sha256"] == hashlib.sha256(GOOD).hexdigest()
        assert people.reader.get(f"/samples/{target['id']}/file").content == GOOD
    else:
        assert after["status"] == "awaiting_upload"
    trail = people.reader.get(f"/sample_sets/{patient['id']}/audit").json()["items"]
    assert any(e["action"] == "upload_rejected" and e["sample_id"] == target["id"]
               and e["details"]["code"] == code for e in trail)


@pytest.mark.parametrize("name, body, code, words", [
    ("u16.fastq", _utf16_fastq(), "binary_file", "UTF-16"),
    ("u16be.fa", codecs.BOM_UTF16_BE + ">r\nACGT\n".encode("utf-16-be"), "binary_file", "UTF-16"),
    ("u16nobom.fa", ">r\nACGT\n".encode("utf-16-le"), "binary_file", "UTF-16"),
    ("bom.fa", codecs.BOM_UTF8 + b">r\nACGT\n", "sequence_syntax_error", "byte order mark"),
])
def test_text_encodings_get_a_message_saying_what_to_do(people, patient, name, body, code, words):
    """A file saved as UTF-16 (Excel, Notepad) or with a BOM is not "binary data": the message says what it is
    and how to fix it."""
    sample = people.tech.new_sample(patient["id"], name)
    answer = people.tech.upload(sample["id"], body)
    assert answer.status_code == 400 and error_code(answer) == code, answer.text
    assert words in answer.json()["error"]["message"], answer.text


def test_empty_body_gets_the_empty_file_code(people, ready_sample, object_store):
    """An empty PUT: 400 ``empty_file`` (the documented code), the accepted file untouched."""
    sample, _ = ready_sample
    answer = people.tech.upload(sample["id"], b"")
    assert answer.status_code == 400, answer.text
    assert_intact(people, object_store, sample)
    assert error_code(answer) == "empty_file", answer.text


# -- big hostile files: bounded memory and time, clear errors ---------------------------------------------------

def test_bad_crc_at_the_end_of_a_big_gzip_is_refused(people, object_store, ready_sample):
    """70 MiB of valid FASTQ in gzip whose CRC-32 (the last 8 bytes) is wrong: files over 64 MiB are only
    checked on their first records by the samples service, so only the gateway, which sees every byte go by,
    can find it (``GzipIntegrity``). Expected: 400 ``corrupt_gzip``, the earlier file kept."""
    sample, _ = ready_sample
    answer = people.tech.upload(sample["id"], stored_gzip_with_bad_crc(70))
    assert_intact(people, object_store, sample) if answer.status_code != 200 else None
    assert answer.status_code == 400 and error_code(answer) == "corrupt_gzip", answer.text[:500]
    assert_intact(people, object_store, sample)


def test_gzip_bomb_is_refused_quickly_and_the_service_keeps_answering(stack, rpc, people, object_store,
                                                                      ready_sample):
    """A 2.3 MB gzip that inflates to 1 GiB of valid but absurdly repetitive FASTQ (ratio ~450; real FASTQ.gz
    compress 3-10 times). The samples service must neither spend minutes inflating it inside its (eventlet)
    worker, blocking every other call, nor accept it: 400 ``excessive_compression`` within seconds, memory
    bounded, other calls answered meanwhile."""
    sample, patient = ready_sample
    bomb = gzip_bomb(1024)
    assert len(bomb) < 3 * 1024 * 1024
    pid = samples_pid(stack)
    reset_peak_rss(pid)
    latencies: list[float] = []
    done = threading.Event()

    def probe():
        from attack_helpers import Client

        reader = Client(people.reader.root, people.reader.token)
        while not done.is_set():
            start = time.monotonic()
            reader.get(f"/sample_sets/{patient['id']}", timeout=60)
            latencies.append(time.monotonic() - start)
            time.sleep(0.2)

    prober = threading.Thread(target=probe)
    prober.start()
    start = time.monotonic()
    try:
        answer = people.tech.upload(sample["id"], bomb)
    finally:
        elapsed = time.monotonic() - start
        done.set()
        prober.join()
    assert answer.status_code == 400 and error_code(answer) == "excessive_compression", answer.text[:500]
    assert elapsed < 20, f"the bomb took {elapsed:.0f} s"
    assert max(latencies) < 10, f"other calls waited up to {max(latencies):.1f} s"
    assert peak_rss_mb(pid) < 400
    assert_intact(people, object_store, sample)


def test_a_bomb_bigger_than_the_full_check_is_refused(people, object_store, ready_sample):
    """70 MB of concatenated gzip members inflating to 30 GiB: expected 400 ``excessive_compression``."""
    sample, _ = ready_sample
    member = gzip_bomb(1024)
    answer = people.tech.upload(sample["id"], member * (70 * 1024 * 1024 // len(member) + 1))
    assert answer.status_code == 400 and error_code(answer) == "excessive_compression", answer.text[:300]
    assert_intact(people, object_store, sample)


def test_gzip_bomb_of_blank_lines_is_refused_quickly(people, object_store, ready_sample):
    """2 MB of gzip inflating to 2 GiB of newlines: refused without inflating it all."""
    sample, _ = ready_sample
    start = time.monotonic()
    answer = people.tech.upload(sample["id"], gzip_bomb(2048, fastq=False))
    assert answer.status_code == 400 and error_code(answer) in ("excessive_compression", "empty_file"), answer.text
    assert time.monotonic() - start < 20
    assert_intact(people, object_store, sample)


@pytest.mark.parametrize("kind, head", [("fastq", b"@read1 "), ("fasta", b">read1\n"),
                                        ("tsv", b"sequence_id\tsequence\nr1\t")])
def test_a_200_mb_line_is_refused_within_bounded_memory(stack, people, object_store, ready_sample, kind, head):
    """200 MB without a newline (a FASTQ header, a FASTA sequence, an AIRR row): the gateway streams it, the
    samples service must not pull the whole line into memory (dnaio grows its buffer to hold a record): 400
    with a message naming the line length, gateway and service peak memory bounded."""
    sample, patient = ready_sample
    target = people.tech.new_sample(patient["id"], f"long.{kind}")
    service, gateway = samples_pid(stack), gateway_pid(stack)
    reset_peak_rss(service)
    reset_peak_rss(gateway)
    # what the gateway holds already: it grows over a whole test run (connection pools, caches), so its share of
    # this upload is the growth; a 200 MB line held whole would add at least 200 MB
    gateway_before = peak_rss_mb(gateway)
    answer = people.tech.upload(target["id"], GeneratedBody(head, 200 * 1024 * 1024))
    code = "invalid_analysis_file" if kind == "tsv" else "sequence_syntax_error"
    assert answer.status_code == 400 and error_code(answer) == code, answer.text[:500]
    assert "line" in answer.json()["error"]["message"]
    assert peak_rss_mb(service) < 250, f"samples service peak {peak_rss_mb(service)} MB"
    growth = peak_rss_mb(gateway) - gateway_before
    assert growth < 64, f"gateway peak {peak_rss_mb(gateway)} MB, {growth} MB above its {gateway_before} MB before"
    assert people.reader.get(f"/samples/{target['id']}").json()["status"] == "awaiting_upload"
    assert_intact(people, object_store, sample)


def test_a_huge_vidjil_is_not_parsed_whole_in_memory(stack, people, object_store, ready_sample):
    """A 150 MB .vidjil, valid JSON made of a list of 75 million numbers: parsing it whole takes gigabytes of
    Python objects in the samples service. Expected: an answer (accepted as unchecked, or refused) with the
    service's peak memory bounded."""
    sample, patient = ready_sample
    target = people.tech.new_sample(patient["id"], "big.vidjil")
    service = samples_pid(stack)
    reset_peak_rss(service)
    size = 150 * 1024 * 1024
    head = b'{"reads": {"total": [1]}, "samples": {"number": 1}, "clones": [], "x": ['

    class Closed(GeneratedBody):
        """The numbers, then the closing ``0]}``."""

        def read(self, n=-1):
            data = super().read(n)
            if not data and not getattr(self, "tail", False):
                self.tail = True
                return b"0]}"
            return data

    answer = people.tech.upload(target["id"], Closed(head, size - 3, fill=b"0,"))
    assert answer.status_code in (200, 400), answer.text[:500]
    assert peak_rss_mb(service) < 400, f"samples service peak {peak_rss_mb(service)} MB"
    assert_intact(people, object_store, sample)


# -- file names -------------------------------------------------------------------------------------------------

NAMES = {
    "../../../etc/passwd.fastq": "passwd.fastq",
    "/srv/repseq/var/s3/r1.fastq": "r1.fastq",
    "C:\\Users\\lab\\..\\r2.fq.gz": "r2.fq.gz",
    "a\x00b\x07c\x1b[31m.fastq": "abc_31m.fastq",
    "invoice\u202eqf.exe.fastq": "invoiceqf.exe.fastq",
    "spl\u200bd1\u2066.fastq": "spld1.fastq",
    "name\r\nX-Injected: 1.fastq": "nameX-Injected_1.fastq",
    'quote"s;filename=evil.fastq': "quote_s_filename_evil.fastq",
    "..fastq.fastq": "fastq.fastq",
    "Ma\u0301rtin\u00e9 \u4e2d\u6587.fastq": "Mártiné_中文.fastq",
}


@pytest.mark.parametrize("given", sorted(NAMES))
def test_hostile_file_names_are_sanitised_everywhere(stack, people, patient, object_store, given):
    """Paths, control/format characters (NUL, ESC, RTL override, zero-width), header injection: the stored name
    is the last component without them; the original is kept as data only; the object key and the download's
    Content-Disposition never carry it."""
    created = people.tech.post(f"/sample_sets/{patient['id']}/samples", json={"filename": given})
    assert created.status_code == 201, created.text
    sample = created.json()
    assert sample["filename"] == NAMES[given]
    assert sample["original_filename"] == given
    answer = people.tech.upload(sample["id"], gzip.compress(SMALL_FASTQ) if given.endswith(".gz") else SMALL_FASTQ)
    assert answer.status_code == 200, answer.text
    key = answer.json()["object_key"]
    assert key.startswith(f"samples/{sample['id']}/") and ".." not in key and "passwd" not in key
    download = people.reader.get(f"/samples/{sample['id']}/file")
    disposition = download.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "X-Injected" not in download.headers
    assert disposition.startswith("attachment; filename*=UTF-8''") and '"' not in disposition
    assert ".." not in disposition.replace("..fastq", "")


@pytest.mark.parametrize("given, code", [
    ("....", "invalid_file_name"),
    ("../../", "invalid_file_name"),
    ("\u202e\u202e", "invalid_file_name"),
    (".fastq", "unsupported_file_type"),
    ("photo.jpg\u202eqtsaf.", "unsupported_file_type"),
    ("r.fastq.exe", "unsupported_file_type"),
    ("r.vidjil.gz", "unsupported_file_type"),
])
def test_unusable_names_are_refused_with_their_code(people, patient, given, code):
    answer = people.tech.post(f"/sample_sets/{patient['id']}/samples", json={"filename": given})
    assert answer.status_code == 400 and error_code(answer) == code, answer.text


def test_a_10000_character_name_is_refused_by_the_gateway_and_shortened_over_rpc(rpc, people, patient):
    long_name = "x" * 10_000 + ".fastq"
    answer = people.tech.post(f"/sample_sets/{patient['id']}/samples", json={"filename": long_name})
    assert answer.status_code in (400, 422), answer.text
    assert "filename" in answer.text
    sample = rpc.samples.create_sample(people.principals["tech"], [patient["id"]], long_name)
    assert len(sample["filename"]) <= 200 and sample["filename"].endswith(".fastq")
    assert len(sample["original_filename"]) <= 1024


def test_lone_surrogates_in_text_are_a_clear_400_not_a_500(people, patient):
    """JSON may carry an unpaired UTF-16 surrogate (``"\\ud800"``) that no database can store: the answer
    must be a 400 naming the problem, never an internal error."""
    raw = '{"filename": "r\\ud800.fastq", "info": "#a \\udfff"}'
    answer = people.tech.post(f"/sample_sets/{patient['id']}/samples", data=raw,
                              headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422), answer.text
    raw_set = ('{"kind": "patient", "group_id": %d, "fields": {"first_name": "A\\ud800", "last_name": "B"}}'
               % people.groups["owner"])
    answer = people.owner.post("/sample_sets", data=raw_set, headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422), answer.text
    for query in ("search=%ED%A0%80", "search=%FF%FE", "search=%00"):   # a UTF-8 surrogate, invalid UTF-8, NUL
        answer = people.owner.get(f"/sample_sets?{query}")
        assert answer.status_code in (200, 400, 422), answer.text


# -- size limit, lying Content-Length, interrupted uploads --------------------------------------------------------

LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def small_gateway(stack, tmp_path_factory):
    """A second real gateway (gunicorn) on the same services with REPSEQ_MAX_UPLOAD_BYTES = 2 MiB: its URL."""
    import socket

    from repseq.stack import Stack

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = stack.settings.replace(max_upload_bytes=LIMIT, gateway_port=port,
                                      var_dir=tmp_path_factory.mktemp("small-gateway"))
    second = Stack(settings, services=(), gateway=True, workers=0)
    second.start_gateway()
    try:
        assert wait_until(lambda: second.health()[0] == 200, timeout=60), second.log_tail("gateway")
        yield settings.gateway_url
    finally:
        second.down(include_object_store=False)


def _stored(object_store, sample_id: int) -> list[str]:
    return objects_under(object_store, object_store.buckets["sequences"], f"samples/{sample_id}/")


def test_content_length_over_the_limit_is_refused_before_reading(stack, people, object_store, ready_sample):
    """Content-Length 21 GiB (over the default 20 GiB): 413 at once, nothing stored, the accepted file kept."""
    sample, _ = ready_sample
    status, answer = raw_request(stack.url, "PUT", f"/samples/{sample['id']}/file",
                                 {"Authorization": f"Bearer {people.tech.token}",
                                  "Content-Length": str(21 * 1024**3)}, b"@r\nACGT\n", wait=30)
    assert status == 413, answer[:300]
    assert b'"too_large"' in answer
    assert _stored(object_store, sample["id"]) == [sample["object_key"]]
    assert_intact(people, object_store, sample)


def test_body_over_the_limit_is_cut_at_the_limit(small_gateway, people, object_store, ready_sample):
    """With a 2 MiB limit: a 5 MiB chunked body (no Content-Length) is refused with 413 as soon as the limit is
    crossed, the partial object is not kept; a Content-Length over the limit is refused at once; a file under
    the limit still goes through that gateway."""
    from attack_helpers import Client

    sample, _ = ready_sample
    tech = Client(small_gateway, people.tech.token)
    sent = []

    def chunks():
        for _ in range(5):
            sent.append(1)
            yield SMALL_FASTQ * (1024 * 1024 // len(SMALL_FASTQ))

    answer = tech.upload(sample["id"], chunks())
    assert answer.status_code == 413 and error_code(answer) == "too_large", answer.text
    assert str(LIMIT) in answer.json()["error"]["message"]
    assert _stored(object_store, sample["id"]) == [sample["object_key"]]
    assert_intact(people, object_store, sample)
    status, _ = raw_request(small_gateway, "PUT", f"/samples/{sample['id']}/file",
                            {"Authorization": f"Bearer {people.tech.token}", "Content-Length": str(LIMIT + 1)},
                            b"@r\n")
    assert status == 413
    answer = tech.upload(sample["id"], REAL_FASTQ_GZ.read_bytes())
    assert answer.status_code == 200, answer.text


def test_content_length_shorter_than_the_body(stack, people, object_store, ready_sample):
    """Content-Length announces half the body: the gateway reads exactly that much (HTTP says so), the cut file
    is refused by the checks (a record cut in the middle), the rest of the body is not taken as a request
    that does anything, and the accepted file is kept."""
    sample, _ = ready_sample
    body = REAL_FASTQ_GZ.read_bytes()
    status, answer = raw_request(stack.url, "PUT", f"/samples/{sample['id']}/file",
                                 {"Authorization": f"Bearer {people.tech.token}",
                                  "Content-Length": str(len(body) // 2)}, body)
    assert status == 400 and b'"corrupt_gzip"' in answer, answer[:500]
    assert_intact(people, object_store, sample)
    assert _stored(object_store, sample["id"]) == [sample["object_key"]]


def test_content_length_longer_than_a_cut_gzip_body(stack, people, object_store, ready_sample):
    """Content-Length announces more than is sent, the body is a gzip cut in the middle, then the client stops
    (half-close): refused (corrupt_gzip), nothing recorded, the accepted file kept."""
    sample, _ = ready_sample
    body = GOOD[: len(GOOD) // 2]
    status, answer = raw_request(stack.url, "PUT", f"/samples/{sample['id']}/file",
                                 {"Authorization": f"Bearer {people.tech.token}",
                                  "Content-Length": str(len(GOOD))}, body, wait=60)
    assert status in (None, 400), answer[:500]
    assert_intact(people, object_store, sample)
    assert wait_until(lambda: _stored(object_store, sample["id"]) == [sample["object_key"]], timeout=10)


def test_content_length_longer_than_a_body_cut_between_records(stack, people, object_store, patient):
    """The same with a plain FASTQ cut exactly between two records: every check of the content passes, so only
    the announced length tells the upload was interrupted. It must be refused, never recorded as the file."""
    sample = people.tech.new_sample(patient["id"], "cut.fastq")
    whole = REAL_FASTQ.read_bytes()
    cut = whole[: whole.index(b"\n@", len(whole) // 2) + 1]
    status, answer = raw_request(stack.url, "PUT", f"/samples/{sample['id']}/file",
                                 {"Authorization": f"Bearer {people.tech.token}",
                                  "Content-Length": str(len(whole))}, cut, wait=60)
    now = people.reader.get(f"/samples/{sample['id']}").json()
    assert now["status"] == "awaiting_upload" and now["object_key"] is None, (status, now["size"], len(whole))
    assert status in (None, 400), answer[:300]


CHUNKED_BODY = b"17\r\n@r\nACGTACGT\n+\nIIIIIIII\n\r\n0\r\n\r\n"


@pytest.mark.parametrize("headers, body", [
    ({"Content-Length": "-1"}, CHUNKED_BODY),
    ({"Content-Length": "abc"}, CHUNKED_BODY),
    ({"Content-Length": "10, 20"}, CHUNKED_BODY),
    ({"Content-Length": "99999999999999999999999999"}, CHUNKED_BODY),
    ({"Content-Length": "20", "Transfer-Encoding": "chunked"}, CHUNKED_BODY),
    ({"Transfer-Encoding": "chunked, chunked"}, CHUNKED_BODY),
    pytest.param({"Transfer-Encoding": "chunked"}, b"14\r\n@r\nACGTACGT\n+\nIIIIIIII\n\r\n0\r\n\r\n",
                 id="chunk size lies"),
    pytest.param({"Transfer-Encoding": "chunked"}, b"zz\r\n@r\n\r\n0\r\n\r\n", id="chunk size not hex"),
], ids=lambda v: "+".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else "")
def test_malformed_framing_stores_nothing(stack, people, object_store, ready_sample, headers, body):
    """Malformed or ambiguous framing (request smuggling shapes, chunks that lie): refused with a 4xx (the
    client's fault, never a 500), nothing stored or recorded."""
    sample, _ = ready_sample
    status, answer = raw_request(stack.url, "PUT", f"/samples/{sample['id']}/file",
                                 {"Authorization": f"Bearer {people.tech.token}", **headers}, body, wait=30)
    assert_intact(people, object_store, sample)
    assert _stored(object_store, sample["id"]) == [sample["object_key"]]
    assert status is None or 400 <= status < 500, answer[:300]


def test_interrupted_upload_then_retry(stack, people, object_store, patient):
    """A browser tab closed mid-upload (RST after 3 of 8 MiB), twice, then the retry: nothing half-stored is
    ever recorded, no object is left behind, and the retried upload is accepted byte-identical."""
    sample = people.tech.new_sample(patient["id"], "retry.fastq")
    record = REAL_FASTQ.read_bytes()
    whole = record * (8 * 1024 * 1024 // len(record) + 1)
    for _ in range(2):
        abort_upload_midway(stack.url, people.tech.token, sample["id"], len(whole), whole[: 3 * 1024 * 1024])
        time.sleep(1)
        now = people.reader.get(f"/samples/{sample['id']}").json()
        assert now["status"] == "awaiting_upload" and now["object_key"] is None and now["size"] is None
    assert wait_until(lambda: _stored(object_store, sample["id"]) == [], timeout=15), _stored(object_store,
                                                                                             sample["id"])
    answer = people.tech.upload(sample["id"], whole)
    assert answer.status_code == 200, answer.text
    assert people.reader.get(f"/samples/{sample['id']}/file").content == whole
    assert _stored(object_store, sample["id"]) == [answer.json()["object_key"]]


def test_interrupted_replacement_keeps_the_accepted_file(stack, people, object_store, ready_sample):
    """The same after the first part (16 MiB) already reached the object store: the accepted file is kept."""
    sample, _ = ready_sample
    abort_upload_midway(stack.url, people.tech.token, sample["id"], 40 * 1024 * 1024,
                        GOOD + bytes(20 * 1024 * 1024))
    time.sleep(2)
    assert_intact(people, object_store, sample)
    assert wait_until(lambda: _stored(object_store, sample["id"]) == [sample["object_key"]], timeout=15)


@pytest.mark.parametrize("route", ["upload", "login"])
def test_stalled_uploads_do_not_take_the_gateway_down(stack, people, ready_sample, route):
    """More stalled requests than the gateway has threads (Content-Length announced, a few bytes sent, then
    silence, as a slowloris client): the gateway must still answer other requests."""
    import socket
    import urllib.parse

    sample, patient = ready_sample
    parts = urllib.parse.urlsplit(stack.url)
    stalled = []
    try:
        for _ in range(stack.settings.gateway_threads + 2):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
            if route == "upload":
                head = (f"PUT /api/v1/samples/{sample['id']}/file HTTP/1.1\r\n"
                        f"Authorization: Bearer {people.tech.token}\r\n")
            else:
                head = "POST /api/v1/auth/login HTTP/1.1\r\nContent-Type: application/json\r\n"
            sock.sendall((head + f"Host: {parts.netloc}\r\nContent-Length: 1000000\r\n\r\n{{").encode())
            stalled.append(sock)
        time.sleep(3)
        start = time.monotonic()
        try:
            answer = people.reader.get(f"/sample_sets/{patient['id']}", timeout=20)
            status = answer.status_code
        except Exception as error:  # noqa: BLE001 - a timeout is the failure being tested
            status = repr(error)
        assert status == 200, f"gateway did not answer while uploads stall: {status} after " \
                              f"{time.monotonic() - start:.0f} s"
    finally:
        for sock in stalled:
            sock.close()


# -- concurrent uploads of one sample ------------------------------------------------------------------------------

def test_a_late_concurrent_upload_cannot_overwrite_the_accepted_file(people, object_store, patient):
    """Two PUTs of one sample (a double click, or a script retrying while the first still runs): the slow one
    began first, the fast one is accepted, then the slow one finishes. The accepted record must keep describing
    the stored bytes: the late upload must never overwrite them (S3 keeps the last write of a key)."""
    sample = people.tech.new_sample(patient["id"], "race.fastq")
    fast_body = REAL_FASTQ.read_bytes()
    slow_body = b"@late\nTTTT\n+\nIIII\n" * (33 * 1024 * 1024 // 19)
    reading, release = threading.Event(), threading.Event()
    slow_answer = {}

    def slow_chunks():
        # 32 MiB cannot all sit in socket buffers: when the next chunk is asked for, the gateway is reading
        # the body, so it has already been given its object key (begin_upload comes first)
        yield slow_body[: 32 * 1024 * 1024]
        reading.set()
        release.wait(60)
        yield slow_body[32 * 1024 * 1024:]

    def slow_upload():
        slow_answer["response"] = people.tech.upload(sample["id"], slow_chunks())

    slow = threading.Thread(target=slow_upload)
    slow.start()
    assert reading.wait(60)
    fast = people.tech.upload(sample["id"], fast_body)
    assert fast.status_code == 200, fast.text
    release.set()
    slow.join(60)
    late = slow_answer["response"]
    assert late.status_code == 409 and error_code(late) == "upload_mismatch", late.text
    now = people.reader.get(f"/samples/{sample['id']}").json()
    assert now["sha256"] == hashlib.sha256(fast_body).hexdigest()
    assert people.reader.get(f"/samples/{sample['id']}/file").content == fast_body
    assert wait_until(lambda: _stored(object_store, sample["id"]) == [now["object_key"]], timeout=10), \
        _stored(object_store, sample["id"])


def test_two_concurrent_complete_upload_calls_record_one_upload(stack, rpc, people, object_store, patient, ):
    """Two ``complete_upload`` of the same stored object at the same time (over RPC, as two gateway threads
    would): exactly one is accepted, the other gets 409; one ``upload`` audit entry, one ``sample.uploaded``."""
    import io

    from nameko.standalone.rpc import ClusterRpcProxy

    from services.samples.exceptions import UploadMismatch

    tech = people.principals["tech"]
    sample = rpc.samples.create_sample(tech, [patient["id"]], "twice.fastq")
    data = REAL_FASTQ.read_bytes() * 8
    stored = object_store.put_stream(sample["upload_bucket"], sample["upload_key"], io.BytesIO(data))
    results, barrier = [], threading.Barrier(2)

    def complete():
        with ClusterRpcProxy(stack.settings.nameko_config(), timeout=60) as proxy:
            barrier.wait()
            try:
                results.append(proxy.samples.complete_upload(tech, sample["id"], sample["upload_key"],
                                                             stored.size, stored.sha256))
            except UploadMismatch as error:
                results.append(error)

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    accepted = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, UploadMismatch)]
    assert len(accepted) == 1 and len(refused) == 1, results
    trail = rpc.samples.list_audit(tech, patient["id"])["items"]
    uploads = [e for e in trail if e["action"] == "upload" and e["sample_id"] == sample["id"]]
    assert len(uploads) == 1, uploads
    assert object_store.get_bytes(sample["upload_bucket"], sample["upload_key"]) == data
