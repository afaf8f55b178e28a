"""Heads read readout tokens; nothing in the backbone attends to readouts, so heads can come and go."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fuse_ros.nn.attention import AttentionPool
from fuse_ros.nn.tokens import TokenGroup


class ActionHead(nn.Module):
    """Mean-pooled action readouts -> a chunk of future actions at every step (FuSe's MSE head)."""

    def __init__(self, width: int, action_dim: int, chunk: int, hidden: int):
        super().__init__()
        self.action_dim, self.chunk = action_dim, chunk
        self.net = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, chunk * action_dim)
        )

    def forward(self, readouts: TokenGroup) -> Tensor:
        pooled = readouts.tokens.mean(dim=2)  # (B, T, D)
        return self.net(pooled).unflatten(-1, (self.chunk, self.action_dim))  # (B, T, chunk, A)

    def regression(self, readouts: TokenGroup, actions: Tensor) -> tuple[Tensor, Tensor]:
        """What the action loss compares: the predicted chunks and the demonstrated ones (B, T, chunk, A)."""
        return self(readouts), actions

    def sample(self, readouts: TokenGroup, noise: Tensor | None = None) -> Tensor:
        """The chunk (B, chunk, A) for the newest step (`noise` is for the diffusion head's sake)."""
        return self(readouts)[:, -1]


DIFFUSION_CLIP = 5.0  # normalised actions (in standard deviations) a denoised chunk is clipped to (Octo)


def cosine_schedule(steps: int, offset: float = 0.008) -> Tensor:
    """alpha-bar (steps,) of the cosine noise schedule (Nichol & Dhariwal 2021), each beta <= 0.999."""
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2)
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0).float()


def _residual_block(width: int) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))


class DiffusionActionHead(nn.Module):
    """Octo's diffusion head: a residual MLP denoises a whole chunk, conditioned on the pooled action
    readouts. Where demonstrations disagree (turn now, or a moment later) a regression head learns their
    average, which is neither; this head samples one of them. It predicts the clean chunk (Octo's predicts
    the noise): in a few hundred steps that fits what predicting the noise had not in thousands. Sampling is
    DDIM with eta = 0, so one noise draw makes one chunk: the noise is an input, and the exported graph
    is deterministic."""

    def __init__(
        self, width: int, action_dim: int, chunk: int, hidden: int, steps: int = 20, blocks: int = 3
    ):
        super().__init__()
        self.action_dim, self.chunk, self.steps = action_dim, chunk, steps
        self.register_buffer("alpha_bar", cosine_schedule(steps), persistent=False)
        self.time = nn.Embedding(steps, hidden)
        self.inputs = nn.Linear(width + chunk * action_dim, hidden)
        self.blocks = nn.ModuleList(_residual_block(hidden) for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, chunk * action_dim))

    def forward(self, condition: Tensor, noisy: Tensor, t: Tensor) -> Tensor:
        """The clean chunk behind `noisy` (..., chunk, A) at diffusion steps `t` (...), given
        `condition` (..., D)."""
        x = self.inputs(torch.cat([condition, noisy.flatten(-2)], -1)) + self.time(t)
        for block in self.blocks:
            x = x + block(x)
        return self.out(x).unflatten(-1, (self.chunk, self.action_dim))

    def regression(self, readouts: TokenGroup, actions: Tensor) -> tuple[Tensor, Tensor]:
        """The demonstrated chunks noised at random steps, denoised; and the chunks themselves."""
        condition = readouts.tokens.mean(dim=2)  # (B, T, D)
        t = torch.randint(self.steps, condition.shape[:2], device=condition.device)
        keep = self.alpha_bar[t][..., None, None]
        noisy = keep.sqrt() * actions + (1 - keep).sqrt() * torch.randn_like(actions)
        return self(condition, noisy, t), actions

    def sample(self, readouts: TokenGroup, noise: Tensor | None = None) -> Tensor:
        """A chunk (B, chunk, A) for the newest step, denoised from `noise` (default: a fresh draw)."""
        condition = readouts.tokens[:, -1].mean(dim=1)  # (B, D)
        shape = (condition.shape[0], self.chunk, self.action_dim)
        x = torch.randn(shape, device=condition.device) if noise is None else noise
        for step in reversed(range(self.steps)):
            t = torch.full(shape[:1], step, dtype=torch.long, device=condition.device)
            keep = self.alpha_bar[step]
            keep_next = self.alpha_bar[step - 1] if step else torch.ones_like(keep)
            clean = self(condition, x, t).clamp(-DIFFUSION_CLIP, DIFFUSION_CLIP)
            noise_in_x = (x - keep.sqrt() * clean) / (1 - keep).sqrt()
            x = keep_next.sqrt() * clean + (1 - keep_next).sqrt() * noise_in_x
        return x


