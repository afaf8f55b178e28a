"""The step outside the graph: raw sensor readings -> a rolling window of model feeds.

What a robot loop does each control step before the model: keep the last `window` readings per sensor,
mark steps not seen yet (or a sensor that did not report) invalid, crop a lidar scan to its real points
(the point axis is dynamic), and look up the instruction's task tokens in a cache (the frozen language
encoder runs once per new instruction, not per step).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from fuse_ros.export.graph import ACTION_NOISE, TASK_MASK, TASK_TOKENS
from fuse_ros.export.manifest import Manifest
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.observation import ObservationSpec
from fuse_ros.policy.checkpoint import spec_from_json

Encoder = Callable[[Sequence[str]], TokenGroup]


def stack_feeds(feeds: Sequence[Mapping[str, np.ndarray]], manifest: Manifest) -> dict[str, np.ndarray]:
    """Concatenate batches along axis 0, zero-padding each dynamic point axis to the longest."""
    stacked = {}
    for t in manifest.inputs:
        arrays = [f[t.name] for f in feeds]
        for axis, dim in enumerate(t.shape):
            if isinstance(dim, str) and dim != "batch":
                size = max(a.shape[axis] for a in arrays)
                widths = [
                    [(0, size - a.shape[axis]) if i == axis else (0, 0) for i in range(a.ndim)]
                    for a in arrays
                ]
                arrays = [np.pad(a, w) for a, w in zip(arrays, widths, strict=True)]
        stacked[t.name] = np.concatenate(arrays)
    return stacked


class Preprocessor:
    """`push` one observation per control step, then `feeds` for the model (batch 1, or copies of it)."""

    def __init__(self, manifest: Manifest, encoder: Encoder | None = None, seed: int = 0):
        """encoder: text -> task tokens (e.g. `LanguageEncoder.encode`); None runs without language.
        seed: of the diffusion head's noise, where the model takes it (the same seed, the same actions)."""
        self.manifest = manifest
        self.noise = next((t for t in manifest.inputs if t.name == ACTION_NOISE), None)
        self.rng = np.random.default_rng(seed)
        self.spec: ObservationSpec = spec_from_json(manifest.observation)
        self.window = int(manifest.preprocessing["outside"]["window"])
        task = manifest.preprocessing["outside"]["task_tokens"]
        self.task_shape = (task["max_tokens"], task["dim"])
        self.encoder = encoder
        self.history: deque[dict[str, np.ndarray | None]] = deque(maxlen=self.window)
        self._tasks: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def reset(self) -> None:
        self.history.clear()

    def push(self, observation: Mapping[str, np.ndarray]) -> None:
        """Gym observation keys: `<name>` per modality (a lidar also `<name>_count`); a modality that is
        absent or None did not report this step. Readings are validated against the spec."""
        step: dict[str, np.ndarray | None] = {}
        for s in self.spec:
            x = observation.get(s.name)
            if x is not None and s.max_len is not None:
                x = np.asarray(x)[: int(observation[f"{s.name}_count"])]
            step[s.name] = None if x is None else s.validate(np.asarray(x))
        self.history.append(step)

    def task(self, instruction: str) -> tuple[np.ndarray, np.ndarray]:
        if instruction not in self._tasks:
            if self.encoder is None or not instruction:
                tokens, mask = np.zeros(self.task_shape, np.float32), np.zeros(self.task_shape[0], bool)
            else:
                group = self.encoder([instruction])
                tokens, mask = group.tokens[0].cpu().numpy(), group.mask[0].cpu().numpy()
            self._tasks[instruction] = (tokens.astype(np.float32), mask.astype(bool))
        return self._tasks[instruction]

    def feeds(self, instruction: str = "", batch: int = 1) -> dict[str, np.ndarray]:
        steps = [None] * (self.window - len(self.history)) + list(self.history)
        feeds = {}
        for s in self.spec:
            readings = [None if step is None else step[s.name] for step in steps]
            valid = np.array([r is not None for r in readings])
            if s.max_len is not None:
                counts = np.array([0 if r is None else len(r) for r in readings], np.int64)
                points = np.zeros((len(steps), max(1, counts.max()), *s.shape[1:]), s.dtype)
                for t, r in enumerate(readings):
                    if r is not None:
                        points[t, : len(r)] = r
                feeds[s.name], feeds[f"{s.name}_count"] = points, counts
            else:
                feeds[s.name] = np.stack([s.zeros() if r is None else r for r in readings])
            feeds[f"{s.name}_valid"] = valid
        feeds[TASK_TOKENS], feeds[TASK_MASK] = self.task(instruction)
        feeds = {k: np.repeat(v[None], batch, axis=0) for k, v in feeds.items()}
        if self.noise is not None:  # each copy its own draw: a batch of samples of the same moment
            feeds[ACTION_NOISE] = self.rng.standard_normal((batch, *self.noise.shape[1:]), np.float32)
        return feeds
