"""One mapping from errors to HTTP answers ``{"error": {"code", "message", "details"}}``.

Service errors (subclasses of :class:`services.common.exceptions.RepseqError`) arrive over RPC as themselves
because :func:`import_service_exceptions` imports every ``services/<name>/exceptions.py``; their ``http_status``
decides the status. An unknown remote error is a 500 whose message does not leak the service's internals.
"""

from __future__ import annotations

import importlib
import logging

from flask import Flask, jsonify, request
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException, NotFound

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


def http_error_response(error: HTTPException):
    """The standard error body of a Werkzeug HTTP error (404 without a route, 405, 413...)."""
    code = (error.name or "error").lower().replace(" ", "_")
    message = error.description or error.name
    if isinstance(error, NotFound) and error.description == NotFound.description:
        # no route matched (Werkzeug's text speaks of URLs entered manually): name the address and where the
        # addresses are listed; ids in addresses are positive integers
        message = (f"no such address: {request.method} {request.path} (the API's addresses are listed in "
                   f"/api/v1/openapi.json; ids are positive integers)")
    return error_response(error.code or 500, code, message)


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

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error in the gateway")
        return error_response(500, "internal_error", "internal error in the gateway")
