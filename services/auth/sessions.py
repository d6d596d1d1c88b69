"""Login, rate limit, sessions, API tokens, password-reset tokens and impersonation.

Sessions (browsers): ``login`` returns a session token (the gateway puts it in an HttpOnly cookie). A session ends
on logout, after ``REPSEQ_AUTH_SESSION_IDLE`` seconds without use (idle timeout) or ``REPSEQ_AUTH_SESSION_LIFETIME``
seconds after login (absolute lifetime), when its user is disabled, or when its user's password is changed or
reset. API tokens (scripts): created, listed and revoked by their owner; optional expiry.

Rate limit (per account and per IP, sliding window, stored in ``login_attempts`` so that every auth process
agrees): a login is refused without checking the password when, within the last ``REPSEQ_AUTH_LOGIN_WINDOW``
seconds, the account (the login typed, whether it exists or not) had ``REPSEQ_AUTH_LOGIN_MAX_PER_ACCOUNT`` failures
since its last success, or the IP had ``REPSEQ_AUTH_LOGIN_MAX_PER_IP`` failures. Refused attempts are audited but
not counted (a locked account unlocks one window after the last real failure).

The count cannot be beaten by concurrent attempts: :func:`reserve_attempt` locks the ``login_locks`` rows of the
account and of the IP, counts, and records the attempt as a failure *before* the password is checked, in one
short committed transaction; a success then turns it into a success (an LDAP outage deletes it). N wrong passwords
sent at the same moment are thus counted one after the other: at most the limit reach the password check.

Failures never tell whether the account exists: the same error and message, and the same password-hashing time
(a dummy hash is checked for unknown accounts).
"""

from __future__ import annotations

import random
import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.auth import audit, directory, ldap_login, tokens
from services.auth.exceptions import (AuthenticationFailed, DirectoryUnavailable, NotFound, PermissionDenied,
                                      TooManyAttempts)
from services.auth.models import (LOGIN_LOCK_STRIPES, ApiToken, Group, LoginAttempt, LoginLock, LoginSession,
                                  Membership, ResetToken, User)
from services.auth.passwords import verify_password
from services.common.config import Settings
from services.common.models import utcnow
from services.common.principal import Principal

WRONG_CREDENTIALS = "wrong e-mail or password"


def _clip(text: Any, length: int) -> str:
    return (text if isinstance(text, str) else "")[:length]


# ---------------------------------------------------------------------------------------------------- rate limit

def _retry_after(db: Session, column, value: str, limit: int, since: datetime, now: datetime,
                 window: int) -> int:
    """Seconds until the oldest of the ``limit`` newest counted failures leaves the window."""
    oldest = db.scalar(select(LoginAttempt.created_at)
                       .where(column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > since)
                       .order_by(LoginAttempt.created_at.desc()).offset(limit - 1).limit(1))
    if oldest is None:
        return 1
    return max(1, int((oldest + timedelta(seconds=window) - now).total_seconds()) + 1)


def check_rate_limit(db: Session, settings: Settings, email: str, ip: str, now: datetime) -> None:
    """Raise :class:`TooManyAttempts` (429, ``details["retry_after"]`` in seconds) when the account or the IP is
    over its limit (see the module docstring)."""
    window = settings.auth_login_window
    since = now - timedelta(seconds=window)
    last_success = db.scalar(select(func.max(LoginAttempt.created_at))
                             .where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(True),
                                    LoginAttempt.created_at > since))
    account_since = max(since, last_success) if last_success else since
    account_failures = db.scalar(select(func.count()).select_from(LoginAttempt)
                                 .where(LoginAttempt.email == email, LoginAttempt.succeeded.is_(False),
                                        LoginAttempt.created_at > account_since)) or 0
    if account_failures >= settings.auth_login_max_per_account:
        retry = _retry_after(db, LoginAttempt.email, email, settings.auth_login_max_per_account, account_since,
                             now, window)
        raise TooManyAttempts(f"too many failed logins for this account; try again in {retry} s",
                              {"retry_after": retry, "scope": "account"})
    if ip:
        ip_failures = db.scalar(select(func.count()).select_from(LoginAttempt)
                                .where(LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False),
                                       LoginAttempt.created_at > since)) or 0
        if ip_failures >= settings.auth_login_max_per_ip:
            retry = _retry_after(db, LoginAttempt.ip, ip, settings.auth_login_max_per_ip, since, now, window)
            raise TooManyAttempts(f"too many failed logins from your address; try again in {retry} s",
                                  {"retry_after": retry, "scope": "ip"})


