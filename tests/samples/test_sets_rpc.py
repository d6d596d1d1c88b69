"""Sample sets over RPC against the running samples service (real RabbitMQ, MariaDB): the three kinds, access
rows per group, pseudonymisation, permissions (read, create, admin, anon, forged ids), list/search/tags,
batch creation, sharing, deletion, audit."""

from __future__ import annotations

import pytest

from services.common.exceptions import BadRequest, NotFound, PermissionDenied
from samples_helpers import ALL, new_id, principal

PATIENT = {"first_name": "Jean", "last_name": "Dupont", "birth_date": "1979-03-02", "label": "P-001",
           "info": "diagnosis #ALL #MRD-followup"}


def test_patient_is_pseudonymised_without_anon(rpc, lab):
    created = rpc.samples.create_sample_set(lab.owner, "patient", PATIENT, lab.group)
    assert created["kind"] == "patient" and created["access_group_ids"] == [lab.group]
    assert created["name"] == "Dupont Jean" and created["birth_date"] == "1979-03-02"
    assert created["tags"] == ["all", "mrd-followup"]
    seen = rpc.samples.get_sample_set(lab.tech, created["id"])
    assert seen["name"] == "Dup" and seen["age"].endswith("y")
    assert seen["first_name"] is None and seen["last_name"] is None and seen["birth_date"] is None
    assert seen["identity_visible"] is False
    listed = rpc.samples.list_sample_sets(lab.tech, {"kind": "patient"})
    item = next(i for i in listed["items"] if i["id"] == created["id"])
    assert item["name"] == "Dup" and "Dupont" not in str(item) and "Jean" not in str(item)


def test_run_and_generic_sets(rpc, lab):
    run = rpc.samples.create_sample_set(lab.owner, "run", {"name": "MiSeq 2024-05", "run_date": "2024-05-02",
                                                           "sequencer": "MiSeq", "pcr": "BIOMED-2"}, lab.group)
    assert (run["name"], run["run_date"], run["sequencer"], run["pcr"]) == ("MiSeq 2024-05", "2024-05-02",
                                                                             "MiSeq", "BIOMED-2")
    generic = rpc.samples.create_sample_set(lab.owner, "generic", {"name": "cohort A", "info": "#cohort"}, lab.group)
    assert generic["kind"] == "generic" and generic["tags"] == ["cohort"]


@pytest.mark.parametrize("kind, fields, field", [
    ("patient", {"first_name": "A"}, "last_name"),
    ("patient", {"first_name": "A", "last_name": "B", "birth_date": "02/03/1979"}, "birth_date"),
    ("run", {"name": "a|b"}, "name"),
    ("generic", {"name": "x", "colour": "red"}, "colour"),
])
def test_invalid_fields_are_refused_with_the_field_named(rpc, lab, kind, fields, field):
    with pytest.raises(BadRequest) as caught:
        rpc.samples.create_sample_set(lab.owner, kind, fields, lab.group)
    assert any(e["field"] == field for e in caught.value.details["errors"])


def test_create_needs_create_in_that_group(rpc, lab):
    with pytest.raises(PermissionDenied):
        rpc.samples.create_sample_set(lab.reader, "generic", {"name": "x"}, lab.group)
    with pytest.raises(PermissionDenied):
        rpc.samples.create_sample_set(lab.stranger, "generic", {"name": "x"}, lab.group)
    with pytest.raises(BadRequest):
        rpc.samples.create_sample_set(lab.owner, "cohort", {"name": "x"}, lab.group)


def test_role_group_creates_in_its_parent_and_sees_parent_sets(rpc):
    org, doctor_role = new_id(), new_id()
    doctor = principal(new_id(), {doctor_role: ("read", "create", "anon")}, parents={doctor_role: org})
    created = rpc.samples.create_sample_set(doctor, "patient", PATIENT, org)
    assert created["access_group_ids"] == [org] and created["name"] == "Dupont Jean"
    # a member of the organisation group itself does not see sets of a role group (no upward access)
    role_set = rpc.samples.create_sample_set(doctor, "generic", {"name": "role only"}, doctor_role)
    org_member = principal(new_id(), {org: ALL})
    with pytest.raises(NotFound):
        rpc.samples.get_sample_set(org_member, role_set["id"])
    assert rpc.samples.get_sample_set(org_member, created["id"])["id"] == created["id"]


def test_forged_and_foreign_ids_are_not_found(rpc, lab):
    created = rpc.samples.create_sample_set(lab.owner, "generic", {"name": "secret"}, lab.group)
    for forged in (created["id"], 10**9, -1, "1 OR 1=1", None):
        with pytest.raises(NotFound):
            rpc.samples.get_sample_set(lab.stranger, forged)
    with pytest.raises(NotFound):
        rpc.samples.authorize(lab.stranger, "read", created["id"])
    listed = rpc.samples.list_sample_sets(lab.stranger, {"search": str(created["id"])})
    assert created["id"] not in [i["id"] for i in listed["items"]]


def test_authorize_for_jobs_and_fuse(rpc, lab):
    created = rpc.samples.create_sample_set(lab.owner, "generic", {"name": "auth"}, lab.group)
    assert rpc.samples.authorize(lab.owner, "run", created["id"]) is True
    assert rpc.samples.authorize(lab.reader, "read", created["id"]) is True
    with pytest.raises(PermissionDenied):
        rpc.samples.authorize(lab.reader, "run", created["id"])
    with pytest.raises(BadRequest):
        rpc.samples.authorize(lab.owner, "fly", created["id"])


