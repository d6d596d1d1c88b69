"""nameko dependencies of the reporter service."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.common.config import Settings


class Config(DependencyProvider):
    """``self.settings``: the :class:`Settings` read once when the service container starts."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings

    def setup(self):
        self.settings = self.settings or Settings.from_env()

    def get_dependency(self, worker_ctx):
        return self.settings
