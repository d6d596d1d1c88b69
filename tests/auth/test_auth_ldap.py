"""LDAP login against a real OpenLDAP ``slapd`` (Debian's, driven by the PyPI ``slapd`` fixture): search-then-bind,
first login creates the local account, attribute and group mapping, wrong password, unknown user, filter
injection, and the directory going down (clear error; local accounts still log in).

The first tests call the auth code in-process on the test database; the last runs a second auth service process
configured for LDAP (own vhost and database) and goes through RPC."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import urllib.parse

import pytest

from auth_helpers import PASSWORD, run_sql, unique_email
from services.auth import directory, sessions
from services.auth.exceptions import AuthenticationFailed, DirectoryUnavailable
from services.common.db import session_scope

SUFFIX = "dc=example,dc=org"
ALICE_PW = "Alice-Wonder-Land-1"
PEOPLE = f"""dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
givenName: Alice
sn: Liddell
mail: Alice@LDAP.example.org
userPassword: {ALICE_PW}

dn: uid=bob,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob Nomail
sn: Nomail
userPassword: Bob-Has-No-Mail-2

dn: uid=carol,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: carol
cn: Carol Local
sn: Local
mail: carol-local@lab.example.org
userPassword: Carol-In-Ldap-3

dn: cn=doctors,ou=groups,{SUFFIX}
objectClass: groupOfNames
cn: doctors
member: uid=alice,ou=people,{SUFFIX}
"""


def _start(server) -> None:
    server.start()
    server.init_tree()
    server.ldapadd(PEOPLE)


@pytest.fixture(scope="module")
def ldap_server():
    """A throwaway slapd on a free loopback port with alice, bob (no mail), carol and a doctors group."""
    if not shutil.which("slapd", path="/usr/sbin:/usr/local/sbin:" + os.environ.get("PATH", "")):
        pytest.exit("LDAP tests need Debian's slapd and ldap-utils (apt-get install slapd ldap-utils)",
                    returncode=3)
    import slapd

    server = slapd.Slapd(schemas=["core.ldif", "cosine.ldif", "inetorgperson.ldif", "nis.ldif"], suffix=SUFFIX,
                         root_cn="admin", root_pw="adminpw", host="127.0.0.1")
    _start(server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ldap_group(settings, migrated):
    """A RepSeq group mapped from the directory's doctors group."""
    from services.auth.schemas import NewGroup

    name = f"ldap-doctors-{secrets.token_hex(3)}"
    with session_scope(settings, "auth") as db:
        directory.create_group(db, lambda *a: None, None, NewGroup(name=name, capabilities=["read", "run"]))
    return name


@pytest.fixture
def ldap_settings(settings, ldap_server, ldap_group):
    return settings.replace(ldap_uri=ldap_server.ldap_uri.rstrip("/"), ldap_base_dn=SUFFIX,
                            ldap_bind_dn=f"cn=admin,{SUFFIX}", ldap_bind_password="adminpw",
                            ldap_group_map=f"cn=doctors,ou=groups,{SUFFIX}=>{ldap_group}")


def login(settings, name, password, events=None):
    with session_scope(settings, "auth") as db:
        return sessions.login(db, settings, (lambda e, d: events.append((e, d))) if events is not None
                              else (lambda *a: None), name, password, "127.0.0.9", "ldap-test")


def test_first_ldap_login_creates_the_account_with_mapped_attributes_and_groups(ldap_settings, ldap_group):
    events = []
    answer = login(ldap_settings, "alice", ALICE_PW, events)
    user = answer["user"]
    assert user["email"] == "alice@ldap.example.org" and user["source"] == "ldap"
    assert (user["first_name"], user["last_name"]) == ("Alice", "Liddell")
    assert [e for e, _ in events] == ["user.created", "group.membership_changed"]
    groups = {m["name"]: m for m in answer["principal"]["memberships"]}
    assert ldap_group in groups and groups[ldap_group]["capabilities"] == ["read", "run"]
    # again, by e-mail this time: the same account, no second creation
    events.clear()
    again = login(ldap_settings, "alice@ldap.example.org", ALICE_PW, events)
    assert again["user"]["id"] == user["id"] and events == []
    with session_scope(ldap_settings, "auth") as db:
        account = directory.user_by_email(db, "alice@ldap.example.org")
        assert account.password_hash is None and account.ldap_dn == f"uid=alice,ou=people,{SUFFIX}"


def test_group_mapping_follows_the_directory(ldap_settings, ldap_server, ldap_group):
    login(ldap_settings, "alice", ALICE_PW)
    ldap_server.ldapmodify(f"dn: cn=doctors,ou=groups,{SUFFIX}\nchangetype: modify\nreplace: member\n"
                           f"member: uid=carol,ou=people,{SUFFIX}\n")
    try:
        answer = login(ldap_settings, "alice", ALICE_PW)
        assert ldap_group not in {m["name"] for m in answer["principal"]["memberships"]}
    finally:
        ldap_server.ldapmodify(f"dn: cn=doctors,ou=groups,{SUFFIX}\nchangetype: modify\nreplace: member\n"
                               f"member: uid=alice,ou=people,{SUFFIX}\n")


