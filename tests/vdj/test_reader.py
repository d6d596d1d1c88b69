"""vdj.reader: FASTA/FASTQ(.gz) streaming in batches and the errors a user can cause."""

from __future__ import annotations

import gzip

import pytest

from vdj.reader import InputError, estimate_read_count, read_batches


def _all(path, batch_size=3):
    names, sequences = [], []
    for batch in read_batches(path, batch_size):
        assert len(batch) <= batch_size
        assert batch.first_index == len(sequences)
        names += batch.names
        sequences += batch.sequences
    return names, sequences


def test_fasta_multiline_lowercase_and_n(tmp_path):
    path = tmp_path / "reads.fa"
    path.write_text(">r1 first read\nACGTacgt\nNNAC\n>r2\nacgtn\n>r3\nA\n>r4\nGG\n")
    names, sequences = _all(path)
    assert names == ["r1 first read", "r2", "r3", "r4"]
    assert sequences == ["ACGTacgtNNAC", "acgtn", "A", "GG"]


def test_fastq_gzip_batches(tmp_path):
    path = tmp_path / "reads.fastq.gz"
    records = "".join(f"@r{i}\n{'ACGT' * (i + 1)}\n+\n{'I' * 4 * (i + 1)}\n" for i in range(10))
    with gzip.open(path, "wt") as handle:
        handle.write(records)
    names, sequences = _all(path, batch_size=4)
    assert names == [f"r{i}" for i in range(10)]
    assert sequences[9] == "ACGT" * 10


def test_empty_file_is_zero_reads(tmp_path):
    path = tmp_path / "empty.fastq"
    path.write_bytes(b"")
    assert _all(path) == ([], [])


def test_empty_gzip_is_zero_reads(tmp_path):
    path = tmp_path / "empty.fastq.gz"
    with gzip.open(path, "wb"):
        pass
    assert _all(path) == ([], [])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        _all(tmp_path / "absent.fq")


def test_directory_is_refused(tmp_path):
    with pytest.raises(InputError, match="directory"):
        _all(tmp_path)


def test_not_fasta_or_fastq(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\nthis is not sequence data\n")
    with pytest.raises(InputError, match="not a FASTA or FASTQ"):
        _all(path)


def test_malformed_record_gives_its_number(tmp_path):
    path = tmp_path / "bad.fastq"
    good = "".join(f"@r{i}\nACGT\n+\nIIII\n" for i in range(4))
    path.write_text(good + "@r5\nACGT\n+\nIII\n" + "@r6\nACGT\n+\nIIII\n")
    with pytest.raises(InputError) as error:
        _all(path, batch_size=2)
    message = str(error.value)
    assert "record 5" in message and "\n" not in message


def test_truncated_gzip(tmp_path):
    data = gzip.compress(("".join(f"@r{i}\nACGTACGTAC\n+\nIIIIIIIIII\n" for i in range(2000))).encode())
    path = tmp_path / "cut.fastq.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        _all(path, batch_size=100)


def test_garbage_after_gzip_magic(tmp_path):
    path = tmp_path / "garbage.fq.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    with pytest.raises(InputError):
        _all(path)


def test_huge_line(tmp_path):
    path = tmp_path / "long.fa"
    path.write_text(">long\n" + "ACGT" * 250_000 + "\n>short\nAC\n")
    names, sequences = _all(path)
    assert [len(s) for s in sequences] == [1_000_000, 2]


def test_estimate_read_count(tmp_path):
    path = tmp_path / "reads.fa"
    path.write_text(">r\n" + "A" * 247 + "\n" * 1)
    assert estimate_read_count(path) == 1
    assert estimate_read_count(tmp_path / "absent") == 1
