#!/usr/bin/env bash
# The ResNet-18 3x3 layers (batch 1, NHWC, stride 1, padding 1) as binarized
# convolutions (examples/bitserial_conv2d.te), against float convolutions of
# the same shapes in the same run: Tide's own conv2d, OpenBLAS im2col+sgemm
# and oneDNN. Usage: scripts/bench_resnet.sh [TARGET...] (default x86-64 host).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86-64 host)
go build -o /tmp/tide-bench ./cmd/tide
for target in "${targets[@]}"; do
    for layer in "56 64" "28 128" "14 256" "7 512"; do
        set -- $layer
        for bits in 1 2; do
            echo "== $target, ${1}x${1} $2->$2, $bits-bit activations, 1-bit weights (bipolar)"
            /tmp/tide-bench bench examples/bitserial_conv2d.te -D H=$1 -D W=$1 -D C=$2 -D O=$2 -D A=$bits \
                --target "$target" --threads 1,2 --repeat 20 --vs tide,openblas,onednn
        done
    done
done
