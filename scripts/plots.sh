#!/usr/bin/env bash
# The README's charts (docs/*.svg): the speedup of both binarized networks
# (1 and 2 bits, bipolar and unipolar) over the same networks in float, by
# Tide and by oneDNN; Riptide's ablation of both networks against their
# float twins; and where the 1-bit ResNet-18's time goes. The same speedups
# and SqueezeNet's ablation on cortex-a53 are llvm-mca estimates (the same
# on any machine: --a53 draws only those).
# Run it on an idle machine; it takes a few minutes (the estimates ten).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o /tmp/tide-plots ./cmd/tide
tide=/tmp/tide-plots
mkdir -p docs
# cortex-a53 estimates: a Pi's 4 cores sharing the parallel loops ideally
$tide bench examples/networks/squeezenet.te -D POLARITY=unipolar --target cortex-a53 --fast-math --ablation --plot docs/ablation_squeezenet_a53.svg >/dev/null 2>&1
$tide bench examples/networks/squeezenet.te --target cortex-a53 --fast-math --speedups --plot docs/speedup_squeezenet_a53.svg >/dev/null 2>&1
$tide bench examples/networks/resnet18.te --target cortex-a53 --fast-math --speedups --plot docs/speedup_resnet18_a53.svg >/dev/null 2>&1
if [ "${1:-}" = "--a53" ]; then
    exit 0
fi
# one thread, FMA allowed in Tide's float code (oneDNN uses FMA)
$tide bench examples/networks/resnet18.te --target host --threads 1 --fast-math --speedups --repeat 10 --plot docs/speedup_resnet18.svg 2>/dev/null
$tide bench examples/networks/squeezenet.te --target host --threads 1 --fast-math --speedups --repeat 10 --plot docs/speedup_squeezenet.svg 2>/dev/null
$tide bench examples/networks/resnet18.te --target host --ablation --repeat 10 --plot docs/ablation_resnet18.svg 2>/dev/null
$tide bench examples/networks/squeezenet.te -D POLARITY=unipolar --target host --ablation --repeat 10 --plot docs/ablation_squeezenet.svg 2>/dev/null
OMP_NUM_THREADS=1 $tide bench examples/networks/resnet18.te --target host --threads 1 --profile --repeat 10 --plot docs/profile_resnet18.svg 2>/dev/null | tail -2
