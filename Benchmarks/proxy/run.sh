#!/usr/bin/env bash
# Side-by-side proxy benchmark (not part of the test run): nginx upstream; direct, nginx
# proxy_pass, HAProxy, Caddy, a SwiftNIO relay that parses nothing (the floor) and SessionGate
# (public route, memory/Redis/PostgreSQL/SQLite sessions), and TLS termination (SessionGate's
# listener next to nginx `listen ssl`, same certificate), wrk in interleaved rounds. Prints one
# table and writes it as a chart (docs/images/benchmark.svg).
# Usage: Benchmarks/proxy/run.sh [--seconds N] [--rounds N] [--threads N] [--targets a,b] [--skip-extra]
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
for pkg in wrk nginx haproxy redis-server postgresql; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
dpkg -s caddy >/dev/null 2>&1 || missing+=(caddy)
if ((${#missing[@]})); then
    $sudo apt-get update -qq
    # caddy is optional: if the distribution lacks it, its row is skipped.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
        || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]/caddy}" >/dev/null
fi
# Keep the distribution's services out of the way; the benchmark starts its own.
for svc in nginx haproxy caddy redis-server postgresql; do $sudo systemctl stop "$svc" 2>/dev/null || true; done
# Built the way deploy/Dockerfile ships it: release, Swift runtime linked statically (calls into
# it are direct, not through the PLT). The relay is built the same way, so it stays the floor.
echo "building sessiongate (release, static Swift runtime)…"
swift build -c release --static-swift-stdlib --product sessiongate --scratch-path .build-release 2>&1 | tail -1
# The calibration relay (SwiftNIO, parses nothing): the floor row. Optional: the table runs without it.
relay=()
echo "building the calibration relay (release)…"
if swift build -c release --static-swift-stdlib --package-path Benchmarks/calibration/nio-relay --scratch-path .build-relay 2>&1 | tail -1; then
    relay=(--relay .build-relay/release/Relay)
fi
exec python3 Benchmarks/proxy/bench.py --binary .build-release/release/sessiongate "${relay[@]}" --chart docs/images/benchmark.svg "$@"
