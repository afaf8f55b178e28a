"""What the policy sees: per-modality buffers, alignment to a reference time, staleness and validity.

Autoware-style, not message_filters-style: the observation is built on time at the policy rate, and a
modality that is missing, stale or not aligned with the reference is flagged `valid=False` (zero-filled)
instead of holding the whole output back; the model masks it out. Times are seconds on one clock (ROS time
or sim time) that the caller passes in, so every rule here is a plain, testable function of its inputs.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fuse_ros.observation import Kind, ModalitySpec, Observation, ObservationError, ObservationSpec, Reading


@dataclass(frozen=True)
class Timing:
    """When a modality's data counts for a reference time.

    A reading *aligns* with the reference when |stamp - reference| <= slop; without an aligned reading a
    modality is *pending* until `timeout` seconds past the reference, then published as missing; data older
    than `max_age` (now - stamp) is *stale*: the sensor is treated as dead.
    """

    slop: float
    timeout: float
    max_age: float

    def __post_init__(self) -> None:
        for name in ("slop", "timeout", "max_age"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Timing.{name} must be >= 0, got {getattr(self, name)}")

    @classmethod
    def default(cls, spec: ModalitySpec, periods: float = 3.0, min_age: float = 0.1) -> Timing:
        """Stale after max(`periods` sensor periods, `min_age`); slop as wide as that (so only staleness
        flags a live sensor unless a tighter slop is asked for); wait at most one period for late data."""
        period = 1.0 / spec.rate_hz
        max_age = max(periods * period, min_age)
        return cls(slop=max_age, timeout=period, max_age=max_age)


class RateMeter:
    """Arrivals per second over the last `window` seconds (less before the first full window): it
    falls to zero within one window of a sensor stopping."""

    def __init__(self, window: float = 1.0):
        self.window = window
        self._arrivals: deque[float] = deque()
        self._first: float | None = None

    def tick(self, now: float) -> None:
        if self._first is None:
            self._first = now
        self._arrivals.append(now)
        self._forget(now)

    def rate(self, now: float) -> float:
        self._forget(now)
        span = 0.0 if self._first is None else min(self.window, now - self._first)
        return len(self._arrivals) / span if span > 0 else 0.0

    def _forget(self, now: float) -> None:
        while self._arrivals and self._arrivals[0] <= now - self.window:
            self._arrivals.popleft()


class StampedBuffer:
    """The last `capacity` readings of one modality, ordered by header stamp (arrival order may differ);
    a reading with a stamp already held replaces it."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"buffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._stamps: list[float] = []
        self._data: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, data: np.ndarray, stamp: float) -> None:
        i = int(np.searchsorted(self._stamps, stamp))
        if i < len(self._stamps) and self._stamps[i] == stamp:
            self._data[i] = data
            return
        self._stamps.insert(i, stamp)
        self._data.insert(i, data)
        if len(self._stamps) > self.capacity:
            del self._stamps[0], self._data[0]

    def latest_stamp(self) -> float | None:
        return self._stamps[-1] if self._stamps else None

    def nearest(self, t: float) -> int | None:
        """Index of the reading whose stamp is closest to `t` (the later one on a tie)."""
        if not self._stamps:
            return None
        i = int(np.searchsorted(self._stamps, t))
        candidates = [j for j in (i - 1, i) if 0 <= j < len(self._stamps)]
        return min(candidates, key=lambda j: (abs(self._stamps[j] - t), -j))

    def stamp(self, index: int) -> float:
        return self._stamps[index]

    def reading(self, index: int) -> Reading:
        return Reading(self._data[index], self._stamps[index])

    def window(self, index: int, samples: int) -> Reading:
        """The last `samples` values of the readings up to `index` joined end to end (audio chunks into a
        waveform window), zero-padded at the front until enough have arrived; stamped with the newest."""
        parts, have = [], 0
        for j in range(index, -1, -1):
            parts.append(self._data[j])
            have += len(self._data[j])
            if have >= samples:
                break
        joined = np.concatenate(parts[::-1])[-samples:]
        if len(joined) < samples:
            joined = np.concatenate([np.zeros(samples - len(joined), joined.dtype), joined])
        return Reading(joined, self._stamps[index])


@dataclass(frozen=True)
class ModalityState:
    """One modality's health at one moment: what diagnostics report and what decides `valid`."""

    name: str
    valid: bool
    reason: str  # "ok" | "missing" (nothing usable yet) | "stale" | "unaligned"
    age: float | None  # now - newest stamp; None before the first reading
    rate_hz: float  # measured arrival rate
    expected_rate_hz: float
    max_age: float
    received: int
    rejected: int
    error: str = ""  # why the last rejected message was rejected


class _Stream:
    """Buffer, timing and counters of one modality."""

    def __init__(self, spec: ModalitySpec, timing: Timing):
        self.spec = spec
        self.timing = timing
        horizon = timing.max_age + timing.slop
        capacity = math.ceil(spec.rate_hz * horizon) + 2
        if spec.kind is Kind.AUDIO:  # enough chunks to fill a waveform window, however short they are
            capacity += math.ceil(spec.shape[0] * spec.rate_hz / spec.sample_rate) + 1
        self.buffer = StampedBuffer(capacity)
        self.meter = RateMeter()
        self.received = 0
        self.rejected = 0
        self.error = ""

    def reading(self, index: int) -> Reading:
        if self.spec.kind is Kind.AUDIO:
            return self.buffer.window(index, self.spec.shape[0])
        return self.buffer.reading(index)


