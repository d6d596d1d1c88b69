"""The work queue on RabbitMQ: one durable, persistent message per job.

- exchange ``repseq.jobs`` (direct, durable), queue ``repseq.jobs`` (durable, bound with routing key
  ``repseq.jobs``); messages are JSON, ``delivery_mode`` 2 (persistent), published with publisher confirms;
- the body is :class:`JobMessage`: ``{"job_id", "token", "kind"}``. ``token`` names this queueing of the job: the
  jobs service keeps the current token on the job row, and a worker receiving a message with another token drops
  it (the job was re-queued by the watchdog meanwhile, or already finished);
- workers (:mod:`services.jobs.worker`) consume with prefetch 1 and acknowledge only after the jobs service has
  stored the outcome, so a worker killed mid-job loses nothing: RabbitMQ redelivers the message.

RabbitMQ closes a channel whose delivery stays unacknowledged longer than its ``consumer_timeout`` (30 min by
default): job time limits must stay below it (``REPSEQ_JOB_TIME_LIMIT``), or raise it in rabbitmq.conf.
"""

from __future__ import annotations

import secrets

from kombu import Exchange, Queue
from pydantic import BaseModel, Field

QUEUE_NAME = "repseq.jobs"
EXCHANGE = Exchange(QUEUE_NAME, type="direct", durable=True)
QUEUE = Queue(QUEUE_NAME, exchange=EXCHANGE, routing_key=QUEUE_NAME, durable=True)


class JobMessage(BaseModel):
    """Body of a work-queue message."""

    job_id: int = Field(gt=0)
    token: str = Field(min_length=8, max_length=40)
    kind: str = "analysis"


def new_token() -> str:
    """A fresh queue token (32 hex characters)."""
    return secrets.token_hex(16)


def declare(connection) -> None:
    """Declare the exchange, the queue and its binding on a kombu ``connection`` (idempotent)."""
    channel = connection.channel()
    try:
        EXCHANGE(channel).declare()
        QUEUE(channel).declare()
    finally:
        channel.close()


#: AMQP delivery mode of job messages: persistent (written to disk by RabbitMQ, survives a broker restart).
PERSISTENT = 2
