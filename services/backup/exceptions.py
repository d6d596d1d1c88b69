"""Errors the backup service raises; callers receive them as these classes (see services.common.exceptions)."""

from __future__ import annotations

from services.common.exceptions import BadRequest, Conflict, NotFound, PermissionDenied, Unauthenticated  # noqa: F401
