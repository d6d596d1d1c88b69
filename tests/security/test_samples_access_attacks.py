"""A hostile user against the permissions of the samples service, through the real gateway and over RPC: forged
ids (another user's, negative, huge, strings, SQL-looking), patient identities hunted by a user without ``anon``
in every answer and event, sharing with groups one is not in (or that do not exist), deleting a set that shares
a sample, mounted directories escaped with ``..`` or links, and malformed principals given to the RPC methods."""

from __future__ import annotations

import json
import os

import pytest

from attack_helpers import REAL_FASTQ, SMALL_FASTQ, error_code, make_patient
from services.common.exceptions import BadRequest, NotFound, PermissionDenied, RepseqError, Unauthenticated

# -- forged ids ---------------------------------------------------------------------------------------------------


@pytest.fixture
def strangers_data(people):
    """A patient of the stranger (another lab) with an uploaded sample: ``(set, sample)``."""
    answer = people.stranger.post("/sample_sets", json={"kind": "patient", "group_id": people.groups["stranger"],
                                                        "fields": {"first_name": "Other", "last_name": "Lab"}})
    assert answer.status_code == 201, answer.text
    other = answer.json()
    sample = people.stranger.new_sample(other["id"], "theirs.fastq")
    assert people.stranger.upload(sample["id"], SMALL_FASTQ).status_code == 200
    return other, sample


ROUTES = [
    ("GET", "/sample_sets/{set}", None),
    ("PATCH", "/sample_sets/{set}", {"fields": {"info": "mine now"}}),
    ("DELETE", "/sample_sets/{set}", None),
    ("POST", "/sample_sets/{set}/groups", {"group_id": "{group}"}),
    ("DELETE", "/sample_sets/{set}/groups/{group}", None),
    ("GET", "/sample_sets/{set}/audit", None),
    ("POST", "/sample_sets/{set}/samples", {"filename": "x.fastq"}),
    ("GET", "/samples/{sample}", None),
    ("PATCH", "/samples/{sample}", {"info": "mine now"}),
    ("PATCH", "/samples/{sample}", {"sample_set_ids": ["{own_set}"]}),
    ("DELETE", "/samples/{sample}", None),
    ("GET", "/samples/{sample}/file", None),
    ("PUT", "/samples/{sample}/file", b"@r\nACGT\n+\nIIII\n"),
]


def _fill(value, ids):
    if isinstance(value, str):
        text = value.format(**ids)
        return int(text) if text.lstrip("-").isdigit() and value.startswith("{") else text
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def test_another_labs_ids_are_not_found_on_every_route(people, patient, strangers_data):
    """The owner (every right in its own group) aims every samples route at the stranger's set and sample: 404
    each time (it may not learn they exist), and nothing of theirs changed."""
    other, sample = strangers_data
    ids = {"set": other["id"], "sample": sample["id"], "group": people.groups["owner"], "own_set": patient["id"]}
    for method, path, body in ROUTES:
        url = path.format(**ids)
        kwargs = {"data": body} if isinstance(body, bytes) else {"json": _fill(body, ids)} if body else {}
        answer = people.owner.request(method, url, **kwargs)
        assert answer.status_code == 404, (method, url, answer.status_code, answer.text[:300])
        assert "Other" not in answer.text and "Lab" not in answer.text
    mine = people.stranger.get(f"/sample_sets/{other['id']}").json()
    assert mine["info"] == "" and mine["access_group_ids"] == [people.groups["stranger"]]
    assert [s["id"] for s in mine["samples"]] == [sample["id"]]
    assert people.stranger.get(f"/samples/{sample['id']}/file").content == SMALL_FASTQ
    # creating a sample in one's own set "also in" the other lab's set
    answer = people.owner.post(f"/sample_sets/{patient['id']}/samples",
                               json={"filename": "x.fastq", "also_in_sets": [other["id"]]})
    assert answer.status_code == 404, answer.text


@pytest.mark.parametrize("forged", ["0", "-1", "2147483648", str(2**63 - 1), str(2**63), str(2**64 + 5),
                                    "1" + "0" * 40, "abc", "1%20OR%201=1", "1;DROP%20TABLE%20sample", "1.0",
                                    "%00", "..%2F..%2Fetc"])
