#!/usr/bin/env bash
# sessiongate serve against TLS-only Redis (standalone and cluster): sessions over TLS, and each
# TLS failure (unknown CA, expired certificate, plain text against TLS) giving /readyz 503.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/e2e/redis_tls.py
