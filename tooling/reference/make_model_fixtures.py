"""Write reference fixtures for @sea/opt, @sea/bert and @sea/tokenizers with Hugging Face transformers.

Small random-initialised OPT and BERT configs are built with a fixed seed, saved with
save_pretrained (safetensors), and run in float32 with eager attention on fixed inputs
(unpadded, right-padded and, for OPT, left-padded). Expected logits, every hidden state that
Hugging Face returns, and the outputs of every layer seen through forward hooks are written
to expected.safetensors; the inputs go to inputs.json.

Tokenizer ids are dumped for the BERT uncased WordPiece vocab and the OPT byte-level BPE when
their vocab files are passed with --vocab (folders bert-base-uncased/, opt/, gpt2/).

Usage (on the GPU machine; CPU is enough):
  python3 make_model_fixtures.py --out OUT_DIR [--vocab VOCAB_DIR] [--only-tokenizers]
(--only-tokenizers needs transformers alone, not torch.)
OUT_DIR receives opt/<name>/, bert/<name>/ and tokenizers/ folders.
"""

import argparse
import json
import os
import sys
import traceback


try:  # the tokenizer fixtures need only transformers
    import torch
    from safetensors.torch import save_file
except ImportError:
    torch = None

SEED = 20240501


def log(*a):
    print(*a, flush=True)


def perturb_(model, std=0.08, seed=SEED):
    """HF init leaves LayerNorms at (1, 0) and biases at 0; randomise every parameter so that each
    one changes the outputs and a wrong name or layout shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            lname = name.lower()
            if ("layer_norm" in lname or "layernorm" in lname) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.05 * noise)
            elif "embed" in lname or "embeddings" in lname:
                p.copy_(0.3 * noise)
            else:
                p.copy_(std * noise * (64.0 / max(p.shape[-1], 1)) ** 0.5 if p.dim() > 1 else std * noise)


def make_model(cls, config):
    try:
        model = cls._from_config(config, attn_implementation="eager")
    except Exception:
        config._attn_implementation = "eager"
        model = cls(config)
    try:
        model.set_attn_implementation("eager")
    except Exception:
        pass
    model.eval()
    return model


def save_model(model, out_dir, **kw):
    os.makedirs(out_dir, exist_ok=True)
    try:
        model.save_pretrained(out_dir, safe_serialization=True, **kw)
    except TypeError:
        model.save_pretrained(out_dir, **kw)


def hook_layers(layers, final_module=None):
    """Collect each layer's output (first element) and, when given, the input of the final module."""
    store = {"layers": [], "final_in": None}
    handles = []
    for layer in layers:
        def fwd(_m, _inp, out):
            store["layers"].append((out[0] if isinstance(out, (tuple, list)) else out).detach().clone())
        handles.append(layer.register_forward_hook(fwd))
    if final_module is not None:
        def pre(_m, inp):
            store["final_in"] = inp[0].detach().clone()
        handles.append(final_module.register_forward_pre_hook(pre))
    return store, handles


def opt_cases(vocab, g):
    B, T = 2, 12
    ids = torch.randint(4, vocab, (B, T), generator=g)
    cases = {"unpadded": (ids.clone(), torch.ones(B, T, dtype=torch.long))}
    # right padding: row 1 has 7 real tokens then pad (id 1)
    r_ids = ids.clone()
    r_mask = torch.ones(B, T, dtype=torch.long)
    r_ids[1, 7:] = 1
    r_mask[1, 7:] = 0
    cases["right"] = (r_ids, r_mask)
    # left padding: row 0 has 4 pads first
    l_ids = ids.clone()
    l_mask = torch.ones(B, T, dtype=torch.long)
    l_ids[0, :4] = 1
    l_mask[0, :4] = 0
    cases["left"] = (l_ids, l_mask)
    return cases


