#!/usr/bin/env bash
# Runs CI (.ci/run) on a fresh clone of this checkout's committed HEAD while a CPU hog keeps every
# core busy (`nproc` × `yes > /dev/null`), to show the test command holds on a busy machine.
# Prints the elapsed time and PASS/FAIL, and exits with .ci/run's status. Takes 20+ minutes and
# loads the whole machine: not part of scripts/test.sh.
#   scripts/stress-ci.sh            # the log goes to stdout
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HEAD=$(git -C "$ROOT" rev-parse HEAD)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessiongate-stress-ci.XXXXXX")
HOGS=()

stop_hogs() {
    local pid
    for pid in "${HOGS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${HOGS[@]}"; do wait "$pid" 2>/dev/null || true; done
    HOGS=()
}
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local status=$?
    stop_hogs
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "stress-ci: cloning $HEAD into $WORK/repo"
git clone --quiet --no-checkout "$ROOT" "$WORK/repo"
git -C "$WORK/repo" -c advice.detachedHead=false checkout --quiet "$HEAD"

CORES=$(nproc)
for _ in $(seq 1 "$CORES"); do
    yes >/dev/null &
    HOGS+=($!)
done
echo "stress-ci: $CORES CPU hogs running (pids ${HOGS[*]}); bash .ci/run in the clone"

started=$SECONDS
status=0
(cd "$WORK/repo" && bash .ci/run) || status=$?
elapsed=$((SECONDS - started))
stop_hogs

if [ "$status" -eq 0 ]; then verdict=PASS; else verdict=FAIL; fi
printf 'stress-ci: %s in %dm%02ds (.ci/run exit %d, %d CPU hogs, commit %s)\n' \
    "$verdict" $((elapsed / 60)) $((elapsed % 60)) "$status" "$CORES" "${HEAD:0:12}"
exit "$status"
