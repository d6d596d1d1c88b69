"""pydantic payloads of the auth service's RPCs."""

from __future__ import annotations