def test_forged_ids_in_paths_are_404_never_500(people, forged):
    for method, path, body in ROUTES:
        url = path.format(set=forged, sample=forged, group=forged, own_set=1)
        ids = {"set": 1, "sample": 1, "group": 1, "own_set": 1}
        kwargs = {"data": body} if isinstance(body, bytes) else {"json": _fill(body, ids)} if body else {}
        answer = people.owner.request(method, url, **kwargs)
        assert answer.status_code in (404, 405), (method, url, answer.status_code, answer.text[:300])
        assert error_code(answer) is not None


@pytest.mark.parametrize("body", [
    {"filename": "x.fastq", "also_in_sets": ["abc"]},
    {"filename": "x.fastq", "also_in_sets": [-1]},
    {"filename": "x.fastq", "also_in_sets": [2**70]},
    {"filename": "x.fastq", "also_in_sets": "1 OR 1=1"},
    {"filename": "x.fastq", "sampling_date": "2024-02-30"},
    {"filename": "x.fastq", "sampling_date": "'; DROP TABLE sample; --"},
    {"filename": ["x.fastq"]},
    {"filename": "x.fastq", "unexpected": 1},
])
def test_forged_bodies_are_clear_4xx(people, patient, body):
    answer = people.owner.post(f"/sample_sets/{patient['id']}/samples", json=body)
    assert answer.status_code in (400, 404, 422), answer.text
    assert error_code(answer) is not None


@pytest.mark.parametrize("group_id", [2**70, -3, "3 OR 1=1", None, 0])
def test_forged_group_ids_when_sharing_or_creating_are_clear_4xx(people, patient, group_id):
    answer = people.owner.post(f"/sample_sets/{patient['id']}/groups", json={"group_id": group_id})
    assert answer.status_code in (400, 404, 422), answer.text
    answer = people.owner.post("/sample_sets", json={"kind": "generic", "group_id": group_id,
                                                     "fields": {"name": "x"}})
    assert answer.status_code in (400, 403, 404, 422), answer.text


@pytest.mark.parametrize("search", ["' OR 1=1 --", "%", "_", "\\", "%' OR '%'='", "#x' OR '1'='1", "\" OR \"\"=\"",
                                    "1 UNION SELECT first_name FROM sample_set", "*", "#%", "#_", "０", "\x00"])
def test_sql_looking_searches_find_only_what_matches(people, patient, strangers_data, search):
    """Search words are matched literally: ``%``/``_`` are not wildcards, quotes change nothing, the stranger's
    patient never appears for the owner."""
    other, _ = strangers_data
    answer = people.owner.get("/sample_sets", params={"search": search, "per_page": 200})
    assert answer.status_code in (200, 400, 422), answer.text
    if answer.status_code == 200:
        ids = [i["id"] for i in answer.json()["items"]]
        assert other["id"] not in ids
        assert patient["id"] not in ids, f"{search!r} matched {patient}"


def test_forged_ids_over_rpc_are_not_found_or_bad_request(rpc, people, patient):
    """Every id-taking RPC method with ids of the wrong type or range: NotFound/BadRequest, never an internal
    error (which the gateway would answer as a 500) and never a success."""
    tech = people.principals["tech"]
    forged = ["1", "1 OR 1=1", None, [], {}, 1.0, True, -1, 0, 2**31, 2**63, 2**70, float("inf")]
    for value in forged:
        calls = [
            lambda: rpc.samples.get_sample_set(tech, value),
            lambda: rpc.samples.get_sample(tech, value),
            lambda: rpc.samples.authorize(tech, "read", value),
            lambda: rpc.samples.list_audit(tech, value),
            lambda: rpc.samples.update_sample_set(tech, value, {"info": "x"}),
            lambda: rpc.samples.share_sample_set(tech, value, 3),
            lambda: rpc.samples.delete_sample_set(tech, value),
            lambda: rpc.samples.create_sample(tech, value, "x.fastq"),
            lambda: rpc.samples.create_sample(tech, [value], "x.fastq"),
            lambda: rpc.samples.begin_upload(tech, value),
            lambda: rpc.samples.complete_upload(tech, value, "samples/1/x/r1.fastq", 1, "0" * 64),
            lambda: rpc.samples.download_sample(tech, value),
            lambda: rpc.samples.delete_sample(tech, value),
            lambda: rpc.samples.update_sample(tech, value, {"info": "x"}),
            lambda: rpc.samples.sets_of_sample(value),
            lambda: rpc.samples.share_sample_set(tech, patient["id"], value),
            lambda: rpc.samples.list_audit(tech, patient["id"], value, value),
            lambda: rpc.samples.tag_autocomplete(tech, value, value),
            lambda: rpc.samples.list_sample_sets(tech, {"page": value, "per_page": value, "search": value}),
        ]
        for number, call in enumerate(calls):
            try:
                call()
            except (NotFound, BadRequest, PermissionDenied):
                continue
            except Exception as error:  # noqa: BLE001 - reported with the call that failed
                pytest.fail(f"call {number} with {value!r}: {type(error).__name__}: {str(error)[:200]}")
            if number in (17, 18):     # lax query values ("1" for 1, None for the default) may be read
                continue
            pytest.fail(f"call {number} with {value!r} succeeded")


