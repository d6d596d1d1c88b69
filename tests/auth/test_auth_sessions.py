"""Auth service over RPC against the real stack: first administrator, login, sessions (idle timeout, absolute
lifetime, logout), failures that never tell whether the account exists, rate limits per account and per IP,
API tokens, password rules and reset, impersonation, audit."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from auth_helpers import PASSWORD, run_sql, unique_email, unique_ip
from services.auth.exceptions import AuthenticationFailed, TooManyAttempts, WeakPassword
from services.common.exceptions import BadRequest, Conflict, NotFound, PermissionDenied
from services.common.permissions import Resource, can
from services.common.principal import Principal


def audit_lines(rpc, admin_session, **filters):
    return rpc.auth.list_audit(admin_session["principal"], filters)


# ------------------------------------------------------------------------------------------------ first start

def test_init_admin_is_closed_once_a_user_exists(rpc, auth_admin):
    status = rpc.auth.setup_status()
    assert status["initialized"] is True and status["self_registration"] is False
    with pytest.raises(Conflict, match="already initialised"):
        rpc.auth.init_admin(unique_email("late"), PASSWORD)


# ------------------------------------------------------------------------------------------------ login

def test_login_resolve_logout(rpc, settings, make_user, admin_session):
    user = make_user(login=False)
    ip = unique_ip()
    answer = rpc.auth.login(user["email"].upper(), PASSWORD, ip, "Mozilla/5.0 test")
    token = answer["session_token"]
    assert token.startswith("rs_s_") and answer["user"]["email"] == user["email"]
    principal = rpc.auth.resolve_session(token)
    assert principal == answer["principal"]
    assert principal["user_id"] == user["id"] and principal["is_admin"] is False
    parsed = Principal.from_dict(principal)
    public = next(m for m in parsed.memberships if m.name == "public")
    personal = parsed.membership(user["personal_group_id"])
    assert public.capabilities == {"read"}
    assert personal.capabilities == {"read", "create", "upload", "save", "admin", "anon"}  # no run by default

    # only the hash of the token is stored
    rows = run_sql(settings, "SELECT token_hash FROM sessions WHERE user_id = :u", u=user["id"])
    assert (hashlib.sha256(token.encode()).hexdigest(),) in rows
    assert all(token not in row[0] for row in rows)

    assert rpc.auth.logout(token, ip, "Mozilla/5.0 test") == {"logged_out": True}
    assert rpc.auth.logout(token) == {"logged_out": False}
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_session(token)
    actions = [line["action"] for line in audit_lines(rpc, admin_session, user_id=user["id"])]
    assert "login" in actions and "logout" in actions
    login_line = next(line for line in audit_lines(rpc, admin_session, user_id=user["id"], action="login"))
    assert login_line["ip"] == ip and login_line["user_agent"] == "Mozilla/5.0 test"


def test_failure_never_tells_whether_the_account_exists(rpc, make_user, admin_session):
    user = make_user(login=False)
    ip = unique_ip()
    with pytest.raises(AuthenticationFailed) as wrong_password:
        rpc.auth.login(user["email"], "Not-The-Password-1", ip, "curl/8")
    with pytest.raises(AuthenticationFailed) as unknown_account:
        rpc.auth.login(unique_email("ghost"), "Not-The-Password-1", ip, "curl/8")
    assert wrong_password.value.message == unknown_account.value.message == "wrong e-mail or password"
    assert wrong_password.value.details == unknown_account.value.details == {}
    failed = audit_lines(rpc, admin_session, action="login_failed", limit=20)
    mine = [line for line in failed if line["ip"] == ip]
    assert len(mine) == 2 and all(line["user_agent"] == "curl/8" for line in mine)
    assert {line["email"] for line in mine} >= {user["email"]}


@pytest.mark.parametrize("bad", [None, "", 12, ["x"]])
def test_malformed_credentials_are_a_plain_failure(rpc, bad):
    with pytest.raises(AuthenticationFailed):
        rpc.auth.login(bad, bad, unique_ip(), "")


def test_rate_limit_per_account(rpc, settings, make_user, admin_session):
    user = make_user(login=False)
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            rpc.auth.login(user["email"], f"Wrong-Password-{attempt}", unique_ip(), "")
    # the right password is refused too while the account is locked, from any address
    with pytest.raises(TooManyAttempts) as refused:
        rpc.auth.login(user["email"], PASSWORD, unique_ip(), "")
    # details cross nameko RPC with scalars as strings (nameko safe_for_serialization)
    assert refused.value.http_status == 429 and 1 <= int(refused.value.details["retry_after"]) <= 901
    assert refused.value.details["scope"] == "account"
    # an unknown account is limited the same way (the answer says nothing about existence)
    ghost = unique_email("ghost")
    for attempt in range(5):
        with pytest.raises(AuthenticationFailed):
            rpc.auth.login(ghost, f"Wrong-Password-{attempt}", unique_ip(), "")
    with pytest.raises(TooManyAttempts):
        rpc.auth.login(ghost, PASSWORD, unique_ip(), "")
    # the window slides: once the failures are older than REPSEQ_AUTH_LOGIN_WINDOW, the account opens again
    run_sql(settings, "UPDATE login_attempts SET created_at = created_at - INTERVAL 901 SECOND "
                               "WHERE email = :e", e=user["email"])
    assert rpc.auth.login(user["email"], PASSWORD, unique_ip(), "")["user"]["id"] == user["id"]
    assert audit_lines(rpc, admin_session, action="login_refused", limit=5)


def test_rate_limit_per_ip(rpc, make_user):
    user = make_user(login=False)
    ip = unique_ip()
    for attempt in range(20):  # REPSEQ_AUTH_LOGIN_MAX_PER_IP, each with a different (unknown) account
        with pytest.raises(AuthenticationFailed):
            rpc.auth.login(unique_email("spray"), "Wrong-Password-1", ip, "")
    with pytest.raises(TooManyAttempts) as refused:
        rpc.auth.login(user["email"], PASSWORD, ip, "")
    assert refused.value.details["scope"] == "ip"
    assert rpc.auth.login(user["email"], PASSWORD, unique_ip(), "")["user"]["id"] == user["id"]


def _concurrent_logins(settings, attempts):
    """Send ``attempts`` (``[(email, password, ip)]``) to auth.login all at once, each from its own thread and
    RPC connection (released together by a barrier): the list of answers, ``"ok"`` or the exception class."""
    from nameko.standalone.rpc import ClusterRpcProxy

    barrier = threading.Barrier(len(attempts))

    def one(attempt):
        with ClusterRpcProxy(settings.nameko_config(), timeout=60) as proxy:
            barrier.wait(timeout=60)
            try:
                proxy.auth.login(*attempt, "race")
                return "ok"
            except (AuthenticationFailed, TooManyAttempts) as error:
                return type(error)

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(one, attempts))


def test_concurrent_failures_cannot_beat_the_account_limit(rpc, settings, make_user):
    """10 wrong passwords for one account at the same moment (as many as a service process has workers): at most
    REPSEQ_AUTH_LOGIN_MAX_PER_ACCOUNT of them reach the password check, the others are refused (429), and every
    failure is counted."""
    user = make_user(login=False)
    limit = settings.auth_login_max_per_account
    answers = _concurrent_logins(settings, [(user["email"], f"Wrong-Password-{n}", unique_ip()) for n in range(10)])
    checked = answers.count(AuthenticationFailed)
    assert answers.count(TooManyAttempts) == len(answers) - checked, answers
    assert checked <= limit, f"{checked} concurrent wrong passwords were checked (limit {limit})"
    assert checked == limit, answers  # counted one after the other: no more refusals than needed either
    counted = run_sql(settings, "SELECT COUNT(*) FROM login_attempts WHERE email = :e AND NOT succeeded",
                      e=user["email"])[0][0]
    assert counted == checked  # every checked failure counted, refused attempts not
    with pytest.raises(TooManyAttempts):
        rpc.auth.login(user["email"], PASSWORD, unique_ip(), "")


def test_concurrent_failures_cannot_beat_the_ip_limit(rpc, settings, make_user):
    """An address 5 failures short of REPSEQ_AUTH_LOGIN_MAX_PER_IP sprays 10 accounts at once: at most 5 of those
    logins reach the password check."""
    ip, limit = unique_ip(), settings.auth_login_max_per_ip
    for _ in range(limit - 5):  # earlier failures of this address (as auth.login records them)
        run_sql(settings, "INSERT INTO login_attempts (email, ip, succeeded, created_at) "
                          "VALUES (:e, :ip, 0, UTC_TIMESTAMP())", e=unique_email("spray"), ip=ip)
    answers = _concurrent_logins(settings, [(unique_email("spray"), "Wrong-Password-1", ip) for _ in range(10)])
    assert answers.count(AuthenticationFailed) <= 5, answers
    assert answers.count(AuthenticationFailed) == 5 and answers.count(TooManyAttempts) == 5, answers


# ------------------------------------------------------------------------------------------------ sessions

def test_idle_timeout_and_absolute_lifetime(rpc, settings, make_user, admin_session):
    user = make_user()
    idle = user["token"]
    run_sql(settings, "UPDATE sessions SET last_seen_at = last_seen_at - INTERVAL 3601 SECOND "
                               "WHERE token_hash = :h", h=hashlib.sha256(idle.encode()).hexdigest())
    with pytest.raises(AuthenticationFailed) as expired:
        rpc.auth.resolve_session(idle)
    assert expired.value.details == {"reason": "idle"}

    used = rpc.auth.login(user["email"], PASSWORD, unique_ip(), "")["session_token"]
    rpc.auth.resolve_session(used)
    run_sql(settings, "UPDATE sessions SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
                               "WHERE token_hash = :h", h=hashlib.sha256(used.encode()).hexdigest())
    with pytest.raises(AuthenticationFailed) as ended:
        rpc.auth.resolve_session(used)
    assert ended.value.details == {"reason": "expired"}
    reasons = {line["details"].get("reason") for line in
               audit_lines(rpc, admin_session, user_id=user["id"], action="session_ended")}
    assert reasons == {"idle", "expired"}


@pytest.mark.parametrize("token", [None, "", "rs_s_unknown-token-of-the-right-length-xxxxxxxxxxxxxx", 42,
                                   "rs_t_looks-like-an-api-token-xxxxxxxxxxxxxxxxxxxxxxxxxxx"])
def test_unknown_session_tokens(rpc, token):
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_session(token)


def test_disabled_user_loses_sessions_and_login(rpc, make_user, admin_session):
    user = make_user()
    rpc.auth.update_user(admin_session["principal"], user["id"], {"is_active": False})
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_session(user["token"])
    with pytest.raises(AuthenticationFailed, match="wrong e-mail or password"):
        rpc.auth.login(user["email"], PASSWORD, unique_ip(), "")
    with pytest.raises(Conflict):
        rpc.auth.update_user(admin_session["principal"], admin_session["principal"]["user_id"],
                             {"is_active": False})


# ------------------------------------------------------------------------------------------------ API tokens

def test_api_tokens(rpc, make_user):
    user, other = make_user(), make_user()
    created = rpc.auth.create_api_token(user["principal"], "nightly export", 30)
    secret = created["token"]
    assert secret.startswith("rs_t_") and created["prefix"] == secret[:12] and created["expires_at"]
    principal = rpc.auth.resolve_api_token(secret)
    assert principal["user_id"] == user["id"]
    listed = rpc.auth.list_api_tokens(user["principal"])
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    # nobody else sees or revokes it
    assert rpc.auth.list_api_tokens(other["principal"]) == []
    with pytest.raises(NotFound):
        rpc.auth.revoke_api_token(other["principal"], created["id"])
    with pytest.raises(NotFound):
        rpc.auth.list_api_tokens(other["principal"], user["id"])
    assert rpc.auth.revoke_api_token(user["principal"], created["id"])["revoked_at"]
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_api_token(secret)
    with pytest.raises(BadRequest):
        rpc.auth.create_api_token(user["principal"], "  ")
    with pytest.raises(BadRequest):
        rpc.auth.create_api_token(user["principal"], "x", 0)


def test_expired_api_token(rpc, settings, make_user):
    user = make_user()
    created = rpc.auth.create_api_token(user["principal"], "short", 1)
    run_sql(settings, "UPDATE api_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
                               "WHERE id = :i", i=created["id"])
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_api_token(created["token"])


# ------------------------------------------------------------------------------------------------ passwords

def test_password_rules_and_history(rpc, make_user):
    user = make_user(password="First-Password-11")
    with pytest.raises(WeakPassword, match="at least 10"):
        rpc.auth.change_password(user["principal"], "First-Password-11", "Sh0rt!")
    with pytest.raises(WeakPassword, match="too easy"):
        rpc.auth.change_password(user["principal"], "First-Password-11", "aaaaaaaaaaaaaaaa")
    with pytest.raises(AuthenticationFailed):
        rpc.auth.change_password(user["principal"], "wrong-current", "Second-Password-22")
    with pytest.raises(WeakPassword, match="last 3"):
        rpc.auth.change_password(user["principal"], "First-Password-11", "First-Password-11")
    rpc.auth.change_password(user["principal"], "First-Password-11", "Second-Password-22")
    rpc.auth.change_password(user["principal"], "Second-Password-22", "Third-Password-33")
    with pytest.raises(WeakPassword, match="last 3"):
        rpc.auth.change_password(user["principal"], "Third-Password-33", "First-Password-11")
    rpc.auth.change_password(user["principal"], "Third-Password-33", "Fourth-Password-44")
    # the first password is now 4 changes old: accepted again
    rpc.auth.change_password(user["principal"], "Fourth-Password-44", "First-Password-11")
    # other sessions ended with the change
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_session(user["token"])
    assert rpc.auth.login(user["email"], "First-Password-11", unique_ip(), "")["user"]["id"] == user["id"]


def test_reset_by_administrator_and_by_single_use_token(rpc, settings, make_user, admin_session):
    user = make_user()
    with pytest.raises(PermissionDenied):
        rpc.auth.create_reset_token(user["principal"], user["id"])
    rpc.auth.set_password(admin_session["principal"], user["id"], "Admin-Chosen-Pass-5")
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_session(user["token"])  # sessions end with a reset
    rpc.auth.login(user["email"], "Admin-Chosen-Pass-5", unique_ip(), "")

    reset = rpc.auth.create_reset_token(admin_session["principal"], user["id"])
    assert reset["reset_token"].startswith("rs_r_")
    with pytest.raises(WeakPassword):  # a refused password leaves the token usable
        rpc.auth.reset_password(reset["reset_token"], "weak")
    rpc.auth.reset_password(reset["reset_token"], "Token-Chosen-Pass-6")
    with pytest.raises(AuthenticationFailed):  # single use
        rpc.auth.reset_password(reset["reset_token"], "Token-Chosen-Pass-7")
    rpc.auth.login(user["email"], "Token-Chosen-Pass-6", unique_ip(), "")

    late = rpc.auth.create_reset_token(admin_session["principal"], user["id"])
    run_sql(settings, "UPDATE reset_tokens SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND "
                               "WHERE user_id = :u AND used_at IS NULL", u=user["id"])
    with pytest.raises(AuthenticationFailed):  # time-limited
        rpc.auth.reset_password(late["reset_token"], "Token-Chosen-Pass-8")


def test_account_without_password_gets_a_reset_token(rpc, admin_session):
    email = unique_email("invited")
    user = rpc.auth.create_user(admin_session["principal"], email, None, "In", "Vited")
    assert user["reset_token"].startswith("rs_r_")
    with pytest.raises(AuthenticationFailed):
        rpc.auth.login(email, "", unique_ip(), "")
    rpc.auth.reset_password(user["reset_token"], "Invited-Pass-Word-9")
    assert rpc.auth.login(email, "Invited-Pass-Word-9", unique_ip(), "")["user"]["id"] == user["id"]


def test_self_registration_is_off_by_default(rpc):
    with pytest.raises(PermissionDenied, match="self-registration is disabled"):
        rpc.auth.register(unique_email("self"), PASSWORD)


# ------------------------------------------------------------------------------------------------ impersonation

def test_impersonation_by_administrators_only(rpc, make_user, auth_admin, admin_session):
    user = make_user()
    admin = rpc.auth.login(auth_admin["email"], auth_admin["password"], unique_ip(), "")
    token = admin["session_token"]
    acting = rpc.auth.start_impersonation(token, user["id"])
    assert acting["user_id"] == user["id"] and acting["impersonator"] == auth_admin["id"]
    assert acting["is_admin"] is False
    assert rpc.auth.resolve_session(token) == acting
    # what is done while impersonating carries the administrator in the audit line
    with pytest.raises(PermissionDenied):
        rpc.auth.create_api_token(acting, "not while impersonating")
    rpc.auth.update_user(acting, user["id"], {"first_name": "Changed"})
    line = audit_lines(rpc, admin_session, user_id=user["id"], action="user_updated")[0]
    assert line["actor_user_id"] == user["id"] and line["impersonator_id"] == auth_admin["id"]
    start = audit_lines(rpc, admin_session, user_id=user["id"], action="impersonation_start")[0]
    assert start["impersonator_id"] == auth_admin["id"]
    back = rpc.auth.stop_impersonation(token)
    assert back["user_id"] == auth_admin["id"] and back["impersonator"] is None and back["is_admin"]
    assert audit_lines(rpc, admin_session, user_id=user["id"], action="impersonation_stop")

    # a non-administrator session cannot start it, whatever its principal claims
    with pytest.raises(PermissionDenied):
        rpc.auth.start_impersonation(user["token"], auth_admin["id"])
    with pytest.raises(NotFound):
        rpc.auth.start_impersonation(token, 10 ** 8)


# ------------------------------------------------------------------------------------------------ admin-only

def test_admin_only_calls_refuse_users(rpc, make_user):
    user = make_user()
    other = make_user(login=False)
    principal = user["principal"]
    for call in (lambda: rpc.auth.create_user(principal, unique_email(), PASSWORD),
                 lambda: rpc.auth.list_users(principal),
                 lambda: rpc.auth.list_audit(principal),
                 lambda: rpc.auth.create_group(principal, "not-allowed"),
                 lambda: rpc.auth.set_capabilities(principal, user["personal_group_id"], list("")),
                 lambda: rpc.auth.set_password(principal, other["id"], "Some-Password-12"),
                 lambda: rpc.auth.update_group(principal, user["personal_group_id"], {"description": "x"})):
        with pytest.raises(PermissionDenied):
            call()
    # records they may not know of are NotFound, not Forbidden
    with pytest.raises(NotFound):
        rpc.auth.get_user(principal, other["id"])
    with pytest.raises(NotFound):
        rpc.auth.get_group(principal, other["personal_group_id"])
    with pytest.raises(NotFound):
        rpc.auth.update_user(principal, other["id"], {"first_name": "x"})
    # but they may read and change their own account (not is_active)
    assert rpc.auth.get_user(principal, user["id"])["email"] == user["email"]
    with pytest.raises(PermissionDenied):
        rpc.auth.update_user(principal, user["id"], {"is_active": False})


def test_user_created_event_and_duplicate(rpc, admin_session, auth_events):
    listener = auth_events(["user.created"])
    email = unique_email("evented")
    user = rpc.auth.create_user(admin_session["principal"], email, PASSWORD)
    event = listener.collect(lambda body: body["data"]["user_id"] == user["id"])
    assert event["version"] == 1 and event["source"] == "auth"
    assert event["data"] == {"user_id": user["id"], "personal_group_id": user["personal_group_id"],
                             "source": "local", "created_by": admin_session["principal"]["user_id"]}
    with pytest.raises(Conflict):
        rpc.auth.create_user(admin_session["principal"], email.upper(), PASSWORD)
    with pytest.raises(BadRequest, match="email"):
        rpc.auth.create_user(admin_session["principal"], "not-an-email", PASSWORD)


def test_granted_run_reaches_the_decision_function(rpc, make_user, admin_session, auth_events):
    listener = auth_events(["permission.changed"])
    user = make_user()
    own_set = Resource("sample_set", 1, [user["personal_group_id"]])
    assert not can(user["principal"], "run", own_set)
    changed = rpc.auth.set_capabilities(admin_session["principal"], user["personal_group_id"],
                                        ["read", "create", "upload", "save", "admin", "anon", "run"])
    assert changed["added"] == ["run"] and changed["removed"] == []
    event = listener.collect(lambda body: body["data"]["group_id"] == user["personal_group_id"])
    assert event["data"]["added"] == ["run"] and event["data"]["changed_by"] == admin_session["principal"]["user_id"]
    assert can(rpc.auth.resolve_session(user["token"]), "run", own_set)
    with pytest.raises(BadRequest, match="unknown capabilities"):
        rpc.auth.set_capabilities(admin_session["principal"], user["personal_group_id"], ["fly"])
    line = audit_lines(rpc, admin_session, group_id=user["personal_group_id"], action="capabilities_changed")[0]
    assert line["details"]["added"] == ["run"]


def test_list_and_end_sessions(rpc, make_user, admin_session):
    user, other = make_user(), make_user()
    second = rpc.auth.login(user["email"], PASSWORD, unique_ip(), "second browser")["session_token"]
    listed = rpc.auth.list_sessions(user["principal"])
    assert len(listed) == 2 and "token" not in str(listed) and listed[0]["user_agent"] == "second browser"
    with pytest.raises(NotFound):
        rpc.auth.end_session(other["principal"], listed[0]["id"])
    with pytest.raises(NotFound):
        rpc.auth.list_sessions(other["principal"], user["id"])
    assert rpc.auth.end_session(user["principal"], listed[0]["id"]) == {"ended": True}
    with pytest.raises(AuthenticationFailed):
        rpc.auth.resolve_session(second)
    assert rpc.auth.resolve_session(user["token"])["user_id"] == user["id"]
    assert len(rpc.auth.list_sessions(admin_session["principal"], user["id"])) == 1


def test_impersonation_ends_when_the_administrator_loses_the_right(rpc, make_user, admin_session):
    admin_user, target = make_user(), make_user(login=False)
    groups = {g["kind"]: g for g in rpc.auth.list_groups(admin_session["principal"])}
    rpc.auth.add_member(admin_session["principal"], groups["admin"]["id"], admin_user["id"])
    acting = rpc.auth.start_impersonation(admin_user["token"], target["id"])
    assert acting["user_id"] == target["id"]
    rpc.auth.remove_member(admin_session["principal"], groups["admin"]["id"], admin_user["id"])
    back = rpc.auth.resolve_session(admin_user["token"])
    assert back["user_id"] == admin_user["id"] and back["impersonator"] is None
