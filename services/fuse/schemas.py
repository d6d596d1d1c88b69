"""pydantic payloads of the fuse service's RPCs."""

from __future__ import annotations
