"""A training run's folder: the policy checkpoint plus what resuming and evaluating need.

    <out>/config.json, model.safetensors   the policy (fuse_ros.policy.save_policy)
    <out>/stats.json                        normalisation statistics of its training data
    <out>/training.json                     the run's settings (data, embodiment, step reached)
    <out>/optimizer.safetensors             AdamW moments as tensors, hyper-parameters as metadata
    <out>/metrics.jsonl, <out>/logs/        loss curves (JSON lines; TensorBoard)

No pickle anywhere: a run folder can be loaded from an untrusted source without running code.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from fuse_ros.data.episodes import write_json_atomic
from fuse_ros.policy import Policy, save_policy
from fuse_ros.policy.normalize import Normalizer

TRAINING_FILE = "training.json"
OPTIMIZER_FILE = "optimizer.safetensors"
METRICS_FILE = "metrics.jsonl"


def save_run(
    out: Path, policy: Policy, normalizer: Normalizer, optimizer: torch.optim.Optimizer, info: dict[str, Any]
) -> None:
    save_policy(policy, out)
    normalizer.save(out)
    state = optimizer.state_dict()
    tensors = {f"state.{i}.{k}": v.contiguous() for i, s in state["state"].items() for k, v in s.items()}
    save_file(tensors, out / OPTIMIZER_FILE, metadata={"param_groups": json.dumps(state["param_groups"])})
    write_json_atomic(out / TRAINING_FILE, info)


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    state: dict[int, dict[str, torch.Tensor]] = defaultdict(dict)
    with safe_open(str(path), "pt") as f:
        groups = json.loads(f.metadata()["param_groups"])
        for key in f.keys():  # noqa: SIM118 (safe_open is not iterable)
            _, index, name = key.split(".", 2)
            state[int(index)][name] = f.get_tensor(key)
    optimizer.load_state_dict({"state": dict(state), "param_groups": groups})


def read_training(out: Path) -> dict[str, Any]:
    path = Path(out) / TRAINING_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a fuse-train run folder ({err})") from None


def read_metrics(out: Path) -> list[dict[str, float]]:
    path = Path(out) / METRICS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []
