#!/usr/bin/env python3
"""Builds small random Llama (GQA, llama3 rope scaling, untied; head_dim 32 and 128) and Qwen2 (q/k/v biases, tied)
models with transformers, saves them as bf16 safetensors + config.json, and writes reference greedy tokens and
per-step logits computed in float32 from the same bf16 weights, plus the same steps computed by transformers in bf16
(teacher-forced on the float32 tokens): the bf16-vs-fp32 drift of transformers itself, the noise floor against which
a quantized KV cache's drift is judged.

Usage: hf_reference.py OUT_DIR [STEPS]
Writes OUT_DIR/{llama,qwen2,llama128}/model/{config.json,model.safetensors}, reference.json (prompts, greedy tokens),
logits.f32 and logits_bf16.f32 (float32 [steps][prompts][vocab]: step s holds the logits that choose generated token s).
"""
import copy
import json
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

PROMPT_LENGTHS = [7, 19, 3, 33]


def build(kind):
    common = dict(vocab_size=1000, hidden_size=256, intermediate_size=512, num_hidden_layers=3,
                  num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=2048,
                  initializer_range=0.05, bos_token_id=1, eos_token_id=2)
    if kind == "llama128":
        # head_dim 128 with GQA 4:2: the shape of the decode-attention kernel Brim runs for Llama-3-8B-like models.
        config = LlamaConfig(**dict(common, hidden_size=512, num_attention_heads=4), head_dim=128, rms_norm_eps=1e-5,
                             tie_word_embeddings=False, rope_theta=500000.0)
        model = LlamaForCausalLM(config)
    elif kind == "llama":
        config = LlamaConfig(**common, head_dim=32, rms_norm_eps=1e-5, tie_word_embeddings=False,
                             rope_theta=500000.0,
                             rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                           "high_freq_factor": 4.0, "original_max_position_embeddings": 64})
        model = LlamaForCausalLM(config)
    else:
        config = Qwen2Config(**common, rms_norm_eps=1e-6, tie_word_embeddings=True, rope_theta=1000000.0)
        model = Qwen2ForCausalLM(config)
    with torch.no_grad():
        # Norm weights start at one and biases at zero: randomize them so a wrong use of either shows.
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * (torch.rand_like(p) * 2 - 1))
            elif name.endswith("bias"):
                p.copy_(0.3 * torch.randn_like(p))
    return model.to(torch.bfloat16)


def greedy(model, prompt, steps):
    logits_per_step, tokens = [], []
    with torch.no_grad():
        out = model(torch.tensor([prompt]), use_cache=True)
        for step in range(steps):
            logits = out.logits[0, -1].float()
            token = int(torch.argmax(logits))
            logits_per_step.append(logits.cpu())
            tokens.append(token)
            if step + 1 < steps:
                out = model(torch.tensor([[token]]), past_key_values=out.past_key_values, use_cache=True)
    return tokens, logits_per_step


def main():
    out_dir = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    for kind, seed in (("llama", 1), ("qwen2", 2), ("llama128", 3)):
        torch.manual_seed(seed)
        model = build(kind)
        directory = os.path.join(out_dir, kind)
        model.save_pretrained(os.path.join(directory, "model"), safe_serialization=True)
        bf16_model = model.eval()
        reference = copy.deepcopy(model).float().eval()  # the bf16 values, computed in float32
        generator = torch.Generator().manual_seed(100 + seed)
        prompts = [torch.randint(3, 1000, (n,), generator=generator).tolist() for n in PROMPT_LENGTHS]
        tokens, logits = [], []
        for prompt in prompts:
            t, l = greedy(reference, prompt, steps)
            tokens.append(t)
            logits.append(l)
        stacked = torch.stack([torch.stack([logits[s][i] for s in range(len(prompts))]) for i in range(steps)])
        stacked.numpy().astype("<f4").tofile(os.path.join(directory, "logits.f32"))
        with torch.no_grad():
            bf16_rows = []
            for prompt, t in zip(prompts, tokens):
                out = bf16_model(torch.tensor([prompt + t[:-1]])).logits[0, len(prompt) - 1:].float().cpu()
                bf16_rows.append(out)
        torch.stack([torch.stack([bf16_rows[s][i] for s in range(len(prompts))]) for i in range(steps)]) \
            .numpy().astype("<f4").tofile(os.path.join(directory, "logits_bf16.f32"))
        top2 = torch.topk(stacked, 2, dim=-1).values
        margin = float((top2[..., 0] - top2[..., 1]).min())
        with open(os.path.join(directory, "reference.json"), "w") as f:
            json.dump({"prompts": prompts, "tokens": tokens, "min_top2_margin": margin}, f)
        print(f"{kind}: {len(prompts)} prompts, {steps} steps, smallest top-1/top-2 logit margin {margin:.4f}")


if __name__ == "__main__":
    main()
