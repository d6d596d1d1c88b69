"""Permission checks of the samples service, with :func:`services.common.permissions.can` and the access rows of
``sample_set_access`` (this service's table).

Capabilities used on sample sets: ``read`` (see a set and its samples, download), ``create`` (new sets in a
group), ``upload`` (add samples), ``admin`` (edit, delete, share; delete or edit samples), ``anon`` (see patient
identities), ``run``/``save`` (decided here for the jobs and fuse services through ``authorize``).

A caller who may not ``read`` a set gets :class:`NotFound` (it must not learn the set exists, whatever the id
it forged); one who may read it but not do the action gets :class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.exceptions import NotFound, PermissionDenied
from services.common.permissions import ACTIONS, Resource, can, granting_group_ids, group_resource, require
from services.common.principal import Principal
from services.samples.models import Sample, SampleSet, SampleSetAccess

KIND = "sample_set"


def resource(sample_set: SampleSet) -> Resource:
    """The decision function's view of ``sample_set``."""
    return Resource(KIND, sample_set.id, sample_set.access_group_ids)


def load_set(session: Session, sample_set_id, principal: Principal, action: str = "read") -> SampleSet:
    """The set ``sample_set_id`` if ``principal`` may do ``action`` on it; raises NotFound (missing, or not
    readable) or PermissionDenied (readable but action not allowed)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if isinstance(sample_set_id, bool) or not isinstance(sample_set_id, int):
        raise NotFound(f"sample set {sample_set_id!r} does not exist", {"kind": KIND, "id": repr(sample_set_id)})
    sample_set = session.get(SampleSet, sample_set_id)
    if sample_set is None:
        raise NotFound(f"sample_set {sample_set_id} does not exist", {"kind": KIND, "id": sample_set_id})
    require(principal, action, resource(sample_set))
    return sample_set


def readable_filter(principal: Principal, action: str = "read"):
    """A SQL condition on ``SampleSet`` true for the sets ``principal`` may ``action`` (None for admins: all)."""
    if principal.is_admin:
        return None
    groups = granting_group_ids(principal, action)
    if not groups:
        return sa.false()
    return SampleSet.id.in_(sa.select(SampleSetAccess.sample_set_id)
                            .where(SampleSetAccess.group_id.in_(sorted(groups))))


def may(principal: Principal, action: str, sample_set: SampleSet) -> bool:
    """``can(principal, action, resource(sample_set))``."""
    return can(principal, action, resource(sample_set))


def require_create_in_group(principal: Principal, group_id) -> int:
    """Check that ``principal`` may create sample sets owned by group ``group_id`` (a group where it has
    ``create``, or the parent of one); return the id. Raises PermissionDenied."""
    if isinstance(group_id, bool) or not isinstance(group_id, int):
        raise PermissionDenied(f"group {group_id!r} is not a group in which you may create sample sets",
                               {"group_id": repr(group_id)})
    if not can(principal, "create", group_resource(group_id)):
        raise PermissionDenied(f"you may not create sample sets in group {group_id}", {"group_id": group_id})
    return group_id


def load_sample(session: Session, sample_id, principal: Principal, action: str = "read",
                lock: bool = False) -> Sample:
    """The sample ``sample_id`` if ``principal`` may do ``action`` on at least one set holding it.

    ``lock``: read the row with ``SELECT ... FOR UPDATE`` (held until the transaction ends) so that concurrent
    changes of the sample wait for each other. Raises NotFound when it does not exist or no set holding it is
    readable, PermissionDenied when readable but ``action`` is not allowed on any of its sets.
    """
    if isinstance(sample_id, bool) or not isinstance(sample_id, int):
        raise NotFound(f"sample {sample_id!r} does not exist", {"kind": "sample", "id": repr(sample_id)})
    sample = session.get(Sample, sample_id, with_for_update=lock)
    if sample is None:
        raise NotFound(f"sample {sample_id} does not exist", {"kind": "sample", "id": sample_id})
    sets = sets_of(session, sample)
    if any(may(principal, action, s) for s in sets) or (principal.is_admin and not sets):
        return sample
    if any(may(principal, "read", s) for s in sets):
        raise PermissionDenied(f"'{action}' on sample {sample_id} is not allowed",
                               {"kind": "sample", "id": sample_id, "action": action})
    raise NotFound(f"sample {sample_id} does not exist", {"kind": "sample", "id": sample_id})


def sets_of(session: Session, sample: Sample) -> list[SampleSet]:
    """The sets holding ``sample``."""
    ids = sample.sample_set_ids
    if not ids:
        return []
    return list(session.scalars(sa.select(SampleSet).where(SampleSet.id.in_(ids)).order_by(SampleSet.id)))


def readable_ids(principal: Principal, sets: Iterable[SampleSet], action: str = "read") -> list[int]:
    """Ids of ``sets`` on which ``principal`` may do ``action``."""
    return [s.id for s in sets if may(principal, action, s)]
