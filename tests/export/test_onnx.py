"""Export of simulator-spec policies: the manifest, parity with PyTorch on recorded simulator steps and on
varying lidar point counts, and clear errors for a corrupt model, a mismatched manifest and bad feeds."""

import json
import shutil

import numpy as np
import onnx
import pytest
import torch

from fuse_ros.export.manifest import ExportError, Manifest, random_feeds, sha256
from fuse_ros.export.onnx import export_onnx, load_exported, load_graph
from fuse_ros.export.parity import compare, torch_outputs, verify
from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.policy import load_policy, save_policy
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.runtime.ort_runtime import OrtRuntime
from fuse_ros.runtime.preprocess import Preprocessor
from tests.export.conftest import make_checkpoint


def test_manifest_names_every_input_and_hashes_the_weights(grasp_export):
    checkpoint, export = grasp_export
    manifest = Manifest.read(export)
    inputs = {t.name: t for t in manifest.inputs}
    assert inputs["image_primary"].dtype == "uint8" and inputs["image_primary"].shape == (
        "batch",
        2,
        64,
        64,
        3,
    )
    assert inputs["audio"].shape == ("batch", 2, 16000) and inputs["audio_valid"].dtype == "bool"
    assert inputs["task_tokens"].shape == ("batch", 24, 384)
    assert [t.name for t in manifest.outputs] == ["actions", "embedding", "description"]
    assert manifest.sha256["weights"] == sha256(checkpoint / "model.safetensors")
    assert manifest.sha256["onnx"] == sha256(export / "model.onnx")
    assert manifest.preprocessing["in_graph"]["normalized"] == ["actions", "proprio"]
    model = onnx.load(str(export / "model.onnx"))
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def test_grasp_parity_on_recorded_steps(grasp_export):
    checkpoint, export = grasp_export
    parity = verify(checkpoint, export, "grasp", steps=4)
    assert json.loads((export / "parity.json").read_text()) == parity
    for name in ("actions", "embedding", "description"):
        assert parity[name]["max_abs_err"] <= 1e-4 and parity[name]["cosine"] > 0.99999


def test_normalisation_in_the_graph_matches_the_policy_with_its_statistics(grasp_export):
    checkpoint, export = grasp_export
    manifest = Manifest.read(export)
    feeds = random_feeds(manifest, batch=2, points=1, seed=3)
    policy, normalizer = load_policy(checkpoint), Normalizer.load(checkpoint)
    batch = {s.name: torch.from_numpy(feeds[s.name]) for s in policy.spec}
    batch["proprio"] = torch.from_numpy(normalizer.normalize("proprio", feeds["proprio"]))
    valid = {s.name: torch.from_numpy(feeds[f"{s.name}_valid"]) for s in policy.spec}
    task = TokenGroup(torch.from_numpy(feeds["task_tokens"]), torch.from_numpy(feeds["task_mask"]))
    with torch.no_grad():
        expected = normalizer.denormalize("actions", policy.predict_actions(batch, valid, task).numpy())
    actions = OrtRuntime(export).infer(feeds)["actions"]
    np.testing.assert_allclose(actions, expected, atol=1e-4, rtol=0)


def test_parity_with_every_stem_conditioned_on_the_instruction(tmp_path):
    checkpoint = make_checkpoint("grasp", tmp_path / "checkpoint", film=("visual", "tactile", "audio"))
    policy = load_policy(checkpoint)
    filmed = [t for t in policy.tokenizers.values() if t.film is not None]
    assert {t.name for t in filmed} == {s.name for s in policy.spec if s.kind.group != "proprio"}
    with torch.no_grad():  # FiLM starts as the identity: give it something to do
        for tokenizer in filmed:
            tokenizer.film.weight.normal_(0.0, 0.05)
    save_policy(policy, checkpoint)
    export_onnx(checkpoint, tmp_path / "export", outputs=("actions", "embedding"))
    parity = verify(checkpoint, tmp_path / "export", "grasp", steps=3)
    for name in ("actions", "embedding"):
        assert parity[name]["max_abs_err"] <= 1e-4 and parity[name]["cosine"] > 0.99999


