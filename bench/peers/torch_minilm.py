"""all-MiniLM-L6-v2 fine-tuned in PyTorch as bench/minilm-step.ts asks: transformers' BertModel from the HF directory
the bench unpacked, mean pooling and L2 normalisation (sentence-transformers' recipe), a linear head, cross-entropy,
AdamW; `full` trains every parameter, `lora` trains rank-r adapters on every Linear of the encoder (PEFT's form,
x·Aᵀ·Bᵀ·alpha/r beside the frozen weight) and the head in full. Stays up: each line on stdin (`full` or `lora`)
trains `steps` steps from the pretrained weights and prints one JSON line (per-step times, threads, version).

    python bench/peers/torch_minilm.py DIR
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AutoModel


class LoRALinear(torch.nn.Module):
    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        bound = 1 / math.sqrt(base.in_features)
        self.A = torch.nn.Parameter(torch.empty(rank, base.in_features).uniform_(-bound, bound))
        self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale


def with_lora(module, rank, alpha):
    for name, child in module.named_children():
        if isinstance(child, torch.nn.Linear):
            setattr(module, name, LoRALinear(child, rank, alpha))
        else:
            with_lora(child, rank, alpha)


def run(method, data, config):
    torch.manual_seed(0)
    model = AutoModel.from_pretrained(config["hf_dir"])
    model.train()  # dropout as the config says, as the engine trains
    head = torch.nn.Linear(model.config.hidden_size, 2)
    if method == "lora":
        for p in model.parameters():
            p.requires_grad_(False)
        with_lora(model.encoder, config["rank"], config["rank"])
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=config["lr"], weight_decay=0.01)
    ids, mask, labels = data["input_ids"], data["attention_mask"], data["labels"].long()
    b = config["batch"]
    step_ms = []
    for step in range(config["steps"]):
        began = time.perf_counter()
        rows = slice(step * b, (step + 1) * b)
        hidden = model(input_ids=ids[rows], attention_mask=mask[rows]).last_hidden_state
        weights = mask[rows].unsqueeze(-1).to(hidden.dtype)
        pooled = F.normalize((hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9), p=2, dim=1)
        loss = F.cross_entropy(head(pooled), labels[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step_ms.append((time.perf_counter() - began) * 1000)
    trainable = sum(p.numel() for p in params)
    return {"step_ms": step_ms, "trainable": trainable, "threads": torch.get_num_threads(), "version": torch.__version__}


def main(directory):
    config = json.load(open(os.path.join(directory, "config.json")))
    torch.set_num_threads(config["threads"])
    data = {k: v.long() for k, v in load_file(os.path.join(directory, "data.safetensors")).items()}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        print(json.dumps(run(line.strip(), data, config)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