@pytest.mark.parametrize("name,password", [
    ("alice", "Wrong-Password-99"),      # wrong password
    ("nobody", ALICE_PW),                # unknown user
    ("alice", ""),                       # empty password: never an unauthenticated bind
    ("*", ALICE_PW),                     # filter injection is escaped
    ("alice)(uid=*", ALICE_PW),
    ("bob", "Bob-Has-No-Mail-2"),        # no e-mail attribute: no local account can be made
])
def test_refused_ldap_logins_look_like_any_wrong_password(ldap_settings, name, password):
    with pytest.raises(AuthenticationFailed, match="wrong e-mail or password"):
        login(ldap_settings, name, password)


def test_directory_cannot_take_over_a_local_account(ldap_settings, settings):
    with session_scope(settings, "auth") as db:
        directory.create_account(db, settings, lambda *a: None, email="carol-local@lab.example.org",
                                 password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        login(ldap_settings, "carol", "Carol-In-Ldap-3")
    assert login(ldap_settings, "carol-local@lab.example.org", PASSWORD)["user"]["source"] == "local"


def test_directory_down_is_a_clear_error_and_local_accounts_still_work(settings, ldap_settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    down = ldap_settings.replace(ldap_uri=f"ldap://127.0.0.1:{closed_port}", ldap_timeout=2)
    attempts = "SELECT COUNT(*) FROM login_attempts WHERE email = 'alice'"
    before = run_sql(settings, attempts)[0][0]
    with pytest.raises(DirectoryUnavailable) as caught:
        login(down, "alice", ALICE_PW)
    assert "unreachable" in caught.value.message and caught.value.http_status == 503
    assert run_sql(settings, attempts)[0][0] == before  # an outage is nobody's failure: not counted
    email = unique_email("local")
    with session_scope(settings, "auth") as db:
        directory.create_account(db, settings, lambda *a: None, email=email, password=PASSWORD)
    assert login(down, email, PASSWORD)["user"]["email"] == email


# ------------------------------------------------------------------------------------------------ over RPC

def _vhost_uri(amqp_uri: str, vhost: str) -> str:
    parsed = urllib.parse.urlsplit(amqp_uri)
    user = urllib.parse.unquote(parsed.username or "guest")
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True,
                   capture_output=True, timeout=60)
    return urllib.parse.urlunsplit(parsed._replace(path="/" + vhost))


@pytest.fixture(scope="module")
def ldap_stack(settings, migrated, ldap_server, tmp_path_factory):
    """A second auth service process configured for the slapd above (own vhost, database and var dir)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from repseq.stack import Stack, StackError
    from services.common.db import drop_database
    from services.common.migrations import upgrade

    vhost = f"{urllib.parse.urlsplit(settings.amqp_uri).path.lstrip('/')}_ldap"
    ldap_settings = settings.replace(
        var_dir=tmp_path_factory.mktemp("ldap-stack"), amqp_uri=_vhost_uri(settings.amqp_uri, vhost),
        db_prefix=settings.db_prefix + "ldap_", ldap_uri=ldap_server.ldap_uri.rstrip("/"), ldap_base_dn=SUFFIX,
        ldap_bind_dn=f"cn=admin,{SUFFIX}", ldap_bind_password="adminpw", ldap_timeout=2)
    upgrade(ldap_settings, ["auth"])
    stack = Stack(ldap_settings, services=("auth",), gateway=False)
    stack.start_services()
    try:
        with ClusterRpcProxy(ldap_settings.nameko_config(), timeout=20) as proxy:
            for attempt in range(120):  # the service needs a few seconds to start
                try:
                    proxy.auth.health()
                    break
                except Exception:
                    if stack.exited("auth") or attempt == 119:
                        raise StackError("LDAP auth service did not start:\n" + stack.log_tail("auth"))
                    time.sleep(0.5)
            yield proxy, ldap_settings
    finally:
        stack.down(include_object_store=False)
        drop_database(ldap_settings, "auth")
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


def test_ldap_login_through_the_auth_service(ldap_stack, ldap_server):
    proxy, ldap_settings = ldap_stack
    assert proxy.auth.setup_status()["ldap"] is True
    answer = proxy.auth.login("alice", ALICE_PW, "127.0.0.7", "rpc-test")
    assert answer["user"]["source"] == "ldap"
    assert proxy.auth.resolve_session(answer["session_token"])["email"] == "alice@ldap.example.org"
    for name, password in (("alice", "Wrong-Password-99"), ("nobody", ALICE_PW)):
        with pytest.raises(AuthenticationFailed, match="wrong e-mail or password"):
            proxy.auth.login(name, password, "127.0.0.7", "rpc-test")
    local = unique_email("local")
    with session_scope(ldap_settings, "auth") as db:
        directory.create_account(db, ldap_settings, lambda *a: None, email=local, password=PASSWORD)

    ldap_server.stop()  # the directory goes down
    try:
        with pytest.raises(DirectoryUnavailable, match="unreachable"):
            proxy.auth.login("alice", ALICE_PW, "127.0.0.7", "rpc-test")
        assert proxy.auth.login(local, PASSWORD, "127.0.0.7", "rpc-test")["user"]["email"] == local
        assert proxy.auth.resolve_session(answer["session_token"])["user_id"] == answer["user"]["id"]
    finally:
        _start(ldap_server)
    assert proxy.auth.login("alice", ALICE_PW, "127.0.0.7", "rpc-test")["user"]["id"] == answer["user"]["id"]
