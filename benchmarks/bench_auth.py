"""Auth figures: decision function calls per second, argon2id hashing time, and the database part of login and
of resolving a session (what every gateway request costs in the auth service, RabbitMQ excluded).

Run: ``.venv/bin/python benchmarks/bench_auth.py``. Needs MariaDB (REPSEQ_* configuration); uses and drops its
own database ``<prefix>bench_auth``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.auth import accounts, sessions  # noqa: E402
from services.auth.passwords import hash_password, verify_password  # noqa: E402
from services.common.config import Settings  # noqa: E402
from services.common.db import drop_database, session_scope  # noqa: E402
from services.common.migrations import upgrade  # noqa: E402
from services.common.permissions import Resource, can  # noqa: E402
from services.common.principal import Membership, Principal  # noqa: E402


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    print(f"{name:38} median {statistics.median(ordered):8.3f} ms   p95 {ordered[int(len(ordered) * 0.95)]:8.3f} ms"
          f"   (n={len(ordered)})")


def main() -> int:
    principal = Principal.build(7, "a@lab.org", [
        Membership(20, "user_0007", None, frozenset({"read", "create", "upload", "save", "admin", "anon"})),
        Membership(2, "public", None, frozenset({"read"})),
        Membership(11, "lab/doctor", 10, frozenset({"read", "run", "anon"}))])
    resource = Resource("sample_set", 1, [10, 99])
    calls = 200_000
    started = time.perf_counter()
    for _ in range(calls):
        can(principal, "run", resource)
    elapsed = time.perf_counter() - started
    print(f"{'can() on a Principal':38} {calls / elapsed:,.0f} calls/s ({elapsed / calls * 1e6:.2f} us/call)")
    data = principal.to_dict()
    started = time.perf_counter()
    for _ in range(20_000):
        can(data, "run", resource)
    elapsed = time.perf_counter() - started
    print(f"{'can() on a principal dict (from_dict)':38} {20_000 / elapsed:,.0f} calls/s")

    hashed = hash_password("Blue-Harbour-Lamp-73")
    report("argon2id hash", timed(lambda: hash_password("Blue-Harbour-Lamp-73"), 10))
    report("argon2id verify", timed(lambda: verify_password(hashed, "Blue-Harbour-Lamp-73"), 10))

    settings = Settings.from_env()
    settings = settings.replace(db_prefix=settings.db_prefix + "bench_")
    upgrade(settings, ["auth"])
    try:
        with session_scope(settings, "auth") as db:
            accounts.create_user(db, settings, lambda *a: None, None, "bench@lab.org", "Blue-Harbour-Lamp-73")
        tokens = []

        def login():
            with session_scope(settings, "auth") as db:
                tokens.append(sessions.login(db, settings, lambda *a: None, "bench@lab.org",
                                             "Blue-Harbour-Lamp-73", "127.0.0.1", "bench")["session_token"])

        report("login (database + argon2id)", timed(login, 10))

        def resolve():
            with session_scope(settings, "auth") as db:
                sessions.resolve_session(db, settings, tokens[-1])

        report("resolve_session (database part)", timed(resolve, 300))
    finally:
        drop_database(settings, "auth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
