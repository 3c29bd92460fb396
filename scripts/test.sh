#!/usr/bin/env bash
# The project's test command: formatting, lints, build, Rust tests, the JavaScript SDK v3
# tests (tests/js, Node's test runner), then the end-to-end suite (tests/e2e) that drives the
# real wharf binary with the real AWS CLI v1 and v2 and boto3. Installs what it needs first
# (scripts/ensure-deps.sh). Fails fast.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -k seed_003     # extra arguments go to one pytest run (no shards)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
    echo
    echo "==> $*"
}

step "ensure test dependencies (scripts/ensure-deps.sh)"
scripts/ensure-deps.sh

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "no module cycles inside any crate (scripts/check-module-cycles.py)"
scripts/check-module-cycles.py

step "generated code matches codegen/ and the pinned botocore (scripts/codegen.sh --check)"
scripts/codegen.sh --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo build --workspace"
cargo build --workspace

step "ensure a Docker Engine (scripts/ensure-docker.sh): the runtime tests and the ECR/ECS end-to-end tests run containers"
# On failure the suite still runs; the Docker tests then fail with the script's output.
scripts/ensure-docker.sh || echo "warning: no Docker Engine; the Docker tests will fail" >&2

step "cargo nextest run --workspace"
cargo nextest run --workspace --no-tests=warn

step "protocol conformance (botocore's protocol test suites)"
scripts/protocol-conformance.sh

target_dir=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
export WHARF_BIN="$target_dir/debug/wharf"
[[ -x $WHARF_BIN ]] || {
    echo "error: $WHARF_BIN was not built" >&2
    exit 1
}

step "JavaScript SDK v3 tests: npm test in tests/js (WHARF_BIN=$WHARF_BIN)"
(cd tests/js && npm test)

if [[ $# -gt 0 ]]; then
    step "end-to-end tests: pytest tests/e2e $* (WHARF_BIN=$WHARF_BIN)"
    .deps/venv/bin/python -m pytest tests/e2e -v --durations=25 "$@"
else
    # The whole suite in concurrent shards (scripts/e2e-shards.py; WHARF_E2E_SHARDS=1 for one).
    step "end-to-end tests: tests/e2e in ${WHARF_E2E_SHARDS:-2} shards (scripts/e2e-shards.py, WHARF_BIN=$WHARF_BIN)"
    scripts/e2e-shards.py run
fi