def write_opt(name, cfg_kwargs, out_root, shard=False):
    from transformers import OPTConfig, OPTForCausalLM

    torch.manual_seed(SEED)
    config = OPTConfig(**cfg_kwargs)
    model = make_model(OPTForCausalLM, config)
    perturb_(model)
    d = os.path.join(out_root, "opt", name)
    save_model(model, d)
    if shard:
        save_model(model, os.path.join(out_root, "opt", name + "-sharded"), max_shard_size="100KB")
    g = torch.Generator().manual_seed(SEED + 1)
    tensors, inputs = {}, {}
    decoder = model.model.decoder
    for case, (ids, mask) in opt_cases(config.vocab_size, g).items():
        store, handles = hook_layers(decoder.layers, model.lm_head)
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        for h in handles:
            h.remove()
        inputs[case] = {"input_ids": ids.tolist(), "attention_mask": mask.tolist()}
        tensors[f"{case}.logits"] = out.logits.float().contiguous()
        for i, hs in enumerate(out.hidden_states):
            tensors[f"{case}.hidden_states.{i}"] = hs.float().contiguous()
        for i, hs in enumerate(store["layers"]):
            tensors[f"{case}.layer_output.{i}"] = hs.float().contiguous()
        tensors[f"{case}.lm_head_input"] = store["final_in"].float().contiguous()
        log(name, case, "logits", tuple(out.logits.shape), "hidden_states", len(out.hidden_states),
            [tuple(h.shape) for h in out.hidden_states])
    save_file(tensors, os.path.join(d, "expected.safetensors"))
    meta = {
        "config": cfg_kwargs,
        "seed": SEED,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "num_hidden_states": len(out.hidden_states),
        "inputs": inputs,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "state_dict_keys": sorted(model.state_dict().keys()),
    }
    with open(os.path.join(d, "inputs.json"), "w") as f:
        json.dump(meta, f, indent=1)


def write_bert(name, cfg_kwargs, out_root):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(SEED)
    config = BertConfig(**cfg_kwargs)
    model = make_model(BertForSequenceClassification, config)
    perturb_(model)
    d = os.path.join(out_root, "bert", name)
    save_model(model, d)
    g = torch.Generator().manual_seed(SEED + 2)
    B, T = 2, 10
    ids = torch.randint(104, config.vocab_size, (B, T), generator=g)
    ids[:, 0] = 101
    ids[:, -1] = 102
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[:, 6:] = 1
    cases = {"unpadded": (ids.clone(), torch.ones(B, T, dtype=torch.long), tt.clone())}
    r_ids = ids.clone()
    r_mask = torch.ones(B, T, dtype=torch.long)
    r_tt = tt.clone()
    r_ids[1, 6] = 102
    r_ids[1, 7:] = 0
    r_mask[1, 7:] = 0
    r_tt[1, 7:] = 0
    cases["right"] = (r_ids, r_mask, r_tt)
    tensors, inputs = {}, {}
    for case, (i_ids, i_mask, i_tt) in cases.items():
        store, handles = hook_layers(model.bert.encoder.layer)
        pooled = {}
        h2 = model.bert.pooler.register_forward_hook(lambda _m, _i, o: pooled.setdefault("p", o.detach().clone()))
        with torch.no_grad():
            out = model(input_ids=i_ids, attention_mask=i_mask, token_type_ids=i_tt, output_hidden_states=True)
        for h in handles:
            h.remove()
        h2.remove()
        inputs[case] = {"input_ids": i_ids.tolist(), "attention_mask": i_mask.tolist(), "token_type_ids": i_tt.tolist()}
        tensors[f"{case}.logits"] = out.logits.float().contiguous()
        tensors[f"{case}.pooled"] = pooled["p"].float().contiguous()
        for i, hs in enumerate(out.hidden_states):
            tensors[f"{case}.hidden_states.{i}"] = hs.float().contiguous()
        for i, hs in enumerate(store["layers"]):
            tensors[f"{case}.layer_output.{i}"] = hs.float().contiguous()
        log(name, case, "logits", tuple(out.logits.shape), "hidden_states", len(out.hidden_states))
    save_file(tensors, os.path.join(d, "expected.safetensors"))
    meta = {
        "config": cfg_kwargs,
        "seed": SEED,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "num_hidden_states": len(out.hidden_states),
        "inputs": inputs,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "state_dict_keys": sorted(model.state_dict().keys()),
    }
    with open(os.path.join(d, "inputs.json"), "w") as f:
        json.dump(meta, f, indent=1)


