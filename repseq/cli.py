"""``repseq``: the one command-line entry point of RepSeq Server.

    repseq up [--infra] [--timeout S]     start the local stack (S3 if needed, migrations, services, gateway)
    repseq down                           stop what `repseq up` started
    repseq status                         processes of the local stack and GET /health
    repseq analyze ...                    the V(D)J analysis program: exactly the arguments of `python -m vdj`
    repseq germline build ...             the germline database: exactly the arguments of `python -m vdj.germline`
    repseq admin migrate|revision|init-secrets|db-user-sql|db-access|ensure-db-user|ensure-vhost|config|check

Configuration comes from REPSEQ_* variables (docs/configuration.md). A configuration error prints one line
naming the variable and exits with code 2. More sub-commands come from the modules of ``repseq.commands``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys

import services.common  # noqa: F401  (silences eventlet's import warning)
from services.common.config import SERVICE_NAMES, VARIABLES, ConfigError, Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_up(args) -> int:
    from repseq.stack import Stack, StackError

    settings = _settings()
    stack = Stack(settings)
    try:
        url = stack.up(infra_only=args.infra, timeout=args.timeout)
    except StackError as error:
        print(f"repseq up failed: {error}", file=sys.stderr)
        return 1
    if args.infra:
        print(f"object store: {settings.s3_endpoint}")
    else:
        print(f"RepSeq Server is running: {url}  (logs: {stack.log_dir}, stop: repseq down)")
    return 0


def cmd_down(args) -> int:
    from repseq.stack import Stack

    stopped = Stack(_settings()).down(include_object_store=not args.keep_object_store)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")
    return 0


def cmd_status(args) -> int:
    from repseq.stack import Stack

    stack = Stack(_settings())
    processes = stack.status()
    if not any(info.alive for info in processes):
        print("nothing of this install is running (start it with: make run)")
        return 0
    for info in processes:
        print(f"{info.name:10} {'running pid ' + str(info.pid) if info.alive else 'not running':20} {info.log}")
    status, body = stack.health()
    print(f"GET {stack.settings.gateway_url}/health -> {status or 'no answer'}")
    for name, component in body.get("components", {}).items():
        print(f"  {name:13} {component['status']:5} {component.get('error') or ''}")
    return 0 if status == 200 else 1


#: Sub-commands whose arguments go, unparsed, to the program they stand for (see main()).
PASS_THROUGH = ("analyze", "germline")


def run_analyze(argv: list[str]) -> int:
    """``repseq analyze ARGS`` = ``python -m vdj ARGS`` (vdj.cli.main), options before or after INPUT.
    Usage errors and ``--help`` are answered by vdj's own parser under the name ``repseq analyze``."""
    from vdj.cli import main as vdj_main  # lazy: the analysis program is heavy to import

    return vdj_main(argv, prog="repseq analyze")


def run_germline(argv: list[str]) -> int:
    """``repseq germline ARGS`` = ``python -m vdj.germline ARGS`` (build, import-imgt, import-special, info)."""
    from vdj.germline_build import cli  # lazy, as for analyze

    return cli(argv, prog="repseq germline")


def cmd_migrate(args) -> int:
    from services.common.migrations import upgrade

    applied = upgrade(_settings(), args.service or None, args.revision)
    for service, revision in applied.items():
        print(f"{service:10} {revision}")
    return 0


def cmd_revision(args) -> int:
    from services.common.migrations import make_revision

    path = make_revision(_settings(), args.service, args.message, autogenerate=not args.empty)
    print(path)
    return 0


def cmd_init_secrets(args) -> int:
    from repseq.localsetup import init_secrets

    print(init_secrets())
    return 0


def cmd_db_user_sql(args) -> int:
    from repseq.localsetup import database_grant_sql, database_user_sql

    settings = _settings()
    if args.grant_only:
        sys.stdout.write(database_grant_sql(settings.db_user, settings.db_prefix))
    else:
        sys.stdout.write(database_user_sql(settings.db_user, settings.db_password, settings.db_prefix))
    return 0


#: Exit codes of ``repseq admin db-access``.
DB_ACCESS_EXIT = {"ok": 0, "no-login": 1, "no-grant": 3}


def cmd_db_access(args) -> int:
    from repseq.localsetup import database_access

    settings = _settings()
    access = database_access(settings)
    print(f"{access} ({settings.db_user}@{settings.db_host}:{settings.db_port}, databases {settings.db_prefix}*)")
    return DB_ACCESS_EXIT[access]


def cmd_ensure_db_user(args) -> int:
    from repseq.localsetup import ensure_database_user

    settings = _settings()
    try:
        done = ensure_database_user(settings)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"database user {settings.db_user}: {done} (logs in, ALL on databases {settings.db_prefix}*)")
    return 0


def cmd_ensure_vhost(args) -> int:
    from repseq.localsetup import amqp_vhost, ensure_vhost

    uri = _settings().amqp_uri
    try:
        done = ensure_vhost(uri)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"RabbitMQ vhost {amqp_vhost(uri)!r} {done}")
    return 0


