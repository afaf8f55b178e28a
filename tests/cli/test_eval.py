"""fuse-eval end to end on a briefly trained tiny policy: eval.json's contract and its plots."""

import json
import subprocess
import sys

import pytest

from fuse_ros.paths import models_dir
from fuse_ros.train.trainer import TrainConfig, Trainer
from tests.train.conftest import TINY, make_dataset


def test_eval_writes_success_variants_retrieval_and_plots(tmp_path):
    data = make_dataset(tmp_path / "button", episodes=3, max_steps=8)
    run = tmp_path / "run"
    Trainer(
        TrainConfig(data=[str(data)], out=str(run), policy=TINY, batch_size=4, steps=2, progress=False)
    ).run()
    out = tmp_path / "eval"
    command = [
        sys.executable,
        "-m",
        "fuse_ros.cli.eval",
        f"checkpoint={run}",
        "episodes=2",
        f"out={out}",
        "drop=[audio]",
        "splits=[train,unseen]",
        "env.max_steps=6",  # simulator arguments, as fuse-generate takes them
        "chunking=ensemble",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "eval.json").read_text())
    assert set(results["success"]) == {"button"} and 0 <= results["success"]["button"] <= 1
    assert 0 <= results["success_unseen"]["button"] <= 1 and "button" in results["success_dropped"]["audio"]
    assert list(results["success_by_variant"]["button"]) == ["simple", "visual"]  # the first instructed
    assert len(results["outcomes"]["button"]) == 2 and results["env"] == {"max_steps": 6}
    assert results["chunking"] == {"mode": "ensemble", "execute_steps": 2}
    assert sum(results["endings"]["button"].values()) == 2
    assert results["retrieval"] and all({"r1", "r5"} <= set(r) for r in results["retrieval"].values())
    assert all(r["r1"] <= r["r5"] for r in results["retrieval"].values())
    for r in results["retrieval"].values():
        matrix = r["matrix"]
        assert len(matrix["scores"]) == len(matrix["rows"]) <= r["candidates"] == len(matrix["columns"])
    assert set(results["generation_accuracy"]) <= {
        "visual",
        "audio",
        "visual+audio",
        "tactile",
        "visual+tactile",
        "tactile+audio",
        "visual+tactile+audio",
    }
    assert (out / "training_curves.png").stat().st_size > 0 and (out / "retrieval.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("option", "says"),
    [(None, "none"), ("chunking=average", "chunking mode"), ("execute_steps=0", "execute_steps")],
)
def test_a_missing_checkpoint_or_a_bad_chunking_is_one_clear_line(tmp_path, option, says):
    command = [
        sys.executable,
        "-m",
        "fuse_ros.cli.eval",
        f"checkpoint={tmp_path / 'none'}",
        f"out={tmp_path}",
        *([option] if option else []),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "fuse-eval:" in result.stderr and says in result.stderr


def test_fuse_eval_reproduces_the_shipped_model_cards_episodes(tmp_path):
    """Same seeds, same variants, same weights: the first episodes end as the card says (its training
    data is not on this machine, so retrieval is skipped with a note)."""
    shipped = models_dir() / "fuse_tiny_manipulation"
    card = json.loads((shipped / "model_card.json").read_text())
    command = [
        *(sys.executable, "-m", "fuse_ros.cli.eval", f"checkpoint={shipped}", "episodes=6"),
        *(f"out={tmp_path}", "tasks=[button]", "splits=[train]", "progress=false"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = json.loads((tmp_path / "eval.json").read_text())["outcomes"]["button"]
    assert sum(a == b for a, b in zip(outcomes, card["outcomes"]["button"][:6], strict=True)) >= 5
