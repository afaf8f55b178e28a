"""One inference runtime, three backends: `torch` (eager, compile, cuda_graph), `onnxruntime` (cpu, cuda,
tensorrt execution providers) and `tensorrt`. Backends import their library only when loaded."""

from __future__ import annotations

from pathlib import Path

from fuse_ros.runtime.base import LatencyStats, Runtime, RuntimeMissing, measure

BACKENDS = ("torch", "onnxruntime", "tensorrt")


def load_runtime(
    backend: str, checkpoint: str | Path | None = None, export: str | Path | None = None, **options
) -> Runtime:
    """`torch` needs the checkpoint; `onnxruntime` and `tensorrt` need the export folder (fuse-export)."""
    if backend == "torch":
        from fuse_ros.runtime.torch_runtime import TorchRuntime

        if checkpoint is None:
            raise ValueError("the torch backend needs checkpoint=<dir>")
        return TorchRuntime(checkpoint, **options)
    if export is None:
        raise ValueError(f"the {backend} backend needs an export folder (run fuse-export first)")
    if backend == "onnxruntime":
        from fuse_ros.runtime.ort_runtime import OrtRuntime

        return OrtRuntime(export, **options)
    if backend == "tensorrt":
        from fuse_ros.runtime.trt_runtime import TrtRuntime

        return TrtRuntime(export, **options)
    raise ValueError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")


__all__ = ["BACKENDS", "LatencyStats", "Runtime", "RuntimeMissing", "load_runtime", "measure"]
