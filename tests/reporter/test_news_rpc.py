"""News items and site settings of the reporter service, through the real stack (RabbitMQ, MariaDB, the
services and the gateway as subprocesses): administrators write, users read and dismiss, expired items are
hidden, edits show an item again, text is kept as plain text, every admin change is audited."""

from __future__ import annotations

import secrets
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.common.exceptions import BadRequest, NotFound, PermissionDenied, Unauthenticated

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from gateway_helpers import Api, make_admin, make_lab_user  # noqa: E402


def day(offset: int) -> str:
    return (datetime.now(timezone.utc).date() + timedelta(days=offset)).isoformat()


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def users(make_principal):
    """Two users who never logged in: the reporter keeps read markers by user id, whoever the user is."""
    base = 700_000 + secrets.randbelow(100_000)
    return make_principal(user_id=base), make_principal(user_id=base + 1)


def ids(items) -> list[int]:
    return [item["id"] for item in items]


def events_about(rpc, admin_principal, event: str, key: str, value) -> list[dict]:
    return [e for e in rpc.reporter.recent_events(admin_principal, event, 500) if e["data"].get(key) == value]


def test_users_see_active_news_until_they_dismiss_it_and_see_it_again_after_an_edit(rpc, admin_principal, users):
    alice, bob = users
    title = unique("Maintenance")
    item = rpc.reporter.create_news(admin_principal, {"title": title, "content": "Saturday 8-12 h.\nSave your work.",
                                                      "priority": "warning", "expires_on": day(3)})
    assert item["title"] == title and item["priority"] == "warning" and item["active"] is True
    assert item["content"] == "Saturday 8-12 h.\nSave your work." and item["expires_on"] == day(3)
    assert item["id"] in ids(rpc.reporter.list_active_news(alice))

    assert rpc.reporter.mark_news_read(alice, item["id"]) == {"news_id": item["id"], "read": True}
    assert rpc.reporter.mark_news_read(alice, item["id"])["read"] is True  # again: no error
    assert item["id"] not in ids(rpc.reporter.list_active_news(alice))
    assert item["id"] in ids(rpc.reporter.list_active_news(bob))
    listed = {n["id"]: n for n in rpc.reporter.list_news(admin_principal)}
    assert listed[item["id"]]["read_count"] == 1

    edited = rpc.reporter.update_news(admin_principal, item["id"], {"content": "Moved to Sunday."})
    assert edited["content"] == "Moved to Sunday." and edited["title"] == title
    assert item["id"] in ids(rpc.reporter.list_active_news(alice)), "an edited item is shown again"
    assert {n["id"]: n for n in rpc.reporter.list_news(admin_principal)}[item["id"]]["read_count"] == 0

    rpc.reporter.mark_news_read(bob, item["id"])
    assert rpc.reporter.delete_news(admin_principal, item["id"]) == {"news_id": item["id"], "deleted": True}
    assert item["id"] not in ids(rpc.reporter.list_active_news(alice))
    assert item["id"] not in ids(rpc.reporter.list_news(admin_principal))
    with pytest.raises(NotFound):
        rpc.reporter.mark_news_read(alice, item["id"])
    with pytest.raises(NotFound):
        rpc.reporter.delete_news(admin_principal, item["id"])

    changes = [(e["data"]["change"], e["data"]["fields"], e["data"]["read_markers_cleared"], e["data"]["changed_by"])
               for e in reversed(events_about(rpc, admin_principal, "news.changed", "news_id", item["id"]))]
    assert changes == [("created", ["title", "content", "priority", "expires_on"], 0, 1),
                       ("updated", ["content"], 1, 1), ("deleted", [], 1, 1)]


def test_most_urgent_first_then_newest(rpc, admin_principal, users):
    reader = users[1]
    info = rpc.reporter.create_news(admin_principal, {"title": unique("info"), "expires_on": day(1)})
    urgent = rpc.reporter.create_news(admin_principal, {"title": unique("urgent"), "priority": "urgent",
                                                        "expires_on": day(1)})
    newer_info = rpc.reporter.create_news(admin_principal, {"title": unique("info"), "expires_on": day(1)})
    try:
        order = [i for i in ids(rpc.reporter.list_active_news(reader)) if i in (info["id"], urgent["id"],
                                                                                 newer_info["id"])]
        assert order == [urgent["id"], newer_info["id"], info["id"]]
    finally:
        for item in (info, urgent, newer_info):
            rpc.reporter.delete_news(admin_principal, item["id"])


