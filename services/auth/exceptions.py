"""Errors the auth service raises; callers receive them as these classes (see services.common.exceptions).

The gateway maps each by its ``http_status``: AuthenticationFailed 401, TooManyAttempts 429, WeakPassword 400,
DirectoryUnavailable 503.
"""

from __future__ import annotations

from services.common.exceptions import (BadRequest, Conflict, NotFound, PermissionDenied,  # noqa: F401
                                        RepseqError, Unauthenticated, Unavailable)


class AuthenticationFailed(Unauthenticated):
    """Wrong e-mail or password, or an unknown, ended or expired session or token.

    The message never says whether the account exists.
    """

    code = "authentication_failed"


class TooManyAttempts(RepseqError):
    """Too many failed logins for this account or from this address; try again later.

    ``details["retry_after"]``: seconds until a new attempt is counted (for the gateway's Retry-After header).
    """

    code = "too_many_attempts"
    http_status = 429


class WeakPassword(BadRequest):
    """The new password does not follow the password rules (length, strength, not one of the last 3)."""

    code = "weak_password"


class DirectoryUnavailable(Unavailable):
    """The LDAP directory could not be reached (local accounts can still log in)."""

    code = "directory_unavailable"
