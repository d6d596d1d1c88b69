"""Password hashing (argon2id, argon2-cffi's RFC 9106 low-memory profile) and password rules.

Rules for a new local password (Vidjil's A5 kept: strength, last 3 refused; reference vidjil-server-features.md
section 2.1):
- at least ``REPSEQ_AUTH_PASSWORD_MIN_LENGTH`` characters (default 10) and at most 256;
- estimated strength >= 50 bits (web2py's ``IS_STRONG(entropy=50)``, which Vidjil used): the size of the
  alphabet of the character classes used (lower case 26, upper case 26, digits 10, ASCII symbols 33, other
  characters 100) to the power of the length, where a character repeating or continuing a run of the previous one
  ("aaa", "abc", "321") counts a quarter;
- not containing the part of the e-mail address before the '@' (when it has 4 characters or more);
- not equal to the current password nor to the 2 before it (the last 3 passwords are refused).

Hashing costs about 0.17 s of CPU on purpose; callers inside a nameko worker run it in a native thread
(:func:`hash_password` / :func:`verify_password` use ``eventlet.tpool``) so the service keeps answering.
"""

from __future__ import annotations

import math
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.auth.exceptions import WeakPassword

_hasher = PasswordHasher()

#: How many of the latest passwords (the current one included) a new password may not repeat.
HISTORY_SIZE = 3
MAX_LENGTH = 256
MIN_BITS = 50.0

#: A valid hash of a random password: verifying against it costs the same time as a real check, so a login for an
#: unknown account takes as long as one for an existing account.
_DUMMY_HASH = _hasher.hash("repseq-timing-equaliser-\u2603")


def _in_native_thread(function, *args):
    try:
        import eventlet.patcher
        from eventlet import tpool
    except ImportError:  # pragma: no cover - eventlet comes with nameko
        return function(*args)
    if eventlet.patcher.is_monkey_patched("thread"):
        return tpool.execute(function, *args)
    return function(*args)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (a ``$argon2id$...`` string of about 97 characters)."""
    return _in_native_thread(_hasher.hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``password_hash``. ``None`` (no local password) costs the same time and is
    False. Never raises for a wrong password or a malformed hash."""
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return _in_native_thread(check)


def strength_bits(password: str) -> float:
    """Estimated strength of ``password`` in bits (see the module docstring)."""
    alphabet = 0
    if any(c in string.ascii_lowercase for c in password):
        alphabet += 26
    if any(c in string.ascii_uppercase for c in password):
        alphabet += 26
    if any(c in string.digits for c in password):
        alphabet += 10
    if any(c in string.punctuation or c == " " for c in password):
        alphabet += 33
    if any(not c.isascii() for c in password):
        alphabet += 100
    if not alphabet:
        return 0.0
    weight = 0.0
    previous = None
    for char in password:
        if previous is not None and abs(ord(char) - ord(previous)) <= 1:
            weight += 0.25
        else:
            weight += 1.0
        previous = char
    return weight * math.log2(alphabet)


def check_password_rules(password: str, min_length: int, email: str = "") -> None:
    """Raise :class:`WeakPassword` (HTTP 400) naming the first rule ``password`` breaks."""
    if not isinstance(password, str) or not password:
        raise WeakPassword("a password is required")
    if len(password) < min_length:
        raise WeakPassword(f"the password must have at least {min_length} characters",
                           {"rule": "min_length", "min_length": min_length})
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_LENGTH} characters", {"rule": "max_length"})
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        raise WeakPassword("the password may not contain your e-mail name", {"rule": "contains_email"})
    if strength_bits(password) < MIN_BITS:
        raise WeakPassword("the password is too easy to guess: make it longer or mix upper case, lower case, "
                           "digits and symbols", {"rule": "strength", "min_bits": MIN_BITS})


def matches_any(password: str, hashes: list[str]) -> bool:
    """True if ``password`` matches one of ``hashes`` (the password history)."""
    return any(verify_password(h, password) for h in hashes if h)
