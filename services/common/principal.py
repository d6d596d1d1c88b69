"""The principal: who makes a call. The gateway authenticates the user (the auth service resolves the session or
API token into this payload) and passes ``principal.to_dict()`` as the first argument of every RPC that reads or
changes data; the service rebuilds it with :meth:`Principal.from_dict` and decides with
:func:`services.common.permissions.can` against its own access rows.

Payload shape (JSON)::

    {"user_id": 12, "email": "a@lab.org", "is_admin": false, "impersonator": null,
     "groups": [3, 7, 12],                      # flat ids of every group the user is a member of
     "capabilities": ["create", "read", "run"],  # flat union of the capabilities of those groups
     "memberships": [                           # the same groups, each with its parent and its own capabilities
        {"id": 12, "name": "lab-lyon", "parent_id": null, "capabilities": ["create", "read", "upload"]},
        {"id": 7, "name": "lab-lyon/doctor", "parent_id": 12, "capabilities": ["anon", "read", "run"]},
        {"id": 3, "name": "public", "parent_id": null, "capabilities": ["read"]}]}

Backward compatibility: a payload without ``memberships`` (the first flat form: only ``groups`` ids and
``capabilities``) is read as "every listed group holds every listed capability, no parents". ``groups`` may also
be given as a list of membership objects (the form of docs/contracts.md). ``impersonator_id`` is accepted as an
alias of ``impersonator`` (the user id of an administrator acting as this user).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from services.common.exceptions import PermissionDenied, Unauthenticated

#: Every capability a group can hold (Vidjil section 1.7): read, create (new sample sets), upload (samples),
#: run (analyses), save (analysis files), admin (edit/delete/share), anon (see real patient identities).
CAPABILITIES: tuple[str, ...] = ("read", "create", "upload", "run", "save", "admin", "anon")


def _list_or_empty(value: Any, what: str) -> list:
    """``value`` as a list: a JSON array (list/tuple; sets from Python callers) or nothing (None or another empty
    value, as before). Anything else, a string or a number included (``list("12")`` would read groups 1 and 2),
    is a malformed principal: :class:`Unauthenticated`."""
    if not value and not isinstance(value, (int, float)) or value is None:
        return []
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise Unauthenticated(f"principal {what} must be a list", {what: repr(value)[:80]})
    return list(value)


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unauthenticated(f"principal {what} must be an integer or null", {what: repr(value)})
    return value


@dataclass(frozen=True)
class Membership:
    """One group the principal is a member of: its id, name, optional parent group id and its own capabilities.

    Capabilities are not inherited: a child group (a role such as "doctor") only has its own, but its members use
    the records to which its parent has access (see :mod:`services.common.permissions`).
    """

    id: int
    name: str = ""
    parent_id: int | None = None
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "parent_id": self.parent_id,
                "capabilities": sorted(self.capabilities)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Membership":
        """Raises :class:`Unauthenticated` when malformed (a principal that cannot be read is no principal)."""
        if not isinstance(data, Mapping):
            raise Unauthenticated("principal memberships must be objects {id, name, parent_id, capabilities}")
        group_id = _int_or_none(data.get("id"), "membership id")
        if group_id is None:
            raise Unauthenticated("principal membership has no id")
        capabilities = _list_or_empty(data.get("capabilities"), "membership capabilities")
        if not all(isinstance(c, str) for c in capabilities):
            raise Unauthenticated("principal membership capabilities must be a list of strings")
        return cls(id=group_id, name=str(data.get("name") or ""),
                   parent_id=_int_or_none(data.get("parent_id"), "membership parent_id"),
                   capabilities=frozenset(capabilities))


@dataclass(frozen=True)
class Principal:
    """An authenticated user as seen by services. Immutable; hashable.

    ``groups`` and ``capabilities`` are the flat views (ids; union of capabilities). ``memberships`` holds the
    per-group detail used by :func:`services.common.permissions.can`; when it is empty (a principal built the
    flat way) :attr:`effective_memberships` derives it from the flat fields.
    """

    user_id: int
    email: str = ""
    groups: frozenset[int] = field(default_factory=frozenset)
    capabilities: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    impersonator: int | None = None
    memberships: tuple[Membership, ...] = ()

    @classmethod
    def build(cls, user_id: int, email: str = "", memberships: Iterable[Membership] = (), is_admin: bool = False,
              impersonator: int | None = None) -> "Principal":
        """A principal from its memberships; the flat ``groups``/``capabilities`` are derived from them."""
        ordered = tuple(sorted(memberships, key=lambda m: m.id))
        return cls(user_id=user_id, email=email, groups=frozenset(m.id for m in ordered),
                   capabilities=frozenset(c for m in ordered for c in m.capabilities), is_admin=is_admin,
                   impersonator=impersonator, memberships=ordered)

    @property
    def effective_memberships(self) -> tuple[Membership, ...]:
        """``memberships``, or for a flat principal one membership per group with every flat capability."""
        if self.memberships:
            return self.memberships
        return tuple(Membership(id=g, capabilities=self.capabilities) for g in sorted(self.groups))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for RPC payloads (lists sorted so payloads are stable)."""
        data = {
            "user_id": self.user_id,
            "email": self.email,
            "groups": sorted(self.groups),
            "capabilities": sorted(self.capabilities),
            "is_admin": self.is_admin,
            "impersonator": self.impersonator,
        }
        if self.memberships:
            data["memberships"] = [m.to_dict() for m in self.memberships]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | "Principal" | None) -> "Principal":
        """Rebuild from :meth:`to_dict` output (or the flat / contracts.md forms, see the module docstring).

        Raises :class:`Unauthenticated` if missing or malformed.
        """
        if isinstance(data, Principal):
            return data
        if not isinstance(data, Mapping):
            raise Unauthenticated("this call needs a principal (the calling user)")
        user_id = data.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise Unauthenticated("principal has no valid user_id", {"user_id": repr(user_id)})
        raw_groups = _list_or_empty(data.get("groups"), "groups")
        raw_memberships = data.get("memberships")
        if raw_memberships is None and raw_groups and all(isinstance(g, Mapping) for g in raw_groups):
            raw_memberships, raw_groups = raw_groups, []
        raw_memberships = _list_or_empty(raw_memberships, "memberships")
        raw_capabilities = _list_or_empty(data.get("capabilities"), "capabilities")
        memberships = tuple(sorted((Membership.from_dict(m) for m in raw_memberships), key=lambda m: m.id))
        try:
            groups = frozenset(int(g) for g in raw_groups) | {m.id for m in memberships}
            capabilities = frozenset(str(c) for c in raw_capabilities) | {
                c for m in memberships for c in m.capabilities}
        except (TypeError, ValueError):
            raise Unauthenticated("principal groups must be integers and capabilities strings") from None
        impersonator = data.get("impersonator", data.get("impersonator_id"))
        if impersonator is not None and (not isinstance(impersonator, int) or isinstance(impersonator, bool)):
            raise Unauthenticated("principal impersonator must be a user id or null")
        if memberships and groups != {m.id for m in memberships}:
            # flat ids beyond the memberships: keep them, with the flat capabilities (the flat meaning)
            extra = tuple(Membership(id=g, capabilities=capabilities) for g in groups - {m.id for m in memberships})
            memberships = tuple(sorted(memberships + extra, key=lambda m: m.id))
        return cls(user_id=user_id, email=str(data.get("email") or ""), groups=groups,
                   capabilities=capabilities, is_admin=data.get("is_admin") is True, impersonator=impersonator,
                   memberships=memberships)

    def membership(self, group_id: int) -> Membership | None:
        """The membership of ``group_id`` (``None`` if the principal is not a member)."""
        for member in self.effective_memberships:
            if member.id == group_id:
                return member
        return None

    def has_capability(self, capability: str) -> bool:
        """True if some group of the principal grants ``capability`` (administrators have every capability).

        This says nothing about a particular record: use :func:`services.common.permissions.can` for that.
        """
        return self.is_admin or capability in self.capabilities

    def in_any_group(self, groups: Iterable[int]) -> bool:
        """True if the principal belongs to at least one of ``groups``."""
        return not self.groups.isdisjoint(groups)

    def require_capability(self, capability: str) -> None:
        """Raise :class:`PermissionDenied` unless :meth:`has_capability`."""
        if not self.has_capability(capability):
            raise PermissionDenied(f"capability '{capability}' required", {"capability": capability})

    def require_admin(self) -> None:
        """Raise :class:`PermissionDenied` unless the principal is an administrator."""
        if not self.is_admin:
            raise PermissionDenied("administrator rights required")


def require_principal(data: Mapping[str, Any] | None) -> Principal:
    """Shorthand for :meth:`Principal.from_dict` at the top of an RPC method."""
    return Principal.from_dict(data)
