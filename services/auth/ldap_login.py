"""Optional login through an LDAP directory with ``ldap3``: search-then-bind.

1. Connect to ``REPSEQ_LDAP_URI`` (``ldaps://`` or ``ldap://`` with optional StartTLS; the server certificate is
   verified, against ``REPSEQ_LDAP_CA_FILE`` when set) and bind as ``REPSEQ_LDAP_BIND_DN`` (or anonymously).
2. Search ``REPSEQ_LDAP_BASE_DN`` with ``REPSEQ_LDAP_USER_FILTER`` where ``{login}`` is the escaped login: exactly
   one entry must match.
3. Bind as that entry's DN with the typed password (an empty password is refused before: it would be an
   unauthenticated bind that LDAP servers accept).
4. Read the e-mail, first and last name attributes; with ``REPSEQ_LDAP_GROUP_MAP``, the DNs of the directory groups
   holding the entry (``member``, ``uniqueMember`` or ``memberUid``).

An unreachable or misconfigured directory raises :class:`DirectoryUnavailable` (HTTP 503, one clear line);
an unknown login or a wrong password returns ``None``.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field

from services.auth.exceptions import DirectoryUnavailable
from services.common.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LdapIdentity:
    """What the directory says about an authenticated user."""

    dn: str
    email: str
    first_name: str = ""
    last_name: str = ""
    group_dns: frozenset[str] = field(default_factory=frozenset)


def enabled(settings: Settings) -> bool:
    return bool(settings.ldap_uri)


def parse_group_map(text: str) -> dict[str, str]:
    """``"cn=doctors,ou=groups,dc=x=>lab/doctor; cn=...=>..."`` -> ``{lower-cased group DN: RepSeq group name}``.
    Raises ``ValueError`` for a malformed pair."""
    mapping: dict[str, str] = {}
    for pair in text.split(";"):
        if not pair.strip():
            continue
        dn, sep, name = pair.partition("=>")
        if not sep or not dn.strip() or not name.strip():
            raise ValueError(f"REPSEQ_LDAP_GROUP_MAP: '{pair.strip()}' is not 'group DN=>group name'")
        mapping[_norm_dn(dn)] = name.strip()
    return mapping


def _norm_dn(dn: str) -> str:
    return ",".join(part.strip() for part in dn.strip().lower().split(","))


def _first(entry, attribute: str) -> str:
    if not attribute or attribute not in entry.entry_attributes_as_dict:
        return ""
    values = entry.entry_attributes_as_dict[attribute]
    return str(values[0]).strip() if values else ""


def _server(settings: Settings):
    from ldap3 import Server, Tls

    tls = None
    if settings.ldap_uri.startswith("ldaps://") or settings.ldap_start_tls:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ldap_ca_file or None)
    return Server(settings.ldap_uri.rstrip("/"), connect_timeout=settings.ldap_timeout, tls=tls, get_info=None)


def _connect(settings: Settings, server, user: str | None, password: str | None):
    """A bound connection, or ``None`` if the credentials are refused. Raises DirectoryUnavailable otherwise."""
    from ldap3 import Connection
    from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPInvalidCredentialsResult

    try:
        connection = Connection(server, user=user or None, password=password or None,
                                receive_timeout=settings.ldap_timeout, raise_exceptions=False, read_only=True)
        connection.open()
        if settings.ldap_start_tls and not settings.ldap_uri.startswith("ldaps://"):
            if not connection.start_tls():
                raise DirectoryUnavailable("the LDAP directory refused StartTLS", {"uri": settings.ldap_uri})
        if not connection.bind():
            result = connection.result or {}
            connection.unbind()
            if result.get("description") == "invalidCredentials" or result.get("result") == 49:
                return None
            raise DirectoryUnavailable(f"the LDAP directory refused the bind: {result.get('description')}",
                                       {"uri": settings.ldap_uri})
        return connection
    except (LDAPBindError, LDAPInvalidCredentialsResult):
        return None
    except DirectoryUnavailable:
        raise
    except (LDAPException, OSError) as error:
        raise DirectoryUnavailable(f"the LDAP directory at {settings.ldap_uri} is unreachable "
                                   f"({type(error).__name__}); local accounts can still log in",
                                   {"uri": settings.ldap_uri}) from None


def authenticate(settings: Settings, login: str, password: str) -> LdapIdentity | None:
    """Search-then-bind ``login`` / ``password`` against the directory (see the module docstring).

    Returns the identity, or ``None`` for an unknown login, an ambiguous one, a wrong or empty password.
    Raises :class:`DirectoryUnavailable` when the directory cannot be used.
    """
    from ldap3 import SUBTREE
    from ldap3.utils.conv import escape_filter_chars

    if not login or not password:
        return None
    server = _server(settings)
    service = _connect(settings, server, settings.ldap_bind_dn, settings.ldap_bind_password)
    if service is None:
        raise DirectoryUnavailable("the LDAP directory refused the search account (REPSEQ_LDAP_BIND_DN)",
                                   {"uri": settings.ldap_uri})
    wanted = [a for a in (settings.ldap_email_attr, settings.ldap_first_name_attr, settings.ldap_last_name_attr)
              if a]
    try:
        search_filter = settings.ldap_user_filter.replace("{login}", escape_filter_chars(login))
        ok = service.search(settings.ldap_base_dn, search_filter, search_scope=SUBTREE, attributes=wanted,
                            size_limit=2)
        entries = list(service.entries) if ok else []
        if not ok and (service.result or {}).get("result") not in (0, 4, 32):  # 32: no such object (empty base)
            raise DirectoryUnavailable(f"LDAP search failed: {(service.result or {}).get('description')}",
                                       {"uri": settings.ldap_uri})
        if len(entries) != 1:
            return None
        entry = entries[0]
        dn = entry.entry_dn
        group_dns: frozenset[str] = frozenset()
        if settings.ldap_group_map:
            uid = dn.split(",", 1)[0].partition("=")[2]
            group_filter = (f"(|(member={escape_filter_chars(dn)})(uniqueMember={escape_filter_chars(dn)})"
                            f"(memberUid={escape_filter_chars(uid)}))")
            if service.search(settings.ldap_base_dn, group_filter, search_scope=SUBTREE, attributes=[]):
                group_dns = frozenset(_norm_dn(e.entry_dn) for e in service.entries)
    except DirectoryUnavailable:
        raise
    except Exception as error:  # ldap3 raises many classes for a dropped connection
        raise DirectoryUnavailable(f"the LDAP directory at {settings.ldap_uri} failed during the search "
                                   f"({type(error).__name__})", {"uri": settings.ldap_uri}) from None
    finally:
        service.unbind()
    user_connection = _connect(settings, server, dn, password)
    if user_connection is None:
        return None
    user_connection.unbind()
    email = _first(entry, settings.ldap_email_attr).lower() or (login.lower() if "@" in login else "")
    if not email:
        log.warning("LDAP entry %s has no %s attribute: cannot make a local account", dn, settings.ldap_email_attr)
        return None
    return LdapIdentity(dn=dn, email=email, first_name=_first(entry, settings.ldap_first_name_attr),
                        last_name=_first(entry, settings.ldap_last_name_attr), group_dns=group_dns)
