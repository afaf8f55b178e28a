"""Checkpoints of freshly initialised policies for the simulators' own observation specs, exported once per
session. The policies are the `tiny` preset made smaller still (1 layer, width 32): export time, not size,
is what these tests pay for on a shared 2-core machine; every sensor kind still goes through the graph."""

import numpy as np
import pytest
import torch

from fuse_ros.data.stats import NormStats, save_stats
from fuse_ros.envs import make
from fuse_ros.export.onnx import export_onnx
from fuse_ros.policy import Policy, PolicyConfig, save_policy

SMALL = {
    "depth": 1,
    "width": 32,
    "heads": 2,
    "mlp_dim": 64,
    "language_readouts": 2,
    "image_channels": (8, 8, 8, 8),
    "tactile_channels": (8, 8, 8),
    "audio_channels": (8, 8, 8),
    "lidar_point_channels": 8,
    "lidar_channels": (8, 8),
    "embed_dim": 16,
}
EMBODIMENT = {"grasp": "manipulation", "driving": "driving"}


def make_checkpoint(task: str, folder, stats: bool = False, **overrides):
    env = make(task)
    spec, actions = env.unwrapped.observation_spec, env.action_space.shape[0]
    env.close()
    torch.manual_seed(0)
    config = PolicyConfig.preset("tiny", **{**SMALL, **overrides}, action_dims={EMBODIMENT[task]: actions})
    save_policy(Policy(config, spec), folder)
    if stats:  # as the trainer saves them: normalisation moves into the graph
        rng = np.random.default_rng(0)
        proprio = spec["proprio"].shape[0]
        save_stats(
            {
                "actions": NormStats.of(rng.normal(0.5, 2.0, (50, actions)).astype(np.float32)),
                "proprio": NormStats.of(rng.normal(-1.0, 3.0, (50, proprio)).astype(np.float32)),
            },
            folder,
        )
    return folder


@pytest.fixture(scope="session")
def grasp_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("grasp")
    checkpoint = make_checkpoint("grasp", root / "checkpoint", stats=True)
    export_onnx(checkpoint, root / "export", outputs=("actions", "embedding", "description"))
    return checkpoint, root / "export"


@pytest.fixture(scope="session")
def driving_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("driving")
    checkpoint = make_checkpoint("driving", root / "checkpoint")
    export_onnx(checkpoint, root / "export", max_points=8192)
    return checkpoint, root / "export"
