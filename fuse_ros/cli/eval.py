"""`fuse-eval`: closed-loop success per task, variant, split and dropped sensor; retrieval; generation."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from fuse_ros.cli import open_groups
from fuse_ros.data.episodes import DatasetError, EpisodeStore
from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.policy import CheckpointError, load_policy
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.ros.chunking import ChunkingConfig
from fuse_ros.runtime import load_runtime
from fuse_ros.runtime.actor import RuntimeActor
from fuse_ros.train.dataset import WindowDataset
from fuse_ros.train.evaluate import (
    closed_loop,
    language_metrics,
    merge_language_metrics,
    plot_curves,
    plot_retrieval,
    schedule,
)
from fuse_ros.train.state import read_metrics, read_training


def _datasets(cfg: DictConfig, run: Path) -> list[str]:
    """`data`, else the run's training data where it is still on this machine (a shipped checkpoint's
    is not: then retrieval and generation are skipped unless `data` is given)."""
    if cfg.data:
        return [cfg.data] if isinstance(cfg.data, str) else list(cfg.data)
    trained_on = read_training(run)["config"]["data"]
    trained_on = [trained_on] if isinstance(trained_on, str) else list(trained_on)
    here = [d for d in trained_on if Path(d).is_dir()]
    if len(here) < len(trained_on):
        print(
            f"fuse-eval: training data not found here: {sorted(set(trained_on) - set(here))}; "
            "retrieval and generation use data=[...] only",
            file=sys.stderr,
        )
    return here


def _schedule(cfg: DictConfig, task: str) -> list[dict]:
    return schedule(task, cfg.variants, list(cfg.conditions or ()))


def evaluate(cfg: DictConfig) -> dict:
    chunking = ChunkingConfig(cfg.chunking, execute_steps=cfg.execute_steps)  # a bad value fails first
    run, out = Path(cfg.checkpoint), Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    data = _datasets(cfg, run)
    tasks = cfg.tasks or list(dict.fromkeys(EpisodeStore(d).info["task"] for d in data))
    if not tasks:
        raise ValueError(f"{run}'s training data is not on this machine: name tasks=[...] (and data=[...])")
    runtime = load_runtime(cfg.backend, run, cfg.export)
    language = LanguageEncoder(int(runtime.manifest.policy["max_task_tokens"]))
    actor = RuntimeActor(runtime, language.encode, chunking)
    env = dict(cfg.env)  # simulator keyword arguments for every closed loop
    results: dict = {
        "checkpoint": str(run),
        "backend": runtime.name,
        "episodes": cfg.episodes,
        "env": env,
        "chunking": {"mode": chunking.mode, "execute_steps": chunking.execute_steps},
        "success": {},
        "success_by_variant": {},
    }
    for task in tasks:
        print(f"{task}: {cfg.episodes} episodes", flush=True)
        play = partial(
            closed_loop, actor, task, cfg.episodes, cfg.seed, _schedule(cfg, task), cfg.progress, **env
        )
        result = play()
        results["success"][task], results["success_by_variant"][task] = result.success, result.by("variant")
        results.setdefault("outcomes", {})[task] = result.outcomes
        results.setdefault("endings", {})[task] = result.endings()
        if task == "driving":
            results.setdefault("success_by_condition", {})[task] = result.by("condition")
            results.setdefault("success_by_path", {})[task] = result.by("path", within="condition")
            results.setdefault("endings_by_condition", {})[task] = result.endings("condition")
        if "unseen" in cfg.splits and task != "driving":
            results.setdefault("success_unseen", {})[task] = play(split="unseen").success
        for group in cfg.drop:
            dropped = actor.with_drop(actor.preprocessor.spec.modalities_for(group))
            results.setdefault("success_dropped", {}).setdefault(group, {})[task] = closed_loop(
                dropped, task, cfg.episodes, cfg.seed, _schedule(cfg, task), cfg.progress, **env
            ).success
    policy, normalizer = load_policy(run).eval(), Normalizer.load(run)  # the language heads run in torch
    config = policy.config
    windows = [WindowDataset(d, policy.spec, normalizer, config.window, config.action_chunk) for d in data]
    results["retrieval"], results["generation_accuracy"] = merge_language_metrics(
        [language_metrics(policy, language, w) for w in windows]
    )
    results["data"] = data
    (out / "eval.json").write_text(json.dumps(results, indent=2))
    plot_curves(read_metrics(run), out / "training_curves.png")
    plot_retrieval(results["retrieval"], out / "retrieval.png")
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="eval")
def _main(cfg: DictConfig) -> None:
    torch.set_num_threads(cfg.threads)
    try:
        results = evaluate(cfg)
    except (DatasetError, CheckpointError, ValueError, FileNotFoundError, ImportError) as err:
        sys.exit(f"fuse-eval: {err}")
    keys = ("success", "success_unseen", "success_by_variant", "success_by_condition", "success_by_path")
    for key in (*keys, "success_dropped", "endings", "endings_by_condition", "generation_accuracy"):
        if key in results:
            print(f"{key}: {json.dumps(results[key])}")
    for combo, r in results["retrieval"].items():
        print(f"retrieval {combo}: R@1 {r['r1']:.2f} R@5 {r['r5']:.2f} ({r['queries']} queries)")
    print(f"wrote {Path(cfg.out) / 'eval.json'}")


def main() -> None:
    sys.argv = open_groups(sys.argv, "env")
    _main()


if __name__ == "__main__":
    main()
