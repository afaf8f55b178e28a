"""fuse-ingest: bags become episodes of a new or existing dataset."""

import subprocess
import sys

import numpy as np

from fuse_ros.data.bag import export_bag
from fuse_ros.data.episodes import EpisodeStore
from fuse_ros.data.record import record_episode
from fuse_ros.data.stats import load_stats
from fuse_ros.envs import make, make_expert


def ingest(*args):
    command = [sys.executable, "-m", "fuse_ros.cli.ingest", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_bags_are_added_to_a_dataset(tmp_path):
    env = make("grasp", cameras=False)
    episode = record_episode(env, make_expert(env), seed=4, max_steps=8)
    bag = export_bag(episode, env.unwrapped.observation_spec, tmp_path / "recording")
    env.close()
    out = tmp_path / "dataset"
    for expected in (1, 2):
        result = ingest(f"bags=[{bag}]", f"out={out}", "task=grasp")
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"({expected} episodes)" in result.stdout
    store = EpisodeStore(out)
    assert store.names() == ["episode_000000", "episode_000001"]
    np.testing.assert_array_equal(store.load("episode_000001").actions, episode.actions)
    assert load_stats(out)["actions"].count == 2 * episode.steps

    result = ingest(f"bags=[{bag}]", f"out={out}", "topics=example_robot")
    assert result.returncode != 0 and "fuse-ingest: " in result.stderr and "/policy/action" in result.stderr
