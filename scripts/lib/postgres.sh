# shellcheck shell=bash
# A throw-away PostgreSQL server for tests. Source this file, then:
#   pg_start <tmpdir>   # installs postgresql if needed, starts a cluster on a free loopback port,
#                       # exports SESSIONGATE_TEST_POSTGRES_URL (and SESSIONGATE_TEST_POSTGRES_CTL)
#   pg_restart          # stops and starts the same cluster on the same port (outage tests)
#   pg_stop             # stops it (the data stays in <tmpdir> for the caller to delete)
# Postgres refuses to run as root: as root, the server runs as the OS user `sessiongate-test`.

SESSIONGATE_PG_USER_OS="sessiongate-test"
SESSIONGATE_PG_DIR=""
SESSIONGATE_PG_BIN=""
SESSIONGATE_PG_PORT=""

_pg_log() { echo "postgres.sh: $*" >&2; }

# Finds the server binaries (Debian keeps them in /usr/lib/postgresql/<ver>/bin), installing
# the `postgresql` package when there are none.
_pg_find_bin() {
  local candidate
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/postgres" ]; then
      echo "$candidate"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  return 1
}

_pg_install() {
  if [ "$(id -u)" != 0 ]; then
    _pg_log "PostgreSQL server binaries missing and not root: install the postgresql package"
    return 1
  fi
  _pg_log "installing postgresql with apt-get"
  # Keep the package from starting its own cluster (policy-rc.d 101 = "do not start daemons").
  local added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  local status=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } || status=$?
  if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  return "$status"
}

# Runs a command as the cluster's OS user.
_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$SESSIONGATE_PG_USER_OS" -- "$@"
  else
    "$@"
  fi
}

_pg_port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Below the kernel's ephemeral range: pg_restart starts the cluster again on the same port, and
# while it is down an outgoing connection could be given that port as its local port.
_pg_free_port() {
  local port attempt low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -ge 12000 ] 2>/dev/null || low=12000
  for attempt in $(seq 1 50); do
    port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
    if ! _pg_port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

_pg_server_start() {
  _pg_as_owner "$SESSIONGATE_PG_BIN/pg_ctl" -D "$SESSIONGATE_PG_DIR/data" -l "$SESSIONGATE_PG_DIR/postgres.log" \
    -o "-c listen_addresses=127.0.0.1 -p $SESSIONGATE_PG_PORT -c unix_socket_directories=$SESSIONGATE_PG_DIR -c max_connections=200 -c fsync=off" \
    -w -t 30 start >/dev/null
}

_pg_wait_ready() {
  local attempt
  for attempt in $(seq 1 60); do
    if "$SESSIONGATE_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$SESSIONGATE_PG_PORT"; then return 0; fi
    sleep 0.5
  done
  _pg_log "server did not become ready; last log lines:"
  tail -n 20 "$SESSIONGATE_PG_DIR/postgres.log" >&2 || true
  return 1
}

# As root: gives <dir> to the cluster's OS user (creating the user) and lets it reach <dir>.
_pg_own_dir() {
  [ "$(id -u)" = 0 ] || return 0
  if ! id "$SESSIONGATE_PG_USER_OS" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$SESSIONGATE_PG_USER_OS"
  fi
  chown -R "$SESSIONGATE_PG_USER_OS" "$1"
  # The server user must be able to reach the directory: a mktemp -d parent is mode 700, so
  # grant search (not read) permission on the ancestors that lack it.
  local ancestor="$1"
  while [ "$ancestor" != "/" ]; do
    ancestor="$(dirname "$ancestor")"
    if ! runuser -u "$SESSIONGATE_PG_USER_OS" -- test -x "$ancestor"; then
      chmod o+x "$ancestor"
    fi
  done
}

