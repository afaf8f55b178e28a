"""manifest.json: what an exported model takes and gives, how it was made, hashes that tie it to its files.

A runtime reads the manifest, checks it against the ONNX file (hash, input and output names, dtypes, ranks)
and checks every feed against it, so a stale manifest, a swapped model or a wrong array fails with a
message naming the file or the input, never deep inside a runtime.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fuse_ros.data.episodes import write_json_atomic
from fuse_ros.export.graph import TASK_MASK, TensorSpec

MANIFEST_FILE, MODEL_FILE, PARITY_FILE = "manifest.json", "model.onnx", "parity.json"
FORMAT = "fuse_ros.export/1"


class ExportError(ValueError):
    """An exported model, its manifest or a feed that cannot be used; the message says which and why."""


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Manifest:
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    opset: int
    embodiment: str
    dynamic: dict[str, tuple[int, int]]  # dynamic axis -> (min, max): the TensorRT profile bounds
    preprocessing: dict[str, Any]  # constants of the preprocessing inside and outside the graph
    sha256: dict[str, str]  # "onnx", "weights" (and "stats") -> hex digest
    policy: dict[str, Any] = field(default_factory=dict)  # PolicyConfig.to_dict()
    observation: list[dict] = field(default_factory=list)  # the observation spec, as in the checkpoint
    checkpoint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "opset": self.opset,
            "embodiment": self.embodiment,
            "dynamic": {k: list(v) for k, v in self.dynamic.items()},
            "preprocessing": self.preprocessing,
            "sha256": self.sha256,
            "policy": self.policy,
            "observation": self.observation,
            "checkpoint": self.checkpoint,
        }

    def write(self, folder: str | Path) -> Path:
        path = Path(folder) / MANIFEST_FILE
        write_json_atomic(path, self.to_json())
        return path

    @classmethod
    def read(cls, folder: str | Path) -> Manifest:
        path = Path(folder) / MANIFEST_FILE
        try:
            raw = json.loads(path.read_text())
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT!r}")
            return cls(
                inputs=[TensorSpec.from_json(t) for t in raw["inputs"]],
                outputs=[TensorSpec.from_json(t) for t in raw["outputs"]],
                opset=int(raw["opset"]),
                embodiment=raw["embodiment"],
                dynamic={k: (int(v[0]), int(v[1])) for k, v in raw["dynamic"].items()},
                preprocessing=raw["preprocessing"],
                sha256=raw["sha256"],
                policy=raw.get("policy", {}),
                observation=raw.get("observation", []),
                checkpoint=raw.get("checkpoint", ""),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ExportError(f"{path}: not a readable export manifest ({e})") from None

    def dims(self, batch: int, points: int) -> dict[str, int]:
        """Concrete sizes of the dynamic axes."""
        return {name: batch if name == "batch" else points for name in self.dynamic}

    def check_feeds(self, feeds: Mapping[str, np.ndarray]) -> None:
        """Every input present with the manifest's dtype, rank and fixed sizes; dynamic sizes consistent."""
        missing = [t.name for t in self.inputs if t.name not in feeds]
        extra = sorted(set(feeds) - {t.name for t in self.inputs})
        if missing or extra:
            raise ExportError(f"model inputs: missing {missing}, unexpected {extra}")
        sizes: dict[str, int] = {}
        for t in self.inputs:
            x = feeds[t.name]
            if not isinstance(x, np.ndarray) or x.dtype != np.dtype(t.dtype):
                got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
                raise ExportError(f"input {t.name!r}: expected dtype {t.dtype}, got {got}")
            fits = x.ndim == len(t.shape) and all(
                sizes.setdefault(d, n) == n if isinstance(d, str) else d == n
                for d, n in zip(t.shape, x.shape, strict=False)
            )
            if not fits:
                raise ExportError(f"input {t.name!r}: expected shape {list(t.shape)}, got {list(x.shape)}")
        for name, size in sizes.items():
            low, high = self.dynamic[name]
            if not low <= size <= high:
                raise ExportError(
                    f"dynamic axis {name!r} = {size} is outside the exported range [{low}, {high}]"
                )


def random_feeds(manifest: Manifest, batch: int, points: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Feeds of the right shapes and dtypes (counts within the point axis, a task of >= 1 token)."""
    rng = np.random.default_rng(seed)
    dims = manifest.dims(batch, points)
    feeds = {}
    for t in manifest.inputs:
        shape = tuple(dims[d] if isinstance(d, str) else d for d in t.shape)
        if t.dtype == "uint8":
            feeds[t.name] = rng.integers(0, 256, shape, dtype=np.uint8)
        elif t.dtype == "int64":
            feeds[t.name] = rng.integers(1, points + 1, shape, dtype=np.int64)
        elif t.dtype == "bool":
            feeds[t.name] = rng.random(shape) > 0.2
        else:
            feeds[t.name] = (rng.standard_normal(shape) * 3).astype(t.dtype)
    if TASK_MASK in feeds:
        length = feeds[TASK_MASK].shape[1]
        feeds[TASK_MASK] = np.arange(length) < rng.integers(1, length + 1, (batch, 1))
    return feeds
