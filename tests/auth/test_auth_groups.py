"""Groups, parents, memberships and capabilities through the real auth service, checked with the decision
function on the principals the service resolves (organisation with role groups, public access, admin)."""

from __future__ import annotations

import secrets

import pytest

from services.common.exceptions import BadRequest, Conflict, NotFound, PermissionDenied
from services.common.permissions import Resource, can
from services.common.principal import Principal


def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


@pytest.fixture
def organisation(rpc, admin_session, make_user):
    """An organisation group with a doctor role (read, run, anon) and a technician role (read, upload)."""
    admin = admin_session["principal"]
    org = rpc.auth.create_group(admin, name("lab"), description="a haematology lab")
    doctor = rpc.auth.create_group(admin, f"{org['name']}/doctor", org["id"], ["read", "run", "anon"])
    tech = rpc.auth.create_group(admin, f"{org['name']}/technician", org["id"], ["read", "upload"])
    return {"org": org, "doctor": doctor, "tech": tech}


def test_group_defaults_and_one_level_hierarchy(rpc, admin_session, organisation):
    org, doctor = organisation["org"], organisation["doctor"]
    assert org["capabilities"] == ["admin", "create", "read", "save", "upload"]  # no run, no anon
    assert org["kind"] == "group" and org["parent_id"] is None
    assert doctor["parent_id"] == org["id"] and doctor["capabilities"] == ["anon", "read", "run"]
    # choosing a child as parent attaches to that child's parent (one level only)
    nurse = rpc.auth.create_group(admin_session["principal"], name("nurse"), doctor["id"], ["read"])
    assert nurse["parent_id"] == org["id"]
    detail = rpc.auth.get_group(admin_session["principal"], org["id"])
    assert {c["id"] for c in detail["children"]} == {doctor["id"], organisation["tech"]["id"], nurse["id"]}
    with pytest.raises(Conflict):
        rpc.auth.create_group(admin_session["principal"], org["name"])
    with pytest.raises(NotFound):
        rpc.auth.create_group(admin_session["principal"], name("orphan"), 10 ** 8)
    with pytest.raises(BadRequest):
        rpc.auth.create_group(admin_session["principal"], "bad;name")
    with pytest.raises(BadRequest, match="unknown capabilities"):
        rpc.auth.create_group(admin_session["principal"], name("x"), None, ["read", "delete"])


def test_child_members_use_the_parents_access_with_their_own_capabilities(rpc, admin_session, organisation,
                                                                          make_user, auth_events):
    listener = auth_events(["group.membership_changed"])
    admin = admin_session["principal"]
    doctor_user, tech_user, outsider = make_user(), make_user(), make_user()
    assert rpc.auth.add_member(admin, organisation["doctor"]["id"], doctor_user["id"]) == {"changed": True}
    assert rpc.auth.add_member(admin, organisation["doctor"]["id"], doctor_user["id"]) == {"changed": False}
    rpc.auth.add_member(admin, organisation["tech"]["id"], tech_user["id"])
    event = listener.collect(lambda body: body["data"]["user_id"] == doctor_user["id"])
    assert event["data"] == {"group_id": organisation["doctor"]["id"], "user_id": doctor_user["id"],
                             "change": "added", "changed_by": admin["user_id"], "impersonator": None}

    doctor = rpc.auth.resolve_session(doctor_user["token"])  # the principal the gateway passes on
    tech = rpc.auth.resolve_session(tech_user["token"])
    other = rpc.auth.resolve_session(outsider["token"])
    membership = Principal.from_dict(doctor).membership(organisation["doctor"]["id"])
    assert membership.parent_id == organisation["org"]["id"] and membership.capabilities == {"read", "run", "anon"}

    org_set = Resource("sample_set", 1, [organisation["org"]["id"]])
    assert {a for a in ("read", "create", "upload", "run", "save", "admin", "anon") if can(doctor, a, org_set)} \
        == {"read", "run", "anon"}
    assert {a for a in ("read", "create", "upload", "run", "save", "admin", "anon") if can(tech, a, org_set)} \
        == {"read", "upload"}
    assert not can(other, "read", org_set)
    # access never flows from a child to its parent or to a sibling
    doctor_set = Resource("sample_set", 2, [organisation["doctor"]["id"]])
    assert can(doctor, "read", doctor_set) and not can(tech, "read", doctor_set)

    # public access: every user reads what the public group sees, nothing more
    public_id = next(m["id"] for m in doctor["memberships"] if m["name"] == "public")
    public_set = Resource("sample_set", 3, [public_id])
    assert can(other, "read", public_set) and not can(other, "admin", public_set)

    rpc.auth.remove_member(admin, organisation["doctor"]["id"], doctor_user["id"])
    assert not can(rpc.auth.resolve_session(doctor_user["token"]), "run", org_set)
    assert listener.collect(lambda body: body["data"]["change"] == "removed")


