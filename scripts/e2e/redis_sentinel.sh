#!/usr/bin/env bash
# Redis Sentinel failover under load: primary + replica + 3 Sentinels on loopback, the primary
# SIGKILLed while sessions are read and written through the proxy; prints the longest 503 window.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/e2e/redis_sentinel.py
