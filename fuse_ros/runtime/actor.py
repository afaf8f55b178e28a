"""A policy as an actor (`reset()`, `act(obs)`), served by any backend: what the ROS policy node,
`fuse-demo`, `fuse-eval` and `record_episode` run.

This is the whole robot-side step: raw readings -> `Preprocessor` (window, validity, task-token cache) ->
`Runtime.infer` (torch, onnxruntime or tensorrt; normalisation lives inside the graph) -> `ChunkExecutor`
(which drops a non-finite chunk and holds, so no NaN ever reaches the robot).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fuse_ros.ros.chunking import Action, ChunkExecutor, ChunkingConfig
from fuse_ros.runtime import load_runtime
from fuse_ros.runtime.base import Runtime
from fuse_ros.runtime.preprocess import Encoder, Preprocessor

ACTIONS = "actions"


class RuntimeActor:
    """`drop`: modalities treated as silent at test time (robustness to a lost sensor);
    `instruction`: said instead of the observation's instruction (None: the observation's)."""

    def __init__(
        self,
        runtime: Runtime,
        encoder: Encoder | None,
        chunking: ChunkingConfig | None = None,
        drop: Sequence[str] = (),
        instruction: str | None = None,
    ):
        self.runtime, self.preprocessor = runtime, Preprocessor(runtime.manifest, encoder)
        actions = next((t for t in runtime.manifest.outputs if t.name == ACTIONS), None)
        if actions is None:
            raise ValueError(f"the {runtime.name} model has no '{ACTIONS}' output")
        sensors = self.preprocessor.spec.names()
        unknown = [m for m in drop if m not in sensors]
        if unknown:
            raise ValueError(f"cannot drop {unknown}: the policy's sensors are {sensors}")
        self.drop, self.instruction = frozenset(drop), instruction
        chunk, dim = actions.shape[-2:]
        self.executor = ChunkExecutor(dim, chunk, chunking or ChunkingConfig("receding", 0.0, 2))
        self.step = 0

    @classmethod
    def load(
        cls,
        backend: str,
        checkpoint: str | Path,
        export: str | Path | None = None,
        chunking: ChunkingConfig | None = None,
        drop: Sequence[str] = (),
        instruction: str | None = None,
        **options,
    ) -> RuntimeActor:
        """The policy of a fuse-train run folder on `backend` (onnxruntime/tensorrt need fuse-export's
        folder), with the frozen language encoder for its instructions; `options` go to the backend."""
        from fuse_ros.nn.language import LanguageEncoder

        runtime = load_runtime(backend, checkpoint, export, **options)
        encoder = LanguageEncoder(int(runtime.manifest.policy["max_task_tokens"])).encode
        return cls(runtime, encoder, chunking, drop, instruction)

    def with_drop(self, drop: Sequence[str]) -> RuntimeActor:
        """The same loaded model and encoder, with other sensors dropped."""
        return RuntimeActor(
            self.runtime, self.preprocessor.encoder, self.executor.config, drop, self.instruction
        )

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
        self.preprocessor.push({k: v for k, v in obs.items() if k not in self.drop})
        outputs = None
        if self.executor.wants_chunk(step):
            said = self.instruction if self.instruction is not None else str(obs.get("instruction", ""))
            feeds = self.preprocessor.feeds(said)
            with np.errstate(all="ignore"):
                outputs = self.runtime.infer(feeds)
                self.executor.add(outputs[ACTIONS][0], step)
        self.step = step + 1
        return self.executor.act(step), outputs
