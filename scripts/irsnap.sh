#!/usr/bin/env bash
# The loop IR of every example and of the networks (several variants), on
# x86-64, cortex-a53 and host, one file per program, written by the tide
# binary given. A refactoring that must not change the generated code is
# checked by snapshotting before and after and comparing:
#
#   go build -o /tmp/tide-old ./cmd/tide   # before the change
#   go build -o /tmp/tide-new ./cmd/tide   # after it
#   scripts/irsnap.sh /tmp/tide-old /tmp/ir-old
#   scripts/irsnap.sh /tmp/tide-new /tmp/ir-new && diff -r /tmp/ir-old /tmp/ir-new
set -uo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 TIDE_BINARY OUTDIR" >&2
    exit 2
fi
bin=$(realpath "$1"); out=$2
mkdir -p "$out"; out=$(realpath "$out")
cd "$(dirname "$0")/.."
i=0
for target in x86-64 cortex-a53 host; do
    for args in "examples/networks/resnet18.te -D IMAGE=32" \
        "examples/networks/resnet18.te -D IMAGE=32 -D BITS=2 -D POLARITY=unipolar" \
        "examples/networks/squeezenet.te -D IMAGE=32" \
        "examples/networks/squeezenet_float.te -D IMAGE=32" \
        "examples/networks/resnet18_float.te -D IMAGE=32" \
        "examples/networks/binary_tiny.te" \
        "examples/networks/resnet18.te -D IMAGE=32 --without tiling,vectorize" \
        examples/*.te; do
        i=$((i + 1))
        # shellcheck disable=SC2086 # args holds several words
        "$bin" lower $args --target "$target" > "$out/$i-$target.txt" 2>&1
    done
done
echo "wrote $i listings to $out"
