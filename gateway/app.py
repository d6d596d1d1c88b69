"""The gateway: the only HTTP entry of RepSeq Server (REST API + browser UI). It only translates: HTTP in,
RPC out (with the caller's principal), errors mapped once (gateway/errors.py). No business rule lives here.

``create_app(settings=None)`` is the application factory (gunicorn: ``gateway.app:create_app()``). Each area is a
blueprint registered below; shared objects are in ``app.extensions["repseq"]`` (:class:`GatewayContext`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from services.common.config import Settings
from services.common.logging import configure_logging


@dataclass
class GatewayContext:
    """What request handlers share: ``settings``, the RPC pool ``rpc``, the ``health`` checker."""

    settings: Settings
    rpc: "object"
    health: "object"


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app. ``settings`` defaults to ``Settings.from_env()`` (raises ConfigError)."""
    from gateway.body import ClientBodyMiddleware
    from gateway.errors import register_error_handlers
    from gateway.health import HealthChecker, bp as health_bp
    from gateway.rpc import RpcPool

    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.json.sort_keys = False
    app.extensions["repseq"] = GatewayContext(
        settings=settings,
        rpc=RpcPool(settings.nameko_config(), size=settings.gateway_threads, timeout=settings.rpc_timeout),
        health=HealthChecker(settings),
    )
    register_error_handlers(app)
    # request bodies: a client's framing error, early end or stall is a 400/408, never a 500 (gateway/body.py)
    app.wsgi_app = ClientBodyMiddleware(app.wsgi_app)
    app.register_blueprint(health_bp)
    register_gateway_areas(app)
    return app


def register_gateway_areas(app: Flask) -> None:
    """REST API (/api/v1), its OpenAPI document, and the browser application (gateway helper's modules)."""
    from gateway import api, openapi, ui

    app.register_blueprint(openapi.bp)
    api.register(app)
    ui.register(app)


def main() -> None:
    """Development server (``python -m gateway.app``); production and ``repseq up`` use gunicorn."""
    settings = Settings.from_env()
    create_app(settings).run(host=settings.gateway_host, port=settings.gateway_port, threaded=True)


if __name__ == "__main__":
    main()
