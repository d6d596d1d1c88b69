"""What a call does after its transaction commits: publish events and delete objects no record points to any
more. Events must not announce data a reader cannot see yet, and an object must not disappear while a committed
record still points to it (nor be deleted when the transaction that released it rolls back)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass
class Outbox:
    """Collected during a call; :meth:`flush` runs after the commit."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deletions: list[tuple[str, str]] = field(default_factory=list)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        self.events.append((event, data))

    def delete_object(self, bucket: str | None, key: str | None) -> None:
        if bucket and key:
            self.deletions.append((bucket, key))

    def flush(self, publish: Callable[[str, dict], Any], store) -> None:
        """Publish the events, then delete the objects (a failed deletion leaves an unreferenced object,
        logged; it never breaks the call)."""
        for event, data in self.events:
            publish(event, data)
        for bucket, key in self.deletions:
            try:
                store.delete(bucket, key)
            except Exception as error:  # an orphan object is harmless; a lost record would not be
                log.warning("could not delete object %s/%s: %s", bucket, key, error)
        self.events.clear()
        self.deletions.clear()
