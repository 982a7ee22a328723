#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (ASan + libFuzzer, scratch folder .build-fuzz) and runs each
# for a bounded time, starting from its seed corpus in Fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]    (default: 60 seconds, every target)
#   FUZZ_REPLAY=1 scripts/fuzz.sh                          only replay the seed corpora (no fuzzing)
#   FUZZ_KEEP_GOING=1 scripts/fuzz.sh 600                  long run: fork mode, a crash does not stop
#                                                          the target (crashes are counted and kept)
#
# Per target it prints executions, corpus size and crashes, and exits non-zero when any target
# crashed, hit a property violation, timed out or ran out of memory. The seed corpus includes the
# inputs of every finding (regression-*), so a finding that comes back fails at once. New corpus
# entries go to .build-fuzz/corpus/<target>/ (kept between runs, never into the repo); crashing
# inputs go to .build-fuzz/artifacts/<target>/ — copy each to Fuzz/corpus/<target>/regression-NAME
# and, for SessionGateCore, add a test to Tests/SessionGateCoreTests/FuzzRegressionTests.swift.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-60}
shift || true
SCRATCH="$ROOT/.build-fuzz"
BUILD_FLAGS=(-c release --scratch-path "$SCRATCH" -Xswiftc -sanitize=fuzzer,address)

TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
    # One folder per target under Fuzz/Sources (FuzzSupport is the shared library, not a target).
    mapfile -t TARGETS < <(find Fuzz/Sources -mindepth 1 -maxdepth 1 -name 'Fuzz*' ! -name FuzzSupport -printf '%f\n' | sort)
fi

echo "==> building ${#TARGETS[@]} fuzz targets (swift build ${BUILD_FLAGS[*]})"
build_start=$(date +%s)
mkdir -p "$SCRATCH/logs"
if ! (cd Fuzz && swift build "${BUILD_FLAGS[@]}") >"$SCRATCH/logs/build.log" 2>&1; then
    grep -vE "Cannot export|^\[[0-9]+/[0-9]+\] " "$SCRATCH/logs/build.log" | tail -40
    echo "fuzz build failed (full log: $SCRATCH/logs/build.log)"
    exit 1
fi
BIN=$(cd Fuzz && swift build "${BUILD_FLAGS[@]}" --show-bin-path)
echo "    built in $(($(date +%s) - build_start)) s"

# A crash must reach libFuzzer at once: no Swift backtracer (it would hold the process for
# seconds per crash), no core files. Leak checking is off: the Swift runtime's caches would
# report on every input.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:symbolize=1:allocator_may_return_null=1}
ulimit -c 0

failed=()
printf '\n%-18s %12s %8s %8s  %s\n' target execs corpus crashes result
for target in "${TARGETS[@]}"; do
    work="$SCRATCH/corpus/$target"
    artifacts="$SCRATCH/artifacts/$target"
    # libFuzzer may write into any corpus folder it is given, so it gets a copy of the seeds.
    seeds="$SCRATCH/seeds/$target"
    rm -rf "$seeds"
    mkdir -p "$seeds"
    if [ -d "Fuzz/corpus/$target" ]; then cp -r "Fuzz/corpus/$target/." "$seeds/"; fi
    log="$SCRATCH/logs/$target.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    if [ "${FUZZ_REPLAY:-0}" = 1 ]; then
        mode=(-runs=0)
    elif [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
        mode=(-max_total_time="$SECONDS_PER_TARGET" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    else
        mode=(-max_total_time="$SECONDS_PER_TARGET")
    fi
    artifacts_before=$(find "$artifacts" -type f 2>/dev/null | wc -l)
    status=0
    "$BIN/$target" "${mode[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$work" "$seeds" >"$log" 2>&1 || status=$?
    # Plain mode ends with stat:: lines; fork mode only has "#N: cov: ... corp: N ..." lines.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\)[:\t ].*/\1/p' "$log" | tail -1)
    corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    crashes=$(($(find "$artifacts" -type f 2>/dev/null | wc -l) - artifacts_before))
    if ((status != 0 || crashes > 0)); then
        result="FAILED (exit $status; log $log)"
        failed+=("$target")
        ((crashes > 0)) || crashes=1
    else
        result=ok
    fi
    printf '%-18s %12s %8s %8s  %s\n' "$target" "${execs:-?}" "$corpus" "$crashes" "$result"
    if ((status != 0)); then
        grep -E 'property violated|Fatal error|Assertion|ERROR: AddressSanitizer|ERROR: libFuzzer|Test unit written|^CRASH' "$log" |
            sort -u | head -8 | sed 's/^/    /'
    fi
done

if ((${#failed[@]})); then
    echo "fuzzing found problems in: ${failed[*]}"
    exit 1
fi
echo "fuzzing: no crashes"
