"""Who is calling: the principal, resolved by the auth service from a session cookie or an API token.

- Browser: ``POST /api/v1/auth/login`` (or the login page) asks ``auth.login`` for a session token and stores it in
  the HttpOnly cookie ``repseq_session``. Every request resolves it with ``auth.resolve_session``.
- Scripts: ``Authorization: Bearer <API token>`` resolved with ``auth.resolve_api_token``.

CSRF (cookie sessions only): unsafe methods (POST, PUT, PATCH, DELETE) must carry the header ``X-CSRF-Token`` (or
the form field ``csrf_token``) equal to :func:`csrf_token_for` the session, an HMAC of the session token with the
gateway's secret key. The value is given to pages (``<meta name="csrf-token">``), in the readable cookie
``repseq_csrf`` and in the login answer. A request whose ``Origin`` header names another host is refused too.
Bearer-token calls need no CSRF token (browsers never add that header on their own).

The gateway decides nothing else: rights are checked by the services, with the principal passed to every RPC.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from typing import Any

from flask import current_app, g, request

from services.common.exceptions import PermissionDenied, RepseqError, Unauthenticated

SESSION_COOKIE = "repseq_session"
CSRF_COOKIE = "repseq_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def context():
    """The app's :class:`gateway.app.GatewayContext` (settings, RPC pool)."""
    return current_app.extensions["repseq"]


def call(service: str, method: str, *args, **kwargs) -> Any:
    """``service.method(*args, **kwargs)`` over RPC with a pooled proxy; service errors are raised as themselves."""
    with context().rpc.client() as proxy:
        return getattr(getattr(proxy, service), method)(*args, **kwargs)


def call_as_user(service: str, method: str, *args, **kwargs) -> Any:
    """Like :func:`call` with the current principal (:func:`require_principal`) as first argument."""
    return call(service, method, require_principal(), *args, **kwargs)


def csrf_token_for(session_token: str) -> str:
    """The CSRF token bound to ``session_token`` (hex HMAC-SHA256 with the secret key, 64 characters)."""
    key = (context().settings.secret_key or "").encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urllib.parse.urlsplit(origin).netloc == request.host


def check_csrf(session_token: str) -> None:
    """Raise :class:`PermissionDenied` unless this unsafe cookie-authenticated request carries the CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if not _same_origin():
        raise PermissionDenied("cross-origin request refused", {"origin": request.headers.get("Origin")})
    sent = request.headers.get(CSRF_HEADER) or (request.form.get("csrf_token") if request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data") else None)
    if not sent or not hmac.compare_digest(sent, csrf_token_for(session_token)):
        raise PermissionDenied("missing or wrong CSRF token (send the X-CSRF-Token header)",
                               {"header": CSRF_HEADER})


def resolve_principal(check_csrf_token: bool = True) -> dict | None:
    """The principal dict of the caller, or ``None`` if no credentials came with the request.

    Raises :class:`Unauthenticated` when credentials came but are invalid or expired (the auth service's error),
    :class:`PermissionDenied` on a CSRF failure. Cached on ``g`` for the request.
    """
    if "principal" in g:
        return g.principal
    bearer = _bearer_token()
    principal = None
    g.session_token = None
    if bearer:
        principal = call("auth", "resolve_api_token", bearer)
        g.auth_kind = "token"
    else:
        session_token = request.cookies.get(SESSION_COOKIE)
        if session_token:
            try:
                principal = call("auth", "resolve_session", session_token)
            except RepseqError as error:
                if error.http_status == 401:
                    g.principal = None
                    g.session_expired = True
                    raise Unauthenticated("your session has expired; log in again") from None
                raise
            g.session_token = session_token
            g.auth_kind = "session"
    g.principal = principal
    if principal is not None and g.session_token and check_csrf_token:
        check_csrf(g.session_token)
    return principal


def require_principal() -> dict:
    """The caller's principal dict; raises :class:`Unauthenticated` (401) if there is none."""
    principal = resolve_principal()
    if principal is None:
        raise Unauthenticated("authentication required: log in, or send 'Authorization: Bearer <API token>'")
    return principal


def optional_principal() -> dict | None:
    """The caller's principal, or ``None`` if not logged in or the session is invalid (pages use this)."""
    try:
        return resolve_principal(check_csrf_token=False)
    except Unauthenticated:
        return None


def client_ip() -> str:
    """The client's address (the gateway is the only HTTP entry; no proxy headers are trusted)."""
    return request.remote_addr or ""


def set_session_cookies(response, session_token: str) -> None:
    """Set the session cookie (HttpOnly) and the readable CSRF cookie on ``response``."""
    secure = request.is_secure
    response.set_cookie(SESSION_COOKIE, session_token, httponly=True, samesite="Lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf_token_for(session_token), httponly=False, samesite="Lax", secure=secure,
                        path="/")


def clear_session_cookies(response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def current_csrf_token() -> str:
    """CSRF token for the current cookie session ('' without one), for templates."""
    token = g.get("session_token")
    return csrf_token_for(token) if token else ""


def is_admin(principal: dict | None) -> bool:
    return bool(principal and principal.get("is_admin"))
