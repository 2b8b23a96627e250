"""The benchmark encoder (engine/models/encoder.ts) in PyTorch, trained on the data, initial weights and batch order
that bench/peers.ts wrote. It stays up so the bench can pair each of its epochs with one of the engine's moments
apart: each line on stdin trains one epoch from the initial weights and prints one JSON line (per-step times, eval
accuracy, threads, version).

    python bench/peers/torch_encoder.py DIR
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "oracle"))
from ratchet_torch import encoder_forward as forward  # noqa: E402

DTYPES = {"F32": np.float32, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """The safetensors layout: 8-byte little-endian header length, JSON header, then raw tensor bytes."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    start = 8 + n
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[start + begin : start + end], dtype=DTYPES[info["dtype"]])
        out[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return out


def epoch(tensors, config):
    """One epoch from the initial weights with a fresh optimiser: per-step times and held-out accuracy."""
    params = {k[len("w:") :]: v.clone().requires_grad_() for k, v in tensors.items() if k.startswith("w:")}
    spec, batch_size = config["spec"], config["batchSize"]
    optimizer = torch.optim.AdamW(params.values(), lr=config["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    ids, mask, labels = tensors["train_ids"], tensors["train_mask"], tensors["train_labels"].long()
    step_ms, losses = [], []
    for start in range(0, ids.shape[0], batch_size):
        began = time.perf_counter()
        end = start + batch_size
        loss = F.cross_entropy(forward(params, spec, ids[start:end], mask[start:end]), labels[start:end])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step_ms.append((time.perf_counter() - began) * 1000)
        losses.append(loss.item())
    with torch.no_grad():
        logits = forward(params, spec, tensors["eval_ids"], tensors["eval_mask"])
        accuracy = (logits.argmax(dim=1) == tensors["eval_labels"].long()).float().mean().item()
    return {"step_ms": step_ms, "losses": losses, "accuracy": accuracy, "threads": torch.get_num_threads(), "version": torch.__version__}


def main(directory):
    """Trains one epoch per line read from stdin, printing each epoch's JSON line, until stdin closes."""
    config = json.load(open(f"{directory}/config.json"))
    torch.set_num_threads(config["threads"])
    torch.manual_seed(0)
    tensors = read_safetensors(f"{directory}/data.safetensors")
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(epoch(tensors, config)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
