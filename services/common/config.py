"""Configuration of every RepSeq process, read from environment variables.

All variables, their defaults and their meaning are listed once, in :data:`VARIABLES`; ``.env.example`` and
``docs/configuration.md`` document the same list (a test keeps them in step).

Precedence, highest first: the process environment, then ``$REPSEQ_VAR_DIR/secrets.env`` (written by
``make setup`` / ``repseq admin init-secrets``, never committed), then the defaults below.

A missing or malformed value raises :class:`ConfigError`, whose message is one line naming the variable.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

#: The services of the platform, in start order. Each has a folder ``services/<name>/`` and a database
#: ``<REPSEQ_DB_PREFIX><name>``.
SERVICE_NAMES: tuple[str, ...] = ("auth", "samples", "jobs", "fuse", "backup", "reporter")

#: Repository root (the folder holding pyproject.toml), used for default paths.
REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(Exception):
    """A configuration variable is missing or malformed. ``str(err)`` is one line naming the variable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        self.problem = problem
        super().__init__(f"configuration error: {variable} {problem}")


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, default (``None`` = required) and what it means."""

    name: str
    default: str | None
    help: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("REPSEQ_VAR_DIR", str(REPO_ROOT / "var"),
             "Folder for run-time state: pid files, logs, S3 data, secrets.env (created if missing)."),
    Variable("REPSEQ_LOG_LEVEL", "INFO", "Log level of services and gateway (DEBUG, INFO, WARNING, ERROR)."),
    Variable("REPSEQ_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//",
             "RabbitMQ URI of the nameko bus (vhost after the last '/', '//' = vhost '/'). Queue names are fixed: "
             "each stack on a shared RabbitMQ needs its own vhost (`make setup` / `repseq up` create a missing "
             "local one)."),
    Variable("REPSEQ_MAX_WORKERS", "10", "Concurrent workers per nameko service process."),
    Variable("REPSEQ_RPC_TIMEOUT", "30", "Seconds the gateway waits for an RPC reply before answering 504."),
    Variable("REPSEQ_HEALTH_TIMEOUT", "0.8",
             "Seconds each component check of GET /health may take (the whole answer stays under 1 s)."),
    Variable("REPSEQ_STARTUP_TIMEOUT", "120",
             "Seconds a service keeps retrying the broker and its database at start (0 = forever)."),
    Variable("REPSEQ_DB_HOST", "127.0.0.1", "MariaDB/MySQL host."),
    Variable("REPSEQ_DB_PORT", "3306", "MariaDB/MySQL TCP port."),
    Variable("REPSEQ_DB_USER", "repseq",
             "Database user; needs ALL on the databases `<prefix>*`. `make setup` generates one per install "
             "(repseq_<6 hex>, into var/secrets.env with its password) and creates it; it never changes the "
             "password of an existing user."),
    Variable("REPSEQ_DB_PASSWORD", None, "Database password (generated into var/secrets.env by `make setup`).",
             secret=True),
    Variable("REPSEQ_DB_PREFIX", "repseq_",
             "Prefix of the per-service databases: <prefix>auth, <prefix>samples, ... (tests use their own)."),
    Variable("REPSEQ_DB_URL_TEMPLATE", "",
             "Optional full SQLAlchemy URL with a {database} placeholder; replaces host/port/user/password."),
    Variable("REPSEQ_S3_ENDPOINT", "127.0.0.1:8333", "S3 endpoint host:port (SeaweedFS locally, MinIO in compose)."),
    Variable("REPSEQ_S3_ACCESS_KEY", "repseq", "S3 access key."),
    Variable("REPSEQ_S3_SECRET_KEY", None, "S3 secret key (generated into var/secrets.env by `make setup`).",
             secret=True),
    Variable("REPSEQ_S3_SECURE", "false", "Use HTTPS to reach S3 (true/false)."),
    Variable("REPSEQ_S3_REGION", "us-east-1", "S3 region name sent in signatures."),
    Variable("REPSEQ_BUCKET_SEQUENCES", "repseq-sequences", "Bucket for uploaded sequence files (FASTQ/FASTA)."),
    Variable("REPSEQ_BUCKET_RESULTS", "repseq-results", "Bucket for analysis results (.vidjil, AIRR, logs)."),
    Variable("REPSEQ_BUCKET_BACKUPS", "repseq-backups", "Bucket for backups (database dumps, exports)."),
    Variable("REPSEQ_GATEWAY_HOST", "127.0.0.1", "Address the gateway listens on."),
    Variable("REPSEQ_GATEWAY_PORT", "8080", "Port the gateway listens on."),
    Variable("REPSEQ_GATEWAY_THREADS", "8", "gunicorn gthread threads of the gateway (= RPC proxy pool size)."),
    Variable("REPSEQ_SECRET_KEY", None, "Key signing gateway sessions (generated into var/secrets.env).",
             secret=True),
    # auth service (docs/auth.md)
    Variable("REPSEQ_AUTH_SESSION_IDLE", "3600", "Seconds of inactivity after which a login session ends."),
    Variable("REPSEQ_AUTH_SESSION_LIFETIME", "43200", "Seconds after login at which a session ends, active or not."),
    Variable("REPSEQ_AUTH_RESET_LIFETIME", "3600", "Seconds a password-reset token stays usable (single use)."),
    Variable("REPSEQ_AUTH_LOGIN_WINDOW", "900", "Sliding window (seconds) in which failed logins are counted."),
    Variable("REPSEQ_AUTH_LOGIN_MAX_PER_ACCOUNT", "5",
             "Failed logins per account within the window before that account's logins are refused."),
    Variable("REPSEQ_AUTH_LOGIN_MAX_PER_IP", "20",
             "Failed logins per client IP within the window before logins from that IP are refused."),
    Variable("REPSEQ_AUTH_PASSWORD_MIN_LENGTH", "10", "Minimum length of a local password (characters)."),
    Variable("REPSEQ_AUTH_DEFAULT_RUN", "false",
             "Give new users the `run` capability on their personal group (true/false; else an admin grants it)."),
    Variable("REPSEQ_AUTH_SELF_REGISTRATION", "false",
             "Let anyone create a local account (true/false); otherwise only administrators create accounts."),
    Variable("REPSEQ_LDAP_URI", "", "LDAP server (ldap://host:port or ldaps://...); empty disables LDAP login."),
    Variable("REPSEQ_LDAP_BASE_DN", "", "Base DN under which LDAP users are searched."),
    Variable("REPSEQ_LDAP_BIND_DN", "", "DN used to search the directory (empty: anonymous search)."),
    Variable("REPSEQ_LDAP_BIND_PASSWORD", "", "Password of REPSEQ_LDAP_BIND_DN.", secret=True),
    Variable("REPSEQ_LDAP_USER_FILTER", "(|(uid={login})(mail={login}))",
             "LDAP search filter of a user; {login} is replaced by the escaped login typed by the user."),
    Variable("REPSEQ_LDAP_START_TLS", "false", "Upgrade ldap:// connections with StartTLS (true/false)."),
    Variable("REPSEQ_LDAP_CA_FILE", "", "CA certificate file to verify the LDAP server (empty: system CAs)."),
    Variable("REPSEQ_LDAP_EMAIL_ATTR", "mail", "LDAP attribute holding the user's e-mail (the local login)."),
    Variable("REPSEQ_LDAP_FIRST_NAME_ATTR", "givenName", "LDAP attribute holding the first name."),
    Variable("REPSEQ_LDAP_LAST_NAME_ATTR", "sn", "LDAP attribute holding the last name."),
    Variable("REPSEQ_LDAP_GROUP_MAP", "",
             "Optional LDAP group -> RepSeq group mapping, `group DN=>group name` pairs separated by ';'."),
    Variable("REPSEQ_LDAP_TIMEOUT", "5", "Seconds to connect to / wait for the LDAP server."),
    # -- jobs (services/jobs, docs/jobs.md) --
    Variable("REPSEQ_WORKERS", "1", "Job worker processes `repseq up` starts on this machine (0 = none)."),
    Variable("REPSEQ_JOB_TIME_LIMIT", "1500",
             "Default seconds an analysis may run before it is killed (TIMEOUT); keep it below RabbitMQ's "
             "consumer_timeout (30 min by default)."),
    Variable("REPSEQ_JOB_MEMORY_MB", "8192", "Default address-space limit of an analysis subprocess, in MiB."),
    Variable("REPSEQ_JOB_MAX_ATTEMPTS", "3",
             "Deliveries of a job (worker lost mid-job, watchdog re-queue) before it is marked FAILED."),
    Variable("REPSEQ_SCRATCH_DIR", "", "Worker scratch folder for inputs/outputs (empty = <REPSEQ_VAR_DIR>/scratch)."),
    Variable("REPSEQ_WORKER_HEARTBEAT", "2", "Seconds between worker heartbeats (also the cancellation delay)."),
    Variable("REPSEQ_JOB_QUEUED_LIMIT", "3600",
             "Seconds a job may stay QUEUED (or a worker stay silent) before the watchdog reports and re-queues it."),
    # -- fuse (services/fuse, docs/fuse.md) --
    Variable("REPSEQ_FUSE_TOP", "100",
             "Clones of each sample followed in every sample of a fused result (its top N; 0 = every clone)."),
    Variable("REPSEQ_FUSE_TIME_LIMIT", "600", "Seconds a background rebuild of a fused result may take."),
    Variable("REPSEQ_FUSE_COMPARE_TIME_LIMIT", "20",
             "Seconds an on-demand comparison may take before it is stopped with an error; keep it below "
             "REPSEQ_RPC_TIMEOUT."),
    Variable("REPSEQ_FUSE_COMPARE_MAX", "50", "Results one on-demand comparison may fuse."),
    Variable("REPSEQ_FUSE_SCRIPTS_DIR", "",
             "Folder of the post-processing scripts administrators may register (empty = services/fuse/scripts)."),
    Variable("REPSEQ_FUSE_SCRIPT_TIME_LIMIT", "60", "Seconds each post-processing script may run."),
    Variable("REPSEQ_FUSE_ANALYSIS_MAX_BYTES", "5000000", "Largest saved analysis (JSON bytes) a user may store."),
    # -- gateway (gateway/, docs/api.md) --
    Variable("REPSEQ_MAX_UPLOAD_BYTES", str(20 * 1024**3),
             "Largest sequence file the gateway accepts in one upload, in bytes (larger: 413); default 20 GiB."),
    Variable("REPSEQ_GATEWAY_READ_TIMEOUT", "30",
             "Seconds the gateway waits for a client: to send a request's head (and small body), then for each "
             "next piece of a streamed body, or to take each piece of an answer; then 408 (docs/decisions.md, "
             "slow clients)."),
    Variable("REPSEQ_HEALTHCARE_COMPLIANCE", "false",
             "Default of the healthcare-compliance flag (true/false) until an administrator sets it (Administration > "
             "News and banners): the hosting institution declares this server compliant for clinical use, and the "
             "login page, account page and set form show a clinical-use banner instead of 'Research Use Only'."),
)

_BY_NAME = {v.name: v for v in VARIABLES}


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(name, f"must be true or false (got {raw!r})")


def _parse_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"must be an integer (got {raw!r})") from None
    if value < minimum:
        raise ConfigError(name, f"must be >= {minimum} (got {value})")
    return value


def _parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(name, f"must be a number (got {raw!r})") from None
    if value <= 0:
        raise ConfigError(name, f"must be > 0 (got {value})")
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines (``#`` comments, optional quotes) from ``path``; ``{}`` if it does not exist."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(str(path), f"line {number} is not KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


#: Settings fields of the auth service: field -> (variable, type). Integers are >= 1 except where noted.
_AUTH_FIELDS: dict[str, tuple[str, type]] = {
    "auth_session_idle": ("REPSEQ_AUTH_SESSION_IDLE", int),
    "auth_session_lifetime": ("REPSEQ_AUTH_SESSION_LIFETIME", int),
    "auth_reset_lifetime": ("REPSEQ_AUTH_RESET_LIFETIME", int),
    "auth_login_window": ("REPSEQ_AUTH_LOGIN_WINDOW", int),
    "auth_login_max_per_account": ("REPSEQ_AUTH_LOGIN_MAX_PER_ACCOUNT", int),
    "auth_login_max_per_ip": ("REPSEQ_AUTH_LOGIN_MAX_PER_IP", int),
    "auth_password_min_length": ("REPSEQ_AUTH_PASSWORD_MIN_LENGTH", int),
    "auth_default_run": ("REPSEQ_AUTH_DEFAULT_RUN", bool),
    "auth_self_registration": ("REPSEQ_AUTH_SELF_REGISTRATION", bool),
    "ldap_uri": ("REPSEQ_LDAP_URI", str),
    "ldap_base_dn": ("REPSEQ_LDAP_BASE_DN", str),
    "ldap_bind_dn": ("REPSEQ_LDAP_BIND_DN", str),
    "ldap_bind_password": ("REPSEQ_LDAP_BIND_PASSWORD", str),
    "ldap_user_filter": ("REPSEQ_LDAP_USER_FILTER", str),
    "ldap_start_tls": ("REPSEQ_LDAP_START_TLS", bool),
    "ldap_ca_file": ("REPSEQ_LDAP_CA_FILE", str),
    "ldap_email_attr": ("REPSEQ_LDAP_EMAIL_ATTR", str),
    "ldap_first_name_attr": ("REPSEQ_LDAP_FIRST_NAME_ATTR", str),
    "ldap_last_name_attr": ("REPSEQ_LDAP_LAST_NAME_ATTR", str),
    "ldap_group_map": ("REPSEQ_LDAP_GROUP_MAP", str),
    "ldap_timeout": ("REPSEQ_LDAP_TIMEOUT", int),
}


#: Settings fields of the jobs service and its workers: field -> (variable, type, minimum).
_JOBS_FIELDS: dict[str, tuple[str, type, float]] = {
    "workers": ("REPSEQ_WORKERS", int, 0),
    "job_time_limit": ("REPSEQ_JOB_TIME_LIMIT", int, 1),
    "job_memory_mb": ("REPSEQ_JOB_MEMORY_MB", int, 64),
    "job_max_attempts": ("REPSEQ_JOB_MAX_ATTEMPTS", int, 1),
    "scratch_dir": ("REPSEQ_SCRATCH_DIR", str, 0),
    "worker_heartbeat": ("REPSEQ_WORKER_HEARTBEAT", float, 0),
    "job_queued_limit": ("REPSEQ_JOB_QUEUED_LIMIT", int, 1),
}


#: Settings fields of the fuse service: field -> (variable, type, minimum).
_FUSE_FIELDS: dict[str, tuple[str, type, float]] = {
    "fuse_top": ("REPSEQ_FUSE_TOP", int, 0),
    "fuse_time_limit": ("REPSEQ_FUSE_TIME_LIMIT", float, 0),
    "fuse_compare_time_limit": ("REPSEQ_FUSE_COMPARE_TIME_LIMIT", float, 0),
    "fuse_compare_max": ("REPSEQ_FUSE_COMPARE_MAX", int, 1),
    "fuse_scripts_dir": ("REPSEQ_FUSE_SCRIPTS_DIR", str, 0),
    "fuse_script_time_limit": ("REPSEQ_FUSE_SCRIPT_TIME_LIMIT", float, 0),
    "fuse_analysis_max_bytes": ("REPSEQ_FUSE_ANALYSIS_MAX_BYTES", int, 1000),
}


#: Settings fields of the gateway: field -> (variable, type, minimum).
_GATEWAY_FIELDS: dict[str, tuple[str, type, float]] = {
    "max_upload_bytes": ("REPSEQ_MAX_UPLOAD_BYTES", int, 1),
    "healthcare_compliance": ("REPSEQ_HEALTHCARE_COMPLIANCE", bool, 0),
    "gateway_read_timeout": ("REPSEQ_GATEWAY_READ_TIMEOUT", float, 1),
}


def _jobs_settings(get, fields: dict | None = None) -> dict:
    """Parse the jobs variables (or the ``fields`` given, same shape) with ``get(name)``."""
    values: dict = {}
    for field_name, (variable, kind, minimum) in (fields or _JOBS_FIELDS).items():
        raw = get(variable)
        if kind is bool:
            values[field_name] = _parse_bool(variable, raw)
        elif kind is int:
            values[field_name] = _parse_int(variable, raw, minimum=int(minimum))
        elif kind is float:
            values[field_name] = _parse_float(variable, raw)
        else:
            values[field_name] = raw
    return values


def _auth_settings(get) -> dict:
    """Parse the auth variables with ``get(name)`` (same precedence as the others)."""
    values: dict = {}
    for field_name, (variable, kind) in _AUTH_FIELDS.items():
        raw = get(variable)
        if kind is int:
            values[field_name] = _parse_int(variable, raw, minimum=1)
        elif kind is bool:
            values[field_name] = _parse_bool(variable, raw)
        else:
            values[field_name] = raw
    uri = values["ldap_uri"]
    if uri and not uri.startswith(("ldap://", "ldaps://")):
        raise ConfigError("REPSEQ_LDAP_URI", f"must start with ldap:// or ldaps:// (got {uri!r})")
    if "{login}" not in values["ldap_user_filter"]:
        raise ConfigError("REPSEQ_LDAP_USER_FILTER", "must contain the placeholder {login}")
    return values


@dataclass(frozen=True)
class Settings:
    """Typed configuration. Build it with :meth:`from_env`; derive variants with :meth:`replace`."""

    var_dir: Path
    log_level: str
    amqp_uri: str
    max_workers: int
    rpc_timeout: float
    health_timeout: float
    startup_timeout: float
    db_host: str
    db_port: int
    db_user: str
    db_password: str
    db_prefix: str
    db_url_template: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool
    s3_region: str
    bucket_sequences: str
    bucket_results: str
    bucket_backups: str
    gateway_host: str
    gateway_port: int
    gateway_threads: int
    secret_key: str
    # auth service
    auth_session_idle: int = 3600
    auth_session_lifetime: int = 43200
    auth_reset_lifetime: int = 3600
    auth_login_window: int = 900
    auth_login_max_per_account: int = 5
    auth_login_max_per_ip: int = 20
    auth_password_min_length: int = 10
    auth_default_run: bool = False
    auth_self_registration: bool = False
    ldap_uri: str = ""
    ldap_base_dn: str = ""
    ldap_bind_dn: str = ""
    ldap_bind_password: str = ""
    ldap_user_filter: str = "(|(uid={login})(mail={login}))"
    ldap_start_tls: bool = False
    ldap_ca_file: str = ""
    ldap_email_attr: str = "mail"
    ldap_first_name_attr: str = "givenName"
    ldap_last_name_attr: str = "sn"
    ldap_group_map: str = ""
    ldap_timeout: int = 5
    workers: int = 1
    job_time_limit: int = 1500
    job_memory_mb: int = 8192
    job_max_attempts: int = 3
    scratch_dir: str = ""
    worker_heartbeat: float = 2.0
    job_queued_limit: int = 3600
    # fuse service
    fuse_top: int = 100
    fuse_time_limit: float = 600.0
    fuse_compare_time_limit: float = 20.0
    fuse_compare_max: int = 50
    fuse_scripts_dir: str = ""
    fuse_script_time_limit: float = 60.0
    fuse_analysis_max_bytes: int = 5000000
    # gateway
    max_upload_bytes: int = 20 * 1024**3
    healthcare_compliance: bool = False
    gateway_read_timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, use_secrets_file: bool = True) -> "Settings":
        """Read every variable of :data:`VARIABLES`.

        ``environ`` defaults to ``os.environ``. Raises :class:`ConfigError` (one line naming the variable) for a
        missing required value or a malformed one.
        """
        env = dict(os.environ if environ is None else environ)
        var_dir = Path(env.get("REPSEQ_VAR_DIR") or _BY_NAME["REPSEQ_VAR_DIR"].default)
        file_values = read_env_file(var_dir / "secrets.env") if use_secrets_file else {}

        def get(name: str, required_unless: str | None = None) -> str:
            if env.get(name, "") != "":
                return env[name]
            if file_values.get(name, "") != "":
                return file_values[name]
            default = _BY_NAME[name].default
            if default is None:
                if required_unless and (env.get(required_unless) or file_values.get(required_unless)):
                    return ""
                raise ConfigError(name, "is not set (run `make setup` to generate var/secrets.env, or export it)")
            return default

        log_level = get("REPSEQ_LOG_LEVEL").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("REPSEQ_LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR (got {log_level!r})")
        amqp_uri = get("REPSEQ_AMQP_URI")
        if not amqp_uri.startswith(("amqp://", "pyamqp://", "amqps://")):
            raise ConfigError("REPSEQ_AMQP_URI", f"must start with amqp:// or pyamqp:// (got {amqp_uri!r})")
        template = get("REPSEQ_DB_URL_TEMPLATE")
        if template and "{database}" not in template:
            raise ConfigError("REPSEQ_DB_URL_TEMPLATE", "must contain the placeholder {database}")
        endpoint = get("REPSEQ_S3_ENDPOINT")
        if "://" in endpoint or "/" in endpoint:
            raise ConfigError("REPSEQ_S3_ENDPOINT", f"must be host:port without scheme or path (got {endpoint!r})")
        prefix = get("REPSEQ_DB_PREFIX")
        if not prefix.replace("_", "").isalnum():
            raise ConfigError("REPSEQ_DB_PREFIX", f"may hold only letters, digits and _ (got {prefix!r})")
        buckets = {}
        for name in ("REPSEQ_BUCKET_SEQUENCES", "REPSEQ_BUCKET_RESULTS", "REPSEQ_BUCKET_BACKUPS"):
            bucket = get(name)
            if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in "-." for c in bucket):
                raise ConfigError(name, f"must be a valid S3 bucket name (3-63 of a-z 0-9 . -; got {bucket!r})")
            buckets[name] = bucket
        return cls(
            var_dir=var_dir,
            log_level=log_level,
            amqp_uri=amqp_uri,
            max_workers=_parse_int("REPSEQ_MAX_WORKERS", get("REPSEQ_MAX_WORKERS"), minimum=1),
            rpc_timeout=_parse_float("REPSEQ_RPC_TIMEOUT", get("REPSEQ_RPC_TIMEOUT")),
            health_timeout=_parse_float("REPSEQ_HEALTH_TIMEOUT", get("REPSEQ_HEALTH_TIMEOUT")),
            startup_timeout=float(_parse_int("REPSEQ_STARTUP_TIMEOUT", get("REPSEQ_STARTUP_TIMEOUT"))),
            db_host=get("REPSEQ_DB_HOST"),
            db_port=_parse_int("REPSEQ_DB_PORT", get("REPSEQ_DB_PORT"), minimum=1),
            db_user=get("REPSEQ_DB_USER"),
            db_password=get("REPSEQ_DB_PASSWORD", required_unless="REPSEQ_DB_URL_TEMPLATE"),
            db_prefix=prefix,
            db_url_template=template,
            s3_endpoint=endpoint,
            s3_access_key=get("REPSEQ_S3_ACCESS_KEY"),
            s3_secret_key=get("REPSEQ_S3_SECRET_KEY"),
            s3_secure=_parse_bool("REPSEQ_S3_SECURE", get("REPSEQ_S3_SECURE")),
            s3_region=get("REPSEQ_S3_REGION"),
            bucket_sequences=buckets["REPSEQ_BUCKET_SEQUENCES"],
            bucket_results=buckets["REPSEQ_BUCKET_RESULTS"],
            bucket_backups=buckets["REPSEQ_BUCKET_BACKUPS"],
            gateway_host=get("REPSEQ_GATEWAY_HOST"),
            gateway_port=_parse_int("REPSEQ_GATEWAY_PORT", get("REPSEQ_GATEWAY_PORT"), minimum=1),
            gateway_threads=_parse_int("REPSEQ_GATEWAY_THREADS", get("REPSEQ_GATEWAY_THREADS"), minimum=1),
            secret_key=get("REPSEQ_SECRET_KEY"),
            **_auth_settings(get),
            **_jobs_settings(get),
            **_jobs_settings(get, _FUSE_FIELDS),
            **_jobs_settings(get, _GATEWAY_FIELDS),
        )

    def replace(self, **changes) -> "Settings":
        """A copy with some fields changed (``settings.replace(db_prefix="repseq_test_")``)."""
        return dataclasses.replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        values = {
            "REPSEQ_VAR_DIR": str(self.var_dir),
            "REPSEQ_LOG_LEVEL": self.log_level,
            "REPSEQ_AMQP_URI": self.amqp_uri,
            "REPSEQ_MAX_WORKERS": str(self.max_workers),
            "REPSEQ_RPC_TIMEOUT": str(self.rpc_timeout),
            "REPSEQ_HEALTH_TIMEOUT": str(self.health_timeout),
            "REPSEQ_STARTUP_TIMEOUT": str(int(self.startup_timeout)),
            "REPSEQ_DB_HOST": self.db_host,
            "REPSEQ_DB_PORT": str(self.db_port),
            "REPSEQ_DB_USER": self.db_user,
            "REPSEQ_DB_PASSWORD": self.db_password,
            "REPSEQ_DB_PREFIX": self.db_prefix,
            "REPSEQ_DB_URL_TEMPLATE": self.db_url_template,
            "REPSEQ_S3_ENDPOINT": self.s3_endpoint,
            "REPSEQ_S3_ACCESS_KEY": self.s3_access_key,
            "REPSEQ_S3_SECRET_KEY": self.s3_secret_key,
            "REPSEQ_S3_SECURE": "true" if self.s3_secure else "false",
            "REPSEQ_S3_REGION": self.s3_region,
            "REPSEQ_BUCKET_SEQUENCES": self.bucket_sequences,
            "REPSEQ_BUCKET_RESULTS": self.bucket_results,
            "REPSEQ_BUCKET_BACKUPS": self.bucket_backups,
            "REPSEQ_GATEWAY_HOST": self.gateway_host,
            "REPSEQ_GATEWAY_PORT": str(self.gateway_port),
            "REPSEQ_GATEWAY_THREADS": str(self.gateway_threads),
            "REPSEQ_SECRET_KEY": self.secret_key,
        }
        for field_name, (variable, kind) in _AUTH_FIELDS.items():
            value = getattr(self, field_name)
            values[variable] = ("true" if value else "false") if kind is bool else str(value)
        for field_name, (variable, _kind, _minimum) in {**_JOBS_FIELDS, **_FUSE_FIELDS}.items():
            values[variable] = str(getattr(self, field_name))
        for field_name, (variable, kind, _minimum) in _GATEWAY_FIELDS.items():
            value = getattr(self, field_name)
            values[variable] = ("true" if value else "false") if kind is bool else str(value)
        assert set(values) == set(_BY_NAME), "to_env must cover VARIABLES"
        return values

    @property
    def buckets(self) -> dict[str, str]:
        """Bucket names by role: ``{"sequences": ..., "results": ..., "backups": ...}``."""
        return {"sequences": self.bucket_sequences, "results": self.bucket_results, "backups": self.bucket_backups}

    @property
    def gateway_url(self) -> str:
        host = "127.0.0.1" if self.gateway_host in ("0.0.0.0", "") else self.gateway_host
        return f"http://{host}:{self.gateway_port}"

    def nameko_config(self) -> dict:
        """The nameko config dict for services and standalone RPC proxies."""
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "parent_calls_tracked": 10,
            "serializer": "json",
        }


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """:meth:`Settings.from_env`, for callers that prefer a function."""
    return Settings.from_env(environ)
