#!/usr/bin/env bash
# `sessiongate demo` as the README shows it, checked with curl: login, see the session, logout.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${SESSIONGATE_BIN:-.build/debug/sessiongate}
DIR=$(mktemp -d); PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$DIR/demo.log"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); ADMIN=$(free_port)
$BIN demo --port "$PORT" --admin-port "$ADMIN" > "$DIR/demo.log" 2>&1 & PID=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/livez" && break; sleep 0.1; done
grep -q "http://127.0.0.1:$PORT/" "$DIR/demo.log" || fail "demo did not print what to open"
JAR="$DIR/jar"; URL="http://127.0.0.1:$PORT"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$URL/")
[ "$code" = "302 $URL/login?next=/" ] || fail "anonymous / gave '$code'"
curl -s -c "$JAR" -b "$JAR" -o /dev/null -d 'user=alice&next=/' "$URL/login"
grep -q sessiongate_demo "$JAR" || fail "login set no cookie"
page=$(curl -s -b "$JAR" -c "$JAR" "$URL/")
echo "$page" | grep -q 'Signed in as <strong>alice</strong>' || fail "session page does not show the user"
echo "$page" | grep -q '&quot;htu&quot;:&quot;/&quot;' || fail "session page does not show verified claims"
curl -s -b "$JAR" -c "$JAR" -o /dev/null -X POST "$URL/logout"
code=$(curl -s -b "$JAR" -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$URL/")
[ "$code" = "302" ] || fail "after logout / gave $code"
echo "demo_curl: ok (login, session page with verified claims, logout)"
