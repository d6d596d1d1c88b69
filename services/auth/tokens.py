"""Secret tokens: session tokens, API tokens, password-reset tokens.

A token is ``<prefix>_<43 URL-safe characters>`` (32 random bytes from ``secrets``): ``rs_s`` for sessions,
``rs_t`` for API tokens, ``rs_r`` for reset tokens, so that a leaked token says what it is. Only the SHA-256 of a
token is stored (a fast hash is enough for 256 random bits; a database leak yields no usable token).
"""

from __future__ import annotations

import hashlib
import secrets

SESSION = "rs_s"
API = "rs_t"
RESET = "rs_r"


def new_token(kind: str) -> tuple[str, str]:
    """A new token of ``kind`` and its hash: ``(token, sha256 hex)``."""
    token = f"{kind}_{secrets.token_urlsafe(32)}"
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 hex digest (64 characters) of ``token``."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like(token: object, kind: str) -> bool:
    """True if ``token`` is a string of the shape of a ``kind`` token (a cheap check before any database work)."""
    return isinstance(token, str) and token.startswith(kind + "_") and 40 <= len(token) <= 100