def test_group_admins_manage_members_but_not_capabilities(rpc, admin_session, organisation, make_user):
    admin = admin_session["principal"]
    manager, newcomer, stranger = make_user(), make_user(login=False), make_user()
    rpc.auth.add_member(admin, organisation["org"]["id"], manager["id"])  # org holds `admin`
    manager_principal = rpc.auth.resolve_session(manager["token"])
    # the organisation has access to its role groups (as records), with its own capabilities
    doctor_record = Resource("group", organisation["doctor"]["id"],
                             [organisation["doctor"]["id"], organisation["org"]["id"]])
    assert can(manager_principal, "admin", doctor_record)
    # members of a group holding admin manage its members and its children's members
    assert rpc.auth.add_member(manager_principal, organisation["doctor"]["id"], newcomer["id"])["changed"]
    detail = rpc.auth.get_group(manager_principal, organisation["doctor"]["id"])
    assert newcomer["email"] in {m["email"] for m in detail["members"]}
    with pytest.raises(PermissionDenied):
        rpc.auth.set_capabilities(manager_principal, organisation["doctor"]["id"], ["read", "run"])
    # a stranger does not even learn that the group exists
    with pytest.raises(NotFound):
        rpc.auth.add_member(stranger["principal"], organisation["doctor"]["id"], stranger["id"])
    with pytest.raises(NotFound):
        rpc.auth.get_group(stranger["principal"], organisation["org"]["id"])
    groups = {g["id"] for g in rpc.auth.list_groups(stranger["principal"])}
    assert organisation["org"]["id"] not in groups and stranger["personal_group_id"] in groups


def test_builtin_groups_are_protected(rpc, admin_session, make_user):
    admin = admin_session["principal"]
    user = make_user()
    groups = {g["kind"]: g for g in rpc.auth.list_groups(admin) if g["kind"] in ("admin", "public")}
    with pytest.raises(Conflict):
        rpc.auth.add_member(admin, groups["public"]["id"], user["id"])
    with pytest.raises(Conflict):
        rpc.auth.remove_member(admin, user["personal_group_id"], user["id"])
    with pytest.raises(NotFound):  # members of ordinary groups cannot touch the admin group
        rpc.auth.add_member(user["principal"], groups["admin"]["id"], user["id"])
    with pytest.raises(BadRequest):
        rpc.auth.update_group(admin, groups["public"]["id"], {"name": "everyone"})
    # an administrator made by membership of the admin group
    rpc.auth.add_member(admin, groups["admin"]["id"], user["id"])
    assert rpc.auth.resolve_session(user["token"])["is_admin"] is True
    rpc.auth.remove_member(admin, groups["admin"]["id"], user["id"])
    assert rpc.auth.resolve_session(user["token"])["is_admin"] is False


def test_whoami_and_describe_groups(rpc, make_user, organisation):
    user = make_user()
    me = rpc.auth.whoami(user["principal"])
    assert me["id"] == user["id"] and me["impersonator"] is None
    assert {g["kind"] for g in me["groups"]} == {"personal", "public"}
    described = rpc.auth.describe_groups(user["principal"], [organisation["org"]["id"], 10 ** 8])
    assert described == [{"id": organisation["org"]["id"], "name": organisation["org"]["name"], "kind": "group",
                          "parent_id": None}]
    with pytest.raises(BadRequest):
        rpc.auth.describe_groups(user["principal"], "1,2")
