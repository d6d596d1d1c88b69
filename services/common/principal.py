"""The principal: who makes a call. The gateway authenticates the user and passes ``principal.to_dict()`` as the
first argument of every RPC that reads or changes data; the service rebuilds it with :meth:`Principal.from_dict`
and checks it against its own records (group membership of a sample set, ownership, ...).

Payload shape (JSON)::

    {"user_id": 12, "email": "a@lab.org", "groups": [3, 7], "capabilities": ["upload", "run"],
     "is_admin": false, "impersonator": null}

``capabilities`` are global capability names granted by the auth service; per-object permissions are decided by
the service that owns the object. ``impersonator`` is the user id of an administrator acting as this user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from services.common.exceptions import PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Principal:
    """An authenticated user as seen by services. Immutable; hashable."""

    user_id: int
    email: str = ""
    groups: frozenset[int] = field(default_factory=frozenset)
    capabilities: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    impersonator: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for RPC payloads (lists sorted so payloads are stable)."""
        return {
            "user_id": self.user_id,
            "email": self.email,
            "groups": sorted(self.groups),
            "capabilities": sorted(self.capabilities),
            "is_admin": self.is_admin,
            "impersonator": self.impersonator,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | "Principal" | None) -> "Principal":
        """Rebuild from :meth:`to_dict` output. Raises :class:`Unauthenticated` if missing or malformed."""
        if isinstance(data, Principal):
            return data
        if not isinstance(data, Mapping):
            raise Unauthenticated("this call needs a principal (the calling user)")
        user_id = data.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise Unauthenticated("principal has no valid user_id", {"user_id": repr(user_id)})
        try:
            groups = frozenset(int(g) for g in data.get("groups") or ())
            capabilities = frozenset(str(c) for c in data.get("capabilities") or ())
        except (TypeError, ValueError):
            raise Unauthenticated("principal groups must be integers and capabilities strings") from None
        impersonator = data.get("impersonator")
        if impersonator is not None and not isinstance(impersonator, int):
            raise Unauthenticated("principal impersonator must be a user id or null")
        return cls(user_id=user_id, email=str(data.get("email") or ""), groups=groups,
                   capabilities=capabilities, is_admin=data.get("is_admin") is True, impersonator=impersonator)

    def has_capability(self, capability: str) -> bool:
        """True if granted ``capability`` (administrators have every capability)."""
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
