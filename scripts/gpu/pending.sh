#!/usr/bin/env bash
# Runs ON THE GPU HOST from the repo root, with .gpu/bundle carried (scripts/gpu/publish_bundle.sh first): the checks and
# first measurements of GPU code that has not yet run on a GPU, in the order they matter, within $BUDGET seconds (540):
#   1. the tests of that code (quant_gemv_mma on by default from two rows with its new split rule; the corrected int8 and
#      AWQ tensor-parallel test cases; radix sampling as the default) — failures in $OUT/fails.txt
#   2. bench-sampling (radix vs bisection) and bench-stages (the step with radix sampling as served)
#   3. int4/fp8/int8 decode at batch 1, 2, 4, 8, 16, 32 with the defaults, int4 with BRIM_QUANT_MMA=0 and bf16 beside
#   4. bench mixed on the 8B shape (poisson at 20 %, 10 s runs: the learned budget needs 32 finished requests): the printed backfill ceiling beside the TPOT-budget frontier
#   5. the whole CUDA suite with what is left
# Everything lands under $OUT (all.tgz holds the whole work folder).
set -u
start=$(date +%s)
left() { echo $(( ${BUDGET:-540} - ($(date +%s) - start) )); }
final=$OUT; work=/tmp/pending; mkdir -p $work; export OUT=$work
b=.gpu/bundle
C=Brim.Backends.Cuda.Tests
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $work/gpu.txt
timeout 150 bash $b/run.sh tests -class $C.Kernels.SamplingKernelTests -class $C.Kernels.QuantGemvKernelTests -class $C.QuantizedModelTests \
  -class $C.TensorParallel.TensorParallelCudaTests -class $C.Execution.StageClockTests > $work/tests_tail.txt 2>&1
mv $work/tests.log $work/tests_targeted.log
grep -B2 -A30 "\[FAIL\]" $work/tests_targeted.log | head -300 > $work/fails.txt
echo "tests done at $(( $(date +%s) - start ))s fails=$(grep -c '\[FAIL\]' $work/tests_targeted.log)" | tee -a $work/progress.txt
timeout 60 bash $b/run.sh bench sampling > /dev/null 2>&1
timeout 100 bash $b/run.sh bench stages > /dev/null 2>&1
echo "sampling, stages done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
brim=/tmp/brim-bundle/brim/brim; export BRIM_KERNEL_CACHE=/tmp/brim-bundle/kernel-cache
m=bench/configs/llama-3.1-8b
run() { # name, env, quantization
  t=$(left); [ $t -gt 40 ] || return
  env $2 timeout $(( t < 60 ? t-5 : 55 )) $brim bench decode --device cuda --model $m --load-format dummy --max-num-batched-tokens 16384 \
    --quantization $3 --batch-sizes 1,2,4,8,16,32 2>&1 | grep -v '^\[' > $work/decode_$1.md
  echo "$1 done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
}
run bf16 BRIM_QUANT_MMA=1 none
run int4 BRIM_QUANT_MMA=1 int4
run int4_cores BRIM_QUANT_MMA=0 int4
run fp8 BRIM_QUANT_MMA=1 fp8
run int8 BRIM_QUANT_MMA=1 int8
t=$(left); [ $t -gt 300 ] && MIXED_DURATION=10 timeout 260 bash $b/run.sh bench mixed8b > /dev/null 2>&1
echo "mixed8b done at $(( $(date +%s) - start ))s" | tee -a $work/progress.txt
t=$(left); [ $t -gt 60 ] && timeout $(( t - 10 )) bash $b/run.sh tests > /dev/null 2>&1
grep -B2 -A30 "\[FAIL\]" $work/tests.log 2>/dev/null | head -300 > $work/fails_suite.txt
grep "TEST EXECUTION SUMMARY" -A2 $work/tests.log 2>/dev/null | tee -a $work/progress.txt
cp $work/*.txt $work/*.md $final/ 2>/dev/null
tar -C $work -czf $final/all.tgz . 2>/dev/null
