"""The browser application: server-rendered pages (Jinja templates in ``templates/``) with a little vanilla
JavaScript (``static/app.js``: uploads with progress/cancel/retry, live job status, clone names, exports).
No external CDN: every asset is served from ``/assets``.

Pages read data with the same RPCs as the REST API, as the logged-in user; the JavaScript writes through the REST
API (``/api/v1``) with the CSRF token from ``<meta name="csrf-token">``.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")


def register(app: Flask) -> None:
    from gateway.ui import admin, pages  # noqa: F401  (routes)
    from gateway.ui import site  # noqa: F401  (news, compliance banner, account page)

    app.register_blueprint(bp)
    pages.install_error_pages(app)
