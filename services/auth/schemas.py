"""pydantic payloads of the auth service's RPCs: the arguments are checked here, and a wrong value becomes
:class:`services.common.exceptions.BadRequest` naming the field (HTTP 400)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.exceptions import BadRequest
from services.common.principal import CAPABILITIES

#: Deliberately simple: one '@', no spaces, a dot in the domain. Full RFC 5322 checking rejects nothing useful.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GROUP_NAME_RE = re.compile(r"^[\w][\w .:/@+-]{0,99}$")
AUDIT_ACTIONS = (
    "admin_initialised", "login", "login_failed", "login_refused", "logout", "session_ended",
    "impersonation_start", "impersonation_stop", "user_created", "user_updated", "password_changed",
    "password_set", "reset_token_created", "password_reset", "api_token_created", "api_token_revoked",
    "group_created", "group_updated", "membership_added", "membership_removed", "capabilities_changed",
)


def normalise_email(value: Any) -> str:
    """Lower-cased, stripped e-mail; raises ``ValueError`` when it does not look like one."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    email = value.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ValueError("is not an e-mail address")
    return email


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewUser(_Payload):
    # the password is not a field here: whitespace in a password is significant (the model strips strings)
    email: str
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value):
        return normalise_email(value)


class UserChanges(_Payload):
    email: str | None = None
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    is_active: bool | None = None

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value):
        return None if value is None else normalise_email(value)


def _capability_list(value):
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError("must be a list of capability names")
    unknown = sorted({str(c) for c in value} - set(CAPABILITIES))
    if unknown:
        raise ValueError(f"unknown capabilities {unknown}: use {', '.join(CAPABILITIES)}")
    return sorted(set(value))


class NewGroup(_Payload):
    name: str
    parent_id: int | None = None
    capabilities: list[str] | None = None
    description: str = Field(default="", max_length=255)

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        if not GROUP_NAME_RE.match(value):
            raise ValueError("must be 1-100 letters, digits, spaces or . : / @ + - _ (starting with a letter or "
                             "digit)")
        return value

    _capabilities = field_validator("capabilities", mode="before")(lambda cls, v: _capability_list(v))


class GroupChanges(_Payload):
    name: str | None = None
    description: str | None = Field(default=None, max_length=255)

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        if value is not None and not GROUP_NAME_RE.match(value):
            raise ValueError("must be 1-100 letters, digits, spaces or . : / @ + - _")
        return value


class Capabilities(_Payload):
    capabilities: list[str]

    _capabilities = field_validator("capabilities", mode="before")(lambda cls, v: _capability_list(v))


class AuditQuery(_Payload):
    action: str | None = None
    user_id: int | None = Field(default=None, ge=1)
    group_id: int | None = Field(default=None, ge=1)
    since: str | None = None   # ISO 8601, UTC
    until: str | None = None
    before_id: int | None = Field(default=None, ge=1)
    limit: int = Field(default=100, ge=1, le=1000)

    @field_validator("action")
    @classmethod
    def _action(cls, value):
        if value is not None and value not in AUDIT_ACTIONS:
            raise ValueError(f"unknown action: one of {', '.join(AUDIT_ACTIONS)}")
        return value


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], data: dict[str, Any]) -> Model:
    """Validate ``data`` into ``model``; raise :class:`BadRequest` with ``details = {"fields": {name: message}}``."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = {".".join(str(p) for p in e["loc"]) or "payload": e["msg"].removeprefix("Value error, ")
                  for e in error.errors()}
        first = next(iter(fields.items()))
        raise BadRequest(f"{first[0]}: {first[1]}", {"fields": fields}) from None
