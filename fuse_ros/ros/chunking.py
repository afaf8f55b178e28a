"""From predicted action chunks to one safe action per control step, at a fixed rate (`Ticker`).

The policy predicts a chunk of `k` actions at step s, meant for steps s .. s+k-1. Two ways to execute them:
- ensemble (ACT temporal ensembling): every stored chunk that covers step t votes with its action for t; the
  i-th oldest vote weighs exp(-coeff * i), so older predictions dominate and the motion stays smooth;
- receding horizon: only the newest covering chunk counts, and a new one is wanted every `execute_steps`.
Whatever the policy does, the action returned is finite: a non-finite chunk is dropped, and with no usable
chunk the executor holds the last action (or zeros) and says so in `Action.valid` / `Action.reason`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

MODES = ("ensemble", "receding")
FALLBACKS = ("hold", "zero")


class Ticker:
    """The fixed policy rate as step indices: step k is due at start + k / rate_hz. A loop that falls
    behind skips the steps it missed (counted in `missed`) instead of bursting through them, and step
    indices stay tied to time, so chunks predicted for step s line up with when s really happens."""

    def __init__(self, rate_hz: float, start: float):
        if rate_hz <= 0:
            raise ValueError(f"policy rate must be > 0, got {rate_hz}")
        self.rate_hz = rate_hz
        self.start = start
        self.missed = 0
        self._step = -1

    def _index(self, now: float) -> int:
        return math.floor((now - self.start) * self.rate_hz + 1e-9)

    def due(self, now: float) -> bool:
        """Whether `poll(now)` would return a step (exactly: `next_time()` may round the other way)."""
        return self._index(now) > self._step

    def poll(self, now: float) -> int | None:
        """The step to run now, or None if the next one is not due yet (each step is returned once)."""
        step = self._index(now)
        if step <= self._step:
            return None
        self.missed += step - self._step - 1
        self._step = step
        return step

    def next_time(self) -> float:
        """When the next step is due: how long a transport may wait for data meanwhile."""
        return self.start + (self._step + 1) / self.rate_hz


@dataclass(frozen=True)
class ChunkingConfig:
    """`fallback`: what to send with no usable chunk; "hold" suits absolute targets (joint or pose
    set-points), "zero" suits velocity or delta commands (driving, end-effector deltas)."""

    mode: str = "ensemble"
    coeff: float = 0.01  # ACT's m: weight exp(-m * i) for the i-th oldest prediction
    execute_steps: int = 1  # receding horizon: steps executed from one chunk before asking for the next
    fallback: str = "hold"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"chunking mode must be one of {MODES}, got {self.mode!r}")
        if self.fallback not in FALLBACKS:
            raise ValueError(f"chunking fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        if not np.isfinite(self.coeff):
            raise ValueError(f"chunking coeff must be finite, got {self.coeff}")
        if self.execute_steps < 1:
            raise ValueError(f"chunking execute_steps must be >= 1, got {self.execute_steps}")


@dataclass(frozen=True)
class Action:
    """The action for one step. `valid=False`: a fallback, not the policy's output; `reason` says why
    ("no chunk", "non-finite chunk") and is also set when a valid action came from older chunks because
    this step's prediction was non-finite."""

    value: np.ndarray  # (A,) float32, always finite
    step: int
    valid: bool
    reason: str = "ok"
    votes: int = 0  # chunks combined into `value`


class ChunkExecutor:
    """Holds the chunks predicted so far and turns them into one action per step."""

    def __init__(self, action_dim: int, chunk_size: int, config: ChunkingConfig | None = None):
        if action_dim < 1 or chunk_size < 1:
            raise ValueError(f"action_dim and chunk_size must be >= 1, got {action_dim}, {chunk_size}")
        self.action_dim = action_dim
        self.chunk_size = chunk_size
        self.config = config or ChunkingConfig()
        self.reset()

    def reset(self) -> None:
        """Forget all chunks (new episode)."""
        self._chunks: deque[tuple[int, np.ndarray]] = deque(maxlen=self.chunk_size)
        self._last = np.zeros(self.action_dim, np.float32)
        self._rejected_step: int | None = None
        self.rejected = 0  # non-finite chunks dropped so far

    def wants_chunk(self, step: int) -> bool:
        """Whether the policy should predict at this step (always in ensemble mode)."""
        if self.config.mode == "ensemble" or not self._chunks:
            return True
        return step >= self._chunks[-1][0] + self.config.execute_steps

    def add(self, chunk: np.ndarray, step: int) -> bool:
        """Store a chunk predicted at `step`, shape (k, A) with 1 <= k <= chunk_size. A chunk with NaN or
        Inf is dropped and counted (returns False); a wrongly shaped one is a programming error."""
        chunk = np.asarray(chunk)
        if chunk.ndim != 2 or not 1 <= chunk.shape[0] <= self.chunk_size or chunk.shape[1] != self.action_dim:
            raise ValueError(
                f"action chunk: expected shape (k <= {self.chunk_size}, {self.action_dim}), got {chunk.shape}"
            )
        with np.errstate(over="ignore"):  # overflow to Inf is caught with the NaNs just below
            chunk = chunk.astype(np.float32)
        if not np.isfinite(chunk).all():
            self.rejected += 1
            self._rejected_step = step
            return False
        if self._chunks and step <= self._chunks[-1][0]:  # a re-prediction replaces later ones
            self._chunks = deque((c for c in self._chunks if c[0] < step), maxlen=self.chunk_size)
        self._chunks.append((step, chunk))
        return True

    def act(self, step: int) -> Action:
        """The action to execute at `step`: a weighted mean of finite float32 votes, hence finite."""
        votes = [chunk[step - s] for s, chunk in self._chunks if s <= step < s + len(chunk)]  # oldest first
        if self.config.mode == "receding":
            votes = votes[-1:]
        reason = "non-finite chunk" if self._rejected_step == step else "ok"
        if votes:
            logits = -self.config.coeff * np.arange(len(votes))
            weights = np.exp(logits - logits.max())  # same ratios as exp(-m i), without overflow
            self._last = (weights @ np.stack(votes) / weights.sum()).astype(np.float32)
            return Action(self._last.copy(), step, True, reason, len(votes))
        if self.config.fallback == "zero":
            self._last = np.zeros(self.action_dim, np.float32)
        return Action(self._last.copy(), step, False, "no chunk" if reason == "ok" else reason)
