"""`fuse-generate`: the Hydra front end of `fuse_ros.data.generate`."""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from fuse_ros.cli import open_groups
from fuse_ros.data.generate import SUMMARY_FILE, GenerateConfig, generate


def generate_config(cfg: DictConfig) -> GenerateConfig:
    return GenerateConfig(
        task=cfg.task,
        episodes=cfg.episodes,
        out=Path(cfg.out),
        workers=cfg.workers,
        seed=cfg.seed,
        env=OmegaConf.to_container(cfg.env),
        keep_failed=cfg.keep_failed,
        bag=cfg.bag,
        overwrite=cfg.overwrite,
        max_steps=cfg.max_steps,
        action_noise=cfg.action_noise,
        late_driver=cfg.late_driver,
        breakdown=tuple(cfg.breakdown),
    )


def report(summary: dict, out: Path) -> None:
    print(
        f"{summary['task']}: expert success {summary['expert_success_rate']:.3f} "
        f"({summary['episodes']} episodes, {summary['episodes_kept']} kept), "
        f"{summary['steps_per_second']:.0f} steps/s, {summary['bytes_per_episode'] / 1e6:.2f} MB/episode"
    )
    for key, value in summary.items():
        if key.startswith("by_"):
            rates = ", ".join(
                f"{name} {r['success_rate']:.2f} ({r['episodes']})" for name, r in value.items()
            )
            print(f"  success {key.replace('_', ' ')}: {rates}")
    print(f"dataset: {out}  summary: {out / SUMMARY_FILE}")


@hydra.main(version_base="1.3", config_path="../conf", config_name="generate")
def _main(cfg: DictConfig) -> None:
    try:
        config = generate_config(cfg)
        summary = generate(config, progress=cfg.progress)
    except ValueError as err:  # bad task or value, existing dataset, unreadable file: no traceback
        sys.exit(f"fuse-generate: {err}")
    report(summary, config.out)


def main() -> None:
    sys.argv = open_groups(sys.argv, "env")
    _main()


if __name__ == "__main__":
    main()
