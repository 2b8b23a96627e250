"""PyTorch side of the trajectory parity tests (test/oracle/trajectory.test.ts): trains the model Ratchet trained,
from the same initial weights and on the same batches, written as a PyTorch user writes it (torch.nn layers,
torch.optim, torch.optim.lr_scheduler, F.cross_entropy), and writes the per-step loss and the final weights.

    python test/oracle/torch_trajectory.py DIR

DIR/config.json says what to build (see the test); DIR/in.safetensors holds the initial weights (`w:NAME`, in
Ratchet's names and layouts), the data and each epoch's row order (`order`, epochs x rows); DIR/out.safetensors
gets `loss` [steps] and `w:NAME` for every trained parameter.
"""
import json
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ratchet_torch import encoder_forward, scheduler  # noqa: E402


class LoraLinear(torch.nn.Module):
    """A frozen nn.Linear plus the low-rank update scale * B @ A that LoRA trains (A [r, in], B [out, r])."""

    def __init__(self, linear, rank, scale):
        super().__init__()
        self.linear, self.scale = linear, scale
        for p in linear.parameters():
            p.requires_grad_(False)
        self.A = torch.nn.Parameter(torch.zeros(rank, linear.in_features))
        self.B = torch.nn.Parameter(torch.zeros(linear.out_features, rank))

    def forward(self, x):
        return F.linear(x, self.linear.weight + self.scale * self.B @ self.A, self.linear.bias)


def mlp(spec, weights):
    """nn.Sequential(Linear, ReLU, [Dropout,] ..., Linear) with the given weights; Ratchet's MLP names its k-th
    Linear `2k.weight`. Returns the module and its parameters by Ratchet's names."""
    widths, layers, named = spec["widths"], [], {}
    for k in range(len(widths) - 1):
        linear = torch.nn.Linear(widths[k], widths[k + 1])
        with torch.no_grad():
            linear.weight.copy_(weights[f"{2 * k}.weight"])
            linear.bias.copy_(weights[f"{2 * k}.bias"])
        module = linear
        if "lora" in spec:
            module = LoraLinear(linear, spec["lora"]["rank"], spec["lora"]["alpha"] / spec["lora"]["rank"])
            with torch.no_grad():
                module.A.copy_(weights[f"{2 * k}.weight.lora_A"])
                module.B.copy_(weights[f"{2 * k}.weight.lora_B"])
            named[f"{2 * k}.weight.lora_A"], named[f"{2 * k}.weight.lora_B"] = module.A, module.B
        named[f"{2 * k}.weight"], named[f"{2 * k}.bias"] = linear.weight, linear.bias
        layers.append(module)
        if k < len(widths) - 2:
            layers.append(torch.nn.ReLU())
            if spec.get("dropout"):
                layers.append(torch.nn.Dropout(spec["dropout"]))
    model = torch.nn.Sequential(*layers)
    if spec.get("eval_mode"):
        model.eval()  # dropout off, as in Ratchet's graph (a Dropout without training_mode is the identity)
    return (lambda batch: model(batch["features"])), named


def encoder(spec, weights):
    named = {name: torch.nn.Parameter(value.clone()) for name, value in weights.items() if value.is_floating_point()}
    return (lambda batch: encoder_forward(named, spec, batch["input_ids"], batch["attention_mask"])), named


def loss_of(logits, batch, loss):
    ce = F.cross_entropy(logits, batch["labels"], label_smoothing=loss.get("smoothing", 0.0))
    if loss["kind"] == "cross-entropy":
        return ce
    t, alpha = loss["temperature"], loss["alpha"]
    soft = F.kl_div(
        F.log_softmax(logits / t, dim=-1),
        F.log_softmax(batch["teacher"] / t, dim=-1),
        reduction="batchmean",
        log_target=True,
    )
    return alpha * t * t * soft + (1 - alpha) * ce


def micro_batches(tensors, order, batch_size):
    """Micro-batches in Ratchet's order: each epoch's permutation cut into batches, the last one shorter, on into
    the next epoch. A DataLoader over the epoch's permutation as its sampler does the cutting."""
    names = [n for n in tensors if not n.startswith("w:") and n != "order"]
    dataset = torch.utils.data.TensorDataset(*(tensors[n] for n in names))
    for epoch_order in order:
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=epoch_order.tolist())
        for values in loader:
            batch = dict(zip(names, values))
            batch["labels"] = batch["labels"].long()
            yield batch


def main(directory):
    config = json.load(open(f"{directory}/config.json"))
    torch.set_num_threads(config.get("threads", 2))
    tensors = load_file(f"{directory}/in.safetensors")
    weights = {n[len("w:") :]: v for n, v in tensors.items() if n.startswith("w:")}
    forward, named = (mlp if config["model"]["kind"] == "mlp" else encoder)(config["model"], weights)
    trainable = [named[n] for n in config["trainable"]]
    for name, p in named.items():
        p.requires_grad_(name in config["trainable"])
    opt = config["optimizer"]
    if opt["kind"] == "adamw":
        optimizer = torch.optim.AdamW(trainable, lr=config["lr"], weight_decay=opt["weightDecay"])
    else:
        optimizer = torch.optim.SGD(
            trainable, lr=config["lr"], momentum=opt["momentum"], weight_decay=opt["weightDecay"]
        )
    steps, accumulation = config["steps"], config.get("accumulation", 1)
    schedule = scheduler(optimizer, config, steps)
    batches = micro_batches(tensors, tensors["order"], config["batchSize"])
    losses = []
    for _ in range(steps):
        total = 0.0
        for _ in range(accumulation):
            batch = next(batches)
            loss = loss_of(forward(batch), batch, config["loss"])
            (loss / accumulation).backward()
            total += loss.item()
        if config.get("clipNorm"):
            torch.nn.utils.clip_grad_norm_(trainable, config["clipNorm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        schedule.step()
        losses.append(total / accumulation)
    out = {"loss": torch.tensor(losses, dtype=torch.float32)}
    out.update({f"w:{n}": p.detach().contiguous() for n, p in named.items() if n in config["trainable"]})
    save_file(out, f"{directory}/out.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
