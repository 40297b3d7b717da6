#!/usr/bin/env bash
# Runs ON THE GPU HOST from the repo root (published by scripts/gpu/publish_cli.sh): the engine end to end on CUDA.
#   story    stories260K greedy text on CUDA vs CPU
#   decode   Llama-3.1-8B shape (dummy bf16 weights), batch 1..256, 128 prompt / 128 output tokens, with the
#            bandwidth floor measured in the same run
#   offline  1,000 requests of 1,000 prompt / 1,000 output tokens through 256 slots (bf16 KV)
#   offline8 the same with the FP8 KV cache through 512 slots
#   decode8  the decode sweep with the FP8 KV cache
#   quant    the decode sweep with bf16, fp8, int8 and int4 projections (--quantization, quantized on the device on load)
#   quantmma int4, fp8 and int8 decode at batch 1, 8, 16, 32 with quant_gemv_mma.cu off (BRIM_QUANT_MMA=0) and on, bf16 first
#   long     8 requests of 32,000 prompt / 512 output tokens (--max-model-len 33000), bf16 and FP8 KV
#   attention  the decode-attention kernel sweep (batch x context, bf16 and FP8; needs the CUDA test executable)
#   prefillattn the prefill attention kernels (small-tile vs long-tile) at the 8B head shape: 8,192-row chunks at prior
#            context 0 / 8k / 24k (a 32k prompt) and short chunks, TFLOP/s against the GEMM peak, bf16 and FP8 KV (needs
#            the CUDA test executable)
#   quantk   quant_gemv GB/s at the 8B decode shapes by split and build, bf16 gemv beside it (needs the CUDA test executable)
#   lanes    decode at batch 256 and 512 after 1,024-token prompts (FP8 KV), FP8 and bf16 weights, one stream against two
#            half-batch lanes (BRIM_DECODE_LANES=0/1)
#   stages   a decode step's time by stage (norms, products, rope, attention, head) at batch x context 1x512 ... 512x1536,
#            bf16 then FP8 weights + KV, beside the attention, products and step floors (needs the CUDA test executable)
#   sampling device sampling at the 8B vocabulary: the radix kernel against the bisection one, 1/64/256 rows (needs the CUDA test executable)
#   overlap  one layer of a ~500-row decode step, FP8 KV, FP8 then bf16 weights: attention and products in turn vs two half-batches
#            crossed on two streams, cuBLASLt planned for all or fewer SMs (needs the CUDA test executable)
#   fp8gemm  prefill-sized FP8 products at the 8B shapes (rows 128…8192): bf16 cuBLAS vs dequantize + bf16 vs W8A8 on
#            cuBLASLt, TFLOP/s and ratios beside the bf16 GEMM ceiling (needs the CUDA test executable)
#   gemmtune bf16 decode products at the 8B shapes (qkv, o, gate_up, down, lm_head; rows 4…512): cublasGemmEx vs the
#            per-shape tuned choice (cuBLASLt where faster), µs, TFLOP/s, weight GB/s and % of the roofline beside the
#            measured ceilings (needs the CUDA test executable)
#   allreduce tensor parallelism's all-reduces per decode step on 2, 4, 8 GPUs (needs the CUDA test executable and NCCL)
#   tp       tensor-parallel decode sweeps, dummy weights: the 8B shape over 1, 2, 4, 8 GPUs and the 70B shape
#            (bench/configs/llama-3.1-70b) over 4 and 8, as many as the host has; then 1,000 x (1,000 / 1,000) on the 70B
#            shape over all of them
#   verify   speculative verify-step cost (k = 1…8) against plain decode at batch 1…64 on the 8B shape, break-even acceptance
#   spec     `brim bench spec` on the bundled model on CUDA: prompt lookup off / always / adaptive, and the draft-model arm
#            (the bundled model as its own draft, on CUDA beside the target: every greedy draft token accepted, the draft
#            as costly as the target; then its first 4 of 5 layers, a weaker and cheaper draft); first a greedy story with the
#            CUDA draft against the plain one
#   specserve `brim bench serve` on the bundled model on CUDA at rising request rates, each rate with speculation off then
#            on in the same run (requests opting out, then in), prompt lookup and then the draft model
#   drift    transformers references (hf_reference.py), Brim vs transformers (hf-compare) and the FP8 KV drift table
#   peer     the Hugging Face transformers peer (shared/bench/peer_hf.py) on the same card
#   report   `brim bench report` on the Llama-3.1-8B shape (Markdown + SVG under $OUT/report)
#   mixed    `brim bench mixed` on the bundled model: online-only vs offline-only vs unified backfill
#   mixed8b  `brim bench mixed` on the Llama-3.1-8B shape: poisson at 20 % with a TPOT-budget sweep (MIXED_TPOT_SWEEP:
#            step,1.1x,1.5x beside auto: the frontier) and the diurnal day peaking at MIXED_PEAK (0.6) of capacity; tables + SVGs in mixed8b.tar.gz
#   window8b the batch-collection window sweep (0/5/10/20 ms) on the 8B shape with bursty traffic, one process
#   mixedcpu the same on this host's CPU (16 cores, quiet), with the latency-aware offline cap (auto) and without
#   prefix   `brim bench prefix` on the Llama-3.1-8B shape: a 2,000-token shared system prompt and 4-turn chats, cache off vs on
#   rightsize `brim bench rightsize --device cuda`: the Llama-3.2-1B shape (small) and the Llama-3.1-8B shape (large),
#            dummy weights, as two engines on one GPU (one CUDA context, a stream each); large only vs small only vs
#            auto, and both flooded at once
#   serve    `brim serve --device cuda` smoke: a chat completion, /metrics and /v1/stats from the live server
# nvidia-smi's utilization is sampled throughout into smi.csv (to compare with Brim's own MBU/occupancy).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
work=/tmp/brim-cli; mkdir -p "$work"
if [ -n "${BRIM_CLI_DIR:-}" ]; then brim="$BRIM_CLI_DIR/brim"   # unpacked by scripts/gpu/publish_bundle.sh's run.sh
else tar -C "$work" -xJf "$here/brim.tar.xz"; brim="$work/brim/brim"; fi
export BRIM_KERNEL_CACHE="${BRIM_KERNEL_CACHE:-$work/kernel-cache}"
model=bench/configs/llama-3.1-8b
steps="${*:-story decode offline peer}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,power.draw,clocks.sm --format=csv -lms 500 > "$out/smi.csv" 2>&1 &
smi=$!
for step in $steps; do
  echo "=== $step $(date +%T)" | tee -a "$out/summary.md"
  case "$step" in
    story)
      timeout 120 "$brim" generate "Once upon a time" -t 0 -n 120 --device cuda --num-kv-blocks 64 > "$out/story_cuda.txt" 2> "$out/story_cuda.err"
      timeout 120 "$brim" generate "Once upon a time" -t 0 -n 120 --device cpu --num-kv-blocks 64 > "$out/story_cpu.txt" 2> "$out/story_cpu.err"
      if cmp -s "$out/story_cuda.txt" "$out/story_cpu.txt"; then echo "stories260K greedy: CUDA text == CPU text" | tee -a "$out/summary.md";
      else echo "stories260K greedy: CUDA and CPU texts DIFFER" | tee -a "$out/summary.md"; diff "$out/story_cuda.txt" "$out/story_cpu.txt" | head -5; tail -3 "$out/story_cuda.err"; fi ;;
    decode)
      timeout 240 "$brim" bench decode --device cuda --model $model --load-format dummy --max-num-batched-tokens 16384 2>&1 | tee "$out/decode.md" | grep -v '\[' | tee -a "$out/summary.md" ;;
    offline)
      timeout 300 "$brim" bench decode --device cuda --model $model --load-format dummy --batch-sizes 1 --prompt-len 1000 --output-len 1000 \
        --offline-requests 1000 --max-num-seqs 256 --max-num-batched-tokens 8192 2>&1 | tee "$out/offline.md" | grep -v '\[' | tee -a "$out/summary.md" ;;
    quant)
      for q in ${QUANT_FORMATS:-none fp8 int8 int4}; do
        timeout 200 "$brim" bench decode --device cuda --model $model --load-format dummy --max-num-batched-tokens 16384 --quantization $q \
          --batch-sizes ${QUANT_BATCHES:-1,2,4,8,16,32,64,256} 2>&1 | tee "$out/quant_$q.md" | grep -v '\[' | tee -a "$out/summary.md"
      done ;;
    quantmma)
      timeout 120 "$brim" bench decode --device cuda --model $model --load-format dummy --max-num-batched-tokens 16384 \
        --batch-sizes 1,8,16,32 2>&1 | tee "$out/quantmma_bf16.md" | grep -v '\[' | tee -a "$out/summary.md"
      for q in int4 fp8 int8; do
        for mma in 0 1; do
          BRIM_QUANT_MMA=$mma timeout 120 "$brim" bench decode --device cuda --model $model --load-format dummy --max-num-batched-tokens 16384 \
            --quantization $q --batch-sizes 1,8,16,32 2>&1 | tee "$out/quantmma_${q}_$mma.md" | grep -v '\[' | tee -a "$out/summary.md"
        done
      done ;;
    decode8)
      timeout 240 "$brim" bench decode --device cuda --model $model --load-format dummy --max-num-batched-tokens 16384 --kv-cache-dtype fp8 2>&1 | tee "$out/decode8.md" | grep -v '\[' | tee -a "$out/summary.md" ;;
    offline8)
      timeout 300 "$brim" bench decode --device cuda --model $model --load-format dummy --batch-sizes 1 --prompt-len 1000 --output-len 1000 \
        --offline-requests 1000 --max-num-seqs 512 --max-num-batched-tokens 8192 --kv-cache-dtype fp8 2>&1 | tee "$out/offline8.md" | grep -v '\[' | tee -a "$out/summary.md" ;;
    long)
      for dtype in auto fp8; do
        timeout 240 "$brim" bench decode --device cuda --model $model --load-format dummy --batch-sizes 1 --prompt-len 32000 --output-len 512 \
          --offline-requests 8 --max-num-seqs 8 --max-num-batched-tokens 8192 --max-model-len 33000 --kv-cache-dtype $dtype 2>&1 \
          | tee "$out/long_$dtype.md" | grep -v '\[' | tee -a "$out/summary.md"
      done ;;
    attention)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-attention 2>&1 | tee "$out/attention.md" | tee -a "$out/summary.md" ;;
    prefillattn)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-prefill-attention 2>&1 | tee "$out/prefill_attention.md" | tee -a "$out/summary.md" ;;
    quantk)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-quant 2>&1 | tee "$out/quant_kernels.md" | tee -a "$out/summary.md" ;;
    lanes)
      for q in fp8 none; do
        for lanes in 0 1; do
          BRIM_DECODE_LANES=$lanes timeout 150 "$brim" bench decode --device cuda --model $model --load-format dummy --quantization $q \
            --kv-cache-dtype fp8 --max-num-batched-tokens 16384 --batch-sizes 256,512 --prompt-len 1024 --output-len 128 2>&1 \
            | tee "$out/lanes_${q}_$lanes.md" | grep -v '\[' | tee -a "$out/summary.md"
        done
      done ;;
    stages)
      timeout 240 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-stages "$PWD/$model" 2>&1 | tee "$out/stages.md" | tee -a "$out/summary.md" ;;
    sampling)
      timeout 120 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-sampling 2>&1 | tee "$out/sampling.md" | tee -a "$out/summary.md" ;;
    overlap)
      timeout 200 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-overlap 2>&1 | tee "$out/overlap.md" | tee -a "$out/summary.md" ;;
    fp8gemm)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-fp8gemm 2>&1 | tee "$out/fp8gemm.md" | tee -a "$out/summary.md" ;;
    gemmtune)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-gemm 2>&1 | tee "$out/gemmtune.md" | tee -a "$out/summary.md" ;;
    tp)
      gpus=$(nvidia-smi -L | wc -l)
      for ranks in 1 2 4 8; do
        [ "$ranks" -le "$gpus" ] || continue
        timeout 300 "$brim" bench decode --device cuda --model $model --load-format dummy --max-num-batched-tokens 16384 \
          --tensor-parallel-size $ranks --batch-sizes 1,8,64,256 2>&1 | tee "$out/tp_8b_$ranks.md" | grep -v '\[' | tee -a "$out/summary.md"
      done
      for ranks in 4 8; do
        [ "$ranks" -le "$gpus" ] || continue
        timeout 600 "$brim" bench decode --device cuda --model bench/configs/llama-3.1-70b --load-format dummy --max-num-batched-tokens 16384 \
          --tensor-parallel-size $ranks --batch-sizes 1,8,64,256 2>&1 | tee "$out/tp_70b_$ranks.md" | grep -v '\[' | tee -a "$out/summary.md"
      done
      if [ "$gpus" -ge 4 ]; then
        ranks=$([ "$gpus" -ge 8 ] && echo 8 || echo 4)
        timeout 900 "$brim" bench decode --device cuda --model bench/configs/llama-3.1-70b --load-format dummy --batch-sizes 1 --prompt-len 1000 \
          --output-len 1000 --offline-requests 1000 --max-num-seqs 256 --max-num-batched-tokens 8192 --tensor-parallel-size $ranks 2>&1 \
          | tee "$out/tp_70b_offline.md" | grep -v '\[' | tee -a "$out/summary.md"
      fi ;;
    allreduce)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" bench-allreduce 2>&1 | tee "$out/allreduce.md" | tee -a "$out/summary.md" ;;
    verify)
      timeout 300 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" verify-cost 2>&1 | tee "$out/verify.md" | tee -a "$out/summary.md" ;;
    spec)
      draft='{"method":"draft_model","model":"models/stories260K","num_speculative_tokens":4,"policy":"always"}'
      timeout 120 "$brim" generate "Once upon a time" -t 0 -n 120 --device cuda --num-kv-blocks 64 > "$out/spec_story_plain.txt" 2> "$out/spec_story_plain.err"
      timeout 120 "$brim" generate "Once upon a time" -t 0 -n 120 --device cuda --num-kv-blocks 64 --speculative-config "$draft" > "$out/spec_story_draft.txt" 2> "$out/spec_story_draft.err"
      if cmp -s "$out/spec_story_plain.txt" "$out/spec_story_draft.txt"; then echo "stories260K greedy on CUDA: draft-model text == plain text" | tee -a "$out/summary.md";
      else echo "stories260K greedy on CUDA: draft-model and plain texts DIFFER" | tee -a "$out/summary.md"; diff "$out/spec_story_plain.txt" "$out/spec_story_draft.txt" | head -5; tail -3 "$out/spec_story_draft.err"; fi
      timeout 400 "$brim" bench spec --device cuda --repeats 3 --draft-model models/stories260K 2>&1 | grep -v '\[' | tee "$out/spec.md" | tee -a "$out/summary.md"
      # A weaker, cheaper draft: the model's first 4 of 5 layers (with its final norm and head).
      timeout 400 "$brim" bench spec --device cuda --repeats 3 --draft-model models/stories260K --draft-layers 4 2>&1 | grep -v '\[' | tee "$out/spec_truncated.md" | tee -a "$out/summary.md" ;;
    specserve)
      ngram='{"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4,"prompt_lookup_min":2}'
      draft='{"method":"draft_model","model":"models/stories260K","num_speculative_tokens":4}'
      for arm in ngram draft; do
        config=$([ $arm = ngram ] && echo "$ngram" || echo "$draft")
        timeout 280 "$brim" bench serve --device cuda -n ${SPECSERVE_REQUESTS:-256} --max-num-seqs 64 --max-concurrency 256 \
          --request-rates ${SPECSERVE_RATES:-8,32,128,inf} --speculative-config "$config" 2>&1 | grep -v '\[' | tee "$out/specserve_$arm.md" | tee -a "$out/summary.md"
      done ;;
    drift)
      PYTHONUNBUFFERED=1 timeout 200 python3 "$here/hf_reference.py" "$work/hf" 32 2>&1 | grep -v -i warn | tee "$out/hf_reference.log"
      timeout 120 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" hf-compare "$work/hf/llama" "$work/hf/qwen2" "$work/hf/llama128" 2>&1 | tee "$out/hf_compare.log" | tee -a "$out/summary.md"
      timeout 120 "$BRIM_CUDA_TESTS_DIR/Brim.Backends.Cuda.Tests" kv-drift "$work/hf/llama" "$work/hf/qwen2" "$work/hf/llama128" 2>&1 | tee "$out/kv_drift.md" | tee -a "$out/summary.md" ;;
    peer)
      PYTHONUNBUFFERED=1 timeout 300 python3 "$here/peer_hf.py" "$out" 2>&1 | grep -v -i warn | tee "$out/peer.log" | tail -3
      python3 -c "import json;r=json.load(open('$out/peer_hf.json'));print('HF static tok/s:',{k:round(v['out_tok_s'],1) for k,v in r.get('hf_static_generate',{}).items()});print('HF CB:',r.get('hf_cb',r.get('hf_cb_error')));print('copy TB/s',round(r['copy_TBps_rw'],3),'gemm TFLOP/s',round(r['bf16_gemm_TFLOPs']))" | tee -a "$out/summary.md" ;;
    report)
      timeout 400 "$brim" bench report --device cuda --model $model --load-format dummy --max-num-seqs 64 --max-num-batched-tokens 16384 \
        --out "$work/report" 2>&1 | grep -v '\[' | tee "$out/report.log" | tail -40
      tar -C "$work" -czf "$out/report.tar.gz" report ;;   # one file: the device tool returns at most 8
    prefix)
      timeout 480 "$brim" bench prefix --device cuda --model $model --load-format dummy --max-num-seqs 256 --max-num-batched-tokens 8192 \
        2>&1 | grep -v '\[' | tee "$out/prefix.md" | tee -a "$out/summary.md" ;;
    rightsize)
      # Llama-3.2-1B and Llama-3.1-8B shapes (dummy weights, numbered tokens) as two engines on one GPU. Random weights
      # are never confident: the cascade's bar of -100 lets nothing escalate (RIGHTSIZE_ROUTER="--no-cascade" routes by
      # the prompt-length rule alone); RIGHTSIZE_EXTRA=--small-first puts the small model on a high-priority stream.
      timeout 500 "$brim" bench rightsize --device cuda --model bench/configs/llama-3.2-1b --load-format dummy --large $model --large-load-format dummy \
        ${RIGHTSIZE_ROUTER:---threshold -100} ${RIGHTSIZE_EXTRA:-} --requests ${RIGHTSIZE_REQUESTS:-384} --output-len 128 --concurrency 64 --max-num-seqs 64 --out "$work/rightsize" 2>&1 \
        | grep -v '\[' | tee "$out/rightsize.md" | tee -a "$out/summary.md"
      tar -C "$work" -czf "$out/rightsize.tar.gz" rightsize ;;
    mixed)
      timeout 200 "$brim" bench mixed --device cuda --model models/stories260K --max-num-seqs 64 --num-kv-blocks 4096 --duration 8 2>&1 | grep -v '\[' | tee "$out/mixed.md" | tee -a "$out/summary.md" ;;
    mixed8b)
      # Poisson at 20 % of capacity with a TPOT-budget sweep (the frontier: auto, the earlier per-step rule, 1.1x and
      # 1.5x online-only p99), then the diurnal day with its peak at the knee (MIXED_PEAK of capacity) and the SVG of it;
      # the overload run only in the first. ~3 min of GPU time.
      timeout 240 "$brim" bench mixed --device cuda --model $model --load-format dummy --max-num-seqs 256 --max-num-batched-tokens 8192 \
        --duration ${MIXED_DURATION:-8} --traffic poisson --tpot-slo ${MIXED_TPOT_SWEEP:-step,1.1x,1.5x} --chart "$work/mixed8b_poisson.svg" \
        2>&1 | grep -v '\[' | tee "$out/mixed8b_poisson.md" | tee -a "$out/summary.md"
      timeout 240 "$brim" bench mixed --device cuda --model $model --load-format dummy --max-num-seqs 256 --max-num-batched-tokens 8192 \
        --duration ${MIXED_DIURNAL_DURATION:-14} --traffic diurnal --peak-share ${MIXED_PEAK:-0.6} --skip-overload --chart "$work/mixed8b_diurnal.svg" \
        2>&1 | grep -v '\[' | tee "$out/mixed8b_diurnal.md" | tee -a "$out/summary.md"
      cp "$out/mixed8b_poisson.md" "$out/mixed8b_diurnal.md" "$work/" 2>/dev/null
      tar -C "$work" -czf "$out/mixed8b.tar.gz" mixed8b_poisson.svg mixed8b_diurnal.svg mixed8b_poisson.md mixed8b_diurnal.md ;;   # one file: the device tool returns at most 8
    window8b)
      # The batch-collection window at 0/5/10/20 ms in one process (capacity and online-only measured once), bursty
      # traffic at 20 %, no overload run. ~1.2 min of GPU time.
      timeout 240 "$brim" bench mixed --device cuda --model $model --load-format dummy --max-num-seqs 256 --max-num-batched-tokens 8192 \
        --duration ${MIXED_DURATION:-8} --traffic bursty --window-ms 5 --window-sweep-ms 0,10,20 --skip-overload \
        2>&1 | grep -v '\[' | tee "$out/window8b.md" | tee -a "$out/summary.md" ;;
    mixedcpu)
      for budget in auto off; do
        timeout 200 "$brim" bench mixed --device cpu --max-num-seqs 32 --duration 8 --window-ms 5 --offline-reserve 0.1 \
          --num-kv-blocks 4096 --step-budget-ms $budget 2>&1 | grep -v '\[' | tee "$out/mixed_cpu_$budget.md" | tee -a "$out/summary.md"
      done ;;
    serve)
      "$brim" serve --device cuda --port 8123 --num-kv-blocks 1024 > "$out/serve.log" 2>&1 &
      srv=$!
      for i in $(seq 1 60); do curl -sf http://127.0.0.1:8123/ready >/dev/null && break; sleep 1; done
      curl -s http://127.0.0.1:8123/v1/chat/completions -H 'content-type: application/json' \
        -d '{"model":"stories260K","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":40,"temperature":0}' | tee "$out/serve_chat.json"; echo
      pids=""
      for i in $(seq 1 8); do
        curl -s -m 60 http://127.0.0.1:8123/v1/completions -H 'content-type: application/json' -d '{"model":"stories260K","prompt":"Once upon a time","max_tokens":200,"ignore_eos":true}' >/dev/null &
        pids="$pids $!"
      done
      wait $pids
      sleep 2
      curl -s http://127.0.0.1:8123/metrics > "$out/serve_metrics.txt"; grep -E "^brim:(mbu|mfu|gpu|kv_cache|generation_tokens)" "$out/serve_metrics.txt" | head -20 | tee -a "$out/summary.md"
      curl -s http://127.0.0.1:8123/v1/stats > "$out/serve_stats.json"; head -c 1500 "$out/serve_stats.json"; echo
      kill -TERM $srv; timeout 40 tail --pid=$srv -f /dev/null; kill -9 $srv 2>/dev/null ;;
  esac
done
kill $smi 2>/dev/null
echo; cat "$out/summary.md"
