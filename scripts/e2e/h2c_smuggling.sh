#!/usr/bin/env bash
# h2c upgrade smuggling against a real h2c-capable upstream (Hypercorn): never tunnelled (see the .py).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import hypercorn, h2' 2>/dev/null || pip install -q 'hypercorn==0.18.0' 'h2==4.4.1'
exec timeout 120 python3 scripts/e2e/h2c_smuggling.py
