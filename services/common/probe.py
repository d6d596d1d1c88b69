"""Container health probe: ``python -m services.common.probe <service>`` calls the service's ``health`` RPC and
exits 0 if it answers "ok" within 5 s, else prints one line and exits 1 (docker-compose healthcheck)."""

from __future__ import annotations

import sys

import services.common  # noqa: F401  (silences eventlet's import warning)
from services.common.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m services.common.probe <service>", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        with ClusterRpcProxy(settings.nameko_config(), timeout=5) as rpc:
            report = getattr(rpc, argv[0]).health()
    except Exception as error:
        print(f"{argv[0]}: no health answer: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if report.get("status") != "ok":
        print(f"{argv[0]}: {report}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
