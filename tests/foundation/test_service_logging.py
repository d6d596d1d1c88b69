"""Service logs: a refusal the caller receives (an expected error) is one line, a real error keeps its traceback."""

from __future__ import annotations

import io
import logging

from services.common.exceptions import NotFound
from services.common.logging import FORMAT, ExpectedErrorsWithoutTraceback


def _log_as_nameko(logger: logging.Logger, error: Exception, expected: bool) -> None:
    try:
        raise error
    except Exception as exc:  # what nameko.containers.ServiceContainer._run_worker logs
        if expected:
            logger.warning("(expected) error handling worker %s: %s", "<worker>", exc, exc_info=True)
        else:
            logger.exception("error handling worker %s: %s", "<worker>", exc)


def test_expected_errors_are_one_line_and_unexpected_ones_keep_their_traceback():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(ExpectedErrorsWithoutTraceback())
    logger = logging.getLogger("test.nameko.containers")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        _log_as_nameko(logger, NotFound("sample 12 not found", {"kind": "sample", "id": 12}), expected=True)
        expected = stream.getvalue()
        assert "sample 12 not found" in expected and "Traceback" not in expected
        assert len(expected.strip().splitlines()) == 1
        _log_as_nameko(logger, ZeroDivisionError("division by zero"), expected=False)
        assert "Traceback" in stream.getvalue()[len(expected):]
    finally:
        logger.removeHandler(handler)
