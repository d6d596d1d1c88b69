"""Administration pages: users, groups and rights, configurations, workers and queue, audit log, news, settings.

Each page reads through the services' RPC as the logged-in administrator (services refuse others); changes are
made by the page's JavaScript through the REST API.
"""

from __future__ import annotations

from flask import render_template

from gateway.auth import call_as_user
from gateway.ui import bp
from gateway.ui.pages import _page, user
from services.common.exceptions import RepseqError


def _try(service: str, method: str, *args, default=None):
    """An RPC whose failure shows as a message on the page instead of breaking the whole page."""
    try:
        return call_as_user(service, method, *args), None
    except RepseqError as error:
        if error.http_status in (401, 403):
            raise
        return default, error.message
    except Exception as error:  # a missing RPC on an older service shows as a note, not a 500
        return default, f"{service}.{method} unavailable ({type(error).__name__})"


@bp.get("/admin")
def admin_index():
    user()
    return _page("admin/index.html")
