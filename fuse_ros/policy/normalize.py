"""Normalisation of actions and proprioception with a dataset's statistics (stats.json).

One object used by training (targets, proprio inputs), evaluation and any deployment: the statistics
travel with the checkpoint, so a policy never meets numbers scaled differently from its training data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fuse_ros.data.stats import NormStats, load_stats, save_stats

MIN_STD = 1e-3  # constant dimensions (a gripper that never moves) stay finite


class Normalizer:
    """(x - mean) / std per dimension for "actions" and each proprio modality that has statistics."""

    def __init__(self, stats: Mapping[str, NormStats]):
        if "actions" not in stats:
            raise ValueError("normalisation statistics lack 'actions'")
        self.stats = dict(stats)
        self._mean = {k: np.asarray(s.mean, np.float32) for k, s in stats.items()}
        self._std = {k: np.maximum(np.asarray(s.std, np.float32), MIN_STD) for k, s in stats.items()}

    @classmethod
    def load(cls, folder: str | Path) -> Normalizer:
        return cls(load_stats(folder))

    def save(self, folder: str | Path) -> Path:
        return save_stats(self.stats, folder)

    def __contains__(self, key: str) -> bool:
        return key in self._mean

    def normalize(self, key: str, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float32) - self._mean[key]) / self._std[key]).astype(np.float32)

    def denormalize(self, key: str, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float32) * self._std[key] + self._mean[key]).astype(np.float32)
