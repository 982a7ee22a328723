#!/usr/bin/env bash
# Real-browser tests of `sessiongate demo` (browser_test.py: sign-in, cookie, logout;
# browser_devices.py: "Your devices" across two browser profiles). Installs Debian's chromium and
# chromium-driver (apt-get) and selenium (pip) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
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
exec timeout 180 python3 scripts/e2e/browser_devices.py
