"""Record ids as every service stores them: positive integers that fit the databases' 32-bit INT columns."""

from __future__ import annotations

from typing import Any

from services.common.exceptions import BadRequest

#: Largest id a MariaDB ``INT`` primary key holds; larger values would fail at insert time (DataError, a 500).
MAX_ID = 2**31 - 1


def require_id(value: Any, name: str) -> int:
    """``value`` if it is an integer in 1..MAX_ID (a record id), else BadRequest naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise BadRequest(f"{name} must be a record id (an integer from 1 to {MAX_ID})", {name: repr(value)})
    return value
