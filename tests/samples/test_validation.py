"""Upload checks, file names, pseudonyms, tags and batch rows: pure unit tests (no service needed)."""

from __future__ import annotations

import gzip
import io
from datetime import date

import pytest

from samples_helpers import REAL_FASTQ, REAL_FASTQ_GZ
from services.samples.exceptions import (BinaryFile, CorruptGzip, EmptyFile, InvalidAnalysisFile, InvalidBases,
                                         InvalidFileName, NotGzip, SequenceSyntaxError, UnsupportedCompression,
                                         UnsupportedFileType)
from services.samples.pseudonyms import age, patient_display
from services.samples.sample_sets import parse_batch
from services.samples.tags import extract_tags, split_search
from services.samples.validation import GzipIntegrity, check_file, check_stream, file_type, sanitize_filename

DATA = REAL_FASTQ.parents[1]


def check(data: bytes, name: str, **kwargs):
    return check_stream(io.BytesIO(data), name, read_all=True, **kwargs)


def test_real_fastq_and_gz_pass_whole():
    plain = check_file(REAL_FASTQ, read_all=True)
    packed = check_file(REAL_FASTQ_GZ, read_all=True)
    assert (plain.file_format, plain.records_checked, plain.complete, plain.warnings) == ("fastq", 1468, True, [])
    assert packed.compressed and packed.records_checked == 1468 and packed.bytes_read == REAL_FASTQ_GZ.stat().st_size


def test_only_first_records_unless_read_all():
    report = check_file(REAL_FASTQ, max_records=10)
    assert report.records_checked == 10 and report.complete is False


def test_real_fasta_vidjil_and_airr():
    assert check_file(DATA / "vidjil" / "Demo-X5.fa", read_all=True).file_format == "fasta"
    assert check_file(DATA / "vidjil" / "format-examples" / "analysis-example.vidjil").file_format == "vidjil"
    airr = b"sequence_id\tsequence\tv_call\nr1\tACGT\tIGHV3-23*01\n"
    assert check(airr, "clones.tsv").records_checked == 1


@pytest.mark.parametrize("data, name, error", [
    (b"", "a.fastq", EmptyFile),
    (b"\n\n", "a.fasta", EmptyFile),
    (gzip.compress(b""), "a.fastq.gz", EmptyFile),
    (b"@r\nACGT\n+\nIIII\n", "a.fastq.gz", NotGzip),
    (REAL_FASTQ_GZ.read_bytes()[:-10], "a.fastq.gz", CorruptGzip),
    (REAL_FASTQ_GZ.read_bytes()[:20] + b"\xff" * 200 + REAL_FASTQ_GZ.read_bytes()[220:], "a.fastq.gz", CorruptGzip),
    (b"BZh91AY&SY", "a.fastq", UnsupportedCompression),
    (b"\xfd7zXZ\x00\x00", "a.fastq", UnsupportedCompression),
    (b"\x00\x01\x02" * 100, "a.fastq", BinaryFile),
    (b"@r\xff\xfe\nACGT\n+\nIIII\n", "a.fastq", BinaryFile),
    (b"@read1\nACGT\n+\nIIII\n" + bytes(range(1, 32)) * 50, "a.fastq", BinaryFile),
    (gzip.compress(b"@read1\nACGT\n+\nIIII\n" + b"\x00" * 5000), "a.fastq.gz", BinaryFile),
    (b"@r\nACGT\n+\nIII\n", "a.fastq", SequenceSyntaxError),
    (b"@r\nACGT\n+\nIIII\n@r2\nAC", "a.fastq", SequenceSyntaxError),
    (b"hello\n", "a.fastq", SequenceSyntaxError),
    (b">r\n\n>s\nACGT\n", "a.fasta", SequenceSyntaxError),
    (b">r\nACGTJ\n", "a.fasta", InvalidBases),
    (b"@r\nAC GT\n+\nIIIII\n", "a.fastq", InvalidBases),
    (b'{"a": 1}', "a.vidjil", InvalidAnalysisFile),
    (b"{not json", "a.vidjil", InvalidAnalysisFile),
    (b"name\tvalue\nx\t1\n", "a.tsv", InvalidAnalysisFile),
    (b"sequence_id\tsequence\nr1\tACGT\textra\n", "a.tsv", InvalidAnalysisFile),
])
def test_each_problem_has_its_own_error(data, name, error):
    with pytest.raises(error) as caught:
        check(data, name)
    assert name in caught.value.message and caught.value.details["filename"] == name


def test_error_gives_record_and_line():
    with pytest.raises(SequenceSyntaxError) as caught:
        check(b"@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nII\n", "a.fastq")
    assert caught.value.details["record"] == 2 and caught.value.details["line"] == 8
    with pytest.raises(InvalidBases) as caught:
        check(b"@r1\nACGT\n+\nIIII\n@r2\nACZT\n+\nIIII\n", "a.fastq")
    assert caught.value.details["line"] == 6 and caught.value.details["character"] == "Z"


