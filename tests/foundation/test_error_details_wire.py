"""Expected errors keep the types of their ``details`` across nameko's RPC serialisation."""

import json

from nameko.exceptions import deserialize, serialize

from services.common.exceptions import NotFound, PermissionDenied


def test_details_keep_numbers_booleans_and_null_over_the_wire():
    error = NotFound("sample 12 does not exist", {"sample_id": 12, "retry_after": 1.5, "anon": False,
                                                  "group": None, "ids": [1, "a"]})
    wire = json.loads(json.dumps(serialize(error)))  # what crosses RabbitMQ
    received = deserialize(wire)
    assert type(received) is NotFound
    assert received.message == "sample 12 does not exist"
    assert received.details == {"sample_id": 12, "retry_after": 1.5, "anon": False, "group": None, "ids": [1, "a"]}


def test_details_default_to_an_empty_dict_and_message_to_the_docstring():
    received = deserialize(json.loads(json.dumps(serialize(PermissionDenied()))))
    assert received.details == {}
    assert received.message == "The principal may not do this."


def test_record_ids_are_bounded_to_the_databases_int_columns():
    import pytest

    from services.common.exceptions import BadRequest
    from services.common.ids import MAX_ID, require_id

    assert require_id(1, "config_id") == 1 and require_id(MAX_ID, "config_id") == MAX_ID
    for bad in (0, -3, MAX_ID + 1, 2**63, True, "7", 7.0, None):
        with pytest.raises(BadRequest) as caught:
            require_id(bad, "config_id")
        assert "config_id" in caught.value.message
