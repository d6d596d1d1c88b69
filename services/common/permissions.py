"""The one decision rule of RepSeq: :func:`can` (who may do what on which record).

It keeps the meaning of Vidjil's permission model (reference: vidjil-server-features.md section 1.7,
``APP/VidjilAuth.py get_permission``) and fixes its gaps:

- a principal marked administrator (member of the ``admin`` group, decided by the auth service) may do everything;
- a *resource* is ``Resource(kind, id, access_group_ids)``: the ids of the groups that own or see the record (its
  *access rows*, kept by the service that owns the record: samples for sample sets, jobs for analysis configs and
  pre-processes, auth for groups). ``resource=None`` asks "may I create a new one": the capability alone decides;
- otherwise the action is allowed iff some group G of the principal holds capability ``action`` **and**
  (G **or the parent of G**) is among ``access_group_ids``. Access flows from a parent (an organisation) to its
  child groups (roles such as technician or doctor), never the other way; capabilities are never inherited;
- the public group is an ordinary group of which every user is a member: access rows given to it make a record
  visible to everyone, with the public group's own capabilities (``read`` by default).

Gaps of Vidjil fixed here: the capability is checked per group (Vidjil looked a capability up without its table,
so ``create`` on sample sets also allowed creating pre-processes); the public group is not a hard-coded id;
unknown actions are a programming error (``ValueError``), never a silent "no".

Services call :func:`can` (or :func:`require`) themselves with the access rows from their own tables; the
gateway never decides. For listing queries, :func:`granting_group_ids` gives the group ids whose access rows
let the principal do ``action`` (``WHERE access.group_id IN (...)``): ``can`` is defined through it, so a list
and a single check always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from services.common.exceptions import NotFound, PermissionDenied
from services.common.principal import CAPABILITIES, Principal

#: The actions :func:`can` decides: exactly the group capabilities.
ACTIONS: frozenset[str] = frozenset(CAPABILITIES)


@dataclass(frozen=True)
class Resource:
    """A record as the decision function sees it.

    ``kind``: the record's kind ("sample_set", "config", "pre_process", "group", ...), used in messages only.
    ``id``: its id. ``access_group_ids``: ids of the groups holding an access row on it (owners and sharers).
    """

    kind: str
    id: int | None
    access_group_ids: frozenset[int] = field(default_factory=frozenset)

    def __init__(self, kind: str, id: int | None, access_group_ids: Iterable[int] = ()):
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "access_group_ids", frozenset(int(g) for g in access_group_ids))


def group_resource(group_id: int) -> Resource:
    """The resource "group ``group_id``" for questions such as "may I create a sample set owned by this group":
    ``can(p, "create", group_resource(g))`` is true when a group of the principal with ``create`` is ``g`` or a
    child of ``g`` (Vidjil ``can_create_sample_set_in_group``)."""
    return Resource("group", group_id, (group_id,))


def _principal(principal: Principal | Mapping[str, Any] | None) -> Principal | None:
    if principal is None or isinstance(principal, Principal):
        return principal
    return Principal.from_dict(principal)


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(CAPABILITIES)}")


def granting_group_ids(principal: Principal | Mapping[str, Any] | None, action: str) -> frozenset[int]:
    """The ids of the groups whose access rows let ``principal`` do ``action``: for every group G of the
    principal holding capability ``action``, G itself and its parent.

    Administrators get an empty set here (they need no access rows: test ``principal.is_admin`` first, or use
    :func:`can`). Raises ``ValueError`` for an unknown action.
    """
    _check_action(action)
    principal = _principal(principal)
    if principal is None:
        return frozenset()
    granting: set[int] = set()
    for member in principal.effective_memberships:
        if action in member.capabilities:
            granting.add(member.id)
            if member.parent_id is not None:
                granting.add(member.parent_id)
    return frozenset(granting)


def can(principal: Principal | Mapping[str, Any] | None, action: str, resource: Resource | None) -> bool:
    """True if ``principal`` may do ``action`` on ``resource`` (see the module docstring for the rule).

    ``principal``: a :class:`Principal` or its dict (``None``: nobody, always False).
    ``action``: one of :data:`ACTIONS` (``ValueError`` otherwise).
    ``resource``: a :class:`Resource`, or ``None`` for "create a new record" (capability alone).
    """
    _check_action(action)
    principal = _principal(principal)
    if principal is None:
        return False
    if principal.is_admin:
        return True
    if resource is None:
        return any(action in member.capabilities for member in principal.effective_memberships)
    return not granting_group_ids(principal, action).isdisjoint(resource.access_group_ids)


def require(principal: Principal | Mapping[str, Any] | None, action: str, resource: Resource | None,
            hide: bool = True) -> None:
    """Raise unless :func:`can`. The error is :class:`NotFound` when ``hide`` and the principal may not even
    ``read`` the record (it must not learn that the record exists), else :class:`PermissionDenied`.

    Messages name the kind and id of the record and the action, never its content.
    """
    if can(principal, action, resource):
        return
    if resource is None:
        raise PermissionDenied(f"capability '{action}' required", {"action": action})
    details = {"kind": resource.kind, "id": resource.id}
    if hide and not can(principal, "read", resource):
        raise NotFound(f"{resource.kind} {resource.id} does not exist", details)
    raise PermissionDenied(f"'{action}' on {resource.kind} {resource.id} is not allowed", {**details,
                                                                                          "action": action})


def creatable_group_ids(principal: Principal | Mapping[str, Any] | None) -> frozenset[int]:
    """Groups in which the principal may create records (sample sets): :func:`granting_group_ids` for
    ``create``. Vidjil offers the parent (organisation) rather than the role group in the creation form."""
    return granting_group_ids(principal, "create")


__all__ = ["ACTIONS", "CAPABILITIES", "Resource", "can", "require", "granting_group_ids", "group_resource",
           "creatable_group_ids"]
