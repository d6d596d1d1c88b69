"""``repseq worker``: run a job worker process (services.jobs.worker) in the foreground."""

from __future__ import annotations

import argparse


def cmd_worker(args) -> int:
    from services.jobs.worker import main

    return main(args.rest)


def add_commands(top, admin) -> None:
    worker = top.add_parser("worker", help="run a job worker: takes analyses from the work queue (Ctrl-C stops)",
                            add_help=False)
    worker.add_argument("rest", nargs=argparse.REMAINDER)
    worker.set_defaults(func=cmd_worker)
