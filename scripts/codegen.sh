#!/usr/bin/env bash
# Regenerates every service's generated.rs from the pinned botocore specs
# (codegen/services.toml). Installs that botocore into .deps/codegen-venv first.
# Usage: scripts/codegen.sh [service ...]      (write)
#        scripts/codegen.sh --check           (fail if a generated file is stale)
set -euo pipefail
cd "$(dirname "$0")/.."
pin=$(sed -n 's/^botocore = "\(.*\)"/\1/p' codegen/services.toml)
venv=.deps/codegen-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import botocore,sys; sys.exit(botocore.__version__ != '$pin')" 2>/dev/null; then
  echo "codegen: installing botocore $pin into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "botocore==$pin"
fi
"$venv/bin/python" codegen/generate.py "$@"

