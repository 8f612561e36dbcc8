"""Peers of the CUDA backend's benchmarks, timed on the same GPU in the same device command.

- torch SDPA, dense causal attention on the SEA-layer shapes [1, 12, T, 64] for T = 1k ... 32k:
  float32 (PyTorch picks the memory-efficient kernel; flash needs half precision) and bfloat16
  (flash where PyTorch picks it). Latency (CUDA events, median) and peak memory above the inputs.
- Hugging Face transformers OPTForCausalLM, OPT-125m config with random weights, T = 2048,
  float32 and bfloat16, SDPA attention: tokens/s and peak memory above the weights.

Writes $OUT/torch-bench.json (or ./torch-bench.json) and prints a table. No network needed.
SEA_BENCH_T lists the T values (SEA_TORCH_T those of SDPA when they differ); SEA_TORCH_OPT=0 skips
the OPT forward. Also measures the copy bandwidth and the bf16 GEMM rate of the GPU in the same run.
"""

import json
import os
import statistics
import time

import torch
import torch.nn.functional as F

OUT = os.environ.get("OUT", ".")
TS = [int(t) for t in os.environ.get("SEA_BENCH_T", "1024,2048,4096,8192,16384,32768").split(",")]
dev = torch.device("cuda")
R = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "torch": torch.__version__,
    "device": torch.cuda.get_device_name(0),
    "sdpa": [],
    "opt": [],
    "errors": [],
}


def timed(fn, reps=10, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    xs = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        xs.append(a.elapsed_time(b))
    return statistics.median(xs)


def save():
    with open(os.path.join(OUT, "torch-bench.json"), "w") as f:
        json.dump(R, f, indent=1)


torch.manual_seed(0)
# the GPU's ceilings in this run: a 1 GiB device-to-device copy (bytes read + written) and an 8192³
# bf16 GEMM (float32 accumulation), beside the SEA benchmark's own measurement of the same two
try:
    src = torch.empty(1 << 28, device=dev, dtype=torch.float32)
    dst = torch.empty_like(src)
    ms = timed(lambda: dst.copy_(src), reps=5)
    R["copyGBps"] = 2 * src.numel() * 4 / (ms / 1e3) / 1e9
    del src, dst
    a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    b2 = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
    ms = timed(lambda: a @ b2, reps=5)
    R["bf16GemmTflops"] = 2 * 8192**3 / (ms / 1e3) / 1e12
    del a, b2
    print(f"ceilings: copy {R['copyGBps']:.0f} GB/s, bf16 GEMM {R['bf16GemmTflops']:.0f} TFLOP/s", flush=True)
except Exception as e:  # noqa: BLE001
    R["errors"].append({"section": "ceilings", "error": repr(e)})
torch.cuda.empty_cache()
SDPA_TS = [int(t) for t in os.environ.get("SEA_TORCH_T", ",".join(map(str, TS))).split(",")]
for dtype in (torch.float32, torch.bfloat16):
    for T in SDPA_TS:
        try:
            q, k, v = (torch.randn(1, 12, T, 64, device=dev, dtype=dtype) for _ in range(3))
            q = q * 0.125
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            ms = timed(
                lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                reps=10 if T < 16384 else 5 if T < 65536 else 3,
                warm=3 if T < 65536 else 1,
            )
            peak = torch.cuda.max_memory_allocated() - base
            R["sdpa"].append({"dtype": str(dtype).split(".")[-1], "T": T, "ms": ms, "peakBytesAboveInputs": peak})
            print(f"SDPA {dtype} T={T}: {ms:.3f} ms, peak +{peak / 2**20:.0f} MiB", flush=True)
            del q, k, v
        except Exception as e:  # noqa: BLE001
            R["errors"].append({"section": f"sdpa {dtype} T={T}", "error": repr(e)})
            print(f"!! SDPA {dtype} T={T}: {e!r}", flush=True)
        torch.cuda.empty_cache()
        save()

try:
    if os.environ.get("SEA_TORCH_OPT") == "0":
        raise RuntimeError("skipped (SEA_TORCH_OPT=0)")
    from transformers import OPTConfig, OPTForCausalLM

    cfg = OPTConfig(
        vocab_size=50272,
        hidden_size=768,
        num_hidden_layers=12,
        ffn_dim=3072,
        num_attention_heads=12,
        max_position_embeddings=2048,
        word_embed_proj_dim=768,
        do_layer_norm_before=True,
    )
    T = 2048
    ids = torch.tensor([[2 + (i * 7919) % 50000 for i in range(T)]], device=dev)
    for dtype in (torch.float32, torch.bfloat16):
        try:
            model = OPTForCausalLM(cfg).to(device=dev, dtype=dtype).eval()
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            with torch.no_grad():
                ms = timed(lambda: model(input_ids=ids).logits, reps=10, warm=3)
            peak = torch.cuda.max_memory_allocated() - base
            attn = getattr(model.config, "_attn_implementation", "?")
            R["opt"].append(
                {"dtype": str(dtype).split(".")[-1], "T": T, "ms": ms, "tokensPerS": T / (ms / 1e3), "attention": attn, "peakBytesAboveWeights": peak}
            )
            print(f"HF OPT-125m {dtype} ({attn}) T={T}: {ms:.2f} ms = {T / (ms / 1e3):.0f} tokens/s", flush=True)
            del model
            torch.cuda.empty_cache()
        except Exception as e:  # noqa: BLE001
            R["errors"].append({"section": f"opt {dtype}", "error": repr(e)})
            print(f"!! HF OPT {dtype}: {e!r}", flush=True)
except Exception as e:  # noqa: BLE001
    R["errors"].append({"section": "transformers import", "error": repr(e)})
save()
