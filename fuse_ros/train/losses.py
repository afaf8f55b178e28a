"""FuSe's training losses and the embedding-space metrics that go with them.

- `action_loss`: MSE or L1 on action chunks, over valid entries only.
- `clip_loss`: symmetric InfoNCE with a learnable, clamped temperature (FuSe's multimodal contrastive).
- `symile_loss`: Symile's higher-order contrastive loss for 3+ modalities (multilinear inner product).
- `uniformity`, `alignment`, `modality_gap`: "It's not a modality gap" terms and metrics.
- `generation_loss`, `token_accuracy`: FuSe's sensory-grounded generation, over real (non-pad) tokens.
- `binary_loss`: the driving perception heads (BEV occupancy, a blocked path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of `values` where `mask` (broadcast from the left, e.g. (B, T) over (B, T, H, A)) is True."""
    if mask is None:
        return values.mean()
    mask = mask.reshape(*mask.shape, *[1] * (values.dim() - mask.dim())).expand_as(values)
    return torch.where(mask, values, 0.0).sum() / mask.sum().clamp(min=1)


def action_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None, kind: str = "mse") -> Tensor:
    """pred, target (B, T, chunk, A); mask (B, T) or (B, T, chunk) bool marks the entries that count
    (valid steps, chunk entries before the episode ends)."""
    if kind not in ("mse", "l1"):
        raise ValueError(f"action loss kind must be 'mse' or 'l1', got {kind!r}")
    error = (pred - target).pow(2) if kind == "mse" else (pred - target).abs()
    return _masked_mean(error, mask)


def logit_scale(log_scale: Tensor, max_scale: float = 100.0) -> Tensor:
    """exp(log_scale), clamped at `max_scale` as CLIP does so the temperature cannot run away."""
    return log_scale.clamp(max=math.log(max_scale)).exp()


def clip_loss(
    a: Tensor, b: Tensor, log_scale: Tensor, positives: Tensor | None = None, max_scale: float = 100.0
) -> Tensor:
    """Symmetric InfoNCE between rows of a (B, E) and b (B, E) (L2-normalised here).

    positives (B, B) bool marks further pairs that match (the same instruction twice in a batch): the
    target spreads over them instead of pushing duplicates apart. The diagonal always matches."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = logit_scale(log_scale, max_scale) * a @ b.T  # (B, B)
    matches = torch.eye(len(a), dtype=torch.bool, device=a.device)
    if positives is not None:
        matches = matches | positives
    target = matches.float()
    a_to_b = F.cross_entropy(logits, target / target.sum(1, keepdim=True))
    b_to_a = F.cross_entropy(logits.T, target.T / target.T.sum(1, keepdim=True))
    return (a_to_b + b_to_a) / 2


def symile_loss(embeddings: Sequence[Tensor], log_scale: Tensor, max_scale: float = 100.0) -> Tensor:
    """Symile (Saporta et al., NeurIPS 2024) over M >= 3 modalities, each (B, E), rows i belonging together.

    A tuple's score is the multilinear inner product MIP(x, y, z) = sum_d x_d y_d z_d (of unit vectors).
    Each modality is the anchor in turn: its row i must pick the tuple (i, ..., i) among all B^(M-1)
    combinations of the other modalities' rows, negatives drawn from the product of the marginals.
    Memory grows as B^M: keep B and M small."""
    M, B = len(embeddings), embeddings[0].shape[0]
    if M < 3:
        raise ValueError(f"Symile needs 3 or more modalities, got {M}; use clip_loss for 2")
    axes = "ijklmn"[:M]
    units = [F.normalize(x, dim=-1) for x in embeddings]
    mip = torch.einsum(",".join(f"{c}e" for c in axes) + f"->{axes}", *units)  # (B,) * M
    mip = logit_scale(log_scale, max_scale) * mip
    positive = torch.arange(B, device=mip.device) * sum(B**p for p in range(M - 1))  # flat (i, ..., i)
    losses = [F.cross_entropy(mip.movedim(m, 0).reshape(B, -1), positive) for m in range(M)]
    return torch.stack(losses).mean()


def uniformity(x: Tensor, t: float = 2.0) -> Tensor:
    """log mean over pairs i < j of exp(-t ||x_i - x_j||^2), x (B, E) L2-normalised here; lower is more
    uniform on the sphere (Wang and Isola 2020)."""
    x = F.normalize(x, dim=-1)
    i, j = torch.triu_indices(len(x), len(x), offset=1, device=x.device)
    squared = (2.0 - 2.0 * (x[i] * x[j]).sum(-1)).clamp(min=0)  # ||x_i - x_j||^2 of unit vectors
    return torch.logsumexp(-t * squared, dim=0) - math.log(len(i))


def alignment(x: Tensor, y: Tensor) -> Tensor:
    """mean ||x_i - y_i||^2 of L2-normalised pairs (B, E): 0 when paired embeddings coincide."""
    return (F.normalize(x, dim=-1) - F.normalize(y, dim=-1)).pow(2).sum(-1).mean()


def modality_gap(x: Tensor, y: Tensor) -> Tensor:
    """Distance between the centroids of two modalities' L2-normalised embeddings (a metric to log)."""
    return (F.normalize(x, dim=-1).mean(0) - F.normalize(y, dim=-1).mean(0)).norm()


def generation_loss(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Cross-entropy of logits (B, K, V) against token ids (B, K) where mask (B, K) marks real tokens."""
    ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
    return _masked_mean(ce, mask)


def token_accuracy(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Share of real tokens predicted exactly (argmax)."""
    return _masked_mean((logits.argmax(-1) == targets).float(), mask)


def binary_loss(logits: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of logits (B, T, ...) against 0/1 targets (BEV occupancy, a blocked path);
    mask (B, T)."""
    bce = F.binary_cross_entropy_with_logits(logits, target.float(), reduction="none")
    return _masked_mean(bce, mask)
