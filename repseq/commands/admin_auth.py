"""``repseq admin`` commands of the auth service: first administrator, accounts, groups, capabilities, audit.

    repseq admin init --email E [--password-stdin]        first administrator (only while no user exists)
    repseq admin create-user --email E [--admin] [--first-name F] [--last-name L] [--password-stdin | --no-password]
    repseq admin set-password --email E [--password-stdin]
    repseq admin reset-token --email E                     single-use password-reset token
    repseq admin users [--query Q]
    repseq admin create-group NAME [--parent NAME] [--capabilities read,create,...] [--description D]
    repseq admin add-member --group NAME --email E  /  remove-member --group NAME --email E
    repseq admin capabilities (--group NAME | --user E) [--grant CAP ...] [--revoke CAP ...]
    repseq admin audit [--action A] [--email E] [--limit N]

They work on the auth database directly (the same code as the auth service's RPCs, run as the command line:
audit lines have no actor), so they work before any service runs; the database must be migrated
(``repseq admin migrate``). Passwords are never taken from the command line (visible to other users of the
machine): they are asked twice on a terminal, or read from the first line of standard input with
``--password-stdin``. Events (``user.created``, ...) are published on RabbitMQ after the change is committed; if
the broker is down the change stays and a warning says so. Exit codes: 0 done, 1 refused (message on stderr),
2 configuration error.
"""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import contextmanager

from services.common.config import Settings


class CommandError(Exception):
    """A refusal to print as one line on stderr (exit 1)."""


def _read_password(args, confirm: bool = True) -> str:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise CommandError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask the password: use --password-stdin")
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password (again): ") != password:
        raise CommandError("the two passwords differ")
    return password


