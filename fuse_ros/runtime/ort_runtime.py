"""ONNX Runtime backend: CPU, or the CUDA / TensorRT execution providers when onnxruntime-gpu is installed.

CPU settings that matter at batch 1 on a small, shared machine (measured on 2 cores, tiny policy): all
graph optimisations (fused GELU, LayerNorm, MatMul+Add: 7.6 vs 7.8 ms extended), one sequential executor,
intra-op threads = the cores given, and no spin-waiting: spinning threads that share cores with other
processes took 17.8 ms instead of 7.6 ms at 2 threads. The TensorRT provider gets an engine and timing
cache and the optimisation profile of the manifest's dynamic axes; CUDA stays listed after it for any
subgraph it does not take.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fuse_ros.export.onnx import load_exported
from fuse_ros.runtime.base import Runtime, RuntimeMissing

PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeMissing("onnxruntime", "onnxruntime", "cuda") from None
    return onnxruntime


class OrtRuntime(Runtime):
    def __init__(
        self,
        export: str | Path,
        device: str = "cpu",
        threads: int | None = None,
        optimization: str = "all",
        spinning: bool = False,
        cache_dir: str | Path | None = None,
        fp16: bool = False,
        opt_batch: int = 1,
        opt_points: int = 4096,
    ):
        ort = _ort()
        self.path, self.manifest = load_exported(export)
        self.name = f"onnxruntime-{device}"
        self.check_providers(device)
        options = ort.SessionOptions()
        options.graph_optimization_level = {
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[optimization]
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        providers: list = list(PROVIDERS[device])
        if device == "tensorrt":
            providers[0] = (
                "TensorrtExecutionProvider",
                self._trt_options(cache_dir, fp16, opt_batch, opt_points),
            )
        self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        self.output_names = [t.name for t in self.manifest.outputs]

    @staticmethod
    def check_providers(device: str) -> None:
        if device not in PROVIDERS:
            raise ValueError(f"onnxruntime device must be one of {list(PROVIDERS)}, got {device!r}")
        missing = [p for p in PROVIDERS[device] if p not in _ort().get_available_providers()]
        if missing:
            raise RuntimeMissing(f"onnxruntime {device}", f"onnxruntime-gpu with {missing[0]}", "cuda")

    def _trt_options(self, cache_dir, fp16: bool, opt_batch: int, opt_points: int) -> dict[str, object]:
        cache = Path(cache_dir or self.path.parent / "trt_cache")
        cache.mkdir(parents=True, exist_ok=True)

        def shapes(sizes: dict[str, int]) -> str:
            return ",".join(
                f"{t.name}:" + "x".join(str(sizes[d] if isinstance(d, str) else d) for d in t.shape)
                for t in self.manifest.inputs
            )

        bounds = self.manifest.dynamic
        low, high = ({k: v[i] for k, v in bounds.items()} for i in (0, 1))
        opt = {k: min(high[k], opt_batch if k == "batch" else opt_points) for k in bounds}
        return {
            "trt_fp16_enable": fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
            "trt_profile_min_shapes": shapes(low),
            "trt_profile_opt_shapes": shapes(opt),
            "trt_profile_max_shapes": shapes(high),
        }

    def _run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(self.output_names, dict(feeds))
        return dict(zip(self.output_names, outputs, strict=True))
