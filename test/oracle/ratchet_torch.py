"""Ratchet's models written in PyTorch, for the oracles in tests and benchmarks (never part of the product)."""
import math
import time

import torch
import torch.nn.functional as F


def encoder_forward(p, spec, ids, mask):
    """engine/models/encoder.ts in PyTorch: `p` maps Ratchet's parameter names to tensors in Ratchet's layouts
    (every projection's weight is [in, out]); `spec` is its EncoderSpec. Returns the logits. With `windows`, each
    window of maxLength tokens is a row of its own through the blocks and pooling reads all of a text's windows."""
    d, heads, layers = spec["dModel"], spec["heads"], spec["layers"]
    dh = d // heads
    text_mask = mask
    ids, mask = ids.reshape(-1, spec["maxLength"]), mask.reshape(-1, spec["maxLength"])
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
    x = norm("norm", x).reshape(text_mask.shape[0], -1, d)
    mask = text_mask
    if spec.get("pooling", "mean") == "cls":
        pooled = x[:, 0]
    else:
        weights = mask / mask.sum(dim=1, keepdim=True)
        pooled = (weights[:, None, :] @ x).squeeze(1)
    return linear("head", pooled)


def scheduler(optimizer, config, total):
    """Ratchet's schedule (engine/optim/schedule.ts) from torch's own schedulers: `config` has decay (cosine or
    linear) and warmupSteps; warm-up then decay: LinearLR from lr/W up to lr over W steps, then
    CosineAnnealingLR or LinearLR to 0 over the remaining steps."""
    warmup, decay = config.get("warmupSteps", 0), config["decay"]
    rest = max(1, total - warmup)
    after = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=rest)
        if decay == "cosine"
        else torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=rest)
    )
    if warmup == 0:
        return after
    ramp = torch.optim.lr_scheduler.LinearLR(optimizer, 1 / warmup, 1.0, total_iters=warmup - 1)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [ramp, after], milestones=[warmup])


def train_epochs(loader, loss_of, optimizer, schedule, epochs):
    """The plain PyTorch loop every recipe here runs: per batch, loss, backward, step, schedule step. Returns its
    seconds."""
    began = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            loss = loss_of(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return time.perf_counter() - began
