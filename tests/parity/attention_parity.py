#!/usr/bin/python3
"""Parity with PyTorch for examples/fashion_attention.sn (see parity_lib.py for what is compared), against
torch.nn.MultiheadAttention and torch.nn.LayerNorm. Sinter's MultiHeadAttention has four Dense layers; torch
packs the query, key and value projections into one in_proj_weight [3 * 64, 64] (rows: q, k, v) and
in_proj_bias, and keeps the output projection as a Linear."""
import torch
from torch import nn

import parity_lib as P

D = 64


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.position = nn.Parameter(torch.zeros(28, D))
        self.embed, self.head = nn.Linear(28, D), nn.Linear(D, 10)
        self.attn = nn.MultiheadAttention(D, 4, batch_first=True)
        self.norm = nn.LayerNorm(D, eps=1e-5)

    def layout(self):
        a = self.attn
        rows = lambda k: (lambda t: t[k * D:(k + 1) * D])  # projection k of the packed q, k, v
        packed = {}
        for k, name in enumerate(["wq", "wk", "wv"]):
            packed[f"attn.{name}.w"] = (a.in_proj_weight, lambda t, r=rows(k): r(t).T)
            packed[f"attn.{name}.b"] = (a.in_proj_bias, rows(k))
        return {"position": (self.position, P.same), **P.dense("embed", self.embed), **packed,
                **P.dense("attn.wo", a.out_proj), "norm.gamma": (self.norm.weight, P.same),
                "norm.beta": (self.norm.bias, P.same), **P.dense("head", self.head)}

    def zero_gradient(self):
        # Adding the key bias adds q . bk to every score of a query's row, which softmax ignores.
        return ["attn.wk.b"]

    def forward(self, image, label):
        x = self.embed(image.reshape(-1, 28, 28)) + self.position
        y = self.norm(x + self.attn(x, x, x, need_weights=False)[0])
        logits = self.head(y.mean(1))
        return {"probs": torch.softmax(logits, 1), "loss": nn.functional.cross_entropy(logits, label)}


if __name__ == "__main__":
    P.main("fashion_attention.sn", Attention)
