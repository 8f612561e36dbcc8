"""Trains the small dense OPT teacher of the distillation experiment (runs on the GPU machine).

Reads OPT token ids made here by `sea tokenize` (training text and the WikiText-2 raw test split),
trains a randomly initialised OPT (pre-LN, tied head, OPT's 50272-token vocabulary) on random windows
of the training ids with AdamW and a cosine schedule, keeps the weights with the lowest loss on a
held-out set of the training ids (every 25th window), and saves them with `save_pretrained` (safetensors, float16 storage,
the checkpoint that is then distilled). Reports WikiText-2 test perplexity the way `sea eval` computes
it: non-overlapping windows of max_position_embeddings tokens, the last partial window dropped, mean
next-token cross-entropy per window, exp of the mean over windows, computed in float32 from the saved
float16 weights.

  python3 tooling/reference/train_teacher.py --train .device/exp/train.json --test .device/exp/test.json \
      --out $OUT/teacher --steps 1500
"""

import argparse
import json
import math
import os
import time

import torch
from transformers import OPTConfig, OPTForCausalLM


def windows_ppl(model, ids, window, device, batch=16):
    n = len(ids) // window
    x = torch.tensor(ids[: n * window], dtype=torch.long, device=device).view(n, window)
    losses = []
    model.eval()
    with torch.no_grad():
        for i in range(0, n, batch):
            xb = x[i : i + batch]
            logits = model(input_ids=xb).logits.float()
            ce = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]), xb[:, 1:].reshape(-1), reduction="none"
            ).view(xb.shape[0], -1)
            losses.extend(ce.mean(dim=1).tolist())
    model.train()
    return math.exp(sum(losses) / len(losses)), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--positions", type=int, default=512)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--holdout", type=float, default=0.04)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    train_all = json.load(open(a.train))
    test = json.load(open(a.test))
    # Held out: every n-th window of max_position_embeddings tokens, spread over all the sources.
    T = a.positions
    every = max(2, round(1 / a.holdout))
    train, held = [], []
    for i, s in enumerate(range(0, len(train_all), T)):
        (held if i % every == every // 2 else train).extend(train_all[s : s + T])
    cfg = OPTConfig(
        vocab_size=50272,
        hidden_size=a.hidden,
        num_hidden_layers=a.layers,
        ffn_dim=a.ffn,
        num_attention_heads=a.heads,
        max_position_embeddings=a.positions,
        word_embed_proj_dim=a.hidden,
        do_layer_norm_before=True,
        activation_function="relu",
        dropout=a.dropout,
        attention_dropout=0.0,
        layerdrop=0.0,
        enable_bias=True,
        tie_word_embeddings=True,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=2,
    )
    model = OPTForCausalLM(cfg).to(device)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": nodecay, "weight_decay": 0.0}],
        lr=a.lr,
        betas=(0.9, 0.95),
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / a.warmup)
        * 0.5
        * (1 + math.cos(math.pi * min(1.0, s / a.steps))),
    )
    data = torch.tensor(train, dtype=torch.long, device=device)
    gen = torch.Generator(device="cpu").manual_seed(a.seed)
    best = (float("inf"), None, 0)
    log = []
    t0 = time.time()
    for step in range(1, a.steps + 1):
        starts = torch.randint(0, len(train) - T, (a.batch,), generator=gen)
        xb = torch.stack([data[s : s + T] for s in starts.tolist()])
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = model(input_ids=xb, labels=xb).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % a.eval_every == 0 or step == a.steps:
            held_ppl, _ = windows_ppl(model, held, T, device)
            log.append({"step": step, "train_loss": loss.item(), "held_ppl": held_ppl, "s": time.time() - t0})
            print(json.dumps(log[-1]), flush=True)
            if held_ppl < best[0]:
                best = (held_ppl, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
    model.load_state_dict(best[1])
    os.makedirs(a.out, exist_ok=True)
    try:
        model.half().save_pretrained(a.out, safe_serialization=True)
    except TypeError:  # transformers versions where safetensors is the only format
        model.save_pretrained(a.out)
    model.float()
    test_ppl, n = windows_ppl(model, test, T, device)
    held_ppl, _ = windows_ppl(model, held, T, device)
    result = {
        "config": {k: getattr(a, k) for k in vars(a)},
        "parameters": params,
        "train_tokens": len(train),
        "held_tokens": len(held),
        "best_step": best[2],
        "held_ppl_fp16_weights": held_ppl,
        "wikitext2_test_ppl_fp16_weights": test_ppl,
        "test_windows": n,
        "train_seconds": time.time() - t0,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "log": log,
    }
    json.dump(result, open(os.path.join(a.out, "teacher_train.json"), "w"), indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "log"}), flush=True)


if __name__ == "__main__":
    main()
