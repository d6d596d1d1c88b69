"""nameko dependencies of the jobs service: the work-queue publisher and the segmenter helper process."""

from __future__ import annotations

import json
import re
import sys

import eventlet
import eventlet.semaphore
from eventlet.green import subprocess
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider

from services.common.exceptions import BadRequest, Unavailable
from services.jobs.queue import EXCHANGE, PERSISTENT, QUEUE, QUEUE_NAME, JobMessage
from services.jobs.segmenter import normalise

#: Seconds a segmenter request may take before the helper is restarted.
REQUEST_TIMEOUT = 120.0


class JobQueue(DependencyProvider):
    """nameko dependency: ``self.job_queue.publish(JobMessage(...))`` puts one persistent message on the queue
    (publisher confirms: returns only once RabbitMQ has the message; raises if it refused it)."""

    def setup(self):
        config = self.container.config
        self.publisher = Publisher(config["AMQP_URI"], serializer="json", delivery_mode=PERSISTENT,
                                   use_confirms=True, declare=[EXCHANGE, QUEUE])

    def get_dependency(self, worker_ctx):
        publisher = self.publisher

        class _Handle:
            @staticmethod
            def publish(message: JobMessage) -> None:
                publisher.publish(message.model_dump(), exchange=EXCHANGE, routing_key=QUEUE_NAME,
                                  mandatory=True)

        return _Handle()


class SegmenterPool(DependencyProvider):
    """nameko dependency: ``self.segmenter.designate(sequences, germline)`` -> list of designation dicts.

    One helper process per service process, started on first use; calls are serialised by a semaphore (the
    helper is single-threaded) and time out after 120 s (the helper is then restarted)."""

    def __init__(self):
        self.process = None
        self._lock = None

    def setup(self):
        self._lock = eventlet.semaphore.Semaphore(1)

    def stop(self):
        self.close()

    def kill(self):
        self.close()

    def get_dependency(self, worker_ctx):
        return self

    def _start(self):
        self.process = subprocess.Popen([sys.executable, "-m", "services.jobs.segmenter", "--serve"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True, bufsize=1)

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def designate(self, sequences, germline: str = "multi") -> list[dict]:
        items = normalise(sequences)
        if not re.fullmatch(r"[A-Za-z0-9+,\-]{1,100}", str(germline or "multi")):
            raise BadRequest("germline must be multi or system names such as IGH or IGH,TRG")
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                self._start()
            try:
                with eventlet.Timeout(REQUEST_TIMEOUT):
                    self.process.stdin.write(json.dumps({"germline": germline, "sequences": items}) + "\n")
                    self.process.stdin.flush()
                    line = self.process.stdout.readline()
            except (eventlet.Timeout, OSError) as error:
                self.close()
                raise Unavailable(f"the segmenter did not answer ({type(error).__name__})") from None
            if not line:
                self.close()
                raise Unavailable("the segmenter process stopped")
        answer = json.loads(line)
        if "error" in answer:
            raise BadRequest(f"segmenter: {answer['error']}")
        return answer["results"]