pg_start() {
  local dir="${1:?usage: pg_start <tmpdir>}"
  mkdir -p "$dir"
  SESSIONGATE_PG_DIR="$(cd "$dir" && pwd)"
  SESSIONGATE_PG_BIN="$(_pg_find_bin)" || { _pg_install && SESSIONGATE_PG_BIN="$(_pg_find_bin)"; } || {
    _pg_log "no PostgreSQL server binaries (initdb, pg_ctl, postgres)"
    return 1
  }
  _pg_own_dir "$SESSIONGATE_PG_DIR"
  local password
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" >"$SESSIONGATE_PG_DIR/pwfile"
  chmod 600 "$SESSIONGATE_PG_DIR/pwfile"
  [ "$(id -u)" = 0 ] && chown "$SESSIONGATE_PG_USER_OS" "$SESSIONGATE_PG_DIR/pwfile"
  _pg_as_owner "$SESSIONGATE_PG_BIN/initdb" -D "$SESSIONGATE_PG_DIR/data" -U sessiongate \
    --pwfile="$SESSIONGATE_PG_DIR/pwfile" --auth=scram-sha-256 -E UTF8 --no-locale >"$SESSIONGATE_PG_DIR/initdb.log" 2>&1 || {
    _pg_log "initdb failed:"
    tail -n 20 "$SESSIONGATE_PG_DIR/initdb.log" >&2
    return 1
  }
  rm -f "$SESSIONGATE_PG_DIR/pwfile"
  local attempt started=0
  for attempt in 1 2 3 4 5; do
    SESSIONGATE_PG_PORT="$(_pg_free_port)" || break
    if _pg_server_start; then started=1; break; fi
    _pg_log "start on port $SESSIONGATE_PG_PORT failed; trying another port"
  done
  if [ "$started" != 1 ]; then
    _pg_log "could not start the server; last log lines:"
    tail -n 20 "$SESSIONGATE_PG_DIR/postgres.log" >&2 || true
    return 1
  fi
  _pg_wait_ready || return 1
  PGPASSWORD="$password" "$SESSIONGATE_PG_BIN/createdb" -h 127.0.0.1 -p "$SESSIONGATE_PG_PORT" -U sessiongate \
    sessiongate_test || { _pg_log "createdb failed"; return 1; }
  export SESSIONGATE_TEST_POSTGRES_URL="postgres://sessiongate:${password}@127.0.0.1:${SESSIONGATE_PG_PORT}/sessiongate_test?sslmode=disable"
  # For outage tests: `$SESSIONGATE_TEST_POSTGRES_CTL stop|start` controls this server.
  export SESSIONGATE_TEST_POSTGRES_CTL="$SESSIONGATE_PG_DIR/pgctl.sh"
  cat >"$SESSIONGATE_TEST_POSTGRES_CTL" <<SCRIPT
#!/usr/bin/env bash
# Generated by scripts/lib/postgres.sh: stop|start the test PostgreSQL server.
set -euo pipefail
OPTS="-c listen_addresses=127.0.0.1 -p $SESSIONGATE_PG_PORT -c unix_socket_directories=$SESSIONGATE_PG_DIR -c max_connections=200 -c fsync=off"
run() { if [ "\$(id -u)" = 0 ]; then runuser -u "$SESSIONGATE_PG_USER_OS" -- "\$@"; else "\$@"; fi; }
case "\${1:-}" in
  stop) run "$SESSIONGATE_PG_BIN/pg_ctl" -D "$SESSIONGATE_PG_DIR/data" -m fast -w -t 30 stop >/dev/null ;;
  start) run "$SESSIONGATE_PG_BIN/pg_ctl" -D "$SESSIONGATE_PG_DIR/data" -l "$SESSIONGATE_PG_DIR/postgres.log" -o "\$OPTS" -w -t 30 start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
SCRIPT
  chmod 755 "$SESSIONGATE_TEST_POSTGRES_CTL"
  _pg_log "PostgreSQL ready on 127.0.0.1:$SESSIONGATE_PG_PORT (data in $SESSIONGATE_PG_DIR)"
}

pg_restart() {
  [ -n "$SESSIONGATE_PG_DIR" ] || { _pg_log "pg_restart: no server started"; return 1; }
  _pg_as_owner "$SESSIONGATE_PG_BIN/pg_ctl" -D "$SESSIONGATE_PG_DIR/data" -m fast -w -t 30 stop >/dev/null
  _pg_server_start && _pg_wait_ready
}

pg_stop() {
  [ -n "$SESSIONGATE_PG_DIR" ] || return 0
  if [ -f "$SESSIONGATE_PG_DIR/data/postmaster.pid" ]; then
    _pg_as_owner "$SESSIONGATE_PG_BIN/pg_ctl" -D "$SESSIONGATE_PG_DIR/data" -m fast -w -t 30 stop >/dev/null ||
      _pg_log "pg_ctl stop failed"
  fi
  SESSIONGATE_PG_DIR=""
}
