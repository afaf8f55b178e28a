"""`fuse-train`: the Hydra front end of `fuse_ros.train.trainer` (also under torchrun)."""

from __future__ import annotations

import sys

import hydra
import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf

from fuse_ros.cli import open_groups
from fuse_ros.data.episodes import DatasetError
from fuse_ros.policy import CheckpointError
from fuse_ros.train.trainer import TrainConfig, Trainer


def train_config(cfg: DictConfig) -> TrainConfig:
    values = OmegaConf.to_container(cfg, resolve=True)
    values.pop("threads")
    values["data"] = [values["data"]] if isinstance(values["data"], str) else values["data"]
    return TrainConfig(**values)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def _main(cfg: DictConfig) -> None:
    torch.set_num_threads(cfg.threads)
    try:
        Trainer(train_config(cfg)).run()
    except (DatasetError, CheckpointError, ValueError, FileNotFoundError) as err:
        sys.exit(f"fuse-train: {err}")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def main() -> None:
    sys.argv = open_groups(sys.argv, "policy")  # any PolicyConfig field; the config lists none
    _main()


if __name__ == "__main__":
    main()
