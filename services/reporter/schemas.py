"""pydantic payloads of the reporter service's RPCs: the arguments are checked here, and a wrong value becomes
:class:`services.common.exceptions.BadRequest` naming the field (HTTP 400).

News text is plain text, never markup: :func:`plain_text` keeps what an administrator typed (``<b>`` stays the
four characters ``<b>``) and only removes what no reader can see or what could disguise text (control characters,
lone surrogates, bidirectional overrides). Pages escape it when they show it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.exceptions import BadRequest

TITLE_MAX = 200
CONTENT_MAX = 4000
#: Bidirectional embedding/override/isolate controls: they can make text read differently from what it is.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
Priority = Literal["urgent", "warning", "info"]


def plain_text(value: Any, *, multiline: bool) -> str:
    """``value`` as clean plain text: NFC-normalised, line ends as ``\\n`` (or single spaces when not
    ``multiline``), without control characters (except ``\\n``, ``\\t``), lone surrogates and bidirectional
    overrides, stripped. Raises ``ValueError`` if ``value`` is not a string."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = _BIDI_CONTROLS.sub("", text)
    kept = []
    for char in text:
        if char in "\n\t":
            kept.append(char if multiline else " ")
        elif unicodedata.category(char) not in ("Cc", "Cs"):  # Cs: lone surrogates (no UTF-8 form)
            kept.append(char)
    text = "".join(kept)
    if multiline:
        text = re.sub(r"\n{3,}", "\n\n", text)  # at most one empty line in a row
    else:
        text = re.sub(r"\s{2,}", " ", text)
    return text.strip()


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewsFields(_Payload):
    """A new news item: ``title`` (1-200 characters), ``content`` (0-4000), ``priority`` (urgent, warning or
    info), ``expires_on`` (ISO date, the last day it is shown, UTC)."""

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    content: str = Field(default="", max_length=CONTENT_MAX)
    priority: Priority = "info"
    expires_on: date

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value):
        return plain_text(value, multiline=False)

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, value):
        return plain_text("" if value is None else value, multiline=True)

    @field_validator("expires_on", mode="before")
    @classmethod
    def _expires_on(cls, value):
        return _iso_date(value)


class NewsChanges(_Payload):
    """Changes to a news item: any of the fields of :class:`NewsFields` (a field left out is kept)."""

    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    content: str | None = Field(default=None, max_length=CONTENT_MAX)
    priority: Priority | None = None
    expires_on: date | None = None

    @field_validator("title", "content", "priority", "expires_on", mode="before")
    @classmethod
    def _clean(cls, value, info):
        if value is None:
            raise ValueError("must not be null (leave the field out to keep it)")
        if info.field_name == "title":
            return plain_text(value, multiline=False)
        if info.field_name == "content":
            return plain_text(value, multiline=True)
        if info.field_name == "expires_on":
            return _iso_date(value)
        return value


#: Dates an expiry may take (MariaDB's DATE starts at year 1000; earlier news would make no sense anyway).
EARLIEST_DATE = date(2000, 1, 1)


def _iso_date(value: Any) -> date:
    """Dates travel as ``YYYY-MM-DD`` strings; a date-time or another shape is refused (no silent truncation)."""
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("is not a valid date") from None
    else:
        raise ValueError("must be a date YYYY-MM-DD")
    if parsed < EARLIEST_DATE:
        raise ValueError(f"must be on or after {EARLIEST_DATE.isoformat()}")
    return parsed


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: Any) -> Model:
    """Validate ``data`` into ``model``; raise :class:`BadRequest` with ``details = {"fields": {name: message}}``."""
    if not isinstance(data, dict):
        raise BadRequest("the fields must be an object", {"fields": {"payload": "must be an object"}})
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = {".".join(str(p) for p in e["loc"]) or "payload": e["msg"].removeprefix("Value error, ")
                  for e in error.errors(include_url=False)}
        first = next(iter(fields.items()))
        raise BadRequest(f"{first[0]}: {first[1]}", {"fields": fields}) from None
