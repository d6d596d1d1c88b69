"""Auth service: accounts, groups with capabilities, sessions, API tokens, LDAP, audit (issue #4).

Entrypoints only; the logic is in accounts.py, directory.py, sessions.py, ldap_login.py, audit.py. docs/auth.md
describes the model and lists every RPC with the gateway's use of it.

Calls without a principal are the ones that *produce* one (login, resolve_session, resolve_api_token, ...) or
reveal nothing about data (health, setup_status). Every other call takes the principal first and checks it here.
"""

from __future__ import annotations

from sqlalchemy import select

from services.auth import accounts, audit, directory, ldap_login, sessions
from services.common.dependencies import Config
from services.auth.exceptions import BadRequest
from services.auth.models import Group
from services.auth.schemas import AuditQuery, Capabilities, GroupChanges, NewGroup, parse
from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.events import EventPublisher
from services.common.health import database_check, service_report
from services.common.principal import Principal

class AuthService:
    """RPC ``auth.*``. Owns the database ``<prefix>auth``."""

    name = "auth"
    db = Database()
    settings = Config()
    publish = EventPublisher()

    @rpc
    def health(self):
        """Status of this service and of its database: ``{"service", "status", "checks": {"database"}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {"database": database_check(self.db.get_bind())})

    # ------------------------------------------------------------------------------------------ no principal

    @rpc
    def setup_status(self):
        """``{"initialized": bool (a user exists), "self_registration": bool, "ldap": bool}`` for the login page."""
        return {"initialized": directory.user_count(self.db) > 0,
                "self_registration": self.settings.auth_self_registration,
                "ldap": ldap_login.enabled(self.settings)}

    @rpc(sensitive_arguments=("password",))
    def init_admin(self, email, password, first_name="System", last_name="Administrator"):
        """Create the first account, an administrator, while no user exists: user dict (with ``groups``).
        Raises Conflict (409) once a user exists, BadRequest / WeakPassword (400)."""
        return accounts.init_admin(self.db, self.settings, self.publish, email, password, first_name, last_name)

    @rpc(sensitive_arguments=("password",))
    def login(self, email, password, ip="", user_agent=""):
        """Open a session: ``{"session_token", "expires_at", "user", "principal"}``.

        ``email``: the login (an e-mail; for LDAP also a uid), ``ip`` / ``user_agent``: of the client, for the rate
        limit and the audit. Raises AuthenticationFailed (401, never says whether the account exists),
        TooManyAttempts (429, ``details.retry_after`` seconds), DirectoryUnavailable (503, LDAP down).
        """
        return sessions.login(self.db, self.settings, self.publish, email, password, ip, user_agent)

    @rpc(sensitive_arguments=("token",))
    def resolve_session(self, token):
        """The principal dict of a session token (refreshes the idle timer). Raises AuthenticationFailed (401)
        when unknown, ended, idle too long, past its lifetime or its user is disabled."""
        return sessions.resolve_session(self.db, self.settings, token)

    @rpc(sensitive_arguments=("token",))
    def resolve_api_token(self, token):
        """The principal dict of an API token's owner. Raises AuthenticationFailed (401)."""
        return sessions.resolve_api_token(self.db, token)

    @rpc(sensitive_arguments=("token",))
    def logout(self, token, ip="", user_agent=""):
        """End a session: ``{"logged_out": bool}`` (False if it was unknown or already ended; never raises)."""
        return {"logged_out": sessions.logout(self.db, token, ip, user_agent)}

    @rpc(sensitive_arguments=("password",))
    def register(self, email, password, first_name="", last_name=""):
        """Self-registration (only with REPSEQ_AUTH_SELF_REGISTRATION=true, else PermissionDenied 403): user
        dict. Raises Conflict, BadRequest, WeakPassword."""
        return accounts.register(self.db, self.settings, self.publish, email, password, first_name, last_name)

    @rpc(sensitive_arguments=("token", "new_password"))
    def reset_password(self, token, new_password):
        """Choose a new password with a single-use, time-limited reset token: user dict. Ends the user's
        sessions. Raises AuthenticationFailed (bad/used/expired token), WeakPassword."""
        return accounts.reset_password(self.db, self.settings, token, new_password)

    @rpc(sensitive_arguments=("session_token",))
    def start_impersonation(self, session_token, user_id):
        """The administrator of this session acts as ``user_id`` from now on: the new principal dict (with
        ``impersonator``). Admin rights are checked on the session's own user in the database. Raises
        AuthenticationFailed, PermissionDenied, NotFound."""
        return sessions.impersonate(self.db, self.settings, session_token, user_id)

    @rpc(sensitive_arguments=("session_token",))
    def stop_impersonation(self, session_token):
        """End impersonation in this session: the administrator's own principal dict."""
        return sessions.impersonate(self.db, self.settings, session_token, None)

    # ------------------------------------------------------------------------------------------ the caller

    @rpc
    def whoami(self, principal):
        """The caller's user dict with ``groups`` (each with capabilities) and ``impersonator`` (id or null)."""
        caller = Principal.from_dict(principal)
        user = directory.get_user_row(self.db, caller.user_id)
        return {**directory.user_dict(self.db, user, with_groups=True), "impersonator": caller.impersonator}

    @rpc(sensitive_arguments=("current_password", "new_password", "keep_session_token"))
    def change_password(self, principal, current_password, new_password, keep_session_token=None):
        """Change the caller's own password (current one checked; last 3 refused); ends the caller's other
        sessions (not ``keep_session_token``). Raises AuthenticationFailed, WeakPassword, Conflict (LDAP)."""
        return accounts.change_password(self.db, self.settings, Principal.from_dict(principal), current_password,
                                        new_password, keep_session_token)

    @rpc
    def create_api_token(self, principal, name, expires_in_days=None):
        """A new API token of the caller: ``{"id", "name", "prefix", "created_at", "expires_at", "last_used_at",
        "revoked_at", "token"}``; ``token`` (the secret) is returned only here."""
        caller = Principal.from_dict(principal)
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
            raise BadRequest("name: 1-100 characters naming the token (e.g. the script using it)")
        if expires_in_days is not None and (not isinstance(expires_in_days, int) or isinstance(expires_in_days, bool)
                                            or not 1 <= expires_in_days <= 3650):
            raise BadRequest("expires_in_days: an integer from 1 to 3650, or null (no expiry)")
        return sessions.create_api_token(self.db, caller, name.strip(), expires_in_days)

    @rpc
    def list_api_tokens(self, principal, user_id=None):
        """The caller's tokens without secrets, newest first (administrators may pass ``user_id``)."""
        return sessions.list_api_tokens(self.db, Principal.from_dict(principal), user_id)

    @rpc
    def revoke_api_token(self, principal, token_id):
        """Revoke one of the caller's tokens (administrators: any): the token dict. NotFound otherwise."""
        return sessions.revoke_api_token(self.db, Principal.from_dict(principal), token_id)

    @rpc
    def list_sessions(self, principal, user_id=None):
        """The caller's open sessions (administrators may pass ``user_id``): ``[{id, user_id, created_at,
        last_seen_at, expires_at, ip, user_agent, impersonated_user_id}]``, newest first (never the token)."""
        return sessions.list_sessions(self.db, self.settings, Principal.from_dict(principal), user_id)

    @rpc
    def end_session(self, principal, session_id):
        """End one of the caller's sessions (administrators: anyone's), e.g. a forgotten browser:
        ``{"ended": bool}``. NotFound for others' sessions."""
        return {"ended": sessions.end_session(self.db, Principal.from_dict(principal), session_id)}

    # ------------------------------------------------------------------------------------------ users (admin)

    @rpc(sensitive_arguments=("password",))
    def create_user(self, principal, email, password=None, first_name="", last_name="", admin=False):
        """Administrators create an account (personal group with read/create/upload/save/admin/anon, ``run`` only
        if REPSEQ_AUTH_DEFAULT_RUN; ``admin=True`` also makes it an administrator): user dict with ``groups``.
        Without ``password`` the answer carries ``reset_token`` / ``reset_expires_at`` for the user to set one.
        Publishes ``user.created``. Raises PermissionDenied, Conflict (e-mail taken), BadRequest, WeakPassword."""
        return accounts.create_user(self.db, self.settings, self.publish, Principal.from_dict(principal), email,
                                    password, first_name, last_name, admin)

    @rpc
    def list_users(self, principal, query="", limit=100, offset=0):
        """Administrators: user dicts whose e-mail or names contain ``query``, ordered by e-mail."""
        return accounts.list_users(self.db, Principal.from_dict(principal), query, limit, offset)

    @rpc
    def get_user(self, principal, user_id):
        """A user dict with ``groups`` (self or administrators; NotFound for others)."""
        return accounts.get_user(self.db, Principal.from_dict(principal), user_id)

    @rpc
    def update_user(self, principal, user_id, changes):
        """Change ``{"email", "first_name", "last_name"}`` (self or administrators) or ``{"is_active"}``
        (administrators; disabling ends sessions): the user dict."""
        return accounts.update_user(self.db, Principal.from_dict(principal), user_id, changes)

    @rpc(sensitive_arguments=("new_password",))
    def set_password(self, principal, user_id, new_password):
        """Administrators set a user's password (rules and history apply; the user's sessions end)."""
        return accounts.set_password(self.db, self.settings, Principal.from_dict(principal), user_id, new_password)

    @rpc
    def create_reset_token(self, principal, user_id):
        """Administrators: a single-use password-reset token for ``user_id``: ``{"reset_token", "expires_at",
        "user_id"}`` (valid REPSEQ_AUTH_RESET_LIFETIME seconds; earlier tokens stop working)."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        return sessions.create_reset_token(self.db, self.settings, caller,
                                           directory.get_user_row(self.db, user_id))

    # ------------------------------------------------------------------------------------------ groups

    @rpc
    def create_group(self, principal, name, parent_id=None, capabilities=None, description=""):
        """Administrators create a group (``parent_id``: its organisation; a child given as parent means that
        child's parent). Default capabilities read/create/upload/save/admin. Group dict. Publishes
        ``permission.changed``. Raises PermissionDenied, NotFound (parent), Conflict (name taken), BadRequest."""
        caller = Principal.from_dict(principal)
        payload = parse(NewGroup, {"name": name, "parent_id": parent_id, "capabilities": capabilities,
                                   "description": description or ""})
        group = directory.create_group(self.db, self.publish, caller, payload)
        return directory.group_dict(group, directory.capabilities_of(self.db, [group.id])[group.id])

    @rpc
    def list_groups(self, principal):
        """Group dicts: every group for administrators; otherwise the caller's groups, their parents and their
        children (what :meth:`get_group` shows)."""
        caller = Principal.from_dict(principal)
        statement = select(Group).order_by(Group.id)
        if not caller.is_admin:
            visible = set(caller.groups) | {m.parent_id for m in caller.effective_memberships if m.parent_id}
            statement = statement.where(Group.id.in_(visible) | Group.parent_id.in_(caller.groups)
                                        | (Group.kind == directory.PUBLIC))
        groups = list(self.db.scalars(statement))
        capabilities = directory.capabilities_of(self.db, (g.id for g in groups))
        return [directory.group_dict(g, capabilities[g.id]) for g in groups]

    @rpc
    def get_group(self, principal, group_id):
        """A group dict with ``members`` (``[{id, email, first_name, last_name}]``; empty for public) and
        ``children`` (group dicts). NotFound when the caller is neither administrator nor member (of it or of a
        child)."""
        caller = Principal.from_dict(principal)
        group = directory.visible_group(self.db, caller, group_id)
        children = list(self.db.scalars(select(Group).where(Group.parent_id == group.id).order_by(Group.id)))
        capabilities = directory.capabilities_of(self.db, [group.id, *(c.id for c in children)])
        return {**directory.group_dict(group, capabilities[group.id]),
                "members": directory.members_of(self.db, group),
                "children": [directory.group_dict(c, capabilities[c.id]) for c in children]}

    @rpc
    def describe_groups(self, principal, group_ids):
        """``[{id, name, kind, parent_id}]`` of the given group ids that exist (to show who owns or sees a
        record); any authenticated caller."""
        Principal.from_dict(principal)
        if not isinstance(group_ids, list) or not all(isinstance(g, int) for g in group_ids) or len(group_ids) > 1000:
            raise BadRequest("group_ids must be a list of at most 1000 integers")
        rows = self.db.scalars(select(Group).where(Group.id.in_(group_ids)).order_by(Group.id)) if group_ids else []
        return [{"id": g.id, "name": g.name, "kind": g.kind, "parent_id": g.parent_id} for g in rows]

    @rpc
    def update_group(self, principal, group_id, changes):
        """Administrators rename / describe a group (``{"name", "description"}``): the group dict."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        if not isinstance(changes, dict):
            raise BadRequest("changes must be an object")
        payload = parse(GroupChanges, changes)
        group = directory.get_group_row(self.db, group_id)
        done = {}
        if payload.name is not None and payload.name != group.name:
            if group.kind != directory.GROUP:
                raise BadRequest(f"the {group.kind} group keeps its name")
            if self.db.scalar(select(Group.id).where(Group.name == payload.name)) is not None:
                raise directory.Conflict(f"a group named '{payload.name}' already exists")
            done["name"], group.name = [group.name, payload.name], payload.name
        if payload.description is not None and payload.description != group.description:
            done["description"], group.description = [group.description, payload.description], payload.description
        if done:
            audit.record(self.db, "group_updated", caller, group_id=group.id, details=done)
        return directory.group_dict(group, directory.capabilities_of(self.db, [group.id])[group.id])

    @rpc
    def add_member(self, principal, group_id, user_id):
        """Add ``user_id`` to ``group_id``: ``{"changed": bool}``. Administrators, or holders of ``admin`` on the
        group (or its parent) for an ordinary group (the admin, public and personal groups: administrators only).
        Publishes ``group.membership_changed``."""
        changed = directory.change_membership(self.db, self.publish, Principal.from_dict(principal), group_id,
                                              user_id, add=True)
        return {"changed": changed}

    @rpc
    def remove_member(self, principal, group_id, user_id):
        """Remove ``user_id`` from ``group_id``: ``{"changed": bool}`` (same rights as add_member; a personal
        group keeps its owner; the last administrator stays)."""
        changed = directory.change_membership(self.db, self.publish, Principal.from_dict(principal), group_id,
                                              user_id, add=False)
        return {"changed": changed}

    @rpc
    def set_capabilities(self, principal, group_id, capabilities):
        """Administrators replace a group's capabilities (e.g. grant ``run`` on a personal group):
        ``{"capabilities", "added", "removed"}``. Publishes ``permission.changed`` when something changed."""
        caller = Principal.from_dict(principal)
        payload = parse(Capabilities, {"capabilities": capabilities})
        return directory.set_capabilities(self.db, self.publish, caller, group_id, payload.capabilities)

    # ------------------------------------------------------------------------------------------ audit

    @rpc
    def list_audit(self, principal, filters=None):
        """Administrators: audit lines, newest first. ``filters``: ``{"action", "user_id" (actor, target or
        impersonator), "group_id", "since", "until" (ISO 8601), "before_id" (paging), "limit" (1-1000, 100)}``."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        if filters is not None and not isinstance(filters, dict):
            raise BadRequest("filters must be an object")
        return audit.query(self.db, parse(AuditQuery, filters or {}))

