"""PyTorch side of test/oracle/init.test.ts: what torch.nn.Linear(fan_in, fan_out) starts with, by default.

    python test/oracle/torch_init.py '[[8, 64], [64, 64], [64, 3]]' DRAWS

Prints one JSON object per layer shape: the largest |value| and the standard deviation of its weight and bias,
pooled over DRAWS freshly constructed layers (seeds 0..DRAWS-1).
"""
import json
import sys

import torch


def stats(values):
    flat = torch.cat([v.flatten() for v in values]).double()
    return {"max": flat.abs().max().item(), "std": flat.std().item()}


def main(shapes, draws):
    out = []
    for fan_in, fan_out in shapes:
        layers = []
        for seed in range(draws):
            torch.manual_seed(seed)
            layers.append(torch.nn.Linear(fan_in, fan_out))
        out.append({"weight": stats([l.weight for l in layers]), "bias": stats([l.bias for l in layers])})
    print(json.dumps(out))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), int(sys.argv[2]))