def _lock_ids(email: str, ip: str) -> list[int]:
    """The ``login_locks`` rows of an account and of an IP, in the order every login locks them (no deadlock)."""
    keys = [f"account:{email}"] + ([f"ip:{ip}"] if ip else [])
    return sorted({1 + zlib.crc32(key.encode()) % LOGIN_LOCK_STRIPES for key in keys})


def reserve_attempt(engine, settings: Settings, email: str, ip: str, now: datetime) -> int:
    """Check the rate limit and record this login as a failed attempt, atomically: the id of the attempt.

    One transaction of its own on ``engine`` (READ COMMITTED, so that the counts see every attempt committed while
    it waited), committed before the password is checked: it locks the ``login_locks`` rows of the account and of
    the IP, counts with :func:`check_rate_limit`, and inserts the attempt (``succeeded`` false until the caller
    proves otherwise). Concurrent logins of one account or IP therefore count one after the other. Raises
    :class:`TooManyAttempts` (nothing recorded: refused attempts are not counted).
    """
    with Session(bind=engine, expire_on_commit=False) as db, db.begin():
        db.connection(execution_options={"isolation_level": "READ COMMITTED"})
        wanted = _lock_ids(email, ip)
        lock = select(LoginLock.id).where(LoginLock.id.in_(wanted)).order_by(LoginLock.id).with_for_update()
        if len(db.scalars(lock).all()) < len(wanted):  # rows lost (created by migration auth_0003): put them back
            db.execute(insert(LoginLock).prefix_with("IGNORE"), [{"id": lock_id} for lock_id in wanted])
            db.scalars(lock).all()
        check_rate_limit(db, settings, email, ip, now)
        attempt = LoginAttempt(email=email, ip=ip, succeeded=False, created_at=now)
        db.add(attempt)
        db.flush()
        return attempt.id


def _forget_old_attempts(db: Session, settings: Settings, now: datetime) -> None:
    # About one login in 20 deletes attempts that no window can count any more.
    if random.random() < 0.05:
        horizon = now - timedelta(seconds=max(settings.auth_login_window * 2, 86400))
        db.execute(delete(LoginAttempt).where(LoginAttempt.created_at < horizon))


# ---------------------------------------------------------------------------------------------------- login

def _ldap_account(db: Session, settings: Settings, publish, identity: ldap_login.LdapIdentity) -> User | None:
    """The local account of an LDAP identity: created on first login, names refreshed, mapped groups synced.
    ``None`` if the e-mail belongs to a local (non-LDAP) account: the directory may not take it over."""
    user = directory.user_by_email(db, identity.email)
    if user is None:
        user = db.scalar(select(User).where(User.ldap_dn == identity.dn, User.source == "ldap"))
    if user is None:
        user = directory.create_account(db, settings, publish, email=identity.email,
                                        first_name=identity.first_name[:100], last_name=identity.last_name[:100],
                                        password=None, source="ldap", ldap_dn=identity.dn)
    elif user.source != "ldap":
        return None
    else:
        user.first_name = identity.first_name[:100] or user.first_name
        user.last_name = identity.last_name[:100] or user.last_name
        user.ldap_dn = identity.dn
    if settings.ldap_group_map:
        sync_ldap_groups(db, publish, user, identity, ldap_login.parse_group_map(settings.ldap_group_map))
    return user


