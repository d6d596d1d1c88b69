"""pydantic payloads of the jobs service's RPCs."""

from __future__ import annotations
