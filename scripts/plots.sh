#!/usr/bin/env bash
# The README's charts (docs/*.svg): Riptide's ablation of both networks
# against their float twins, and where the 1-bit ResNet-18's time goes.
# Run it on an idle machine; it takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go build -o /tmp/tide-plots ./cmd/tide
tide=/tmp/tide-plots
mkdir -p docs
$tide bench examples/networks/resnet18.te --target host --ablation --repeat 10 --plot docs/ablation_resnet18.svg 2>/dev/null
$tide bench examples/networks/squeezenet.te -D POLARITY=unipolar --target host --ablation --repeat 10 --plot docs/ablation_squeezenet.svg 2>/dev/null
OMP_NUM_THREADS=1 $tide bench examples/networks/resnet18.te --target host --threads 1 --profile --repeat 10 --plot docs/profile_resnet18.svg 2>/dev/null | tail -2
