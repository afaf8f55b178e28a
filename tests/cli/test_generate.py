"""fuse-generate end to end: parallel workers, the dataset, statistics, summary and bags."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fuse_ros.cli import open_groups
from fuse_ros.data.bag import ingest_bag
from fuse_ros.data.episodes import EpisodeStore
from fuse_ros.data.generate import GenerateConfig, generate
from fuse_ros.data.stats import load_stats
from fuse_ros.envs.driving.vehicle import VehicleLimits


def run_cli(module, *args):
    result = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("generate") / "grasp"
    result = run_cli(
        "fuse_ros.cli.generate",
        "task=grasp",
        "episodes=3",
        "workers=2",
        f"out={out}",
        "bag=true",
        "keep_failed=true",
        "env.max_steps=30",
    )
    return out, result


def same_arrays(a, b):
    return all(np.array_equal(value, b.arrays()[key]) for key, value in a.arrays().items())


def test_generate_writes_dataset_stats_summary_and_bags(dataset):
    out, result = dataset
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == summary["episodes_kept"] == 3
    assert 0 <= summary["expert_success_rate"] <= 1 and summary["steps_per_second"] > 0
    assert f"expert success {summary['expert_success_rate']:.3f}" in result.stdout
    assert set(summary["by_variant"]) and sum(v["episodes"] for v in summary["by_variant"].values()) == 3
    assert summary["env"] == {"max_steps": 30}

    store = EpisodeStore(out)
    assert store.names() == ["episode_000000", "episode_000001", "episode_000002"]
    episodes = [store.load(name) for name in store.names()]
    assert sum(e.steps for e in episodes) == summary["steps"]
    assert all(e.steps <= 30 for e in episodes)
    assert [e.succeeded for e in episodes].count(True) == round(3 * summary["expert_success_rate"])
    stats = load_stats(out)
    actions = np.concatenate([e.actions for e in episodes])
    np.testing.assert_allclose(stats["actions"].max, actions.max(0), rtol=1e-6)
    assert len(stats["proprio"].mean) == store.spec["proprio"].shape[0]

    bags = sorted((out / "bags").iterdir())
    assert [b.name for b in bags] == store.names()
    from_bag = ingest_bag(bags[1], store.spec)
    np.testing.assert_array_equal(from_bag.actions, episodes[1].actions)  # the full round trip: tests/data


def test_episodes_depend_on_seed_and_index_only(dataset, tmp_path):
    """Episode 1 made alone in this process equals episode 1 made by a pool of two workers."""
    out, _ = dataset
    config = GenerateConfig(
        "grasp", 2, tmp_path / "again", workers=1, env={"max_steps": 30}, keep_failed=True
    )
    generate(config, progress=False)
    pooled, alone = (EpisodeStore(root).load("episode_000001") for root in (out, config.out))
    assert same_arrays(pooled, alone) and pooled.instruction == alone.instruction


def test_existing_dataset_bad_task_and_bad_noise_are_refused_plainly(dataset):
    out, _ = dataset
    for args, said in (
        (["task=grasp", f"out={out}"], "exists"),
        (["task=juggle", f"out={out}_x"], "juggle"),
        (["task=grasp", f"out={out}_n", "action_noise=-0.1"], "action_noise"),
        (["task=grasp", f"out={out}_l", "late_driver=true"], "late_driver is for the driving task"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "fuse_ros.cli.generate", "episodes=1", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode != 0
        assert result.stderr.startswith("fuse-generate: ") and "Traceback" not in result.stderr
        assert said in result.stderr


def test_env_keys_may_be_new_to_the_config():
    assert open_groups(["prog", "env.split=unseen", "task=grasp", "+env.x=1"], "env") == [
        "prog",
        "++env.split=unseen",
        "task=grasp",
        "+env.x=1",
    ]


def test_help_explains_usage():
    result = run_cli("fuse_ros.cli.generate", "--help")
    assert "fuse-generate task=" in result.stdout and "keep_failed" in result.stdout


def test_a_killed_run_leaves_only_complete_episodes(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "fuse_ros.cli.generate",
        "task=grasp",
        "episodes=200",
        "workers=1",
        f"out={out}",
        "progress=false",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "episodes").glob("episode_*"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    store = EpisodeStore(out)
    assert len(store) >= 3 and not (out / "summary.json").exists()
    for name in store.names():
        assert store.load(name, verify=True).succeeded


def test_a_late_driver_drives_while_the_eager_expert_is_recorded(tmp_path):
    out = tmp_path / "late"
    args = ["task=driving", "env.task=lane_keep", "env.cameras=false", "episodes=2", "workers=1"]
    run_cli("fuse_ros.cli.generate", *args, "seed=5", "late_driver=true", "keep_failed=true", f"out={out}")
    assert json.loads((out / "summary.json").read_text())["late_driver"] is True
    store, gaps = EpisodeStore(out), []
    for name in store.names():
        episode = store.load(name)
        given = episode.observations["proprio"][1:, 1] / VehicleLimits().max_steer  # the driver's steering
        gaps.append(np.abs(given - episode.actions[:-1, 0]).max())
    assert max(gaps) > 0.2  # the recorded expert moved over before the car did