def sync_ldap_groups(db: Session, publish, user: User, identity: ldap_login.LdapIdentity,
                     mapping: dict[str, str]) -> None:
    """Make the user's memberships of the *mapped* groups match the directory (other groups are left alone)."""
    for group_dn, group_name in mapping.items():
        group = db.scalar(select(Group).where(Group.name == group_name))
        if group is None or group.kind in (directory.PUBLIC, directory.PERSONAL):
            continue
        member = db.get(Membership, (user.id, group.id)) is not None
        wanted = group_dn in identity.group_dns
        if wanted == member:
            continue
        if wanted:
            db.add(Membership(user_id=user.id, group_id=group.id))
        else:
            db.execute(delete(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id))
        db.flush()
        audit.record(db, "membership_added" if wanted else "membership_removed", None, target_user_id=user.id,
                     group_id=group.id, details={"group": group.name, "by": "ldap", "ldap_group": group_dn})
        publish("group.membership_changed", {"group_id": group.id, "user_id": user.id,
                                             "change": "added" if wanted else "removed", "changed_by": None,
                                             "impersonator": None})


def authenticate(db: Session, settings: Settings, publish, login: str, password: str) -> User | None:
    """The active user whose credentials these are, or ``None``. Local accounts check the argon2 hash; others
    go to the directory when LDAP is enabled (raises :class:`DirectoryUnavailable` if it cannot be reached: a
    wrong password for a local account also asks the directory then, so the answer is the same for a local and
    an unknown account)."""
    user = directory.user_by_email(db, login) if "@" in login else None
    if user is not None and user.source == "local":
        if verify_password(user.password_hash, password) and user.is_active:
            return user
        if ldap_login.enabled(settings):
            ldap_login.authenticate(settings, login, password)  # same cost and same outage error as below
        return None
    if not ldap_login.enabled(settings):
        verify_password(None, password)  # same time as a real check
        return None
    identity = ldap_login.authenticate(settings, login, password)
    if identity is None:
        return None
    account = _ldap_account(db, settings, publish, identity)
    return account if account is not None and account.is_active else None


def login(db: Session, settings: Settings, publish, login_name: Any, password: Any, ip: Any,
          user_agent: Any) -> dict[str, Any]:
    """Check the credentials and open a session. Returns ``{"session_token", "expires_at", "user",
    "principal"}``. Raises AuthenticationFailed (401, same message whether or not the account exists),
    TooManyAttempts (429), DirectoryUnavailable (503).

    Failed and refused attempts are committed before the error leaves (they must survive the rollback). The attempt
    is counted as a failure before the password is checked (:func:`reserve_attempt`), so concurrent attempts cannot
    exceed the limit; an error while checking leaves it counted, except an LDAP outage (not the caller's failure).
    """
    email = _clip(login_name, 254).strip().lower()
    ip, user_agent = _clip(ip, 45).strip(), _clip(user_agent, 255)
    password = password if isinstance(password, str) else ""
    now = utcnow()
    _forget_old_attempts(db, settings, now)
    db.commit()  # the clean-up locks many rows: it must not wait for the password check
    try:
        attempt_id = reserve_attempt(db.get_bind(), settings, email, ip, now)
    except TooManyAttempts as refused:
        audit.record(db, "login_refused", None, email=email, ip=ip, user_agent=user_agent,
                     details={"reason": "rate_limit", "scope": refused.details["scope"]})
        db.commit()
        raise
    try:
        user = authenticate(db, settings, publish, email, password) if email and password else None
    except DirectoryUnavailable as down:
        db.rollback()
        db.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        audit.record(db, "login_failed", None, email=email, ip=ip, user_agent=user_agent,
                     details={"reason": "directory_unavailable"})
        db.commit()
        raise down
    if user is None:
        db.rollback()  # nothing of a failed LDAP sync may stay; the failure was recorded by reserve_attempt
        known = directory.user_by_email(db, email) if email else None
        audit.record(db, "login_failed", None, target_user_id=known.id if known else None, email=email, ip=ip,
                     user_agent=user_agent, details={"reason": "wrong_credentials"})
        db.commit()
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    db.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))
    token, token_hash = tokens.new_token(tokens.SESSION)
    session = LoginSession(token_hash=token_hash, user_id=user.id, created_at=now, last_seen_at=now,
                           expires_at=now + timedelta(seconds=settings.auth_session_lifetime), ip=ip,
                           user_agent=user_agent)
    db.add(session)
    user.last_login_at = now
    db.flush()
    audit.record(db, "login", user.id, target_user_id=user.id, email=user.email, ip=ip, user_agent=user_agent,
                 details={"session_id": session.id, "source": user.source})
    return {"session_token": token, "expires_at": directory.iso(session.expires_at),
            "user": directory.user_dict(db, user), "principal": directory.build_principal(db, user).to_dict()}


