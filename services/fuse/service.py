"""Fuse service: merges the analysis results of a patient's samples for follow-up (MRD), compares any results,
keeps the users' saved analyses. Entrypoints only; logic lives in rebuild.py, serving.py, post_scripts.py and
the pure fusing.py (docs/fuse.md)."""

from __future__ import annotations

import logging

from nameko.rpc import RpcProxy

from services.common.config import Settings
from services.common.db import Database
from services.common.entrypoints import event_handler, rpc
from services.common.events import Envelope, EventPublisher
from services.common.ids import require_id
from services.common.exceptions import RepseqError
from services.common.health import database_check, service_report
from services.common.principal import Principal
from services.common.storage import Storage
from services.fuse import post_scripts, rebuild, serving
from services.fuse.exceptions import BadRequest

log = logging.getLogger(__name__)


_id = require_id


class FuseService:
    """RPC ``fuse.*``. Owns the database ``<prefix>fuse``; publishes ``fused.updated``; consumes
    ``analysis.completed`` and ``result.deleted`` (jobs) and ``sample.deleted`` (samples)."""

    name = "fuse"
    db = Database()
    storage = Storage()
    publish = EventPublisher()
    samples = RpcProxy("samples")
    jobs = RpcProxy("jobs")

    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if FuseService._settings is None:
            FuseService._settings = Settings.from_env()
        return FuseService._settings

    def _rebuilder(self) -> rebuild.Rebuilder:
        return rebuild.Rebuilder(self.db, self.settings, self.samples, self.jobs, self.publish)

    def _authorize(self, principal, action: str, sample_set_id) -> Principal:
        caller = Principal.from_dict(principal)
        self.samples.authorize(principal, action, _id(sample_set_id, "sample_set_id"))
        return caller

    @rpc
    def health(self):
        """Status of this service and of what it uses: ``{"service", "status", "checks": {component: check}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {"database": database_check(self.db.get_bind())})

    # -- events ----------------------------------------------------------------------------------------------
    @event_handler("jobs", "analysis.completed")
    def on_analysis_completed(self, payload):
        """Rebuild the fused result of every set holding the analysed sample, for the analysis' config."""
        data = Envelope.parse(payload, "analysis.completed").data
        self._rebuild_quietly(data["sample_id"], [data["config_id"]], "analysis.completed",
                              [data["sample_set_id"]] if data.get("sample_set_id") else [])

    @event_handler("jobs", "result.deleted")
    def on_result_deleted(self, payload):
        """Rebuild the sets of the sample without the deleted result (its previous result, if any, is used)."""
        data = Envelope.parse(payload, "result.deleted").data
        self._rebuild_quietly(data["sample_id"], [data["config_id"]], "result.deleted",
                              [data["sample_set_id"]] if data.get("sample_set_id") else [])

    @event_handler("samples", "sample.deleted")
    def on_sample_deleted(self, payload):
        """Rebuild the sets whose fused result held a result of a deleted sample (not for ``raw_only``: its
        results are kept; not where it brought nothing, e.g. a refused upload the client removed)."""
        data = Envelope.parse(payload, "sample.deleted").data
        if data.get("raw_only"):
            return
        self._rebuild_quietly(data["sample_id"], None, "sample.deleted", data.get("sample_set_ids") or [],
                              only_where_fused=True)

    def _rebuild_quietly(self, sample_id, config_ids, trigger, extra_set_ids, only_where_fused=False):
        try:
            rows = self._rebuilder().for_sample(int(sample_id), config_ids, trigger, extra_set_ids,
                                                only_where_fused)
        except RepseqError as error:  # e.g. samples/jobs unavailable: logged, the event is not retried
            log.warning("%s of sample %s: could not rebuild: %s", trigger, sample_id, error.message)
            return
        for row in rows:
            log.info("%s of sample %s: set %s config %s -> fused %s %s (%d ms)", trigger, sample_id,
                     row.sample_set_id, row.config_id, row.id, row.status, row.duration_ms)

    # -- fused results ---------------------------------------------------------------------------------------
    @rpc
    def get_fused(self, principal, sample_set_id, config_id, fused_id=None):
        """The fused ``.vidjil`` of a set and config (``read`` on the set, checked by ``samples.authorize``).

        The latest successful fuse (or the older one ``fused_id``), enriched with ``sample_set`` (the set's
        metadata, pseudonymised unless the caller has ``anon``), current ``samples.names`` / ``timestamp``
        (sampling dates) / ``info`` / ``id`` / ``deleted``, ``fused`` (the record: id, result_ids, status, times,
        ``newer_failure`` when a later rebuild failed) and the latest saved analysis merged
        (``analysis_version``). Raises NoResults (404) when nothing was fused yet, NotFound, PermissionDenied.
        """
        self._authorize(principal, "read", sample_set_id)
        return serving.served(self.db, self.storage, self.samples, principal, sample_set_id,
                              _id(config_id, "config_id"), fused_id)

    @rpc
    def list_fused(self, principal, sample_set_id, config_id=None, limit=100):
        """Every fuse recorded for a set (one config or all), newest first: ``[{"id", "status", "sample_ids",
        "result_ids", "clone_count", "error", "trigger", "inputs_at", "created_at", ...}]`` (``read``)."""
        self._authorize(principal, "read", sample_set_id)
        return serving.history(self.db, sample_set_id, None if config_id is None else _id(config_id, "config_id"),
                               limit)

    @rpc
    def mrd_view(self, principal, sample_set_id, config_id):
        """MRD follow-up data of a set and config (``read``): ``{"samples": [{"index", "name", "sample_id",
        "sampling_date", "segmented", "limit_of_detection"}], "clones": [{"id", "name", "germline",
        "junction_aa", "reads", "shares", "detected"}], "sample_set_id", "config_id", "fused"}``; shares are
        fractions of segmented reads; the limit of detection is one read over segmented reads."""
        self._authorize(principal, "read", sample_set_id)
        fused = serving.served(self.db, self.storage, self.samples, principal, sample_set_id,
                               _id(config_id, "config_id"))
        return serving.mrd_view(fused)

    @rpc
    def rebuild(self, principal, sample_set_id, config_id):
        """Fuse a set again now (``run`` on the set); returns the record (``list_fused`` form) and publishes
        ``fused.updated``."""
        self._authorize(principal, "run", sample_set_id)
        sample_set = self.samples.get_sample_set(principal, sample_set_id)
        row = self._rebuilder().set(sample_set_id, _id(config_id, "config_id"), sample_set.get("samples") or [],
                                    "manual")
        return rebuild.fused_dict(row)

    @rpc
    def compare(self, principal, result_ids, top=None):
        """Fuse on demand any results the caller may read (ids of the jobs service, in display order), within
        ``REPSEQ_FUSE_COMPARE_TIME_LIMIT`` seconds: the fused ``.vidjil`` plus ``compare: {"result_ids", "top",
        "seconds"}``. Raises NotFound (unknown or unreadable result), BadRequest, FuseTimeLimit (504),
        InvalidResult (a result file is not valid JSON)."""
        Principal.from_dict(principal)
        return serving.compare(self.settings, self.samples, self.jobs, principal, result_ids, top)

    # -- saved analyses --------------------------------------------------------------------------------------
    @rpc
    def save_analysis(self, principal, sample_set_id, config_id, analysis, comment=""):
        """Save a new version of the user's analysis of a set and config (``save`` on the set): ``analysis`` is a
        ``.analysis`` object (``clones`` [{id, name, tag, ...}], ``clusters``, ``tags``, ``samples``, ``data``,
        ``settings``). Returns ``{"id", "version", "size", "created_at", ...}`` (no content). BadRequest,
        TooLarge, Conflict, PermissionDenied."""
        caller = self._authorize(principal, "save", sample_set_id)
        row = serving.save_analysis(self.db, self.settings, caller, sample_set_id, _id(config_id, "config_id"),
                                    analysis, comment)
        return serving.analysis_dict(row, with_content=False)

    @rpc
    def get_analysis(self, principal, sample_set_id, config_id, version=None):
        """The latest saved analysis (or ``version``) with its ``content`` (``read``); NotFound when none."""
        self._authorize(principal, "read", sample_set_id)
        row = serving.latest_analysis(self.db, sample_set_id, _id(config_id, "config_id"),
                                      None if version is None else _id(version, "version"))
        if row is None:
            raise serving.NotFound(f"no saved analysis for set {sample_set_id} and config {config_id}",
                                   {"sample_set_id": sample_set_id, "config_id": config_id, "version": version})
        return serving.analysis_dict(row)

    @rpc
    def list_analyses(self, principal, sample_set_id, config_id):
        """The saved versions of an analysis, newest first, without content (``read``)."""
        self._authorize(principal, "read", sample_set_id)
        return serving.analysis_versions(self.db, sample_set_id, _id(config_id, "config_id"))

    # -- post-processing scripts (administrators) ------------------------------------------------------------
    @rpc
    def list_post_scripts(self, principal):
        """``{"available": [file names in the scripts folder], "registered": [{"id", "name", "config_id",
        "position", "enabled", ...}]}`` (administrators)."""
        Principal.from_dict(principal).require_admin()
        from services.fuse.models import PostScript

        registered = self.db.query(PostScript).order_by(PostScript.position, PostScript.id).all()
        return {"available": post_scripts.available(self.settings),
                "registered": [post_scripts.script_dict(s) for s in registered]}

    @rpc
    def register_post_script(self, principal, name, config_id=None, position=0, description=""):
        """Run script ``name`` (a file of the scripts folder) on every fused result of ``config_id`` (null: all
        configs), ordered by ``position``. Administrators only; BadRequest / NotFound for a bad name."""
        script = post_scripts.register(self.db, self.settings, Principal.from_dict(principal), name, config_id,
                                       position, description)
        return post_scripts.script_dict(script)

    @rpc
    def remove_post_script(self, principal, script_id):
        """Unregister a post-processing script (administrators only)."""
        post_scripts.remove(self.db, Principal.from_dict(principal), script_id)
        return True
