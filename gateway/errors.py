"""One mapping from errors to HTTP answers ``{"error": {"code", "message", "details"}}``.

Service errors (subclasses of :class:`services.common.exceptions.RepseqError`) arrive over RPC as themselves
because :func:`import_service_exceptions` imports every ``services/<name>/exceptions.py``; their ``http_status``
decides the status. An unknown remote error is a 500 whose message does not leak the service's internals.
"""

from __future__ import annotations

import importlib
import logging

from flask import Flask, jsonify
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException

from services.common.config import SERVICE_NAMES
from services.common.exceptions import RepseqError

log = logging.getLogger(__name__)


def import_service_exceptions() -> None:
    """Import each service's exceptions module so that its errors deserialise to their own classes."""
    for name in SERVICE_NAMES:
        importlib.import_module(f"services.{name}.exceptions")


def error_response(status: int, code: str, message: str, details: dict | None = None):
    """A Flask response with the standard error body."""
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app`` (called by ``create_app``)."""
    import_service_exceptions()

    @app.errorhandler(RepseqError)
    def _repseq_error(error: RepseqError):
        return error_response(error.http_status, error.code, error.message, error.details)

    @app.errorhandler(RpcTimeout)
    def _timeout(error):
        return error_response(504, "timeout", f"a service did not answer within {error} s")

    @app.errorhandler(UnknownService)
    def _unknown_service(error):
        return error_response(503, "service_unavailable", str(error))

    @app.errorhandler(RemoteError)
    def _remote_error(error: RemoteError):
        log.error("unexpected error in a service: %s %s", error.exc_type, error.value)
        return error_response(500, "internal_error", "internal error in a service", {"type": error.exc_type})

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error in the gateway")
        return error_response(500, "internal_error", "internal error in the gateway")
