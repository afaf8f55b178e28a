"""The TensorRT engine cache without TensorRT: keys that change with everything an engine depends on,
lookups that refuse an engine built for another key or half written, and a clear error without TensorRT."""

import importlib.util
import json

import pytest

from fuse_ros.export.graph import TensorSpec
from fuse_ros.export.manifest import Manifest
from fuse_ros.export.tensorrt import EngineCache, engine_key, prepare_engine, profile_of
from fuse_ros.runtime import RuntimeMissing


@pytest.fixture
def manifest():
    return Manifest(
        inputs=[
            TensorSpec("lidar", "float32", ("batch", 2, "lidar_points", 4)),
            TensorSpec("valid", "bool", ("batch", 2)),
        ],
        outputs=[TensorSpec("actions", "float32", ("batch", 4, 2))],
        opset=20,
        embodiment="driving",
        dynamic={"batch": (1, 64), "lidar_points": (1, 8192)},
        preprocessing={},
        sha256={"onnx": "ab" * 32, "weights": "cd" * 32},
    )


def test_profiles_come_from_the_manifest(manifest):
    profile = profile_of(manifest, opt_batch=1, opt_points=4096)
    assert profile["lidar"] == ((1, 2, 1, 4), (1, 2, 4096, 4), (64, 2, 8192, 4))
    assert profile["valid"] == ((1, 2), (1, 2), (64, 2))


def test_key_changes_with_everything_an_engine_depends_on(manifest):
    profile = profile_of(manifest)
    base = engine_key(manifest, "fp16", profile, "NVIDIA H100", "10.3.0")
    variants = [
        engine_key(manifest, "fp32", profile, "NVIDIA H100", "10.3.0"),
        engine_key(manifest, "fp16", profile, "NVIDIA A100", "10.3.0"),
        engine_key(manifest, "fp16", profile, "NVIDIA H100", "10.4.0"),
        engine_key(manifest, "fp16", profile_of(manifest, opt_batch=8), "NVIDIA H100", "10.3.0"),
    ]
    manifest.sha256["onnx"] = "ef" * 32
    variants.append(engine_key(manifest, "fp16", profile, "NVIDIA H100", "10.3.0"))
    assert len({base.digest, *(v.digest for v in variants)}) == 6
    with pytest.raises(ValueError, match="precision must be one of"):
        engine_key(manifest, "fp8", profile, "gpu", "10")


def test_cache_returns_only_complete_engines_of_the_same_key(manifest, tmp_path):
    cache, profile = EngineCache(tmp_path / "engines"), profile_of(manifest)
    key = engine_key(manifest, "fp16", profile, "NVIDIA H100", "10.3.0")
    assert cache.lookup(key) is None
    path = cache.store(key, b"engine bytes")
    assert cache.lookup(key) == b"engine bytes" and path.parent == tmp_path / "engines"
    assert not list((tmp_path / "engines").glob(".*tmp"))  # atomic: no temporary files left
    other = engine_key(manifest, "fp16", profile, "NVIDIA H100", "10.4.0")
    meta = cache.paths(key)[1]
    meta.write_text(json.dumps(other.to_json()))  # a sidecar that names another build
    assert cache.lookup(key) is None
    meta.unlink()  # an engine without its sidecar was never completed
    assert cache.lookup(key) is None


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed")
def test_missing_tensorrt_names_the_extra(manifest, tmp_path):
    with pytest.raises(RuntimeMissing, match=r"pip install 'fuse_ros\[tensorrt\]'"):
        prepare_engine(tmp_path / "model.onnx", manifest, EngineCache(tmp_path))
