"""A trained policy as an actor (`reset()`, `act(obs)`): what the evaluator, `record_episode` and
`fuse-demo` run in a simulator.

It keeps the observation history the policy was trained with (steps not seen yet are marked invalid,
as in training), normalises proprioception and de-normalises actions with the checkpoint's statistics,
and executes action chunks through the same `ChunkExecutor` the ROS node uses, so a non-finite
prediction is dropped and the robot holds instead of receiving NaN.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from fuse_ros.nn.language import LanguageEncoder
from fuse_ros.observation import Kind
from fuse_ros.policy.checkpoint import load_policy
from fuse_ros.policy.model import Policy
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.ros.chunking import ChunkExecutor, ChunkingConfig


class PolicyActor:
    """Runs `policy` on gym observations. `drop`: modalities masked as missing at test time (robustness);
    `instruction`: replaces the simulator's instruction (None: use it)."""

    def __init__(
        self,
        policy: Policy,
        normalizer: Normalizer,
        language: LanguageEncoder,
        chunking: ChunkingConfig | None = None,
        drop: Sequence[str] = (),
        instruction: str | None = None,
    ):
        self.policy, self.normalizer, self.language = policy.eval(), normalizer, language
        self.embodiment = next(iter(policy.action_heads))
        dim = policy.config.action_dims[self.embodiment]
        self.executor = ChunkExecutor(
            dim, policy.config.action_chunk, chunking or ChunkingConfig("receding", 0.0, 2)
        )
        unknown = [m for m in drop if m not in policy.spec.modalities]
        if unknown:
            raise ValueError(f"cannot drop {unknown}: the policy's sensors are {policy.spec.names()}")
        self.drop, self.instruction = set(drop), instruction
        self.reset()

    @classmethod
    def load(cls, folder: str | Path, **kwargs) -> PolicyActor:
        """The policy of a checkpoint folder with the statistics saved beside it."""
        policy = load_policy(folder)
        return cls(policy, Normalizer.load(folder), LanguageEncoder(policy.config.max_task_tokens), **kwargs)

    def reset(self) -> None:
        self.history: deque[dict[str, np.ndarray]] = deque(maxlen=self.policy.config.window)
        self.executor.reset()
        self.step = 0

    def _reading(self, obs: dict) -> dict[str, np.ndarray]:
        reading = {}
        for m in self.policy.spec:
            value = np.asarray(obs[m.name]) if m.name in obs else np.zeros(m.max_shape, m.dtype)
            if m.kind is Kind.PROPRIO and m.name in self.normalizer:
                value = self.normalizer.normalize(m.name, value)
            reading[m.name] = value
            if m.max_len is not None:
                reading[f"{m.name}_count"] = np.asarray(obs.get(f"{m.name}_count", 0))
            reading[f"{m.name}/valid"] = np.asarray(m.name in obs and m.name not in self.drop)
        return reading

    @torch.no_grad()
    def _predict(self, instruction: str) -> np.ndarray:
        """The normalised action chunk for the newest step, (chunk, A)."""
        steps = list(self.history)
        pad = self.policy.config.window - len(steps)
        steps = [steps[0]] * pad + steps
        batch, valid = {}, {}
        for key in steps[0]:
            stacked = torch.from_numpy(np.stack([s[key] for s in steps]))[None]  # (1, W, ...)
            if key.endswith("/valid"):
                stacked[0, :pad] = False
                valid[key.removesuffix("/valid")] = stacked
            else:
                batch[key] = stacked
        task = self.language.encode([instruction])
        return self.policy.predict_actions(batch, valid, task, self.embodiment)[0].numpy()

    def act(self, obs: dict) -> np.ndarray:
        self.history.append(self._reading(obs))
        if self.executor.wants_chunk(self.step):
            instruction = (
                self.instruction if self.instruction is not None else str(obs.get("instruction", ""))
            )
            chunk = self._predict(instruction)
            with np.errstate(all="ignore"):
                self.executor.add(self.normalizer.denormalize("actions", chunk), self.step)
        action = self.executor.act(self.step).value
        self.step += 1
        return action
