"""How well a checkpoint fits demonstrations: its action loss on windows of datasets, without training.

    python -m fuse_ros.train.fit <run> <dataset> [<dataset> ...]

Give it the run's training data and fresh episodes of the same tasks (another fuse-generate seed): equal
losses mean the policy underfits (more steps or capacity help), a gap means it overfits (more data helps).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.policy.checkpoint import load_policy
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.train.dataset import WindowDataset, collate
from fuse_ros.train.objective import LossWeights, Objective, Targets

ACTION_ONLY = LossWeights(contrastive=0.0, generation=0.0)


@torch.no_grad()
def action_loss(run: str | Path, data: str | Path, windows: int = 512, batch_size: int = 64) -> float:
    """Mean normalised action loss of the run's policy over `windows` windows drawn from `data` (seed 0)."""
    torch.manual_seed(0)  # a diffusion head's loss noises the chunks at random steps
    policy = load_policy(run).eval()
    objective = Objective(policy, next(iter(policy.action_heads)), ACTION_ONLY)
    language = LanguageEncoder(policy.config.max_task_tokens)
    config = policy.config
    dataset = WindowDataset(data, policy.spec, Normalizer.load(run), config.window, config.action_chunk)
    chosen = np.random.default_rng(0).choice(len(dataset), size=min(windows, len(dataset)), replace=False)
    losses, sizes = [], []
    for batch in DataLoader(Subset(dataset, chosen.tolist()), batch_size=batch_size, collate_fn=collate):
        terms = objective(batch, Targets(language.encode(batch.instructions)))
        losses.append(float(terms["action"]))
        sizes.append(len(batch.instructions))
    return float(np.average(losses, weights=sizes))


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    run = sys.argv[1]
    for data in sys.argv[2:]:
        print(f"{Path(run).name} on {Path(data).name}: action loss {action_loss(run, data):.4f}", flush=True)


if __name__ == "__main__":
    main()
