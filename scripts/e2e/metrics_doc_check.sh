#!/usr/bin/env bash
# /metrics of a live `sessiongate demo` agrees with docs/metrics.md (see the .py).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec timeout 120 python3 scripts/e2e/metrics_doc_check.py
