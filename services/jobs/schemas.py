"""pydantic payloads of the jobs service's RPCs (validated at the boundary; errors become BadRequest)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.exceptions import BadRequest
from services.jobs.states import OUTCOMES

PROGRAMS = ("vdj", "none", "command")


class ConfigFields(BaseModel):
    """Fields of an analysis config (create / update)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    program: str = "vdj"
    command: str = Field(default="", max_length=4000)
    fuse_command: str = Field(default="", max_length=4000)
    description: str = Field(default="", max_length=4000)
    classification: str = Field(default="", max_length=100)
    public: bool = False
    time_limit_s: int | None = Field(default=None, gt=0)
    memory_limit_mb: int | None = Field(default=None, ge=64)
    group_ids: list[int] = Field(default_factory=list)

    @field_validator("program")
    @classmethod
    def _program(cls, value: str) -> str:
        if value not in PROGRAMS:
            raise ValueError(f"program must be one of {', '.join(PROGRAMS)}")
        return value


class PreProcessFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    command: str = Field(min_length=1, max_length=4000)
    description: str = Field(default="", max_length=4000)
    public: bool = False
    group_ids: list[int] = Field(default_factory=list)

    @field_validator("command")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        missing = [p for p in ("&file1&", "&file2&", "&result&") if p not in value]
        if missing:
            raise ValueError(f"the command template lacks {', '.join(missing)}")
        return value


class WorkerInfo(BaseModel):
    """Who a worker is (sent with every worker call)."""

    worker_id: str = Field(min_length=1, max_length=200)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    current_job_id: int | None = None


class ReadStats(BaseModel):
    total: int | None = None
    segmented: int | None = None
    by_locus: dict[str, int] = Field(default_factory=dict)
    clones: int | None = None


class Outcome(BaseModel):
    """What a worker reports at the end of a run."""

    state: str
    reason: str = Field(default="", max_length=4000)
    bucket: str | None = None
    vidjil_key: str | None = None
    airr_key: str | None = None
    log_key: str | None = None
    extra_key: str | None = None
    output_key: str | None = None
    stats: ReadStats = Field(default_factory=ReadStats)

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        if value not in OUTCOMES:
            raise ValueError(f"state must be one of {', '.join(sorted(OUTCOMES))}")
        return value



def parse(model: type[BaseModel], data: Any) -> BaseModel:
    """Validate ``data`` into ``model``; raise BadRequest with the first problem, field named."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        raise BadRequest(f"{where}: {first.get('msg')}", {"field": where}) from None
