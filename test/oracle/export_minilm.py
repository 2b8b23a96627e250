"""MiniLM (all-MiniLM-L6-v2, from its wheel) written by torch.onnx.export, for test/oracle/onnx-export.test.ts.

    python test/oracle/export_minilm.py MODEL OUT_DIR IN.json

Exports transformers' BertModel with sentence-transformers' mean pooling, as one Module (input_ids, attention_mask,
token_type_ids) -> sentence_embedding, by the TorchScript-based exporter at opset 17 with symbolic batch and
sequence dims, to OUT_DIR/model.onnx (OUT_DIR/tokenizer.json beside it), and writes OUT_DIR/torch.json: torch's
embeddings of IN.json's texts, tokenized by `tokenizers` and cut at its maxLength.
"""
import json
import sys
import tempfile

import torch
from tokenizers import Tokenizer
from torch import nn
from transformers import AutoModel

from hf_oracle import model_dir


class MeanPooled(nn.Module):
    def __init__(self, directory):
        super().__init__()
        self.bert = AutoModel.from_pretrained(directory)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        mask = attention_mask.unsqueeze(-1).to(hidden.last_hidden_state.dtype)
        return (hidden.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def main(model, out, inp):
    spec = json.load(open(inp))
    with tempfile.TemporaryDirectory() as tmp:
        directory = model_dir(model, tmp)
        module = MeanPooled(directory).eval()
        tokenizer = Tokenizer.from_file(f"{directory}/tokenizer.json")
        with open(f"{directory}/tokenizer.json") as src, open(f"{out}/tokenizer.json", "w") as dst:
            dst.write(src.read())
    tokenizer.enable_truncation(spec["maxLength"])
    tokenizer.enable_padding()
    encoded = tokenizer.encode_batch(spec["texts"])
    ids = torch.tensor([e.ids for e in encoded])
    mask = torch.tensor([e.attention_mask for e in encoded])
    types = torch.zeros_like(ids)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "seq"} for n in names} | {"sentence_embedding": {0: "batch"}}
    torch.onnx.export(
        module,
        (ids, mask, types),
        f"{out}/model.onnx",
        opset_version=17,
        input_names=names,
        output_names=["sentence_embedding"],
        dynamic_axes=axes,
        dynamo=False,
    )
    with torch.no_grad():
        embeddings = module(ids, mask, types)
    json.dump({"dims": list(embeddings.shape), "data": embeddings.flatten().tolist()}, open(f"{out}/torch.json", "w"))


if __name__ == "__main__":
    main(*sys.argv[1:])