# -- pseudonymisation ------------------------------------------------------------------------------------------

FIRST, LAST, BIRTH = "Zephyrine", "Quorvath", "1961-07-23"
SECRETS = (FIRST, LAST, BIRTH, FIRST.lower(), LAST.lower(), "rvath", "phyrine", "23/07/1961", "1961")


def assert_no_identity(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}: {text[:400]}"


def test_no_identity_reaches_a_user_without_anon(people, patient, events_of_samples):
    """A patient with a distinctive identity; a technician (admin, upload, no anon) and a reader use every
    samples route they may: no answer, error, audit entry or event carries the first name, last name (beyond
    its first three letters) or birth date; searches on them find nothing."""
    owner, tech, reader = people.owner, people.tech, people.reader
    created = make_patient(people, FIRST, LAST, BIRTH, "#hunt relapse")
    set_id = created["id"]
    assert owner.get(f"/sample_sets/{set_id}").json()["last_name"] == LAST
    sample = tech.new_sample(set_id, "hunt.fastq", info="#hunt")
    assert_no_identity(json.dumps(sample), "create_sample")
    uploaded = tech.upload(sample["id"], REAL_FASTQ.read_bytes())
    assert uploaded.status_code == 200
    assert_no_identity(uploaded.text, "upload answer")
    also = tech.post("/sample_sets", json={"kind": "run", "group_id": people.groups["techs"],
                                           "fields": {"name": "run hunt"}})
    if also.status_code == 201:   # techs lack create: the run is made by the owner and shared
        run_id = also.json()["id"]
    else:
        run = owner.post("/sample_sets", json={"kind": "run", "group_id": people.groups["owner"],
                                               "fields": {"name": "run hunt"}}).json()
        run_id = run["id"]
        owner.post(f"/sample_sets/{run_id}/groups", json={"group_id": people.groups["techs"]})
        owner.post(f"/sample_sets/{run_id}/groups", json={"group_id": people.groups["readers"]})
    moved = tech.patch(f"/samples/{sample['id']}", json={"sample_set_ids": [set_id, run_id]})
    assert moved.status_code == 200, moved.text
    owner.patch(f"/sample_sets/{set_id}", json={"fields": {"first_name": FIRST + "x", "info": "#hunt edited"}})
    owner.patch(f"/sample_sets/{set_id}", json={"fields": {"first_name": FIRST}})
    for client, role in ((tech, "tech"), (reader, "reader")):
        answers = {
            "list": client.get("/sample_sets", params={"per_page": 200}),
            "list by name": client.get("/sample_sets", params={"sort": "name", "per_page": 200}),
            "list patients": client.get("/sample_sets", params={"kind": "patient", "search": "#hunt"}),
            "get": client.get(f"/sample_sets/{set_id}"),
            "get run (shared_with)": client.get(f"/sample_sets/{run_id}"),
            "sample": client.get(f"/samples/{sample['id']}"),
            "audit": client.get(f"/sample_sets/{set_id}/audit"),
            "audit of run": client.get(f"/sample_sets/{run_id}/audit"),
            "tags": client.get("/tags", params={"prefix": "h"}),
            "edit names (refused)": client.patch(f"/sample_sets/{set_id}",
                                                 json={"fields": {"last_name": "Other", "birth_date": "2000-01-01"}}),
            "edit info": client.patch(f"/sample_sets/{set_id}", json={"fields": {"info": "#hunt seen"}}),
            "bad edit": client.patch(f"/sample_sets/{set_id}", json={"fields": {"birth_date": "1961-13-45"}}),
        }
        for what, answer in answers.items():
            assert answer.status_code < 500, (role, what, answer.text[:300])
            assert_no_identity(answer.text, f"{role}: {what}")
        shown = answers["get"].json()
        assert shown["name"] == "Quo" and shown["first_name"] is None and shown["birth_date"] is None
        assert shown["age"].endswith("y")
        assert answers["edit names (refused)"].status_code == 403
        for word in (FIRST, LAST, "Quor", "phyr", "1961-07-23", "07-23", "Zeph"):
            found = client.get("/sample_sets", params={"search": word})
            assert found.status_code == 200
            assert set_id not in [i["id"] for i in found.json()["items"]], (role, word)
        assert set_id in [i["id"] for i in client.get("/sample_sets", params={"search": "Quo"}).json()["items"]]
    for body in events_of_samples():
        assert_no_identity(json.dumps(body), f"event {body.get('event') or body.get('name')}")


