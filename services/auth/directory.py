"""Accounts, groups, memberships and capabilities, and the principal built from them.

Group model (Vidjil section 1.7, kept): a group has at most one parent (an organisation with role groups such as
technician or doctor) and only one level: choosing a child as parent attaches the new group to that child's parent;
the parent cannot be changed later. Capabilities are per group and never inherited. Built-in groups: ``admin``
(its members are administrators), ``public`` (every user is implicitly a member: no membership rows) and one
personal group per user (``user_0007``), created with the user.

Who may change what (checked here, server side):
- create users, create/rename groups, change capabilities: administrators only;
- add/remove members of a group G: administrators, and members of a group holding ``admin`` with access to the
  group record G, whose access rows are G itself and its parent (Vidjil: "the parent gets admin on the child"):
  ``can(p, "admin", group_record(G))``; the admin group's members are changed by administrators only; the public
  group has no members to change; a personal group keeps its owner.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.auth import audit
from services.auth.exceptions import Conflict, NotFound, PermissionDenied
from services.auth.models import Group, GroupCapability, Membership, PasswordHistory, User
from services.auth.passwords import hash_password
from services.auth.schemas import NewGroup
from services.common.config import Settings
from services.common.models import utcnow
from services.common.permissions import Resource, can
from services.common.principal import CAPABILITIES
from services.common.principal import Membership as PrincipalMembership
from services.common.principal import Principal

ADMIN, PUBLIC, PERSONAL, GROUP = "admin", "public", "personal", "group"

#: Capabilities of a new user's personal group (Vidjil: create, read, admin, upload, save, anon; no run).
PERSONAL_CAPABILITIES = ("read", "create", "upload", "save", "admin", "anon")
#: Capabilities of a new group when none are given (Vidjil group/add_form: no run, no anon).
GROUP_CAPABILITIES = ("read", "create", "upload", "save", "admin")

Publish = Callable[[str, dict], Any]


def iso(value) -> str | None:
    return None if value is None else value.isoformat() + "Z"


# ---------------------------------------------------------------------------------------------------- lookups

def builtin_group(db: Session, kind: str) -> Group:
    """The ``admin`` or ``public`` group (created by migration auth_0002)."""
    group = db.scalar(select(Group).where(Group.kind == kind).order_by(Group.id).limit(1))
    if group is None:  # only if someone deleted it by hand
        raise RuntimeError(f"the built-in group '{kind}' is missing: run `repseq admin migrate`")
    return group


def user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower()))


def get_user_row(db: Session, user_id: int) -> User:
    user = db.get(User, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if user is None:
        raise NotFound(f"user {user_id} does not exist", {"user_id": user_id})
    return user


def get_group_row(db: Session, group_id: int) -> Group:
    group = db.get(Group, group_id) if isinstance(group_id, int) and not isinstance(group_id, bool) else None
    if group is None:
        raise NotFound(f"group {group_id} does not exist", {"group_id": group_id})
    return group


def capabilities_of(db: Session, group_ids: Iterable[int]) -> dict[int, set[str]]:
    """``{group_id: {capability, ...}}`` for ``group_ids`` (every id present, possibly empty)."""
    ids = list(set(group_ids))
    result: dict[int, set[str]] = {gid: set() for gid in ids}
    if ids:
        for row in db.execute(select(GroupCapability.group_id, GroupCapability.capability)
                              .where(GroupCapability.group_id.in_(ids))):
            result[row.group_id].add(row.capability)
    return result


def groups_of_user(db: Session, user_id: int) -> list[Group]:
    """The groups of ``user_id``: its memberships plus the public group, ordered by id."""
    member_of = select(Membership.group_id).where(Membership.user_id == user_id)
    return list(db.scalars(select(Group).where(or_(Group.id.in_(member_of), Group.kind == PUBLIC))
                           .order_by(Group.id)))


def personal_group_id(db: Session, user_id: int) -> int | None:
    return db.scalar(select(Group.id).where(Group.personal_user_id == user_id))


def user_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


# ---------------------------------------------------------------------------------------------------- principal

def build_principal(db: Session, user: User, impersonator: int | None = None) -> Principal:
    """The principal of ``user``: every group (personal, public, others) with its parent and own capabilities;
    ``is_admin`` when a member of the admin group. ``impersonator``: the administrator acting as ``user``."""
    groups = groups_of_user(db, user.id)
    capabilities = capabilities_of(db, (g.id for g in groups))
    memberships = [PrincipalMembership(id=g.id, name=g.name, parent_id=g.parent_id,
                                       capabilities=frozenset(capabilities[g.id])) for g in groups]
    return Principal.build(user.id, user.email, memberships, is_admin=any(g.kind == ADMIN for g in groups),
                           impersonator=impersonator)


def group_dict(group: Group, capabilities: Iterable[str] = ()) -> dict[str, Any]:
    """``{id, name, description, kind, parent_id, personal_user_id, capabilities, created_at}``."""
    return {"id": group.id, "name": group.name, "description": group.description, "kind": group.kind,
            "parent_id": group.parent_id, "personal_user_id": group.personal_user_id,
            "capabilities": sorted(capabilities), "created_at": iso(group.created_at)}


def user_dict(db: Session, user: User, with_groups: bool = False) -> dict[str, Any]:
    """``{id, email, first_name, last_name, source, is_active, is_admin, personal_group_id, created_at,
    last_login_at, password_changed_at}`` (+ ``groups``: list of group dicts, when ``with_groups``)."""
    groups = groups_of_user(db, user.id)
    data = {"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
            "source": user.source, "is_active": user.is_active, "is_admin": any(g.kind == ADMIN for g in groups),
            "personal_group_id": next((g.id for g in groups if g.personal_user_id == user.id), None),
            "created_at": iso(user.created_at), "last_login_at": iso(user.last_login_at),
            "password_changed_at": iso(user.password_changed_at)}
    if with_groups:
        capabilities = capabilities_of(db, (g.id for g in groups))
        data["groups"] = [group_dict(g, capabilities[g.id]) for g in groups]
    return data


# ---------------------------------------------------------------------------------------------------- users

def set_password(db: Session, user: User, password: str) -> None:
    """Store a new (already checked) password: hash, history row, ``password_changed_at``."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    db.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))


