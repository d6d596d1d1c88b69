"""Checks of uploaded sequence files, before a sample is accepted. Usable by the samples service (on the stored
object) and by the gateway (file names, gzip integrity while streaming); needs no service running.

- :func:`sanitize_filename`: a safe display/storage name from what the browser sent (paths, control characters,
  length); the original is kept as metadata by the caller.
- :func:`file_type`: the accepted type from the name: ``fastq``, ``fasta`` (each optionally ``.gz``),
  ``vidjil`` or ``airr`` (AIRR rearrangement TSV).
- :func:`check_stream` / :func:`check_file`: read the start of the content (or all of it) and raise one error
  class per problem (:mod:`services.samples.exceptions`): empty file, not gzip, corrupt/truncated gzip, other
  compression, binary data, FASTA/FASTQ syntax (via dnaio), non-nucleotide characters, malformed .vidjil/AIRR.
  Accepted oddities come back as warnings in the :class:`CheckReport`: Windows line ends, lower-case bases,
  duplicate read names, gzip content without ``.gz``, FASTA content named FASTQ (or the reverse).
- :class:`GzipIntegrity`: an incremental gzip checker (``feed(chunk)``, ``finish()``) in constant memory, for a
  caller that sees the bytes go by.

The whole file is checked again by the job before analysis (vdj reads every record); here only the first
``max_records`` records are, unless ``read_all``.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import unicodedata
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import dnaio

from services.samples.exceptions import (BinaryFile, CorruptGzip, EmptyFile, ExcessiveCompression,
                                         InvalidAnalysisFile, InvalidBases, InvalidFileName, NotGzip,
                                         SequenceSyntaxError, UnsupportedCompression, UnsupportedFileType)

#: Records checked when the whole file is not read.
DEFAULT_MAX_RECORDS = 1000
#: Longest stored file name (characters); longer names keep their end (the extension).
MAX_FILENAME_LENGTH = 200
#: Bytes of decompressed text looked at to tell text from binary data.
TEXT_PROBE_BYTES = 64 * 1024
#: Largest .vidjil file parsed whole (bigger ones: only the start is looked at). Parsing JSON takes up to ~25
#: times its size in Python objects (nested lists), so this bounds the memory of a check.
MAX_JSON_PARSE_BYTES = 8 * 1024 * 1024
#: Read names remembered for the duplicate check (bounds memory when the whole file is read).
MAX_NAMES_TRACKED = 200_000
CHUNK = 1024 * 1024
#: Longest line of a FASTA/FASTQ/AIRR file (bytes). A read is at most a few kb (ultra-long reads ~1 Mb); a longer
#: line is a cut or foreign file, and parsers hold a whole line (dnaio grows its buffer to a whole record).
MAX_LINE_BYTES = 4 * CHUNK
#: Longest FASTA record (header and sequence lines), for the same reason (dnaio joins the lines of a record).
MAX_FASTA_RECORD_BYTES = 16 * CHUNK
#: A gzip stream inflating more than this many times its size, beyond :data:`BOMB_MIN_TEXT_BYTES` of text, is
#: refused as a decompression bomb: sequencing files compress 3-10 times (highly duplicated amplicons ~20).
MAX_COMPRESSION_RATIO = 100
BOMB_MIN_TEXT_BYTES = 64 * CHUNK

GZIP_MAGIC = b"\x1f\x8b"
OTHER_COMPRESSIONS = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd", b"PK\x03\x04": "zip"}

#: Accepted name endings (lower-case) and the type they announce.
SUFFIXES: dict[str, str] = {
    ".fastq": "fastq", ".fq": "fastq",
    ".fasta": "fasta", ".fa": "fasta", ".fna": "fasta", ".fas": "fasta",
    ".vidjil": "vidjil",
    ".tsv": "airr", ".airr": "airr",
}
SEQUENCE_TYPES = ("fastq", "fasta")
#: IUPAC nucleotide codes (either case), '-' and '.' for gaps.
NUCLEOTIDES = frozenset("ACGTUNRYKMSWBDHV-.acgtunrykmswbdhv")
#: AIRR rearrangement fields of which at least one must be present besides ``sequence_id``.
AIRR_CONTENT_FIELDS = ("sequence", "v_call", "junction", "junction_aa", "cdr3", "cdr3_aa")


@dataclass
class Warning_:
    """An accepted oddity: ``code`` (stable) and ``message`` (for the user)."""

    code: str
    message: str


@dataclass
class CheckReport:
    """What a check found. ``file_format``: fastq | fasta | vidjil | airr. ``compressed``: gzip content.
    ``records_checked``: records read (FASTA/FASTQ/AIRR rows). ``complete``: the whole file was read.
    ``bytes_read``: stored (compressed) bytes read."""

    file_format: str
    compressed: bool
    records_checked: int = 0
    complete: bool = False
    bytes_read: int = 0
    warnings: list[Warning_] = field(default_factory=list)

    def warn(self, code: str, message: str) -> None:
        if all(w.code != code for w in self.warnings):
            self.warnings.append(Warning_(code, message))

    def to_dict(self) -> dict:
        return asdict(self)


# -- file names -------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.+-]+", re.UNICODE)


def sanitize_filename(name: str, max_length: int = MAX_FILENAME_LENGTH) -> str:
    """A safe file name from ``name`` as a browser or user sent it.

    Keeps the last path component (``/`` and ``\\`` separators: browsers may send ``C:\\data\\r1.fq``), removes
    control characters, normalises Unicode (NFC), replaces runs of characters other than letters, digits,
    ``. _ + -`` with ``_``, strips leading dots (no hidden files, no ``..``) and shortens to ``max_length``
    characters keeping the end (the extension). Raises :class:`InvalidFileName` if nothing is left.
    """
    if not isinstance(name, str):
        raise InvalidFileName("the file name must be a string", {"filename": repr(name)[:200]})
    text = unicodedata.normalize("NFC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")   # Cc, Cf, ... control/format
    text = re.split(r"[\\/]", text)[-1].strip()
    text = _UNSAFE.sub("_", text).strip("_")
    text = text.lstrip(".")
    if len(text) > max_length:
        text = text[-max_length:].lstrip("._")
    if not text or not any(ch.isalnum() for ch in text):
        raise InvalidFileName(f"the file name {name[:200]!r} has no usable characters once paths and control "
                              f"characters are removed", {"filename": name[:200]})
    return text


def file_type(filename: str) -> tuple[str, bool]:
    """``(type, gz)`` announced by the name: type is fastq | fasta | vidjil | airr, ``gz`` True for ``.gz``.

    Raises :class:`UnsupportedFileType` for any other ending (only FASTQ/FASTA may be gzipped here).
    """
    lower = filename.lower()
    gz = lower.endswith(".gz")
    stem = lower[:-3] if gz else lower
    for suffix, kind in SUFFIXES.items():
        if stem.endswith(suffix) and len(stem) > len(suffix):
            if gz and kind not in SEQUENCE_TYPES:
                break
            return kind, gz
    raise UnsupportedFileType(
        f"{filename}: unsupported file type; accepted: .fastq/.fq, .fasta/.fa/.fna/.fas (optionally .gz), "
        f".vidjil, AIRR .tsv/.airr", {"filename": filename})


# -- gzip -------------------------------------------------------------------------------------------------------

class GzipIntegrity:
    """Incremental gzip check (CRC and length of every member) in constant memory.

    ``feed(chunk)`` for each piece as it goes by, then ``finish()``. Both raise :class:`CorruptGzip` (or
    :class:`NotGzip` when the first bytes are not a gzip header). Concatenated members (``cat a.gz b.gz``,
    bgzip) are accepted. ``decompressed_size`` counts the text bytes. A stream inflating more than
    :data:`MAX_COMPRESSION_RATIO` times (past :data:`BOMB_MIN_TEXT_BYTES`) raises :class:`ExcessiveCompression`.
    """

    def __init__(self, filename: str = "file"):
        self.filename = filename
        self._inflater = zlib.decompressobj(wbits=31)
        self._started = False
        self._head = b""
        self.compressed_size = 0
        self.decompressed_size = 0

    def feed(self, chunk: bytes) -> int:
        """Check ``chunk`` (the next stored bytes); return the number of text bytes it decompressed to."""
        return sum(len(piece) for piece in self.inflate(chunk))

    def inflate(self, chunk: bytes) -> Iterator[bytes]:
        """Check ``chunk`` and yield its decompressed text in pieces of at most 1 MiB (a highly compressed
        chunk never becomes one huge string)."""
        if not chunk:
            return
        if not self._started:
            self._head += chunk[: 2 - len(self._head)]
            if len(self._head) < 2:
                self.compressed_size += len(chunk)
                return
            self._started = True
            if self._head != GZIP_MAGIC:
                raise NotGzip(f"{self.filename}: named .gz but not gzip-compressed", {"filename": self.filename})
        self.compressed_size += len(chunk)
        data = chunk
        try:
            while data:
                if self._inflater.eof:
                    # the next member of a multi-member file; trailing zero padding is tolerated
                    if not data.strip(b"\x00"):
                        return
                    self._inflater = zlib.decompressobj(wbits=31)
                text = self._inflater.decompress(data, CHUNK)
                self.decompressed_size += len(text)
                if (self.decompressed_size > BOMB_MIN_TEXT_BYTES
                        and self.decompressed_size > MAX_COMPRESSION_RATIO * self.compressed_size):
                    raise ExcessiveCompression(
                        f"{self.filename}: {self.compressed_size} bytes of gzip inflate to more than "
                        f"{self.decompressed_size // CHUNK} MiB, over {MAX_COMPRESSION_RATIO} times their size "
                        f"(sequencing files compress 3-10 times): refused as a decompression bomb",
                        {"filename": self.filename, "compressed": self.compressed_size,
                         "decompressed": self.decompressed_size})
                if text:
                    yield text
                data = self._inflater.unconsumed_tail or (self._inflater.unused_data if self._inflater.eof
                                                          else b"")
        except zlib.error as error:
            raise CorruptGzip(f"{self.filename}: corrupt gzip data after {self.compressed_size} bytes ({error})",
                              {"filename": self.filename, "offset": self.compressed_size}) from None

    def finish(self) -> None:
        """Raise :class:`CorruptGzip` if the stream stopped inside a member (truncated upload)."""
        if not self._started:
            if self.compressed_size == 0:
                raise EmptyFile(f"{self.filename}: the file is empty", {"filename": self.filename})
            raise NotGzip(f"{self.filename}: named .gz but not gzip-compressed", {"filename": self.filename})
        if not self._inflater.eof:
            raise CorruptGzip(f"{self.filename}: truncated gzip file (the upload may have been interrupted)",
                              {"filename": self.filename, "offset": self.compressed_size})


class _LineLimits:
    """Refuses a line longer than :data:`MAX_LINE_BYTES` (and, for FASTA, a record longer than
    :data:`MAX_FASTA_RECORD_BYTES`) as the text goes by, before a parser holds it whole. Pieces are at most
    :data:`CHUNK` bytes, shorter than both limits, so only runs crossing piece boundaries need counting."""

    def __init__(self, filename: str, kind: str):
        self.filename = filename
        self.kind = kind
        self.error = InvalidAnalysisFile if kind == "airr" else SequenceSyntaxError
        self.line = 1            # 1-based number of the current line
        self.line_run = 0        # bytes of the current line seen so far
        self.record_run = 0      # bytes of the current FASTA record seen so far
        self.last_byte = b"\n"

    def check(self, piece: bytes) -> None:
        first = piece.find(b"\n")
        self._line_over(self.line_run + (len(piece) if first < 0 else first))
        if first < 0:
            self.line_run += len(piece)
        else:
            self.line += piece.count(b"\n")
            self.line_run = len(piece) - piece.rfind(b"\n") - 1
        if self.kind == "fasta":
            joined = self.last_byte + piece        # a record starts at '>' after a newline
            start = joined.find(b"\n>")
            if self.record_run + (len(piece) if start < 0 else start) > MAX_FASTA_RECORD_BYTES:
                raise self.error(f"{self.filename}: the FASTA record reaching line {self.line} is longer than "
                                 f"{MAX_FASTA_RECORD_BYTES // CHUNK} MiB: not a read (a genome, or a cut file?)",
                                 {"filename": self.filename, "line": self.line, "problem": "record_too_long"})
            last = joined.rfind(b"\n>")
            self.record_run = self.record_run + len(piece) if last < 0 else len(joined) - last - 1
        self.last_byte = piece[-1:]

    def _line_over(self, length: int) -> None:
        if length > MAX_LINE_BYTES:
            raise self.error(f"{self.filename}: line {self.line} is longer than {MAX_LINE_BYTES // CHUNK} MiB "
                             f"(no line end): not a sequence file, or a cut one",
                             {"filename": self.filename, "line": self.line, "problem": "line_too_long"})


class _TextStream(io.RawIOBase):
    """The decompressed text of a stored (maybe gzipped) stream, read lazily; counts stored bytes read.
    ``limits``: a :class:`_LineLimits` checking each piece (None: any line length, e.g. JSON)."""

    def __init__(self, raw: BinaryIO, first: bytes, gzipped: bool, filename: str,
                 limits: _LineLimits | None = None):
        self._raw = raw
        self._pending = first
        self._gzip = GzipIntegrity(filename) if gzipped else None
        self._limits = limits
        self._buffer = b""
        self.bytes_read = len(first)
        self.at_end = False
        self._source = self._checked_pieces()

    def readable(self) -> bool:
        return True

    def _checked_pieces(self) -> Iterator[bytes]:
        for piece in self._pieces():
            if self._limits is not None:
                self._limits.check(piece)
            yield piece
            # let other greenlets run between pieces: under eventlet (the samples service) a long check must
            # not block every other call of the process; elsewhere this only releases the GIL
            time.sleep(0)

    def _pieces(self) -> Iterator[bytes]:
        while True:
            if self._pending:
                chunk, self._pending = self._pending, b""
            else:
                chunk = self._raw.read(CHUNK)
                self.bytes_read += len(chunk)
            if not chunk:
                if self._gzip is not None:
                    self._gzip.finish()
                return
            if self._gzip is None:
                yield chunk
            else:
                yield from self._gzip.inflate(chunk)

    def _fill(self) -> bool:
        while not self._buffer:
            if self.at_end:
                return False
            try:
                self._buffer = next(self._source)
            except StopIteration:
                self.at_end = True
                return False
        return True

    def prefetch(self, size: int) -> bytes:
        """Up to ``size`` bytes of text from the current position, without consuming them."""
        while len(self._buffer) < size and not self.at_end:
            try:
                self._buffer += next(self._source)
            except StopIteration:
                self.at_end = True
        return self._buffer[:size]

    def readinto(self, buffer) -> int:
        if not self._fill():
            return 0
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def read_to_end(self) -> None:
        """Consume the rest (checking gzip integrity) without keeping it."""
        self._buffer = b""
        while self._fill():
            self._buffer = b""


def _probe_text(head: bytes, filename: str) -> None:
    """Raise :class:`BinaryFile` if ``head`` (decompressed start of the file) is not text."""
    if not head:
        return
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 4 and head[1] == 0 and head[3] == 0
                                                          and head[0] != 0):
        raise BinaryFile(f"{filename}: UTF-16 text; save it as plain text (ASCII or UTF-8) and upload it again",
                         {"filename": filename, "problem": "utf16"})
    if b"\x00" in head:
        raise BinaryFile(f"{filename}: binary data (NUL bytes), not a text sequence file",
                         {"filename": filename})
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:   # a multi-byte character cut at the end of the probe is fine
            raise BinaryFile(f"{filename}: binary or non-UTF-8 data at byte {error.start + 1}, not a text "
                             f"sequence file", {"filename": filename, "offset": error.start}) from None
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if control > len(head) // 100:
        raise BinaryFile(f"{filename}: binary data (control characters), not a text sequence file",
                         {"filename": filename})


# -- the check --------------------------------------------------------------------------------------------------

def check_file(path: str | os.PathLike, filename: str | None = None, **kwargs) -> CheckReport:
    """:func:`check_stream` on a local file (a mounted directory). ``filename`` defaults to its name."""
    path = Path(path)
    with open(path, "rb") as handle:
        return check_stream(handle, filename or path.name, **kwargs)


def check_stream(stream: BinaryIO, filename: str, max_records: int = DEFAULT_MAX_RECORDS,
                 read_all: bool = False) -> CheckReport:
    """Check a sequence or analysis file read from ``stream`` (as stored: maybe gzipped).

    ``filename`` (sanitised) gives the announced type (:func:`file_type`). FASTA/FASTQ: the first
    ``max_records`` records (all if ``read_all``) are parsed with dnaio and their bases checked; with
    ``read_all`` the gzip checksum is verified too. Returns a :class:`CheckReport`; raises one of the
    :class:`~services.samples.exceptions.InvalidSequenceFile` subclasses for the first problem found.
    """
    kind, named_gz = file_type(filename)
    first = stream.read(8)
    if not first:
        raise EmptyFile(f"{filename}: the file is empty", {"filename": filename})
    for magic, name in OTHER_COMPRESSIONS.items():
        if first.startswith(magic):
            raise UnsupportedCompression(f"{filename}: {name}-compressed; only gzip (.gz) is accepted",
                                         {"filename": filename, "compression": name})
    gzipped = first.startswith(GZIP_MAGIC)
    if named_gz and not gzipped:
        raise NotGzip(f"{filename}: named .gz but not gzip-compressed", {"filename": filename})
    report = CheckReport(file_format=kind, compressed=gzipped)
    if gzipped and not named_gz:
        report.warn("gzip_without_gz_extension", f"{filename}: gzip-compressed although not named .gz")
    limits = _LineLimits(filename, kind) if kind in SEQUENCE_TYPES or kind == "airr" else None
    text = _TextStream(stream, first, gzipped, filename, limits)
    head = text.prefetch(TEXT_PROBE_BYTES)
    reader = io.BufferedReader(text, buffer_size=CHUNK)
    if not head.strip():
        if gzipped and read_all:
            text.read_to_end()
        raise EmptyFile(f"{filename}: the file holds no data" + (" once decompressed" if gzipped else ""),
                        {"filename": filename})
    _probe_text(head, filename)
    if b"\r\n" in head:
        report.warn("windows_line_ends", f"{filename}: Windows line ends (CR LF); they are read as usual")
    if kind in SEQUENCE_TYPES:
        _check_reads(reader, head, filename, kind, report, max_records, read_all)
    elif kind == "airr":
        _check_airr(reader, filename, report, max_records, read_all)
    else:
        _check_vidjil(reader, filename, report, read_all)
    if report.complete and gzipped:
        text.read_to_end()   # checksum of the last member
    report.bytes_read = text.bytes_read
    return report


def _check_reads(reader: io.BufferedReader, head: bytes, filename: str, kind: str, report: CheckReport,
                 max_records: int, read_all: bool) -> None:
    if head.startswith(b"\xef\xbb\xbf"):
        raise SequenceSyntaxError(f"{filename}: starts with a UTF-8 byte order mark (BOM); save it as plain text "
                                  f"without BOM and upload it again", {"filename": filename, "line": 1, "record": 1,
                                                                       "problem": "bom"})
    start = head.lstrip()[:1]
    if start == b"#":
        # FASTA files may open with '#' comment lines (Vidjil's demo files do; dnaio skips them)
        body = [line for line in head.splitlines() if line.strip() and not line.startswith(b"#")]
        start = body[0][:1] if body else b"#"
    if start == b"@":
        actual = "fastq"
    elif start == b">":
        actual = "fasta"
    else:
        shown = start.decode("utf-8", "replace")
        raise SequenceSyntaxError(
            f"{filename}: not a FASTA or FASTQ file (the first character is {shown!r}, expected '>' or '@')",
            {"filename": filename, "line": 1, "record": 1})
    if actual != kind:
        report.warn("format_differs_from_name", f"{filename}: named {kind.upper()} but holds {actual.upper()}; "
                                                f"read as {actual.upper()}")
    report.file_format = actual
    limits = getattr(reader.raw, "_limits", None)
    if limits is not None:
        limits.kind = actual       # the FASTA record limit follows the content, not the name
    names: set[str] = set()
    lower_seen = False
    count = 0
    try:
        records: Iterator = iter(dnaio.FastqReader(reader) if actual == "fastq" else dnaio.FastaReader(reader))
        while read_all or count < max_records:
            try:
                record = next(records)
            except StopIteration:
                report.complete = True
                break
            count += 1
            sequence = record.sequence
            if not sequence:
                raise SequenceSyntaxError(f"{filename}: record {count} ({record.name[:80]!r}) has an empty "
                                          f"sequence", {"filename": filename, "record": count})
            bad = set(sequence) - NUCLEOTIDES
            if bad:
                char = sorted(bad)[0]
                where = {"filename": filename, "record": count}
                if actual == "fastq":
                    where["line"] = 4 * (count - 1) + 2
                raise InvalidBases(f"{filename}: record {count} ({record.name[:80]!r}) holds {char!r}, which is "
                                   f"not a nucleotide (IUPAC code)", {**where, "character": char})
            if not lower_seen and not sequence.isupper():
                lower_seen = any(ch.islower() for ch in sequence)
                if lower_seen:
                    report.warn("lower_case_bases", f"{filename}: lower-case bases (first in record {count}); "
                                                    f"they are read as upper-case")
            name = record.name.split(None, 1)[0] if record.name else ""
            if len(names) < MAX_NAMES_TRACKED:
                if name in names:
                    report.warn("duplicate_read_names", f"{filename}: duplicate read name {name[:80]!r} (record "
                                                        f"{count}); accepted, reads are analysed independently")
                names.add(name)
    except dnaio.FileFormatError as error:
        line = getattr(error, "line", None)
        detail = str(error).split(": ", 1)[-1] if "Error in" in str(error) else str(error)
        details = {"filename": filename, "record": count + 1}
        where = f"record {count + 1}"
        if line is not None:
            details["line"] = line + 1
            where += f", line {line + 1}"
        raise SequenceSyntaxError(f"{filename}: malformed {actual.upper()} at {where}: {detail}", details) \
            from None
    except UnicodeDecodeError:
        raise BinaryFile(f"{filename}: binary data in record {count + 1}, not a text sequence file",
                         {"filename": filename, "record": count + 1}) from None
    if count == 0:
        raise EmptyFile(f"{filename}: the file holds no reads", {"filename": filename})
    report.records_checked = count


def _check_airr(reader: io.BufferedReader, filename: str, report: CheckReport, max_records: int,
                read_all: bool) -> None:
    text = io.TextIOWrapper(reader, encoding="utf-8", newline=None)
    try:
        header = text.readline().rstrip("\n").split("\t")
        if "sequence_id" not in header or not any(f in header for f in AIRR_CONTENT_FIELDS):
            raise InvalidAnalysisFile(
                f"{filename}: not an AIRR rearrangement TSV (the header needs sequence_id and one of "
                f"{', '.join(AIRR_CONTENT_FIELDS)})", {"filename": filename, "line": 1})
        count = 0
        for number, line in enumerate(text, start=2):
            if not line.strip():
                continue
            columns = line.rstrip("\n").split("\t")
            if len(columns) != len(header):
                raise InvalidAnalysisFile(f"{filename}: line {number} has {len(columns)} columns, the header "
                                          f"{len(header)}", {"filename": filename, "line": number})
            count += 1
            if not read_all and count >= max_records:
                break
        else:
            report.complete = True
    except UnicodeDecodeError:
        raise BinaryFile(f"{filename}: binary data, not an AIRR TSV file", {"filename": filename}) from None
    finally:
        text.detach()
    if count == 0:
        raise EmptyFile(f"{filename}: the AIRR file has a header but no rearrangement", {"filename": filename})
    report.records_checked = count


def _check_vidjil(reader: io.BufferedReader, filename: str, report: CheckReport, read_all: bool) -> None:
    data = reader.read(MAX_JSON_PARSE_BYTES + 1)
    if len(data) > MAX_JSON_PARSE_BYTES:
        start = data[:CHUNK]
        if not start.lstrip().startswith(b"{") or not any(k in start for k in (b'"reads"', b'"samples"',
                                                                                 b'"clones"')):
            raise InvalidAnalysisFile(f"{filename}: not a .vidjil file (a JSON object with 'reads', 'samples' "
                                      f"and 'clones' expected)", {"filename": filename})
        report.warn("not_parsed_whole", f"{filename}: larger than {MAX_JSON_PARSE_BYTES // 2**20} MiB, only its "
                                        f"start was checked")
        return
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidAnalysisFile(f"{filename}: not a .vidjil file (invalid JSON: {error})",
                                  {"filename": filename}) from None
    if not isinstance(document, dict) or not ({"reads", "clones", "samples"} & set(document)):
        raise InvalidAnalysisFile(f"{filename}: not a .vidjil file (a JSON object with 'reads', 'samples' and "
                                  f"'clones' expected)", {"filename": filename})
    report.complete = True
    report.records_checked = len(document.get("clones") or ())
