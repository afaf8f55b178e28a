"""TensorRT engines from the exported ONNX: a thin builder over the TensorRT Python API, and a safe cache.

An engine only runs on the GPU model and TensorRT version that built it, for the precision and shape
profiles it was built with. Isaac ROS reuses any engine file it finds; Autoware checks the engine's
inputs, outputs and profile against the model (REFERENCE.md section 5). Here the cache key is a hash of
the ONNX file's sha256, the GPU name, the TensorRT version, the precision and the profiles; a sidecar JSON
holds those fields and is compared on load, and the loaded engine's tensor names and profile shapes are
checked against the manifest (Autoware-style): any mismatch rebuilds. Writes are atomic (temporary file,
then rename), so a crash mid-build never leaves an engine that looks valid.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from fuse_ros.export.manifest import ExportError, Manifest
from fuse_ros.runtime.base import RuntimeMissing

PRECISIONS = ("fp32", "fp16", "int8")
Profile = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]  # input -> (min, opt, max)


def tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise RuntimeMissing("tensorrt", "tensorrt", "tensorrt") from None
    return trt


def profile_of(manifest: Manifest, opt_batch: int = 1, opt_points: int = 4096) -> Profile:
    """min / opt / max shape of every input from the manifest's dynamic-axis bounds."""
    bounds = manifest.dynamic
    sizes = [
        {k: v[0] for k, v in bounds.items()},
        {k: min(v[1], opt_batch if k == "batch" else opt_points) for k, v in bounds.items()},
        {k: v[1] for k, v in bounds.items()},
    ]
    return {
        t.name: tuple(tuple(s[d] if isinstance(d, str) else d for d in t.shape) for s in sizes)
        for t in manifest.inputs
    }


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; `digest` names its cache file."""

    onnx_sha256: str
    gpu: str
    tensorrt: str
    precision: str
    profile: dict

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:24]

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self)))  # tuples -> lists, as read back


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class EngineCache:
    """`<folder>/<digest>.engine` + `<digest>.json` (the key, checked on lookup)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def paths(self, key: EngineKey) -> tuple[Path, Path]:
        return self.folder / f"{key.digest}.engine", self.folder / f"{key.digest}.json"

    def lookup(self, key: EngineKey) -> bytes | None:
        """The cached engine for exactly this key, or None (absent, unreadable or built for another key)."""
        engine, meta = self.paths(key)
        try:
            if json.loads(meta.read_text()) != key.to_json():
                return None
            return engine.read_bytes()
        except (OSError, ValueError):
            return None

    def store(self, key: EngineKey, engine: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path, meta = self.paths(key)
        _write_atomic(path, engine)
        _write_atomic(meta, json.dumps(key.to_json(), indent=2).encode())  # written last: marks it complete
        return path


def engine_key(manifest: Manifest, precision: str, profile: Profile, gpu: str, version: str) -> EngineKey:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    return EngineKey(manifest.sha256["onnx"], gpu, version, precision, profile)


def build_engine(onnx_path: Path, precision: str, profile: Profile, workspace_gb: float = 4.0) -> bytes:
    """Parse the ONNX file and build a serialized engine with one optimisation profile."""
    trt = tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"{onnx_path}: TensorRT cannot parse it: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":  # weights-and-activations int8 needs Q/DQ nodes or a calibrator; fp16 fallback
        config.set_flag(trt.BuilderFlag.INT8)
    shapes = builder.create_optimization_profile()
    for name, (low, opt, high) in profile.items():
        shapes.set_shape(name, low, opt, high)
    config.add_optimization_profile(shapes)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise ExportError(f"{onnx_path}: TensorRT failed to build an engine ({precision})")
    return bytes(engine)


def engine_matches(engine, manifest: Manifest, profile: Profile) -> list[str]:
    """Autoware's check: the engine's tensor names and profile shapes against the manifest; [] if equal."""
    names = {engine.get_tensor_name(i) for i in range(engine.num_io_tensors)}
    expected = {t.name for t in [*manifest.inputs, *manifest.outputs]}
    problems = [f"tensors {sorted(names ^ expected)} differ"] if names != expected else []
    for name, shapes in profile.items():
        if name in names:
            built = tuple(tuple(s) for s in engine.get_tensor_profile_shape(name, 0))
            if built != shapes:
                problems.append(f"{name}: profile {built}, expected {shapes}")
    return problems


def prepare_engine(
    onnx_path: Path,
    manifest: Manifest,
    cache: EngineCache,
    precision: str = "fp16",
    profile: Profile | None = None,
):
    """The deserialized engine for this model on this GPU, from the cache or freshly built and cached.
    `fuse-export ... tensorrt=true` calls it ahead of time on the target (build only)."""
    import torch

    trt = tensorrt()
    if not torch.cuda.is_available():
        raise ExportError("building a TensorRT engine needs a CUDA GPU; none is visible")
    profile = profile or profile_of(manifest)
    key = engine_key(manifest, precision, profile, torch.cuda.get_device_name(), trt.__version__)
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    cached = cache.lookup(key)
    engine = runtime.deserialize_cuda_engine(cached) if cached else None
    if engine is None or engine_matches(engine, manifest, profile):
        data = build_engine(onnx_path, precision, profile)
        cache.store(key, data)
        engine = runtime.deserialize_cuda_engine(data)
        problems = engine_matches(engine, manifest, profile)
        if problems:
            raise ExportError(f"{onnx_path}: the built engine does not match the manifest: {problems}")
    return engine
