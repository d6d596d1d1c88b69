"""pydantic payloads of the backup service's RPCs."""

from __future__ import annotations
