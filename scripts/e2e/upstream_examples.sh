#!/usr/bin/env bash
# Runs the upstream integration examples of docs/upstream.md against a live proxy, so the guide
# cannot rot: examples/upstream/python (always), node (when Node 18+ is installed) and go (when
# Go is installed; scripts/test.sh installs golang-go), each under HS256 and EdDSA signing. With
# CI=true (.ci/run), a skipped example fails the run: an example the tests skip can rot.
#
# For every example and algorithm: start the app and `.build/debug/sessiongate serve` (memory
# store, plain-HTTP cookie) on free loopback ports, then with curl
#   - log in through the proxy (the app answers X-Session-Set; the proxy sets the cookie),
#   - read the protected page (the app verifies X-Session-Token and names the user) and see the
#     app's write-back (a visit counter kept with X-Session-Set),
#   - call the app directly with minted tokens: the valid one is accepted, every bad one
#     (wrong key, issuer, audience, path, method, expired, alg none, tampered, alg confusion)
#     is rejected,
#   - log out, and check the protected page then answers 401 (API) / 302 (browser), also for a
#     replay of the old cookie,
#   - "remember me" sets a 30-day cookie.
# One more Python run uses the dev.toml that docs/upstream.md tells readers to write, and the
# doc's Swift snippet is compiled (against the swift-crypto objects of .build) and run on the
# same good and bad tokens.
# Builds nothing of SessionGate itself (scripts/test.sh has built .build/debug/sessiongate).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BIN="$ROOT/.build/debug/sessiongate"
[ -x "$BIN" ] || { echo "upstream_examples: $BIN is missing; run swift build --product sessiongate" >&2; exit 1; }
command -v curl >/dev/null || { echo "upstream_examples: curl is required" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessiongate-upstream.XXXXXX")
PIDS=()
CASE="setup"

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 15); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
cleanup() {
    local status=$?
    stop_all
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "FAIL [$CASE]: $*" >&2
    for log in "$WORK"/*.log; do
        [ -s "$log" ] && { echo "--- $(basename "$log") (last lines)" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS: until URL answers 200, at most SECONDS.
wait_http() {
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" = 200 ] && return 0
        sleep 0.2
    done
    return 1
}

# request NAME [curl args...]: runs curl, keeps headers in $WORK/NAME.h and the body in
# $WORK/NAME.b, prints the status code.
request() {
    local name=$1
    shift
    curl -sS --max-time 10 -D "$WORK/$name.h" -o "$WORK/$name.b" -w '%{http_code}' "$@" || echo "curl-failed"
}

header() { grep -i "^$2:" "$WORK/$1.h" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//' || true; }
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$WORK/$1.b" "$2"; }
# expect_status NAME STATUS EXPECTED [LABEL]: NAME is the request's name (for its body).
expect_status() { [ "$2" = "$3" ] || fail "${4:-$1}: expected HTTP $3, got $2 ($(head -c 200 "$WORK/$1.b" 2>/dev/null))"; }

python3 -c 'import joserfc' 2>/dev/null || pip install -q joserfc
COOKIE_KEY=$("$BIN" keygen)
HS256_SECRET=$("$BIN" keygen)
ADMIN_TOKEN=$("$BIN" keygen | tr "+/" "-_" | tr -d "=")
ED25519_SEED=$("$BIN" keygen --ed25519)
ISSUER="sessiongate-e2e"
AUDIENCE="example-app"
DOC=docs/upstream.md

# write_config FILE ALGORITHM PROXY_PORT ADMIN_PORT APP_PORT
write_config() {
    local signing
    # shellcheck disable=SC2016 # ${...} is for the proxy to read from its environment
    if [ "$2" = HS256 ]; then
        signing='algorithm = "HS256"
secret = "${SESSIONGATE_SIGNING_SECRET}"'
    else
        signing='algorithm = "EdDSA"
private_key = "${SESSIONGATE_ED25519_KEY}"'
    fi
    cat >"$1" <<EOF
[server]
listen = "127.0.0.1:$3"
admin_listen = "127.0.0.1:$4"
drain_timeout = "1s"

[upstream]
url = "http://127.0.0.1:$5"

[cookie]
name = "session"
secure = false
keys = ["\${SESSIONGATE_KEY}"]

[session]
max_lifetime = "30d"

[admin]
token = "\${SESSIONGATE_ADMIN_TOKEN}"

[store]
backend = "memory"

[signing]
$signing
issuer = "$ISSUER"
audience = "$AUDIENCE"

[log]
format = "json"
level = "warning"

[routes]
default = "session"
login_url = "/login"

[[route]]
path = "/login"
methods = ["GET", "POST"]
access = "public"
EOF
}

# write_doc_config FILE PROXY_PORT ADMIN_PORT APP_PORT: the dev.toml that docs/upstream.md tells
# readers to write, on this run's ports, so the documented quick start is tested as written.
write_doc_config() {
    awk '/^cat > dev.toml <<.EOF.$/ { inside = 1; next } inside && /^EOF$/ { exit } inside' "$DOC" |
        sed "s|http://127.0.0.1:3000|http://127.0.0.1:$4|" >"$1"
    grep -q "127.0.0.1:$4" "$1" || fail "$DOC: no dev.toml block with upstream http://127.0.0.1:3000"
    printf '\n[server]\nlisten = "127.0.0.1:%s"\nadmin_listen = "127.0.0.1:%s"\n' "$2" "$3" >>"$1"
}

# start_app EXAMPLE PORT ADMIN_PORT ALGORITHM: starts the example app in the background.
start_app() {
    local env=(PORT="$2" LISTEN_HOST=127.0.0.1)
    # The documented quick start relies on the default issuer and audience.
    [ "$ISSUER" = sessiongate ] || env+=(SESSIONGATE_ISSUER="$ISSUER" SESSIONGATE_AUDIENCE="$AUDIENCE")
    if [ "$4" = HS256 ]; then
        env+=(SESSIONGATE_SIGNING_SECRET="$HS256_SECRET")
    else
        env+=(SESSIONGATE_JWKS_URL="http://127.0.0.1:$3/.well-known/jwks.json")
    fi
    env+=(SESSIONGATE_ADMIN_URL="http://127.0.0.1:$3" SESSIONGATE_ADMIN_TOKEN="$ADMIN_TOKEN")
    case $1 in
    python) env "${env[@]}" python3 examples/upstream/python/app.py >"$WORK/app.log" 2>&1 & ;;
    node) env "${env[@]}" node examples/upstream/node/app.js >"$WORK/app.log" 2>&1 & ;;
    go) env "${env[@]}" "$WORK/go-app" >"$WORK/app.log" 2>&1 & ;;
    esac
    PIDS+=($!)
}

# run_case EXAMPLE ALGORITHM [doc]: "doc" runs with the dev.toml of docs/upstream.md.
run_case() {
    local example=$1 algorithm=$2 source=${3:-}
    CASE="$example/$algorithm${source:+ ($DOC dev.toml)}"
    if [ "$source" = doc ]; then ISSUER=sessiongate AUDIENCE=upstream; else ISSUER=sessiongate-e2e AUDIENCE=example-app; fi
    local proxy_port admin_port app_port
    proxy_port=$(free_port)
    admin_port=$(free_port)
    app_port=$(free_port)
    local proxy="http://127.0.0.1:$proxy_port" app="http://127.0.0.1:$app_port"
    rm -f "$WORK"/*.log "$WORK"/jar

    if [ "$source" = doc ]; then
        write_doc_config "$WORK/proxy.toml" "$proxy_port" "$admin_port" "$app_port"
    else
        write_config "$WORK/proxy.toml" "$algorithm" "$proxy_port" "$admin_port" "$app_port"
    fi
    start_app "$example" "$app_port" "$admin_port" "$algorithm"
    SESSIONGATE_KEY="$COOKIE_KEY" SESSIONGATE_SIGNING_SECRET="$HS256_SECRET" SESSIONGATE_ED25519_KEY="$ED25519_SEED" \
        SESSIONGATE_ADMIN_TOKEN="$ADMIN_TOKEN" "$BIN" serve --config "$WORK/proxy.toml" >"$WORK/proxy.log" 2>&1 &
    PIDS+=($!)
    wait_http "$app/healthz" 20 || fail "the $example app did not come up on port $app_port"
    wait_http "http://127.0.0.1:$admin_port/readyz" 20 || fail "the proxy did not become ready"

    # Anonymous: the login page is public, the protected page is not.
    expect_status login_page "$(request login_page "$proxy/login")" 200
    grep -q 'id="user"' "$WORK/login_page.b" || fail "the login page has no user field"
    expect_status anon_api "$(request anon_api -H 'Accept: application/json' "$proxy/")" 401
    expect_status anon_browser "$(request anon_browser -H 'Accept: text/html' "$proxy/")" 302
    [[ "$(header anon_browser location)" == /login\?next=* ]] || fail "anonymous browser redirect: $(header anon_browser location)"

    # Log in through the proxy: the app's X-Session-Set creates the session.
    expect_status login "$(request login -c "$WORK/jar" -d user=alice -d next=/ "$proxy/login")" 303
    local set_cookie
    set_cookie=$(header login set-cookie)
    [[ "$set_cookie" == session=* ]] || fail "login set no session cookie (Set-Cookie: ${set_cookie%%=*})"
    [[ "$set_cookie" == *HttpOnly* && "$set_cookie" == *SameSite=Lax* ]] || fail "cookie attributes: ${set_cookie#*;}"
    [ -z "$(header login x-session-set)" ] || fail "X-Session-Set leaked to the client"
    [ "$(header login location)" = / ] || fail "login redirect: $(header login location)"
    local old_cookie=${set_cookie%%;*}

    # The protected page: the app verified the token and names the user; its write-back counts.
    expect_status me1 "$(request me1 -b "$WORK/jar" -c "$WORK/jar" -H 'Accept: application/json' "$proxy/")" 200
    [ "$(json_field me1 user)" = alice ] || fail "protected page user: $(cat "$WORK/me1.b")"
    [ "$(json_field me1 visits)" = 1 ] || fail "first visit count: $(cat "$WORK/me1.b")"
    [ -z "$(header me1 x-session-set)" ] || fail "X-Session-Set leaked to the client"
    expect_status me2 "$(request me2 -b "$WORK/jar" -c "$WORK/jar" -H 'Accept: application/json' "$proxy/")" 200
    [ "$(json_field me2 visits)" = 2 ] || fail "the app's X-Session-Set write-back was not kept: $(cat "$WORK/me2.b")"

    # Straight to the app: the example accepts only a token valid for this request.
    local jwks="{}" name token status
    if [ "$algorithm" = EdDSA ]; then
        jwks=$(curl -sS --max-time 5 "http://127.0.0.1:$admin_port/.well-known/jwks.json")
    fi
    # Keys reach the minting helper through its environment and stdin, never its command line.
    MINT_SECRET="$HS256_SECRET" MINT_SEED="$ED25519_SEED" python3 - "$algorithm" "$ISSUER" "$AUDIENCE" "$jwks" <<'PY' |
import json, os, sys
algorithm, issuer, audience, jwks = sys.argv[1:]
print(json.dumps({"algorithm": algorithm, "issuer": issuer, "audience": audience, "path": "/", "user": "direct",
                  "jwks": json.loads(jwks), "secret": os.environ["MINT_SECRET"], "seed": os.environ["MINT_SEED"]}))
PY
        python3 scripts/e2e/mint_token.py >"$WORK/tokens" || fail "minting test tokens failed"
    expect_status direct_none "$(request direct_none "$app/")" 401
    local rejected=0
    while read -r name token; do
        status=$(request "direct_$name" -H "X-Session-Token: $token" "$app/")
        if [ "$name" = valid ]; then
            expect_status "direct_$name" "$status" 200
            [ "$(json_field "direct_$name" user)" = direct ] || fail "valid minted token: $(cat "$WORK/direct_$name.b")"
        else
            expect_status "direct_$name" "$status" 401 "the app accepted the bad token '$name'"
            rejected=$((rejected + 1))
        fi
    done <"$WORK/tokens"
    ((rejected >= 8)) || fail "only $rejected bad tokens were tried"

    # "Your devices" (the Python example builds it): a second client, listed, signed out from the first.
    if [ "$example" = python ] && [ "$source" != doc ]; then
        expect_status login2 "$(request login2 -c "$WORK/jar2" -A "second-device/1.0" -d user=alice "$proxy/login")" 303
        expect_status me_other "$(request me_other -b "$WORK/jar2" -H 'Accept: application/json' "$proxy/")" 200
        local other_sid
        other_sid=$(json_field me_other sid)
        expect_status devices "$(request devices -b "$WORK/jar" -H 'Accept: application/json' "$proxy/devices")" 200
        python3 - "$WORK/devices.b" "$other_sid" <<'PY' || fail "devices page: $(cat "$WORK/devices.b")"
import json, sys
page = json.load(open(sys.argv[1]))
sids = {s["sid"]: s for s in page["sessions"]}
assert len(sids) == 2 and sys.argv[2] in sids and page["current"] in sids, sids
assert sids[sys.argv[2]]["user_agent"] == "second-device/1.0", sids[sys.argv[2]]
PY
        expect_status sign_out "$(request sign_out -b "$WORK/jar" -d "sid=$other_sid" "$proxy/devices/sign-out")" 303
        expect_status other_after "$(request other_after -b "$WORK/jar2" -H 'Accept: application/json' "$proxy/")" 401
        expect_status still_in "$(request still_in -b "$WORK/jar" -H 'Accept: application/json' "$proxy/")" 200
        echo "     $CASE: your devices listed 2 sessions; signing out the other one ended it"
    fi

    # Log out: the session is destroyed, the cookie cleared, and the protected page closes again.
    expect_status logout "$(request logout -b "$WORK/jar" -c "$WORK/jar" -X POST "$proxy/logout")" 303
    [ "$(header logout location)" = /login ] || fail "logout redirect: $(header logout location)"
    [[ "$(header logout set-cookie)" == session=* ]] || fail "logout did not clear the cookie"
    [ -z "$(header logout x-session-action)" ] || fail "X-Session-Action leaked to the client"
    expect_status after_api "$(request after_api -b "$WORK/jar" -H 'Accept: application/json' "$proxy/")" 401
    expect_status after_browser "$(request after_browser -b "$WORK/jar" -H 'Accept: text/html' "$proxy/")" 302
    expect_status replay "$(request replay -H "Cookie: $old_cookie" -H 'Accept: application/json' "$proxy/")" 401

    # Remember me: X-Session-Lifetime gives a 30-day cookie.
    expect_status remember "$(request remember -d user=bob -d remember=on "$proxy/login")" 303
    local max_age
    max_age=$(header remember set-cookie | grep -oiE 'max-age=[0-9]+' | cut -d= -f2)
    if [ -z "$max_age" ] || ((max_age <= 2592000 - 60 || max_age > 2592000)); then
        fail "remember-me Max-Age: '$max_age'"
    fi

    stop_all
    echo "ok   $CASE (login, verified token, write-back, $rejected bad tokens rejected, logout, remember me)"
}

started=$SECONDS
examples=(python)
skipped=()
if command -v node >/dev/null && (($(node -p 'process.versions.node.split(".")[0]') >= 18)); then
    examples+=(node)
else
    echo "skip node example (Node 18+ not installed)"
    skipped+=(node)
fi
if command -v go >/dev/null; then
    CASE="go build"
    # Standard library only: no module download (GOPROXY=off), caches in this run's temp dir.
    (cd examples/upstream/go && GOTOOLCHAIN=local GOPROXY=off GOCACHE="$WORK/go-cache" GOPATH="$WORK/go-path" \
        go build -o "$WORK/go-app" .) >"$WORK/go-build.log" 2>&1 || fail "the Go example does not build"
    echo "built go example with $(go version)"
    examples+=(go)
else
    echo "skip go example (Go not installed)"
    skipped+=(go)
fi
if [ "${CI:-}" = true ] && ((${#skipped[@]})); then
    CASE="CI=true"
    fail "examples skipped: ${skipped[*]} (CI must run every example; install what is missing)"
fi
# check_swift_snippet: compiles the Swift block of docs/upstream.md against the swift-crypto the
# project already built, and runs it on the good and bad tokens.
check_swift_snippet() {
    CASE="swift snippet"
    local build=.build/debug sources=.build/checkouts/swift-crypto/Sources objects=()
    awk '/^```swift$/ { inside = 1; next } inside && /^```$/ { inside = 0 } inside' "$DOC" >"$WORK/snippet.swift"
    [ -s "$WORK/snippet.swift" ] || fail "$DOC has no swift block"
    cat >"$WORK/main.swift" <<'SWIFT'
import Foundation
let environment = ProcessInfo.processInfo.environment
let claims = verifySessionToken(
    environment["TOKEN"]!, secret: environment["SECRET"]!, issuer: "sessiongate", audience: "upstream",
    method: "GET", path: "/")
if let claims, case .string(let user)? = claims.data["user_id"] { print("valid \(user)") } else { print("invalid") }
SWIFT
    mapfile -t objects < <(find "$build"/Crypto.build "$build"/CryptoBoringWrapper.build "$build"/CCrypto*.build \
        "$build"/CXKCP*.build -name '*.o' 2>/dev/null)
    ((${#objects[@]})) || fail "no swift-crypto objects in $build (swift build first)"
    swiftc -I "$build/Modules" \
        -Xcc -fmodule-map-file="$sources/CCryptoBoringSSL/include/module.modulemap" \
        -Xcc -fmodule-map-file="$sources/CCryptoBoringSSLShims/include/module.modulemap" \
        "$WORK/snippet.swift" "$WORK/main.swift" "${objects[@]}" -lstdc++ -o "$WORK/swift-verify" \
        >"$WORK/swiftc.log" 2>&1 || fail "the Swift snippet does not compile (see swiftc.log)"
    MINT_SECRET="$HS256_SECRET" python3 -c 'import json, os; print(json.dumps({"algorithm": "HS256",
        "secret": os.environ["MINT_SECRET"], "issuer": "sessiongate", "audience": "upstream", "path": "/",
        "user": "swift-user", "jwks": {}}))' | python3 scripts/e2e/mint_token.py >"$WORK/swift-tokens"
    local name token verdict rejected=0
    while read -r name token; do
        verdict=$(TOKEN="$token" SECRET="$HS256_SECRET" "$WORK/swift-verify")
        if [ "$name" = valid ]; then
            [ "$verdict" = "valid swift-user" ] || fail "the Swift snippet rejects a valid token: $verdict"
        else
            [ "$verdict" = invalid ] || fail "the Swift snippet accepts the bad token '$name'"
            rejected=$((rejected + 1))
        fi
    done <"$WORK/swift-tokens"
    echo "ok   swift snippet of $DOC (valid token accepted, $rejected bad tokens rejected)"
}

run_case python HS256 doc
for example in "${examples[@]}"; do
    for algorithm in HS256 EdDSA; do run_case "$example" "$algorithm"; done
done
check_swift_snippet
echo "upstream examples passed (${examples[*]}, swift snippet) in $((SECONDS - started))s"
