#!/usr/bin/env bash
# Runs AWS's protocol test suites, as the pinned botocore's sdist ships them
# (tests/unit/protocols/{input,output}/<suite>.json: json, json_1_0, query, ec2,
# smithy-rpc-v2-cbor, and the awsQueryCompatible json 1.0 and CBOR suites), against wharf's codecs
# (crates/wharf-api/tests/protocol_conformance.rs), and prints per protocol and direction the
# cases passed, failed and skipped with their reasons. The suites are not checked in: the sdist
# of the botocore pinned in codegen/services.toml is downloaded once into .deps/botocore-sdist
# (gitignored) and only tests/unit/protocols is unpacked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pin=$(sed -n 's/^botocore = "\(.*\)"/\1/p' codegen/services.toml)
[[ -n $pin ]] || {
    echo "error: no botocore pin in codegen/services.toml" >&2
    exit 1
}
dest=.deps/botocore-sdist
suite=$dest/botocore-$pin/tests/unit/protocols

if [[ ! -f $suite/.complete ]]; then
    echo "protocol-conformance: fetching the botocore $pin sdist into $dest"
    mkdir -p "$dest"
    tmp=$(mktemp -d "$dest/download.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # Any of the project's venvs has pip (scripts/ensure-deps.sh makes .deps/venv); Debian's
    # python3 may not.
    python=python3
    for candidate in .deps/venv/bin/python .deps/codegen-venv/bin/python; do
        if [[ -x $candidate ]]; then
            python=$candidate
            break
        fi
    done
    "$python" -m pip download --quiet --disable-pip-version-check --no-input \
        --no-binary :all: --no-deps "botocore==$pin" -d "$tmp"
    archive=$(find "$tmp" -maxdepth 1 -name "botocore-$pin.tar.gz" | head -n 1)
    [[ -n $archive ]] || {
        echo "error: pip did not download botocore-$pin.tar.gz" >&2
        exit 1
    }
    rm -rf "$dest/botocore-$pin"
    tar -xzf "$archive" -C "$dest" "botocore-$pin/tests/unit/protocols"
    touch "$suite/.complete"
fi

export WHARF_PROTOCOL_SUITE=$PWD/$suite
cargo test --quiet -p wharf-api --test protocol_conformance -- --nocapture
