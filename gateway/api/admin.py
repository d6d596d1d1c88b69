"""``/api/v1`` administration: users, groups and rights, workers and queue, audit log, news, site settings.

Every call is checked by the service that owns the data (administrators only, unless a service says otherwise).
"""

from __future__ import annotations

from gateway.api import bp
from gateway.api.schemas import AuditQuery, CapabilitiesBody, CreateUserBody, GroupBody, MembershipBody, NewsBody, \
    SettingBody, UserAnswer
from gateway.auth import call, call_as_user
from gateway.openapi import operation

TAG = "administration"

#: Site settings the gateway shows to everyone (the banner of healthcare compliance, the news banner).
PUBLIC_SETTINGS = ("healthcare_compliance",)


@operation(bp, "/users", "GET", summary="Users (administrators)", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_users():
    return call_as_user("auth", "list_users")


@operation(bp, "/users", "POST", summary="Create a user (administrators)", tag=TAG, body=CreateUserBody,
           response=UserAnswer, status=201, errors=(409,))
def create_user(body: CreateUserBody):
    """The user gets a personal group and membership of the public group."""
    return call_as_user("auth", "create_user", body.model_dump(mode="json"))


@operation(bp, "/groups", "GET", summary="Groups with their capabilities and parents", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_groups():
    return call_as_user("auth", "list_groups")


@operation(bp, "/groups", "POST", summary="Create a group (optionally under a parent)", tag=TAG, body=GroupBody,
           response={"type": "object"}, status=201, errors=(409,))
def create_group(body: GroupBody):
    return call_as_user("auth", "create_group", body.name, body.info, body.parent_id)


@operation(bp, "/groups/<int:group_id>/members", "POST", summary="Add a user to a group", tag=TAG,
           body=MembershipBody, response={"type": "object"}, status=201)
def add_member(group_id: int, body: MembershipBody):
    return call_as_user("auth", "add_member", group_id, body.user_id) or {"added": True}


@operation(bp, "/groups/<int:group_id>/members/<int:user_id>", "DELETE", summary="Remove a user from a group",
           tag=TAG, response={"type": "object"})
def remove_member(group_id: int, user_id: int):
    return call_as_user("auth", "remove_member", group_id, user_id) or {"removed": True}


@operation(bp, "/groups/<int:group_id>/capabilities", "PUT", summary="Set the capabilities of a group", tag=TAG,
           body=CapabilitiesBody, response={"type": "object"})
def set_capabilities(group_id: int, body: CapabilitiesBody):
    return call_as_user("auth", "set_capabilities", group_id, body.capabilities)


@operation(bp, "/admin/queue", "GET", summary="Workers and job queue: counts by state, recent jobs", tag=TAG,
           response={"type": "object"})
def queue_status():
    return call_as_user("jobs", "queue_status")


@operation(bp, "/audit", "GET", summary="Audit log (administrators see all; others their sets' entries)",
           tag=TAG, query=AuditQuery, response={"type": "object"})
def audit_log(query: AuditQuery):
    return call_as_user("reporter", "audit_log", query.model_dump(mode="json", exclude_none=True))


@operation(bp, "/news", "GET", summary="Current news items (banner)", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_news():
    return call_as_user("reporter", "list_news")


@operation(bp, "/news", "POST", summary="Publish a news item (administrators)", tag=TAG, body=NewsBody,
           response={"type": "object"}, status=201)
def create_news(body: NewsBody):
    return call_as_user("reporter", "create_news", body.model_dump(mode="json"))


@operation(bp, "/news/<int:news_id>", "DELETE", summary="Withdraw a news item (administrators)", tag=TAG,
           response={"type": "object"})
def delete_news(news_id: int):
    return call_as_user("reporter", "delete_news", news_id) or {"deleted": news_id}


@operation(bp, "/settings/<string:name>", "GET", summary="A site setting (e.g. healthcare_compliance)", tag=TAG,
           response={"type": "object"}, auth=False)
def get_setting(name: str):
    """Public settings need no login (the login page shows the compliance banner)."""
    if name in PUBLIC_SETTINGS:
        return {"name": name, "value": call("auth", "get_setting", name)}
    return {"name": name, "value": call_as_user("auth", "get_setting", name)}


@operation(bp, "/settings/<string:name>", "PUT", summary="Change a site setting (administrators)", tag=TAG,
           body=SettingBody, response={"type": "object"})
def put_setting(name: str, body: SettingBody):
    return {"name": name, "value": call_as_user("auth", "set_setting", name, body.value)}
