"""The fuse service on the real stack: two real FASTQ files of one patient uploaded through the samples service,
analysed by the jobs worker (vdj), fused on ``analysis.completed``; serving with permissions and pseudonymisation,
saved analyses, compare, a broken result keeping the previous fused result, re-fuse after a result is deleted."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import time
from pathlib import Path

import pytest

import services.fuse.exceptions  # noqa: F401  (registers the fuse errors for RPC deserialisation)
from services.common.exceptions import NotFound, PermissionDenied
from services.common.principal import Membership, Principal
from services.fuse.exceptions import BadRequest, NoResults

DATA = Path(__file__).resolve().parents[1] / "data" / "real"
REAL_SAMPLES = {"spl": DATA / "immunedb-d1_spl.fastq", "colon": DATA / "immunedb-d1_colon.fastq"}
_ids = itertools.count(9700)  # user/group ids apart from other test folders
ALL = ("read", "create", "upload", "run", "save", "admin", "anon")


def _principal(groups: dict[int, tuple[str, ...]]) -> dict:
    user_id = next(_ids)
    members = [Membership(id=g, name=f"g{g}", capabilities=frozenset(caps)) for g, caps in groups.items()]
    return Principal.build(user_id, email=f"u{user_id}@lab.org", memberships=members).to_dict()


class Lab:
    def __init__(self):
        self.group = next(_ids)
        self.owner = _principal({self.group: ALL})
        self.reader = _principal({self.group: ("read",)})  # no anon, no save
        self.stranger = _principal({next(_ids): ALL})


def _upload(rpc, object_store, caller, set_id, path, date):
    sample = rpc.samples.create_sample(caller, [set_id], path.name, date)
    data = path.read_bytes()
    stored = object_store.put_stream(sample["upload_bucket"], sample["upload_key"], io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    return rpc.samples.complete_upload(caller, sample["id"], sample["upload_key"], stored.size, stored.sha256)


def _wait(check, timeout=240.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except NoResults:
            last = None
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"{what} not reached in {timeout} s (last: {str(last)[:300]})")


@pytest.fixture(scope="module")
def followed(rpc, object_store):
    """A patient with the spleen (2024-01-02) and colon (2024-03-04) samples, both analysed with the IGH config
    and fused by the service. Uploaded colon first, so that display order must come from the dates."""
    lab = Lab()
    patient = rpc.samples.create_sample_set(lab.owner, "patient", {"first_name": "Ada", "last_name": "Fuselier",
                                                                   "birth_date": "1970-01-01"}, lab.group)
    colon = _upload(rpc, object_store, lab.owner, patient["id"], REAL_SAMPLES["colon"], "2024-03-04")
    spleen = _upload(rpc, object_store, lab.owner, patient["id"], REAL_SAMPLES["spl"], "2024-01-02")
    config = next(c["id"] for c in rpc.jobs.list_configs(lab.owner) if c["name"] == "IGH")
    jobs = [rpc.jobs.launch(lab.owner, s["id"], patient["id"], config) for s in (colon, spleen)]

    def both_fused():
        fused = rpc.fuse.get_fused(lab.owner, patient["id"], config)
        return fused if fused["samples"]["number"] == 2 else None

    fused = _wait(both_fused, what="fused result with both samples")
    results = {r["sample_id"]: r for r in rpc.jobs.list_results(lab.owner, patient["id"])}
    return {"lab": lab, "patient": patient, "config": config, "spleen": spleen, "colon": colon, "jobs": jobs,
            "fused": fused, "results": results}


def test_fused_on_analysis_completed_in_sampling_date_order(followed, object_store):
    fused, results = followed["fused"], followed["results"]
    spleen, colon = followed["spleen"], followed["colon"]
    assert fused["samples"]["id"] == [spleen["id"], colon["id"]]
    assert fused["samples"]["names"] == ["immunedb-d1_spl.fastq", "immunedb-d1_colon.fastq"]
    assert fused["samples"]["timestamp"] == ["2024-01-02", "2024-03-04"]
    assert fused["samples"]["results_file_id"] == [results[spleen["id"]]["id"], results[colon["id"]]["id"]]
    assert fused["reads"]["total"] == [1468, 562]
    originals = [json.loads(object_store.get_bytes(results[s["id"]]["bucket"], results[s["id"]]["vidjil_key"]))
                 for s in (spleen, colon)]
    by_id = [{c["id"]: c["reads"][0] for c in doc["clones"]} for doc in originals]
    assert {c["id"] for c in fused["clones"]} == set(by_id[0]) | set(by_id[1])  # fewer than 100 clones each
    for clone in fused["clones"]:
        assert clone["reads"] == [by_id[0].get(clone["id"], 0), by_id[1].get(clone["id"], 0)]
    assert any(all(c["reads"]) for c in fused["clones"]), "spleen and colon share clones"
    assert fused["overlaps"]["jaccard"][0][1] > 0
    assert fused["fused"]["status"] == "ok" and fused["fused"]["trigger"] == "analysis.completed"
    assert fused["sample_set_id"] == followed["patient"]["id"] and fused["config_id"] == followed["config"]


def test_read_right_and_pseudonymisation(rpc, followed):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    assert rpc.fuse.get_fused(lab.owner, set_id, config)["sample_set"]["name"] == "Fuselier Ada"
    seen_by_reader = rpc.fuse.get_fused(lab.reader, set_id, config)
    assert seen_by_reader["sample_set"]["name"] == "Fus"
    assert seen_by_reader["sample_set"]["last_name"] is None and seen_by_reader["sample_set"]["birth_date"] is None
    assert "Fuselier" not in json.dumps(seen_by_reader)
    with pytest.raises(NotFound):
        rpc.fuse.get_fused(lab.stranger, set_id, config)
    with pytest.raises(NotFound):
        rpc.fuse.mrd_view(lab.stranger, set_id, config)
    with pytest.raises(NoResults):
        rpc.fuse.get_fused(lab.owner, set_id, config + 1000)


def test_mrd_view(rpc, followed):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    view = rpc.fuse.mrd_view(lab.reader, set_id, config)
    assert [s["limit_of_detection"] for s in view["samples"]] == pytest.approx(
        [1 / s for s in followed["fused"]["reads"]["segmented"]])
    diagnosis = {c["id"] for c in followed["fused"]["clones"] if c["reads"][0]}
    assert {c["id"] for c in view["clones"]} == diagnosis
    largest = view["clones"][0]
    assert largest["shares"][0] == pytest.approx(largest["reads"][0] / followed["fused"]["reads"]["segmented"][0])


def test_saved_analysis_is_versioned_merged_and_needs_save(rpc, followed):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    clone_id = followed["fused"]["clones"][0]["id"]
    with pytest.raises(PermissionDenied):
        rpc.fuse.save_analysis(lab.reader, set_id, config, {"clones": [{"id": clone_id, "name": "x"}]})
    with pytest.raises(NotFound):
        rpc.fuse.save_analysis(lab.stranger, set_id, config, {"clones": []})
    with pytest.raises(BadRequest):
        rpc.fuse.save_analysis(lab.owner, set_id, config, {"clones": [{"name": "no id"}]})
    first = rpc.fuse.save_analysis(lab.owner, set_id, config,
                                   {"clones": [{"id": clone_id, "name": "diagnosis clone", "tag": 0}]})
    second = rpc.fuse.save_analysis(lab.owner, set_id, config,
                                    {"clones": [{"id": clone_id, "name": "leukemic clone", "tag": 1}],
                                     "clusters": [[clone_id, followed["fused"]["clones"][1]["id"]]],
                                     "settings": {"normalization": "none"}})
    assert (first["version"], second["version"]) == (1, 2)
    fused = rpc.fuse.get_fused(lab.reader, set_id, config)
    assert fused["analysis_version"] == 2
    assert fused["clones"][0]["name"] == "leukemic clone" and fused["clones"][0]["tag"] == 1
    assert fused["clusters"] == [[clone_id, followed["fused"]["clones"][1]["id"]]]
    assert rpc.fuse.get_analysis(lab.reader, set_id, config, 1)["content"]["clones"][0]["name"] == "diagnosis clone"
    assert [v["version"] for v in rpc.fuse.list_analyses(lab.reader, set_id, config)] == [2, 1]


def test_compare_checks_read_on_every_result(rpc, followed, object_store):
    lab, results = followed["lab"], followed["results"]
    other_lab = Lab()
    other = rpc.samples.create_sample_set(other_lab.owner, "generic", {"name": "other lab run"}, other_lab.group)
    ids = [results[followed["colon"]["id"]]["id"], results[followed["spleen"]["id"]]["id"]]
    fused = rpc.fuse.compare(lab.reader, ids)
    assert fused["samples"]["number"] == 2
    assert fused["samples"]["names"] == [f"Fus_immunedb-d1_colon.fastq ({ids[0]})",
                                         f"Fus_immunedb-d1_spl.fastq ({ids[1]})"]
    assert fused["compare"]["result_ids"] == ids
    with pytest.raises(NotFound):
        rpc.fuse.compare(other_lab.owner, ids)
    with pytest.raises(NotFound):
        rpc.fuse.compare(other_lab.owner, [ids[0], 99999999])
    with pytest.raises(BadRequest):
        rpc.fuse.compare(lab.reader, [ids[0], ids[0]])
    assert other["id"]


def test_broken_result_keeps_previous_fused_result(rpc, followed, object_store):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    served = rpc.fuse.get_fused(lab.owner, set_id, config)["fused"]["id"]
    result = followed["results"][followed["colon"]["id"]]
    original = object_store.get_bytes(result["bucket"], result["vidjil_key"])
    object_store.put_bytes(result["bucket"], result["vidjil_key"], b'{"clones": [ this is not json')
    try:
        record = rpc.fuse.rebuild(lab.owner, set_id, config)
    finally:
        object_store.put_bytes(result["bucket"], result["vidjil_key"], original)
    assert record["status"] == "failed" and record["error_code"] == "invalid_result"
    assert "not valid JSON" in record["error"] and "immunedb-d1_colon.fastq" in record["error"]
    fused = rpc.fuse.get_fused(lab.owner, set_id, config)
    assert fused["fused"]["id"] == served
    assert fused["fused"]["newer_failure"]["id"] == record["id"]
    with pytest.raises(PermissionDenied):
        rpc.fuse.rebuild(lab.reader, set_id, config)
    history = rpc.fuse.list_fused(lab.reader, set_id, config)
    assert history[0]["id"] == record["id"] and any(h["id"] == served for h in history)
    older = rpc.fuse.get_fused(lab.reader, set_id, config, served)
    assert older["fused"]["id"] == served


def test_post_script_registered_by_an_administrator_runs_on_rebuild(rpc, followed, admin_principal):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    assert "normalize_per_100k.py" in rpc.fuse.list_post_scripts(admin_principal)["available"]
    with pytest.raises(PermissionDenied):
        rpc.fuse.register_post_script(lab.owner, "normalize_per_100k.py", config)
    with pytest.raises(PermissionDenied):
        rpc.fuse.list_post_scripts(lab.owner)
    with pytest.raises(BadRequest):
        rpc.fuse.register_post_script(admin_principal, "../normalize_per_100k.py", config)
    with pytest.raises(NotFound):
        rpc.fuse.register_post_script(admin_principal, "not_installed.py", config)
    script = rpc.fuse.register_post_script(admin_principal, "normalize_per_100k.py", config)
    try:
        record = rpc.fuse.rebuild(lab.owner, set_id, config)
        assert record["status"] == "ok", record
        assert record["post_scripts"] == ["normalize_per_100k.py"]
        fused = rpc.fuse.get_fused(lab.owner, set_id, config)
        segmented = fused["reads"]["segmented"]
        for clone in fused["clones"][:5]:
            assert clone["normalized_reads"] == [pytest.approx(r * 100000 / s, abs=1e-3)
                                                 for r, s in zip(clone["reads"], segmented)]
    finally:
        rpc.fuse.remove_post_script(admin_principal, script["id"])
    assert rpc.fuse.list_post_scripts(admin_principal)["registered"] == []


def test_deleting_a_sample_that_brought_no_result_leaves_the_fused_result_alone(rpc, followed):
    """A sample created in the set whose file never came (a refused upload the client removed): its
    ``sample.deleted`` must not add a fused version (same clones, a new object) to the set's history."""
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    before = rpc.fuse.list_fused(lab.owner, set_id, config)
    empty = rpc.samples.create_sample(lab.owner, [set_id], "refused.fastq", "2024-05-06")
    rpc.samples.delete_sample(lab.owner, empty["id"], with_results=True, confirm=True)
    time.sleep(6)   # the rebuild it used to cause came within about a second
    after = rpc.fuse.list_fused(lab.owner, set_id, config)
    assert [h["id"] for h in after] == [h["id"] for h in before], after[:2]


