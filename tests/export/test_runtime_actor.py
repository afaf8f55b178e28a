"""The deployed step as an actor: the same closed-loop actions from torch and ONNX Runtime, all finite."""

import json
import subprocess
import sys

import numpy as np

from fuse_ros.envs import make
from fuse_ros.runtime.actor import RuntimeActor
from tests.train.conftest import make_dataset


def run(actor: RuntimeActor, steps: int = 6) -> np.ndarray:
    env = make("grasp")
    obs, _ = env.reset(seed=3)
    actor.reset()
    actions = []
    for _ in range(steps):
        actions.append(actor.act(obs))
        obs, *_ = env.step(actions[-1])
    env.close()
    return np.array(actions)


def test_torch_and_onnxruntime_actors_agree_in_closed_loop(grasp_export):
    checkpoint, export = grasp_export
    torch_actions = run(RuntimeActor.load("torch", checkpoint))
    ort_actions = run(RuntimeActor.load("onnxruntime", checkpoint, export))
    assert torch_actions.shape == (6, 7) and np.isfinite(torch_actions).all()
    np.testing.assert_allclose(ort_actions, torch_actions, atol=1e-4)
    assert np.abs(np.diff(torch_actions, axis=0)).max() > 0  # the policy reacts: not a constant


def test_a_non_finite_prediction_never_reaches_the_robot(grasp_export):
    checkpoint, export = grasp_export
    actor = RuntimeActor.load("onnxruntime", checkpoint, export)
    infer = actor.runtime.infer
    actor.runtime.infer = lambda feeds: {k: np.full_like(v, np.nan) for k, v in infer(feeds).items()}
    actions = run(actor, steps=3)
    assert np.isfinite(actions).all()


def test_fuse_eval_runs_the_closed_loop_on_the_exported_graph(grasp_export, tmp_path):
    """The deployed graph is what gets evaluated: fuse-eval backend=onnxruntime, language metrics in torch."""
    checkpoint, export = grasp_export
    data = make_dataset(tmp_path / "grasp", task="grasp", episodes=2, max_steps=4)
    out = tmp_path / "eval"
    command = [
        sys.executable,
        "-m",
        "fuse_ros.cli.eval",
        f"checkpoint={checkpoint}",
        "backend=onnxruntime",
        f"export={export}",
        f"data=[{data}]",
        "tasks=[grasp]",
        "episodes=2",
        "splits=[train]",
        "env.max_steps=4",
        f"out={out}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "eval.json").read_text())
    assert results["backend"].startswith("onnxruntime") and len(results["outcomes"]["grasp"]) == 2
    assert results["retrieval"] and all(r["r1"] <= r["r5"] for r in results["retrieval"].values())