def test_driving_parity_with_varying_point_counts(driving_export):
    checkpoint, export = driving_export
    assert verify(checkpoint, export, "driving", steps=3)["actions"]["max_abs_err"] <= 1e-4
    manifest, runtime = Manifest.read(export), OrtRuntime(export)
    reference = load_graph(checkpoint, dft_audio=False)
    for batch, points in [(1, 1), (3, 777), (2, 8192)]:
        feeds = random_feeds(manifest, batch, points, seed=points)
        parity = compare(torch_outputs(reference, feeds), runtime.infer(feeds))
        assert parity["actions"]["max_abs_err"] <= 1e-4, (batch, points, parity)


@pytest.fixture
def copied(driving_export, tmp_path):
    return shutil.copytree(driving_export[1], tmp_path / "export")


def test_corrupt_model_is_reported_with_its_path(copied):
    data = (copied / "model.onnx").read_bytes()
    (copied / "model.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(ExportError, match=r"model\.onnx: not a readable ONNX model"):
        load_exported(copied)


def test_manifest_of_another_model_is_rejected(copied):
    raw = json.loads((copied / "manifest.json").read_text())
    raw["sha256"]["onnx"] = "0" * 64
    (copied / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ExportError, match="sha256 differs"):
        load_exported(copied)
    raw["sha256"]["onnx"] = sha256(copied / "model.onnx")
    raw["inputs"][0]["name"] = "camera"
    (copied / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(ExportError, match="do not match the manifest"):
        load_exported(copied)
    (copied / "manifest.json").write_text("{not json")
    with pytest.raises(ExportError, match="not a readable export manifest"):
        load_exported(copied)


def test_wrong_feeds_name_the_input(driving_export):
    export = driving_export[1]
    runtime, manifest = OrtRuntime(export), Manifest.read(export)
    feeds = random_feeds(manifest, batch=2, points=10)
    with pytest.raises(ExportError, match=r"input 'image_front': expected shape \['batch', 2, 64, 64, 3\]"):
        runtime.infer({**feeds, "image_front": feeds["image_front"][:, :, :32]})
    with pytest.raises(ExportError, match="input 'lidar': expected dtype float32, got float64"):
        runtime.infer({**feeds, "lidar": feeds["lidar"].astype(np.float64)})
    with pytest.raises(ExportError, match=r"input 'proprio': expected shape"):
        runtime.infer({**feeds, "proprio": feeds["proprio"][:1]})  # batch 1 against 2 elsewhere
    with pytest.raises(ExportError, match=r"missing \['task_mask'\]"):
        runtime.infer({k: v for k, v in feeds.items() if k != "task_mask"})
    with pytest.raises(ExportError, match="outside the exported range"):
        runtime.infer(random_feeds(manifest, batch=1, points=9000))


def test_a_diffusion_head_exports_with_its_starting_noise_as_an_input(tmp_path):
    checkpoint = make_checkpoint("driving", tmp_path / "checkpoint", stats=True, action_head="diffusion")
    export_onnx(checkpoint, tmp_path / "export", outputs=("actions",))
    manifest = Manifest.read(tmp_path / "export")
    assert {t.name: t.shape for t in manifest.inputs}["action_noise"] == ("batch", 4, 2)
    assert verify(checkpoint, tmp_path / "export", "driving", steps=3)["actions"]["max_abs_err"] <= 1e-4
    runtime, feeds = OrtRuntime(tmp_path / "export"), random_feeds(manifest, batch=2, points=64)
    first = runtime.infer(feeds)["actions"]
    np.testing.assert_array_equal(runtime.infer(feeds)["actions"], first)  # the noise decides, nothing else
    feeds["action_noise"] = feeds["action_noise"][::-1].copy()
    assert not np.allclose(runtime.infer(feeds)["actions"], first)
    # the robot loop draws the noise from its seed: reproducible episodes, a fresh draw per copy
    noise = [Preprocessor(manifest, seed=7).feeds(batch=2)["action_noise"] for _ in range(2)]
    np.testing.assert_array_equal(noise[0], noise[1])
    assert noise[0].shape == (2, 4, 2) and not np.allclose(noise[0][0], noise[0][1])
