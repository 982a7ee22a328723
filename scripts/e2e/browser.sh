#!/usr/bin/env bash
# Real-browser tests of `sessiongate demo`: browser_test.py (sign-in, cookie, logout) over HTTP and
# then over HTTPS with the run-time CA (scripts/lib/tls_ca.sh) trusted; browser_devices.py ("Your
# devices" across two browser profiles). Installs Debian's chromium, chromium-driver and
# libnss3-tools (apt-get) and selenium (pip) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v certutil >/dev/null || missing+=(libnss3-tools)
if ((${#missing[@]})); then
    echo "browser test: apt-get install ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import selenium' 2>/dev/null || pip install -q selenium

# Selenium must use the Debian driver and browser above, never download its own.
export SE_OFFLINE=true
timeout 180 python3 scripts/e2e/browser_test.py
if [ -z "${SESSIONGATE_TEST_TLS_DIR:-}" ]; then
    TLS_WORK=$(mktemp -d)
    trap 'rm -rf "$TLS_WORK"' EXIT
    # shellcheck source=../lib/tls_ca.sh
    source scripts/lib/tls_ca.sh
    tls_ca_make "$TLS_WORK/tls"
fi
timeout 180 python3 scripts/e2e/browser_test.py --tls-dir "$SESSIONGATE_TEST_TLS_DIR"
exec timeout 180 python3 scripts/e2e/browser_devices.py
