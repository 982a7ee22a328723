#!/usr/bin/env bash
# docs/configuration.md documents exactly the keys of proxy.toml.example (see the .py).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/e2e/config_reference_check.py
