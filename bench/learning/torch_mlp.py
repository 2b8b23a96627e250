"""The `ratchet train --arch mlp` recipe written in PyTorch, as a PyTorch user writes it (bench/learning.ts runs it
beside Ratchet): nn.Sequential of nn.Linear (default init) and ReLU, AdamW, CosineAnnealingLR to 0 over every
step, a DataLoader reshuffling each epoch, the last short batch kept.

    python bench/learning/torch_mlp.py TRAIN.jsonl TEST.jsonl '{"hidden": [64, 64], "epochs": 40, "batch": 32,
        "lr": 0.001, "weight_decay": 0.01, "seed": 1, "threads": 2}'

Prints {"accuracy", "seconds"} (seconds: the training loop, data already in memory).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "oracle"))
from ratchet_torch import train_epochs  # noqa: E402


def read(path, labels):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    x = torch.tensor([r["features"] for r in rows], dtype=torch.float32)
    y = torch.tensor([labels.setdefault(str(r["label"]), len(labels)) for r in rows])
    return x, y


def main(train_path, test_path, recipe):
    torch.set_num_threads(recipe["threads"])
    torch.manual_seed(recipe["seed"])
    labels = {}
    x, y = read(train_path, labels)
    test_x, test_y = read(test_path, labels)
    widths = [x.shape[1], *recipe["hidden"], len(labels)]
    layers = []
    for k in range(len(widths) - 1):
        layers += [torch.nn.Linear(widths[k], widths[k + 1]), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=recipe["batch"], shuffle=True
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe["epochs"] * len(loader))
    loss_of = lambda batch: F.cross_entropy(model(batch[0]), batch[1])
    seconds = train_epochs(loader, loss_of, optimizer, schedule, recipe["epochs"])
    with torch.no_grad():
        accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean().item()
    print(json.dumps({"accuracy": accuracy, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
