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
