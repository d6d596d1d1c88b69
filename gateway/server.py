"""The gateway's gunicorn worker: gunicorn's threaded worker (gthread) that keeps slow clients off its threads.

``gunicorn --worker-class gateway.server.GatewayWorker --threads N ... 'gateway.app:create_app()'``
(repseq/stack.py and docker-compose.yml start it so).

Why: the gateway is served by gunicorn with no buffering proxy in front, and a gthread worker gives a connection
one of its N threads as soon as its first bytes arrive; the thread then blocks on the socket until the request
line, headers and body have come. N clients that send a request and then stay silent (a stalled upload, a
slowloris client, even an unauthenticated ``POST /api/v1/auth/login``) held every thread forever, and the gateway
stopped answering anyone.

What this worker changes (docs/decisions.md, "Slow clients"):

1. The main loop (a selector, no thread) receives each request's head -- and its whole body when the head and
   body fit in :data:`SMALL_REQUEST_BYTES` (logins, JSON edits) -- before a thread is given. A client must send
   that much within ``REPSEQ_GATEWAY_READ_TIMEOUT`` seconds, else it gets 408 and the connection is closed.
2. A request whose body streams (a larger Content-Length, ``Transfer-Encoding``, ``Expect: 100-continue``:
   uploads) gets a thread only while fewer than ``threads - reserve`` such requests run (reserve: a quarter of the
   threads, at least one when there are two or more); the others wait in the main loop (without a thread; 503
   after :data:`STREAM_WAIT_FACTOR` read timeouts). Requests without a streamed body always find a thread.
3. Every socket handed to a thread has a timeout of ``REPSEQ_GATEWAY_READ_TIMEOUT`` seconds: a body read (and a
   response write) waiting longer fails; gateway/body.py answers 408 for a stalled body.

TLS and HTTP/2 connections (not used by RepSeq: TLS ends at the hospital's reverse proxy if any) keep gunicorn's
own behaviour.
"""

from __future__ import annotations

import errno
import json
import selectors
import time
from collections import deque
from functools import partial

from gunicorn.http2 import negotiation
from gunicorn.workers import gthread

#: A request whose head and body fit in this many bytes is received whole by the main loop before it gets a thread.
SMALL_REQUEST_BYTES = 64 * 1024
#: A streamed request waits at most this many read timeouts for a free thread (then 503, retry later).
STREAM_WAIT_FACTOR = 4
HEAD_ENDS = (b"\r\n\r\n", b"\n\n")


