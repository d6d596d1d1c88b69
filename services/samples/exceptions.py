"""Errors the samples service raises; callers receive them as these classes (see services.common.exceptions).

Every problem found in an uploaded file has its own class and ``code`` (the gateway answers
``{"error": {"code", "message", "details"}}``), so the browser can show a precise message. ``details`` may hold
``filename``, ``line`` (1-based), ``record`` (1-based) and ``problem``.
"""

from __future__ import annotations

from services.common.exceptions import (BadRequest, Conflict, NotFound, PermissionDenied,  # noqa: F401
                                        Unauthenticated, Unavailable)


class InvalidSequenceFile(BadRequest):
    """The file cannot be accepted as a sample."""

    code = "invalid_sequence_file"


class EmptyFile(InvalidSequenceFile):
    """The file is empty."""

    code = "empty_file"


class UnsupportedFileType(InvalidSequenceFile):
    """The file name does not end with an accepted type (FASTQ, FASTA, their .gz, .vidjil, AIRR .tsv)."""

    code = "unsupported_file_type"


class InvalidFileName(InvalidSequenceFile):
    """Nothing usable is left of the file name once paths and control characters are removed."""

    code = "invalid_file_name"


class CorruptGzip(InvalidSequenceFile):
    """The gzip stream is corrupt or truncated."""

    code = "corrupt_gzip"


class ExcessiveCompression(InvalidSequenceFile):
    """The gzip data inflates far more than any sequencing file does (a decompression bomb)."""

    code = "excessive_compression"


class NotGzip(InvalidSequenceFile):
    """The file is named .gz but is not gzip-compressed."""

    code = "not_gzip"


class UnsupportedCompression(InvalidSequenceFile):
    """The file is compressed with something other than gzip (bzip2, xz, zstd, zip)."""

    code = "unsupported_compression"


class BinaryFile(InvalidSequenceFile):
    """The file holds binary data, not text."""

    code = "binary_file"


class SequenceSyntaxError(InvalidSequenceFile):
    """A FASTA/FASTQ record is malformed."""

    code = "sequence_syntax_error"


class InvalidBases(InvalidSequenceFile):
    """A sequence holds characters that are not nucleotides (IUPAC codes)."""

    code = "invalid_bases"


class InvalidAnalysisFile(InvalidSequenceFile):
    """A .vidjil or AIRR file is not what its name says."""

    code = "invalid_analysis_file"


class UploadMismatch(Conflict):
    """The stored object does not match what the upload announced (key, size or checksum)."""

    code = "upload_mismatch"


class LowStorage(Unavailable):
    """Free space of the object store or database is under the configured threshold."""

    code = "low_storage"


class OutsideFileSource(PermissionDenied):
    """The path is outside the mounted directory or does not have an allowed extension."""

    code = "outside_file_source"
