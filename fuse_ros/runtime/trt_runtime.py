"""TensorRT backend: an engine from the cache (built on first use), run with `execute_async_v3` on torch
CUDA buffers. Needs the `tensorrt` extra and a GPU; see fuse_ros.export.tensorrt for the cache rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fuse_ros.export.onnx import load_exported
from fuse_ros.export.tensorrt import EngineCache, prepare_engine
from fuse_ros.runtime.base import Runtime


class TrtRuntime(Runtime):
    def __init__(self, export: str | Path, precision: str = "fp16", cache_dir: str | Path | None = None):
        import torch

        self.path, self.manifest = load_exported(export)
        self.name = f"tensorrt-{precision}"
        cache = EngineCache(cache_dir or self.path.parent / "engines")
        self.engine = prepare_engine(self.path, self.manifest, cache, precision)
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        self.output_names = [t.name for t in self.manifest.outputs]

    def _run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        keep = {}
        for name, value in feeds.items():
            keep[name] = torch.from_numpy(np.ascontiguousarray(value)).cuda(non_blocking=True)
            self.context.set_input_shape(name, tuple(value.shape))
            self.context.set_tensor_address(name, keep[name].data_ptr())
        outputs = {}
        for name in self.output_names:
            outputs[name] = torch.empty(tuple(self.context.get_tensor_shape(name)), device="cuda")
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        torch.cuda.current_stream().synchronize()
        self.context.execute_async_v3(self.stream.cuda_stream)
        self.stream.synchronize()
        return {name: out.cpu().numpy() for name, out in outputs.items()}
