"""How good a trained policy is: closed-loop success in the simulators, cross-modal retrieval and
description generation on a dataset, and plots of both.

- success: episodes run by `PolicyActor`, grouped by the instruction variant the simulator drew; on the
  training objects and on the unseen split (`split="unseen"`), and with sensors dropped at test time.
- retrieval: for each sensor combination, the sensors' embedding (other sensors left out) must find its
  episode's instruction for that combination among all episodes' (R@1, R@5; ties count as found).
- generation: token accuracy of the description predicted from each combination's sensors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from fuse_ros.data.record import record_episode
from fuse_ros.envs import make
from fuse_ros.instructions import combinations
from fuse_ros.policy.actor import PolicyActor
from fuse_ros.train.dataset import WindowDataset, collate
from fuse_ros.train.objective import sensing_groups


def closed_loop(
    actor: PolicyActor, task: str, episodes: int, seed: int = 0, **env_kwargs
) -> tuple[float, dict[str, float]]:
    """(success rate, success rate per instruction variant) over `episodes` seeded episodes."""
    env = make(task, **env_kwargs)
    by_variant: dict[str, list[bool]] = defaultdict(list)
    try:
        for i in range(episodes):
            episode = record_episode(env, actor, seed=seed + i)
            by_variant[episode.meta.get("variant", "simple")].append(episode.succeeded)
    finally:
        env.close()
    outcomes = [s for v in by_variant.values() for s in v]
    return float(np.mean(outcomes)), {v: float(np.mean(s)) for v, s in sorted(by_variant.items())}


def last_steps(data: WindowDataset) -> list[int]:
    """Index of each episode's final window: by then the robot has touched and heard what it acts on."""
    ends = np.cumsum([e.steps for e in data.episodes]) - 1
    return ends.tolist()


@torch.no_grad()
def language_metrics(actor: PolicyActor, data: WindowDataset) -> tuple[dict, dict]:
    """(retrieval: combination -> {"r1", "r5", "queries", "candidates"}, generation: combination ->
    token accuracy). Word pieces the head cannot say (unseen objects) count as wrong."""
    policy, encoder = actor.policy, actor.language
    batch = collate([data[i] for i in last_steps(data)])
    retrieval, generation = {}, {}
    for combo in combinations(sensing_groups(policy)):
        names = policy.modalities_for(combo)
        rows = [i for i, texts in enumerate(batch.variant_texts) if combo in texts]
        if len(rows) >= 2:
            texts = [batch.variant_texts[i][combo] for i in rows]
            candidates = sorted(set(texts))  # each distinct instruction once
            sensed = policy.embed(batch.observations, batch.valid, names)[rows]  # (n, E)
            said = policy.contrastive.embed_text(encoder.encode(candidates))  # (c, E)
            scores = sensed @ said.T  # (n, c)
            truth = torch.tensor([candidates.index(t) for t in texts])
            rank = (scores > scores.gather(1, truth[:, None])).sum(1)  # candidates scored above the truth
            retrieval[combo] = {
                "r1": float((rank < 1).float().mean()),
                "r5": float((rank < 5).float().mean()),
                "queries": len(rows),
                "candidates": len(candidates),
            }
        described = [d.get(combo, "") for d in batch.descriptions]
        if any(described):
            ids, mask = encoder.tokenize(described, policy.config.description_tokens)
            mask &= torch.tensor([bool(t) for t in described])[:, None]
            logits = policy.describe(batch.observations, batch.valid, names)
            hits = (policy.generation.predict(logits) == ids) & mask
            generation[combo] = float(hits.sum() / mask.sum())
    return retrieval, generation


def plot_curves(metrics: Sequence[dict], path: Path) -> Path | None:
    """Training loss curves (one panel per logged loss term) as a PNG; None without metrics."""
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [
        k for k in metrics[0] if k == "loss" or k in ("action", "contrastive") or k.startswith("generation/")
    ]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    steps = [m["step"] for m in metrics]
    for ax, key in zip(axes[0], keys, strict=True):
        ax.plot(steps, [m.get(key, np.nan) for m in metrics])
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_retrieval(retrieval: dict[str, dict], path: Path) -> Path | None:
    """R@1 and R@5 per sensor combination as a bar chart."""
    if not retrieval:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(retrieval)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3))
    for offset, key in ((-0.2, "r1"), (0.2, "r5")):
        ax.bar(x + offset, [retrieval[n][key] for n in names], 0.4, label=key.upper().replace("R", "R@"))
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
