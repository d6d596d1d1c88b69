"""Reading request bodies: the client's faults become clear answers, never a 500.

Gunicorn hands the application its raw body reader (it sets ``wsgi.input_terminated``, so Werkzeug does not wrap
it). Reading it may fail because of the client: a chunked body whose chunk sizes lie or are not hexadecimal, a
body that ends before its last chunk (``gunicorn.http.errors.ParseException`` subclasses, ``NoMoreData``), a
client that stalls longer than ``REPSEQ_GATEWAY_READ_TIMEOUT`` (the socket timeout set by
:mod:`gateway.server`: ``TimeoutError``), a connection reset. :class:`ClientBodyReader` wraps ``wsgi.input``
(installed for every request by :class:`ClientBodyMiddleware`) and turns them into :class:`IncompleteBody` (400)
and :class:`BodyTimeout` (408), which gateway/errors.py answers like every other error.
"""

from __future__ import annotations

import errno

from services.common.exceptions import BadRequest, RepseqError

try:  # the development server (python -m gateway.app) runs without gunicorn's parser
    from gunicorn.http.errors import NoMoreData, ParseException
except ImportError:  # pragma: no cover - gunicorn is a dependency of the gateway
    NoMoreData = ParseException = ()  # type: ignore[assignment,misc]

from werkzeug.exceptions import ClientDisconnected


class IncompleteBody(BadRequest):
    """The request body ended early or is malformed (chunked framing, fewer bytes than Content-Length)."""

    code = "incomplete_body"


class BodyTimeout(RepseqError):
    """The client stopped sending the request body for longer than the gateway waits."""

    code = "request_timeout"
    http_status = 408


def translate_read_error(error: BaseException, received: int) -> RepseqError | None:
    """The gateway error for a failure while reading the body (``received`` bytes came before), or ``None`` if
    ``error`` is not a body-read failure (then it is the server's problem and must propagate as it is)."""
    details = {"received": received}
    if isinstance(error, RepseqError):
        return None
    if isinstance(error, TimeoutError):
        return BodyTimeout(f"no data came from the client for too long after {received} bytes of the request "
                           f"body; send the request again", details)
    if ParseException and isinstance(error, ParseException):
        return IncompleteBody(f"malformed request body after {received} bytes ({type(error).__name__}: "
                              f"{str(error)[:200]}); send the request again", details)
    if NoMoreData and isinstance(error, NoMoreData) or isinstance(error, ClientDisconnected):
        return IncompleteBody(f"the request body ended early, after {received} bytes (connection closed or a "
                              f"chunked body without its last chunk); send the request again", details)
    if isinstance(error, OSError) and error.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN,
                                                      errno.ECONNABORTED):
        return IncompleteBody(f"the connection was lost after {received} bytes of the request body", details)
    return None


class ClientBodyReader:
    """File-like wrapper of ``wsgi.input`` (``read``, ``readline``, ``readlines``, iteration) raising
    :class:`IncompleteBody` / :class:`BodyTimeout` for the client's faults (see :func:`translate_read_error`).
    ``received``: body bytes read so far."""

    def __init__(self, stream):
        self._stream = stream
        self.received = 0

    def _call(self, method, *args):
        try:
            data = getattr(self._stream, method)(*args)
        except Exception as error:  # noqa: BLE001 - translated below, or re-raised untouched
            translated = translate_read_error(error, self.received)
            if translated is None:
                raise
            raise translated from error
        return data

    def read(self, size: int | None = -1) -> bytes:
        data = self._call("read", size if size is not None else -1)
        self.received += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._call("readline", size if size is not None else -1)
        self.received += len(data)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines = self._call("readlines", hint if hint is not None else -1)
        self.received += sum(len(line) for line in lines)
        return lines

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class ClientBodyMiddleware:
    """WSGI middleware putting a :class:`ClientBodyReader` around ``wsgi.input`` of every request."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        stream = environ.get("wsgi.input")
        if stream is not None and not isinstance(stream, ClientBodyReader):
            environ["wsgi.input"] = ClientBodyReader(stream)
        return self.app(environ, start_response)
