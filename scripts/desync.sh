#!/usr/bin/env bash
# Long run of the randomized response-desync test (Tests/SessionGateProxyTests/DesyncFuzzTests):
# a misbehaving upstream answers an attacker with generated framing while a victim requests its
# own page through the same pool. Prints the seed and the number of attacks.
#
#   scripts/desync.sh [seconds]        (default 600)
#   SESSIONGATE_DESYNC_SEED=N scripts/desync.sh 60    replay a seed
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests 2>&1 | tail -1
SESSIONGATE_DESYNC_SECONDS="${1:-600}" swift test --skip-build --filter DesyncFuzzTests 2>&1 | grep -E 'desync:|✘|✔ Test run|failed'
