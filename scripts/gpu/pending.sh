#!/usr/bin/env bash
# Runs ON THE GPU HOST from the repo root, with .gpu/bundle carried (scripts/gpu/publish_bundle.sh first): the checks and
# first measurements of GPU code that has not yet run on a GPU, in the order they matter, within $BUDGET seconds (540):
#   1. the tests of that code (tensor-core quantized gemv incl. int8, the FP8 row quantizer, tensor parallelism at TP=1,
#      NCCL, the vocabulary gather, the saved GEMM tuning, decode lanes) — failures in $OUT/fails.txt
#   2. bench-stages (a decode step's time by stage at 1 x 512 ... 512 x 1,536), bench-sampling (radix vs bisection), bench-quant (quant_gemv on tensor cores
#      against CUDA cores, kernel by kernel), then bench-overlap (does a large decode step gain from two crossed half-batches?)
#   3. decode lanes off/on at batch 512 (FP8 weights and KV, 1,024-token prompts)
#   4. int4/fp8/int8 decode at batch 1, 8, 32 with quant_gemv_mma.cu on and off, bf16 beside
# Everything lands under $OUT (all.tgz holds the whole work folder).
set -u
start=$(date +%s)
left() { echo $(( ${BUDGET:-540} - ($(date +%s) - start) )); }
final=$OUT; work=/tmp/pending; mkdir -p $work; export OUT=$work
b=.gpu/bundle
C=Brim.Backends.Cuda.Tests
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $work/gpu.txt
timeout 180 bash $b/run.sh tests -class $C.Kernels.QuantGemvKernelTests -class $C.QuantizedModelTests -class $C.Kernels.QuantizeKernelTests \
  -class $C.Kernels.Fp8GemmTests -class $C.TensorParallel.TensorParallelCudaTests -class $C.TensorParallel.NcclGroupTests \
  -class $C.Kernels.VocabGatherKernelTests -class $C.Kernels.RowKernelTests -class $C.Kernels.KernelCompilationTests \
  -class $C.Execution.GemmTuningBackendTests -class $C.Execution.DecodeLanesTests -class $C.Execution.StageClockTests -class $C.Kernels.SamplingKernelTests > $work/tests_tail.txt 2>&1
grep -B2 -A30 "\[FAIL\]" $work/tests.log | head -300 > $work/fails.txt
echo "tests done at $(( $(date +%s) - start ))s fails=$(grep -c '\[FAIL\]' $work/tests.log)" | tee -a $work/progress.txt
timeout 150 bash $b/run.sh bench stages > /dev/null 2>&1
echo "stages done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
timeout 60 bash $b/run.sh bench sampling > /dev/null 2>&1
timeout 120 bash $b/run.sh bench quantk > /dev/null 2>&1
echo "quantk done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
timeout 90 bash $b/run.sh bench overlap > /dev/null 2>&1
echo "overlap done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
brim=/tmp/brim-bundle/brim/brim; export BRIM_KERNEL_CACHE=/tmp/brim-bundle/kernel-cache
m=bench/configs/llama-3.1-8b
lanes() { # quantization, lanes
  t=$(left); [ $t -gt 50 ] || return
  BRIM_DECODE_LANES=$2 timeout $(( t < 80 ? t-5 : 75 )) $brim bench decode --device cuda --model $m --load-format dummy --quantization $1 \
    --kv-cache-dtype fp8 --max-num-batched-tokens 16384 --batch-sizes 512 --prompt-len 1024 --output-len 128 2>&1 | grep -v '^\[' > $work/lanes_$1_$2.md
  echo "lanes $1 $2 done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
}
lanes fp8 0
lanes fp8 1
run() { # name, env, quantization
  t=$(left); [ $t -gt 50 ] || return
  env $2 timeout $(( t < 75 ? t-5 : 70 )) $brim bench decode --device cuda --model $m --load-format dummy --max-num-batched-tokens 16384 \
    --quantization $3 --batch-sizes 1,8,32 2>&1 | grep -v '^\[' > $work/decode_$1.md
  echo "$1 done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
}
run int4_mma BRIM_QUANT_MMA=1 int4
run int4_cores BRIM_QUANT_MMA=0 int4
run fp8_mma BRIM_QUANT_MMA=1 fp8
run int8_mma BRIM_QUANT_MMA=1 int8
run bf16 BRIM_QUANT_MMA=0 none
cp $work/*.txt $work/*.md $final/ 2>/dev/null
tar -C $work -czf $final/all.tgz . 2>/dev/null
