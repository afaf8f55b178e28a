"""A deployed policy as an actor (`reset()`, `act(obs)`), served by any backend.

This is the whole robot-side step: raw readings -> `Preprocessor` (window, validity, task-token cache) ->
`Runtime.infer` (torch, onnxruntime or tensorrt; normalisation lives inside the graph) -> `ChunkExecutor`
(which drops a non-finite chunk and holds, so no NaN ever reaches the robot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fuse_ros.ros.chunking import Action, ChunkExecutor, ChunkingConfig
from fuse_ros.runtime import load_runtime
from fuse_ros.runtime.base import Runtime
from fuse_ros.runtime.preprocess import Encoder, Preprocessor

ACTIONS = "actions"


class RuntimeActor:
    def __init__(self, runtime: Runtime, encoder: Encoder | None, chunking: ChunkingConfig | None = None):
        self.runtime, self.preprocessor = runtime, Preprocessor(runtime.manifest, encoder)
        actions = next((t for t in runtime.manifest.outputs if t.name == ACTIONS), None)
        if actions is None:
            raise ValueError(f"the {runtime.name} model has no '{ACTIONS}' output")
        chunk, dim = actions.shape[-2:]
        self.executor = ChunkExecutor(dim, chunk, chunking or ChunkingConfig("receding", 0.0, 2))
        self.step = 0

    @classmethod
    def load(
        cls, backend: str, checkpoint: str | Path, export: str | Path | None = None, **options
    ) -> RuntimeActor:
        """The policy of a fuse-train run folder on `backend` (onnxruntime/tensorrt need fuse-export's
        folder), with the frozen language encoder for its instructions."""
        from fuse_ros.nn.language import LanguageEncoder

        runtime = load_runtime(backend, checkpoint, export, **options)
        encoder = LanguageEncoder(int(runtime.manifest.policy["max_task_tokens"])).encode
        return cls(runtime, encoder)

    def reset(self) -> None:
        self.preprocessor.reset()
        self.executor.reset()
        self.step = 0

    def act(self, obs: dict) -> np.ndarray:
        action, _ = self.act_step(obs, self.step)
        return action.value

    def act_step(self, obs: dict, step: int) -> tuple[Action, dict[str, np.ndarray] | None]:
        """One control step numbered `step` (a ROS node's Ticker step, so chunks stay tied to time):
        the action and, when the model ran, all its outputs (embedding, description logits too)."""
        self.preprocessor.push(obs)
        outputs = None
        if self.executor.wants_chunk(step):
            feeds = self.preprocessor.feeds(str(obs.get("instruction", "")))
            with np.errstate(all="ignore"):
                outputs = self.runtime.infer(feeds)
                self.executor.add(outputs[ACTIONS][0], step)
        self.step = step + 1
        return self.executor.act(step), outputs
