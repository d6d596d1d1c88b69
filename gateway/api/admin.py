"""``/api/v1`` administration: users, groups and rights, audit log, site information (workers and queue are
in :mod:`gateway.api.jobs`).

Every call is checked by the service that owns the data (administrators only, unless a service says otherwise).
"""

from __future__ import annotations

from nameko.exceptions import MethodNotFound

from gateway.api import bp
from gateway.api.schemas import AuditQuery, CapabilitiesBody, CreateUserBody, GroupBody, GroupChangesBody, \
    MembershipBody, PasswordBody, PostScriptBody, UpdateUserBody, UserAnswer, UsersQuery
from gateway.auth import call, call_as_user, context
from gateway.openapi import operation
from services.common.exceptions import RepseqError

TAG = "administration"

@operation(bp, "/users", "GET", summary="Users (administrators)", tag=TAG, query=UsersQuery,
           response={"type": "array", "items": {"type": "object"}})
def list_users(query: UsersQuery):
    """Users whose e-mail or names contain ``search``, ordered by e-mail."""
    return call_as_user("auth", "list_users", query.search, query.limit, query.offset)


@operation(bp, "/users", "POST", summary="Create a user (administrators)", tag=TAG, body=CreateUserBody,
           response=UserAnswer, status=201, errors=(409,))
def create_user(body: CreateUserBody):
    """The user gets a personal group and membership of the public group. Without ``password`` the answer carries
    a ``reset_token`` with which the user chooses one."""
    return call_as_user("auth", "create_user", body.email, body.password, body.first_name, body.last_name,
                        body.is_admin)


@operation(bp, "/users/<int:user_id>", "GET", summary="One user with their groups (self or administrators)",
           tag=TAG, response=UserAnswer)
def get_user(user_id: int):
    return call_as_user("auth", "get_user", user_id)


@operation(bp, "/users/<int:user_id>", "PATCH", summary="Edit a user (names, e-mail; is_active: administrators)",
           tag=TAG, body=UpdateUserBody, response=UserAnswer, errors=(409,))
def update_user(user_id: int, body: UpdateUserBody):
    return call_as_user("auth", "update_user", user_id, body.model_dump(mode="json", exclude_none=True))


@operation(bp, "/users/<int:user_id>/password", "PUT", summary="Set a user's password (administrators)",
           tag=TAG, body=PasswordBody, response=UserAnswer)
def set_password(user_id: int, body: PasswordBody):
    return call_as_user("auth", "set_password", user_id, body.password)


@operation(bp, "/groups", "GET", summary="Groups with their capabilities and parents", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_groups():
    """Every group for administrators; otherwise the caller's groups, their parents and the public group."""
    return call_as_user("auth", "list_groups")


@operation(bp, "/groups", "POST", summary="Create a group (administrators; optionally under a parent)", tag=TAG,
           body=GroupBody, response={"type": "object"}, status=201, errors=(409,))
def create_group(body: GroupBody):
    return call_as_user("auth", "create_group", body.name, body.parent_id, body.capabilities, body.description)


@operation(bp, "/groups/<int:group_id>", "GET", summary="A group with its members and child groups", tag=TAG,
           response={"type": "object"})
def get_group(group_id: int):
    return call_as_user("auth", "get_group", group_id)


@operation(bp, "/groups/<int:group_id>/members", "POST", summary="Add a user to a group", tag=TAG,
           body=MembershipBody, response={"type": "object"}, status=201)
def add_member(group_id: int, body: MembershipBody):
    return call_as_user("auth", "add_member", group_id, body.user_id)


@operation(bp, "/groups/<int:group_id>/members/<int:user_id>", "DELETE", summary="Remove a user from a group",
           tag=TAG, response={"type": "object"})
def remove_member(group_id: int, user_id: int):
    return call_as_user("auth", "remove_member", group_id, user_id)


@operation(bp, "/groups/<int:group_id>/capabilities", "PUT", summary="Set the capabilities of a group", tag=TAG,
           body=CapabilitiesBody, response={"type": "object"})
def set_capabilities(group_id: int, body: CapabilitiesBody):
    """Administrators; e.g. grant ``run`` to a personal group."""
    return call_as_user("auth", "set_capabilities", group_id, body.capabilities)


@operation(bp, "/audit", "GET", summary="Audit log of accounts and rights (administrators)", tag=TAG,
           query=AuditQuery, response={"type": "array", "items": {"type": "object"}})
def audit_log(query: AuditQuery):
    """Logins, logouts, account and group changes, newest first; page with ``before_id``. The audit trail of a
    sample set is at ``/sample_sets/{id}/audit``."""
    return call_as_user("auth", "list_audit", query.model_dump(mode="json", exclude_none=True))


@operation(bp, "/users/<int:user_id>/reset_token", "POST", summary="A single-use password-reset token for a user",
           tag=TAG, response={"type": "object"}, status=201)
def create_reset_token(user_id: int):
    """Administrators; the user chooses a password with ``POST /api/v1/auth/reset``."""
    return call_as_user("auth", "create_reset_token", user_id)


@operation(bp, "/groups/<int:group_id>", "PATCH", summary="Rename or describe a group (administrators)", tag=TAG,
           body=GroupChangesBody, response={"type": "object"}, errors=(409,))
def update_group(group_id: int, body: GroupChangesBody):
    return call_as_user("auth", "update_group", group_id, body.model_dump(mode="json", exclude_none=True))


@operation(bp, "/admin/post_scripts", "GET", summary="Post-processing scripts of fused results (administrators)",
           tag=TAG, response={"type": "object"})
def list_post_scripts():
    return call_as_user("fuse", "list_post_scripts")


@operation(bp, "/admin/post_scripts", "POST", summary="Run a script of the scripts folder on fused results",
           tag=TAG, body=PostScriptBody, response={"type": "object"}, status=201)
def register_post_script(body: PostScriptBody):
    return call_as_user("fuse", "register_post_script", body.name, body.config_id, body.position, body.description)


@operation(bp, "/admin/post_scripts/<int:script_id>", "DELETE", summary="Stop running a post-processing script",
           tag=TAG, response={"type": "object"})
def remove_post_script(script_id: int):
    return {"removed": call_as_user("fuse", "remove_post_script", script_id)}


@operation(bp, "/admin/watchdog", "POST", summary="Run the job watchdog now (stuck jobs re-queued)", tag=TAG,
           response={"type": "object"})
def run_watchdog():
    return {"report": call_as_user("jobs", "run_watchdog")}


@operation(bp, "/site", "GET", summary="Site information for every page: compliance banner, setup state",
           tag=TAG, response={"type": "object"}, auth=False)
def site():
    """``{"healthcare_compliance": bool, "initialized": bool, "self_registration": bool, "ldap": bool}``. The
    compliance flag is the hosting institution's declaration: set by an administrator (``PUT
    /api/v1/site_settings``), by default REPSEQ_HEALTHCARE_COMPLIANCE."""
    return site_info()


def site_info() -> dict:
    settings = context().settings
    info = {"healthcare_compliance": bool(getattr(settings, "healthcare_compliance", False))}
    try:
        info["healthcare_compliance"] = call("reporter", "get_site_settings")["healthcare_compliance"]
    except (RepseqError, MethodNotFound):  # reporter unavailable: the configured default
        pass
    try:
        info.update(call("auth", "setup_status"))
    except RepseqError:
        info["initialized"] = None
    return info
