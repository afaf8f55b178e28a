"""fuse-ship: a run becomes an fp16 shipped checkpoint whose model card holds eval.json's numbers."""

import json
import subprocess
import sys

import torch
from safetensors.torch import load_file

from fuse_ros.policy import load_policy
from fuse_ros.train.trainer import TrainConfig, Trainer
from tests.train.conftest import TINY, make_dataset


def test_ship_writes_fp16_weights_and_a_card_measured_on_them(tmp_path):
    data = make_dataset(tmp_path / "button", episodes=3, max_steps=8)
    run = tmp_path / "run"
    Trainer(
        TrainConfig(data=[str(data)], out=str(run), policy=TINY, batch_size=4, steps=2, progress=False)
    ).run()
    shipped = tmp_path / "models" / "tiny"
    command = [
        *(sys.executable, "-m", "fuse_ros.cli.ship", f"checkpoint={run}", f"out={shipped}"),
        *("episodes=2", "splits=[train]", "name=tiny FuSe", "progress=false"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    weights = load_file(shipped / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float16}
    original, loaded = load_policy(run).state_dict(), load_policy(shipped).state_dict()
    assert all(torch.allclose(original[k].float(), loaded[k].float(), atol=1e-2, rtol=1e-2) for k in original)
    card = json.loads((shipped / "model_card.json").read_text())
    evaluated = json.loads((shipped / "eval" / "eval.json").read_text())
    assert {"success", "success_by_variant", "retrieval"} <= set(card)
    assert card["success"] == evaluated["success"] and card["outcomes"] == evaluated["outcomes"]
    assert card["training"]["steps"] == 2 and card["modalities"] == load_policy(shipped).spec.names()
    readme = (shipped / "README.md").read_text()
    assert readme.startswith("# tiny FuSe") and f"| button | {card['success']['button']:.2f} |" in readme


def test_shipping_a_missing_run_is_one_clear_line(tmp_path):
    command = [sys.executable, "-m", "fuse_ros.cli.ship", f"checkpoint={tmp_path}/none", f"out={tmp_path}/x"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "fuse-ship:" in result.stderr and "Traceback" not in result.stderr
