"""pydantic payloads of the samples service's RPCs (validation of what callers send).

Dates are ``YYYY-MM-DD`` strings (or ``datetime.date``); names may not contain ``|`` (Vidjil S1) nor control
characters. A validation problem raises :class:`~services.common.exceptions.BadRequest` whose ``details`` has
``errors``: ``[{"field", "message"}]`` (see :func:`parse`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.exceptions import BadRequest


def _clean_text(value: Any, field: str, max_length: int, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field} must be text")
    text = value.strip()
    if any(ord(ch) < 32 for ch in text):
        raise ValueError(f"{field} may not contain control characters")
    if "|" in text:
        raise ValueError(f"{field} may not contain '|'")
    if len(text) > max_length:
        raise ValueError(f"{field} is longer than {max_length} characters")
    return text


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    info: str = Field("", max_length=65535)

    @field_validator("info", mode="before")
    @classmethod
    def _info(cls, value):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("info must be text")
        if "\x00" in value:
            raise ValueError("info may not contain NUL characters")
        return value


class PatientFields(_Fields):
    """Fields of a patient: ``first_name``, ``last_name`` (both required), ``birth_date``, ``label``, ``info``."""

    first_name: str
    last_name: str
    birth_date: date | None = None
    label: str | None = None

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _names(cls, value, info):
        return _clean_text(value, info.field_name, 255, True)

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, value, info):
        return _clean_text(value, info.field_name, 255, False)

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, value):
        if value is not None and not (date(1880, 1, 1) <= value <= date.today()):
            raise ValueError("birth_date must be between 1880-01-01 and today")
        return value


class RunFields(_Fields):
    """Fields of a run: ``name`` (required), ``run_date``, ``sequencer``, ``pcr``, ``label``, ``info``."""

    name: str
    run_date: date | None = None
    sequencer: str | None = None
    pcr: str | None = None
    label: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value, info):
        return _clean_text(value, info.field_name, 255, True)

    @field_validator("sequencer", "pcr", "label", mode="before")
    @classmethod
    def _optional(cls, value, info):
        return _clean_text(value, info.field_name, 255, False)


class GenericFields(_Fields):
    """Fields of a generic set: ``name`` (required), ``info``."""

    name: str

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value, info):
        return _clean_text(value, info.field_name, 255, True)


FIELDS_BY_KIND: dict[str, type[_Fields]] = {"patient": PatientFields, "run": RunFields, "generic": GenericFields}


class SampleFields(BaseModel):
    """Metadata of a sample: ``sampling_date``, ``info``, ``pcr``, ``sequencer``, ``producer``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sampling_date: date | None = None
    info: str = Field("", max_length=65535)
    pcr: str | None = None
    sequencer: str | None = None
    producer: str | None = None

    @field_validator("info", mode="before")
    @classmethod
    def _info(cls, value):
        return "" if value is None else value

    @field_validator("pcr", "sequencer", "producer", mode="before")
    @classmethod
    def _optional(cls, value, info):
        return _clean_text(value, info.field_name, 255, False)


class ListQuery(BaseModel):
    """Query of ``list_sample_sets``.

    ``kind``: patient | run | generic | None (all). ``search``: words and ``#tags`` (all tags required, every word
    must match a name, label, info or the id). ``tags``: more required tags. ``page`` (1-based), ``per_page``
    (1-200, default 50). ``sort``: name | date | created | id (``date``: birth date of patients, run date of runs,
    creation otherwise); ``reverse`` for descending.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["patient", "run", "generic"] | None = None
    search: str = Field("", max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(50, ge=1, le=200)
    sort: Literal["name", "date", "created", "id"] = "created"
    reverse: bool = True


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any, what: str = "request") -> Model:
    """Validate ``data`` with ``model``; raise :class:`BadRequest` listing every problem
    (``details={"errors": [{"field", "message"}]}``)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be an object", {"errors": [{"field": "", "message": "not an object"}]})
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors = []
        for item in error.errors():
            field = ".".join(str(p) for p in item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            errors.append({"field": field, "message": message})
        summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
        raise BadRequest(f"invalid {what}: {summary}", {"errors": errors}) from None
