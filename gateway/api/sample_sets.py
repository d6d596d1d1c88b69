"""``/api/v1/sample_sets``: patients, runs and generic sets (list with search, create, read, edit, delete, share)."""

from __future__ import annotations

from gateway.api import bp
from gateway.api.schemas import CreateSampleSetBody, ListSampleSetsQuery, SampleSetAnswer, SampleSetPage, \
    ShareBody, UpdateSampleSetBody
from gateway.auth import call_as_user
from gateway.openapi import operation

TAG = "sample sets"


def _fields(model) -> dict:
    """JSON-safe dict of the fields that were given (dates as ISO strings)."""
    return model.model_dump(mode="json", exclude_none=True)


@operation(bp, "/sample_sets", "GET", summary="List the sets the caller may read (search, kind, pagination)",
           tag=TAG, query=ListSampleSetsQuery, response=SampleSetPage)
def list_sample_sets(query: ListSampleSetsQuery):
    """``q``: words match names and info (substring, case-insensitive), ``#word`` requires that tag, a number
    matches a set id. Patients are pseudonymised unless the caller has the ``anon`` right on them."""
    return call_as_user("samples", "list_sample_sets", query.model_dump(mode="json", exclude_none=True))


@operation(bp, "/sample_sets", "POST", summary="Create a patient, run or generic set", tag=TAG,
           body=CreateSampleSetBody, response=SampleSetAnswer, status=201, errors=(409,))
def create_sample_set(body: CreateSampleSetBody):
    """Needs the ``create`` right in ``group_id``. A patient needs ``last_name``; a run or generic set ``name``."""
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


@operation(bp, "/sample_sets/<int:sample_set_id>/groups", "GET", summary="Groups that own or see the set",
           tag=TAG, response={"type": "array", "items": {"type": "object"}})
def list_set_groups(sample_set_id: int):
    return call_as_user("samples", "list_access", sample_set_id)


@operation(bp, "/sample_sets/<int:sample_set_id>/groups", "POST", summary="Share the set with a group", tag=TAG,
           body=ShareBody, response={"type": "object"}, status=201)
def share_sample_set(sample_set_id: int, body: ShareBody):
    """Gives the group access to the set (needs the ``admin`` right on it)."""
    return call_as_user("samples", "share_sample_set", sample_set_id, body.group_id) or {"shared": True}


@operation(bp, "/sample_sets/<int:sample_set_id>/groups/<int:group_id>", "DELETE",
           summary="Stop sharing the set with a group", tag=TAG, response={"type": "object"})
def unshare_sample_set(sample_set_id: int, group_id: int):
    return call_as_user("samples", "unshare_sample_set", sample_set_id, group_id) or {"shared": False}


@operation(bp, "/tags", "GET", summary="Tags known to the caller's groups (for completion)", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_tags():
    return call_as_user("samples", "list_tags")