@contextmanager
def _auth_database(settings: Settings):
    """``(db, publish)``: a session on the auth database (committed at the end) and a ``publish`` that queues
    events, dispatched after the commit."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from services.common.db import session_scope

    queued: list[tuple[str, dict]] = []
    try:
        with session_scope(settings, "auth") as db:
            yield db, lambda event, data: queued.append((event, dict(data)))
    except (OperationalError, ProgrammingError) as error:
        text = str(error.orig) if getattr(error, "orig", None) else str(error)
        if "doesn't exist" in text or "Unknown database" in text:
            raise CommandError("the auth database is not migrated: run `repseq admin migrate` first") from None
        raise CommandError(f"auth database unreachable: {text.splitlines()[0]}") from None
    _publish(settings, queued)


def _publish(settings: Settings, queued: list[tuple[str, dict]]) -> None:
    if not queued:
        return
    from nameko.standalone.events import event_dispatcher

    from services.common.events import make_envelope

    try:
        dispatch = event_dispatcher(settings.nameko_config())
        for event, data in queued:
            dispatch("auth", event, make_envelope(event, data, source="auth"))
    except Exception as error:  # the change is committed; only the notification is lost
        print(f"warning: events not published ({type(error).__name__}: {error}); the change is saved",
              file=sys.stderr)


def _user(db, email: str):
    from services.auth import directory

    user = directory.user_by_email(db, email)
    if user is None:
        raise CommandError(f"no account with e-mail {email}")
    return user


def _group(db, name: str):
    from sqlalchemy import select

    from services.auth.models import Group

    group = db.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise CommandError(f"no group named {name!r}")
    return group


def _print(data) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


# ---------------------------------------------------------------------------------------------------- commands

def cmd_init(args, settings: Settings) -> None:
    from services.auth import accounts

    password = _read_password(args)
    with _auth_database(settings) as (db, publish):
        user = accounts.init_admin(db, settings, publish, args.email, password, args.first_name, args.last_name)
    print(f"administrator {user['email']} created (user {user['id']}); log in at {settings.gateway_url}")


def cmd_create_user(args, settings: Settings) -> None:
    from services.auth import accounts

    password = None if args.no_password else _read_password(args)
    with _auth_database(settings) as (db, publish):
        user = accounts.create_user(db, settings, publish, None, args.email, password, args.first_name,
                                    args.last_name, admin=args.admin)
    print(f"user {user['email']} created (user {user['id']}, personal group {user['personal_group_id']}"
          f"{', administrator' if args.admin else ''})")
    if "reset_token" in user:
        print(f"password-reset token (single use, until {user['reset_expires_at']}): {user['reset_token']}")


def cmd_set_password(args, settings: Settings) -> None:
    from services.auth import accounts

    password = _read_password(args)
    with _auth_database(settings) as (db, publish):
        user = accounts.set_password(db, settings, None, _user(db, args.email).id, password)
    print(f"password of {user['email']} changed; their sessions ended")


def cmd_reset_token(args, settings: Settings) -> None:
    from services.auth import sessions

    with _auth_database(settings) as (db, publish):
        reset = sessions.create_reset_token(db, settings, None, _user(db, args.email))
    print(f"password-reset token (single use, until {reset['expires_at']}): {reset['reset_token']}")


def cmd_users(args, settings: Settings) -> None:
    from services.auth import accounts

    with _auth_database(settings) as (db, publish):
        users = accounts.list_users(db, None, args.query or "", 1000, 0)
    for user in users:
        flags = ",".join(f for f, on in (("admin", user["is_admin"]), ("disabled", not user["is_active"]),
                                          (user["source"], user["source"] != "local")) if on)
        print(f"{user['id']:6}  {user['email']:40} {user['first_name']} {user['last_name']}  {flags}")


def cmd_create_group(args, settings: Settings) -> None:
    from services.auth import directory
    from services.auth.schemas import NewGroup, parse

    capabilities = [c.strip() for c in args.capabilities.split(",") if c.strip()] if args.capabilities else None
    with _auth_database(settings) as (db, publish):
        parent_id = _group(db, args.parent).id if args.parent else None
        payload = parse(NewGroup, {"name": args.name, "parent_id": parent_id, "capabilities": capabilities,
                                   "description": args.description})
        group = directory.create_group(db, publish, None, payload)
        caps = sorted(directory.capabilities_of(db, [group.id])[group.id])
    print(f"group {group.name} created (group {group.id}, parent {group.parent_id or '-'}, "
          f"capabilities {','.join(caps)})")


def _membership(args, settings: Settings, add: bool) -> None:
    from services.auth import directory

    with _auth_database(settings) as (db, publish):
        group, user = _group(db, args.group), _user(db, args.email)
        changed = directory.change_membership(db, publish, None, group.id, user.id, add)
    if changed:
        print(f"{user.email} {'added to' if add else 'removed from'} {group.name}")
    else:
        print("nothing to change")


def cmd_add_member(args, settings: Settings) -> None:
    _membership(args, settings, add=True)


def cmd_remove_member(args, settings: Settings) -> None:
    _membership(args, settings, add=False)


def cmd_capabilities(args, settings: Settings) -> None:
    from services.auth import directory
    from services.common.principal import CAPABILITIES

    unknown = sorted(set(args.grant + args.revoke) - set(CAPABILITIES))
    if unknown:
        raise CommandError(f"unknown capabilities {unknown}: use {', '.join(CAPABILITIES)}")
    with _auth_database(settings) as (db, publish):
        if args.user:
            group_id = directory.personal_group_id(db, _user(db, args.user).id)
        else:
            group_id = _group(db, args.group).id
        current = directory.capabilities_of(db, [group_id])[group_id]
        wanted = (current | set(args.grant)) - set(args.revoke)
        result = directory.set_capabilities(db, publish, None, group_id, wanted)
    print(f"group {group_id}: {','.join(result['capabilities']) or '(none)'}"
          f"{'  +' + ','.join(result['added']) if result['added'] else ''}"
          f"{'  -' + ','.join(result['removed']) if result['removed'] else ''}")


def cmd_audit(args, settings: Settings) -> None:
    from services.auth import audit
    from services.auth.schemas import AuditQuery, parse

    with _auth_database(settings) as (db, publish):
        user_id = _user(db, args.email).id if args.email else None
        lines = audit.query(db, parse(AuditQuery, {"action": args.action, "user_id": user_id,
                                                   "limit": args.limit}))
    for line in reversed(lines):
        who = line["actor_user_id"] if line["actor_user_id"] is not None else "-"
        if line["impersonator_id"] is not None:
            who = f"{who} (as admin {line['impersonator_id']})"
        extra = " ".join(f"{k}={v}" for k, v in (("target", line["target_user_id"]), ("group", line["group_id"]),
                                                  ("email", line["email"]), ("ip", line["ip"])) if v)
        print(f"{line['occurred_at']}  {line['action']:20} by {who}  {extra}  {json.dumps(line['details'])}")


# ---------------------------------------------------------------------------------------------------- parsers

def _run(handler):
    def run(args) -> int:
        from services.common.exceptions import RepseqError

        settings = Settings.from_env()
        try:
            handler(args, settings)
        except (CommandError, RepseqError) as error:
            print(f"repseq admin {args.admin_command}: {error}", file=sys.stderr)
            return 1
        return 0

    return run


def add_commands(top, admin) -> None:
    """Register the auth sub-commands under ``repseq admin`` (called by repseq.cli)."""
    def password_options(parser, optional: bool = False):
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input")
        if optional:
            parser.add_argument("--no-password", action="store_true",
                                help="no password: print a single-use reset token for the user to choose one")

    init = admin.add_parser("init", help="create the first administrator (only while no user exists)")
    init.add_argument("--email", required=True)
    init.add_argument("--first-name", default="System")
    init.add_argument("--last-name", default="Administrator")
    password_options(init)
    init.set_defaults(func=_run(cmd_init))

    create = admin.add_parser("create-user", help="create a local account (personal group; no `run` by default)")
    create.add_argument("--email", required=True)
    create.add_argument("--first-name", default="")
    create.add_argument("--last-name", default="")
    create.add_argument("--admin", action="store_true", help="also make the account an administrator")
    password_options(create, optional=True)
    create.set_defaults(func=_run(cmd_create_user))

    set_password = admin.add_parser("set-password", help="set a user's password (their sessions end)")
    set_password.add_argument("--email", required=True)
    password_options(set_password)
    set_password.set_defaults(func=_run(cmd_set_password))

    reset = admin.add_parser("reset-token", help="print a single-use, time-limited password-reset token")
    reset.add_argument("--email", required=True)
    reset.set_defaults(func=_run(cmd_reset_token))

    users = admin.add_parser("users", help="list accounts")
    users.add_argument("--query", help="only e-mails or names containing this")
    users.set_defaults(func=_run(cmd_users))

    group = admin.add_parser("create-group", help="create a group (an organisation, or a role under --parent)")
    group.add_argument("name")
    group.add_argument("--parent", help="name of the parent (organisation) group")
    group.add_argument("--capabilities", help="comma-separated (default read,create,upload,save,admin)")
    group.add_argument("--description", default="")
    group.set_defaults(func=_run(cmd_create_group))

    for name, handler, text in (("add-member", cmd_add_member, "add a user to a group"),
                                ("remove-member", cmd_remove_member, "remove a user from a group")):
        parser = admin.add_parser(name, help=text)
        parser.add_argument("--group", required=True, help="group name")
        parser.add_argument("--email", required=True)
        parser.set_defaults(func=_run(handler))

    capabilities = admin.add_parser("capabilities", help="grant / revoke capabilities of a group "
                                                         "(e.g. `--user a@lab.org --grant run`)")
    which = capabilities.add_mutually_exclusive_group(required=True)
    which.add_argument("--group", help="group name")
    which.add_argument("--user", help="e-mail: that user's personal group")
    capabilities.add_argument("--grant", nargs="+", default=[], metavar="CAP")
    capabilities.add_argument("--revoke", nargs="+", default=[], metavar="CAP")
    capabilities.set_defaults(func=_run(cmd_capabilities))

    audit_parser = admin.add_parser("audit", help="print the audit log (logins, impersonation, group changes)")
    audit_parser.add_argument("--action")
    audit_parser.add_argument("--email", help="lines about this user (actor, target or impersonator)")
    audit_parser.add_argument("--limit", type=int, default=50)
    audit_parser.set_defaults(func=_run(cmd_audit))

