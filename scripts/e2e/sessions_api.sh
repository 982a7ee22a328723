#!/usr/bin/env bash
# The sessions API, CLI and revoke <sid> end to end on every backend; answers checked against docs/admin-api.yaml.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/e2e/sessions_api.py
