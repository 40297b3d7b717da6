#!/usr/bin/env bash
# Run HERE (no GPU needed): publishes the self-contained CUDA test executable (xunit tests + harness modes) and the
# GPU-host scripts into the main checkout's .gpu/ folder, which the device tool carries (`carry: [".gpu"]`).
#   scripts/gpu/publish.sh [MAIN_CHECKOUT]      (default /work/main)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
main="${1:-/work/main}"
dest="$main/.gpu/cuda"
rm -rf "$dest" && mkdir -p "$dest"
dotnet publish "$repo/tests/Brim.Backends.Cuda.Tests" -c Release -r linux-x64 --self-contained \
  -p:PublishTrimmed=false -o "$repo/artifacts/cuda-tests" -v quiet -nologo
# Compressed: the whole carried tree must stay under 64 MiB.
XZ_OPT="-T2 -3" tar -C "$repo/artifacts" -cJf "$dest/cuda-tests.tar.xz" cuda-tests
cp "$repo/scripts/gpu/hf_reference.py" "$repo/scripts/gpu/gpu_host.sh" "$dest/"
du -sh "$dest"/*
echo "now run on the device (from $main):  bash .gpu/cuda/gpu_host.sh   with carry [\".gpu\"]"
