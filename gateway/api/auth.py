"""``/api/v1/auth``: first administrator, login/logout (cookie session + CSRF token), who am I, API tokens."""

from __future__ import annotations

from flask import g, jsonify, request

from gateway.api import bp
from gateway.api.schemas import ChangePasswordBody, ImpersonateBody, InitAdminBody, LoginAnswer, LoginBody, \
    MeAnswer, PrincipalAnswer, RegisterBody, ResetPasswordBody, SessionsQuery, TokenAnswer, TokenBody, UserAnswer
from gateway.auth import SESSION_COOKIE, call, call_as_user, clear_session_cookies, client_ip, csrf_token_for, \
    require_principal, set_session_cookies
from gateway.openapi import operation
from services.common.exceptions import BadRequest
from services.common.permissions import creatable_group_ids

TAG = "auth"


@operation(bp, "/auth/init", "POST", summary="Create the first administrator (only while no user exists)",
           tag=TAG, body=InitAdminBody, response=UserAnswer, status=201, auth=False, errors=(409,))
def init_admin(body: InitAdminBody):
    """Creates the first administrator account of a fresh installation; refused (409) once any user exists."""
    return call("auth", "init_admin", body.email, body.password)


@operation(bp, "/auth/login", "POST", summary="Log in: sets the session cookie, returns the CSRF token", tag=TAG,
           body=LoginBody, response=LoginAnswer, auth=False, errors=(401, 429))
def login(body: LoginBody):
    """Checks the password (auth service) and opens a session. The answer sets the HttpOnly cookie
    ``repseq_session`` and the cookie ``repseq_csrf``; send the CSRF token as ``X-CSRF-Token`` with every unsafe
    request made with the cookie."""
    result = call("auth", "login", body.email, body.password, client_ip(),
                  request.headers.get("User-Agent", "")[:255])
    token = result["session_token"]
    response = jsonify({"user": result["user"], "csrf_token": csrf_token_for(token)})
    set_session_cookies(response, token)
    return response


@operation(bp, "/auth/logout", "POST", summary="Log out: ends the session and clears the cookies", tag=TAG,
           response={"type": "object"})