def cmd_config(args) -> int:
    values = _settings().to_env()
    if args.name:
        if args.name not in values:
            print(f"unknown variable {args.name} (see docs/configuration.md)", file=sys.stderr)
            return 2
        secret = any(v.secret for v in VARIABLES if v.name == args.name)
        print("********" if secret and values[args.name] else values[args.name])
        return 0
    for variable in VARIABLES:
        value = values[variable.name]
        print(f"{variable.name}={'********' if variable.secret and value else value}")
    return 0


def cmd_check(args) -> int:
    """One line per infrastructure component; exit 1 if any is unreachable."""
    from services.common.db import create_engine_for_url, database_url, ping
    from services.common.health import run_check
    from services.common.runner import check_broker
    from services.common.storage import ObjectStore

    settings = _settings()
    engine = create_engine_for_url(database_url(settings, None), pool_size=1)
    checks = {
        f"broker {settings.amqp_uri.rsplit('@', 1)[-1]}": lambda: check_broker(settings),
        f"database {settings.db_host}:{settings.db_port}": lambda: ping(engine),
        f"object store {settings.s3_endpoint}": lambda: ObjectStore(settings, timeout=3, retries=0).ping(),
    }
    results = {name: run_check(check) for name, check in checks.items()}
    for name, result in results.items():
        print(f"{name:40} {result['status']:5} {result['error'] or ''}")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repseq", description="RepSeq Server command line.")
    top = parser.add_subparsers(dest="command", metavar="command", required=True)

    up = top.add_parser("up", help="start the local stack and print the gateway URL")
    up.add_argument("--infra", action="store_true", help="only the object store (RabbitMQ/MariaDB: make services)")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for /health 200 (default 120)")
    up.set_defaults(func=cmd_up)
    down = top.add_parser("down", help="stop what `repseq up` started")
    down.add_argument("--keep-object-store", action="store_true", help="leave the S3 server running")
    down.set_defaults(func=cmd_down)
    top.add_parser("status", help="processes of the local stack and GET /health").set_defaults(func=cmd_status)

    # Listed for `repseq --help` only: main() hands their arguments, unparsed, to the program they stand for.
    top.add_parser("analyze", help="the V(D)J analysis program (see `repseq analyze --help`)", add_help=False)
    top.add_parser("germline", help="germline database (`repseq germline build`, `repseq germline --help`)",
                   add_help=False)

    admin_parser = top.add_parser("admin", help="administration")
    admin = admin_parser.add_subparsers(dest="admin_command", metavar="admin-command", required=True)
    migrate = admin.add_parser("migrate", help="create missing databases and apply migrations")
    migrate.add_argument("--service", action="append", choices=SERVICE_NAMES, help="only this service (repeat)")
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.set_defaults(func=cmd_migrate)
    revision = admin.add_parser("revision", help="write a new migration of a service (autogenerated from models)")
    revision.add_argument("service", choices=SERVICE_NAMES)
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--empty", action="store_true", help="do not autogenerate; write an empty revision")
    revision.set_defaults(func=cmd_revision)
    admin.add_parser("init-secrets", help="generate missing secrets into var/secrets.env").set_defaults(
        func=cmd_init_secrets)
    user_sql = admin.add_parser("db-user-sql", help="print the SQL creating the database user (run as MariaDB "
                                "root); it refuses to touch a user that exists already")
    user_sql.add_argument("--grant-only", action="store_true",
                          help="only the grant on the databases <prefix>* (for a user that logs in already)")
    user_sql.set_defaults(func=cmd_db_user_sql)
    admin.add_parser("db-access", help="can the database user log in and create <prefix>* databases? prints "
                     "ok (exit 0), no-login (1) or no-grant (3)").set_defaults(func=cmd_db_access)
    admin.add_parser("ensure-db-user", help="create the database user if it cannot log in (MariaDB root over the "
                     "unix socket; never changes an existing user's password)").set_defaults(func=cmd_ensure_db_user)
    admin.add_parser("ensure-vhost", help="create the RabbitMQ vhost of REPSEQ_AMQP_URI if missing (local broker, "
                     "rabbitmqctl as root)").set_defaults(func=cmd_ensure_vhost)
    config = admin.add_parser("config", help="print the effective configuration (secrets masked)")
    config.add_argument("name", nargs="?", help="print only the value of this variable, e.g. REPSEQ_VAR_DIR")
    config.set_defaults(func=cmd_config)
    admin.add_parser("check", help="check RabbitMQ, MariaDB and S3 are reachable").set_defaults(func=cmd_check)

    import repseq.commands

    for module_info in pkgutil.iter_modules(repseq.commands.__path__):
        module = importlib.import_module(f"repseq.commands.{module_info.name}")
        if hasattr(module, "add_commands"):
            module.add_commands(top, admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PASS_THROUGH:  # argparse would take their options (-o, --help) for its own
        runner = run_analyze if argv[0] == "analyze" else run_germline
        return runner(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
