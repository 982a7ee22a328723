#!/usr/bin/env bash
# Micro-benchmarks of SessionGateCore's hot pure functions (not part of the test run).
#
#   Benchmarks/micro/run.sh [--round-ms N] [--rounds N] [filter ...]
#       builds in release mode and prints a table: median ns/op of 5 timed rounds, fastest round,
#       spread, ops/s, heap allocations and bytes per op. Filters are substrings of
#       "group/name" (e.g. `cookie`, `token/sign`, `proto/`); an exact name selects only itself.
#   Benchmarks/micro/run.sh --instructions [filter ...]
#       counts instructions per op under valgrind (callgrind): repeatable to the instruction
#       whatever else the machine is doing, so small regressions show on a busy 2-core box.
#       Under valgrind BoringSSL runs without SHA-NI (valgrind hides it), so SHA-256-heavy rows
#       (HS256, key ids, store keys) count more instructions than the real CPU executes.
#
# Builds into .build-micro at the repository root (git-ignored by `.build-*`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-micro"

build() {
    echo "building micro-benchmarks (release)…" >&2
    (cd "$here" && swift build -c release --scratch-path "$scratch" 2>&1 | tail -1) >&2
}

if [[ "${1:-}" == "--instructions" ]]; then
    shift
    command -v valgrind >/dev/null || {
        echo "valgrind is needed: apt-get install -y valgrind" >&2
        exit 1
    }
    build
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    # valgrind 3.19 cannot read the DWARF 5 that Swift 6 emits; symbols are enough.
    strip --strip-debug -o "$work/MicroBench" "$scratch/release/MicroBench"
    iterations=2000
    printf '%-52s | %14s\n' "benchmark" "instructions/op"
    printf '%-52s-|-%14s\n' "$(printf -- '-%.0s' {1..52})" "$(printf -- '-%.0s' {1..14})"
    "$work/MicroBench" --list "$@" | while IFS= read -r name; do
        valgrind --tool=callgrind --toggle-collect='*fixedRun*' --callgrind-out-file="$work/out" \
            "$work/MicroBench" --fixed "$iterations" "$name" >"$work/log" 2>&1 || {
            echo "valgrind failed on $name:" >&2
            tail -5 "$work/log" >&2
            exit 1
        }
        collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log")
        printf '%-52s | %14d\n' "$name" $((collected / iterations))
    done
    exit 0
fi

build
exec "$scratch/release/MicroBench" "$@"
