"""Account operations: first administrator, account creation (administrators, or anyone when self-registration
is enabled), profile changes, password change / administrator reset / single-use reset token.

Used by the auth service's RPCs and by the ``repseq admin`` commands (which pass their own ``publish``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.auth import audit, directory, sessions
from services.auth.exceptions import AuthenticationFailed, BadRequest, Conflict, PermissionDenied, WeakPassword
from services.auth.models import Group, User
from services.auth.passwords import HISTORY_SIZE, check_password_rules, matches_any, verify_password
from services.auth.schemas import NewUser, UserChanges, parse
from services.common.config import Settings
from services.common.principal import Principal


def _new_password(db: Session, settings: Settings, user: User | None, email: str, password: Any) -> str:
    """Check the rules and, for an existing user, the history (last :data:`HISTORY_SIZE` passwords)."""
    if not isinstance(password, str):
        raise WeakPassword("a password is required")
    check_password_rules(password, settings.auth_password_min_length, email)
    if user is not None and matches_any(password, directory.recent_password_hashes(db, user, HISTORY_SIZE)):
        raise WeakPassword(f"the new password must differ from your last {HISTORY_SIZE} passwords",
                           {"rule": "history", "history": HISTORY_SIZE})
    return password


def init_admin(db: Session, settings: Settings, publish, email: Any, password: Any, first_name: str = "System",
               last_name: str = "Administrator") -> dict[str, Any]:
    """Create the first account, an administrator, while no user exists. Raises Conflict afterwards (the route
    is closed), BadRequest / WeakPassword for bad input. Concurrent calls are serialised on the admin group row."""
    payload = parse(NewUser, {"email": email, "first_name": first_name, "last_name": last_name})
    db.scalar(select(Group).where(Group.kind == directory.ADMIN).with_for_update())
    if directory.user_count(db) > 0:
        raise Conflict("the platform is already initialised: log in as an administrator")
    _new_password(db, settings, None, payload.email, password)
    user = directory.create_account(db, settings, publish, email=payload.email, first_name=payload.first_name,
                                    last_name=payload.last_name, password=password, admin=True)
    audit.record(db, "admin_initialised", user.id, target_user_id=user.id, email=user.email)
    return directory.user_dict(db, user, with_groups=True)


def create_user(db: Session, settings: Settings, publish, actor: Principal | None, email: Any,
                password: Any = None, first_name: str = "", last_name: str = "",
                admin: bool = False) -> dict[str, Any]:
    """Create a local account (``actor``: an administrator; ``None``: the command line). Without a password the
    account gets none and the answer carries a single-use ``reset_token`` (+ ``reset_expires_at``) for the user
    to choose one. Raises PermissionDenied, Conflict (e-mail taken), BadRequest, WeakPassword."""
    if actor is not None:
        actor.require_admin()
    payload = parse(NewUser, {"email": email, "first_name": first_name, "last_name": last_name})
    if password is not None:
        _new_password(db, settings, None, payload.email, password)
    user = directory.create_account(db, settings, publish, email=payload.email, first_name=payload.first_name,
                                    last_name=payload.last_name, password=password, created_by=actor,
                                    admin=admin is True)
    result = directory.user_dict(db, user, with_groups=True)
    if password is None:
        reset = sessions.create_reset_token(db, settings, actor, user)
        result.update({"reset_token": reset["reset_token"], "reset_expires_at": reset["expires_at"]})
    return result


def register(db: Session, settings: Settings, publish, email: Any, password: Any, first_name: str = "",
             last_name: str = "") -> dict[str, Any]:
    """Self-registration, only when REPSEQ_AUTH_SELF_REGISTRATION is true (else PermissionDenied)."""
    if not settings.auth_self_registration:
        raise PermissionDenied("accounts are created by administrators (self-registration is disabled)")
    if password is None:
        raise WeakPassword("a password is required")
    return create_user(db, settings, publish, None, email, password, first_name, last_name)


def get_user(db: Session, actor: Principal, user_id: int) -> dict[str, Any]:
    """Self or administrator; others get NotFound."""
    if user_id != actor.user_id and not actor.is_admin:
        raise directory.NotFound(f"user {user_id} does not exist", {"user_id": user_id})
    return directory.user_dict(db, directory.get_user_row(db, user_id), with_groups=True)


def list_users(db: Session, actor: Principal | None, query: str = "", limit: int = 100,
               offset: int = 0) -> list[dict[str, Any]]:
    """Administrators (``None``: the command line): accounts whose e-mail or names contain ``query``, by e-mail."""
    if actor is not None:
        actor.require_admin()
    if not isinstance(limit, int) or not isinstance(offset, int) or not 1 <= limit <= 1000 or offset < 0:
        raise BadRequest("limit must be 1-1000 and offset >= 0")
    statement = select(User).order_by(User.email).limit(limit).offset(offset)
    if query:
        like = f"%{str(query).strip().lower()}%"
        statement = statement.where(or_(func.lower(User.email).like(like), func.lower(User.first_name).like(like),
                                        func.lower(User.last_name).like(like)))
    return [directory.user_dict(db, user) for user in db.scalars(statement)]


def update_user(db: Session, actor: Principal, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change names / e-mail (self or administrator; LDAP accounts keep the directory's e-mail) or ``is_active``
    (administrators, not on themselves). Disabling ends the user's sessions."""
    if not isinstance(changes, dict):
        raise BadRequest("changes must be an object")
    payload = parse(UserChanges, changes)
    if user_id != actor.user_id and not actor.is_admin:
        raise directory.NotFound(f"user {user_id} does not exist", {"user_id": user_id})
    user = directory.get_user_row(db, user_id)
    done: dict[str, Any] = {}
    if payload.email is not None and payload.email != user.email:
        if user.source == "ldap":
            raise Conflict("the e-mail of an LDAP account comes from the directory")
        if directory.user_by_email(db, payload.email) is not None:
            raise Conflict("an account with this e-mail address already exists", {"email": payload.email})
        done["email"] = [user.email, payload.email]
        user.email = payload.email
    for name in ("first_name", "last_name"):
        value = getattr(payload, name)
        if value is not None and value != getattr(user, name):
            done[name] = [getattr(user, name), value]
            setattr(user, name, value)
    if payload.is_active is not None and payload.is_active != user.is_active:
        actor.require_admin()
        if user.id == actor.user_id:
            raise Conflict("you cannot disable your own account")
        done["is_active"] = [user.is_active, payload.is_active]
        user.is_active = payload.is_active
        if not payload.is_active:
            sessions.end_user_sessions(db, user.id, "user_disabled")
    if done:
        audit.record(db, "user_updated", actor, target_user_id=user.id, details=done)
    return directory.user_dict(db, user, with_groups=True)


