"""Streaming input of reads: FASTA, FASTQ and their gzip forms, in batches.

Reading is the only place that touches the input file. Reads come out in batches of plain
``(name, sequence)`` pairs so that the detection kernels never see file objects; memory use is
bounded by the batch size, never by the file size.

Errors a user can cause (missing file, corrupt gzip, a file that is neither FASTA nor FASTQ, a
malformed record) are raised as :class:`InputError` with one readable line naming the file and,
for a malformed record, its 1-based record number.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import dnaio


class InputError(Exception):
    """The input file cannot be read as FASTA/FASTQ (message is one line, meant for the user)."""


@dataclass
class Batch:
    """A run of consecutive reads.

    ``first_index`` is the 0-based number of the first read of the batch in the file; ``names`` and
    ``sequences`` are parallel lists (sequences as in the file: case and N kept).
    """

    first_index: int
    names: list[str]
    sequences: list[str]

    def __len__(self) -> int:
        return len(self.sequences)


def _describe_format_error(path: Path, error: Exception, record_number: int) -> str:
    line = getattr(error, "line", None)
    where = f"record {record_number}"
    if line is not None:
        where += f" (line {line + 1})"
    detail = str(error).split(": ", 1)[-1] if "Error in" in str(error) else str(error)
    return f"{path}: malformed {where}: {detail}"


def _first_character(path: Path) -> str | None:
    """First non-blank character of the (decompressed) file, None for a blank file."""
    import xopen

    try:
        with xopen.xopen(path, "rb") as handle:
            while True:
                chunk = handle.read(4096)
                if not chunk:
                    return None
                stripped = chunk.lstrip()
                if stripped:
                    return chr(stripped[0])
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
        raise InputError(f"{path}: corrupt or truncated compressed file: {error}") from None


def read_batches(path: str | os.PathLike, batch_size: int = 4096) -> Iterator[Batch]:
    """Yield the reads of ``path`` in batches of at most ``batch_size`` reads.

    The format (FASTA or FASTQ) and compression (gzip, bzip2, xz, zstd) are detected from the
    content by dnaio. An empty file yields nothing.

    Raises:
        InputError: missing/unreadable file, corrupt compressed stream, unknown format, or a
            malformed record (the message gives the 1-based record number).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a FASTA/FASTQ file")
    if path.stat().st_size == 0:
        return
    first = _first_character(path)
    if first is None:
        return
    if first not in ">@#":  # '#': comment lines before the first FASTA record (dnaio skips them)
        raise InputError(f"{path}: not a FASTA or FASTQ file (starts with {first!r}, expected '>' or '@')")
    count = 0
    names: list[str] = []
    sequences: list[str] = []
    first = 0
    try:
        with dnaio.open(path) as reader:
            for record in reader:
                names.append(record.name)
                sequences.append(record.sequence)
                count += 1
                if len(sequences) >= batch_size:
                    yield Batch(first, names, sequences)
                    first = count
                    names, sequences = [], []
    except dnaio.UnknownFileFormat:
        raise InputError(f"{path}: not a FASTA or FASTQ file (first character is neither '>' nor '@')") from None
    except dnaio.FileFormatError as error:
        raise InputError(_describe_format_error(path, error, count + 1)) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise InputError(f"{path}: corrupt or truncated compressed file after record {count}: {error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: record {count + 1}: not text (binary data in a FASTA/FASTQ file)") from None
    except OSError as error:
        # isal/zlib wrappers raise plain OSError subclasses for corrupt streams.
        raise InputError(f"{path}: cannot read after record {count}: {error}") from None
    if sequences:
        yield Batch(first, names, sequences)


def estimate_read_count(path: str | os.PathLike) -> int:
    """A rough number of reads in ``path`` from its size (for the e-value multiplier).

    Assumes ~300 bytes per FASTQ record / ~180 per FASTA record, and a compression ratio of 3.5
    for compressed files. Never returns less than 1.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(2)
    except OSError:
        return 1
    compressed = head == b"\x1f\x8b"
    if compressed:
        size = int(size * 3.5)
    return max(1, size // 250)
