"""How good a trained policy is: closed-loop success in the simulators, cross-modal retrieval and
description generation on a dataset, and plots of both.

- success: episodes run by a `RuntimeActor` (any backend), grouped by the instruction variant the
  simulator drew; on the training objects, on the unseen split (`split="unseen"`), and with sensors
  dropped at test time.
- retrieval: for each sensor combination, the sensors' embedding (other sensors left out) must find its
  episode's instruction for that combination among all episodes' (R@1, R@5; ties count as found).
- generation: token accuracy of the description predicted from each combination's sensors.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from fuse_ros.data.record import record_episode
from fuse_ros.envs import make
from fuse_ros.envs.manipulation.language import instructed_variants
from fuse_ros.instructions import combinations
from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.policy.model import Policy
from fuse_ros.runtime.actor import RuntimeActor
from fuse_ros.train.dataset import WindowDataset, collate
from fuse_ros.train.objective import sensing_groups


def schedule(
    task: str, variants: str | Sequence[str] | None = "instructed", conditions: Sequence[str] = ()
) -> list[dict]:
    """Reset options episode after episode: driving cycles through `conditions`, manipulation through
    `variants` ("instructed": every variant that names a target; an episode without an instruction has
    no target to reach, so closed-loop success is measured over instructed ones)."""
    if task == "driving":
        return [{"condition": c} for c in conditions]
    names = instructed_variants(task) if variants == "instructed" else list(variants or ())
    return [{"variant": v} for v in names]


@dataclass
class ClosedLoop:
    """Outcomes of seeded episodes with each one's reset facts (variant, condition, ...)."""

    outcomes: list[bool]
    meta: list[dict[str, str]]

    @property
    def success(self) -> float:
        return float(np.mean(self.outcomes))

    def _grouped(self, key: str) -> dict[str, list[int]]:
        """Episode indices per value of a reset fact (episodes without it left out), values sorted."""
        groups: dict[str, list[int]] = defaultdict(list)
        for i, meta in enumerate(self.meta):
            if key in meta:
                groups[meta[key]].append(i)
        return dict(sorted(groups.items()))

    def by(self, key: str, within: str | None = None) -> dict:
        """Success rate per value of a reset fact, e.g. by("variant") or by("condition"); with `within`,
        per value of that fact first, e.g. by("path", within="condition")."""
        if within is not None:
            return {
                value: ClosedLoop([self.outcomes[i] for i in ix], [self.meta[i] for i in ix]).by(key)
                for value, ix in self._grouped(within).items()
            }
        return {
            value: float(np.mean([self.outcomes[i] for i in ix])) for value, ix in self._grouped(key).items()
        }

    def endings(self, by: str | None = None) -> dict:
        """Episodes per ending ("success", "failed": a wrong choice, "collision", "off_road", "timeout"),
        overall or per value of a reset fact (by="condition"): a policy that chooses wrongly or crashes
        needs better senses, one that never chooses or leaves the road may need better motor skill."""

        def count(indices) -> dict[str, int]:
            return dict(sorted(Counter(self.meta[i]["end"] for i in indices).items()))

        if by is None:
            return count(range(len(self.meta)))
        return {value: count(ix) for value, ix in self._grouped(by).items()}


def closed_loop(
    actor: RuntimeActor,
    task: str,
    episodes: int,
    seed: int = 0,
    options: Sequence[dict] = (),
    progress: bool = False,
    /,
    **env_kwargs,
) -> ClosedLoop:
    """Episode i runs with seed + i and reset options options[i mod len(options)] (e.g. {"variant":
    "audio"} or {"condition": "night"}; none: the simulator draws)."""
    env = make(task, **env_kwargs)
    result = ClosedLoop([], [])
    try:
        for i in tqdm(range(episodes), desc=task, leave=False, disable=not progress):
            episode = record_episode(
                env, actor, seed + i, options=options[i % len(options)] if options else None
            )
            result.outcomes.append(episode.succeeded)
            result.meta.append(episode.meta)
    finally:
        env.close()
    return result