def test_expired_news_is_hidden_and_the_last_day_is_shown(rpc, admin_principal, users):
    expired = rpc.reporter.create_news(admin_principal, {"title": unique("old"), "expires_on": day(-1)})
    last_day = rpc.reporter.create_news(admin_principal, {"title": unique("today"), "expires_on": day(0)})
    try:
        active = ids(rpc.reporter.list_active_news(users[0]))
        assert expired["id"] not in active and last_day["id"] in active
        assert expired["active"] is False and last_day["active"] is True
        assert expired["id"] in ids(rpc.reporter.list_news(admin_principal))
        assert expired["id"] not in ids(rpc.reporter.list_news(admin_principal, False))
        revived = rpc.reporter.update_news(admin_principal, expired["id"], {"expires_on": day(10)})
        assert revived["active"] is True and expired["id"] in ids(rpc.reporter.list_active_news(users[0]))
    finally:
        for item in (expired, last_day):
            rpc.reporter.delete_news(admin_principal, item["id"])


def test_only_administrators_write_news_and_settings(rpc, admin_principal, users, make_principal):
    user = users[0]
    item = rpc.reporter.create_news(admin_principal, {"title": unique("admins only"), "expires_on": day(1)})
    try:
        attempts = [lambda: rpc.reporter.create_news(user, {"title": "x", "expires_on": day(1)}),
                    lambda: rpc.reporter.update_news(user, item["id"], {"title": "taken over"}),
                    lambda: rpc.reporter.delete_news(user, item["id"]),
                    lambda: rpc.reporter.list_news(user),
                    lambda: rpc.reporter.set_site_settings(user, True)]
        for attempt in attempts:
            with pytest.raises(PermissionDenied) as refused:
                attempt()
            assert refused.value.http_status == 403
        # a user holding every capability of their groups is still no administrator
        strong = make_principal(user_id=user["user_id"], groups=[5], capabilities=["admin", "read", "create"])
        with pytest.raises(PermissionDenied):
            rpc.reporter.create_news(strong, {"title": "x", "expires_on": day(1)})
        with pytest.raises(Unauthenticated):
            rpc.reporter.list_active_news({"user_id": "1", "is_admin": True})
        assert next(n for n in rpc.reporter.list_news(admin_principal) if n["id"] == item["id"])["title"] == \
            item["title"]
    finally:
        rpc.reporter.delete_news(admin_principal, item["id"])


def test_text_is_stored_as_plain_text_and_never_as_markup(rpc, admin_principal, users):
    title = "<script>alert(1)</script> Upgrade\u202e\x07 tonight"
    content = "Line 1 <b>bold?</b>\r\nLine 2 & more\x00\r\n\r\n\r\n\r\nLast \ud800line"
    item = rpc.reporter.create_news(admin_principal, {"title": title, "content": content, "expires_on": day(1)})
    try:
        assert item["title"] == "<script>alert(1)</script> Upgrade tonight"  # markup kept as typed, controls gone
        assert item["content"] == "Line 1 <b>bold?</b>\nLine 2 & more\n\nLast line"
        shown = next(n for n in rpc.reporter.list_active_news(users[0]) if n["id"] == item["id"])
        assert shown["title"] == item["title"] and shown["content"] == item["content"]
    finally:
        rpc.reporter.delete_news(admin_principal, item["id"])


@pytest.mark.parametrize("fields, field", [
    ({"title": "no expiry"}, "expires_on"),
    ({"title": "", "expires_on": "2030-01-01"}, "title"),
    ({"title": "\x00\x01 \u202e", "expires_on": "2030-01-01"}, "title"),
    ({"title": "x" * 201, "expires_on": "2030-01-01"}, "title"),
    ({"title": "x", "content": "y" * 4001, "expires_on": "2030-01-01"}, "content"),
    ({"title": "x", "priority": "high", "expires_on": "2030-01-01"}, "priority"),
    ({"title": "x", "expires_on": "2030-02-30"}, "expires_on"),
    ({"title": "x", "expires_on": "2030-01-01T10:00:00"}, "expires_on"),
    ({"title": "x", "expires_on": "0001-01-01"}, "expires_on"),
    ({"title": "x", "expires_on": "2030-01-01", "html": True}, "html"),
])
def test_bad_news_fields_are_refused_naming_the_field(rpc, admin_principal, fields, field):
    with pytest.raises(BadRequest) as refused:
        rpc.reporter.create_news(admin_principal, fields)
    assert field in refused.value.details["fields"], refused.value.details


def test_bad_edits_and_ids_are_refused(rpc, admin_principal):
    item = rpc.reporter.create_news(admin_principal, {"title": unique("edit me"), "expires_on": day(1)})
    try:
        for changes in ({}, {"title": None}, {"priority": "loud"}, "title"):
            with pytest.raises(BadRequest):
                rpc.reporter.update_news(admin_principal, item["id"], changes)
        for news_id in ("1", 0, -3, 2**31, True, None):
            with pytest.raises(BadRequest):
                rpc.reporter.mark_news_read(admin_principal, news_id)
        with pytest.raises(NotFound):
            rpc.reporter.update_news(admin_principal, 2**31 - 1, {"title": "x"})
        with pytest.raises(BadRequest):
            rpc.reporter.list_news(admin_principal, "yes")
    finally:
        rpc.reporter.delete_news(admin_principal, item["id"])


