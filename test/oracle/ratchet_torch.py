"""Ratchet's models written in PyTorch, for the oracles in tests and benchmarks (never part of the product)."""
import math

import torch.nn.functional as F


def encoder_forward(p, spec, ids, mask):
    """engine/models/encoder.ts in PyTorch: `p` maps Ratchet's parameter names to tensors in Ratchet's layouts
    (every projection's weight is [in, out]); `spec` is its EncoderSpec. Returns the logits."""
    d, heads, layers = spec["dModel"], spec["heads"], spec["layers"]
    dh = d // heads
    batch, length = ids.shape
    linear = lambda name, x: x @ p[f"{name}.weight"] + p[f"{name}.bias"]
    norm = lambda name, x: F.layer_norm(x, (d,), p[f"{name}.weight"], p[f"{name}.bias"], 1e-5)
    x = p["embeddings.token"][ids] + p["embeddings.position"]
    key_bias = ((1 - mask) * -1e9)[:, None, None, :]
    for i in range(layers):
        b = f"blocks.{i}"
        h = norm(f"{b}.ln1", x)
        q = (linear(f"{b}.attn.q", h) / math.sqrt(dh)).view(batch, length, heads, dh).transpose(1, 2)
        k_t = linear(f"{b}.attn.k", h).view(batch, length, heads, dh).permute(0, 2, 3, 1)
        v = linear(f"{b}.attn.v", h).view(batch, length, heads, dh).transpose(1, 2)
        attention = F.softmax(q @ k_t + key_bias, dim=-1)
        context = (attention @ v).transpose(1, 2).reshape(batch, length, d)
        x = x + linear(f"{b}.attn.out", context)
        x = x + linear(f"{b}.ffn.down", F.gelu(linear(f"{b}.ffn.up", norm(f"{b}.ln2", x))))
    x = norm("norm", x)
    if spec.get("pooling", "mean") == "cls":
        pooled = x[:, 0]
    else:
        weights = mask / mask.sum(dim=1, keepdim=True)
        pooled = (weights[:, None, :] @ x).squeeze(1)
    return linear("head", pooled)
