"""Write greedy-decoding reference fixtures for @sea/opt with Hugging Face transformers `generate`.

Two small random-initialised OPT models (a fixed seed; every parameter randomised, LayerNorms and
biases included) are saved with save_pretrained (safetensors + config.json) and decoded greedily in
float32 on the CPU with eager attention and the KV cache: a short and a several-hundred-token prompt,
48 new tokens each, EOS disabled so every run makes all 48. Written next to the models:

- `generate.json`: per model and prompt, the prompt ids, the 48 generated ids, and the smallest gap
  between the best and second-best logit over the 48 steps (a gap near float32 rounding would make
  an exact-token test fragile; the test reports it), plus the library versions.

Models:
- `opt-gen-preln`: pre-LN, hidden 64, 4 heads, 2 layers, ffn 128, vocab 512, 512 positions, relu, tied head.
- `opt-gen-postln-proj`: post-LN, word_embed_proj_dim 40 != hidden 64 (project_in/out), gelu, untied head.

Usage (CPU is enough; the GPU machine has torch and transformers):
  PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES= python3 make_generate_fixtures.py --out OUT_DIR
then unpack OUT_DIR/generate_fixtures.tgz into packages/opt/test/fixtures/.
"""

import argparse
import json
import os
import tarfile

import torch
import transformers
from transformers import OPTConfig, OPTForCausalLM

SEED = 20261203
NEW_TOKENS = 48


def perturb_(model, seed, embed_std=0.5, gain=1.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            lname = name.lower()
            if "layer_norm" in lname and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.05 * noise)
            elif "embed" in lname:
                p.copy_(embed_std * noise)
            elif p.dim() > 1:
                p.copy_(gain * noise * (1.0 / p.shape[-1]) ** 0.5)
            else:
                p.copy_(0.1 * noise)


def build(name, embed_std=0.5, gain=1.0, **kw):
    config = OPTConfig(
        vocab_size=512,
        hidden_size=64,
        num_hidden_layers=2,
        ffn_dim=128,
        num_attention_heads=4,
        max_position_embeddings=512,
        dropout=0.0,
        attention_dropout=0.0,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=2,
        **kw,
    )
    config._attn_implementation = "eager"
    model = OPTForCausalLM(config)
    try:
        model.set_attn_implementation("eager")
    except Exception:
        pass
    perturb_(model, SEED + len(name), embed_std, gain)
    model.eval()
    return model


def greedy(model, ids):
    inp = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        out = model.generate(
            inp,
            attention_mask=torch.ones_like(inp),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            num_beams=1,
            use_cache=True,
            eos_token_id=None,
            pad_token_id=1,
            output_scores=True,
            return_dict_in_generate=True,
        )
    new = out.sequences[0, len(ids) :].tolist()
    gaps = []
    for s in out.scores:
        top = torch.topk(s[0].float(), 2).values
        gaps.append(float(top[0] - top[1]))
    return new, min(gaps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    work = os.path.join(args.out, "generate")
    os.makedirs(work, exist_ok=True)
    g = torch.Generator().manual_seed(SEED)
    prompts = {
        "short": [2] + torch.randint(4, 512, (6,), generator=g).tolist(),
        "long": [2] + torch.randint(4, 512, (319,), generator=g).tolist(),
    }
    result = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "models": {}}
    specs = {
        "opt-gen-preln": dict(
            do_layer_norm_before=True, activation_function="relu", tie_word_embeddings=True, embed_std=0.1, gain=2.0
        ),
        "opt-gen-postln-proj": dict(
            do_layer_norm_before=False,
            word_embed_proj_dim=40,
            activation_function="gelu",
            tie_word_embeddings=False,
        ),
    }
    for name, kw in specs.items():
        model = build(name, **kw)
        folder = os.path.join(work, name)
        model.save_pretrained(folder, safe_serialization=True)
        entry = {}
        for pname, ids in prompts.items():
            new, gap = greedy(model, ids)
            entry[pname] = {"prompt": ids, "generated": new, "min_top2_gap": gap}
            print(name, pname, len(ids), "->", new[:8], "... min gap", gap, flush=True)
        result["models"][name] = entry
    with open(os.path.join(work, "generate.json"), "w") as f:
        json.dump(result, f)
    with tarfile.open(os.path.join(args.out, "generate_fixtures.tgz"), "w:gz") as t:
        t.add(work, arcname="generate")
    print("wrote", os.path.join(args.out, "generate_fixtures.tgz"), flush=True)


if __name__ == "__main__":
    main()
