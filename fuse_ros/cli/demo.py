"""`fuse-demo`: the README's main job. Demonstrations from the expert, then a video of an actor.

The actor is a named factory (`ACTORS`): the scripted expert, or a trained policy (`actor=policy
checkpoint=<fuse-train run folder>`), which then takes the expert's place in the video.
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
from fuse_ros.policy.actor import PolicyActor
from fuse_ros.viz import EpisodeRenderer, write_video

ACTORS: dict[str, Callable[[gym.Env, str | None], Actor]] = {
    "expert": lambda env, checkpoint: make_expert(env),
    "policy": lambda env, checkpoint: PolicyActor.load(checkpoint),
}


def film(
    task: str,
    env_kwargs: dict,
    actor: str,
    seed: int,
    path: Path,
    speed: float = 1.0,
    checkpoint: str | None = None,
) -> tuple[Path, Episode]:
    """Run one episode of `actor` and write its video; returns the video's path and the episode."""
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}; choose one of {sorted(ACTORS)}")
    if actor == "policy" and not checkpoint:
        raise ValueError("actor=policy needs checkpoint=<a fuse-train run folder>")
    env = make(task, **env_kwargs)
    try:
        episode = record_episode(env, ACTORS[actor](env, checkpoint), seed)
        fps = speed / control_period(env)
        renderer = EpisodeRenderer(env.unwrapped.observation_spec, episode, f"{task} / {actor}")
        return write_video(renderer, path, fps), episode
    finally:
        env.close()


@hydra.main(version_base="1.3", config_path="../conf", config_name="demo")
def _main(cfg: DictConfig) -> None:
    config = generate_config(cfg)
    try:
        summary = generate(config, progress=cfg.progress)
        report(summary, config.out)
        seed = episode_seed(config.seed, config.episodes)  # an episode the dataset does not hold
        video, episode = film(
            config.task, config.env, cfg.actor, seed, Path(cfg.video.path), cfg.video.speed, cfg.checkpoint
        )
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"fuse-demo: {err}")
    outcome = "success" if episode.succeeded else "failure"
    print(f"video of the {cfg.actor}: {video} ({episode.steps} steps, {outcome})")


def main() -> None:
    sys.argv = allow_env_keys(sys.argv)
    _main()


if __name__ == "__main__":
    main()