def test_compliance_flag_defaults_to_the_configuration_until_an_administrator_sets_it(rpc, admin_principal, stack):
    default = bool(stack.settings.healthcare_compliance)
    start = rpc.reporter.get_site_settings()
    assert start == {"healthcare_compliance": default, "healthcare_compliance_source": "configuration",
                     "healthcare_compliance_default": default}
    try:
        chosen = rpc.reporter.set_site_settings(admin_principal, not default)
        assert chosen["healthcare_compliance"] is (not default)
        assert chosen["healthcare_compliance_source"] == "administrator"
        assert rpc.reporter.get_site_settings() == chosen
        # the same value again changes nothing and is not audited twice
        count = len(rpc.reporter.recent_events(admin_principal, "site_settings.changed", 500))
        rpc.reporter.set_site_settings(admin_principal, not default)
        assert len(rpc.reporter.recent_events(admin_principal, "site_settings.changed", 500)) == count
        # the value equal to the default still counts as the administrator's choice
        assert rpc.reporter.set_site_settings(admin_principal, default)["healthcare_compliance_source"] == \
            "administrator"
        for bad in ("true", 1, 0, [], {"compliance": True}):
            with pytest.raises(BadRequest):
                rpc.reporter.set_site_settings(admin_principal, bad)
    finally:
        back = rpc.reporter.set_site_settings(admin_principal, None)
    assert back == start
    audit = rpc.reporter.recent_events(admin_principal, "site_settings.changed", 3)
    assert [(e["data"]["value"], e["data"]["effective"], e["data"]["source"]) for e in reversed(audit)] == [
        (not default, not default, "administrator"), (default, default, "administrator"),
        (None, default, "configuration")]
    assert all(e["data"]["changed_by"] == admin_principal["user_id"] and e["data"]["key"] == "healthcare_compliance"
               for e in audit)


# -- through the gateway -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def web(stack):
    admin = make_admin(stack)
    lab = make_lab_user(stack, admin)
    admin_api, lab_api = Api(stack.url), Api(stack.url)
    admin_api.login(admin["email"], admin["password"])
    lab_api.login(lab["email"], lab["password"])
    return admin_api, lab_api


def test_rest_api_news_and_settings(stack, web):
    admin_api, lab_api = web
    anonymous = Api(stack.url)
    assert anonymous.get("/news").status_code == 401
    assert anonymous.get("/site_settings").status_code == 200
    assert lab_api.post("/news", json={"title": "x", "expires_on": day(1)}).status_code == 403
    assert lab_api.put("/site_settings", json={"healthcare_compliance": True}).status_code == 403
    assert lab_api.get("/news/all").status_code == 403
    assert admin_api.put("/site_settings", json={"healthcare_compliance": "yes"}).status_code == 422
    assert admin_api.post("/news", json={"title": "x"}).status_code == 422

    item = admin_api.ok("POST", "/news", 201, json={"title": "<i>Tonight</i>", "content": "a & b",
                                                    "priority": "urgent", "expires_on": day(2)})
    try:
        assert item["title"] == "<i>Tonight</i>"
        assert item["id"] in ids(lab_api.ok("GET", "/news", 200))
        page = lab_api.get(f"{stack.url}/sets?kind=patient")
        assert page.status_code == 200
        assert "&lt;i&gt;Tonight&lt;/i&gt;" in page.text and "<i>Tonight</i>" not in page.text
        assert f'id="news-{item["id"]}"' in page.text
        assert lab_api.ok("POST", f"/news/{item['id']}/read", 200) == {"news_id": item["id"], "read": True}
        assert item["id"] not in ids(lab_api.ok("GET", "/news", 200))
        assert f'id="news-{item["id"]}"' not in lab_api.get(f"{stack.url}/sets?kind=patient").text
        edited = admin_api.ok("PATCH", f"/news/{item['id']}", 200, json={"priority": "info"})
        assert edited["priority"] == "info" and edited["content"] == "a & b"
        assert item["id"] in ids(lab_api.ok("GET", "/news", 200))
        assert lab_api.call("PATCH", f"/news/{item['id']}", json={"title": "mine"}).status_code == 403
        assert lab_api.call("DELETE", f"/news/{item['id']}").status_code == 403
    finally:
        admin_api.ok("DELETE", f"/news/{item['id']}", 200)
    assert lab_api.post(f"/news/{item['id']}/read").status_code == 404

    try:
        settings = admin_api.ok("PUT", "/site_settings", 200, json={"healthcare_compliance": True})
        assert settings["healthcare_compliance"] is True
        assert anonymous.ok("GET", "/site", 200)["healthcare_compliance"] is True
        assert "compliant for clinical use" in anonymous.get(f"{stack.url}/login").text
    finally:
        admin_api.ok("PUT", "/site_settings", 200, json={"healthcare_compliance": None})
    assert "Research Use Only" in anonymous.get(f"{stack.url}/login").text or stack.settings.healthcare_compliance
