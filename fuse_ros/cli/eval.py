"""`fuse-eval`: closed-loop success per task, variant, split and dropped sensor; retrieval; generation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from fuse_ros.data.episodes import DatasetError, EpisodeStore
from fuse_ros.policy import CheckpointError
from fuse_ros.policy.actor import PolicyActor
from fuse_ros.ros.chunking import ChunkingConfig
from fuse_ros.train.dataset import WindowDataset
from fuse_ros.train.evaluate import closed_loop, language_metrics, plot_curves, plot_retrieval
from fuse_ros.train.state import read_metrics, read_training


def evaluate(cfg: DictConfig) -> dict:
    run, out = Path(cfg.checkpoint), Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    data = cfg.data or read_training(run)["config"]["data"]
    data = [data] if isinstance(data, str) else list(data)
    tasks = cfg.tasks or list(dict.fromkeys(EpisodeStore(d).info["task"] for d in data))
    actor = PolicyActor.load(run, chunking=ChunkingConfig("receding", 0.0, cfg.execute_steps))
    results: dict = {
        "checkpoint": str(run),
        "episodes": cfg.episodes,
        "success": {},
        "success_by_variant": {},
    }
    for task in tasks:
        print(f"{task}: {cfg.episodes} episodes", flush=True)
        rate, by_variant = closed_loop(actor, task, cfg.episodes, cfg.seed)
        results["success"][task], results["success_by_variant"][task] = rate, by_variant
        if "unseen" in cfg.splits and task != "driving":
            results.setdefault("success_unseen", {})[task] = closed_loop(
                actor, task, cfg.episodes, cfg.seed, split="unseen"
            )[0]
        for group in cfg.drop:
            dropped = PolicyActor(
                actor.policy,
                actor.normalizer,
                actor.language,
                actor.executor.config,
                drop=actor.policy.modalities_for(group),
            )
            results.setdefault("success_dropped", {}).setdefault(group, {})[task] = closed_loop(
                dropped, task, cfg.episodes, cfg.seed
            )[0]
    windows = WindowDataset(
        data[0],
        actor.policy.spec,
        actor.normalizer,
        actor.policy.config.window,
        actor.policy.config.action_chunk,
    )
    results["retrieval"], results["generation_accuracy"] = language_metrics(actor, windows)
    results["data"] = data[0]
    (out / "eval.json").write_text(json.dumps(results, indent=2))
    plot_curves(read_metrics(run), out / "training_curves.png")
    plot_retrieval(results["retrieval"], out / "retrieval.png")
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
def _main(cfg: DictConfig) -> None:
    torch.set_num_threads(cfg.threads)
    try:
        results = evaluate(cfg)
    except (DatasetError, CheckpointError, ValueError, FileNotFoundError) as err:
        sys.exit(f"fuse-eval: {err}")
    for key in ("success", "success_unseen", "success_by_variant", "success_dropped", "generation_accuracy"):
        if key in results:
            print(f"{key}: {json.dumps(results[key])}")
    for combo, r in results["retrieval"].items():
        print(f"retrieval {combo}: R@1 {r['r1']:.2f} R@5 {r['r5']:.2f} ({r['queries']} queries)")
    print(f"wrote {Path(cfg.out) / 'eval.json'}")


def main() -> None:
    _main()


if __name__ == "__main__":
    main()
