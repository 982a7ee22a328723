#!/usr/bin/env bash
# `sessiongate serve` from the outside: a real config file, a real upstream, curl, SIGHUP reloads
# (a broken file keeps the old config; a good one applies with no dropped request under wrk),
# JSON access lines without secrets, /metrics, and SIGTERM → drain → exit 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SESSIONGATE_BIN:-.build/debug/sessiongate}
DIR=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- proxy log"; tail -20 "$DIR/proxy.log" || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; fail "no answer from $1"; }
# Polls (up to 30 s: a busy machine reloads late, not wrong) until a command succeeds.
eventually() { for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; return 1; }
status_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$2")" = "$1" ]; }

UP=$(free_port); PORT=$(free_port); ADMIN=$(free_port)
mkdir -p "$DIR/www/public" && echo hello > "$DIR/www/public/index.html" && echo secret > "$DIR/www/index.html"
(cd "$DIR/www" && exec python3 -c '
import http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer.request_queue_size = 128
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$UP" >/dev/null 2>&1) & PIDS+=($!)

wait_http "http://127.0.0.1:$UP/public/"
export SG_TEST_KEY=$($BIN keygen)
export SG_TEST_SECRET=$($BIN keygen)
write_config() { # $1 = access of /public/**, $2 = an extra rule's path (optional)
cat > "$DIR/proxy.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
admin_listen = "127.0.0.1:$ADMIN"
drain_timeout = "5s"
[upstream]
url = "http://127.0.0.1:$UP"
[cookie]
name = "sg"
secure = false
keys = ["\${SG_TEST_KEY}"]
[signing]
algorithm = "HS256"
secret = "\${SG_TEST_SECRET}"
[log]
format = "json"
[routes]
default = "session"
[[route]]
path = "/public/**"
access = "$1"
TOML
if [ -n "${2:-}" ]; then printf '[[route]]\npath = "%s"\naccess = "deny"\n' "$2" >> "$DIR/proxy.toml"; fi
}
write_config public
$BIN check --config "$DIR/proxy.toml" >/dev/null || fail "check rejected a good config"
$BIN serve --config "$DIR/proxy.toml" 2> "$DIR/proxy.log" & PROXY=$!; PIDS+=($PROXY)
wait_http "http://127.0.0.1:$ADMIN/livez"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/readyz")" = 200 ] || fail "readyz"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/public/")" = 200 ] || fail "public route"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 401 ] || fail "session route without a session"

# A broken file is rejected and the old config keeps serving.
echo 'this is [not toml' > "$DIR/proxy.toml"
kill -HUP $PROXY
eventually grep -q 'reload rejected' "$DIR/proxy.log" || fail "broken reload not logged"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/public/")" = 200 ] || fail "old config stopped serving"
# Files on which the TOML library used before (toml++) aborted the process: each is a syntax error
# with a position for `check`, and a rejected reload for a running proxy.
for bad in 'a = [}]' '[}' '[[[1]]]' '[[ [x]]'; do
    printf '%s\n' "$bad" > "$DIR/proxy.toml"
    out=$($BIN check --config "$DIR/proxy.toml" 2>&1) && fail "check accepted: $bad"
    echo "$out" | grep -q 'line 1, column' || fail "no position for: $bad ($out)"
    kill -HUP $PROXY; sleep 0.3
    kill -0 $PROXY 2>/dev/null || fail "proxy died reloading: $bad"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/public/")" = 200 ] || fail "old config stopped serving"

# A good file applies, with no dropped request while reloading under load.
write_config public /extra/**
if command -v wrk >/dev/null; then
    wrk -t1 -c16 -d3s --latency "http://127.0.0.1:$PORT/public/" > "$DIR/wrk.txt" 2>&1 & WRK=$!
    sleep 1; kill -HUP $PROXY; sleep 0.3; write_config public; kill -HUP $PROXY; sleep 0.3
    write_config public /more/**; kill -HUP $PROXY
    wait $WRK
    grep -q 'Socket errors' "$DIR/wrk.txt" && fail "socket errors during reload: $(grep 'Socket errors' "$DIR/wrk.txt")"
    grep -q 'Non-2xx' "$DIR/wrk.txt" && fail "failed requests during reload: $(grep 'Non-2xx' "$DIR/wrk.txt")"
    echo "reload under load: $(grep 'Requests/sec' "$DIR/wrk.txt")"
    write_config deny
fi
kill -HUP $PROXY
eventually status_is 403 "http://127.0.0.1:$PORT/public/" || fail "new rule not applied"
# Into a file first: `curl | grep -q` under pipefail fails when grep stops reading early (SIGPIPE).
curl -s -o "$DIR/metrics.txt" "http://127.0.0.1:$ADMIN/metrics"
grep -q 'sessiongate_config_reloads_total{result="ok"}' "$DIR/metrics.txt" || fail "reload metric"

# Access lines are JSON and never hold a key or the secret.
python3 - "$DIR/proxy.log" <<'PY' || fail "access log"
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
access = [l for l in lines if l.get("msg") == "access"]
assert access, "no access lines"
for field in ("request_id", "method", "path", "rule", "status", "duration_ms", "session"):
    assert all(field in l for l in access), field
text = open(sys.argv[1]).read()
for secret in (os.environ["SG_TEST_KEY"], os.environ["SG_TEST_SECRET"]):
    assert secret not in text, "a secret reached the log"
print(f"{len(access)} access lines, all JSON, no secrets")
PY

# SIGTERM drains and exits 0.
kill -TERM $PROXY
for _ in $(seq 1 100); do kill -0 $PROXY 2>/dev/null || break; sleep 0.1; done
wait $PROXY; STATUS=$?
[ $STATUS -eq 0 ] || fail "exit status $STATUS after SIGTERM"
echo "serve_reload: ok"
