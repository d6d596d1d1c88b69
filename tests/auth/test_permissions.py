"""The decision function ``can``: one truth table over every capability, parent/child access, public access,
an administrator, a user with no group and a flat (legacy) principal. Pure unit tests: no service needed."""

import itertools

import pytest

from services.common.exceptions import NotFound, PermissionDenied, Unauthenticated
from services.common.permissions import (ACTIONS, Resource, can, creatable_group_ids, granting_group_ids,
                                         group_resource, require)
from services.common.principal import CAPABILITIES, Membership, Principal

ALL = set(CAPABILITIES)
PUBLIC, ORG, DOCTOR, TECH, PERSONAL = 3, 10, 11, 12, 20

public = Membership(PUBLIC, "public", None, frozenset({"read"}))
org = Membership(ORG, "lab-lyon", None, frozenset({"read", "create", "upload", "save", "admin"}))
doctor = Membership(DOCTOR, "lab-lyon/doctor", ORG, frozenset({"read", "run", "anon"}))
tech = Membership(TECH, "lab-lyon/technician", ORG, frozenset({"read", "upload"}))
personal = Membership(PERSONAL, "user_0007", None, frozenset(ALL - {"run"}))

PRINCIPALS = {
    # personal group (everything but run), public group, and the doctor role of an organisation
    "alice": Principal.build(7, "alice@lab.org", [personal, public, doctor]),
    # member of the organisation group itself
    "bob": Principal.build(8, "bob@lab.org", [org, public]),
    # technician role only
    "tina": Principal.build(9, "tina@lab.org", [tech, public]),
    "nobody": Principal.build(10, "nobody@lab.org", []),
    "admin": Principal.build(1, "admin@lab.org", [Membership(1, "admin")], is_admin=True),
    # the first, flat principal form: every listed group holds every listed capability
    "flat": Principal(user_id=11, groups=frozenset({ORG}), capabilities=frozenset({"upload"})),
}

RESOURCES = {
    "personal_set": Resource("sample_set", 1, [PERSONAL]),
    "org_set": Resource("sample_set", 2, [ORG]),
    "doctor_set": Resource("sample_set", 3, [DOCTOR]),
    "tech_set": Resource("sample_set", 4, [TECH]),
    "public_set": Resource("sample_set", 5, [PUBLIC]),
    "other_set": Resource("sample_set", 6, [99]),
    "unshared_set": Resource("sample_set", 7, []),
    "new": None,
}

#: principal -> resource -> the actions allowed; every other (principal, resource, action) must be refused.
EXPECTED = {
    "alice": {
        "personal_set": ALL - {"run"},        # own group: default capabilities, no run
        "org_set": {"read", "run", "anon"},   # parent's access with the doctor group's own capabilities
        "doctor_set": {"read", "run", "anon"},
        "tech_set": set(),                    # a sibling role's access does not flow to alice
        "public_set": {"read"},               # public access with the public group's capabilities
        "other_set": set(), "unshared_set": set(),
        "new": ALL,                           # run comes from the doctor group
    },
    "bob": {
        "personal_set": set(),
        "org_set": {"read", "create", "upload", "save", "admin"},
        "doctor_set": set(),                  # access never flows from child to parent
        "tech_set": set(),
        "public_set": {"read"},
        "other_set": set(), "unshared_set": set(),
        "new": {"read", "create", "upload", "save", "admin"},
    },
    "tina": {
        "personal_set": set(), "org_set": {"read", "upload"}, "doctor_set": set(),
        "tech_set": {"read", "upload"}, "public_set": {"read"}, "other_set": set(), "unshared_set": set(),
        "new": {"read", "upload"},
    },
    "nobody": {name: set() for name in RESOURCES},
    "admin": {name: ALL for name in RESOURCES},
    "flat": {
        "personal_set": set(), "org_set": {"upload"}, "doctor_set": set(), "tech_set": set(),
        "public_set": set(), "other_set": set(), "unshared_set": set(), "new": {"upload"},
    },
}

CASES = list(itertools.product(PRINCIPALS, RESOURCES, CAPABILITIES))


def test_table_is_complete():
    assert set(ACTIONS) == {"read", "create", "upload", "run", "save", "admin", "anon"}
    assert len(CASES) == len(PRINCIPALS) * len(RESOURCES) * 7
    for name in PRINCIPALS:
        assert set(EXPECTED[name]) == set(RESOURCES), name


@pytest.mark.parametrize("who,what,action", CASES)
def test_truth_table(who, what, action):
    principal, resource = PRINCIPALS[who], RESOURCES[what]
    expected = action in EXPECTED[who][what]
    assert can(principal, action, resource) is expected
    # the dict form that travels over RPC decides the same
    assert can(principal.to_dict(), action, resource) is expected


