"""REST API ``/api/v1/...``: one module per area, all on the blueprint :data:`bp`.

Each view only translates: validated HTTP input -> one RPC with the caller's principal -> JSON. Rights, rules and
data belong to the services (auth, samples, jobs, fuse, backup, reporter).
"""

from __future__ import annotations

from flask import Blueprint

from gateway.openapi import API_PREFIX

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)


def register(app) -> None:
    """Import every area module (their ``operation`` decorators add the routes) and register the blueprint."""
    from nameko.exceptions import MethodNotFound

    from gateway.api import admin, auth, jobs, results, sample_sets, samples  # noqa: F401
    from gateway.api import news  # noqa: F401  (news banner, site settings)
    from gateway.errors import error_response

    app.register_blueprint(bp)

    @app.errorhandler(MethodNotFound)
    def _method_not_found(error):
        # a service older than this gateway: the feature is unavailable, not a crash of the request
        return error_response(503, "service_unavailable", f"a service does not offer this operation yet ({error})",
                              {"component": "service"})