# ---------------------------------------------------------------------------------------------------- sessions

def _live_session(db: Session, settings: Settings, token: Any, now: datetime) -> LoginSession:
    """The open session of ``token`` (locked for update); ends it and raises AuthenticationFailed when it is
    unknown, ended, idle too long, past its lifetime, or its user is disabled."""
    if not tokens.looks_like(token, tokens.SESSION):
        raise AuthenticationFailed("no valid session: log in again")
    session = db.scalar(select(LoginSession).where(LoginSession.token_hash == tokens.hash_token(token)))
    if session is None or session.ended_at is not None:
        raise AuthenticationFailed("no valid session: log in again")
    reason = None
    if now >= session.expires_at:
        reason = "expired"
    elif now - session.last_seen_at >= timedelta(seconds=settings.auth_session_idle):
        reason = "idle"
    else:
        user = db.get(User, session.user_id)
        if user is None or not user.is_active:
            reason = "user_disabled"
    if reason:
        session.ended_at, session.end_reason = now, reason
        audit.record(db, "session_ended", session.user_id, target_user_id=session.user_id,
                     details={"session_id": session.id, "reason": reason})
        db.commit()
        raise AuthenticationFailed("your session has expired: log in again", {"reason": reason})
    return session


def resolve_session(db: Session, settings: Settings, token: Any) -> dict[str, Any]:
    """The principal dict of a session token (the impersonated user's, with ``impersonator`` set, while an
    administrator impersonates). Refreshes the idle timer. Raises AuthenticationFailed."""
    now = utcnow()
    session = _live_session(db, settings, token, now)
    # Writing on every request would serialise the gateway on this row; a coarse refresh is precise enough.
    if (now - session.last_seen_at).total_seconds() >= min(30, settings.auth_session_idle / 10):
        session.last_seen_at = now
    user = db.get(User, session.user_id)
    own = directory.build_principal(db, user)
    if session.impersonated_user_id:
        acted = db.get(User, session.impersonated_user_id)
        # impersonation lasts only while the session's own user is still an administrator
        if acted is not None and acted.is_active and own.is_admin:
            return directory.build_principal(db, acted, impersonator=user.id).to_dict()
        audit.record(db, "impersonation_stop", Principal(user_id=session.impersonated_user_id,
                                                         impersonator=user.id),
                     target_user_id=session.impersonated_user_id,
                     details={"session_id": session.id, "reason": "no longer allowed"})
        session.impersonated_user_id = None
    return own.to_dict()


def logout(db: Session, token: Any, ip: str = "", user_agent: str = "") -> bool:
    """End the session of ``token``; True if one was open. Unknown or ended tokens are not an error."""
    if not tokens.looks_like(token, tokens.SESSION):
        return False
    session = db.scalar(select(LoginSession).where(LoginSession.token_hash == tokens.hash_token(token)))
    if session is None or session.ended_at is not None:
        return False
    session.ended_at, session.end_reason = utcnow(), "logout"
    audit.record(db, "logout", session.user_id, target_user_id=session.user_id,
                 ip=_clip(ip, 45) or session.ip, user_agent=_clip(user_agent, 255) or session.user_agent,
                 details={"session_id": session.id,
                          "impersonating": session.impersonated_user_id})
    return True


def session_dict(row: LoginSession) -> dict[str, Any]:
    """``{id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, impersonated_user_id}``."""
    return {"id": row.id, "user_id": row.user_id, "created_at": directory.iso(row.created_at),
            "last_seen_at": directory.iso(row.last_seen_at), "expires_at": directory.iso(row.expires_at),
            "ip": row.ip, "user_agent": row.user_agent, "impersonated_user_id": row.impersonated_user_id}


