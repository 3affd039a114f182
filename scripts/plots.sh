#!/usr/bin/env bash
# The README's charts (docs/*.svg): the speedup of both binarized networks
# (1 and 2 bits, bipolar and unipolar) over the same networks in float, by
# Tide and by oneDNN; Riptide's ablation of both networks against their
# float twins; and where the 1-bit ResNet-18's time goes.
# Run it on an idle machine; it takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o /tmp/tide-plots ./cmd/tide
tide=/tmp/tide-plots
mkdir -p docs
# one thread, FMA allowed in Tide's float code (oneDNN uses FMA)
$tide bench examples/networks/resnet18.te --target host --threads 1 --fast-math --speedups --repeat 10 --plot docs/speedup_resnet18.svg 2>/dev/null
$tide bench examples/networks/squeezenet.te --target host --threads 1 --fast-math --speedups --repeat 10 --plot docs/speedup_squeezenet.svg 2>/dev/null
$tide bench examples/networks/resnet18.te --target host --ablation --repeat 10 --plot docs/ablation_resnet18.svg 2>/dev/null
$tide bench examples/networks/squeezenet.te -D POLARITY=unipolar --target host --ablation --repeat 10 --plot docs/ablation_squeezenet.svg 2>/dev/null
OMP_NUM_THREADS=1 $tide bench examples/networks/resnet18.te --target host --threads 1 --profile --repeat 10 --plot docs/profile_resnet18.svg 2>/dev/null | tail -2