def test_name_and_date_sorting_reveal_nothing_hidden(people):
    """Two patients with the same three letters and age: sorting by name or by date must not order them by
    the hidden full name or exact birth date for a user without anon."""
    # created so that id order is the reverse of the hidden orders
    b = make_patient(people, "Bob", "Quozzz", "1980-12-30", "#sorting")
    a = make_patient(people, "Al", "Quoaaa", "1980-01-02", "#sorting")
    for client in (people.tech, people.reader):
        for sort in ("name", "date"):
            items = client.get("/sample_sets", params={"search": "#sorting", "sort": sort, "reverse": "false",
                                                       "per_page": 200}).json()["items"]
            order = [i["id"] for i in items if i["id"] in (a["id"], b["id"])]
            assert order == [b["id"], a["id"]], f"sort={sort} follows hidden data: {order}"
    owner_order = [i["id"] for i in people.owner.get("/sample_sets", params={
        "search": "#sorting", "sort": "name", "reverse": "false"}).json()["items"] if i["id"] in (a["id"], b["id"])]
    assert owner_order == [a["id"], b["id"]]


# -- sharing -------------------------------------------------------------------------------------------------------

def test_sharing_with_a_group_one_is_not_in(people, patient, rpc):
    """A set admin may share with any existing group (Vidjil: the permission page lists every group); that
    group's members then read it with their own rights there. A reader may not share (403), a stranger may
    not even see the set (404), and the last owner group cannot be removed."""
    stranger_group = people.groups["stranger"]
    assert people.reader.post(f"/sample_sets/{patient['id']}/groups",
                              json={"group_id": stranger_group}).status_code == 403
    assert people.stranger.post(f"/sample_sets/{patient['id']}/groups",
                                json={"group_id": stranger_group}).status_code == 404
    assert people.stranger.get(f"/sample_sets/{patient['id']}").status_code == 404
    shared = people.tech.post(f"/sample_sets/{patient['id']}/groups", json={"group_id": stranger_group})
    assert shared.status_code == 201, shared.text
    assert people.stranger.get(f"/sample_sets/{patient['id']}").status_code == 200
    back = people.tech.delete(f"/sample_sets/{patient['id']}/groups/{stranger_group}")
    assert back.status_code == 200
    assert people.stranger.get(f"/sample_sets/{patient['id']}").status_code == 404


def test_sharing_with_a_group_that_does_not_exist_is_refused(people, patient):
    """An access row for a group id that does not exist would silently open the patient to whichever group
    gets that id later: 404."""
    answer = people.owner.post(f"/sample_sets/{patient['id']}/groups", json={"group_id": 1_999_999_999})
    assert answer.status_code == 404, answer.text
    assert 1_999_999_999 not in people.owner.get(f"/sample_sets/{patient['id']}").json()["access_group_ids"]


# -- deleting a set that shares a sample -------------------------------------------------------------------------

