"""pydantic payloads of the samples service's RPCs."""

from __future__ import annotations
