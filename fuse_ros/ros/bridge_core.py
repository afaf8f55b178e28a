"""A gymnasium simulator as a robot's sensors and actuators, without ROS: what the sim bridge nodes call.

The simulator steps at its control rate; its sensors are published at their own rates (`SimBridgeParams`:
cameras 30 Hz, tactile 60 Hz, audio in 10 ms chunks, ...). A sample stamped s shows the simulated state at
the latest control step at or before s (sample and hold), so the samples stamped at a control step carry
that step's observation: a policy aligned on them sees what an in-process evaluation sees. Audio is cut
into chunks of what was heard during the step, stamped at their last sample, so joined again they give
back the simulator's waveform window. Stamps are integer nanoseconds of simulated time, continuous across
episodes (with `episode_gap_s` of silence between them, after which a policy node starts over).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fuse_ros.data import messages
from fuse_ros.data.record import control_period
from fuse_ros.envs import make
from fuse_ros.observation import Kind, ModalitySpec
from fuse_ros.ros.params import SimBridgeParams

NS = 10**9


# A lockstep bridge publishes an episode's instruction this long (wall time) before its first data, so a
# policy node does not act on a new episode with the old instruction (with 0.2 s, episodes compared with
# in-process ones diverged now and then on a machine with twice as many busy processes as cores).
INSTRUCTION_LEAD_S = 0.5


@dataclass(frozen=True)
class Sample:
    """One sensor message's content: a modality's data at a stamp."""

    spec: ModalitySpec
    stamp_ns: int
    data: np.ndarray


@dataclass(frozen=True)
class EpisodeResult:
    episode: int
    seed: int
    success: bool
    steps: int
    instruction: str


@dataclass
class LoopLog:
    """What a bridge shell measures of the loop, on the wall clock: sensor-to-action latency (from the
    first sample of a step going out to the first action answering it) and the time spent in episodes."""

    published: dict[int, float] = field(default_factory=dict)  # stamp (us) -> first sample out (monotonic)
    latencies: list[float] = field(default_factory=list)  # seconds
    running_s: float = 0.0
    episode_start: float = 0.0  # monotonic

    def start_episode(self, at: float | None = None) -> None:
        """A new episode's clock starts (now, or at `at`); answers to the old one no longer count."""
        self.published.clear()
        self.episode_start = time.monotonic() if at is None else at

    def end_episode(self) -> None:
        self.running_s += time.monotonic() - self.episode_start

    def sent(self, stamp_ns: int) -> None:
        self.published.setdefault(stamp_ns // 1000, time.monotonic())

    def answered(self, stamp_ns: int) -> None:
        """An action for the step stamped `stamp_ns` came in (microseconds: wall-clock stamps pass
        through floats); a step's latency is its first answer's."""
        published = self.published.pop(stamp_ns // 1000, None)
        if published is not None:
            self.latencies.append(time.monotonic() - published)

    def progress(self, result: EpisodeResult) -> str:
        p50, p99 = np.percentile(self.latencies, [50, 99]) * 1e3 if self.latencies else (np.nan, np.nan)
        outcome = "success" if result.success else "failure"
        return (
            f"episode {result.episode} (seed {result.seed}): {outcome} in {result.steps} steps; "
            f"sensor-to-action latency so far p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )

    def summary(self, task: str, results: list[EpisodeResult]) -> dict:
        """The run's report: success, per-episode results, pace and latency."""
        latency = np.array(self.latencies) * 1e3
        return {
            "task": task,
            "episodes": len(results),
            "success_rate": float(np.mean([r.success for r in results])) if results else 0.0,
            "results": [r.__dict__ for r in results],
            "steps_per_s": sum(r.steps for r in results) / self.running_s if self.running_s else None,
            "latency_ms": {
                "p50": float(np.percentile(latency, 50)) if len(latency) else None,
                "p99": float(np.percentile(latency, 99)) if len(latency) else None,
                "max": float(latency.max()) if len(latency) else None,
                "samples": len(latency),
            },
        }


class SimBridgeCore:
    """`reset()` starts the next episode, `step(action)` advances one control step; both return the
    samples to publish, in stamp order. The clock starts at 0."""

    def __init__(self, params: SimBridgeParams):
        self.params = params
        self.env = make(params.task, **({"task": params.scenario} if params.scenario else {}))
        self.spec = self.env.unwrapped.observation_spec
        self.period_ns = round(control_period(self.env) * NS)
        self.audio_chunk = {s.name: self._audio_chunk(s) for s in self.spec if s.kind is Kind.AUDIO}
        self.time_ns = 0
        self.episode = -1
        self.done = True
        self.results: list[EpisodeResult] = []

    def _audio_chunk(self, spec: ModalitySpec) -> int:
        """Samples per chunk; chunks must tile a control step exactly."""
        chunk = spec.sample_rate * self.params.audio_chunk_ms / 1e3
        per_step = spec.sample_rate * self.period_ns / NS
        if chunk != int(chunk) or per_step % chunk:
            raise ValueError(
                f"audio_chunk_ms={self.params.audio_chunk_ms}: chunks of {chunk} samples do not tile one "
                f"control step of {per_step:g} samples at {spec.sample_rate} Hz"
            )
        return int(chunk)

    def close(self) -> None:
        self.env.close()

    @property
    def seed(self) -> int:
        return self.params.seed + self.episode

    def reset(self, start_ns: int | None = None) -> tuple[str, list[Sample]]:
        """Start the next episode at `start_ns` (a bridge in real time: now), by default after the gap:
        its instruction and the first samples (one per sensor)."""
        if self.episode >= 0:  # silence between episodes, ending on a control step
            self.time_ns += -(-round(self.params.episode_gap_s * NS) // self.period_ns) * self.period_ns
        if start_ns is not None:
            self.time_ns = max(self.time_ns, start_ns)
        self.episode += 1
        self.episode_start_ns, self.steps, self.done, self.success = self.time_ns, 0, False, False
        self.obs, _ = self.env.reset(seed=self.seed)
        self.instruction = str(self.obs.get("instruction", ""))
        return self.instruction, self._samples(self.obs, self.obs, self.time_ns - 1, self.time_ns)

    def step(self, action: np.ndarray) -> list[Sample]:
        """Apply `action` for one control step; the samples stamped within it (empty once done).
        A non-finite or wrongly sized action is refused with ValueError (the caller holds instead)."""
        if self.done:
            raise RuntimeError("the episode is over: reset() starts the next one")
        action = np.asarray(action, np.float32)
        if action.shape != self.env.action_space.shape or not np.isfinite(action).all():
            raise ValueError(f"action must be {self.env.action_space.shape} finite numbers, got {action}")
        previous = self.obs
        self.obs, _, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        self.success = bool(info.get("success", False))
        start, self.time_ns = self.time_ns, self.time_ns + self.period_ns
        if terminated or truncated:
            self.done = True
            self.results.append(
                EpisodeResult(self.episode, self.seed, self.success, self.steps, self.instruction)
            )
            return []
        return self._samples(previous, self.obs, start, self.time_ns)

    def abort(self) -> None:
        """End the current episode as failed (no action came)."""
        self.done = True
        self.results.append(EpisodeResult(self.episode, self.seed, False, self.steps, self.instruction))

    def _samples(self, previous: dict, current: dict, t0: int, t1: int) -> list[Sample]:
        """Each sensor's samples stamped in (t0, t1]: `current` at t1, `previous` before it."""
        samples = []
        for spec in self.spec:
            if spec.kind is Kind.AUDIO:
                samples += self._audio(spec, current[spec.name], t0, t1)
                continue
            for stamp in self._stamps(self.params.sensor_rate_hz(spec.kind), t0, t1):
                samples.append(Sample(spec, stamp, _reading(spec, current if stamp == t1 else previous)))
        return sorted(samples, key=lambda s: s.stamp_ns)

    def _stamps(self, rate_hz: float, t0: int, t1: int) -> list[int]:
        """Sample times of a sensor at `rate_hz` within (t0, t1], on a grid from the episode start (exact
        nanoseconds, so 30 Hz and 60 Hz samples fall on each 10 Hz control step)."""
        start = self.episode_start_ns
        n = max(0, int((t0 - start) * rate_hz // NS) - 1)
        stamps = []
        while (stamp := start + round(n * NS / rate_hz)) <= t1:
            if stamp > t0:
                stamps.append(stamp)
            n += 1
        return stamps

    def _audio(self, spec: ModalitySpec, window: np.ndarray, t0: int, t1: int) -> list[Sample]:
        chunk = self.audio_chunk[spec.name]
        chunk_ns = round(chunk * NS / spec.sample_rate)
        count = max(1, (t1 - t0) // chunk_ns)
        ends = [len(window) - chunk * (count - 1 - i) for i in range(count)]
        return [
            Sample(spec, t1 - chunk_ns * (count - 1 - i), window[end - chunk : end].copy())
            for i, end in enumerate(ends)
        ]


def _reading(spec: ModalitySpec, obs: dict) -> np.ndarray:
    data = np.asarray(obs[spec.name])
    return data[: int(obs[f"{spec.name}_count"])] if spec.max_len is not None else data


def sample_msg(build: messages.Build, sample: Sample, frame: str | None = None) -> Any:
    """The ROS message of a sample, stamped and framed (fuse_ros.data.messages conventions; `frame`
    defaults to default_frame_id)."""
    spec, stamp = sample.spec, sample.stamp_ns
    frame = frame or messages.default_frame_id(spec)
    msgtype = messages.MESSAGE_TYPES[spec.kind]
    if msgtype == messages.AUDIO:
        return messages.audio_msg(build, sample.data, stamp, frame)
    if msgtype == messages.POINT_CLOUD:
        return messages.cloud_msg(build, sample.data, stamp, frame)
    if msgtype == messages.JOINT_STATE:
        names = [f"{spec.name}_{i}" for i in range(len(sample.data))]
        return messages.joint_state_msg(build, sample.data, names, stamp, frame)
    return messages.image_msg(build, sample.data, stamp, frame)
