"""The scripted expert solves every driving task in every condition; doing nothing solves none."""

import numpy as np
import pytest

from fuse_ros.envs.driving import CONDITIONS, TASKS, DrivingEnv
from fuse_ros.envs.driving.expert import BLOCK_HORIZONS
from fuse_ros.envs.driving.tasks import LANE_KEEP
from fuse_ros.train.choices import decisions

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
        if task == LANE_KEEP:
            continue  # below: a free lane is won by driving straight on
        env = DrivingEnv(task=task, condition="day", cameras=False)
        wins = [run(env, 2000 + i, lambda obs: np.zeros(2, np.float32))["success"] for i in range(3)]
        assert sum(wins) == 0, f"{task}: a do-nothing policy succeeded {sum(wins)}/3 times"


def test_lane_keep_must_see_where_the_obstacles_stand():
    """The ego's own lane is blocked about half the time (reset info "path"): a blind policy that never
    changes lanes loses every blocked episode and wins some free ones."""
    env = DrivingEnv(task=LANE_KEEP, condition="day", cameras=False)
    blocked, wins = [], []
    for seed in range(3000, 3016):
        _, info = env.reset(seed=seed)
        lane = env.road.lane_at(env.ego.y)
        assert info["path"] == ("blocked" if any(a.lane == lane for a in env.actors if a.static) else "clear")
        blocked.append(info["path"] == "blocked")
        wins.append(run(env, seed, lambda obs: np.zeros(2, np.float32))["success"])
    assert 0.25 <= np.mean(blocked) <= 0.75, f"own lane blocked in {np.mean(blocked):.2f} of the episodes"
    assert not any(w and b for w, b in zip(wins, blocked, strict=True))
    assert any(wins), "driving straight on through a free lane should succeed"


def test_the_expert_does_not_brake_for_an_obstacle_before_its_lane_is_blocked():
    """Braking earlier would tell a policy, in its own speed, that an obstacle stands ahead before its
    senses do: it would learn to change lanes when it slows down, which it never does by itself. Scenes
    with their stopped obstacles only (no traffic to brake for, no gap to wait for)."""
    env = DrivingEnv(task=LANE_KEEP, condition="day", cameras=False)
    onsets = 0
    for seed in range(5000, 5012):
        obs, _ = env.reset(seed=seed)
        env.actors[:] = [a for a in env.actors if a.static]
        expert, actions, done = env.make_expert(), [], False
        expert.reset()
        while not done:
            actions.append(expert.act(obs))
            obs, _, terminated, truncated, _ = env.step(actions[-1])
            done = terminated or truncated
        for step, _ in decisions(np.asarray(actions), "driving"):
            onsets += 1
            assert min(a[1] for a in actions[:step]) > -0.05, (seed, step)
    assert onsets >= 3


def test_how_soon_the_expert_moves_over_varies_by_episode_and_repeats_with_the_seed():
    env = DrivingEnv(task=LANE_KEEP, condition="day", cameras=False)
    expert = env.make_expert()

    def horizon(seed: int) -> float:
        env.reset(seed=seed)
        expert.reset()
        return expert.horizon

    horizons = [horizon(seed) for seed in range(20)]
    assert all(BLOCK_HORIZONS[0] <= h <= BLOCK_HORIZONS[1] for h in horizons)
    assert max(horizons) - min(horizons) > (BLOCK_HORIZONS[1] - BLOCK_HORIZONS[0]) / 2
    assert horizon(7) == horizons[7]


def test_an_eager_expert_moves_over_for_anything_stopped_within_the_longest_horizon():
    env = DrivingEnv(task=LANE_KEEP, condition="day", cameras=False)
    eager = env.make_expert(eager=True)
    for seed in range(5):
        env.reset(seed=seed)
        eager.reset()
        assert eager.horizon == BLOCK_HORIZONS[1]
