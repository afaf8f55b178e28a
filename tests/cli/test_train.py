"""fuse-train end to end: pretraining, FuSe fine-tuning from it, bad input, and DDP under torchrun."""

import json
import shutil
import subprocess
import sys

import pytest

from fuse_ros.policy import load_policy
from tests.train.conftest import TINY, make_dataset

TINY_ARGS = [f"policy.{k}={json.dumps(v).replace(' ', '')}" for k, v in TINY.items()] + [
    "batch_size=4",
    "steps=2",
    "warmup=1",
    "progress=false",
    "log_every=1",
]


def fuse_train(*args, torchrun: bool = False):
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
        if torchrun
        else [sys.executable]
    )
    command = [*launcher, "-m", "fuse_ros.cli.train", *args, *TINY_ARGS]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("cli") / "button")


def test_help_names_the_experiments():
    result = subprocess.run(
        [sys.executable, "-m", "fuse_ros.cli.train", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for name in ("pretrain", "fuse", "vision_finetune", "no_language", "torchrun"):
        assert name in result.stdout


def test_bad_input_is_one_clear_line(data, tmp_path):
    missing = fuse_train("experiment=fuse", f"data=[{tmp_path / 'nothing'}]", f"out={tmp_path / 'x'}")
    assert missing.returncode != 0 and "not a dataset" in missing.stderr and "Traceback" not in missing.stderr
    unknown = fuse_train("experiment=fuse", f"data=[{data}]", "modalities=[sonar]", f"out={tmp_path / 'y'}")
    assert unknown.returncode != 0 and "['sonar'] are not in" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not installed")
def test_pretrain_then_fuse_fine_tuning_under_torchrun(data, tmp_path):
    pretrain = fuse_train("experiment=pretrain", f"data=[{data}]", f"out={tmp_path / 'pre'}")
    assert pretrain.returncode == 0, pretrain.stderr[-2000:]
    assert load_policy(tmp_path / "pre").spec.names() == ["image_primary", "image_wrist", "proprio"]
    fuse = fuse_train(
        "experiment=fuse",
        f"data=[{data}]",
        f"init={tmp_path / 'pre'}",
        f"out={tmp_path / 'fuse'}",
        torchrun=True,
    )
    assert fuse.returncode == 0, fuse.stderr[-3000:]
    assert "new (freshly initialised):" in fuse.stdout and "tokenizers.audio" in fuse.stdout
    assert fuse.stdout.count("fine-tuning from") == 1  # rank 0 speaks, rank 1 does not
    training = json.loads((tmp_path / "fuse" / "training.json").read_text())
    assert training["world_size"] == 2 and training["step"] == 2
    assert "tactile_left" in load_policy(tmp_path / "fuse").spec.names()
    assert (tmp_path / "fuse" / "logs").is_dir() and (tmp_path / "fuse" / "stats.json").is_file()