def logout():
    """Ends the cookie session (a Bearer-token call only clears cookies; revoke tokens with DELETE)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and g.get("auth_kind") == "session":
        call("auth", "logout", token)
    response = jsonify({"logged_out": True})
    clear_session_cookies(response)
    return response


def creation_groups(principal: dict) -> dict:
    """``{"create_groups": [{"id", "name", "kind", "parent_id", "personal"}], "personal_group_id"}`` for a
    principal: the groups in which it may create sample sets, as decided by the shared rule
    :func:`services.common.permissions.creatable_group_ids` (a group holding ``create``, or the organisation of a
    role group holding it; the samples service checks the same rule when the set is created), named by the auth
    service (``auth.describe_groups``). Organisation groups first, then the personal group; ``public`` last."""
    memberships = [m for m in principal.get("memberships") or principal.get("groups") or [] if isinstance(m, dict)]
    member_ids = {m["id"] for m in memberships if isinstance(m.get("id"), int)}
    creatable = creatable_group_ids(principal)
    wanted = sorted(member_ids | set(creatable))
    described = {g["id"]: g for g in call_as_user("auth", "describe_groups", wanted)} if wanted else {}
    personal_id = next((i for i in sorted(member_ids) if described.get(i, {}).get("kind") == "personal"), None)
    groups = []
    for group_id in creatable:
        group = described.get(group_id) or {"id": group_id, "name": f"group {group_id}", "kind": None,
                                            "parent_id": None}
        groups.append({"id": group_id, "name": group.get("name") or f"group {group_id}", "kind": group.get("kind"),
                       "parent_id": group.get("parent_id"), "personal": group_id == personal_id})
    groups.sort(key=lambda g: (g["kind"] == "public", g["personal"], g["name"]))
    return {"create_groups": groups, "personal_group_id": personal_id}


@operation(bp, "/auth/me", "GET", summary="The calling user: principal (groups, capabilities, admin flag) and the "
           "groups in which it may create sets", tag=TAG, response=MeAnswer)
def me():
    """The principal the services receive for this caller, plus ``create_groups`` (the ``group_id`` values
    ``POST /sample_sets`` accepts from this caller, best first) and ``personal_group_id``."""
    principal = require_principal()
    return {**principal, **creation_groups(principal)}


@operation(bp, "/auth/tokens", "POST", summary="Create an API token for scripts (the secret is shown once)",
           tag=TAG, body=TokenBody, response=TokenAnswer, status=201)
def create_token(body: TokenBody):
    """Use it as ``Authorization: Bearer <token>``."""
    return call_as_user("auth", "create_api_token", body.name, body.expires_in_days)


@operation(bp, "/auth/tokens", "GET", summary="The caller's API tokens (without secrets)", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_tokens():
    return call_as_user("auth", "list_api_tokens")


@operation(bp, "/auth/tokens/<int:token_id>", "DELETE", summary="Revoke an API token", tag=TAG,
           response={"type": "object"})
def revoke_token(token_id: int):
    call_as_user("auth", "revoke_api_token", token_id)
    return {"revoked": token_id}


@operation(bp, "/auth/whoami", "GET", summary="The calling user's account with groups and capabilities", tag=TAG,
           response=UserAnswer)
def whoami():
    return call_as_user("auth", "whoami")


@operation(bp, "/auth/password", "PUT", summary="Change one's own password (ends one's other sessions)", tag=TAG,
           body=ChangePasswordBody, response=UserAnswer, errors=(409,))
def change_password(body: ChangePasswordBody):
    return call_as_user("auth", "change_password", body.current_password, body.new_password,
                        g.get("session_token"))


@operation(bp, "/auth/reset", "POST", summary="Choose a new password with a reset token", tag=TAG, auth=False,
           body=ResetPasswordBody, response=UserAnswer, errors=(401,))
def reset_password(body: ResetPasswordBody):
    return call("auth", "reset_password", body.token, body.new_password)


@operation(bp, "/auth/impersonate", "POST", summary="Administrators: act as another user in this session",
           tag=TAG, body=ImpersonateBody, response=PrincipalAnswer)
def impersonate(body: ImpersonateBody):
    """Cookie sessions only (the auth service checks the session's own user is an administrator)."""
    return call("auth", "start_impersonation", _session_token(), body.user_id)


@operation(bp, "/auth/impersonate", "DELETE", summary="Stop acting as another user", tag=TAG,
           response=PrincipalAnswer)
def stop_impersonation():
    return call("auth", "stop_impersonation", _session_token())


def _session_token() -> str:
    token = g.get("session_token")
    if not token:
        raise BadRequest("impersonation needs a browser session (not an API token)")
    return token


@operation(bp, "/auth/sessions", "GET", summary="Open sessions of the caller (administrators: of any user)",
           tag=TAG, query=SessionsQuery, response={"type": "array", "items": {"type": "object"}})
def list_sessions(query: SessionsQuery):
    return call_as_user("auth", "list_sessions", query.user_id)


@operation(bp, "/auth/sessions/<int:session_id>", "DELETE", summary="End a session (e.g. a forgotten browser)",
           tag=TAG, response={"type": "object"})
def end_session(session_id: int):
    return call_as_user("auth", "end_session", session_id)


@operation(bp, "/auth/register", "POST", summary="Create one's own account (when self-registration is enabled)",
           tag=TAG, body=RegisterBody, response=UserAnswer, status=201, auth=False, errors=(403, 409))
def register(body: RegisterBody):
    """Refused (403) unless REPSEQ_AUTH_SELF_REGISTRATION is true."""
    return call("auth", "register", body.email, body.password, body.first_name, body.last_name)