def list_sessions(db: Session, settings: Settings, actor: Principal, user_id: int | None) -> list[dict[str, Any]]:
    """Open (not ended, not idle, not expired) sessions of the caller (administrators: of ``user_id``)."""
    owner = actor.user_id if user_id is None else user_id
    if owner != actor.user_id and not actor.is_admin:
        raise NotFound(f"user {owner} does not exist", {"user_id": owner})
    now = utcnow()
    rows = db.scalars(select(LoginSession).where(
        LoginSession.user_id == owner, LoginSession.ended_at.is_(None), LoginSession.expires_at > now,
        LoginSession.last_seen_at > now - timedelta(seconds=settings.auth_session_idle))
        .order_by(LoginSession.id.desc()))
    return [session_dict(row) for row in rows]


def end_session(db: Session, actor: Principal, session_id: int) -> bool:
    """End one open session of the caller (administrators: anyone's); NotFound for others' sessions."""
    row = db.get(LoginSession, session_id) if isinstance(session_id, int) and not isinstance(session_id, bool) \
        else None
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound(f"session {session_id} does not exist", {"session_id": session_id})
    if row.ended_at is not None:
        return False
    row.ended_at, row.end_reason = utcnow(), "revoked"
    audit.record(db, "session_ended", actor, target_user_id=row.user_id,
                 details={"session_id": row.id, "reason": "revoked"})
    return True


def end_user_sessions(db: Session, user_id: int, reason: str, keep_token: str | None = None) -> int:
    """End every open session of ``user_id`` (except the one of ``keep_token``); return how many."""
    statement = (update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
                 .values(ended_at=utcnow(), end_reason=reason))
    if keep_token:
        statement = statement.where(LoginSession.token_hash != tokens.hash_token(keep_token))
    return db.execute(statement).rowcount or 0


def impersonate(db: Session, settings: Settings, token: Any, user_id: int | None) -> dict[str, Any]:
    """Start (``user_id``) or stop (``None``) impersonation in the session of ``token``. Only a session whose own
    user is an administrator *now* (checked in the database, not from the principal) may start. Returns the new
    principal dict. Raises AuthenticationFailed, PermissionDenied, NotFound."""
    now = utcnow()
    session = _live_session(db, settings, token, now)
    real = db.get(User, session.user_id)
    real_principal = directory.build_principal(db, real)
    if user_id is None:
        if session.impersonated_user_id is not None:
            audit.record(db, "impersonation_stop", Principal(user_id=session.impersonated_user_id,
                                                             impersonator=real.id),
                         target_user_id=session.impersonated_user_id, details={"session_id": session.id})
            session.impersonated_user_id = None
        return real_principal.to_dict()
    if not real_principal.is_admin:
        audit.record(db, "impersonation_start", real.id, target_user_id=user_id if isinstance(user_id, int)
                     else None, details={"session_id": session.id, "refused": True})
        db.commit()
        raise PermissionDenied("only administrators may act as another user")
    target = directory.get_user_row(db, user_id)
    if target.id == real.id:
        raise PermissionDenied("you cannot impersonate yourself")
    if not target.is_active:
        raise PermissionDenied("this account is disabled", {"user_id": target.id})
    session.impersonated_user_id = target.id
    session.last_seen_at = now
    audit.record(db, "impersonation_start", Principal(user_id=target.id, impersonator=real.id),
                 target_user_id=target.id, details={"session_id": session.id})
    return directory.build_principal(db, target, impersonator=real.id).to_dict()


# ---------------------------------------------------------------------------------------------------- API tokens

def token_dict(row: ApiToken) -> dict[str, Any]:
    """``{id, name, prefix, created_at, last_used_at, expires_at, revoked_at}`` (never the secret)."""
    return {"id": row.id, "name": row.name, "prefix": row.prefix, "created_at": directory.iso(row.created_at),
            "last_used_at": directory.iso(row.last_used_at), "expires_at": directory.iso(row.expires_at),
            "revoked_at": directory.iso(row.revoked_at)}