def recent_password_hashes(db: Session, user: User, count: int) -> list[str]:
    return list(db.scalars(select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
                           .order_by(PasswordHistory.id.desc()).limit(count)))


def create_account(db: Session, settings: Settings, publish: Publish, *, email: str, first_name: str = "",
                   last_name: str = "", password: str | None = None, source: str = "local",
                   ldap_dn: str | None = None, created_by: Principal | None = None,
                   admin: bool = False) -> User:
    """Create a user with its personal group (default capabilities, ``run`` only when REPSEQ_AUTH_DEFAULT_RUN),
    membership of the admin group when ``admin``; audit ``user_created``; publish ``user.created``.

    ``password`` must already satisfy the rules (``None``: no local password yet). Raises :class:`Conflict` if
    the e-mail is taken.
    """
    if user_by_email(db, email) is not None:
        raise Conflict("an account with this e-mail address already exists", {"email": email})
    user = User(email=email, first_name=first_name, last_name=last_name, source=source, ldap_dn=ldap_dn,
                is_active=True, created_by=created_by.user_id if created_by else None)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("an account with this e-mail address already exists", {"email": email}) from None
    if password is not None:
        set_password(db, user, password)
    personal = Group(name=f"user_{user.id:04d}", description=f"Personal group of {email}"[:255], kind=PERSONAL,
                     personal_user_id=user.id, created_by=user.created_by)
    db.add(personal)
    db.flush()
    capabilities = set(PERSONAL_CAPABILITIES) | ({"run"} if settings.auth_default_run else set())
    db.add_all([GroupCapability(group_id=personal.id, capability=c) for c in sorted(capabilities)])
    db.add(Membership(user_id=user.id, group_id=personal.id))
    if admin:
        db.add(Membership(user_id=user.id, group_id=builtin_group(db, ADMIN).id))
    db.flush()
    audit.record(db, "user_created", created_by or user.id, target_user_id=user.id, group_id=personal.id,
                 email=email, details={"source": source, "admin": admin,
                                       "personal_capabilities": sorted(capabilities)})
    publish("user.created", {"user_id": user.id, "personal_group_id": personal.id, "source": source,
                             "created_by": created_by.user_id if created_by else None})
    return user


# ---------------------------------------------------------------------------------------------------- groups

def create_group(db: Session, publish: Publish, actor: Principal | None, payload: NewGroup) -> Group:
    """Create a group (administrators only; ``actor=None``: the command line). A child chosen as parent means its
    parent (one level only); the parent must be an ordinary group. Default capabilities:
    :data:`GROUP_CAPABILITIES`."""
    if actor is not None:
        actor.require_admin()
    parent_id = payload.parent_id
    if parent_id is not None:
        parent = get_group_row(db, parent_id)
        if parent.parent_id is not None:
            parent = get_group_row(db, parent.parent_id)
        if parent.kind != GROUP:
            raise Conflict(f"a {parent.kind} group cannot be a parent", {"parent_id": parent_id})
        parent_id = parent.id
    if db.scalar(select(Group.id).where(Group.name == payload.name)) is not None:
        raise Conflict(f"a group named '{payload.name}' already exists", {"name": payload.name})
    group = Group(name=payload.name, description=payload.description, kind=GROUP, parent_id=parent_id,
                  created_by=actor.user_id if actor else None)
    db.add(group)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict(f"a group named '{payload.name}' already exists", {"name": payload.name}) from None
    capabilities = payload.capabilities if payload.capabilities is not None else list(GROUP_CAPABILITIES)
    db.add_all([GroupCapability(group_id=group.id, capability=c) for c in capabilities])
    db.flush()
    audit.record(db, "group_created", actor, group_id=group.id,
                 details={"name": group.name, "parent_id": parent_id, "capabilities": sorted(capabilities)})
    publish("permission.changed", {"group_id": group.id, "capabilities": sorted(capabilities),
                                   "added": sorted(capabilities), "removed": [],
                                   "changed_by": actor.user_id if actor else None,
                                   "impersonator": actor.impersonator if actor else None})
    return group