def test_deleting_a_result_refuses_the_set(rpc, followed):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    colon_result = followed["results"][followed["colon"]["id"]]["id"]
    before = rpc.fuse.get_fused(lab.owner, set_id, config)["fused"]["id"]
    rpc.jobs.delete_result(lab.owner, colon_result)

    def refused():
        fused = rpc.fuse.get_fused(lab.owner, set_id, config)
        return fused if fused["fused"]["id"] != before and fused["fused"]["trigger"] == "result.deleted" else None

    fused = _wait(refused, timeout=60, what="re-fuse after result.deleted")
    assert fused["samples"]["id"] == [followed["spleen"]["id"]]
    assert colon_result not in fused["fused"]["result_ids"]


def test_deleting_the_samples_leaves_no_fused_result(rpc, followed):
    lab, set_id, config = followed["lab"], followed["patient"]["id"], followed["config"]
    rpc.samples.delete_sample(lab.owner, followed["spleen"]["id"], with_results=True, confirm=True)

    def gone():
        try:
            rpc.fuse.get_fused(lab.owner, set_id, config)
        except NoResults:
            return True
        return False

    _wait(gone, timeout=60, what="no fused result after sample.deleted")
    history = rpc.fuse.list_fused(lab.owner, set_id, config)
    assert history[0]["status"] == "empty" and history[0]["sample_ids"] == []
    assert {h["trigger"] for h in history[:2]} <= {"sample.deleted", "result.deleted"}
