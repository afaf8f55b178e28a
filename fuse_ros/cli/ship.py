"""`fuse-ship`: a fuse-train run as a shipped checkpoint under models/: fp16 weights, config, statistics,
and a model card whose numbers come from evaluating the shipped (fp16) weights themselves."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from fuse_ros.cli import open_groups
from fuse_ros.cli.eval import evaluate
from fuse_ros.data.episodes import DatasetError
from fuse_ros.policy import CheckpointError, load_policy
from fuse_ros.policy.card import write_card
from fuse_ros.policy.checkpoint import save_policy
from fuse_ros.train.state import read_training

COPIED = ("stats.json", "training.json", "metrics.jsonl")


def ship(cfg: DictConfig) -> dict:
    run, out = Path(cfg.checkpoint), Path(cfg.out)
    policy = load_policy(run)
    save_policy(policy, out, dtype=torch.float16)
    for name in COPIED:
        shutil.copyfile(run / name, out / name)
    training = read_training(run)["config"]
    eval_cfg = OmegaConf.merge(cfg, {"checkpoint": str(out), "out": str(out / "eval")})
    results = evaluate(eval_cfg)
    tasks = ",".join(results["success"])
    env = "".join(f" env.{k}={v}" for k, v in results["env"].items())
    card = {
        "name": cfg.name or out.name,
        "summary": cfg.summary,
        "experiment": cfg.recipe,
        "modalities": policy.spec.names(),
        "parameters": sum(p.numel() for p in policy.parameters()),
        "training": {k: training[k] for k in ("data", "init", "steps", "batch_size", "lr", "loss")},
        "seed": cfg.seed,
        **{k: v for k, v in results.items() if k not in ("checkpoint", "data")},
        "reproduce": f"fuse-eval checkpoint={out} episodes={cfg.episodes} tasks=[{tasks}]{env} out=<dir>",
    }
    write_card(out, card)
    return card


@hydra.main(version_base="1.3", config_path="../conf", config_name="ship")
def _main(cfg: DictConfig) -> None:
    torch.set_num_threads(cfg.threads)
    try:
        card = ship(cfg)
    except (DatasetError, CheckpointError, ValueError, FileNotFoundError) as err:
        sys.exit(f"fuse-ship: {err}")
    print(f"shipped {cfg.out}: success {card['success']}")


def main() -> None:
    sys.argv = open_groups(sys.argv, "env")
    _main()


if __name__ == "__main__":
    main()
