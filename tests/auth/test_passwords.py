"""Password rules and hashing (unit tests: no service needed)."""

import pytest

from services.auth.exceptions import WeakPassword
from services.auth.passwords import check_password_rules, hash_password, strength_bits, verify_password
from services.auth.tokens import API, SESSION, hash_token, looks_like, new_token


@pytest.mark.parametrize("password,rule", [
    ("Sh0rt!x", "min_length"),
    ("aaaaaaaaaaaaaaaaaaaa", "strength"),
    ("abcdefghijklmnopq", "strength"),      # a run counts a quarter
    ("1234567890123", "strength"),
    ("xJohnSmith-2024!", "contains_email"),
    ("x" * 300, "max_length"),
])
def test_weak_passwords_are_refused_with_the_rule(password, rule):
    with pytest.raises(WeakPassword) as refused:
        check_password_rules(password, 10, "johnsmith@lab.org")
    assert refused.value.details["rule"] == rule


@pytest.mark.parametrize("password", ["Blue-Harbour-Lamp-73", "correct horse battery staple", "Zq8#vT1!pL",
                                      "mélange-de-lettres-éàü"])
def test_reasonable_passwords_pass(password):
    check_password_rules(password, 10, "johnsmith@lab.org")
    assert strength_bits(password) >= 50


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password("Blue-Harbour-Lamp-73")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Blue-Harbour-Lamp-73")
    assert not verify_password(hashed, "blue-harbour-lamp-73")
    assert not verify_password(None, "anything")          # no local password
    assert not verify_password("not-a-hash", "anything")  # never raises


def test_tokens_are_random_and_only_their_hash_is_kept():
    token, digest = new_token(SESSION)
    again, _ = new_token(SESSION)
    assert token != again and token.startswith("rs_s_") and len(token) == 48
    assert digest == hash_token(token) and len(digest) == 64 and token not in digest
    assert looks_like(token, SESSION) and not looks_like(token, API) and not looks_like(None, SESSION)
