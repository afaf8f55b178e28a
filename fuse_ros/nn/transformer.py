"""Octo's block-causal transformer over task, observation and readout token groups.

The sequence is [task tokens] + for each step t: [observation groups_t, readout groups_t]. Who sees whom:
- task tokens see task tokens;
- observation tokens at step t see task tokens and observation tokens at steps <= t;
- readout tokens see task tokens, observations at steps <= t and their own group at steps <= t;
- nothing else attends to readouts, so adding a head never changes the backbone's features.
Pad masks remove invalid tokens (a missing sensor) from every key; each token also sees itself, so a
row with nothing valid to attend to stays finite instead of turning into NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from fuse_ros.nn.attention import MLP, SelfAttention
from fuse_ros.nn.tokens import TokenGroup

TASK, OBSERVATION, READOUT = 0, 1, 2


def tracing() -> bool:
    """True while torch.compile, torch.export or the legacy ONNX exporter traces."""
    return torch.compiler.is_compiling() or torch.compiler.is_exporting() or torch.jit.is_tracing()


def attention_rules(task_len: int, steps: int, groups: Sequence[tuple[int, bool]], device=None) -> Tensor:
    """(S, S) bool, True where the query (row) may attend to the key (column).

    `groups` lists the groups of one step in sequence order as (tokens, is_readout). Read-only: one
    tensor per layout and device is kept, so a step makes no host-to-device copy (which a CUDA graph
    cannot capture) and a training step's passes reuse their few layouts. Tracers get a fresh one: theirs
    are symbolic."""
    build = _rules.__wrapped__ if tracing() else _rules
    return build(task_len, steps, tuple(groups), torch.device(device or "cpu"))


@functools.lru_cache(maxsize=64)
def _rules(task_len: int, steps: int, groups: tuple[tuple[int, bool], ...], device: torch.device) -> Tensor:
    role, step, group = [TASK] * task_len, [-1] * task_len, [-1] * task_len
    for t in range(steps):
        for g, (n, is_readout) in enumerate(groups):
            role += [READOUT if is_readout else OBSERVATION] * n
            step += [t] * n
            group += [g] * n
    role, step, group = (torch.tensor(v, device=device) for v in (role, step, group))
    query, key = (slice(None), None), (None, slice(None))
    causal = step[key] <= step[query]  # (S, S)
    sees_task = (role[key] == TASK).expand(len(role), -1)
    sees_obs = (role[key] == OBSERVATION) & (role[query] != TASK) & causal
    sees_own_readouts = (role[key] == READOUT) & (group[key] == group[query]) & causal
    return sees_task | sees_obs | sees_own_readouts


class Block(nn.Module):
    """Pre-norm transformer block (nanoGPT's)."""

    def __init__(self, width: int, heads: int, mlp_dim: int, dropout: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, dropout)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width, mlp_dim, dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class BlockTransformer(nn.Module):
    """Runs the block-causal transformer and hands each group its output tokens back."""

    def __init__(self, width: int, depth: int, heads: int, mlp_dim: int, window: int, dropout: float):
        super().__init__()
        self.step_embedding = nn.Parameter(torch.randn(window, width) * 0.02)
        self.blocks = nn.ModuleList(Block(width, heads, mlp_dim, dropout) for _ in range(depth))
        self.ln_f = nn.LayerNorm(width)

    def forward(
        self,
        task: TokenGroup | None,
        observations: Mapping[str, TokenGroup],
        readouts: Mapping[str, TokenGroup],
    ) -> dict[str, TokenGroup]:
        """task (B, L, D) or None; observation and readout groups (B, T, N, D), T <= window, the
        newest step last. Returns every observation and readout group's output tokens, same shapes."""
        groups = {**observations, **readouts}
        T = next(iter(groups.values())).tokens.shape[1]
        x = torch.cat([g.tokens for g in groups.values()], dim=2)  # (B, T, M, D)
        steps = self.step_embedding[self.step_embedding.shape[0] - T :]  # newest step last, however many
        x = (x + steps[:, None]).flatten(1, 2)  # (B, T*M, D)
        pad = torch.cat([g.mask for g in groups.values()], dim=2).flatten(1, 2)  # (B, T*M)
        task_len = 0
        if task is not None:
            task_len = task.tokens.shape[1]
            x, pad = torch.cat([task.tokens, x], 1), torch.cat([task.mask, pad], 1)  # (B, S, D), (B, S)
        x = torch.where(pad[..., None], x, 0.0)  # pads carry zeros: 0 * NaN in a masked value is still NaN

        sizes = [g.tokens.shape[2] for g in groups.values()]
        layout = [(n, name in readouts) for n, name in zip(sizes, groups, strict=True)]
        rules = attention_rules(task_len, T, layout, x.device)  # (S, S)
        itself = torch.eye(rules.shape[0], dtype=torch.bool, device=x.device)
        mask = (rules & pad[:, None, None, :]) | itself  # (B, 1, S, S)
        for block in self.blocks:
            x = block(x, mask)
        x = self.ln_f(x)[:, task_len:].unflatten(1, (T, sum(sizes)))  # (B, T, M, D)
        parts = x.split(sizes, dim=2)
        return {name: TokenGroup(y, g.mask) for (name, g), y in zip(groups.items(), parts, strict=True)}
