#!/usr/bin/env bash
# `sessiongate serve` on the TLS-only PostgreSQL servers of scripts/lib/postgres_tls.sh (started by
# scripts/test.sh): verify-full works (a session round trip, /readyz 200); an unknown CA, a wrong
# host name, an expired certificate and plain text against the hostssl-only server each leave
# /readyz at 503 and log a reason naming what failed, never falling back to plain text; and
# `check` refuses sslmode=prefer with the reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SESSIONGATE_BIN:-.build/debug/sessiongate}
: "${SESSIONGATE_TEST_POSTGRES_TLS_URL:?run through scripts/test.sh (scripts/lib/postgres_tls.sh: pg_tls_start)}"
DIR=$(mktemp -d)
PROXY=""
cleanup() { [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- proxy log"; tail -20 "$DIR/proxy.log" 2>/dev/null || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
eventually() { for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; return 1; }
status_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$2")" = "$1" ]; }
TLS=$SESSIONGATE_TEST_TLS_DIR
base() { local url=$1; echo "${url%%\?*}"; }
SG_TEST_KEY=$($BIN keygen); SG_TEST_SECRET=$($BIN keygen); export SG_TEST_KEY SG_TEST_SECRET

write_config() { # $1 = store url
    cat > "$DIR/proxy.toml" <<TOML
[server]
listen = "127.0.0.1:$(free_port)"
admin_listen = "127.0.0.1:$ADMIN"
drain_timeout = "2s"
[upstream]
url = "http://127.0.0.1:9"
[cookie]
secure = false
name = "sg"
keys = ["\${SG_TEST_KEY}"]
[signing]
secret = "\${SG_TEST_SECRET}"
[store]
backend = "postgres"
url = "\${SG_TEST_STORE_URL}"
TOML
    export SG_TEST_STORE_URL=$1
}

# Serves with store url $1; expects /readyz $2 and, for failures, a log line containing $3.
serve_expect() {
    ADMIN=$(free_port)
    write_config "$1"
    $BIN check --config "$DIR/proxy.toml" >/dev/null || fail "check rejected: $3"
    : > "$DIR/proxy.log"
    $BIN serve --config "$DIR/proxy.toml" 2> "$DIR/proxy.log" & PROXY=$!
    eventually curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/livez" || fail "no admin listener ($3)"
    if [ "$2" = 200 ]; then
        eventually status_is 200 "http://127.0.0.1:$ADMIN/readyz" || fail "readyz not 200 over verified TLS"
    else
        eventually grep -q "postgres connection failed" "$DIR/proxy.log" || fail "no reason logged for: $3"
        grep "postgres connection failed" "$DIR/proxy.log" | grep -q "$3" || fail "reason does not say '$3': $(grep 'connection failed' "$DIR/proxy.log" | head -1)"
        grep -q "$(base "$1" | sed 's/.*:\(.*\)@.*/\1/')" "$DIR/proxy.log" && fail "the log shows the password"
        status_is 503 "http://127.0.0.1:$ADMIN/readyz" || fail "readyz not 503 for: $3"
    fi
    kill -TERM "$PROXY"; wait "$PROXY" || true; PROXY=""
}

serve_expect "$SESSIONGATE_TEST_POSTGRES_TLS_URL" 200 ""
serve_expect "$(base "$SESSIONGATE_TEST_POSTGRES_TLS_URL")?sslmode=verify-full&sslrootcert=$TLS/other-ca.pem" 503 "unknown CA"
serve_expect "$SESSIONGATE_TEST_POSTGRES_TLS_WRONGHOST_URL" 503 "name mismatch"
serve_expect "$SESSIONGATE_TEST_POSTGRES_TLS_EXPIRED_URL" 503 "expired certificate"
serve_expect "$(base "$SESSIONGATE_TEST_POSTGRES_TLS_URL")?sslmode=disable" 503 "SQLSTATE 28000"
serve_expect "$(base "$SESSIONGATE_TEST_POSTGRES_URL")?sslmode=verify-full" 503 "does not offer TLS"

ADMIN=$(free_port)
write_config "$(base "$SESSIONGATE_TEST_POSTGRES_TLS_URL")?sslmode=prefer"
out=$($BIN check --config "$DIR/proxy.toml" 2>&1) && fail "check accepted sslmode=prefer"
echo "$out" | grep -q '^error: store.url: postgres url sslmode=prefer is refused' || fail "check said: $out"
echo "postgres_tls: verify-full ready; unknown CA, name mismatch, expired, plain text, no TLS each 503 with the reason; prefer refused"