def visible_group(db: Session, actor: Principal, group_id: int) -> Group:
    """The group if ``actor`` may see it (administrator, member, member of its parent or of a child; the public
    group);
    otherwise :class:`NotFound` (it must not learn that the group exists)."""
    group = db.get(Group, group_id) if isinstance(group_id, int) and not isinstance(group_id, bool) else None
    if group is None or not (actor.is_admin or group.kind == PUBLIC or group.id in actor.groups
                             or (group.parent_id is not None and group.parent_id in actor.groups)
                             or any(m.parent_id == group.id for m in actor.effective_memberships)):
        raise NotFound(f"group {group_id} does not exist", {"group_id": group_id})
    return group


def group_record(group: Group) -> Resource:
    """A group as a record for :func:`can`: the group itself and its parent have access to it."""
    return Resource("group", group.id, [g for g in (group.id, group.parent_id) if g is not None])


def members_of(db: Session, group: Group) -> list[dict[str, Any]]:
    """``[{id, email, first_name, last_name}]`` of the group's members (public: not listed)."""
    if group.kind == PUBLIC:
        return []
    rows = db.scalars(select(User).join(Membership, Membership.user_id == User.id)
                      .where(Membership.group_id == group.id).order_by(User.email))
    return [{"id": u.id, "email": u.email, "first_name": u.first_name, "last_name": u.last_name} for u in rows]


def may_manage_members(actor: Principal, group: Group) -> bool:
    """Administrators; otherwise holders of ``admin`` on an ordinary group (or its parent). The admin, public and
    personal groups are managed by administrators only: the ``admin`` capability of a personal group is about
    its user's records, and adding others to it would let any user list every account (members are shown)."""
    if actor.is_admin:
        return True
    if group.kind in (ADMIN, PUBLIC, PERSONAL):
        return False
    return can(actor, "admin", group_record(group))


def change_membership(db: Session, publish: Publish, actor: Principal | None, group_id: int, user_id: int,
                      add: bool) -> bool:
    """Add (``add``) or remove ``user_id`` in ``group_id``; return True if something changed. ``actor=None``:
    the command line (no rights check).

    Raises NotFound (unknown or invisible group / unknown user), PermissionDenied (may not manage this group's
    members), Conflict (public group, removing a personal group's owner, removing the last administrator).
    """
    group = visible_group(db, actor, group_id) if actor else get_group_row(db, group_id)
    if actor is not None and not may_manage_members(actor, group):
        raise PermissionDenied(f"you may not change the members of group {group.name}", {"group_id": group.id})
    if group.kind == PUBLIC:
        raise Conflict("every user is a member of the public group", {"group_id": group.id})
    user = get_user_row(db, user_id)
    if not add and group.personal_user_id == user.id:
        raise Conflict("a user stays a member of their personal group", {"group_id": group.id})
    existing = db.get(Membership, (user.id, group.id))
    if add == (existing is not None):
        return False
    if add:
        db.add(Membership(user_id=user.id, group_id=group.id))
    else:
        if group.kind == ADMIN:
            admins = db.scalar(select(func.count()).select_from(Membership)
                               .where(Membership.group_id == group.id)) or 0
            if admins <= 1:
                raise Conflict("the last administrator cannot be removed", {"group_id": group.id})
        db.delete(existing)
    db.flush()
    audit.record(db, "membership_added" if add else "membership_removed", actor, target_user_id=user.id,
                 group_id=group.id, details={"group": group.name})
    publish("group.membership_changed", {"group_id": group.id, "user_id": user.id,
                                         "change": "added" if add else "removed",
                                         "changed_by": actor.user_id if actor else None,
                                         "impersonator": actor.impersonator if actor else None})
    return True


def set_capabilities(db: Session, publish: Publish, actor: Principal | None, group_id: int,
                     capabilities: Iterable[str]) -> dict[str, list[str]]:
    """Replace the capabilities of a group (administrators only; ``actor=None``: the command line). Returns
    ``{"capabilities", "added", "removed"}``; audits ``capabilities_changed`` and publishes ``permission.changed``
    when something changed."""
    if actor is not None:
        actor.require_admin()
    group = get_group_row(db, group_id)
    wanted = set(capabilities)
    unknown = wanted - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}")
    current = capabilities_of(db, [group.id])[group.id]
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if added or removed:
        if removed:
            db.execute(delete(GroupCapability).where(GroupCapability.group_id == group.id,
                                                     GroupCapability.capability.in_(removed)))
        db.add_all([GroupCapability(group_id=group.id, capability=c) for c in added])
        db.flush()
        audit.record(db, "capabilities_changed", actor, group_id=group.id, target_user_id=group.personal_user_id,
                     details={"group": group.name, "added": added, "removed": removed})
        publish("permission.changed", {"group_id": group.id, "capabilities": sorted(wanted), "added": added,
                                       "removed": removed, "changed_by": actor.user_id if actor else None,
                                       "impersonator": actor.impersonator if actor else None})
    return {"capabilities": sorted(wanted), "added": added, "removed": removed}
