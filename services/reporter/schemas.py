"""pydantic payloads of the reporter service's RPCs."""

from __future__ import annotations
