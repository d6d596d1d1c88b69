"""pydantic payloads of the fuse service: the job handed to the fuse process, saved analyses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.fuse.fusing import DEFAULT_TOP, SampleInfo


class FuseInput(BaseModel):
    """One result to fuse: where its ``.vidjil`` is stored and what the fused file says about its sample."""

    model_config = ConfigDict(extra="forbid")

    bucket: str
    key: str
    name: str
    original_name: str | None = None
    sample_id: int | None = None
    result_id: int | None = None
    sampling_date: str | None = None
    info: str | None = None
    sample_set_id: int | None = None

    def sample_info(self) -> SampleInfo:
        return SampleInfo(name=self.name, original_name=self.original_name, sample_id=self.sample_id,
                          result_id=self.result_id, sampling_date=self.sampling_date, info=self.info,
                          sample_set_id=self.sample_set_id)


class FuseJob(BaseModel):
    """What :mod:`services.fuse.runner` does: fuse ``inputs`` (display order), run ``post_scripts`` (absolute
    paths, in order, each with ``script_time_limit`` seconds), then store the result at ``output_bucket`` /
    ``output_key`` or, when they are null, print it."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[FuseInput] = Field(min_length=1)
    top: int = Field(default=DEFAULT_TOP, ge=0)
    output_bucket: str | None = None
    output_key: str | None = None
    post_scripts: list[str] = Field(default_factory=list)
    script_time_limit: float = Field(default=60.0, gt=0)


class AnalysisContent(BaseModel):
    """A saved analysis (Vidjil ``.analysis``): only the keys below are kept; values are checked for shape.

    ``clones``: ``[{"id", "name"?, "tag"?, "label"?, ...}]``; ``clusters``: lists of clone ids (first =
    representative); ``tags``: ``{"names": {"0".."7": name}, "hide": [...]}``; ``samples``: display names and
    order; ``data``: extra per-sample series; ``settings``: display settings of the browser (free object).
    """

    model_config = ConfigDict(extra="ignore")

    vidjil_json_version: str | None = None
    producer: str | None = None
    timestamp: str | None = None
    clones: list[dict] = Field(default_factory=list)
    clusters: list[list[str]] = Field(default_factory=list)
    tags: dict = Field(default_factory=dict)
    samples: dict = Field(default_factory=dict)
    data: dict = Field(default_factory=dict)
    settings: dict = Field(default_factory=dict)

    @field_validator("clones")
    @classmethod
    def _clone_ids(cls, clones: list[dict]) -> list[dict]:
        for clone in clones:
            if not isinstance(clone.get("id"), str):
                raise ValueError("every clone of an analysis needs a string 'id'")
        return clones
