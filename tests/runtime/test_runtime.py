"""The runtime interface: latency statistics, the whole-step preprocessing (window, validity, lidar crop,
task-token cache), the torch backend against the policy itself, and clear errors for missing backends."""

import importlib.util

import numpy as np
import pytest
import torch

from fuse_ros.envs import make
from fuse_ros.export.graph import InferenceGraph
from fuse_ros.export.manifest import ExportError
from fuse_ros.export.onnx import manifest_of
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.policy import Policy, PolicyConfig, save_policy
from fuse_ros.runtime import LatencyStats, RuntimeMissing, load_runtime, measure
from fuse_ros.runtime.preprocess import Preprocessor, stack_feeds

SMALL = {"depth": 1, "width": 32, "heads": 2, "mlp_dim": 64, "image_channels": (8, 8, 8, 8)}
SMALL |= {"lidar_point_channels": 8, "lidar_channels": (8, 8), "embed_dim": 16, "language_readouts": 2}


@pytest.fixture(scope="module")
def driving(tmp_path_factory):
    """A driving checkpoint, its manifest (no ONNX needed) and a few raw simulator observations."""
    env = make("driving")
    obs, _ = env.reset(seed=1)
    observations = [obs]
    for _ in range(2):
        obs, *_ = env.step(np.zeros(2, np.float32))
        observations.append(obs)
    spec = env.unwrapped.observation_spec
    env.close()
    torch.manual_seed(0)
    policy = Policy(PolicyConfig.preset("tiny", **SMALL, action_dims={"driving": 2}), spec).eval()
    folder = save_policy(policy, tmp_path_factory.mktemp("driving") / "checkpoint")
    return folder, manifest_of(InferenceGraph(policy), folder, 16, 8192), observations


def test_latency_stats():
    stats = LatencyStats.of(np.array([0.001] * 98 + [0.002, 0.010]))
    assert stats.p50_ms == pytest.approx(1.0) and stats.max_ms == pytest.approx(10.0)
    assert stats.hz == pytest.approx(1000.0) and 1.0 < stats.p99_ms <= 10.0 and stats.iterations == 100
    assert measure(lambda: None, iterations=5, warmup=1).iterations == 5


def test_preprocessor_builds_the_window_from_raw_readings(driving):
    _, manifest, observations = driving
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return TokenGroup(torch.ones(len(texts), 24, 384), torch.ones(len(texts), 24, dtype=torch.bool))

    pre = Preprocessor(manifest, encode)
    pre.push(observations[0])
    feeds = pre.feeds("stop", batch=3)
    manifest.check_feeds(feeds)
    assert feeds["lidar_valid"].tolist() == [[False, True]] * 3  # history not seen yet is invalid
    count = int(observations[0]["lidar_count"])
    assert feeds["lidar"].shape == (3, 2, count, 4) and feeds["lidar_count"].tolist() == [[0, count]] * 3
    np.testing.assert_array_equal(feeds["lidar"][0, 1], observations[0]["lidar"][:count])
    pre.push({**observations[1], "image_front": None})  # the camera did not report this step
    feeds = pre.feeds("stop")
    assert feeds["image_front_valid"].tolist() == [[True, False]] and feeds["lidar_valid"].all()
    assert calls == [["stop"]]  # the encoder ran once; the instruction's tokens are cached
    assert not pre.feeds("")["task_mask"].any()
    with pytest.raises(ValueError, match="lidar: expected dtype float32, got float64"):
        pre.push({**observations[2], "lidar": observations[2]["lidar"].astype(np.float64)})


def test_stack_feeds_pads_the_point_axis(driving):
    _, manifest, observations = driving
    rows = []
    for obs, count in zip(observations, (5, 40, 12), strict=True):
        pre = Preprocessor(manifest)
        pre.push({**obs, "lidar_count": np.int64(count)})
        rows.append(pre.feeds())
    stacked = stack_feeds(rows, manifest)
    manifest.check_feeds(stacked)
    assert stacked["lidar"].shape == (3, 2, 40, 4) and stacked["lidar_count"][:, 1].tolist() == [5, 40, 12]


def test_torch_backend_matches_the_policy(driving):
    checkpoint, manifest, observations = driving
    runtime = load_runtime("torch", checkpoint=checkpoint, mode="eager", device="cpu")
    pre = Preprocessor(manifest)
    for obs in observations:
        pre.push(obs)
    feeds = pre.feeds(batch=2)
    actions = runtime.infer(feeds)["actions"]
    policy = runtime.module.policy
    batch = {k: torch.from_numpy(feeds[k]) for k in ("lidar", "lidar_count", "image_front", "proprio")}
    valid = {s.name: torch.from_numpy(feeds[f"{s.name}_valid"]) for s in policy.spec}
    task = TokenGroup(torch.from_numpy(feeds["task_tokens"]), torch.from_numpy(feeds["task_mask"]))
    with torch.no_grad():
        expected = policy.predict_actions(batch, valid, task).numpy()
    np.testing.assert_allclose(actions, expected, atol=1e-6)
    assert runtime.latency(feeds, iterations=3, warmup=1).p50_ms > 0
    with pytest.raises(ExportError, match="input 'proprio': expected dtype float32"):
        runtime.infer({**feeds, "proprio": feeds["proprio"].astype(np.float16)})


def test_unavailable_backends_say_what_to_install(driving, tmp_path):
    checkpoint = driving[0]
    with pytest.raises(ValueError, match="needs a CUDA device"):
        load_runtime("torch", checkpoint=checkpoint, mode="cuda_graph", device="cpu")
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        load_runtime("jax", export=tmp_path)
    with pytest.raises(ValueError, match="needs an export folder"):
        load_runtime("onnxruntime", checkpoint=checkpoint)
    if importlib.util.find_spec("tensorrt") is None:
        with pytest.raises(RuntimeMissing, match=r"fuse_ros\[tensorrt\]"):
            from fuse_ros.export.tensorrt import tensorrt

            tensorrt()


def test_onnxruntime_without_gpu_providers_names_the_cuda_extra(tmp_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed")
    from fuse_ros.runtime.ort_runtime import OrtRuntime

    with pytest.raises(RuntimeMissing, match=r"pip install 'fuse_ros\[cuda\]'"):
        OrtRuntime.check_providers("cuda")
