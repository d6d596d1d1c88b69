"""nameko dependencies of the samples service besides the common ones (Database, Storage, EventPublisher)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.common.config import Settings


class Config(DependencyProvider):
    """Gives workers the process's :class:`Settings` (read once at container setup)."""

    def setup(self):
        self.settings = Settings.from_env()

    def get_dependency(self, worker_ctx):
        return self.settings
