#!/usr/bin/env bash
# Runs ON THE GPU HOST from the main checkout's root (published by scripts/gpu/publish.sh): kernel and backend tests,
# the Hugging Face comparison, the kernel and decode benchmarks. Logs and a results table go to $OUT (or ./gpu-out).
#   bash .gpu/cuda/gpu_host.sh [tests] [hf] [kernels] [decode]      (default: all four)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
work=/tmp/brim-cuda; mkdir -p "$work"
tar -C "$work" -xJf "$here/cuda-tests.tar.xz"
exe="$work/cuda-tests/Brim.Backends.Cuda.Tests"
export BRIM_KERNEL_CACHE="$work/kernel-cache"
steps="${*:-tests hf kernels decode}"
results="$out/results.md"
{ echo "# Brim CUDA results"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; } > "$results"

for step in $steps; do
  case "$step" in
    tests)
      echo "## tests" | tee -a "$results"
      timeout 240 "$exe" -noColor -parallel none 2>&1 | tee "$out/tests.log" | tail -40
      grep -E "Total:|Failed:|\[FAIL\]" "$out/tests.log" | tail -20 >> "$results" ;;
    hf)
      echo "## Hugging Face comparison" | tee -a "$results"
      PYTHONUNBUFFERED=1 timeout 150 python3 "$here/hf_reference.py" "$work/hf" 32 2>&1 | tee "$out/hf_reference.log" | grep -v Warning
      timeout 120 "$exe" hf-compare "$work/hf/llama" "$work/hf/qwen2" 2>&1 | tee "$out/hf_compare.log" | tee -a "$results" ;;
    kernels)
      echo "## kernels" | tee -a "$results"
      timeout 120 "$exe" bench-kernels 2>&1 | tee "$out/bench_kernels.log" | tee -a "$results" ;;
    decode)
      echo "## decode" | tee -a "$results"
      timeout 300 "$exe" bench-decode graphs 1 4 8 16 32 64 128 256 2>&1 | tee "$out/bench_decode.log" | tee -a "$results" ;;
  esac
done
echo; echo "===== results ====="; cat "$results"
