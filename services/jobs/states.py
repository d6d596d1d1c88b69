"""Job states and kinds.

``PENDING -> QUEUED -> RUNNING -> COMPLETED | FAILED | CANCELLED | TIMEOUT``. A PENDING job waits for its
sample's pre-process (or for its message to be published); the final states free the job's ``active_key``.
"""

from __future__ import annotations

PENDING = "PENDING"
QUEUED = "QUEUED"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
TIMEOUT = "TIMEOUT"

STATES = (PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT)
ACTIVE = frozenset({PENDING, QUEUED, RUNNING})
FINAL = frozenset({COMPLETED, FAILED, CANCELLED, TIMEOUT})
#: States a worker may report at the end of a run.
OUTCOMES = frozenset({COMPLETED, FAILED, CANCELLED, TIMEOUT})

ANALYSIS = "analysis"
PRE_PROCESS = "pre_process"
GREP_READS = "grep_reads"
KINDS = (ANALYSIS, PRE_PROCESS, GREP_READS)


def active_key(kind: str, sample_id: int, other_id: int | None, extra: str | None = None) -> str:
    """The key that makes two active jobs "identical": same kind, sample, config (or pre-process) and, for a
    grep-reads extraction, the same sequence."""
    key = f"{kind}:{sample_id}:{other_id}"
    if extra:
        import hashlib

        key += ":" + hashlib.sha1(extra.encode()).hexdigest()[:16]
    return key
