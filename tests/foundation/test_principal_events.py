"""Principal payloads and event envelopes (pure unit tests)."""

import pytest

from services.common.events import EVENTS, Envelope, make_envelope
from services.common.exceptions import BadRequest, NotFound, PermissionDenied, RepseqError, Unauthenticated
from services.common.principal import Principal


def test_principal_round_trip_and_checks():
    principal = Principal(user_id=5, email="a@lab.org", groups=frozenset({3, 1}),
                          capabilities=frozenset({"upload"}), impersonator=1)
    data = principal.to_dict()
    assert data["groups"] == [1, 3]
    assert Principal.from_dict(data) == principal
    assert principal.has_capability("upload") and not principal.has_capability("run")
    assert principal.in_any_group([3, 9]) and not principal.in_any_group([9])
    with pytest.raises(PermissionDenied, match="capability 'run' required"):
        principal.require_capability("run")
    with pytest.raises(PermissionDenied):
        principal.require_admin()
    assert Principal(user_id=1, is_admin=True).has_capability("anything")


@pytest.mark.parametrize("payload", [None, {}, {"user_id": "5"}, {"user_id": 0}, {"user_id": True},
                                     {"user_id": 2, "groups": ["x"]}])
def test_malformed_principal_is_unauthenticated(payload):
    with pytest.raises(Unauthenticated):
        Principal.from_dict(payload)


def test_is_admin_must_be_literally_true():
    assert Principal.from_dict({"user_id": 2, "is_admin": "yes"}).is_admin is False


def test_envelope_is_versioned_and_checked():
    payload = make_envelope("foundation.ping", {"token": "t", "requested_by": 1})
    assert payload["version"] == EVENTS["foundation.ping"].version == 1
    assert payload["source"] == "samples"
    envelope = Envelope.parse(payload, expected_event="foundation.ping")
    assert envelope.data == {"token": "t", "requested_by": 1}
    with pytest.raises(ValueError, match="undeclared"):
        make_envelope("foundation.ping", {"token": "t", "requested_by": 1, "extra": 2})
    with pytest.raises(BadRequest):
        Envelope.parse({"event": "foundation.ping"})


def test_errors_carry_code_status_and_details():
    error = NotFound("sample 3 does not exist", {"sample_id": 3})
    assert error.to_dict() == {"code": "not_found", "message": "sample 3 does not exist",
                               "details": {"sample_id": 3}}
    assert error.http_status == 404 and isinstance(error, RepseqError)
    assert str(NotFound()) == "The object does not exist (or the principal may not know it does)."


def test_errors_deserialize_to_their_own_class_over_rpc():
    from nameko.exceptions import deserialize, serialize

    from services.auth.exceptions import PermissionDenied as AuthDenied

    again = deserialize(serialize(AuthDenied("no", {"why": "x"})))
    assert type(again) is PermissionDenied and again.details == {"why": "x"} and again.message == "no"
