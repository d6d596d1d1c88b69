"""One log format for services, gateway and CLI: ``time level logger: message`` on stderr."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ExpectedErrorsWithoutTraceback(logging.Filter):
    """Drops the traceback of records about an expected error: nameko logs ``(expected) error handling worker``
    with the traceback of a refusal the caller receives anyway (404, 403, 400...), which buried the real errors
    in the services' logs. The record keeps its one line (worker, error message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno < logging.ERROR and "(expected)" in str(record.msg):
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Configure the root logger once (idempotent); quiets chatty libraries; expected errors (nameko's
    ``expected_exceptions``, e.g. every :class:`~services.common.exceptions.RepseqError`) are logged as one line."""
    root = logging.getLogger()
    if not getattr(root, "_repseq_configured", False):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(ExpectedErrorsWithoutTraceback())
        root.addHandler(handler)
        root._repseq_configured = True
    root.setLevel(level)
    for noisy in ("urllib3", "kombu", "amqp", "nameko.containers"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
