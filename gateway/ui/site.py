"""Site-wide information in the browser (reporter service): the news banner on every page of a logged-in user,
the healthcare-compliance banner (login page, account page, set form), the account page, and the administration
page of news and site settings.

Templates: ``_news_banner.html`` (included by the base layout; the pages give it ``news`` from
:func:`active_news`), ``_compliance_banner.html`` (uses the template global ``site_settings()``),
``account.html``, ``admin/news.html``. ``static/news.js`` dismisses an item without reloading the page; without
JavaScript the dismiss form posts to :func:`dismiss_news`.
"""

from __future__ import annotations

import logging

from flask import g, redirect, request, url_for
from nameko.exceptions import MethodNotFound

from gateway.auth import call, call_as_user, check_csrf, context
from gateway.ui import bp
from gateway.ui.admin import _try, admin_user
from gateway.ui.pages import _page, _safe_next, user
from services.common.exceptions import BadRequest, RepseqError

log = logging.getLogger(__name__)

#: Choices of the compliance form: form value -> RPC argument (None: follow REPSEQ_HEALTHCARE_COMPLIANCE).
COMPLIANCE_CHOICES = {"true": True, "false": False, "default": None}


def active_news() -> list[dict]:
    """News for the banner of the logged-in user (``[]`` without one). The banner informs: a failing reporter
    service must not break the page, so its errors give no news (logged)."""
    principal = g.get("principal")
    if not principal:
        return []
    try:
        return call("reporter", "list_active_news", principal) or []
    except (RepseqError, MethodNotFound) as error:
        log.warning("news banner left out: %s", error)
        return []


def site_settings() -> dict:
    """The site settings (``healthcare_compliance`` ...), read once per request; the configured default when the
    reporter service cannot answer."""
    if "site_settings" not in g:
        try:
            g.site_settings = call("reporter", "get_site_settings")
        except (RepseqError, MethodNotFound) as error:
            log.warning("site settings from the configuration: %s", error)
            g.site_settings = {"healthcare_compliance": bool(context().settings.healthcare_compliance),
                               "healthcare_compliance_source": "configuration"}
    return g.site_settings


@bp.app_context_processor
def _site_globals():
    return {"site_settings": site_settings}


@bp.post("/news/<int:news_id>/dismiss")
def dismiss_news(news_id: int):
    """Dismiss a news item without JavaScript (form post), then back to the page it was on."""
    user()
    check_csrf(g.session_token or "")
    call_as_user("reporter", "mark_news_read", news_id)
    return redirect(_safe_next(request.args.get("next")))


@bp.get("/account")
def account_page():
    """The logged-in user's account: names, groups with their rights, and the compliance banner."""
    principal = user()
    account, error = _try("auth", "get_user", principal["user_id"], default={})
    return _page("account.html", account=account or {}, error=error,
                 memberships=principal.get("memberships") or [])


@bp.get("/admin/news")
def admin_news():
    """Administration of news items and of the healthcare-compliance setting, with their audit trail."""
    admin_user()
    items, items_error = _try("reporter", "list_news", True, default=[])
    news_events, news_error = _try("reporter", "recent_events", "news.changed", 50, default=[])
    setting_events, setting_error = _try("reporter", "recent_events", "site_settings.changed", 50, default=[])
    users, users_error = _try("auth", "list_users", "", 1000, 0, default=[])
    emails = {u["id"]: u["email"] for u in users or []}
    trail = sorted((news_events or []) + (setting_events or []), key=lambda e: e["id"], reverse=True)[:50]
    return _page("admin/news.html", section="news", items=items, trail=trail, emails=emails,
                 errors=[e for e in (items_error, news_error, setting_error, users_error) if e],
                 compliance_changed=request.args.get("saved") == "compliance")


@bp.post("/admin/site_settings")
def admin_site_settings():
    """Form post of the compliance setting (``healthcare_compliance``: true, false or default)."""
    admin_user()
    check_csrf(g.session_token or "")
    choice = request.form.get("healthcare_compliance", "")
    if choice not in COMPLIANCE_CHOICES:
        raise BadRequest("healthcare_compliance must be true, false or default", {"value": choice[:20]})
    call_as_user("reporter", "set_site_settings", COMPLIANCE_CHOICES[choice])
    return redirect(url_for("ui.admin_news", saved="compliance") + "#compliance")
