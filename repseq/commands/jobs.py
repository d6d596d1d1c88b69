"""``repseq worker``: run a job worker process (services.jobs.worker) in the foreground."""

from __future__ import annotations


def cmd_worker(args) -> int:
    from services.jobs.worker import main

    argv = []
    if args.max_jobs is not None:
        argv += ["--max-jobs", str(args.max_jobs)]
    if args.worker_id:
        argv += ["--id", args.worker_id]
    return main(argv)


def add_commands(top, admin) -> None:
    worker = top.add_parser("worker", help="run a job worker: takes analyses from the work queue (Ctrl-C stops)",
                            description="Run analysis jobs from the RabbitMQ queue repseq.jobs (docs/jobs.md).")
    worker.add_argument("--max-jobs", type=int, default=None, help="exit after this many messages")
    worker.add_argument("--id", dest="worker_id", default=None, help="worker id (default host:pid:random)")
    worker.set_defaults(func=cmd_worker)
