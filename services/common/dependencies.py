"""nameko dependencies shared by every service besides Database (db.py), Storage (storage.py) and
EventPublisher (events.py)."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.common.config import Settings


class Config(DependencyProvider):
    """``self.settings``: the :class:`Settings` read once when the service container starts (or given, in tests)."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings

    def setup(self):
        self.settings = self.settings or Settings.from_env()

    def get_dependency(self, worker_ctx):
        return self.settings
