#!/usr/bin/env bash
# Idempotent set-up of RepSeq Server on Debian 12 (Python 3.11), used by `make setup` / `make run` / .ci/run.
#   1. Debian packages that are missing (python3-venv; rabbitmq-server / mariadb-server only when the configured
#      broker / database does not answer and is local; $REPSEQ_APT_EXTRA for CI: slapd, chromium, ...),
#      with one `apt-get update` before the first install, through sudo when not root;
#   2. starts RabbitMQ and MariaDB if they do not answer (detected by connecting, not by packages);
#   3. the virtualenv .venv with `pip install -e '.[dev,germline,localstack]'` (again only when pyproject.toml
#      changed);
#   4. var/secrets.env (generated passwords and, for a new install, its own database user name repseq_<6 hex>),
#      the MariaDB user with ALL on the `<prefix>*` databases (created through MariaDB's root socket when it cannot
#      log in; an existing user's password is never changed: another install may use it) and the RabbitMQ vhost of
#      REPSEQ_AMQP_URI (created with rabbitmqctl when local and missing);
#   5. the germline database (python -m vdj.germline build) when vdj/germline_data/ is empty.
# Running it twice does no harm. Environment: REPSEQ_* (docs/configuration.md), PYTHON (default python3.11),
# REPSEQ_EXTRAS (default dev,germline,localstack), REPSEQ_APT_EXTRA, REPSEQ_SKIP_GERMLINE=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3.11}
VENV=$ROOT/.venv
EXTRAS=${REPSEQ_EXTRAS:-dev,germline,localstack}
VAR_DIR=${REPSEQ_VAR_DIR:-$ROOT/var}
export DEBIAN_FRONTEND=noninteractive

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@" || die "needs root for: $* (run with sudo rights)"; fi; }

APT_UPDATED=
apt_install() {  # apt_install pkg... : install those not installed
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$APT_UPDATED" ]; then say "apt-get update"; as_root apt-get -o DPkg::Lock::Timeout=300 update -qq; APT_UPDATED=1; fi
  say "installing ${missing[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() {  # wait_port host port seconds name
  local i
  for ((i = 0; i < $3 * 2; i++)); do port_open "$1" "$2" && return 0; sleep 0.5; done
  die "$4 did not open $1:$2 within $3 s"
}
is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

# ---- configuration (same defaults as services/common/config.py) ----
AMQP_URI=${REPSEQ_AMQP_URI:-pyamqp://guest:guest@127.0.0.1:5672//}
AMQP_HOSTPORT=${AMQP_URI#*://}; AMQP_HOSTPORT=${AMQP_HOSTPORT#*@}; AMQP_HOSTPORT=${AMQP_HOSTPORT%%/*}
AMQP_HOST=${AMQP_HOSTPORT%:*}; AMQP_PORT=${AMQP_HOSTPORT##*:}; [ "$AMQP_PORT" = "$AMQP_HOST" ] && AMQP_PORT=5672
DB_HOST=${REPSEQ_DB_HOST:-127.0.0.1}; DB_PORT=${REPSEQ_DB_PORT:-3306}

# ---- 1+2. system packages and services ----
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
[ -n "${REPSEQ_APT_EXTRA:-}" ] && apt_install $REPSEQ_APT_EXTRA

if port_open "$AMQP_HOST" "$AMQP_PORT"; then
  say "RabbitMQ answers on $AMQP_HOST:$AMQP_PORT"
else
  is_local "$AMQP_HOST" || die "RabbitMQ not reachable at $AMQP_HOST:$AMQP_PORT (not local: start it there)"
  apt_install rabbitmq-server
  if [ ! -e /etc/rabbitmq/rabbitmq.conf ]; then  # loopback only; management API for the test fixtures
    printf '%s\n' "listeners.tcp.default = 127.0.0.1:$AMQP_PORT" "management.tcp.ip = 127.0.0.1" \
      "management.tcp.port = 15672" "distribution.listener.interface = 127.0.0.1" |
      as_root tee /etc/rabbitmq/rabbitmq.conf >/dev/null
    as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  fi
  say "starting RabbitMQ"
  as_root env ERL_EPMD_ADDRESS=127.0.0.1 rabbitmq-server -detached >/dev/null 2>&1 ||
    as_root service rabbitmq-server start >/dev/null
  wait_port "$AMQP_HOST" "$AMQP_PORT" 90 RabbitMQ
fi

if port_open "$DB_HOST" "$DB_PORT"; then
  say "MariaDB answers on $DB_HOST:$DB_PORT"
else
  is_local "$DB_HOST" || die "MariaDB not reachable at $DB_HOST:$DB_PORT (not local: start it there)"
  apt_install mariadb-server
  say "starting MariaDB"
  as_root service mariadb start >/dev/null 2>&1 ||
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_port "$DB_HOST" "$DB_PORT" 60 MariaDB
fi

# ---- 3. virtualenv ----
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
STAMP=$VENV/.repseq-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1) $EXTRAS"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  say "pip install -e .[$EXTRAS]"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]"
  echo "$WANT" >"$STAMP"
else
  say "virtualenv up to date"
fi
REPSEQ=$VENV/bin/repseq

# ---- 4. secrets, database user, RabbitMQ vhost ----
mkdir -p "$VAR_DIR"
"$REPSEQ" admin init-secrets >/dev/null
# One line each; on refusal (e.g. a user of that name exists with another password) the line names the variables.
if out=$("$REPSEQ" admin ensure-db-user 2>&1); then say "$out"; else die "$out"; fi
if out=$("$REPSEQ" admin ensure-vhost 2>&1); then say "$out"; else die "$out"; fi

# ---- 5. germline database ----
if [ -n "${REPSEQ_SKIP_GERMLINE:-}" ]; then
  say "germline build skipped (REPSEQ_SKIP_GERMLINE)"
elif [ -n "$(ls -A vdj/germline_data 2>/dev/null)" ]; then
  say "germline database present (vdj/germline_data)"
elif "$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("vdj.germline") is None)'; then
  say "building the germline database"
  "$VENV/bin/python" -m vdj.germline build
else
  say "warning: vdj.germline is not available yet; germline build skipped"
fi
# Compiles and caches the analysis kernels (numba) once, so that the first analysis does not pay ~8 s.
if [ -z "${REPSEQ_SKIP_GERMLINE:-}" ] && [ -n "$(ls -A vdj/germline_data 2>/dev/null)" ]; then
  "$VENV/bin/python" -c 'import vdj; vdj.warm_up()' && say "analysis kernels compiled" \
    || say "warning: could not compile the analysis kernels now; the first analysis will do it"
fi
say "done"
