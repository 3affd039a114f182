#!/usr/bin/env bash
# The project's test command (README): installs what the tests need when it
# is missing, then runs every test. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# Debian packages the tests need, as "command-or-file:package" pairs (a
# file is checked when the package has no command of its own).
NEEDED=(
    "clang:clang"
    "gcc:gcc"
    "qemu-aarch64:qemu-user"
    "aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu"
    "/usr/aarch64-linux-gnu/include/stdio.h:libc6-dev-arm64-cross"
    "/usr/include/x86_64-linux-gnu/cblas.h:libopenblas-dev"
    "/usr/include/dnnl.h:libdnnl-dev"
    "llvm-mca:llvm"
    "chromium:chromium"
)
missing=()
for pair in "${NEEDED[@]}"; do
    what="${pair%%:*}"
    if [[ "$what" == /* ]]; then
        [ -e "$what" ] || missing+=("${pair#*:}")
    else
        command -v "$what" >/dev/null 2>&1 || missing+=("${pair#*:}")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

go version
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
    echo "gofmt would change: $unformatted" >&2
    exit 1
fi
go vet ./...
# Code generation tests run on both targets here: a missing tool is a
# failure, not a skip (a plain go test elsewhere skips with the package name).
export TIDE_REQUIRE_TOOLS=1
go test -count=1 -timeout 20m ./...