BERT_SENTENCES = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Héllo Wörld, CAFÉ naïve résumé!",
    "unaffable tokenization of supercalifragilisticexpialidocious words",
    "He said: \"don't\" -- it's 3.14159 & $100 (approx).",
    "Chinese 中文字符 and emoji 🙂 mixed\twith\ttabs\nand newlines",
    "   leading and trailing spaces   ",
    "",
    "Amrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence .",
    "a" * 120,
]
BERT_PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on a mat."),
    ("Short one.", "A considerably longer second sentence that will need truncation when the maximum length is small."),
    ("A first sentence that is rather long and goes on and on without stopping for quite a while.", "Tiny."),
]
OPT_SENTENCES = [
    "Hello, my name is",
    "I love Hugging Face!",
    "Hello world! cécé herlolip",
    " Joel, my dad is my friend and we are in a relationship. I am",
    "Today is a beautiful day and I want to",
    "  multiple   spaces\tand\ttabs\n\nnew lines\r\n",
    "Unicode: 中文字符, emoji 🙂👍🏽, accents àéîõü, symbols ©®™ — “quotes”",
    "don't won't I'll we've they're it's 12345 3.14159 $100",
    " = Robert Boulter = \n Robert Boulter is an English film , television and theatre actor .",
    "<s>special</s> tokens <pad> in text",
]


def _tokenizer_folder(path, files, config):
    """A folder laid out like a Hub repo (vocab files + tokenizer_config.json) for from_pretrained."""
    import shutil

    os.makedirs(path, exist_ok=True)
    for src, name in files:
        shutil.copyfile(src, os.path.join(path, name))
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump(config, f)
    return path


