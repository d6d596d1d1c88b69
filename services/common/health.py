"""Health checks shared by services (their ``health`` RPC) and the gateway (``GET /health``).

A check result is ``{"status": "ok" | "down", "latency_ms": float, "error": str | None}``.
A service report is ``{"service": name, "status": "ok" | "down", "checks": {component: check result}}``;
``status`` is "ok" only if every check is.
"""

from __future__ import annotations

import time
from typing import Any, Callable

OK = "ok"
DOWN = "down"


def failure(error: BaseException, started: float) -> dict[str, Any]:
    """The "down" check result for ``error`` raised by a check begun at ``time.monotonic()`` = ``started``."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return {"status": DOWN, "latency_ms": round((time.monotonic() - started) * 1000, 1), "error": text[:300]}


def run_check(check: Callable[[], Any]) -> dict[str, Any]:
    """Run ``check()``; any exception means "down" with a one-line error."""
    started = time.monotonic()
    try:
        check()
    except Exception as error:  # a health check reports, it does not raise
        return failure(error, started)
    return {"status": OK, "latency_ms": round((time.monotonic() - started) * 1000, 1), "error": None}


def service_report(service: str, checks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run every check of ``checks`` (component name -> callable) and build the service report."""
    results = {component: run_check(check) for component, check in checks.items()}
    status = OK if all(r["status"] == OK for r in results.values()) else DOWN
    return {"service": service, "status": status, "checks": results}


def broker_ping(amqp_uri: str, timeout: float) -> None:
    """Open and close one AMQP connection to ``amqp_uri`` without retries (raises on refusal, bad login or
    unknown vhost, or after ``timeout`` seconds)."""
    import amqp
    from kombu import Connection

    info = Connection(amqp_uri)
    connection = amqp.Connection(host=f"{info.hostname}:{info.port or 5672}", userid=info.userid,
                                 password=info.password, virtual_host=info.virtual_host or "/",
                                 connect_timeout=timeout)
    try:
        connection.connect()
    except BaseException:
        connection.collect()
        raise
    connection.close()


def database_check(engine) -> Callable[[], None]:
    """A check that runs ``SELECT 1`` on ``engine``."""
    from services.common.db import ping

    return lambda: ping(engine)


def storage_check(store, bucket: str | None = None) -> Callable[[], None]:
    """A check that lists buckets (or checks that ``bucket`` exists) on the :class:`ObjectStore`."""

    def check():
        if bucket is None:
            store.ping()
        elif not store.client.bucket_exists(bucket):
            raise RuntimeError(f"bucket {bucket} does not exist")

    return check