def test_edit_needs_admin_and_identity_needs_anon(rpc, lab):
    created = rpc.samples.create_sample_set(lab.owner, "patient", PATIENT, lab.group)
    with pytest.raises(PermissionDenied):
        rpc.samples.update_sample_set(lab.reader, created["id"], {"info": "x"})
    with pytest.raises(PermissionDenied):
        rpc.samples.update_sample_set(lab.tech, created["id"], {"last_name": "Durand"})
    edited = rpc.samples.update_sample_set(lab.tech, created["id"], {"info": "relapse #relapse"})
    assert edited["tags"] == ["relapse"] and edited["name"] == "Dup"
    assert rpc.samples.get_sample_set(lab.owner, created["id"])["last_name"] == "Dupont"


def real_group(rpc, admin_principal) -> int:
    """A group that exists in the auth service (sharing checks that the group exists)."""
    return rpc.auth.create_group(admin_principal, f"share-{new_id()}", None, ["read"])["id"]


def test_share_with_another_group_and_take_back(rpc, lab, admin_principal):
    created = rpc.samples.create_sample_set(lab.owner, "generic", {"name": "shared"}, lab.group)
    other_group = real_group(rpc, admin_principal)
    member = principal(new_id(), {other_group: ALL})
    with pytest.raises(NotFound):
        rpc.samples.share_sample_set(lab.stranger, created["id"], other_group)
    with pytest.raises(PermissionDenied):
        rpc.samples.share_sample_set(lab.reader, created["id"], other_group)
    with pytest.raises(NotFound):   # a group that does not exist (yet): no access row for it
        rpc.samples.share_sample_set(lab.owner, created["id"], lab.other_group)
    shared = rpc.samples.share_sample_set(lab.owner, created["id"], other_group)
    assert shared["access_group_ids"] == sorted([lab.group, other_group])
    assert rpc.samples.get_sample_set(member, created["id"])["name"] == "shared"
    rpc.samples.share_sample_set(lab.owner, created["id"], other_group, False)
    with pytest.raises(NotFound):
        rpc.samples.get_sample_set(member, created["id"])
    with pytest.raises(BadRequest):
        rpc.samples.share_sample_set(lab.owner, created["id"], lab.group, False)


def test_search_by_tags_and_words_paginated_and_sorted(rpc, lab):
    names = ["alpha", "beta", "gamma"]
    for name in names:
        rpc.samples.create_sample_set(lab.owner, "generic", {"name": name, "info": f"#study {name} #{name}x"},
                                      lab.group)
    rpc.samples.create_sample_set(lab.owner, "patient", PATIENT, lab.group)
    page1 = rpc.samples.list_sample_sets(lab.owner, {"search": "#study", "per_page": 2, "sort": "name",
                                                     "reverse": False})
    assert page1["total"] == 3 and page1["has_next"] is True
    assert [i["name"] for i in page1["items"]] == ["alpha", "beta"]
    page2 = rpc.samples.list_sample_sets(lab.owner, {"search": "#study", "per_page": 2, "page": 2, "sort": "name",
                                                     "reverse": False})
    assert [i["name"] for i in page2["items"]] == ["gamma"] and page2["has_next"] is False
    both = rpc.samples.list_sample_sets(lab.owner, {"search": "#STUDY #betax"})
    assert [i["name"] for i in both["items"]] == ["beta"]
    words = rpc.samples.list_sample_sets(lab.owner, {"search": "amm"})
    assert [i["name"] for i in words["items"]] == ["gamma"]
    # a first name is searchable only by those who may see it
    assert rpc.samples.list_sample_sets(lab.owner, {"search": "Jean"})["total"] == 1
    assert rpc.samples.list_sample_sets(lab.tech, {"search": "Jean"})["total"] == 0
    assert rpc.samples.list_sample_sets(lab.tech, {"search": "dup"})["total"] == 1
    with pytest.raises(BadRequest):
        rpc.samples.list_sample_sets(lab.owner, {"per_page": 1000})
    assert "study" in rpc.samples.tag_autocomplete(lab.reader, "#stu")
    assert rpc.samples.tag_autocomplete(lab.stranger, "stu") == []


def test_batch_create_from_pasted_rows(rpc, lab):
    rows = "P-10\tMarie\tCurie\t1967-11-07\t#ALL\nP-11\tAda\tLovelace\t\tfollow-up\n"
    created = rpc.samples.batch_create_sample_sets(lab.owner, "patient", rows, lab.group)
    assert [c["label"] for c in created] == ["P-10", "P-11"] and created[0]["tags"] == ["all"]
    with pytest.raises(BadRequest) as caught:
        rpc.samples.batch_create_sample_sets(lab.owner, "run", "R1\tRun one\t2024-01-01\n\tbad|name\tx\n",
                                             lab.group)
    # nameko turns numbers inside error details into strings on the wire
    assert [str(e["line"]) for e in caught.value.details["errors"]] == ["2"]
    assert rpc.samples.list_sample_sets(lab.owner, {"search": "Run one"})["total"] == 0


def test_audit_lists_actions_without_identities(rpc, lab, admin_principal):
    created = rpc.samples.create_sample_set(lab.owner, "patient", PATIENT, lab.group)
    rpc.samples.update_sample_set(lab.owner, created["id"], {"info": "#x"})
    rpc.samples.share_sample_set(lab.owner, created["id"], real_group(rpc, admin_principal))
    trail = rpc.samples.list_audit(lab.reader, created["id"])
    assert [e["action"] for e in trail["items"]] == ["share", "edit_set", "create_set"]
    assert all(e["user_id"] == lab.owner["user_id"] for e in trail["items"])
    assert "Dupont" not in str(trail)
    with pytest.raises(NotFound):
        rpc.samples.list_audit(principal(new_id(), {new_id(): ALL}), created["id"])