def write_tokenizers(vocab_dir, out_root):
    """Needs transformers (and its tokenizers) only, not torch."""
    import tempfile

    from transformers import AutoTokenizer

    d = os.path.join(out_root, "tokenizers")
    os.makedirs(d, exist_ok=True)
    result = {"transformers": __import__("transformers").__version__}
    tmp = tempfile.mkdtemp()
    # bert-base-uncased ships vocab.txt and tokenizer_config.json {"do_lower_case": true}
    bert_dir = _tokenizer_folder(
        os.path.join(tmp, "bert"),
        [(os.path.join(vocab_dir, "bert-base-uncased", "vocab.txt"), "vocab.txt")],
        {"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512},
    )
    try:
        tok = AutoTokenizer.from_pretrained(bert_dir)
        result["bert_tokenizer_class"] = type(tok).__name__
        singles = []
        for s in BERT_SENTENCES:
            enc = tok(s)
            singles.append({"text": s, "input_ids": enc["input_ids"], "tokens": tok.convert_ids_to_tokens(enc["input_ids"])})
        pairs = []
        for a, b in BERT_PAIRS:
            full = tok(a, b)
            trunc = tok(a, b, truncation=True, max_length=16, padding="max_length")
            pairs.append({
                "a": a, "b": b,
                "full": {k: full[k] for k in ("input_ids", "token_type_ids", "attention_mask")},
                "max_length": 16,
                "truncated_padded": {k: trunc[k] for k in ("input_ids", "token_type_ids", "attention_mask")},
            })
        batch = tok([p[0] for p in BERT_PAIRS], [p[1] for p in BERT_PAIRS], padding=True, truncation=True, max_length=24)
        result["bert"] = {
            "singles": singles,
            "pairs": pairs,
            "batch_pairs_padding_longest_max24": {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")},
        }
        log("bert tokenizer ok", type(tok).__name__, singles[0]["input_ids"])
    except Exception:
        traceback.print_exc()
    # facebook/opt-125m ships vocab.json, merges.txt and this tokenizer_config.json
    opt_dir = _tokenizer_folder(
        os.path.join(tmp, "opt"),
        [(os.path.join(vocab_dir, "opt", "vocab.json"), "vocab.json"),
         (os.path.join(vocab_dir, "gpt2", "merges.txt"), "merges.txt")],
        {"tokenizer_class": "GPT2Tokenizer", "add_bos_token": True, "add_prefix_space": False, "errors": "replace",
         "bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>", "pad_token": "<pad>"},
    )
    try:
        tok = AutoTokenizer.from_pretrained(opt_dir)
        result["opt_tokenizer_class"] = type(tok).__name__
        rows = []
        for s in OPT_SENTENCES:
            ids = tok(s)["input_ids"]
            raw = tok(s, add_special_tokens=False)["input_ids"]
            rows.append({"text": s, "ids": ids, "ids_no_special": raw, "decoded": tok.decode(ids),
                         "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
        result["opt"] = rows
        log("opt tokenizer ok", type(tok).__name__, rows[0]["ids"])
    except Exception:
        traceback.print_exc()
    with open(os.path.join(d, "hf_tokenizer_ids.json"), "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", default=None)
    ap.add_argument("--only-tokenizers", action="store_true", help="skip the models (no torch needed)")
    args = ap.parse_args()
    import transformers

    log("torch", torch and torch.__version__, "transformers", transformers.__version__)
    if torch is not None:
        torch.set_num_threads(4)
    ok = True
    jobs = [
        ("opt-preln", lambda: write_opt("opt-preln", dict(
            vocab_size=512, hidden_size=64, num_hidden_layers=2, ffn_dim=128, num_attention_heads=4,
            max_position_embeddings=128, do_layer_norm_before=True, word_embed_proj_dim=64,
            activation_function="relu", pad_token_id=1, bos_token_id=2, eos_token_id=2,
            dropout=0.0, attention_dropout=0.0, enable_bias=True, layer_norm_elementwise_affine=True,
        ), args.out, shard=True)),
        ("opt-postln-proj", lambda: write_opt("opt-postln-proj", dict(
            vocab_size=512, hidden_size=64, num_hidden_layers=2, ffn_dim=128, num_attention_heads=4,
            max_position_embeddings=128, do_layer_norm_before=False, word_embed_proj_dim=32,
            activation_function="relu", pad_token_id=1, bos_token_id=2, eos_token_id=2,
            dropout=0.0, attention_dropout=0.0,
        ), args.out)),
        ("opt-nobias-gelu", lambda: write_opt("opt-nobias-gelu", dict(
            vocab_size=512, hidden_size=48, num_hidden_layers=2, ffn_dim=96, num_attention_heads=3,
            max_position_embeddings=64, do_layer_norm_before=True, word_embed_proj_dim=48,
            activation_function="gelu", pad_token_id=1, bos_token_id=2, eos_token_id=2,
            dropout=0.0, attention_dropout=0.0, enable_bias=False, layer_norm_elementwise_affine=False,
            tie_word_embeddings=False,
        ), args.out)),
        ("bert-cls", lambda: write_bert("bert-cls", dict(
            vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
            max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", num_labels=2,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12, pad_token_id=0,
        ), args.out)),
        ("bert-gelu-new", lambda: write_bert("bert-gelu-new", dict(
            vocab_size=512, hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96,
            max_position_embeddings=32, type_vocab_size=2, hidden_act="gelu_new", num_labels=3,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5, pad_token_id=0,
        ), args.out)),
    ]
    if args.only_tokenizers:
        jobs = []
    if args.vocab:
        jobs.append(("tokenizers", lambda: write_tokenizers(args.vocab, args.out)))
    for name, job in jobs:
        try:
            job()
        except Exception:
            ok = False
            log("FAILED", name)
            traceback.print_exc()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