def create_api_token(db: Session, actor: Principal, name: str, expires_in_days: int | None) -> dict[str, Any]:
    """A new API token of the caller: token dict + ``"token"`` (the secret, shown only here)."""
    if actor.impersonator is not None:
        raise PermissionDenied("API tokens cannot be created while acting as another user")
    token, token_hash = tokens.new_token(tokens.API)
    now = utcnow()
    row = ApiToken(user_id=actor.user_id, name=name, token_hash=token_hash, prefix=token[:12], created_at=now,
                   expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    db.add(row)
    db.flush()
    audit.record(db, "api_token_created", actor, target_user_id=actor.user_id,
                 details={"token_id": row.id, "name": name, "expires_at": directory.iso(row.expires_at)})
    return {**token_dict(row), "token": token}


def list_api_tokens(db: Session, actor: Principal, user_id: int | None = None) -> list[dict[str, Any]]:
    """The tokens of the caller (an administrator may name another ``user_id``), newest first."""
    owner = actor.user_id if user_id is None else user_id
    if owner != actor.user_id and not actor.is_admin:
        raise NotFound(f"user {owner} does not exist", {"user_id": owner})
    rows = db.scalars(select(ApiToken).where(ApiToken.user_id == owner).order_by(ApiToken.id.desc()))
    return [token_dict(row) for row in rows]


def revoke_api_token(db: Session, actor: Principal, token_id: int) -> dict[str, Any]:
    """Revoke a token of the caller (administrators: any token). NotFound for others' tokens."""
    row = db.get(ApiToken, token_id) if isinstance(token_id, int) and not isinstance(token_id, bool) else None
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound(f"API token {token_id} does not exist", {"token_id": token_id})
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(db, "api_token_revoked", actor, target_user_id=row.user_id,
                     details={"token_id": row.id, "name": row.name})
    return token_dict(row)


def resolve_api_token(db: Session, token: Any) -> dict[str, Any]:
    """The principal dict of an API token's owner. Raises AuthenticationFailed (unknown, revoked, expired,
    owner disabled)."""
    if not tokens.looks_like(token, tokens.API):
        raise AuthenticationFailed("invalid API token")
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and now >= row.expires_at):
        raise AuthenticationFailed("invalid, revoked or expired API token")
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("invalid, revoked or expired API token")
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= 60:
        row.last_used_at = now
    return directory.build_principal(db, user).to_dict()


# ---------------------------------------------------------------------------------------------------- reset

def create_reset_token(db: Session, settings: Settings, actor: Principal | None, user: User) -> dict[str, Any]:
    """A single-use password-reset token for ``user`` valid REPSEQ_AUTH_RESET_LIFETIME seconds:
    ``{"reset_token", "expires_at", "user_id"}``. Earlier unused tokens of the user stop working."""
    now = utcnow()
    db.execute(update(ResetToken).where(ResetToken.user_id == user.id, ResetToken.used_at.is_(None))
               .values(used_at=now))
    token, token_hash = tokens.new_token(tokens.RESET)
    row = ResetToken(user_id=user.id, token_hash=token_hash, created_at=now,
                     created_by=actor.user_id if actor else None,
                     expires_at=now + timedelta(seconds=settings.auth_reset_lifetime))
    db.add(row)
    audit.record(db, "reset_token_created", actor, target_user_id=user.id,
                 details={"expires_at": directory.iso(row.expires_at)})
    return {"reset_token": token, "expires_at": directory.iso(row.expires_at), "user_id": user.id}


def take_reset_token(db: Session, token: Any) -> User:
    """The user of an unused, unexpired reset token, marking it used. Raises AuthenticationFailed otherwise."""
    if not tokens.looks_like(token, tokens.RESET):
        raise AuthenticationFailed("invalid or expired password-reset link")
    row = db.scalar(select(ResetToken).where(ResetToken.token_hash == tokens.hash_token(token))
                    .with_for_update())
    now = utcnow()
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise AuthenticationFailed("invalid or expired password-reset link")
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("invalid or expired password-reset link")
    row.used_at = now
    return user
