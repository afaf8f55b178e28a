"""PyTorch backend: the checkpoint's inference graph, eager, `torch.compile`d, or replayed as a CUDA graph.

At batch 1 launch overhead, not arithmetic, dominates (REFERENCE.md section 6: 2.8 ms eager, 0.72 ms as a
CUDA graph on an H100), so the CUDA-graph mode captures one graph per input shape into static buffers and
replays it: inputs are copied in, outputs copied out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from fuse_ros.export.onnx import load_graph, manifest_of
from fuse_ros.runtime.base import Runtime

MODES = ("eager", "compile", "cuda_graph")


class TorchRuntime(Runtime):
    def __init__(
        self,
        checkpoint: str | Path,
        mode: str = "eager",
        device: str | None = None,
        threads: int | None = None,
        embodiment: str | None = None,
        outputs: tuple[str, ...] = ("actions",),
    ):
        if mode not in MODES:
            raise ValueError(f"torch mode must be one of {list(MODES)}, got {mode!r}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if mode == "cuda_graph" and self.device.type != "cuda":
            raise ValueError("torch mode 'cuda_graph' needs a CUDA device; none is available here")
        if threads:
            torch.set_num_threads(threads)
        self.name, self.mode = f"torch-{mode}", mode
        graph = load_graph(checkpoint, embodiment, outputs, dft_audio=False).to(self.device)
        self.manifest = manifest_of(graph, Path(checkpoint), max_batch=256, max_points=65536)
        self.output_names = graph.output_names
        self.module = torch.compile(graph, dynamic=True) if mode == "compile" else graph
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, dict, tuple]] = {}

    def _tensors(self, feeds: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in feeds.items()}

    @torch.inference_mode()
    def _run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self._replay(feeds) if self.mode == "cuda_graph" else self.module(self._tensors(feeds))
        return {n: o.cpu().numpy() for n, o in zip(self.output_names, outputs, strict=True)}

    def _replay(self, feeds: Mapping[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
        key = tuple((k, v.shape) for k, v in feeds.items())
        if key not in self._graphs:
            static = self._tensors(feeds)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):  # warm up on a side stream before capture, as torch.cuda.graphs asks
                    self.module(static)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                outputs = self.module(static)
            self._graphs[key] = (graph, static, outputs)
        graph, static, outputs = self._graphs[key]
        for k, v in feeds.items():
            static[k].copy_(torch.from_numpy(np.ascontiguousarray(v)), non_blocking=True)
        graph.replay()
        return outputs
