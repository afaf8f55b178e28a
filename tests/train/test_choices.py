"""The choice probe finds the expert's decisions where its script makes them, and reports what a policy
does there."""

from collections import Counter

import numpy as np
import pytest

from fuse_ros.data.episodes import EpisodeStore
from fuse_ros.envs.driving import DrivingEnv
from fuse_ros.envs.driving.tasks import LANE_KEEP
from fuse_ros.train.choices import DECISION_LEAD, decisions, probe
from fuse_ros.train.trainer import TrainConfig, Trainer
from tests.train.conftest import TINY, make_dataset

TASKS = ("button", "occluded_grasp")


@pytest.fixture(scope="module")
def demonstrations(tmp_path_factory):
    root = tmp_path_factory.mktemp("choices")
    return {task: make_dataset(root / task, task, episodes=6, max_steps=120) for task in TASKS}


@pytest.mark.parametrize("task", TASKS)
def test_a_successful_demonstration_moves_on_until_it_commits_once_at_the_end(demonstrations, task):
    store = EpisodeStore(demonstrations[task])
    moved_on = 0
    for name in store.names():
        episode = store.load(name)
        found = [move_on for _, move_on in decisions(np.asarray(episode.actions), task)]
        assert episode.meta["success"] and found == [True] * (len(found) - 1) + [False], (name, found)
        moved_on += sum(found)
    assert moved_on > 0  # some scenes made the expert probe a look-alike first


def test_a_driving_decision_is_where_the_expert_picks_a_new_lane_and_says_which_way():
    """The expert's lane (left is a higher index) changes where `decisions` finds a turn-in, and nowhere
    else: in episodes with a blocked lane and without one."""
    env = DrivingEnv(task=LANE_KEEP, condition="day", cameras=False)
    changes_seen = 0
    for seed in range(4000, 4006):
        obs, _ = env.reset(seed=seed)
        expert = env.make_expert()
        expert.reset()
        actions, changes, done = [], [], False
        while not done:
            before = expert.lane
            actions.append(expert.act(obs))
            if before is not None and expert.lane != before:
                changes.append((len(actions) - 1, expert.lane > before))
            obs, _, terminated, truncated, _ = env.step(actions[-1])
            done = terminated or truncated
        assert decisions(np.asarray(actions), "driving") == changes, seed
        changes_seen += len(changes)
    assert changes_seen > 0


def test_the_report_counts_each_decision_once_and_names_a_sense_it_cannot_drop(demonstrations, tmp_path):
    data = demonstrations["button"]
    out = tmp_path / "run"
    Trainer(
        TrainConfig(data=[str(data)], out=str(out), policy=TINY, batch_size=4, steps=2, progress=False)
    ).run()
    store = EpisodeStore(data)
    expected = [m for n in store.names() for _, m in decisions(np.asarray(store.load(n).actions), "button")]
    report = probe(out, data, drop=["audio"])
    assert report.task == "button" and report.decisions == len(expected)
    assert report.expert_moves_on == pytest.approx(np.mean(expected))
    assert 0.0 <= report.accuracy <= 1.0 and 0.0 <= report.policy_moves_on <= 1.0
    with pytest.raises(ValueError, match=r"cannot drop \['lidar'\]"):
        probe(out, data, drop=["lidar"])


def test_decision_weight_draws_the_windows_leading_to_each_decision_that_many_times(demonstrations, tmp_path):
    data = demonstrations["button"]
    made = {
        w: Trainer(TrainConfig(data=[str(data)], out=str(tmp_path / str(w)), policy=TINY, decision_weight=w))
        for w in (1, 3)
    }
    plain, weighted = made[1].windows, made[3].windows
    store = EpisodeStore(data)
    found = sum(len(decisions(np.asarray(store.load(n).actions), "button")) for n in store.names())
    assert len(weighted) == len(plain) + 2 * (DECISION_LEAD + 1) * found
    draws = Counter(weighted.indices)
    assert sorted(set(draws.values())) == [1, 3]
    with pytest.raises(ValueError, match="decision_weight must be an int >= 1"):
        TrainConfig(data=[str(data)], out=str(tmp_path), decision_weight=0)
