"""One log format for services, gateway and CLI: ``time level logger: message`` on stderr."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Configure the root logger once (idempotent); quiets chatty libraries."""
    root = logging.getLogger()
    if not getattr(root, "_repseq_configured", False):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        root._repseq_configured = True
    root.setLevel(level)
    for noisy in ("urllib3", "kombu", "amqp", "nameko.containers"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
