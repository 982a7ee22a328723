# shellcheck shell=bash
# PostgreSQL servers that speak TLS only, for the TLS tests. Source scripts/lib/postgres.sh (for
# its helpers) and this file, then:
#   pg_tls_start <tmpdir>   # needs SESSIONGATE_TEST_TLS_DIR (scripts/lib/tls_ca.sh: tls_ca_make);
#                           # starts three servers with ssl = on and a pg_hba.conf of hostssl lines
#                           # only (no host lines: plain text is refused), each on its own port:
#     SESSIONGATE_TEST_POSTGRES_TLS_URL            server.pem, verify-full against ca.pem
#     SESSIONGATE_TEST_POSTGRES_TLS_WRONGHOST_URL  wronghost.pem (names wrong.example only), via localhost
#     SESSIONGATE_TEST_POSTGRES_TLS_EXPIRED_URL    expired.pem (expired in 2020)
#   On each, the role sessiongate-test-client signs in only with client.pem (hba method `cert`).
#   pg_tls_stop             # stops them
# The three share one initdb (copied), so starting them costs one initdb.

SESSIONGATE_PG_TLS_DIR=""
SESSIONGATE_PG_TLS_INSTANCES=()

_pg_tls_ctl() { # instance-dir port pg_ctl-args...
  local data=$1/data port=$2
  shift 2
  _pg_as_owner "$SESSIONGATE_PG_BIN/pg_ctl" -D "$data" -l "$data/../postgres.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$data/.. -c max_connections=60 -c fsync=off -c shared_buffers=16MB" \
    "$@" >/dev/null
}

# Starts one instance from the base cluster, serving <cert>.pem/<cert>.key; prints its port.
_pg_tls_instance() { # name cert
  local dir="$SESSIONGATE_PG_TLS_DIR/$1" tls="$SESSIONGATE_TEST_TLS_DIR" port _
  cp -a "$SESSIONGATE_PG_TLS_DIR/base" "$dir"
  cp "$tls/$2.pem" "$dir/data/server.crt"
  cp "$tls/$2.key" "$dir/data/server.key"
  cp "$tls/ca.pem" "$dir/data/ca.crt"
  chmod 600 "$dir/data/server.key"
  cat >>"$dir/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'ca.crt'
ssl_min_protocol_version = 'TLSv1.2'
CONF
  # hostssl only: a plain-text connection matches no line and is refused. The role named like the
  # client certificate's CN signs in with that certificate only (sslcert/sslkey tests).
  cat >"$dir/data/pg_hba.conf" <<HBA
hostssl all sessiongate-test-client 127.0.0.1/32 cert
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl all all ::1/128 scram-sha-256
HBA
  _pg_own_dir "$dir"
  for _ in 1 2 3 4 5; do
    port="$(_pg_free_port)" || return 1
    if _pg_tls_ctl "$dir" "$port" -w -t 30 start; then
      echo "$port"
      return 0
    fi
  done
  _pg_log "TLS instance $1 did not start; last log lines:"
  tail -n 20 "$dir/postgres.log" >&2 || true
  return 1
}

pg_tls_start() {
  local dir="${1:?usage: pg_tls_start <tmpdir>}" tls="${SESSIONGATE_TEST_TLS_DIR:?run tls_ca_make first}"
  mkdir -p "$dir"
  SESSIONGATE_PG_TLS_DIR="$(cd "$dir" && pwd)"
  SESSIONGATE_PG_BIN="${SESSIONGATE_PG_BIN:-$(_pg_find_bin)}" || { _pg_log "no PostgreSQL server binaries"; return 1; }
  local base="$SESSIONGATE_PG_TLS_DIR/base" password port
  mkdir -p "$base"
  _pg_own_dir "$SESSIONGATE_PG_TLS_DIR"
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" >"$base/pwfile"
  chmod 600 "$base/pwfile"
  _pg_own_dir "$base"
  _pg_as_owner "$SESSIONGATE_PG_BIN/initdb" -D "$base/data" -U sessiongate --pwfile="$base/pwfile" \
    --auth=scram-sha-256 -E UTF8 --no-locale >"$base/initdb.log" 2>&1 || {
    _pg_log "initdb (TLS) failed:"
    tail -n 20 "$base/initdb.log" >&2
    return 1
  }
  rm -f "$base/pwfile"
  # The test database, made once in the base cluster (plain text, before any copy serves TLS).
  # A port found free can be taken before the server binds it (a busy loopback's outgoing
  # connections use the same range): try a few, as the instances below do.
  local attempt started=""
  for attempt in 1 2 3 4 5; do
    port="$(_pg_free_port)" || return 1
    if _pg_tls_ctl "$base" "$port" -w -t 30 start; then started=1 && break; fi
  done
  [ -n "$started" ] || { tail -n 20 "$base/postgres.log" >&2; return 1; }
  PGPASSWORD="$password" "$SESSIONGATE_PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U sessiongate sessiongate_test ||
    { _pg_log "createdb (TLS) failed"; return 1; }
  PGPASSWORD="$password" "$SESSIONGATE_PG_BIN/createuser" -h 127.0.0.1 -p "$port" -U sessiongate sessiongate-test-client ||
    { _pg_log "createuser (TLS) failed"; return 1; }
  _pg_as_owner "$SESSIONGATE_PG_BIN/pg_ctl" -D "$base/data" -m fast -w -t 30 stop >/dev/null

  local main wronghost expired query="sslmode=verify-full&sslrootcert=$tls/ca.pem"
  # Each instance starts in a command substitution (a subshell), so it is recorded here, where
  # pg_tls_stop can see it (recording it inside left every instance running after the tests).
  main="$(_pg_tls_instance main server)" || return 1
  SESSIONGATE_PG_TLS_INSTANCES+=("$SESSIONGATE_PG_TLS_DIR/main")
  wronghost="$(_pg_tls_instance wronghost wronghost)" || return 1
  SESSIONGATE_PG_TLS_INSTANCES+=("$SESSIONGATE_PG_TLS_DIR/wronghost")
  expired="$(_pg_tls_instance expired expired)" || return 1
  SESSIONGATE_PG_TLS_INSTANCES+=("$SESSIONGATE_PG_TLS_DIR/expired")
  local prefix="postgres://sessiongate:${password}@"
  export SESSIONGATE_TEST_POSTGRES_TLS_URL="${prefix}127.0.0.1:${main}/sessiongate_test?${query}"
  export SESSIONGATE_TEST_POSTGRES_TLS_WRONGHOST_URL="${prefix}localhost:${wronghost}/sessiongate_test?${query}"
  export SESSIONGATE_TEST_POSTGRES_TLS_EXPIRED_URL="${prefix}127.0.0.1:${expired}/sessiongate_test?${query}"
  _pg_log "PostgreSQL (TLS only) ready on 127.0.0.1:$main (wrong host name :$wronghost, expired :$expired)"
}

pg_tls_stop() {
  local dir
  for dir in "${SESSIONGATE_PG_TLS_INSTANCES[@]}"; do
    if [ -f "$dir/data/postmaster.pid" ]; then
      _pg_as_owner "$SESSIONGATE_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null || _pg_log "pg_ctl stop ($dir) failed"
    fi
  done
  SESSIONGATE_PG_TLS_INSTANCES=()
}
