"""Per-dimension normalisation statistics of a dataset's actions and proprioception.

Written next to the dataset (`stats.json`) when it is generated, and saved with a trained policy, so that
training, evaluation and the ROS node normalise with the same numbers. Both the Gaussian form (mean, std)
and the bounds form (quantiles q01 / q99, as Octo normalises actions) are kept; min and max catch outliers.
Only valid steps count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fuse_ros.data.episodes import Episode, write_json_atomic
from fuse_ros.observation import Kind, ObservationSpec

STATS_FILE = "stats.json"


@dataclass(frozen=True)
class NormStats:
    """Statistics of one (steps, D) stream, each a list of D numbers; `count` is the number of steps."""

    mean: list[float]
    std: list[float]
    min: list[float]
    max: list[float]
    q01: list[float]
    q99: list[float]
    count: int

    @classmethod
    def of(cls, values: np.ndarray) -> NormStats:
        if len(values) == 0:
            raise ValueError("no steps to compute statistics from")
        values = np.asarray(values, np.float64).reshape(len(values), -1)
        q01, q99 = np.quantile(values, [0.01, 0.99], axis=0)
        return cls(
            *(a.tolist() for a in (values.mean(0), values.std(0), values.min(0), values.max(0), q01, q99)),
            count=len(values),
        )


def compute_stats(episodes: Iterable[Episode], spec: ObservationSpec) -> dict[str, NormStats]:
    """Statistics of "actions" and of every proprio modality (by name) over the episodes."""
    proprio = spec.names(Kind.PROPRIO)
    columns: dict[str, list[np.ndarray]] = {"actions": [], **{name: [] for name in proprio}}
    for episode in episodes:
        columns["actions"].append(np.asarray(episode.actions))
        for name in proprio:
            columns[name].append(np.asarray(episode.observations[name])[episode.valid[name]])
    return {key: NormStats.of(np.concatenate(parts)) for key, parts in columns.items() if parts}


def save_stats(stats: dict[str, NormStats], root: str | Path) -> Path:
    path = Path(root) / STATS_FILE
    write_json_atomic(path, {key: asdict(value) for key, value in stats.items()})
    return path


def load_stats(root: str | Path) -> dict[str, NormStats]:
    path = Path(root) / STATS_FILE
    try:
        return {key: NormStats(**value) for key, value in json.loads(path.read_text()).items()}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no statistics; generate the dataset with fuse-generate") from None
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: unreadable statistics ({err})") from None
