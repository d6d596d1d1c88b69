"""Job worker process (``python -m services.jobs.worker``): takes analysis jobs and runs ``vdj`` as a subprocess.

Contract fixed by the foundation (docker-compose.yml runs N of these as ``jobs-worker``); the jobs issue
implements it. Until then it exits with one line saying so.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("services.jobs.worker: the job worker is not implemented yet (jobs issue)", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
