"""Peer of the decoding benchmark (packages/opt/bench/bench_generate.mjs): Hugging Face transformers
`generate` on an OPT-125m-shaped model (random weights, the same shape and position-table length as
the TypeScript side), SDPA attention, KV cache, greedy, SEA_BENCH_NEW new tokens (default 64), in
bfloat16 and float32 (TF32 off), on the same GPU in the same device command.

Per prompt length (SEA_BENCH_T, default 1024,4096,16384,32768): prefill ms (one forward over the
prompt with the cache, CUDA-synchronised), decode ms per token (the median of new − 1 synchronised
single-token forwards over the DynamicCache, as the TypeScript bench times its steps; `generate`'s
(total − prefill) / (new − 1) is kept beside it), and peak memory above the weights. Writes $OUT/generate-torch.json and prints a table. No network needed.
"""

import json
import os
import time

import torch
from transformers import OPTConfig, OPTForCausalLM

OUT = os.environ.get("OUT", ".")
TS = [int(t) for t in os.environ.get("SEA_BENCH_T", "1024,4096,16384,32768").split(",")]
NEW = int(os.environ.get("SEA_BENCH_NEW", "64"))
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
R = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "torch": torch.__version__, "runs": [], "errors": []}
try:
    import transformers

    R["transformers"] = transformers.__version__
    R["device"] = torch.cuda.get_device_name(0)
except Exception as e:  # noqa: BLE001
    R["errors"].append(str(e))


def save():
    with open(os.path.join(OUT, "generate-torch.json"), "w") as f:
        json.dump(R, f, indent=1)


max_pos = ((max(TS) + NEW + 1 + 255) // 256) * 256
config = OPTConfig(
    vocab_size=50272,
    hidden_size=768,
    num_hidden_layers=12,
    ffn_dim=3072,
    num_attention_heads=12,
    max_position_embeddings=max_pos,
    do_layer_norm_before=True,
    word_embed_proj_dim=768,
    dropout=0.0,
    attention_dropout=0.0,
)
config._attn_implementation = "sdpa"


def sync_ms(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    r = fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1000, r


for dtype in (torch.bfloat16, torch.float32):
    torch.manual_seed(0)
    model = OPTForCausalLM(config).to(dev, dtype=dtype).eval()
    weights = torch.cuda.memory_allocated()
    g = torch.Generator().manual_seed(1)
    for T in TS:
        try:
            ids = torch.randint(4, 50000, (1, T), generator=g).to(dev)
            kw = dict(
                max_new_tokens=NEW,
                min_new_tokens=NEW,
                do_sample=False,
                num_beams=1,
                use_cache=True,
                eos_token_id=None,
                pad_token_id=1,
            )
            with torch.no_grad():
                model.generate(ids[:, :64], attention_mask=torch.ones_like(ids[:, :64]), **{**kw, "max_new_tokens": 4, "min_new_tokens": 4})
                torch.cuda.reset_peak_memory_stats()
                prefill, _ = sync_ms(lambda: model(ids, use_cache=True, logits_to_keep=1))
                total, out = sync_ms(lambda: model.generate(ids, attention_mask=torch.ones_like(ids), **kw))
                # the same greedy decoding step by step (as this project's bench times it): the median step
                first = model(ids, use_cache=True, logits_to_keep=1)
                pkv, nxt = first.past_key_values, first.logits[:, -1].argmax(-1, keepdim=True)
                steps = []
                for _ in range(NEW - 1):
                    ms, o = sync_ms(lambda: model(nxt, past_key_values=pkv, use_cache=True))
                    pkv, nxt = o.past_key_values, o.logits[:, -1].argmax(-1, keepdim=True)
                    steps.append(ms)
                del first, pkv
            steps.sort()
            assert out.shape[1] == T + NEW
            run = {
                "dtype": str(dtype).replace("torch.", ""),
                "T": T,
                "prefillMs": prefill,
                "decodeMsPerToken": steps[len(steps) // 2],
                "generateDecodeMsPerToken": (total - prefill) / (NEW - 1),
                "peakBytesAboveWeights": torch.cuda.max_memory_allocated() - weights,
                "kvCacheBytes": 2 * config.num_hidden_layers * (T + NEW) * config.hidden_size * (2 if dtype == torch.bfloat16 else 4),
            }
            R["runs"].append(run)
            save()
            print(
                f"HF {run['dtype']:8s} T={T:6d}  prefill {prefill:8.1f} ms  decode {run['decodeMsPerToken']:6.2f} ms/token (generate: {run['generateDecodeMsPerToken']:6.2f})  "
                f"peak +{run['peakBytesAboveWeights'] / 2**20:.1f} MiB",
                flush=True,
            )
        except Exception as e:  # noqa: BLE001
            R["errors"].append({"dtype": str(dtype), "T": T, "error": str(e)})
            print("HF", dtype, T, "failed:", e, flush=True)
            torch.cuda.empty_cache()
    del model
    torch.cuda.empty_cache()
save()
