"""One inference interface over every backend: load, warm up, infer, measure latency.

Every backend takes and returns numpy arrays named as in the export manifest, and checks feeds against it
first, so a wrong shape or dtype fails the same way, with the input's name, on any backend.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from fuse_ros.export.manifest import Manifest


class RuntimeMissing(ImportError):
    """A backend's library is not installed; the message names the pip extra that brings it."""

    def __init__(self, backend: str, module: str, extra: str):
        super().__init__(f"the {backend} backend needs `{module}`: pip install 'fuse_ros[{extra}]'")


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock latency of `iterations` calls after warm-up; hz = 1000 / p50_ms."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    hz: float
    iterations: int

    @classmethod
    def of(cls, seconds: np.ndarray) -> LatencyStats:
        ms = np.asarray(seconds) * 1e3
        p50 = float(np.percentile(ms, 50))
        return cls(p50, float(np.percentile(ms, 99)), float(ms.max()), float(ms.mean()), 1e3 / p50, len(ms))

    def to_json(self) -> dict:
        return asdict(self)


def measure(step: Callable[[], object], iterations: int = 100, warmup: int = 10) -> LatencyStats:
    for _ in range(warmup):
        step()
    seconds = np.empty(iterations)
    for i in range(iterations):
        start = time.perf_counter()
        step()
        seconds[i] = time.perf_counter() - start
    return LatencyStats.of(seconds)


class Runtime(ABC):
    """A loaded model: `infer(feeds) -> outputs`, both dicts of numpy arrays named as in `manifest`."""

    name: str
    manifest: Manifest

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.manifest.check_feeds(feeds)
        return self._run(feeds)

    @abstractmethod
    def _run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def warm_up(self, feeds: Mapping[str, np.ndarray], iterations: int = 3) -> None:
        """First calls allocate, compile or capture: run them before timing or serving."""
        for _ in range(iterations):
            self.infer(feeds)

    def latency(
        self, feeds: Mapping[str, np.ndarray], iterations: int = 100, warmup: int = 10
    ) -> LatencyStats:
        self.manifest.check_feeds(feeds)
        return measure(lambda: self._run(feeds), iterations, warmup)
