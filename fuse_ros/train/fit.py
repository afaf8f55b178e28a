"""How well a checkpoint fits demonstrations: its action loss on windows of datasets, without training,
and how much of each action dimension's variance the action it would execute explains (R^2).

    python -m fuse_ros.train.fit <run> <dataset> [<dataset> ...]

Give it the run's training data and fresh episodes of the same tasks (another fuse-generate seed): equal
losses mean the policy underfits (more steps or capacity help), a gap means it overfits (more data helps).
A loss alone hides which action is missed: a driving policy can keep its speed and never learn to steer.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
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


@dataclass
class Fit:
    loss: float  # mean normalised action loss over the whole chunk
    explained: np.ndarray  # (A,) R^2 of the action executed now (the newest step's first chunk row)


@torch.no_grad()
def measure_fit(run: str | Path, data: str | Path, windows: int = 2048, batch_size: int = 64) -> Fit:
    """The run's policy on `windows` windows drawn from `data` (seed 0)."""
    torch.manual_seed(0)  # a diffusion head's loss noises the chunks at random steps
    policy = load_policy(run).eval()
    objective = Objective(policy, next(iter(policy.action_heads)), ACTION_ONLY)
    language = LanguageEncoder(policy.config.max_task_tokens)
    config = policy.config
    dataset = WindowDataset(data, policy.spec, Normalizer.load(run), config.window, config.action_chunk)
    chosen = np.random.default_rng(0).choice(len(dataset), size=min(windows, len(dataset)), replace=False)
    losses, sizes, executed, demonstrated = [], [], [], []
    for batch in DataLoader(Subset(dataset, chosen.tolist()), batch_size=batch_size, collate_fn=collate):
        task = language.encode(batch.instructions)
        terms = objective(batch, Targets(task))
        losses.append(float(terms["action"]))
        sizes.append(len(batch.instructions))
        real = batch.action_mask[:, -1, 0]
        executed.append(policy.predict_actions(batch.observations, batch.valid, task)[real, 0])
        demonstrated.append(batch.actions[real, -1, 0])
    executed, demonstrated = torch.cat(executed).numpy(), torch.cat(demonstrated).numpy()
    error = ((executed - demonstrated) ** 2).mean(0)
    explained = 1.0 - error / np.maximum(demonstrated.var(0), 1e-12)
    return Fit(float(np.average(losses, weights=sizes)), explained)


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    run = sys.argv[1]
    for data in sys.argv[2:]:
        fit = measure_fit(run, data)
        r2 = ", ".join(f"{x:.2f}" for x in fit.explained)
        print(f"{Path(run).name} on {Path(data).name}: action loss {fit.loss:.4f}, R^2 [{r2}]", flush=True)


if __name__ == "__main__":
    main()
