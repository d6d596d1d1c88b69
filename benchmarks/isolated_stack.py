"""An isolated RepSeq stack for a benchmark (imported by bench_*.py; not a benchmark itself).

:func:`isolated_settings` derives, from this machine's configuration, settings of a stack of its own: RabbitMQ
vhost ``repseq_bench_<token>`` (created with rabbitmqctl), databases ``<prefix>bench_<token>_*``, buckets
``repseq-bench-<token>-*`` and a temporary var dir; :func:`tear_down` stops the stack and removes all of them.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

from services.common.config import Settings


def make_vhost(amqp_uri: str, vhost: str) -> str:
    """Create ``vhost`` with full permissions for the user of ``amqp_uri``; return the URI pointing to it."""
    parsed = urllib.parse.urlsplit(amqp_uri)
    user = urllib.parse.unquote(parsed.username or "guest")
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True,
                   capture_output=True, timeout=60)
    return urllib.parse.urlunsplit(parsed._replace(path="/" + vhost))


def isolated_settings(**overrides) -> tuple[Settings, str]:
    """``(settings, vhost)`` of a new isolated stack (``overrides``: other settings, e.g. ``workers``)."""
    base = Settings.from_env()
    token = secrets.token_hex(3)
    vhost = f"repseq_bench_{token}"
    settings = base.replace(
        var_dir=Path(tempfile.mkdtemp(prefix=f"repseq-bench-{token}-")), amqp_uri=make_vhost(base.amqp_uri, vhost),
        db_prefix=f"{base.db_prefix}bench_{token}_", bucket_sequences=f"repseq-bench-{token}-sequences",
        bucket_results=f"repseq-bench-{token}-results", bucket_backups=f"repseq-bench-{token}-backups", **overrides)
    return settings, vhost


def tear_down(stack, settings: Settings, store, vhost: str, keep_var_dir: bool = False) -> None:
    """Stop ``stack``; remove its buckets, databases, vhost and (unless ``keep_var_dir``) its var dir."""
    from services.common.db import dispose_engines, get_engine

    stack.down()
    for bucket in settings.buckets.values():
        try:
            store.remove_bucket(bucket)
        except Exception:  # noqa: BLE001 - best effort: a bucket never created
            pass
    dispose_engines()
    try:
        with get_engine(settings, None).connect() as connection:
            for (name,) in connection.exec_driver_sql("SHOW DATABASES").all():
                if name.startswith(settings.db_prefix):
                    connection.exec_driver_sql(f"DROP DATABASE `{name}`")
    finally:
        dispose_engines()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)
    if not keep_var_dir:
        shutil.rmtree(settings.var_dir, ignore_errors=True)
