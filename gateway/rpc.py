"""A pool of started nameko ``ClusterRpcProxy`` clients for the gateway's threads.

A proxy is used by one thread at a time (nameko's standalone proxy is not thread-safe); a started proxy costs about
6 ms per call instead of about 23 ms for a new one per request (docs/decisions.md). Usage::

    with current_app.extensions["repseq"].rpc.client() as rpc:
        rpc.samples.get_sample(principal.to_dict(), 12)

A proxy that timed out or lost its connection is discarded, not returned to the pool.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.exceptions import Unavailable

log = logging.getLogger(__name__)

#: Errors after which a proxy is not reused.
BROKEN = (RpcTimeout, socket.error, IOError, ConnectionError)


class RpcPool:
    """Up to ``size`` started proxies sharing ``config``; each call waits at most ``timeout`` s for its reply."""

    def __init__(self, config: dict, size: int = 8, timeout: float | None = 30.0):
        self.config = dict(config)
        self.size = size
        self.timeout = timeout
        self._idle: "queue.LifoQueue[tuple[ClusterRpcProxy, object]]" = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()
        self._closed = False

    def _new(self):
        runner = ClusterRpcProxy(self.config, timeout=self.timeout)
        return runner, runner.start()

    def _take(self, wait: float | None):
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            can_create = self._created < self.size
            if can_create:
                self._created += 1
        if can_create:
            try:
                return self._new()
            except Exception as error:
                with self._lock:
                    self._created -= 1
                raise Unavailable(f"message broker unreachable: {error}", {"component": "broker"}) from error
        try:
            return self._idle.get(timeout=wait)
        except queue.Empty:
            raise Unavailable("all RPC connections are busy", {"component": "gateway"}) from None

    def _discard(self, entry) -> None:
        with self._lock:
            self._created -= 1
        try:
            entry[0].stop()
        except Exception:  # the connection is already broken; nothing else to release
            log.debug("error stopping a broken RPC proxy", exc_info=True)

    @contextmanager
    def client(self, wait: float | None = 10.0) -> Iterator[object]:
        """Borrow a started proxy (``proxy.<service>.<method>(...)``); wait up to ``wait`` s for a free one.

        Raises :class:`Unavailable` if the broker cannot be reached or no proxy frees up in time.
        """
        entry = self._take(wait)
        try:
            yield entry[1]
        except BROKEN:
            self._discard(entry)
            raise
        except BaseException:
            self._idle.put(entry)
            raise
        else:
            if self._closed:
                self._discard(entry)
            else:
                self._idle.put(entry)

    def close(self) -> None:
        """Stop every idle proxy (proxies in use are stopped when returned)."""
        self._closed = True
        while True:
            try:
                entry = self._idle.get_nowait()
            except queue.Empty:
                return
            self._discard(entry)
