"""`fuse-ingest`: ROS 2 bags recorded on a robot become episodes of a training dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from fuse_ros.data.bag import ingest_bag
from fuse_ros.data.episodes import EpisodeStore
from fuse_ros.data.generate import episode_name
from fuse_ros.data.stats import compute_stats, save_stats
from fuse_ros.envs import make


def open_or_create(out: Path, task: str) -> EpisodeStore:
    """The dataset at `out`, or a new one with the observation spec of `task`'s simulator."""
    if (out / "dataset.json").exists():
        return EpisodeStore(out)
    env = make(task)
    spec = env.unwrapped.observation_spec
    env.close()
    return EpisodeStore.create(out, spec, {"task": task, "created_by": "fuse-ingest"})


@hydra.main(version_base="1.3", config_path="../conf", config_name="ingest")
def main(cfg: DictConfig) -> None:
    out = Path(cfg.out)
    try:
        store = open_or_create(out, cfg.task)
        index = len(store.names())
        for bag in cfg.bags:
            episode = ingest_bag(
                Path(bag).expanduser(),
                store.spec,
                OmegaConf.to_container(cfg.topics) or None,
                cfg.rate_hz,
                cfg.tolerance_s,
                cfg.success,
            )
            while (out / "episodes" / episode_name(index)).exists():
                index += 1
            store.write(episode, episode_name(index))
            valid = {name: f"{v.mean():.0%}" for name, v in episode.valid.items()}
            print(f"{bag} -> {episode_name(index)}: {episode.steps} steps, valid {valid}")
        save_stats(compute_stats((store.load(n, verify=False) for n in store.names()), store.spec), out)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"fuse-ingest: {err}")
    print(f"dataset: {out} ({len(store)} episodes)")


if __name__ == "__main__":
    main()
