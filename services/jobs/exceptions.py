"""Errors the jobs service raises; callers receive them as these classes (see services.common.exceptions)."""

from __future__ import annotations

from services.common.exceptions import BadRequest, Conflict, NotFound, PermissionDenied, Unauthenticated  # noqa: F401


class DuplicateJob(Conflict):
    """An identical job (same sample, config and kind) is already queued or running."""

    code = "duplicate_job"


class ConfigInUse(Conflict):
    """The analysis config is used by stored results and cannot be deleted."""

    code = "config_in_use"


class NoInputFile(Conflict):
    """The sample has no stored sequence file to analyse yet."""

    code = "no_input_file"


class JobFinished(Conflict):
    """The job already reached a final state."""

    code = "job_finished"