def test_accepted_oddities_are_warnings():
    report = check(b"@r1\r\nacgt\r\n+\r\nIIII\r\n@r1\r\nACGT\r\n+\r\nIIII\r\n", "a.fastq")
    assert [w.code for w in report.warnings] == ["windows_line_ends", "lower_case_bases", "duplicate_read_names"]
    assert report.records_checked == 2
    assert [w.code for w in check(gzip.compress(b">a\nACGT\n"), "a.fa").warnings] == ["gzip_without_gz_extension"]
    assert [w.code for w in check(b">a\nACGT\n", "a.fastq").warnings] == ["format_differs_from_name"]


def test_multi_member_gzip_is_accepted():
    data = gzip.compress(b"@a\nACGT\n+\nIIII\n") + gzip.compress(b"@b\nACGT\n+\nIIII\n")
    assert check(data, "a.fastq.gz").records_checked == 2


def test_gzip_integrity_incrementally_in_small_pieces():
    data = REAL_FASTQ_GZ.read_bytes()
    checker = GzipIntegrity("x.gz")
    for start in range(0, len(data), 777):
        checker.feed(data[start:start + 777])
    checker.finish()
    assert checker.decompressed_size == REAL_FASTQ.stat().st_size
    truncated = GzipIntegrity("x.gz")
    truncated.feed(data[:1000])
    with pytest.raises(CorruptGzip):
        truncated.finish()


def test_gzip_bomb_is_inflated_in_bounded_pieces():
    bomb = gzip.compress(b"A" * (64 * 1024 * 1024))
    pieces = GzipIntegrity("bomb.gz").inflate(bomb)
    assert max(len(p) for p in pieces) <= 1024 * 1024


@pytest.mark.parametrize("raw, clean", [
    ("C:\\Users\\lab\\d1 R1.fastq.gz", "d1_R1.fastq.gz"),
    ("../../etc/passwd.fa", "passwd.fa"),
    ("run\x00\x1b[31m7.fastq", "run_31m7.fastq"),
    (".hidden.fastq", "hidden.fastq"),
    ("patient\u202eqtsaf.fa", "patientqtsaf.fa"),
    ("é lève.fa", "é_lève.fa"),
])
def test_file_names_are_sanitised(raw, clean):
    assert sanitize_filename(raw) == clean


def test_long_names_keep_their_extension_and_empty_names_are_refused():
    assert sanitize_filename("x" * 500 + ".fastq.gz").endswith(".fastq.gz")
    assert len(sanitize_filename("x" * 500 + ".fastq.gz")) <= 200
    for raw in ("", "...", "/", "\x00\x01", "___"):
        with pytest.raises(InvalidFileName):
            sanitize_filename(raw)


@pytest.mark.parametrize("name, expected", [
    ("a.fastq", ("fastq", False)), ("a.FQ.GZ", ("fastq", True)), ("a.fa", ("fasta", False)),
    ("a.fasta.gz", ("fasta", True)), ("a.vidjil", ("vidjil", False)), ("a.tsv", ("airr", False)),
    ("a.airr", ("airr", False)),
])
def test_accepted_types(name, expected):
    assert file_type(name) == expected


@pytest.mark.parametrize("name", ["a.txt", "a.bam", "a.vidjil.gz", "fastq", "a.fastq.zip", ".fastq"])
def test_refused_types(name):
    with pytest.raises(UnsupportedFileType):
        file_type(name)


def test_pseudonym_is_three_letters_and_an_age():
    today = date(2024, 6, 15)
    hidden = patient_display("Jean", "Dupont", date(1979, 3, 2), anon=False, today=today)
    assert hidden == {"name": "Dup", "first_name": None, "last_name": None, "birth_date": None, "age": "45y"}
    shown = patient_display("Jean", "Dupont", date(1979, 3, 2), anon=True, today=today)
    assert shown["name"] == "Dupont Jean" and shown["birth_date"] == "1979-03-02"
    assert age(date(2022, 1, 20), today) == "2y 4m"
    assert age(date(2030, 1, 1), today) == "0y 0m" and age(None) is None
    assert patient_display(None, "Li", None, anon=False)["name"] == "Li"


def test_tags_and_search_tokens():
    assert extract_tags("diagnosis #ALL, #mrd-followup #ALL x#no email@x.org") == ["all", "mrd-followup"]
    assert split_search("#ALL dupont #Relapse 12") == (["all", "relapse"], ["dupont", "12"])


def test_batch_rows_are_parsed_with_their_line_numbers():
    items, errors = parse_batch("patient", "P1\tAda\tLovelace\t1915-12-10\t#math\n\nP2\tBad\n")
    assert items[0]["last_name"] == "Lovelace" and items[0]["birth_date"] == date(1915, 12, 10)
    assert errors == [{"line": 3, "message": "expected 5 tab-separated columns (label, first_name, last_name, "
                                             "birth_date, info), got 2"}]
    items, errors = parse_batch("generic", "cohort\tinfo\twith\ttabs\n")
    assert items[0]["info"] == "info\twith\ttabs" and not errors
