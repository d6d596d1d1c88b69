"""Run one or more RepSeq services in this process: ``python -m services.common.runner auth [samples ...]``.

Used by ``repseq up``, the test stack and the containers instead of ``nameko run`` because it also
1. reads configuration from the environment (one line naming the variable on error, exit code 2),
2. waits for RabbitMQ and for each service's database with back-off, logging why (exit code 1 after
   REPSEQ_STARTUP_TIMEOUT seconds),
3. then runs the services under nameko's runner (SIGTERM stops them gracefully, about 4 s).

Importing this module monkey-patches eventlet: never import it from tests or the gateway.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # must come before anything imports socket/threading users (nameko requires it)

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

from services.common.config import SERVICE_NAMES, ConfigError, Settings  # noqa: E402
from services.common.discovery import service_class  # noqa: E402

log = logging.getLogger("repseq.runner")


def retry_with_backoff(what: str, attempt: Callable[[], None], timeout: float,
                       first_delay: float = 0.5, max_delay: float = 10.0) -> None:
    """Call ``attempt()`` until it stops raising, sleeping 0.5, 1, 2, 4 ... (max ``max_delay``) seconds between
    tries and logging each failure. ``timeout`` 0 means forever. Raises the last error after ``timeout``."""
    deadline = time.monotonic() + timeout if timeout else None
    delay = first_delay
    while True:
        try:
            attempt()
            return
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            if deadline is not None and time.monotonic() + delay > deadline:
                log.error("%s still unreachable after %.0f s: %s", what, timeout, reason)
                raise
            log.warning("%s unreachable (%s: %s); retrying in %.1f s", what, type(error).__name__, reason, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)


def check_broker(settings: Settings) -> None:
    """Open and close one AMQP connection (raises if RabbitMQ is unreachable or refuses the login)."""
    from services.common.health import broker_ping

    broker_ping(settings.amqp_uri, timeout=3)


def check_database(settings: Settings, service: str) -> None:
    """``SELECT 1`` on the service's database (raises if unreachable, unknown database or bad credentials)."""
    from services.common.db import get_engine, ping

    ping(get_engine(settings, service))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.runner", description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="+", choices=SERVICE_NAMES, metavar="service",
                        help=f"one or more of {', '.join(SERVICE_NAMES)}")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2

    from services.common.logging import configure_logging

    configure_logging(settings.log_level)
    classes = [service_class(name) for name in args.services]
    try:
        retry_with_backoff(f"RabbitMQ ({settings.amqp_uri.rsplit('@', 1)[-1]})",
                           lambda: check_broker(settings), settings.startup_timeout)
        for name in args.services:
            retry_with_backoff(f"database of {name} ({settings.db_host}:{settings.db_port})",
                               lambda name=name: check_database(settings, name), settings.startup_timeout)
    except Exception:
        return 1

    from nameko.cli.run import run

    log.info("starting %s on %s", ", ".join(args.services), settings.amqp_uri.rsplit("@", 1)[-1])
    run(classes, settings.nameko_config())
    return 0


if __name__ == "__main__":
    sys.exit(main())
