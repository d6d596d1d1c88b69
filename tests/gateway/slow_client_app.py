"""A tiny WSGI app served by the gateway's gunicorn worker in tests/gateway/test_upload_body.py: ``/ping`` answers
at once; ``/read`` reads the whole body (through gateway.body's reader, as the gateway does) and answers its size
and SHA-256, or the gateway error its reading raised."""

from __future__ import annotations

import hashlib
import json

from gateway.body import ClientBodyMiddleware
from services.common.exceptions import RepseqError

REASONS = {200: "OK", 400: "Bad Request", 408: "Request Timeout"}


def _answer(start_response, status: int, payload: dict):
    body = json.dumps(payload).encode()
    start_response(f"{status} {REASONS.get(status, 'Error')}", [("Content-Type", "application/json"),
                                                                 ("Content-Length", str(len(body)))])
    return [body]


def _inner(environ, start_response):
    if environ["PATH_INFO"] == "/read":
        digest, size = hashlib.sha256(), 0
        try:
            while True:
                data = environ["wsgi.input"].read(1024 * 1024)
                if not data:
                    break
                digest.update(data)
                size += len(data)
        except RepseqError as error:
            return _answer(start_response, error.http_status, {"error": error.to_dict()})
        return _answer(start_response, 200, {"size": size, "sha256": digest.hexdigest()})
    return _answer(start_response, 200, {"pong": True})


app = ClientBodyMiddleware(_inner)
