#!/usr/bin/env bash
# Runs ON THE GPU HOST from the repo root (published by scripts/gpu/publish_cli.sh): the engine end to end on CUDA.
#   story    stories260K greedy text on CUDA vs CPU
#   decode   Llama-3.1-8B shape (dummy bf16 weights), batch 1..256, 128 prompt / 128 output tokens, with the
#            bandwidth floor measured in the same run
#   offline  1,000 requests of 1,000 prompt / 1,000 output tokens through 256 slots
#   peer     the Hugging Face transformers peer (shared/bench/peer_hf.py) on the same card
# nvidia-smi's utilization is sampled throughout into smi.csv (to compare with Brim's own MBU/occupancy).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
work=/tmp/brim-cli; mkdir -p "$work"
tar -C "$work" -xJf "$here/brim.tar.xz"
brim="$work/brim/brim"
export BRIM_KERNEL_CACHE="$work/kernel-cache"
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
    peer)
      PYTHONUNBUFFERED=1 timeout 300 python3 "$here/peer_hf.py" "$out" 2>&1 | grep -v -i warn | tee "$out/peer.log" | tail -3
      python3 -c "import json;r=json.load(open('$out/peer_hf.json'));print('HF static tok/s:',{k:round(v['out_tok_s'],1) for k,v in r.get('hf_static_generate',{}).items()});print('HF CB:',r.get('hf_cb',r.get('hf_cb_error')));print('copy TB/s',round(r['copy_TBps_rw'],3),'gemm TFLOP/s',round(r['bf16_gemm_TFLOPs']))" | tee -a "$out/summary.md" ;;
  esac
done
kill $smi 2>/dev/null
echo; cat "$out/summary.md"
