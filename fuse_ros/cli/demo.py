"""`fuse-demo`: the README's main job. The shipped FuSe policy runs simulator episodes, the success rate
is printed and the first episode is filmed with what the robot saw, felt and heard.

Actors are named factories (`ACTORS`): a trained policy (`actor=policy`, the shipped checkpoint by
default, on any backend: `backend=onnxruntime export=<fuse-export folder>`), or the scripted expert
(`actor=expert`), which also writes its episodes as a demonstration dataset (fuse-generate's format).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from fuse_ros.cli import open_groups
from fuse_ros.cli.generate import generate_config, report
from fuse_ros.data.episodes import Episode
from fuse_ros.data.generate import episode_seed, generate
from fuse_ros.data.record import Actor, control_period, record_episode
from fuse_ros.envs import make, make_expert
from fuse_ros.paths import models_dir
from fuse_ros.runtime.actor import RuntimeActor
from fuse_ros.train.evaluate import schedule
from fuse_ros.viz import EpisodeRenderer, write_video

ACTORS: dict[str, Callable[[gym.Env, DictConfig], Actor]] = {
    "expert": lambda env, cfg: make_expert(env),
    "policy": lambda env, cfg: RuntimeActor.load(cfg.backend, cfg.checkpoint, cfg.export),
}

OmegaConf.register_new_resolver("models", lambda name: str(models_dir() / name), replace=True)


def play(cfg: DictConfig, env: gym.Env, seeds: list[int]) -> list[Episode]:
    """One episode of `cfg.actor` per seed, cycling through the task's instructed variants."""
    if cfg.actor not in ACTORS:
        raise ValueError(f"unknown actor {cfg.actor!r}; choose one of {sorted(ACTORS)}")
    if cfg.actor == "policy" and not cfg.checkpoint:
        raise ValueError("actor=policy needs checkpoint=<a fuse-train run or shipped model folder>")
    actor = ACTORS[cfg.actor](env, cfg)
    options = schedule(cfg.task)
    return [
        record_episode(env, actor, seed, cfg.max_steps, options[i % len(options)] if options else None)
        for i, seed in enumerate(seeds)
    ]


def film(cfg: DictConfig, env: gym.Env, episode: Episode) -> Path:
    fps = cfg.video.speed / control_period(env)
    title = f"{cfg.task} / {cfg.actor}" + (f" ({cfg.backend})" if cfg.actor == "policy" else "")
    renderer = EpisodeRenderer(env.unwrapped.observation_spec, episode, title)
    return write_video(renderer, Path(cfg.video.path), fps)


def run(cfg: DictConfig) -> None:
    config = generate_config(cfg)
    if cfg.actor == "expert":  # demonstrations, then one more episode (the dataset does not hold it) filmed
        report(generate(config, progress=cfg.progress), config.out)
        seeds = [episode_seed(config.seed, config.episodes)]
    else:
        seeds = [episode_seed(config.seed, i) for i in range(config.episodes)]
    env = make(cfg.task, **config.env)
    try:
        episodes = play(cfg, env, seeds)
        video = film(cfg, env, episodes[0])
    finally:
        env.close()
    if cfg.actor == "policy":
        outcomes = [e.succeeded for e in episodes]
        print(f"policy success: {sum(outcomes)}/{len(outcomes)} = {np.mean(outcomes):.2f} ({cfg.task})")
        for e in episodes:
            print(f"  {'success' if e.succeeded else 'failure'}: {e.instruction!r}")
    outcome = "success" if episodes[0].succeeded else "failure"
    print(f"video of the {cfg.actor}: {video} ({episodes[0].steps} steps, {outcome})")


@hydra.main(version_base="1.3", config_path="../conf", config_name="demo")
def _main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except (ValueError, FileNotFoundError, ImportError) as err:  # ImportError: a backend not installed
        sys.exit(f"fuse-demo: {err}")


def main() -> None:
    sys.argv = open_groups(sys.argv, "env")
    _main()


if __name__ == "__main__":
    main()