def test_no_principal_is_refused_everything():
    assert not any(can(None, action, resource) for action in ACTIONS for resource in RESOURCES.values())


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        can(PRINCIPALS["admin"], "delete", None)
    with pytest.raises(ValueError):
        granting_group_ids(PRINCIPALS["alice"], "write")


def test_any_access_row_suffices():
    shared = Resource("sample_set", 8, [99, ORG])
    assert can(PRINCIPALS["bob"], "admin", shared)
    assert not can(PRINCIPALS["bob"], "admin", Resource("sample_set", 8, [98, 99]))


def test_granting_groups_match_can_for_list_queries():
    assert granting_group_ids(PRINCIPALS["alice"], "read") == {PERSONAL, PUBLIC, DOCTOR, ORG}
    assert granting_group_ids(PRINCIPALS["alice"], "run") == {DOCTOR, ORG}
    assert granting_group_ids(PRINCIPALS["nobody"], "read") == frozenset()
    assert creatable_group_ids(PRINCIPALS["alice"]) == {PERSONAL}
    assert creatable_group_ids(PRINCIPALS["bob"]) == {ORG}


def test_create_in_a_group():
    # a role member creates in the organisation only with a role group holding `create`
    assert not can(PRINCIPALS["tina"], "create", group_resource(ORG))
    assert can(PRINCIPALS["bob"], "create", group_resource(ORG))
    assert can(PRINCIPALS["alice"], "create", group_resource(PERSONAL))
    assert not can(PRINCIPALS["alice"], "create", group_resource(ORG))
    role_creator = Principal.build(12, memberships=[Membership(13, "org/lead", ORG, frozenset({"create"}))])
    assert can(role_creator, "create", group_resource(ORG))


def test_require_hides_records_the_principal_may_not_read():
    alice = PRINCIPALS["alice"]
    require(alice, "run", RESOURCES["org_set"])
    with pytest.raises(NotFound) as hidden:
        require(alice, "read", RESOURCES["other_set"])
    assert hidden.value.details == {"kind": "sample_set", "id": 6}
    with pytest.raises(PermissionDenied, match="'admin' on sample_set 2 is not allowed"):
        require(alice, "admin", RESOURCES["org_set"])
    with pytest.raises(PermissionDenied):
        require(alice, "read", RESOURCES["other_set"], hide=False)
    with pytest.raises(PermissionDenied, match="capability 'run' required"):
        require(PRINCIPALS["bob"], "run", None)


def test_principal_round_trip_with_memberships():
    alice = PRINCIPALS["alice"]
    data = alice.to_dict()
    assert data["groups"] == [PUBLIC, DOCTOR, PERSONAL]
    assert data["capabilities"] == sorted(ALL)
    assert data["memberships"][1] == {"id": DOCTOR, "name": "lab-lyon/doctor", "parent_id": ORG,
                                      "capabilities": ["anon", "read", "run"]}
    assert Principal.from_dict(data) == alice


def test_contract_form_with_group_objects_and_impersonator_id():
    data = {"user_id": 7, "email": "a@lab.org", "is_admin": False, "impersonator_id": 1,
            "groups": [{"id": 12, "name": "lab", "parent_id": None, "capabilities": ["read", "create"]},
                       {"id": 15, "name": "lab/doctor", "parent_id": 12, "capabilities": ["read", "run"]}]}
    principal = Principal.from_dict(data)
    assert principal.groups == {12, 15} and principal.impersonator == 1
    assert principal.membership(15).parent_id == 12
    assert can(principal, "run", Resource("sample_set", 1, [12]))
    assert not can(principal, "create", Resource("sample_set", 1, [15]))


def test_flat_principal_keeps_its_old_payload():
    flat = PRINCIPALS["flat"]
    assert flat.to_dict() == {"user_id": 11, "email": "", "groups": [ORG], "capabilities": ["upload"],
                              "is_admin": False, "impersonator": None}
    assert Principal.from_dict(flat.to_dict()) == flat


@pytest.mark.parametrize("payload", [
    {"user_id": 2, "memberships": [{"name": "x"}]},
    {"user_id": 2, "memberships": [{"id": "3"}]},
    {"user_id": 2, "memberships": [{"id": 3, "capabilities": "read"}]},
    {"user_id": 2, "memberships": [{"id": 3, "parent_id": "1"}]},
    {"user_id": 2, "impersonator": True},
])
def test_malformed_memberships_are_unauthenticated(payload):
    with pytest.raises(Unauthenticated):
        Principal.from_dict(payload)
