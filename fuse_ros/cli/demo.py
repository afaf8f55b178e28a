"""`fuse-demo`: the README's main job. Demonstrations from the expert, then a video of an actor.

The actor is a named factory (`ACTORS`): the scripted expert, or a trained policy (`actor=policy
checkpoint=<fuse-train run folder>`) on any backend (`backend=onnxruntime export=<fuse-export folder>`),
which then takes the expert's place in the video.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import hydra
from omegaconf import DictConfig

from fuse_ros.cli.generate import allow_env_keys, generate_config, report
from fuse_ros.data.episodes import Episode
from fuse_ros.data.generate import episode_seed, generate
from fuse_ros.data.record import Actor, control_period, record_episode
from fuse_ros.envs import make, make_expert
from fuse_ros.runtime.actor import RuntimeActor
from fuse_ros.viz import EpisodeRenderer, write_video

ACTORS: dict[str, Callable[[gym.Env, DictConfig], Actor]] = {
    "expert": lambda env, cfg: make_expert(env),
    "policy": lambda env, cfg: RuntimeActor.load(cfg.backend, cfg.checkpoint, cfg.export),
}


def film(cfg: DictConfig, env_kwargs: dict, seed: int) -> tuple[Path, Episode]:
    """Run one episode of `cfg.actor` and write its video; returns the video's path and the episode."""
    if cfg.actor not in ACTORS:
        raise ValueError(f"unknown actor {cfg.actor!r}; choose one of {sorted(ACTORS)}")
    if cfg.actor == "policy" and not cfg.checkpoint:
        raise ValueError("actor=policy needs checkpoint=<a fuse-train run folder>")
    env = make(cfg.task, **env_kwargs)
    try:
        episode = record_episode(env, ACTORS[cfg.actor](env, cfg), seed)
        fps = cfg.video.speed / control_period(env)
        title = f"{cfg.task} / {cfg.actor}" + (f" ({cfg.backend})" if cfg.actor == "policy" else "")
        renderer = EpisodeRenderer(env.unwrapped.observation_spec, episode, title)
        return write_video(renderer, Path(cfg.video.path), fps), episode
    finally:
        env.close()


@hydra.main(version_base="1.3", config_path="../conf", config_name="demo")
def _main(cfg: DictConfig) -> None:
    config = generate_config(cfg)
    try:
        summary = generate(config, progress=cfg.progress)
        report(summary, config.out)
        seed = episode_seed(config.seed, config.episodes)  # an episode the dataset does not hold
        video, episode = film(cfg, config.env, seed)
    except (ValueError, FileNotFoundError, ImportError) as err:  # ImportError: a backend not installed
        sys.exit(f"fuse-demo: {err}")
    outcome = "success" if episode.succeeded else "failure"
    print(f"video of the {cfg.actor}: {video} ({episode.steps} steps, {outcome})")


def main() -> None:
    sys.argv = allow_env_keys(sys.argv)
    _main()


if __name__ == "__main__":
    main()
