"""A Ratchet text model's recipe written in PyTorch (bench/learning.ts runs it beside `ratchet train`): the same
architecture on the same encoded inputs (Ratchet's tokeniser or n-gram hashing output), initialised from the same
distributions, AdamW with Ratchet's schedule, a DataLoader reshuffling each epoch.

    python bench/learning/torch_text.py DIR

DIR/config.json: {arch: "fasttext" | "encoder", spec, epochs, batchSize, lr, weightDecay, warmupSteps, decay, seed,
threads}; DIR/data.safetensors: `train:NAME` / `test:NAME` model inputs and `train:labels` / `test:labels`.
Prints {"accuracy", "seconds"} (seconds: the training loop).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "oracle"))
from ratchet_torch import encoder_forward, scheduler, train_epochs  # noqa: E402

EMBEDDING_BOUND = 0.02 * math.sqrt(3)  # uniform with std 0.02, as Ratchet's embeddings


def linear(fan_in, fan_out):
    """nn.Linear's default init, in Ratchet's [in, out] layout."""
    layer = torch.nn.Linear(fan_in, fan_out)
    return {"weight": layer.weight.detach().t().contiguous(), "bias": layer.bias.detach().clone()}


def fasttext(spec, classes):
    bag = torch.nn.EmbeddingBag(spec["buckets"], spec["dim"], mode="sum")
    torch.nn.init.uniform_(bag.weight, -EMBEDDING_BOUND, EMBEDDING_BOUND)
    head = torch.nn.Linear(spec["dim"], classes)
    model = torch.nn.ModuleList([bag, head])
    return model.parameters(), lambda x: head(bag(x["ngram_ids"], per_sample_weights=x["ngram_weights"]))


def encoder(spec, classes):
    d, ffn = spec["dModel"], spec["ffn"]
    embed = lambda rows: torch.empty(rows, d).uniform_(-EMBEDDING_BOUND, EMBEDDING_BOUND)
    p = {"embeddings.token": embed(spec["vocab"]), "embeddings.position": embed(spec["maxLength"])}
    layers = {"head": (d, classes)}
    for i in range(spec["layers"]):
        for name in ("q", "k", "v", "out"):
            layers[f"blocks.{i}.attn.{name}"] = (d, d)
        layers[f"blocks.{i}.ffn.up"], layers[f"blocks.{i}.ffn.down"] = (d, ffn), (ffn, d)
        for norm in ("ln1", "ln2"):
            p[f"blocks.{i}.{norm}.weight"], p[f"blocks.{i}.{norm}.bias"] = torch.ones(d), torch.zeros(d)
    p["norm.weight"], p["norm.bias"] = torch.ones(d), torch.zeros(d)
    for name, shape in layers.items():
        init = linear(*shape)
        p[f"{name}.weight"], p[f"{name}.bias"] = init["weight"], init["bias"]
    params = {k: v.requires_grad_() for k, v in p.items()}
    return params.values(), lambda x: encoder_forward(params, spec, x["input_ids"], x["attention_mask"])


def main(directory):
    config = json.load(open(f"{directory}/config.json"))
    torch.set_num_threads(config["threads"])
    torch.manual_seed(config["seed"])
    tensors = load_file(f"{directory}/data.safetensors")
    split = lambda part: {k.split(":", 1)[1]: v for k, v in tensors.items() if k.startswith(f"{part}:")}
    train, test = split("train"), split("test")
    classes = int(max(train["labels"].max(), test["labels"].max())) + 1
    params, forward = (fasttext if config["arch"] == "fasttext" else encoder)(config["spec"], classes)
    names = sorted(train)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*(train[n] for n in names)), batch_size=config["batchSize"], shuffle=True
    )
    optimizer = torch.optim.AdamW(params, lr=config["lr"], weight_decay=config["weightDecay"])
    schedule = scheduler(optimizer, config, config["epochs"] * len(loader))

    def loss_of(values):
        batch = dict(zip(names, values))
        return F.cross_entropy(forward(batch), batch["labels"].long())

    seconds = train_epochs(loader, loss_of, optimizer, schedule, config["epochs"])
    with torch.no_grad():
        predicted = torch.cat([forward({n: v[i : i + 256] for n, v in test.items()}).argmax(1) for i in range(0, len(test["labels"]), 256)])
    print(json.dumps({"accuracy": (predicted == test["labels"].long()).float().mean().item(), "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1])
