"""The assembled FuSe policy: config, network, checkpoints."""

from fuse_ros.policy.checkpoint import (
    CheckpointError,
    LoadReport,
    load_policy,
    load_weights,
    read_config,
    save_policy,
)
from fuse_ros.policy.config import PRESETS, PolicyConfig
from fuse_ros.policy.model import ACTION, BEV, LANGUAGE, Policy

__all__ = [
    "ACTION",
    "BEV",
    "LANGUAGE",
    "PRESETS",
    "CheckpointError",
    "LoadReport",
    "Policy",
    "PolicyConfig",
    "load_policy",
    "load_weights",
    "read_config",
    "save_policy",
]
