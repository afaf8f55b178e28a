"""Attention written by hand on `F.scaled_dot_product_attention`.

Not `nn.MultiheadAttention`: the legacy ONNX exporter freezes its sequence length, and a plain SDPA call
exports with dynamic shapes under both exporters (REFERENCE.md section 5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLP(nn.Module):
    def __init__(self, width: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.fc = nn.Linear(width, hidden)
        self.proj = nn.Linear(hidden, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class SelfAttention(nn.Module):
    """Multi-head self-attention under a boolean mask (True = may attend)."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        B, S, D = x.shape  # batch, sequence, width
        qkv = self.qkv(x).view(B, S, 3, self.heads, D // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, nh, S, hs)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)  # (B, nh, S, hs)
        return self.proj(y.transpose(1, 2).reshape(B, S, D))


class AttentionPool(nn.Module):
    """K learned probes attend over a set of tokens (Octo's MAP head); pads are excluded.

    Used to pool readouts (and text tokens) into one embedding, or into K slots for the generation head.
    """

    def __init__(self, width: int, heads: int, probes: int, mlp_dim: int):
        super().__init__()
        self.heads = heads
        self.probes = nn.Parameter(torch.randn(probes, width) * 0.02)
        self.ln = nn.LayerNorm(width)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        self.ln_mlp = nn.LayerNorm(width)
        self.mlp = MLP(width, mlp_dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        B, N, D = x.shape  # batch, tokens, width
        K, hs = self.probes.shape[0], D // self.heads
        mask = mask | ~mask.any(-1, keepdim=True)  # a set with no real token pools its (zero) pads, not NaN
        q = self.q(self.probes).view(1, K, self.heads, hs).transpose(1, 2)  # (1, nh, K, hs)
        k, v = self.kv(self.ln(x)).view(B, N, 2, self.heads, hs).permute(2, 0, 3, 1, 4)  # (B, nh, N, hs)
        y = F.scaled_dot_product_attention(q.expand(B, -1, -1, -1), k, v, attn_mask=mask[:, None, None, :])
        y = self.probes + self.proj(y.transpose(1, 2).reshape(B, K, D))  # (B, K, D)
        return y + self.mlp(self.ln_mlp(y))