def change_password(db: Session, settings: Settings, actor: Principal, current_password: Any, new_password: Any,
                    keep_session_token: str | None = None) -> dict[str, Any]:
    """The caller changes their own local password (the current one is checked; the last 3 are refused). Other
    sessions of the user end (``keep_session_token`` stays open)."""
    if actor.impersonator is not None:
        raise PermissionDenied("a password cannot be changed while acting as another user")
    user = directory.get_user_row(db, actor.user_id)
    if user.source != "local":
        raise Conflict("this account's password is managed by the LDAP directory")
    if not isinstance(current_password, str) or not verify_password(user.password_hash, current_password):
        raise AuthenticationFailed("the current password is wrong")
    directory.set_password(db, user, _new_password(db, settings, user, user.email, new_password))
    ended = sessions.end_user_sessions(db, user.id, "password_changed", keep_token=keep_session_token)
    audit.record(db, "password_changed", actor, target_user_id=user.id, details={"sessions_ended": ended})
    return directory.user_dict(db, user)


def set_password(db: Session, settings: Settings, actor: Principal | None, user_id: int,
                 new_password: Any) -> dict[str, Any]:
    """An administrator (``None``: the command line) sets a user's password; the user's sessions end."""
    if actor is not None:
        actor.require_admin()
    user = directory.get_user_row(db, user_id)
    if user.source != "local":
        raise Conflict("this account's password is managed by the LDAP directory")
    directory.set_password(db, user, _new_password(db, settings, user, user.email, new_password))
    ended = sessions.end_user_sessions(db, user.id, "password_set")
    audit.record(db, "password_set", actor, target_user_id=user.id, details={"sessions_ended": ended})
    return directory.user_dict(db, user)


def reset_password(db: Session, settings: Settings, token: Any, new_password: Any) -> dict[str, Any]:
    """Set a new password with a single-use reset token (checked before the password, so a bad password keeps
    the token usable: the whole call rolls back). The user's sessions end."""
    user = sessions.take_reset_token(db, token)
    if user.source != "local":
        raise Conflict("this account's password is managed by the LDAP directory")
    directory.set_password(db, user, _new_password(db, settings, user, user.email, new_password))
    ended = sessions.end_user_sessions(db, user.id, "password_reset")
    audit.record(db, "password_reset", user.id, target_user_id=user.id, details={"sessions_ended": ended})
    return directory.user_dict(db, user)