class Synchronizer:
    """Buffers every modality of an `ObservationSpec` and assembles an `Observation` on demand.

    The reference time is the newest stamp of the `reference` modality (e.g. the main camera) while that
    one is fresh, else `now`. Each modality contributes its reading nearest to the reference if it aligns
    (within slop) and is not stale; otherwise it is `valid=False` with a reason in `states()`.
    """

    def __init__(
        self,
        spec: ObservationSpec,
        timings: Mapping[str, Timing] | None = None,
        reference: str | None = None,
    ):
        timings = dict(timings or {})
        unknown = set(timings) - set(spec.modalities) | ({reference} - set(spec.modalities) - {None})
        if unknown:
            raise ObservationError(f"unknown modalities {sorted(unknown)}; known: {spec.names()}")
        self.spec = spec
        self.reference = reference
        self._streams = {s.name: _Stream(s, timings.get(s.name) or Timing.default(s)) for s in spec}

    def add(self, name: str, data: np.ndarray, stamp: float, now: float) -> bool:
        """Buffer one message's data (an audio chunk for audio); `now` is when it arrived. A message that
        does not fit the spec is dropped and counted, not raised: one bad packet must not stop a robot."""
        stream = self._streams.get(name)
        if stream is None:
            raise ObservationError(f"unknown modality {name!r}; known: {self.spec.names()}")
        try:
            if not math.isfinite(stamp):
                raise ObservationError(f"{name}: stamp is not finite ({stamp})")
            if stream.spec.kind is Kind.AUDIO:
                _check_chunk(stream.spec, data)
            else:
                stream.spec.validate(data)
        except ObservationError as error:
            stream.rejected += 1
            stream.error = str(error)
            return False
        stream.buffer.add(data, stamp)
        stream.meter.tick(now)
        stream.received += 1
        return True

    def reference_time(self, now: float) -> float:
        live = self._live_reference(now)
        return now if live is None else live

    def _live_reference(self, now: float) -> float | None:
        """The newest stamp of the reference modality, unless there is none or it is stale."""
        if self.reference is None:
            return None
        stream = self._streams[self.reference]
        latest = stream.buffer.latest_stamp()
        if latest is None or now - latest > stream.timing.max_age:
            return None
        return latest

    def observe(self, now: float, instruction: str = "") -> Observation:
        """The observation for this control step; never waits, never raises for missing data."""
        t_ref = self.reference_time(now)
        readings = {}
        for name, stream in self._streams.items():
            index, _ = self._resolve(stream, t_ref, now)
            if index is None:
                readings[name] = Reading(stream.spec.zeros(), t_ref, valid=False)
            else:
                readings[name] = stream.reading(index)
        return Observation(readings, instruction, t_ref)

    def states(self, now: float) -> list[ModalityState]:
        t_ref = self.reference_time(now)
        states = []
        for name, stream in self._streams.items():
            index, reason = self._resolve(stream, t_ref, now)
            latest = stream.buffer.latest_stamp()
            states.append(
                ModalityState(
                    name=name,
                    valid=index is not None,
                    reason=reason,
                    age=None if latest is None else now - latest,
                    rate_hz=stream.meter.rate(now),
                    expected_rate_hz=stream.spec.rate_hz,
                    max_age=stream.timing.max_age,
                    received=stream.received,
                    rejected=stream.rejected,
                    error=stream.error,
                )
            )
        return states

    def pending(self, now: float) -> list[str]:
        """Modalities still awaited for the current reference: nothing usable for it yet and their timeout
        not passed. Empty without a live reference modality (then nothing defines what to wait for)."""
        t_ref = self._live_reference(now)
        if t_ref is None:
            return []
        return [
            name
            for name, stream in self._streams.items()
            if self._resolve(stream, t_ref, now)[0] is None and now < t_ref + stream.timing.timeout
        ]

    @staticmethod
    def _resolve(stream: _Stream, t_ref: float, now: float) -> tuple[int | None, str]:
        """The buffer index to use for `t_ref` (None if none) and why."""
        index = stream.buffer.nearest(t_ref)
        if index is None:
            return None, "missing"
        stamp = stream.buffer.stamp(index)
        if now - stamp > stream.timing.max_age:
            return None, "stale"
        if abs(stamp - t_ref) > stream.timing.slop:
            return None, "unaligned"
        return index, "ok"


def _check_chunk(spec: ModalitySpec, data: np.ndarray) -> None:
    """An audio message carries a chunk of any length, not the whole window the spec describes."""
    if not isinstance(data, np.ndarray) or data.dtype != np.dtype(spec.dtype) or data.ndim != 1:
        got = f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}"
        raise ObservationError(f"{spec.name}: expected a 1-D {spec.dtype} audio chunk, got {got}")
    if not np.isfinite(data).all():
        raise ObservationError(f"{spec.name}: contains NaN or Inf")