def last_steps(data: WindowDataset) -> list[int]:
    """Index of each episode's final window: by then the robot has touched and heard what it acts on."""
    ends = np.cumsum([e.steps for e in data.episodes]) - 1
    return ends.tolist()


def _score_matrix(scores: torch.Tensor, truth: torch.Tensor, candidates: list[str]) -> dict:
    """Mean score of each candidate instruction (columns) for the sensors of each true one (rows): a
    diagonal matrix is perfect retrieval."""
    rows = [scores[truth == t].mean(0).tolist() for t in range(len(candidates)) if (truth == t).any()]
    labels = [c for t, c in enumerate(candidates) if (truth == t).any()]
    return {"rows": labels, "columns": candidates, "scores": [[round(v, 3) for v in r] for r in rows]}


@torch.no_grad()
def language_metrics(policy: Policy, encoder: LanguageEncoder, data: WindowDataset) -> tuple[dict, dict]:
    """(retrieval: combination -> {"r1", "r5", "queries", "candidates"}, generation: combination ->
    token accuracy). Word pieces the head cannot say (unseen objects) count as wrong."""
    batch = collate([data[i] for i in last_steps(data)])
    retrieval, generation = {}, {}
    for combo in combinations(sensing_groups(policy)):
        names = policy.spec.modalities_for(combo)
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
                "matrix": _score_matrix(scores, truth, candidates),
            }
        described = [d.get(combo, "") for d in batch.descriptions]
        if any(described):
            ids, mask = encoder.tokenize(described, policy.config.description_tokens)
            mask &= torch.tensor([bool(t) for t in described])[:, None]
            logits = policy.describe(batch.observations, batch.valid, names)
            hits = (policy.generation.predict(logits) == ids) & mask
            generation[combo] = float(hits.sum() / mask.sum())
    return retrieval, generation


def merge_language_metrics(parts: Sequence[tuple[dict, dict]]) -> tuple[dict, dict]:
    """Language metrics of several datasets as one: retrieval R@k weighted by queries (each query ranks
    the instructions of its own dataset; the score matrix is the first dataset's), generation accuracy
    averaged over the datasets that have it."""
    retrieval: dict[str, dict] = {}
    for combo in dict.fromkeys(c for r, _ in parts for c in r):
        rows = [r[combo] for r, _ in parts if combo in r]
        queries = sum(r["queries"] for r in rows)
        retrieval[combo] = {
            **{k: sum(r[k] * r["queries"] for r in rows) / queries for k in ("r1", "r5")},
            "queries": queries,
            "candidates": sum(r["candidates"] for r in rows),
            "matrix": rows[0]["matrix"],
        }
    generation = {
        combo: float(np.mean([g[combo] for _, g in parts if combo in g]))
        for combo in dict.fromkeys(c for _, g in parts for c in g)
    }
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
    """R@1 and R@5 per sensor combination as bars, and the retrieval matrix of the richest combination
    (mean sensor-to-instruction score, rows the true instructions) as a heatmap."""
    if not retrieval:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(retrieval)
    richest = max(names, key=lambda n: len(n.split("+")))
    matrix = retrieval[richest]["matrix"]
    fig, (bars, heat) = plt.subplots(1, 2, figsize=(1.2 * len(names) + 9, 5))
    x = np.arange(len(names))
    for offset, key in ((-0.2, "r1"), (0.2, "r5")):
        bars.bar(x + offset, [retrieval[n][key] for n in names], 0.4, label=key.upper().replace("R", "R@"))
    bars.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    bars.set_ylim(0, 1)
    bars.legend()
    image = heat.imshow(np.array(matrix["scores"]), cmap="viridis", aspect="auto")
    short = [text if len(text) < 34 else text[:32] + "…" for text in matrix["columns"]]
    heat.set_xticks(range(len(short)), short, rotation=60, ha="right", fontsize=6)
    heat.set_yticks(range(len(matrix["rows"])), [short[matrix["columns"].index(r)] for r in matrix["rows"]])
    heat.tick_params(axis="y", labelsize=6)
    heat.set_title(f"{richest}: sensors (rows) vs instructions", fontsize=9)
    fig.colorbar(image, ax=heat)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
