#!/usr/bin/env bash
# Static checks of deploy/ (no Docker engine needed): see deploy_check.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import yaml' 2>/dev/null || pip install -q pyyaml
exec python3 scripts/e2e/deploy_check.py
