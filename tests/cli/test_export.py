"""fuse-export end to end on a driving policy: model.onnx, manifest.json and parity.json, a readable
--help, and a clean one-line error for a bad checkpoint."""

import json
import subprocess
import sys

import torch

from fuse_ros.envs import make
from fuse_ros.policy import Policy, PolicyConfig, save_policy

SMALL = {"depth": 1, "width": 32, "heads": 2, "mlp_dim": 64, "image_channels": (8, 8, 8, 8)}
SMALL |= {"lidar_point_channels": 8, "lidar_channels": (8, 8), "embed_dim": 16, "language_readouts": 2}


def driving_checkpoint(folder):
    """A freshly initialised (small `tiny`) policy for the driving simulator's observation spec."""
    env = make("driving")
    spec = env.unwrapped.observation_spec
    env.close()
    torch.manual_seed(0)
    return save_policy(Policy(PolicyConfig.preset("tiny", **SMALL, action_dims={"driving": 2}), spec), folder)


def run_cli(module, *args, ok=True):
    result = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300
    )
    assert (result.returncode == 0) == ok, result.stderr[-3000:]
    return result


def test_export_writes_model_manifest_and_parity(tmp_path):
    checkpoint = driving_checkpoint(tmp_path / "checkpoint")
    out = tmp_path / "export"
    result = run_cli(
        "fuse_ros.cli.export",
        f"checkpoint={checkpoint}",
        f"out={out}",
        "verify=true",
        "steps=3",
        "language=false",
    )
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.onnx", "parity.json"]
    parity = json.loads((out / "parity.json").read_text())
    assert parity["actions"]["max_abs_err"] <= 1e-4 and parity["actions"]["cosine"] > 0.99999
    assert "READY" in result.stdout and "parity actions: max_abs_err" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dynamic"] == {"batch": [1, 256], "lidar_points": [1, 65536]}


def test_help_and_errors(tmp_path):
    assert "fuse-export checkpoint=<dir> out=<dir>" in run_cli("fuse_ros.cli.export", "--help").stdout
    result = run_cli("fuse_ros.cli.export", f"checkpoint={tmp_path}", f"out={tmp_path / 'x'}", ok=False)
    assert "fuse-export:" in result.stderr and "config.json" in result.stderr
    assert "Traceback" not in result.stderr
