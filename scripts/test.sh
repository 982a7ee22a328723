#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need, starts Redis (standalone and a
# 3-master cluster) and PostgreSQL on loopback in a temp dir, builds, lints, runs every test, and
# stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sessiongate-test.XXXXXX")
export SESSIONGATE_TEST_TMP="$WORK"

cleanup() {
    local status=$?
    if declare -F redis_stop_all >/dev/null; then redis_stop_all || true; fi
    if declare -F pg_tls_stop >/dev/null; then pg_tls_stop || true; fi
    if declare -F pg_stop >/dev/null; then pg_stop || true; fi
    rm -rf "$WORK"
    exit $status
}
trap cleanup EXIT INT TERM

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    if ((${#missing[@]})); then
        step "apt-get install ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

step "dependencies"
apt_install redis-server redis-tools postgresql curl wrk golang-go
python3 -c 'import joserfc' 2>/dev/null || pip install -q joserfc
python3 -c 'import hypercorn, h2' 2>/dev/null || pip install -q 'hypercorn==0.18.0' 'h2==4.4.1'
# The sessions API e2e validates real answers against docs/admin-api.yaml (OpenAPI 3.1).
python3 -c 'import yaml, jsonschema, openapi_spec_validator' 2>/dev/null || pip install -q pyyaml jsonschema openapi-spec-validator

step "services"
# shellcheck source=lib/tls_ca.sh
source scripts/lib/tls_ca.sh
tls_ca_make "$WORK/tls" # a CA made at run time: exports SESSIONGATE_TEST_TLS_DIR for the TLS tests
# shellcheck source=lib/redis.sh
source scripts/lib/redis.sh
redis_start_all "$WORK/redis"
# Redis over TLS: TLS-only standalone + cluster with the CA above (scripts/lib/redis_tls.sh).
# shellcheck source=lib/redis_tls.sh
source scripts/lib/redis_tls.sh
redis_tls_start_all "$WORK"
# shellcheck source=lib/postgres.sh
source scripts/lib/postgres.sh
pg_start "$WORK/pg"
# shellcheck source=lib/postgres_tls.sh
source scripts/lib/postgres_tls.sh
pg_tls_start "$WORK/pgtls" # TLS-only servers (hostssl): SESSIONGATE_TEST_POSTGRES_TLS_*_URL

step "build"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Write|Emitting)' || exit 1
swift build --product sessiongate 2>&1 | tail -1

step "lint (swift format)"
swift format lint --strict --recursive Sources Tests Package.swift

step "tests"
swift test --skip-build --parallel 2>&1 | tee "$WORK/test.log" | grep -E '^✘|Test run with|Executed [0-9]+ tests' || true
if grep -qE '✘|Test run with .* failed' "$WORK/test.log"; then
    echo "tests failed (full log below)"
    grep -E '✘' "$WORK/test.log" | head -100
    exit 1
fi
grep -E 'Test run with [0-9]+ tests' "$WORK/test.log" | tail -1

step "end-to-end scripts"
for script in scripts/e2e/*.sh; do
    [ -e "$script" ] || continue
    echo "-- $script"
    bash "$script"
done
step "fuzz (5 s per target; long runs: scripts/fuzz.sh 600)"
mapfile -t FUZZ_TARGETS < <(find Fuzz/Sources -mindepth 1 -maxdepth 1 -name 'Fuzz*' ! -name FuzzSupport -printf '%f\n' | sort)
bash scripts/fuzz.sh 5 "${FUZZ_TARGETS[@]}"
echo "all tests passed"
