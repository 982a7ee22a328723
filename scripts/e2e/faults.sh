#!/usr/bin/env bash
# Fault injection against real processes (store killed / paused / restarted under wrk load,
# upstream killed / hanging, clients disconnecting mid-transfer): status codes, answer times,
# recovery times, no session lost, no leaked file descriptors. Prints a table. About 35 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    fi
fi
[ -r /proc/self/net/tcp ] || { echo "FAIL: faults.sh needs Linux /proc to count file descriptors"; exit 1; }
# Every wait inside is bounded; this is the outer bound (SIGTERM lets the script clean up).
exec timeout --kill-after=15 150 python3 scripts/e2e/faults.py