def test_deleting_a_set_keeps_the_samples_another_set_holds(people, patient, object_store, events_of_samples):
    owner = people.owner
    run = owner.post("/sample_sets", json={"kind": "run", "group_id": people.groups["owner"],
                                           "fields": {"name": "run kept"}}).json()
    shared = owner.new_sample(patient["id"], "shared.fastq", also_in_sets=[run["id"]])
    only = owner.new_sample(patient["id"], "only.fastq")
    for sample in (shared, only):
        assert owner.upload(sample["id"], REAL_FASTQ.read_bytes()).status_code == 200
    only_key = owner.get(f"/samples/{only['id']}").json()["object_key"]
    before = owner.get(f"/samples/{shared['id']}").json()
    deleted = owner.delete(f"/sample_sets/{patient['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["kept_sample_ids"] == [shared["id"]]
    assert deleted.json()["deleted_sample_ids"] == [only["id"]]
    assert owner.get(f"/sample_sets/{patient['id']}").status_code == 404
    kept = owner.get(f"/samples/{shared['id']}").json()
    assert kept["status"] == "ready" and kept["sample_set_ids"] == [run["id"]]
    assert kept["object_key"] == before["object_key"] and kept["sha256"] == before["sha256"]
    assert owner.get(f"/samples/{shared['id']}/file").content == REAL_FASTQ.read_bytes()
    in_run = owner.get(f"/sample_sets/{run['id']}").json()
    assert [s["id"] for s in in_run["samples"]] == [shared["id"]] and in_run["sample_count"] == 1
    assert in_run["samples"][0]["sample_set_ids"] == [run["id"]]
    assert owner.get(f"/samples/{only['id']}").status_code == 404
    assert not object_store.exists(object_store.buckets["sequences"], only_key)
    assert owner.get(f"/sample_sets/{run['id']}/audit").status_code == 200
    deleted_events = [b["data"]["sample_id"] for b in events_of_samples() if b.get("data", {}).get("sample_id")
                      and "raw_only" in b["data"]]
    assert only["id"] in deleted_events and shared["id"] not in deleted_events


def test_a_set_shows_no_ids_of_sets_the_caller_cannot_read(people, patient, strangers_data):
    """A sample of the owner's patient also put in a set the reader cannot read: the reader sees neither that
    set in ``shared_with`` nor its id in ``sample_set_ids``."""
    hidden = people.owner.post("/sample_sets", json={"kind": "generic", "group_id": people.groups["owner"],
                                                     "fields": {"name": "owner only"}}).json()
    sample = people.owner.new_sample(patient["id"], "two.fastq", also_in_sets=[hidden["id"]])
    shown = people.reader.get(f"/sample_sets/{patient['id']}").json()
    item = [s for s in shown["samples"] if s["id"] == sample["id"]][0]
    assert item["shared_with"] == []
    assert item["sample_set_ids"] == [patient["id"]], item["sample_set_ids"]
    assert people.reader.get(f"/samples/{sample['id']}").json()["sample_set_ids"] == [patient["id"]]


# -- mounted directories ---------------------------------------------------------------------------------------

@pytest.fixture
def mounted(rpc, people, tmp_path):
    """A mounted directory with escapes: a link to a secret file, a link to an outside directory, a link loop,
    a FIFO with an allowed name, a directory named like a file; ``(source, root)``."""
    root = tmp_path / "share"
    (root / "run").mkdir(parents=True)
    (root / "run" / "ok.fastq").write_bytes(SMALL_FASTQ)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.fastq").write_bytes(b"@secret\nACGT\n+\nIIII\n")
    os.symlink(outside / "secret.fastq", root / "run" / "link.fastq")
    os.symlink(outside, root / "run" / "outdir")
    os.symlink("../../outside/secret.fastq", root / "run" / "relative.fastq")
    os.symlink(root / "run" / "loop2.fastq", root / "run" / "loop1.fastq")
    os.symlink(root / "run" / "loop1.fastq", root / "run" / "loop2.fastq")
    os.mkfifo(root / "run" / "pipe.fastq")
    (root / "run" / "dir.fastq").mkdir()
    source = rpc.samples.create_file_source(people.admin, f"share-{tmp_path.name}", str(root), ["fastq"])
    return source, root, outside


@pytest.mark.parametrize("path", ["../outside/secret.fastq", "run/../../outside/secret.fastq", "run/link.fastq",
                                  "run/outdir/secret.fastq", "run/relative.fastq", "run/loop1.fastq",
                                  "run/pipe.fastq", "run/dir.fastq", "/etc/passwd", "run/ok.fastq\x00.txt",
                                  "run/./../run/../../outside/secret.fastq", "", ".", "run"])
def test_mounted_paths_cannot_escape_or_hang(rpc, people, patient, mounted, path):
    source, _, _ = mounted
    tech = people.principals["tech"]
    with pytest.raises((PermissionDenied, NotFound, BadRequest)) as caught:
        rpc.samples.add_mounted_sample(tech, [patient["id"]], source["id"], path)
    assert "secret" not in caught.value.message.lower() or "outside" in caught.value.message
    with pytest.raises((PermissionDenied, NotFound, BadRequest)):
        rpc.samples.add_mounted_sample(tech, [patient["id"]], source["id"], "run/ok.fastq", path2=path)
    assert rpc.samples.get_sample_set(tech, patient["id"])["samples"] == []


def test_mounted_file_is_added_and_browse_hides_the_escapes(rpc, people, patient, mounted):
    source, root, _ = mounted
    tech = people.principals["tech"]
    names = [e["name"] for e in rpc.samples.browse_file_source(tech, source["id"], "run")["entries"]]
    assert "ok.fastq" in names and not {"link.fastq", "outdir", "relative.fastq", "pipe.fastq"} & set(names)
    added = rpc.samples.add_mounted_sample(tech, [patient["id"]], source["id"], "run/ok.fastq")
    assert added["source_path"] == str(root / "run" / "ok.fastq") and added["status"] == "ready"


# -- malformed principals ------------------------------------------------------------------------------------------

MALFORMED = [None, "admin", [], {}, 7, {"user_id": "1"}, {"user_id": True}, {"user_id": 0}, {"user_id": -5},
             {"user_id": 1.5}, {"user_id": None, "is_admin": True}, {"user_id": 5, "groups": 5},
             {"user_id": 5, "groups": ["x"]}, {"user_id": 5, "groups": [None]}, {"user_id": 5, "memberships": 5},
             {"user_id": 5, "memberships": "abc"}, {"user_id": 5, "memberships": [{"id": "3"}]},
             {"user_id": 5, "memberships": [{"id": 3, "capabilities": "admin"}]},
             {"user_id": 5, "memberships": [{"capabilities": ["admin"]}]}, {"user_id": 5, "capabilities": 5},
             {"user_id": 5, "impersonator": "1"}, {"user_id": 5, "memberships": {"id": 3}},
             {"user_id": 5, "memberships": [{"id": 3, "parent_id": "x"}]}]


@pytest.mark.parametrize("principal", MALFORMED, ids=lambda p: repr(p)[:40])
def test_malformed_principals_are_refused_as_unauthenticated(rpc, people, patient, principal):
    """The gateway is the only HTTP entry, but a service must not act on a principal it cannot read: 401
    (Unauthenticated), never an internal error, never a success."""
    calls = [
        lambda: rpc.samples.list_sample_sets(principal),
        lambda: rpc.samples.get_sample_set(principal, patient["id"]),
        lambda: rpc.samples.create_sample_set(principal, "generic", {"name": "x"}, people.groups["owner"]),
        lambda: rpc.samples.create_sample(principal, [patient["id"]], "x.fastq"),
        lambda: rpc.samples.authorize(principal, "read", patient["id"]),
        lambda: rpc.samples.tag_autocomplete(principal),
        lambda: rpc.samples.browse_file_source(principal, 1),
    ]
    for number, call in enumerate(calls):
        with pytest.raises(Unauthenticated):
            try:
                call()
            except RepseqError as error:
                if not isinstance(error, Unauthenticated):
                    pytest.fail(f"call {number}: {type(error).__name__} instead of Unauthenticated")
                raise
            except Exception as error:  # noqa: BLE001
                pytest.fail(f"call {number}: {type(error).__name__}: {str(error)[:200]}")


@pytest.mark.parametrize("principal", [{"user_id": 2**40}, {"user_id": 5, "is_admin": "true"},
                                       {"user_id": 5, "is_admin": 1}],
                         ids=["huge user id", "is_admin string", "is_admin 1"])
def test_odd_but_well_typed_principals_get_no_rights_and_no_500(rpc, people, patient, principal):
    """Such principals are read as plain users without groups: they see nothing, create nothing, and are never
    an internal error."""
    for call in (lambda: rpc.samples.get_sample_set(principal, patient["id"]),
                 lambda: rpc.samples.create_sample_set(principal, "generic", {"name": "x"}, people.groups["owner"]),
                 lambda: rpc.samples.create_sample(principal, [patient["id"]], "x.fastq")):
        with pytest.raises((NotFound, PermissionDenied, Unauthenticated)):
            call()
    assert rpc.samples.list_sample_sets(principal)["items"] == []