def _error_answer(status: int, reason: str, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 error answer (the API's error body) that closes the connection."""
    body = json.dumps({"error": {"code": code, "message": message, "details": {}}}).encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


def request_framing(received: bytes | bytearray) -> tuple[str, int]:
    """How much of a request must be received before a thread is given, from its first bytes.

    Returns ``("head", 0)`` while the head (request line and headers) is not complete, ``("stream", 0)`` for a
    request whose body streams (Transfer-Encoding, Expect, a Content-Length beyond :data:`SMALL_REQUEST_BYTES`,
    a head over that size, or headers the parser will refuse anyway: it answers them), else ``("whole", n)``: the
    request is ``n`` bytes (head and body).
    """
    ends = [(index, len(end)) for end in HEAD_ENDS if (index := received.find(end)) >= 0]
    if not ends:
        return ("stream", 0) if len(received) >= SMALL_REQUEST_BYTES else ("head", 0)
    index, size = min(ends)
    head_length = index + size
    length: int | None = None
    for line in bytes(received[:index]).split(b"\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            return "stream", 0
        if name == b"content-length":
            try:
                number = int(value.strip())
            except ValueError:
                return "stream", 0
            if number < 0 or (length is not None and number != length):
                return "stream", 0
            length = number
    total = head_length + (length or 0)
    return ("whole", total) if total <= SMALL_REQUEST_BYTES else ("stream", 0)


class GatewayConnection(gthread.TConn):
    """A gthread connection that carries the bytes the main loop received and a read timeout for its thread."""

    def __init__(self, cfg, sock, client, server, read_timeout: float):
        super().__init__(cfg, sock, client, server)
        self.read_timeout = read_timeout
        self.received = bytearray()
        self.deadline = 0.0
        self.streaming = False

    def init(self):
        """In the thread: gunicorn's set-up, then the received bytes go to the parser and the timeout is set."""
        super().init()
        if self.received and self.parser is not None and not self.is_http2:
            data = self.parser.unreader.take_buffered() + bytes(self.received)
            self.parser.unreader.unread(data)
        self.received = bytearray()
        self.sock.settimeout(self.read_timeout)


class GatewayWorker(gthread.ThreadWorker):
    """gthread worker receiving heads and small bodies in its main loop and capping streamed bodies (see the
    module docstring). ``REPSEQ_GATEWAY_READ_TIMEOUT`` (services/common/config.py) is read at start."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = 30.0
        threads = max(1, self.cfg.threads)
        reserve = max(1, threads // 4) if threads > 1 else 0
        self.max_streams = threads - reserve
        self.streams = 0
        self.receiving: deque[GatewayConnection] = deque()
        self.waiting_streams: deque[GatewayConnection] = deque()

    def init_process(self):
        from services.common.config import Settings

        self.read_timeout = Settings.from_env().gateway_read_timeout
        super().init_process()

    # -- connections in the main loop -----------------------------------------------------------------------------
    def _plain(self, client) -> bool:
        return not self.cfg.is_ssl and not negotiation.prior_knowledge_allowed(self.cfg, client)

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = GatewayConnection(self.cfg, client_sock, client_addr, listener.getsockname(), self.read_timeout)
        if self._plain(client_addr):
            self._receive(conn)
        else:
            client_sock.setblocking(True)
            self.enqueue_req(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has a next request: receive its head (and small body) first."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if isinstance(conn, GatewayConnection) and not conn.is_http2 and self._plain(conn.client):
            self._receive(conn)
            self._on_readable(conn, client)
        else:
            self.enqueue_req(conn)

    def _receive(self, conn: GatewayConnection) -> None:
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + self.read_timeout
        self.receiving.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: GatewayConnection, _client) -> None:
        if conn not in self.receiving:
            return
        try:
            data = conn.sock.recv(max(4096, SMALL_REQUEST_BYTES - len(conn.received)))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._leave(conn)
            self._close(conn)
            return
        if not data:                        # the client closed (or half-closed) its side
            self._leave(conn)
            if conn.received:
                self._dispatch(conn, stream=False)   # the parser answers what it makes of it
            else:
                self._close(conn)
            return
        conn.received += data
        kind, total = request_framing(conn.received)
        if kind == "head" or (kind == "whole" and len(conn.received) < total):
            return
        self._leave(conn)
        self._dispatch(conn, stream=kind == "stream")

    def _leave(self, conn: GatewayConnection) -> None:
        self.receiving.remove(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _dispatch(self, conn: GatewayConnection, stream: bool) -> None:
        conn.data_ready = True              # its bytes are here: gunicorn must not wait for more before parsing
        if stream:
            if self.streams >= self.max_streams:
                conn.deadline = time.monotonic() + STREAM_WAIT_FACTOR * self.read_timeout
                self.waiting_streams.append(conn)
                return
            conn.streaming = True
            self.streams += 1
        conn.sock.setblocking(True)
        self.enqueue_req(conn)

    def _close(self, conn: GatewayConnection, answer: bytes = b"") -> None:
        if answer:
            try:
                conn.sock.setblocking(False)
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    def finish_request(self, conn, fs):
        if getattr(conn, "streaming", False):
            conn.streaming = False
            self.streams -= 1
            while self.waiting_streams and self.streams < self.max_streams:
                self._dispatch(self.waiting_streams.popleft(), stream=True)
        super().finish_request(conn, fs)

    def murder_pending(self):
        """Also: 408 for connections that did not send their head (and small body) in time, 503 for streamed
        requests that waited too long for a thread."""
        super().murder_pending()
        now = time.monotonic()
        while self.receiving and self.receiving[0].deadline <= now:
            conn = self.receiving[0]
            self._leave(conn)
            self._close(conn, _error_answer(
                408, "Request Timeout", "request_timeout",
                f"the request did not arrive within {self.read_timeout:g} s; send it again") if conn.received
                else b"")
        while self.waiting_streams and self.waiting_streams[0].deadline <= now:
            conn = self.waiting_streams.popleft()
            self._close(conn, _error_answer(
                503, "Service Unavailable", "busy",
                "the gateway is receiving as many uploads as it can at once; send the request again later"))


__all__ = ["GatewayWorker", "GatewayConnection", "request_framing", "SMALL_REQUEST_BYTES"]
