"""The scripted expert solves every driving task in every condition; doing nothing solves none."""

import numpy as np
import pytest

from fuse_ros.envs.driving import CONDITIONS, TASKS, DrivingEnv

EPISODES_PER_TASK = 5


def run(env: DrivingEnv, seed: int, policy=None) -> dict:
    obs, _ = env.reset(seed=seed)
    expert = env.make_expert()
    expert.reset()
    while True:
        action = expert.act(obs) if policy is None else policy(obs)
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_expert_succeeds_in_every_condition(condition):
    outcomes = {}
    for task in TASKS:
        env = DrivingEnv(task=task, condition=condition, cameras=False)
        infos = [run(env, 1000 + i) for i in range(EPISODES_PER_TASK)]
        outcomes[task] = [info["success"] for info in infos]
        assert all(info["condition"] == condition and info["task"] == task for info in infos)
        assert not any(info["collision"] for info in infos)
    rate = np.mean([s for wins in outcomes.values() for s in wins])
    assert rate >= 0.95, f"{condition}: expert success {rate:.2f}, per task {outcomes}"


def test_standing_on_the_pedals_does_not_solve_tasks():
    """Without steering or braking the ego drifts, hits the obstacle or never stops: no task is free."""
    for task in TASKS:
        env = DrivingEnv(task=task, condition="day", cameras=False)
        wins = [run(env, 2000 + i, lambda obs: np.zeros(2, np.float32))["success"] for i in range(3)]
        assert sum(wins) == 0, f"{task}: a do-nothing policy succeeded {sum(wins)}/3 times"
