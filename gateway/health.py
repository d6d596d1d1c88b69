"""``GET /health``: status of every service (its ``health`` RPC over RabbitMQ), of the broker, the database
and the object store, answered within one second.

Answer (200 when every component is "ok", else 503)::

    {"status": "ok" | "down", "elapsed_ms": 41.2,
     "components": {"auth": {"status": "ok", "latency_ms": 4.1, "error": null, "checks": {...}}, ...,
                    "broker": {...}, "database": {...}, "object_store": {...}}}
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from flask import Blueprint, current_app, jsonify
from nameko.exceptions import RpcTimeout, UnknownService

from services.common.config import SERVICE_NAMES, Settings
from services.common.db import create_engine_for_url, database_url, ping
from services.common.health import DOWN, OK, broker_ping, failure, run_check
from services.common.storage import ObjectStore

bp = Blueprint("health", __name__)

#: Whole answer deadline in seconds; every check gets REPSEQ_HEALTH_TIMEOUT (default 0.8 s) within it.
DEADLINE = 0.95


class HealthChecker:
    """Runs all checks concurrently on a small thread pool with per-check timeouts."""

    def __init__(self, settings: Settings, services: tuple[str, ...] = SERVICE_NAMES):
        from gateway.rpc import RpcPool

        self.settings = settings
        self.services = services
        self.timeout = min(settings.health_timeout, DEADLINE - 0.1)
        self.rpc = RpcPool(settings.nameko_config(), size=2 * len(services), timeout=self.timeout)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=4 * len(services) + 8,
                                                              thread_name_prefix="health")
        self.engine = create_engine_for_url(database_url(settings, None), pool_size=2)
        self.store = ObjectStore(settings, timeout=self.timeout, retries=0)

    def _service(self, name: str) -> dict[str, Any]:
        started = time.monotonic()
        try:
            with self.rpc.client(wait=self.timeout) as proxy:
                report = getattr(proxy, name).health()
        except RpcTimeout:
            return {"status": DOWN, "latency_ms": round((time.monotonic() - started) * 1000, 1),
                    "error": f"no answer within {self.timeout} s (service not running?)"}
        except UnknownService:
            return {"status": DOWN, "latency_ms": round((time.monotonic() - started) * 1000, 1),
                    "error": "service has never been started on this broker"}
        except Exception as error:
            return failure(error, started)
        failing = [f"{component}: {check.get('error')}" for component, check in report.get("checks", {}).items()
                   if check.get("status") != OK]
        return {"status": report.get("status", DOWN), "latency_ms": round((time.monotonic() - started) * 1000, 1),
                "error": "; ".join(failing) or None, "checks": report.get("checks", {})}

    def _broker(self) -> None:
        broker_ping(self.settings.amqp_uri, self.timeout)

    def check(self) -> dict[str, Any]:
        """Return the /health body; never raises, never takes much longer than :data:`DEADLINE`.

        The broker is checked first (a refused connection answers at once); services are asked over RPC only
        when it answers, so a broker outage never ties up threads in connection retries.
        """
        started = time.monotonic()
        futures = {"broker": self.executor.submit(run_check, self._broker),
                   "database": self.executor.submit(run_check, lambda: ping(self.engine)),
                   "object_store": self.executor.submit(run_check, self.store.ping)}
        components: dict[str, Any] = {}

        def remaining() -> float:
            return max(0.0, DEADLINE - (time.monotonic() - started))

        try:
            components["broker"] = futures.pop("broker").result(timeout=remaining())
        except concurrent.futures.TimeoutError:
            components["broker"] = {"status": DOWN, "latency_ms": None, "error": f"no answer within {DEADLINE} s"}
        if components["broker"]["status"] == OK:
            futures.update({name: self.executor.submit(self._service, name) for name in self.services})
        else:
            for name in self.services:
                components[name] = {"status": DOWN, "latency_ms": None, "error": "message broker unreachable"}
        for name, future in futures.items():
            try:
                components[name] = future.result(timeout=remaining())
            except concurrent.futures.TimeoutError:
                components[name] = {"status": DOWN, "latency_ms": None,
                                    "error": f"no answer within {DEADLINE} s"}
        order = [*self.services, "broker", "database", "object_store"]
        components = {name: components[name] for name in order}
        status = OK if all(c["status"] == OK for c in components.values()) else DOWN
        return {"status": status, "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
                "components": components}

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.rpc.close()
        self.engine.dispose()


@bp.get("/health")
def health():
    """Status of every component; 200 if all are ok, else 503."""
    body = current_app.extensions["repseq"].health.check()
    response = jsonify(body)
    response.status_code = 200 if body["status"] == OK else 503
    return response
