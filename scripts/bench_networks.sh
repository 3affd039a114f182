#!/usr/bin/env bash
# Whole networks end to end (issues 10 and 11; BENCHMARKS.md): the binarized
# ResNet-18 and SqueezeNet at 224x224 and their float twins, on host and
# the x86-64 (AVX2) preset, 1 and 2 threads; against oneDNN; the memory plan; the time to
# compile each from .te to an object; cortex-a53 estimates; the profile of
# the 1-bit ResNet-18.
# Run it on an idle machine: timings of a shared one mean little.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o /tmp/tide-bench ./cmd/tide
tide=/tmp/tide-bench
grep -m1 'model name' /proc/cpuinfo
for net in resnet18 squeezenet resnet18_float squeezenet_float; do
    for target in host x86-64; do
        $tide bench examples/networks/$net.te --target $target --threads 1,2 --repeat "${REPEAT:-20}" 2>/dev/null | grep -v '^(bench'
    done
done
# against the float twins, compiled by Tide and run by oneDNN, in one run
# (--fast-math: FMA in Tide's float layers, as oneDNN's)
for net in resnet18 squeezenet; do
    for target in host x86-64; do
        $tide bench examples/networks/$net.te --target $target --threads 1,2 --fast-math --vs onednn,tide-float --repeat "${REPEAT:-20}" 2>/dev/null | grep -v '^(bench'
    done
done
for net in resnet18 squeezenet resnet18_float squeezenet_float; do
    $tide lower examples/networks/$net.te --target host --stats 2>/dev/null | grep -E '^(network|workspace|weights):'
    TIMEFORMAT="compile $net (.te to object, host): %R s"
    time $tide build examples/networks/$net.te --target host -o /tmp/$net.ll --obj /tmp/$net.o >/dev/null 2>&1
done
for net in resnet18 squeezenet resnet18_float squeezenet_float; do
    $tide bench examples/networks/$net.te --target cortex-a53 2>/dev/null | tail -1   # an estimate
done
OMP_NUM_THREADS=1 $tide bench examples/networks/resnet18.te --target host --threads 1 --profile --repeat "${REPEAT:-20}" 2>/dev/null | grep -v '^(bench'
