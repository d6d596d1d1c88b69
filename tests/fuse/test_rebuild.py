"""What the fuse service rebuilds and serves (services/fuse/rebuild.py, serving.py) on the real fuse database,
with the samples/jobs services and the child process replaced by small fakes (they are tested elsewhere)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from services.common.db import session_scope
from services.common.exceptions import NotFound
from services.common.models import utcnow
from services.fuse.exceptions import InvalidResult, NoResults
from services.fuse.models import FusedResult
from services.fuse.rebuild import Rebuilder, display_order
from services.fuse.serving import history, latest_failure, served_row

_sets = itertools.count(880_000)


class FakeSamples:
    """``sets_of_sample`` over a dict ``{set_id: [sample dicts]}``; deleted samples raise NotFound."""

    def __init__(self, sets):
        self.sets = sets

    def sets_of_sample(self, sample_id):
        found = [{"sample_set_id": set_id, "kind": "patient", "access_group_ids": [1], "samples": samples}
                 for set_id, samples in self.sets.items() if any(s["sample_id"] == sample_id for s in samples)]
        if not found:
            raise NotFound(f"sample {sample_id} does not exist")
        return found


class FakeJobs:
    def __init__(self, results):
        self.results = results  # sample_id -> result dict

    def latest_results(self, sample_ids, config_id):
        return [self.results[s] for s in sorted(sample_ids) if s in self.results]


def _sample(sample_id, date):
    return {"sample_id": sample_id, "sampling_date": date, "filename": f"s{sample_id}.fastq", "status": "ready"}


def _result(sample_id):
    return {"id": 5000 + sample_id, "sample_id": sample_id, "bucket": "b", "vidjil_key": f"r/{sample_id}.vidjil"}


class Recorder:
    """Stands for the child process: records each job; fails for keys listed in ``broken``."""

    def __init__(self):
        self.jobs = []
        self.broken = set()

    def __call__(self, job, time_limit):
        self.jobs.append(job)
        for item in job.inputs:
            if item.key in self.broken:
                raise InvalidResult(f"{item.name}: not valid JSON (Expecting value at line 1 column 1)")
        return {"ok": True, "bucket": job.output_bucket, "key": job.output_key, "size": 10, "sha256": "0" * 64,
                "clones": 3 * len(job.inputs), "samples": len(job.inputs)}


@pytest.fixture
def world(settings, migrated):
    set_id, other_set = next(_sets), next(_sets)
    base = 770_000 + set_id % 1000 * 10
    samples = FakeSamples({set_id: [_sample(base + 1, "2024-05-01"), _sample(base + 2, "2024-01-01"),
                                    _sample(base + 3, None)],
                           other_set: [_sample(base + 2, "2024-01-01")]})
    jobs = FakeJobs({base + 1: _result(base + 1), base + 2: _result(base + 2)})
    events, run = [], Recorder()
    return {"settings": settings, "set": set_id, "other": other_set, "base": base, "samples": samples,
            "jobs": jobs, "events": events, "run": run}


def _rebuilder(session, world):
    return Rebuilder(session, world["settings"], world["samples"], world["jobs"],
                     lambda name, data: world["events"].append((name, data)), run=world["run"])


def test_display_order_is_by_sampling_date_then_id():
    ordered = display_order([_sample(3, None), _sample(2, "2024-02-01"), _sample(1, "2024-02-01"),
                             _sample(4, "2023-12-31")])
    assert [s["sample_id"] for s in ordered] == [4, 1, 2, 3]


def test_rebuild_for_sample_fuses_every_set_holding_it(settings, world):
    base = world["base"]
    with session_scope(settings, "fuse") as session:
        rows = _rebuilder(session, world).for_sample(base + 2, [7], "analysis.completed")
        assert sorted(r.sample_set_id for r in rows) == sorted([world["set"], world["other"]])
        main = next(r for r in rows if r.sample_set_id == world["set"])
        assert main.status == "ok" and main.sample_ids == [base + 2, base + 1]  # date order; no result for +3
        assert main.result_ids == [5000 + base + 2, 5000 + base + 1]
        assert main.object_key.startswith(f"fused/set-{world['set']}/config-7/")
        assert served_row(session, world["set"], 7).id == main.id
    job = world["run"].jobs[0]
    assert [i.name for i in job.inputs] == [f"s{base + 2}.fastq", f"s{base + 1}.fastq"]
    assert job.top == settings.fuse_top
    names = [name for name, _ in world["events"]]
    assert names == ["fused.updated", "fused.updated"]
    data = dict(world["events"][0][1])
    assert set(data) == {"sample_set_id", "config_id", "fused_id", "status", "sample_ids", "result_ids",
                         "clone_count", "trigger", "error"}


def test_failed_rebuild_keeps_the_previous_result_served(settings, world):
    base = world["base"]
    with session_scope(settings, "fuse") as session:
        rebuilder = _rebuilder(session, world)
        good = rebuilder.for_sample(base + 1, [7], "analysis.completed")[0]
        world["run"].broken.add(f"r/{base + 1}.vidjil")
        bad = rebuilder.for_sample(base + 1, [7], "analysis.completed")[0]
        assert bad.status == "failed" and bad.error_code == "invalid_result" and "not valid JSON" in bad.error
        assert served_row(session, world["set"], 7).id == good.id
        assert latest_failure(session, world["set"], 7, good).id == bad.id
        assert [h["id"] for h in history(session, world["set"], 7)][:2] == [bad.id, good.id]
    assert world["events"][-1][1]["status"] == "failed"


def test_the_rebuild_that_started_last_is_served(settings, world):
    with session_scope(settings, "fuse") as session:
        now = utcnow()
        started_late = FusedResult(sample_set_id=world["set"], config_id=8, status="ok", bucket="b", object_key="k1",
                                   inputs_at=now, sample_ids=[], result_ids=[], post_scripts=[], error="")
        session.add(started_late)
        session.flush()
        finished_late = FusedResult(sample_set_id=world["set"], config_id=8, status="ok", bucket="b",
                                    object_key="k2", inputs_at=now - timedelta(seconds=1), sample_ids=[],
                                    result_ids=[], post_scripts=[], error="")
        session.add(finished_late)
        session.flush()
        assert finished_late.id > started_late.id
        assert served_row(session, world["set"], 8).id == started_late.id


def test_deleted_sample_rebuilds_its_sets_from_their_other_samples(settings, world):
    base = world["base"]
    with session_scope(settings, "fuse") as session:
        rebuilder = _rebuilder(session, world)
        rebuilder.for_sample(base + 1, [7], "analysis.completed")
        # sample +1 is deleted with its results: the samples service no longer knows it
        world["samples"].sets[world["set"]] = [s for s in world["samples"].sets[world["set"]]
                                               if s["sample_id"] != base + 1]
        del world["jobs"].results[base + 1]
        rows = rebuilder.for_sample(base + 1, None, "sample.deleted", extra_set_ids=[world["set"]])
        assert [(r.sample_set_id, r.config_id, r.status) for r in rows] == [(world["set"], 7, "ok")]
        assert rows[0].sample_ids == [base + 2]
        # then the last sample with a result goes too: nothing left to serve
        world["samples"].sets[world["set"]] = [s for s in world["samples"].sets[world["set"]]
                                               if s["sample_id"] != base + 2]
        world["samples"].sets[world["other"]] = []
        del world["jobs"].results[base + 2]
        rows = rebuilder.for_sample(base + 2, None, "sample.deleted", extra_set_ids=[world["set"], world["other"]])
        assert {r.status for r in rows} == {"empty"}
        with pytest.raises(NoResults):
            served_row(session, world["set"], 7)
