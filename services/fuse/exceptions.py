"""Errors the fuse service raises; callers receive them as these classes (see services.common.exceptions)."""

from __future__ import annotations

from services.common.exceptions import (  # noqa: F401
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    RepseqError,
    TooLarge,
    Unauthenticated,
    Unavailable,
)


class InvalidResult(BadRequest):
    """An analysis result cannot be fused: not valid JSON, or not a single-sample ``.vidjil`` document."""

    code = "invalid_result"


class NoResults(NotFound):
    """There is nothing to fuse (no sample of the set has a result for this config) or no fused result yet."""

    code = "no_results"


class FuseTimeLimit(RepseqError):
    """Fusing took longer than the time limit and was stopped."""

    code = "fuse_time_limit"
    http_status = 504


class FuseFailed(RepseqError):
    """The fuse process failed for a reason other than bad input (crash, out of memory, post-script error)."""

    code = "fuse_failed"
    http_status = 500
