"""Health of a policy node as plain data: per-modality rate, age and validity, processing time and
sensor-to-action latency, graded OK / WARN / ERROR like diagnostic_msgs/DiagnosticStatus.

A missing or stale sensor is an ERROR (Autoware raises one when it publishes with inputs missing), a sensor
running well below its nominal rate or an overrunning policy step a WARN. `diagnostic_array_msg` makes the
/diagnostics message with any message builder (DDS, rclpy, rosbags; see fuse_ros.data.messages).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from fuse_ros.data.messages import Build, header
from fuse_ros.observation import Observation
from fuse_ros.ros.chunking import Action
from fuse_ros.ros.sync import ModalityState


class Level(IntEnum):
    """diagnostic_msgs/DiagnosticStatus levels (the message field is a byte)."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass(frozen=True)
class Status:
    """One line of /diagnostics, field for field diagnostic_msgs/DiagnosticStatus."""

    level: Level
    name: str
    message: str
    hardware_id: str = ""
    values: dict[str, str] = field(default_factory=dict)


class LatencyWindow:
    """The last `size` durations in seconds, summarised in milliseconds."""

    def __init__(self, size: int = 200):
        self._values: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._values)

    def add(self, seconds: float) -> None:
        self._values.append(seconds)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self._values, q)) * 1e3 if self._values else float("nan")

    def summary(self, prefix: str) -> dict[str, str]:
        return {
            f"{prefix}_p50_ms": f"{self.percentile_ms(50):.2f}",
            f"{prefix}_p99_ms": f"{self.percentile_ms(99):.2f}",
        }


def modality_status(state: ModalityState, node: str, low_rate: float = 0.5) -> Status:
    """ERROR when the modality is flagged invalid; WARN when it arrives at under `low_rate` times its
    nominal rate; OK otherwise."""
    values = {
        "valid": str(state.valid).lower(),
        "reason": state.reason,
        "age_s": "none" if state.age is None else f"{state.age:.3f}",
        "max_age_s": f"{state.max_age:.3f}",
        "rate_hz": f"{state.rate_hz:.1f}",
        "expected_rate_hz": f"{state.expected_rate_hz:.1f}",
        "received": str(state.received),
        "rejected": str(state.rejected),
    }
    name = f"{node}: {state.name}"
    if not state.valid:
        if state.reason == "stale":
            message = f"newest data {state.age:.3f} s old (bound {state.max_age:.3f} s)"
        elif state.reason == "unaligned":
            message = "no reading aligned with the reference time"
        else:
            message = "no data"
        if state.error:
            message += f"; last message rejected: {state.error}"
        return Status(Level.ERROR, name, message, state.name, values)
    if state.rate_hz < low_rate * state.expected_rate_hz:
        message = f"rate {state.rate_hz:.1f} Hz, expected {state.expected_rate_hz:.1f} Hz"
        return Status(Level.WARN, name, message, state.name, values)
    return Status(Level.OK, name, "ok", state.name, values)


class Diagnostics:
    """Per-step timings of a policy node, and the /diagnostics report built from them and the sync states.

    `record_step` takes the observation the policy saw, the action it published, how long the step took
    (monotonic clock) and when the action went out (the sensors' clock). Sensor-to-action latency is measured
    from the newest valid reading: how old the freshest information behind the action is.
    """

    def __init__(self, node: str, policy_rate_hz: float, window: int = 200, low_rate: float = 0.5):
        self.node = node
        self.period = 1.0 / policy_rate_hz
        self.low_rate = low_rate
        self.processing = LatencyWindow(window)
        self.latency = LatencyWindow(window)
        self.steps = 0
        self.fallbacks = 0
        self._last_action: Action | None = None

    def record_step(self, obs: Observation, action: Action, processing_s: float, published_at: float) -> None:
        self.steps += 1
        self.fallbacks += not action.valid
        self._last_action = action
        self.processing.add(processing_s)
        stamps = [r.stamp for r in obs.readings.values() if r.valid]
        if stamps:
            self.latency.add(published_at - max(stamps))

    def policy_status(self) -> Status:
        """ERROR while the last action was a fallback, WARN if this step's prediction was non-finite or
        steps overrun the policy period (p50), OK otherwise."""
        values = {
            "steps": str(self.steps),
            "fallbacks": str(self.fallbacks),
            **self.processing.summary("processing_time"),
            **self.latency.summary("sensor_to_action"),
        }
        name = f"{self.node}: policy"
        action = self._last_action
        if action is not None and not action.valid:
            return Status(Level.ERROR, name, f"fallback action ({action.reason})", values=values)
        if action is not None and action.reason != "ok":
            return Status(Level.WARN, name, f"{action.reason}; used earlier chunks", values=values)
        if len(self.processing) and self.processing.percentile_ms(50) > self.period * 1e3:
            message = (
                f"processing {self.processing.percentile_ms(50):.1f} ms > period {self.period * 1e3:.1f} ms"
            )
            return Status(Level.WARN, name, message, values=values)
        return Status(Level.OK, name, "ok", values=values)

    def report(self, states: list[ModalityState]) -> list[Status]:
        """Everything /diagnostics publishes for this node: one status per modality, then the policy."""
        return [modality_status(s, self.node, self.low_rate) for s in states] + [self.policy_status()]


def diagnostic_array_msg(build: Build, statuses: list[Status], stamp_ns: int) -> Any:
    """diagnostic_msgs/DiagnosticArray of `statuses`, stamped `stamp_ns`."""
    return build(
        "diagnostic_msgs/msg/DiagnosticArray",
        header=header(build, stamp_ns, ""),
        status=[
            build(
                "diagnostic_msgs/msg/DiagnosticStatus",
                level=int(s.level),
                name=s.name,
                message=s.message,
                hardware_id=s.hardware_id,
                values=[build("diagnostic_msgs/msg/KeyValue", key=k, value=v) for k, v in s.values.items()],
            )
            for s in statuses
        ],
    )
