#!/usr/bin/env bash
# The TLS listener from the outside ([server] tls_cert / tls_key), with a CA made at run time:
# curl --cacert; Python's ssl with TLS 1.2 and 1.3 accepted and a TLS 1.1-only client refused
# (tls_listener.py); plain HTTP refused; the demo's sign-in and sign-out over HTTPS with a
# Secure cookie; `check` naming a mismatched key; and the certificate swapped (server.pem ->
# server2.pem) by SIGHUP under wrk, with no failed request and the new serial served afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SESSIONGATE_BIN:-.build/debug/sessiongate}
DIR=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- proxy log"; tail -20 "$DIR/proxy.log" 2>/dev/null || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
eventually() { for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; return 1; }
if [ -z "${SESSIONGATE_TEST_TLS_DIR:-}" ]; then
    # shellcheck source=../lib/tls_ca.sh
    source scripts/lib/tls_ca.sh
    tls_ca_make "$DIR/tls"
fi
TLS=$SESSIONGATE_TEST_TLS_DIR
CURL=(curl -s --cacert "$TLS/ca.pem")
serial_of_file() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
served_serial() {
    openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial | cut -d= -f2
}

# --- The demo over HTTPS: sign in, a Secure cookie, the session page, sign out.
PORT=$(free_port); ADMIN=$(free_port)
$BIN demo --port "$PORT" --admin-port "$ADMIN" --tls-cert "$TLS/chain.pem" --tls-key "$TLS/server.key" > "$DIR/demo.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/livez" && break; sleep 0.1; done
URL="https://localhost:$PORT"
eventually "${CURL[@]}" -f -o /dev/null "$URL/login" || fail "no HTTPS answer from the demo"
grep -q "https://127.0.0.1:$PORT/" "$DIR/demo.log" || fail "demo did not print its https address"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/login" || true)
[ "$code" = "000" ] || fail "plain HTTP on the TLS listener answered $code"
"${CURL[@]}" -D "$DIR/login.h" -c "$DIR/jar" -b "$DIR/jar" -o /dev/null -d 'user=alice&next=/' "$URL/login"
grep -i '^set-cookie: sessiongate_demo=' "$DIR/login.h" | grep -qi '; *secure' || fail "the session cookie is not Secure: $(grep -i set-cookie "$DIR/login.h")"
page=$("${CURL[@]}" -b "$DIR/jar" -c "$DIR/jar" "$URL/")
echo "$page" | grep -q 'Signed in as <strong>alice</strong>' || fail "session page over HTTPS does not show the user"
"${CURL[@]}" -b "$DIR/jar" -c "$DIR/jar" -o /dev/null -X POST "$URL/logout"
code=$("${CURL[@]}" -b "$DIR/jar" -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$URL/")
[ "$code" = 302 ] || fail "after logout / gave $code"
# TLS versions (Python's ssl): 1.2 and 1.3 accepted, 1.1 refused by the server.
python3 scripts/e2e/tls_listener.py "$PORT" "$TLS/ca.pem" || fail "TLS version checks"
echo "tls_listener: demo over HTTPS ok (Secure cookie, sign-in, sign-out; TLS 1.2/1.3 yes, 1.1 no)"

# --- `serve` with cert files, `check`, and a SIGHUP certificate swap under wrk.
UP=$(free_port); PORT=$(free_port); ADMIN=$(free_port)
mkdir -p "$DIR/www/public" && echo hello > "$DIR/www/public/index.html"
(cd "$DIR/www" && exec python3 -c '
import http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def end_headers(self):
        self.send_header("X-Seen-Proto", self.headers.get("X-Forwarded-Proto", "-"))
        super().end_headers()
http.server.ThreadingHTTPServer.request_queue_size = 256
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$UP" >/dev/null 2>&1) & PIDS+=($!)
cp "$TLS/chain.pem" "$DIR/cert.pem"; cp "$TLS/server.key" "$DIR/key.pem"
SG_TEST_KEY=$($BIN keygen); SG_TEST_SECRET=$($BIN keygen); export SG_TEST_KEY SG_TEST_SECRET
cat > "$DIR/proxy.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
admin_listen = "127.0.0.1:$ADMIN"
tls_cert = "cert.pem"
tls_key = "key.pem"
drain_timeout = "5s"
[upstream]
url = "http://127.0.0.1:$UP"
[cookie]
keys = ["\${SG_TEST_KEY}"]
[signing]
secret = "\${SG_TEST_SECRET}"
[routes]
default = "session"
[[route]]
path = "/public/**"
access = "public"
TOML
$BIN check --config "$DIR/proxy.toml" >/dev/null || fail "check rejected a good TLS config"
sed 's/key.pem/other.pem/' "$DIR/proxy.toml" > "$DIR/bad.toml"; cp "$TLS/server2.key" "$DIR/other.pem"
out=$($BIN check --config "$DIR/bad.toml" 2>&1) && fail "check accepted a key of another certificate"
echo "$out" | grep -q '^error: server.tls_key: .*is not the private key of the certificate' || fail "check said: $out"

$BIN serve --config "$DIR/proxy.toml" 2> "$DIR/proxy.log" & PROXY=$!; PIDS+=("$PROXY")
eventually "${CURL[@]}" -f -o /dev/null "https://localhost:$PORT/public/" || fail "serve does not answer over HTTPS"
"${CURL[@]}" -D - -o /dev/null "https://localhost:$PORT/public/" | grep -qi '^x-seen-proto: https' || fail "upstream did not see X-Forwarded-Proto: https"
FIRST=$(serial_of_file "$TLS/server.pem"); SECOND=$(serial_of_file "$TLS/server2.pem")
[ "$(served_serial "$PORT")" = "$FIRST" ] || fail "not serving server.pem"

# A bad file on SIGHUP: rejected, the old certificate keeps serving.
cp "$TLS/server2.key" "$DIR/key.pem.new" && mv "$DIR/key.pem.new" "$DIR/key.pem"
kill -HUP $PROXY
eventually grep -q 'reload rejected' "$DIR/proxy.log" || fail "a mismatched key on reload was not rejected"
[ "$(served_serial "$PORT")" = "$FIRST" ] || fail "the old certificate stopped serving after a rejected reload"

# The swap under load: every request a new connection (a new handshake), plus keep-alive ones.
wrk -t1 -c8 -d4s -H 'Connection: close' "https://localhost:$PORT/public/" > "$DIR/wrk-close.txt" 2>&1 & W1=$!
wrk -t1 -c8 -d4s "https://localhost:$PORT/public/" > "$DIR/wrk-keep.txt" 2>&1 & W2=$!
sleep 1.5
cp "$TLS/server2.pem" "$DIR/cert.pem.new" && mv "$DIR/cert.pem.new" "$DIR/cert.pem"
kill -HUP $PROXY
wait $W1 $W2
for run in close keep; do
    grep -q 'Requests/sec' "$DIR/wrk-$run.txt" || fail "wrk ($run) did not run: $(cat "$DIR/wrk-$run.txt")"
    grep -q 'Socket errors' "$DIR/wrk-$run.txt" && fail "socket errors during the swap ($run): $(grep 'Socket errors' "$DIR/wrk-$run.txt")"
    grep -q 'Non-2xx' "$DIR/wrk-$run.txt" && fail "failed requests during the swap ($run): $(grep 'Non-2xx' "$DIR/wrk-$run.txt")"
done
eventually grep -q 'configuration reloaded' "$DIR/proxy.log" || fail "the good reload was not applied"
[ "$(served_serial "$PORT")" = "$SECOND" ] || fail "server2.pem is not served after SIGHUP"
"${CURL[@]}" -f -o /dev/null "https://localhost:$PORT/public/" || fail "the new certificate does not verify against the CA"
echo "tls_listener: SIGHUP swap under wrk ok ($(grep -h 'requests in' "$DIR"/wrk-*.txt | awk '{s+=$1} END {print s}') requests, 0 failed; serial $FIRST -> $SECOND)"
kill -TERM $PROXY; wait $PROXY || fail "serve exited non-zero after SIGTERM"
