"""Errors every service may raise, which travel over RPC as themselves.

A service declares its own errors as subclasses of these (in ``services/<name>/exceptions.py``). Every subclass of
:class:`RepseqError` is registered with nameko's deserialisation registry when its module is imported, so a caller
that imported the module (the gateway imports all of them) receives the same class, with ``message`` and
``details``, instead of a ``RemoteError``. The gateway maps ``http_status`` to the HTTP answer
``{"error": {"code", "message", "details"}}``.

Construct them as ``NotFound("sample 12 does not exist", {"sample_id": 12})``; ``details`` must be JSON-safe.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import deserialize_to_instance


class RepseqError(Exception):
    """Base of all expected errors. ``code`` is a stable machine name, ``http_status`` the gateway's answer."""

    code = "error"
    http_status = 500

    def __init__(self, message: str = "", details: dict[str, Any] | str | None = None):
        self.message = message or self.__class__.__doc__.strip().splitlines()[0]
        if isinstance(details, str):
            # Rebuilt on the caller's side from the JSON text we put in ``args`` (see below).
            try:
                details = json.loads(details)
            except ValueError:
                details = {"detail": details}
        self.details = details or {}
        # nameko turns every non-string inside ``args`` into a string on the wire (numbers, booleans, null);
        # carrying ``details`` as JSON text keeps their types across RPC.
        super().__init__(self.message, json.dumps(self.details, default=str))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        deserialize_to_instance(cls)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """``{"code", "message", "details"}``, the body of the gateway's error answer."""
        return {"code": self.code, "message": self.message, "details": self.details}


deserialize_to_instance(RepseqError)


class BadRequest(RepseqError):
    """The request is malformed or a value is invalid."""

    code = "bad_request"
    http_status = 400


class Unauthenticated(RepseqError):
    """No valid principal came with the call."""

    code = "unauthenticated"
    http_status = 401


class PermissionDenied(RepseqError):
    """The principal may not do this."""

    code = "permission_denied"
    http_status = 403


class NotFound(RepseqError):
    """The object does not exist (or the principal may not know it does)."""

    code = "not_found"
    http_status = 404


class Conflict(RepseqError):
    """The request conflicts with the current state (duplicate name, wrong state)."""

    code = "conflict"
    http_status = 409


class TooLarge(RepseqError):
    """The payload exceeds a configured limit."""

    code = "too_large"
    http_status = 413


class Unavailable(RepseqError):
    """A component this call needs (database, object store, another service) is unreachable."""

    code = "unavailable"
    http_status = 503


#: All expected errors, for ``@rpc(expected_exceptions=EXPECTED)`` (logged as warnings, not tracebacks).
EXPECTED = (RepseqError,)
