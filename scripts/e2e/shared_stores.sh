#!/usr/bin/env bash
# Two proxy processes per shared backend (Redis, Redis Cluster, PostgreSQL, SQLite) + store outages.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/e2e/shared_stores.py
