"""Sample sets (patients, runs, generic sets): create, edit, delete, share, batch-create, list and search
(Vidjil section 2.2, S1-S9, S19).

Functions take the worker's ``session``, the caller's :class:`Principal` and an :class:`Outbox` for what must
happen after the commit; they return JSON-safe dicts. Permission rules: :mod:`services.samples.access`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.exceptions import BadRequest, NotFound, PermissionDenied
from services.common.permissions import ACTIONS, can
from services.common.principal import Principal
from services.samples import access, audit, tags
from services.samples.models import (GENERIC, PATIENT, RUN, SAMPLE_SET_KINDS, Sample, SampleSet, SampleSetAccess,
                                     SampleSetMembership, SampleSetTag, Tag)
from services.samples.outbox import Outbox
from services.samples.pseudonyms import patient_display
from services.samples.schemas import FIELDS_BY_KIND, ListQuery, parse

#: Columns of pasted tab-separated rows per kind (Vidjil "batch creation", doc/user.md).
BATCH_COLUMNS = {
    PATIENT: ("label", "first_name", "last_name", "birth_date", "info"),
    RUN: ("label", "name", "run_date", "info"),
    GENERIC: ("name", "info"),
}
MAX_BATCH_ROWS = 500


def _check_kind(kind) -> str:
    if kind not in SAMPLE_SET_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(SAMPLE_SET_KINDS)} (got {kind!r})", {"kind": repr(kind)})
    return kind


def _sort_name(sample_set: SampleSet) -> str:
    if sample_set.kind == PATIENT:
        return f"{sample_set.last_name or ''} {sample_set.first_name or ''}".strip()[:255]
    return (sample_set.name or "")[:255]


def _apply_fields(sample_set: SampleSet, values: dict[str, Any]) -> list[str]:
    """Set the validated ``values`` on ``sample_set``; return the names of the fields that changed."""
    changed = []
    for key, value in values.items():
        if getattr(sample_set, key) != value:
            setattr(sample_set, key, value)
            changed.append(key)
    sample_set.sort_name = _sort_name(sample_set)
    return changed


# -- serialisation ----------------------------------------------------------------------------------------------

def set_summary(sample_set: SampleSet, principal: Principal) -> dict:
    """Short form used in lists and next to samples: ``{"id", "kind", "name"}`` (pseudonymised)."""
    name = sample_set.name
    if sample_set.kind == PATIENT:
        name = patient_display(sample_set.first_name, sample_set.last_name, sample_set.birth_date,
                               access.may(principal, "anon", sample_set))["name"]
    return {"id": sample_set.id, "kind": sample_set.kind, "name": name}


def set_dict(session: Session, sample_set: SampleSet, principal: Principal, stats: dict | None = None,
             set_tags: list[str] | None = None) -> dict:
    """A sample set as ``principal`` may see it.

    ``{"id", "kind", "name", "info", "label", "tags", "access_group_ids", "creator_id", "created_at",
    "updated_at", "sample_count", "total_size", "permissions": {action: bool}}`` plus, for patients,
    ``"first_name", "last_name", "birth_date", "age", "identity_visible"`` (identity fields are None without
    ``anon``; ``name`` is then the first three letters of the last name) and, for runs, ``"run_date",
    "sequencer", "pcr"``. Dates are ISO strings; sizes in bytes.
    """
    permissions = {action: access.may(principal, action, sample_set) for action in sorted(ACTIONS)}
    data: dict[str, Any] = {"id": sample_set.id, "kind": sample_set.kind, "name": sample_set.name,
                            "info": sample_set.info or "", "label": sample_set.label}
    if sample_set.kind == PATIENT:
        identity = patient_display(sample_set.first_name, sample_set.last_name, sample_set.birth_date,
                                   permissions["anon"])
        data.update(identity)
        data["identity_visible"] = permissions["anon"]
    elif sample_set.kind == RUN:
        data.update({"run_date": sample_set.run_date.isoformat() if sample_set.run_date else None,
                     "sequencer": sample_set.sequencer, "pcr": sample_set.pcr})
    if stats is None:
        stats = set_stats(session, [sample_set.id]).get(sample_set.id, {})
    if set_tags is None:
        set_tags = tags_of_sets(session, [sample_set.id]).get(sample_set.id, [])
    data.update({
        "tags": set_tags,
        "access_group_ids": sample_set.access_group_ids,
        "creator_id": sample_set.creator_id,
        "created_at": sample_set.created_at.isoformat() + "Z" if sample_set.created_at else None,
        "updated_at": sample_set.updated_at.isoformat() + "Z" if sample_set.updated_at else None,
        "sample_count": stats.get("sample_count", 0),
        "total_size": stats.get("total_size", 0),
        "permissions": permissions,
    })
    return data


def set_stats(session: Session, set_ids: list[int]) -> dict[int, dict]:
    """``{set_id: {"sample_count", "total_size"}}`` (bytes of the stored files of its samples)."""
    if not set_ids:
        return {}
    size = sa.func.coalesce(Sample.size, 0) + sa.func.coalesce(Sample.size2, 0)
    rows = session.execute(
        sa.select(SampleSetMembership.sample_set_id, sa.func.count(Sample.id), sa.func.coalesce(sa.func.sum(size), 0))
        .join(Sample, Sample.id == SampleSetMembership.sample_id)
        .where(SampleSetMembership.sample_set_id.in_(set_ids))
        .group_by(SampleSetMembership.sample_set_id))
    return {set_id: {"sample_count": int(count), "total_size": int(total)} for set_id, count, total in rows}


def tags_of_sets(session: Session, set_ids: list[int]) -> dict[int, list[str]]:
    """``{set_id: [tag, ...]}`` (alphabetical)."""
    result: dict[int, list[str]] = {i: [] for i in set_ids}
    if set_ids:
        rows = session.execute(sa.select(SampleSetTag.sample_set_id, Tag.name)
                               .join(Tag, Tag.id == SampleSetTag.tag_id)
                               .where(SampleSetTag.sample_set_id.in_(set_ids)).order_by(Tag.name))
        for set_id, name in rows:
            result[set_id].append(name)
    return result


# -- create / edit / delete / share ----------------------------------------------------------------------------

def create(session: Session, principal: Principal, outbox: Outbox, kind, fields, group_id) -> SampleSet:
    """Create a set of ``kind`` owned by group ``group_id`` (access row for that group).

    Needs ``create`` in ``group_id`` or in a child of it (PermissionDenied); BadRequest for invalid fields.
    Publishes ``sample_set.created`` after the commit.
    """
    kind = _check_kind(kind)
    access.require_create_in_group(principal, group_id)
    values = parse(FIELDS_BY_KIND[kind], fields, f"{kind} fields").model_dump()
    sample_set = SampleSet(kind=kind, creator_id=principal.user_id)
    _apply_fields(sample_set, values)
    sample_set.access = [SampleSetAccess(group_id=group_id, granted_by=principal.user_id)]
    session.add(sample_set)
    session.flush()
    tags.register_set_tags(session, sample_set.id, sample_set.info, [group_id])
    audit.record(session, principal, "create_set", sample_set.id, kind=kind, group_id=group_id)
    outbox.publish("sample_set.created", {"sample_set_id": sample_set.id, "kind": kind, "group_id": group_id,
                                          "created_by": principal.user_id})
    return sample_set


def update(session: Session, principal: Principal, sample_set_id, fields) -> SampleSet:
    """Change some fields of a set (those given; the others are kept). Needs ``admin`` on the set.
    Changing identity fields of a patient also needs ``anon`` (one cannot edit what one may not see)."""
    sample_set = access.load_set(session, sample_set_id, principal, "admin")
    if not isinstance(fields, dict):
        raise BadRequest("fields must be an object")
    model = FIELDS_BY_KIND[sample_set.kind]
    current = {name: getattr(sample_set, name) for name in model.model_fields}
    if sample_set.kind == PATIENT and not access.may(principal, "anon", sample_set):
        hidden = sorted({"first_name", "last_name", "birth_date"} & set(fields))
        if hidden:
            raise PermissionDenied(f"changing {', '.join(hidden)} needs the 'anon' right on this set",
                                   {"fields": hidden})
    values = parse(model, {**current, **fields}, f"{sample_set.kind} fields").model_dump()
    changed = _apply_fields(sample_set, values)
    if "info" in changed:
        tags.register_set_tags(session, sample_set.id, sample_set.info, sample_set.access_group_ids)
    if changed:
        audit.record(session, principal, "edit_set", sample_set.id, fields=changed)
    return sample_set


def share(session: Session, principal: Principal, sample_set_id, group_id, shared=True,
          group_exists=None) -> SampleSet:
    """Give (``shared`` True) or take back the access of group ``group_id`` to a set. Needs ``admin`` on the set.
    The last access row cannot be removed (BadRequest): a set always has an owner. ``group_exists(group_id)``
    (the auth service's answer) must be true to give access: NotFound otherwise, since an access row for an
    unknown id would open the set to whichever group gets that id later."""
    sample_set = access.load_set(session, sample_set_id, principal, "admin")
    if isinstance(group_id, bool) or not isinstance(group_id, int) or group_id <= 0:
        raise BadRequest(f"group_id must be a positive integer (got {group_id!r})")
    present = {row.group_id: row for row in sample_set.access}
    if shared and group_id not in present and group_exists is not None and not group_exists(group_id):
        raise NotFound(f"group {group_id} does not exist", {"kind": "group", "id": group_id})
    if shared and group_id not in present:
        sample_set.access.append(SampleSetAccess(group_id=group_id, granted_by=principal.user_id))
        tags.register_set_tags(session, sample_set.id, sample_set.info, [group_id])
        audit.record(session, principal, "share", sample_set.id, group_id=group_id)
    elif not shared and group_id in present:
        if len(present) == 1:
            raise BadRequest("a sample set keeps at least one group with access", {"group_id": group_id})
        sample_set.access.remove(present[group_id])
        audit.record(session, principal, "unshare", sample_set.id, group_id=group_id)
    session.flush()
    return sample_set


def delete(session: Session, principal: Principal, outbox: Outbox, sample_set_id, bucket_of) -> dict:
    """Delete a set. Needs ``admin`` on it. Its samples held by no other set are deleted too (with their
    results: ``sample.deleted`` with ``results_deleted`` true, their objects removed after the commit); samples
    also in another set are kept. Returns ``{"sample_set_id", "deleted_sample_ids", "kept_sample_ids"}``."""
    from services.samples import files

    sample_set = access.load_set(session, sample_set_id, principal, "admin")
    deleted, kept = [], []
    for membership in list(sample_set.memberships):
        sample = membership.sample
        if len(sample.memberships) > 1:
            kept.append(sample.id)
        else:
            files.remove_sample(session, principal, outbox, sample, [sample_set.id], results=True)
            deleted.append(sample.id)
    audit.record(session, principal, "delete_set", sample_set.id, kind=sample_set.kind,
                 deleted_sample_ids=deleted, kept_sample_ids=kept)
    session.delete(sample_set)
    session.flush()
    return {"sample_set_id": sample_set_id, "deleted_sample_ids": deleted, "kept_sample_ids": kept}


def parse_batch(kind: str, text: str) -> tuple[list[dict], list[dict]]:
    """Rows of pasted tab-separated text -> ``(items, errors)``; ``items`` are field dicts (validated),
    ``errors`` ``[{"line", "message"}]`` (1-based lines). Empty lines are skipped."""
    kind = _check_kind(kind)
    if not isinstance(text, str):
        raise BadRequest("rows must be tab-separated text")
    columns = BATCH_COLUMNS[kind]
    items, errors = [], []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if sum(1 for line in lines if line.strip()) > MAX_BATCH_ROWS:
        raise BadRequest(f"at most {MAX_BATCH_ROWS} rows at once")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) > len(columns):
            # info is the last column and may itself hold tabs
            cells = cells[: len(columns) - 1] + ["\t".join(cells[len(columns) - 1:])]
        if len(cells) < len(columns) - 1:
            errors.append({"line": number, "message": f"expected {len(columns)} tab-separated columns "
                                                      f"({', '.join(columns)}), got {len(cells)}"})
            continue
        values = {column: (cells[i].strip() if i < len(cells) else "") for i, column in enumerate(columns)}
        values = {k: (v if v != "" or k in ("info",) else None) for k, v in values.items()}
        try:
            items.append(parse(FIELDS_BY_KIND[kind], values, f"row {number}").model_dump())
        except BadRequest as error:
            errors.append({"line": number, "message": error.message})
    return items, errors


def batch_create(session: Session, principal: Principal, outbox: Outbox, kind, text, group_id) -> list[SampleSet]:
    """Create one set per pasted tab-separated row (patient: label, first name, last name, birth date, info;
    run: label, name, date, info; generic: name, info). All or nothing: if a row is invalid, BadRequest with
    ``details={"errors": [{"line", "message"}]}`` and nothing is created."""
    kind = _check_kind(kind)
    access.require_create_in_group(principal, group_id)
    items, errors = parse_batch(kind, text)
    if errors:
        raise BadRequest(f"{len(errors)} invalid row(s); nothing was created: " +
                         "; ".join(f"line {e['line']}: {e['message']}" for e in errors[:5]), {"errors": errors})
    if not items:
        raise BadRequest("no rows to create")
    return [create(session, principal, outbox, kind, item, group_id) for item in items]


# -- read -------------------------------------------------------------------------------------------------------

def get(session: Session, principal: Principal, sample_set_id) -> dict:
    """A set (:func:`set_dict`) with its samples: ``"samples": [sample dict + "shared_with": [set summaries the
    caller may read]]``, ordered by sampling date then id. Needs ``read`` (NotFound otherwise)."""
    from services.samples import files

    sample_set = access.load_set(session, sample_set_id, principal, "read")
    data = set_dict(session, sample_set, principal)
    samples = sorted((m.sample for m in sample_set.memberships),
                     key=lambda s: (s.sampling_date or date.max, s.id))
    other_ids = sorted({i for s in samples for i in s.sample_set_ids} - {sample_set.id})
    others = {}
    if other_ids:
        for other in session.scalars(sa.select(SampleSet).where(SampleSet.id.in_(other_ids))):
            if access.may(principal, "read", other):
                others[other.id] = set_summary(other, principal)
    sample_tags = files.tags_of_samples(session, [s.id for s in samples])
    data["samples"] = []
    for sample in samples:
        item = files.sample_dict(sample, tags=sample_tags.get(sample.id, []))
        item["shared_with"] = [others[i] for i in sample.sample_set_ids if i in others]
        # ids of sets the caller may not read are not shown (not even their existence)
        item["sample_set_ids"] = [i for i in sample.sample_set_ids if i == sample_set.id or i in others]
        data["samples"].append(item)
    return data


def list_sets(session: Session, principal: Principal, query) -> dict:
    """The sets ``principal`` may read, filtered, sorted and paginated (see :class:`ListQuery`).

    Returns ``{"items": [set_dict], "page", "per_page", "total", "has_next"}``. Free-text words match names,
    labels, info, sequencer/PCR and the exact id; for patients the full first/last names are searched only in sets
    where the caller has ``anon`` (elsewhere only the three-letter pseudonym), so a search never reveals an
    identity the caller may not see.
    """
    q = parse(ListQuery, query, "query")
    condition = access.readable_filter(principal, "read")
    statement = sa.select(SampleSet)
    if condition is not None:
        statement = statement.where(condition)
    if q.kind:
        statement = statement.where(SampleSet.kind == q.kind)
    search_tags, words = tags.split_search(q.search)
    search_tags += [t.lstrip("#").lower() for t in q.tags if t.strip("#")]
    for tag in dict.fromkeys(search_tags):
        statement = statement.where(SampleSet.id.in_(
            sa.select(SampleSetTag.sample_set_id).join(Tag, Tag.id == SampleSetTag.tag_id).where(Tag.name == tag)))
    anon_condition = access.readable_filter(principal, "anon")
    for word in words[:10]:
        statement = statement.where(_word_condition(word, anon_condition))
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    order = {"name": SampleSet.sort_name,
             "date": sa.func.coalesce(SampleSet.birth_date, SampleSet.run_date, sa.func.date(SampleSet.created_at)),
             "created": SampleSet.created_at, "id": SampleSet.id}[q.sort]
    hidden_patient = sa.and_(SampleSet.kind == PATIENT,
                             sa.not_(anon_condition if anon_condition is not None else sa.true()))
    if q.sort == "name" and not principal.is_admin:
        # sorting on the full last name would leak order between patients one may only see as "Dup"
        order = sa.case((hidden_patient, sa.func.left(SampleSet.last_name, 3)), else_=SampleSet.sort_name)
    if q.sort == "date" and not principal.is_admin:
        # nor may the order of birth dates one may not see: those patients sort together (then by id)
        order = sa.case((hidden_patient, sa.null()), else_=order)
    ordering = [order.desc(), SampleSet.id.desc()] if q.reverse else [order.asc(), SampleSet.id.asc()]
    rows = list(session.scalars(statement.order_by(*ordering).offset((q.page - 1) * q.per_page)
                                .limit(q.per_page)))
    ids = [s.id for s in rows]
    stats = set_stats(session, ids)
    set_tags = tags_of_sets(session, ids)
    items = [set_dict(session, s, principal, stats.get(s.id, {}), set_tags.get(s.id, [])) for s in rows]
    return {"items": items, "page": q.page, "per_page": q.per_page, "total": int(total or 0),
            "has_next": q.page * q.per_page < (total or 0)}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _word_condition(word: str, anon_condition):
    pattern = _like(word)
    visible = [SampleSet.name.like(pattern, escape="\\"), SampleSet.label.like(pattern, escape="\\"),
               SampleSet.info.like(pattern, escape="\\"), SampleSet.sequencer.like(pattern, escape="\\"),
               SampleSet.pcr.like(pattern, escape="\\"),
               sa.func.left(SampleSet.last_name, 3).like(pattern, escape="\\")]
    identity = sa.or_(SampleSet.first_name.like(pattern, escape="\\"),
                      SampleSet.last_name.like(pattern, escape="\\"))
    visible.append(identity if anon_condition is None else sa.and_(anon_condition, identity))
    if word.isdigit():
        visible.append(SampleSet.id == int(word))
    return sa.or_(*visible)


def authorize(session: Session, principal: Principal, action, sample_set_id) -> bool:
    """True if ``principal`` may do ``action`` on the set; raises NotFound (cannot read it / missing) or
    PermissionDenied. BadRequest for an unknown action."""
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r}: one of {', '.join(sorted(ACTIONS))}")
    access.load_set(session, sample_set_id, principal, action)
    return True


def sets_holding(session: Session, sample_id) -> list[dict]:
    """Internal (fuse): the sets holding sample ``sample_id``, each with all its samples:
    ``[{"sample_set_id", "kind", "access_group_ids", "samples": [{"sample_id", "sampling_date", "filename",
    "status", "bucket", "object_key"}]}]``. No identity. NotFound if the sample does not exist."""
    from services.samples import files

    if isinstance(sample_id, bool) or not isinstance(sample_id, int):
        raise NotFound(f"sample {sample_id!r} does not exist")
    sample = session.get(Sample, sample_id)
    if sample is None:
        raise NotFound(f"sample {sample_id} does not exist", {"kind": "sample", "id": sample_id})
    result = []
    for sample_set in access.sets_of(session, sample):
        members = sorted((m.sample for m in sample_set.memberships),
                         key=lambda s: (s.sampling_date or date.max, s.id))
        result.append({"sample_set_id": sample_set.id, "kind": sample_set.kind,
                       "access_group_ids": sample_set.access_group_ids,
                       "samples": [files.internal_summary(s) for s in members]})
    return result


def may_anon(principal: Principal, sample_set: SampleSet) -> bool:
    """``anon`` on the set (full patient identity)."""
    return can(principal, "anon", access.resource(sample_set))
