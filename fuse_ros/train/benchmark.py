"""What a FuSe step costs next to an action-only step, on real windows of a dataset.

    python -m fuse_ros.train.benchmark <dataset> [batch] [repeats]

Times forward + backward + optimiser step of the same policy on the same batch: action loss only, then
FuSe (action + contrastive + generation) with k sampled sensor combinations, for k = 0 .. all.
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import torch

from fuse_ros.train.objective import LossWeights, Objective, total
from fuse_ros.train.trainer import TrainConfig, Trainer


def step_seconds(trainer: Trainer, batch, weights: LossWeights, k: int, repeats: int) -> float:
    """Median seconds of one optimisation step (the text encoder's cache is warm, as in training)."""
    objective = Objective(trainer.policy, trainer.config.embodiment, weights)
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        combos = trainer.texts.combinations(k, np.random.default_rng(i)) if weights.generation else []
        targets = trainer.texts.prepare(batch, weights, combos)
        loss = total(objective(batch, targets), weights)
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        trainer.optimizer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))  # the first step pays for allocation and the text cache


def main() -> None:
    data = sys.argv[1]
    batch_size = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(TrainConfig(data=[data], out=out, batch_size=batch_size, progress=False))
        batch = next(trainer.batches()).to(trainer.device)
        base = step_seconds(trainer, batch, LossWeights(contrastive=0, generation=0), 0, repeats)
        print(
            f"policy {trainer.policy.config.width}x{trainer.policy.config.depth}, sensors "
            f"{trainer.policy.spec.names()}, batch {batch_size}, window {trainer.policy.config.window}"
        )
        print(f"action-only step: {base * 1e3:.0f} ms")
        for k in range(len(trainer.texts.combinations(99, np.random.default_rng(0))) + 1):
            fuse = step_seconds(trainer, batch, LossWeights(), k, repeats)
            print(
                f"FuSe step, {k} sampled combinations: {fuse * 1e3:.0f} ms = {fuse / base:.2f}x action-only"
            )


if __name__ == "__main__":
    main()
