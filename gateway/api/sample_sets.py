"""``/api/v1/sample_sets``: patients, runs and generic sets (list with search, create, read, edit, delete, share)."""

from __future__ import annotations

from gateway.api import bp
from gateway.api.schemas import BatchBody, CreateSampleSetBody, ListSampleSetsQuery, PageQuery, SampleSetAnswer, \
    SampleSetPage, ShareBody, TagQuery, UpdateSampleSetBody
from gateway.auth import call_as_user
from gateway.openapi import operation

TAG = "sample sets"


def _fields(model) -> dict:
    """JSON-safe dict of the fields that were given (dates as ISO strings)."""
    return model.model_dump(mode="json", exclude_none=True)


@operation(bp, "/sample_sets", "GET", summary="List the sets the caller may read (search, kind, pagination)",
           tag=TAG, query=ListSampleSetsQuery, response=SampleSetPage)
def list_sample_sets(query: ListSampleSetsQuery):
    """``search``: words match names, labels and info (substring, case-insensitive), ``#word`` requires that tag,
    a number matches a set id. Patients are pseudonymised unless the caller has the ``anon`` right on them.
    Answer: ``{"items", "page", "per_page", "total", "has_next"}``."""
    return call_as_user("samples", "list_sample_sets", query.model_dump(mode="json", exclude_none=True))


@operation(bp, "/sample_sets", "POST", summary="Create a patient, run or generic set", tag=TAG,
           body=CreateSampleSetBody, response=SampleSetAnswer, status=201, errors=(409,))
def create_sample_set(body: CreateSampleSetBody):
    """Needs the ``create`` right in ``group_id``. A patient needs ``first_name`` and ``last_name``; a run or
    generic set ``name``."""
    return call_as_user("samples", "create_sample_set", body.kind, _fields(body.fields), body.group_id)


@operation(bp, "/sample_sets/<int:sample_set_id>", "GET", summary="One set with its samples", tag=TAG,
           response=SampleSetAnswer)
def get_sample_set(sample_set_id: int):
    return call_as_user("samples", "get_sample_set", sample_set_id)


@operation(bp, "/sample_sets/<int:sample_set_id>", "PATCH", summary="Edit the fields of a set", tag=TAG,
           body=UpdateSampleSetBody, response=SampleSetAnswer)
def update_sample_set(sample_set_id: int, body: UpdateSampleSetBody):
    """Needs the ``admin`` right on the set."""
    return call_as_user("samples", "update_sample_set", sample_set_id, _fields(body.fields))


@operation(bp, "/sample_sets/<int:sample_set_id>", "DELETE", summary="Delete a set", tag=TAG,
           response={"type": "object"})
def delete_sample_set(sample_set_id: int):
    """Samples held only by this set are deleted; samples shared with other sets are kept."""
    return call_as_user("samples", "delete_sample_set", sample_set_id) or {"deleted": sample_set_id}


@operation(bp, "/sample_sets/<int:sample_set_id>/groups", "POST", summary="Share the set with a group", tag=TAG,
           body=ShareBody, response=SampleSetAnswer, status=201)
def share_sample_set(sample_set_id: int, body: ShareBody):
    """Gives the group access to the set (needs the ``admin`` right on it). Answers the set."""
    return call_as_user("samples", "share_sample_set", sample_set_id, body.group_id, True)


@operation(bp, "/sample_sets/<int:sample_set_id>/groups/<int:group_id>", "DELETE",
           summary="Stop sharing the set with a group", tag=TAG, response=SampleSetAnswer)
def unshare_sample_set(sample_set_id: int, group_id: int):
    """The last group cannot be removed (400): a set always has an owner."""
    return call_as_user("samples", "share_sample_set", sample_set_id, group_id, False)


@operation(bp, "/sample_sets/<int:sample_set_id>/audit", "GET", summary="Audit trail of a set", tag=TAG,
           query=PageQuery, response={"type": "object"})
def set_audit(sample_set_id: int, query: PageQuery):
    return call_as_user("samples", "list_audit", sample_set_id, query.page, query.per_page)


@operation(bp, "/tags", "GET", summary="Tags known to the caller's groups (completion)", tag=TAG,
           query=TagQuery, response={"type": "array", "items": {"type": "string"}})
def list_tags(query: TagQuery):
    return call_as_user("samples", "tag_autocomplete", query.prefix, query.limit)


@operation(bp, "/sample_sets/batch", "POST", summary="Create several sets from pasted tab-separated rows",
           tag=TAG, body=BatchBody, response={"type": "object"}, status=201)
def batch_create(body: BatchBody):
    """Rows as in Vidjil: patient = identifier, first name, last name, birth date, info; run = identifier, name,
    date, info; set = name, info."""
    return call_as_user("samples", "batch_create_sample_sets", body.kind, body.rows, body.group_id)
