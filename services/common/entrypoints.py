"""nameko entrypoints that finish the worker's database transaction *before* the result leaves the service.

Plain ``nameko.rpc.rpc`` sends the reply before dependencies see ``worker_result``, so a commit that fails there
would be reported to nobody. Services therefore import ``rpc`` and ``event_handler`` from here::

    from services.common.entrypoints import rpc, event_handler

    @rpc
    def rename(self, principal, sample_id, name): ...

    @event_handler("samples", "sample.uploaded")
    def on_sample_uploaded(self, payload): ...

Before the reply is sent (RPC) or the message acknowledged (events), each :class:`~services.common.db.Database`
dependency of the service commits (call succeeded) or rolls back (call raised). A failing commit becomes the call's
error. Both decorators accept nameko's arguments (``expected_exceptions``, ``sensitive_arguments``, and for events
``handler_type``, ``reliable_delivery``, ``requeue_on_error``).

Errors derived from :class:`services.common.exceptions.RepseqError` are expected by default (logged as one
warning line, not a traceback).
"""

from __future__ import annotations

from nameko.events import EventHandler
from nameko.rpc import Rpc

from services.common.exceptions import EXPECTED


def finish_transactions(worker_ctx, result, exc_info):
    """Commit or roll back every Database dependency of the worker; return the (possibly new) ``exc_info``."""
    from services.common.db import Database  # late import: db imports nameko extensions too

    for dependency in worker_ctx.container.dependencies:
        if isinstance(dependency, Database):
            exc_info = dependency.finish(worker_ctx, exc_info)
    return result if exc_info is None else None, exc_info


def _with_expected(kwargs):
    expected = kwargs.get("expected_exceptions", ())
    if not isinstance(expected, tuple):
        expected = (expected,)
    kwargs["expected_exceptions"] = tuple(expected) + EXPECTED
    return kwargs


class TransactionalRpc(Rpc):
    """``@rpc`` whose database transaction ends before the reply is sent."""

    def __init__(self, **kwargs):
        super().__init__(**_with_expected(kwargs))

    def handle_result(self, message, worker_ctx, result, exc_info):
        result, exc_info = finish_transactions(worker_ctx, result, exc_info)
        return super().handle_result(message, worker_ctx, result, exc_info)


class TransactionalEventHandler(EventHandler):
    """``@event_handler`` whose database transaction ends before the event is acknowledged."""

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, **_with_expected(kwargs))

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        result, exc_info = finish_transactions(worker_ctx, result, exc_info)
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = TransactionalRpc.decorator
event_handler = TransactionalEventHandler.decorator
