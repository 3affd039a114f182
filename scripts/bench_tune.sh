#!/usr/bin/env bash
# Tuning (issue 14; BENCHMARKS.md "Tuning"): tide tune on the matmul
# example at four sizes, a ResNet-18 binary layer and the 1-bit ResNet-18,
# then each tuned result timed against its baselines in one bench run
# (--tuned applies the log). Logs go to $OUT (default /tmp/tide-tune).
# Run it on an idle machine: timings of a shared one mean little.
# Debian's OpenBLAS 0.3.21 may not know the CPU and fall back to its SSE3
# kernels (openblas_get_corename() says Prescott); give it the right ones,
# e.g. OPENBLAS_CORETYPE=SkylakeX on an AVX-512 Intel, before comparing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o /tmp/tide-bench ./cmd/tide
tide=/tmp/tide-bench
out=${OUT:-/tmp/tide-tune}
trials=${TRIALS:-24}
mkdir -p "$out"
grep -m1 'model name' /proc/cpuinfo
timed() { # label, command...: the command, and how long it took
    local label=$1; shift
    local t0=$SECONDS
    "$@"
    echo "($label took $((SECONDS - t0)) s)"
}
# matmul, 1 thread, against OpenBLAS and oneDNN's sgemm
for n in 256 512 1024 2048; do
    d=(-D M=$n -D N=$n -D K=$n)
    timed "tuning matmul $n" $tide tune examples/matmul.te "${d[@]}" --target host --threads 1 --trials "$trials" --log "$out/matmul.jsonl" | tail -2
    $tide bench examples/matmul.te "${d[@]}" --target host --threads 1 --repeat 20 --vs openblas,onednn --tuned "$out/matmul.jsonl" 2>&1 | grep -v '^--tuned'
done
# a ResNet-18 binary layer (56x56x64 3x3), host and x86-64, against the
# hand-written references and oneDNN's float convolution of its shape
layer=(-D H=56 -D W=56 -D C=64 -D O=64)
for target in host x86-64; do
    timed "tuning the layer on $target" $tide tune examples/bitserial_conv2d.te "${layer[@]}" --target $target --threads 1 --trials "$trials" --log "$out/layer.jsonl" | tail -2
    $tide bench examples/bitserial_conv2d.te "${layer[@]}" --target $target --threads 1,2 --repeat 20 --vs xnor-avx2,xnor-avx512,onednn --tuned "$out/layer.jsonl" 2>&1 | grep -v '^--tuned'
done
$tide tune examples/bitserial_conv2d.te "${layer[@]}" --target cortex-a53 --trials "$trials" --log "$out/layer.jsonl" | tail -3
$tide bench examples/bitserial_conv2d.te "${layer[@]}" --target cortex-a53 --tuned "$out/layer.jsonl" 2>&1 | grep -v '^--tuned'
# the whole 1-bit ResNet-18, 1 thread, every group at once
timed "tuning resnet18" $tide tune examples/networks/resnet18.te --target host --threads 1 --fast-math --trials "${NET_TRIALS:-12}" --log "$out/resnet18.jsonl" | tail -3
$tide bench examples/networks/resnet18.te --target host --threads 1,2 --fast-math --repeat 20 --vs onednn,tide-float --tuned "$out/resnet18.jsonl" 2>&1 | grep -v '^(bench\|^--tuned'
