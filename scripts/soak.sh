#!/usr/bin/env bash
# Soak run, not part of scripts/test.sh: `scripts/soak.sh [SECONDS]` (default 600) of mixed
# traffic through one `sessiongate serve` with the Redis store (a private redis-server), sampling
# RSS, open fds and connections every 10 s; exits 1 if RSS or fds keep growing or requests fail.
# Binary: $SESSIONGATE_BIN, else a release build newer than the sources
# (.build-release/release or .build/release), else the debug build (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-600}
for tool in redis-server wrk python3; do
    command -v "$tool" >/dev/null || { echo "soak: $tool is required (apt-get install redis-server wrk)"; exit 1; }
done
newest_source=$(find Sources Package.swift Package.resolved -type f -printf '%T@\n' | sort -n | tail -1)
fresh() { [ -x "$1" ] && [ "$(stat -c %Y "$1")" -ge "${newest_source%.*}" ]; }
if [ -z "${SESSIONGATE_BIN:-}" ]; then
    for candidate in .build-release/release/sessiongate .build/release/sessiongate; do
        if fresh "$candidate"; then SESSIONGATE_BIN=$candidate; break; fi
    done
fi
if [ -z "${SESSIONGATE_BIN:-}" ]; then
    build_log=$(mktemp)
    if ! swift build --product sessiongate >"$build_log" 2>&1; then
        tail -20 "$build_log"; rm -f "$build_log"
        echo "soak: swift build --product sessiongate failed"; exit 1
    fi
    rm -f "$build_log"
    SESSIONGATE_BIN=.build/debug/sessiongate
    echo "soak: no release build newer than the sources; using the DEBUG build (RSS and throughput are not release numbers)"
fi
export SESSIONGATE_BIN
exec python3 scripts/soak.py "$SECONDS_TO_RUN"
