#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (ASan + libFuzzer, scratch folder .build-fuzz) and runs each
# for a bounded time, starting from its seed corpus in Fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]    (default: 60 seconds, every target)
#   FUZZ_REPLAY=1 scripts/fuzz.sh                          only replay the seed corpora (no fuzzing)
#
# Per target it prints executions, corpus size and crashes, and exits non-zero when any target
# crashed, hit a property violation, timed out or ran out of memory. New corpus entries go to
# .build-fuzz/corpus/<target>/ (kept between runs, never into the repo); crashing inputs go to
# .build-fuzz/artifacts/<target>/ — turn each into a test in
# Tests/SessionGateCoreTests/FuzzRegressionTests.swift and add it to the seed corpus.
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
# seconds per crash), no core files.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:symbolize=1:allocator_may_return_null=1}

failed=()
printf '\n%-18s %12s %8s %8s  %s\n' target execs corpus crashes result
for target in "${TARGETS[@]}"; do
    work="$SCRATCH/corpus/$target"
    artifacts="$SCRATCH/artifacts/$target"
    seeds="Fuzz/corpus/$target"
    log="$SCRATCH/logs/$target.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    [ -d "$seeds" ] || mkdir -p "$seeds"
    if [ "${FUZZ_REPLAY:-0}" = 1 ]; then
        mode=(-runs=0)
    else
        mode=(-max_total_time="$SECONDS_PER_TARGET")
    fi
    status=0
    "$BIN/$target" "${mode[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$work" "$seeds" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    crashes=$(grep -cE '^(==[0-9]+==ERROR|SUMMARY: libFuzzer|.*Fatal error: property violated|.*deadly signal)' "$log" || true)
    if ((status != 0)); then
        result="FAILED (exit $status; log $log)"
        failed+=("$target")
        ((crashes > 0)) || crashes=1
    else
        result=ok
    fi
    printf '%-18s %12s %8s %8s  %s\n' "$target" "${execs:-?}" "$corpus" "$crashes" "$result"
    if ((status != 0)); then
        grep -E 'property violated|Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -8 |
            sed 's/^/    /'
    fi
done

if ((${#failed[@]})); then
    echo "fuzzing found problems in: ${failed[*]}"
    exit 1
fi
echo "fuzzing: no crashes"