class ContrastiveHead(nn.Module):
    """FuSe's multimodal contrastive head: one pooling head puts the language readouts (what the sensors
    say) and the frozen text encoder's token states (what the instruction says) in one embedding space.

    Owns the learnable temperature as `log_logit_scale` (CLIP's initial 1 / 0.07)."""

    def __init__(self, width: int, text_dim: int, embed_dim: int, heads: int, mlp_dim: int):
        super().__init__()
        self.text_proj = nn.Linear(text_dim, width)
        self.pool = AttentionPool(width, heads, probes=1, mlp_dim=mlp_dim)
        self.out = nn.Linear(width, embed_dim)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def _embed(self, group: TokenGroup) -> Tensor:
        pooled = self.pool(group.tokens, group.mask)[:, 0]  # (B, D)
        return F.normalize(self.out(pooled), dim=-1)  # (B, E), unit length

    def embed_readouts(self, readouts: TokenGroup) -> Tensor:
        """Language readouts of one step, tokens (B, N, D) -> (B, E)."""
        return self._embed(readouts)

    def embed_text(self, text: TokenGroup) -> Tensor:
        """Frozen text encoder states, tokens (B, L, text_dim) -> (B, E)."""
        return self._embed(TokenGroup(self.text_proj(text.tokens), text.mask))


class GenerationHead(nn.Module):
    """Non-autoregressive description generation (FuSe's): `length` probes attention-pool the language
    readouts, and a linear layer scores each slot over the text encoder's vocabulary.

    `token_ids` (a saved buffer) maps each output class to a text-encoder token id: all of MiniLM's
    30,522 by default, or, via `set_vocabulary`, only the few hundred word pieces the descriptions use
    (scoring all of them costs about as much as the tiny backbone)."""

    def __init__(self, width: int, vocab_size: int, length: int, heads: int, mlp_dim: int):
        super().__init__()
        self.pool = AttentionPool(width, heads, probes=length, mlp_dim=mlp_dim)
        self.ln = nn.LayerNorm(width)
        self.logits = nn.Linear(width, vocab_size)
        self.register_buffer("token_ids", torch.arange(vocab_size))

    def forward(self, readouts: TokenGroup) -> Tensor:
        """Language readouts of one step, tokens (B, N, D) -> logits (B, length, vocab_size)."""
        return self.logits(self.ln(self.pool(readouts.tokens, readouts.mask)))

    @torch.no_grad()
    def set_vocabulary(self, token_ids: Tensor) -> None:
        """Make the output classes these text-encoder ids (one per class; stored sorted)."""
        ids = torch.as_tensor(token_ids).unique()
        if len(ids) != len(self.token_ids):
            raise ValueError(f"{len(ids)} distinct token ids for a head of {len(self.token_ids)} classes")
        self.token_ids.copy_(ids)

    def classes(self, ids: Tensor, mask: Tensor) -> Tensor:
        """Text-encoder ids (B, K) -> output classes (B, K) where mask is True (0 elsewhere)."""
        index = torch.searchsorted(self.token_ids, ids).clamp(max=len(self.token_ids) - 1)
        unknown = mask & (self.token_ids[index] != ids)
        if unknown.any():
            raise ValueError(f"token ids {ids[unknown].unique().tolist()} are not in the head's vocabulary")
        return torch.where(mask, index, 0)

    def predict(self, logits: Tensor) -> Tensor:
        """Logits (B, K, vocab_size) -> the most likely text-encoder ids (B, K), for decoding."""
        return self.token_ids[logits.argmax(-1)]


class OccupancyHead(nn.Module):
    """Driving perception: BEV occupancy logits. Each of the side x side BEV readouts decodes one
    patch x patch block of the grid (grid convention: `fuse_ros.nn.tokenizers.bev_cells`)."""

    def __init__(self, width: int, grid: int, patch: int):
        super().__init__()
        self.side, self.patch = grid // patch, patch
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, patch * patch))

    def forward(self, readouts: TokenGroup) -> Tensor:
        """BEV readouts, tokens (B, T, side*side, D) -> logits (B, T, grid, grid)."""
        B, T = readouts.tokens.shape[:2]
        s, p = self.side, self.patch
        x = self.net(readouts.tokens).view(B, T, s, s, p, p)  # (B, T, row, col, p, p)
        return x.permute(0, 1, 2, 4, 3, 5).reshape(B, T, s * p, s * p)


class BlockedHead(nn.Module):
    """Driving: whether a stopped object blocks the ego's path ahead (`geometry.path_blocked`), read from
    the action readouts, so that what the action head sees carries it (an auxiliary loss; the action loss
    alone did not teach it)."""

    def __init__(self, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 1))

    def forward(self, readouts: TokenGroup) -> Tensor:
        """Action readouts, tokens (B, T, N, D) -> logits (B, T)."""
        return self.net(readouts.tokens.mean(2))[..., 0]
