"""Recording episodes from the real simulators with their scripted experts."""

import numpy as np
import pytest

from fuse_ros.data.record import control_period, record_episode
from fuse_ros.envs import make, make_expert
from fuse_ros.envs.driving.vehicle import VehicleLimits
from fuse_ros.instructions import Instructions


@pytest.fixture(scope="module")
def grasp_env():
    env = make("grasp")
    yield env
    env.close()


def test_an_episode_holds_what_the_actor_saw_and_did(grasp_env, same_episode):
    episode = record_episode(grasp_env, make_expert(grasp_env), seed=5, max_steps=12)
    spec = grasp_env.unwrapped.observation_spec
    assert episode.steps == 12
    for m in spec:
        data = episode.observations[m.name]
        assert data.shape == (12, *m.max_shape) and data.dtype == np.dtype(m.dtype), m.name
        assert episode.valid[m.name].all()
    assert episode.actions.shape == (12, 7) and episode.actions.dtype == np.float32
    np.testing.assert_allclose(np.diff(episode.stamps), control_period(grasp_env))
    assert episode.instruction and isinstance(episode.instructions, Instructions)
    assert episode.meta["seed"] == 5 and episode.meta["variant"] in episode.instructions.variants
    assert len({episode.observations["audio"][k].tobytes() for k in range(12)}) > 1  # copies, not one buffer

    again = record_episode(grasp_env, make_expert(grasp_env), seed=5, max_steps=12)
    same_episode(episode, again)
    other = record_episode(grasp_env, make_expert(grasp_env), seed=6, max_steps=12)
    assert not np.array_equal(other.observations["proprio"], episode.observations["proprio"])


def test_driving_ground_truth_is_kept_as_extras():
    env = make("driving")
    try:
        episode = record_episode(env, make_expert(env), seed=1, max_steps=4)
    finally:
        env.close()
    assert "lidar_count" in episode.observations and episode.observations["lidar_count"].min() > 0
    assert {"boxes", "bev", "collision"} <= set(episode.extras)  # ground truth the simulator puts in info
    for key, value in episode.extras.items():
        assert len(value) == 4, key
    assert episode.meta["condition"] and episode.meta["task"]


class Fixed:
    """One action for ever: full lock and throttle leave the road, full throttle straight on meets what
    stands in the lane."""

    def __init__(self, steer: float):
        self.action = np.array([steer, 1.0], np.float32)

    def reset(self) -> None:
        pass

    def act(self, obs: dict) -> np.ndarray:
        return self.action


def test_an_episode_says_how_it_ended():
    env = make("driving")
    try:
        expert = record_episode(env, make_expert(env), seed=1)
        swerve = record_episode(env, Fixed(steer=1.0), seed=1)
        cut = record_episode(env, make_expert(env), seed=1, max_steps=3)
        crash = record_episode(env, Fixed(steer=0.0), seed=0, options={"task": "lane_keep"})
    finally:
        env.close()
    assert expert.meta["end"] == "success" and expert.succeeded
    assert swerve.meta["end"] == "off_road" and swerve.steps < expert.steps  # the simulator ended it
    assert crash.meta["end"] == "collision"
    assert cut.meta["end"] == "timeout" and cut.steps == 3


class Logged:
    """The expert, with a log of the actions it chose."""

    def __init__(self, expert):
        self.expert, self.chosen = expert, []

    def reset(self) -> None:
        self.expert.reset()

    def act(self, obs: dict) -> np.ndarray:
        self.chosen.append(np.asarray(self.expert.act(obs), np.float32))
        return self.chosen[-1]


def test_action_noise_moves_the_robot_but_records_the_experts_own_actions():
    env = make("driving", task="lane_keep", cameras=False)
    try:
        clean = record_episode(env, make_expert(env), seed=3, max_steps=30)
        expert = Logged(make_expert(env))
        noisy = record_episode(env, expert, seed=3, max_steps=30, action_noise=0.1)
        again = record_episode(env, make_expert(env), seed=3, max_steps=30, action_noise=0.1)
    finally:
        env.close()
    np.testing.assert_array_equal(noisy.actions, np.stack(expert.chosen))  # the labels: the expert's
    given = noisy.observations["proprio"][1:, 1] / VehicleLimits().max_steer  # steering after each step
    assert np.abs(given - noisy.actions[:-1, 0]).max() > 0.1  # was not the expert's (without noise: 0)
    assert np.abs(noisy.observations["proprio"] - clean.observations["proprio"]).max() > 0.05
    np.testing.assert_array_equal(noisy.actions, again.actions)  # the noise repeats with the seed


def test_with_a_driver_the_car_follows_the_driver_and_the_labels_are_the_actors():
    """The driving data's late driver: an eager expert labels, one that moves over later drives."""
    env = make("driving", task="lane_keep", cameras=False)
    try:
        actor, driver = Logged(env.unwrapped.make_expert(eager=True)), Logged(make_expert(env))
        episode = record_episode(env, actor, seed=5, max_steps=40, driver=driver)
    finally:
        env.close()
    labels, driven = np.stack(actor.chosen), np.stack(driver.chosen)
    np.testing.assert_array_equal(episode.actions, labels)
    given = episode.observations["proprio"][1:, 1] / VehicleLimits().max_steer  # steering after each step
    np.testing.assert_allclose(given, driven[:-1, 0], atol=1e-5)
    assert np.abs(labels[:, 0] - driven[:, 0]).max() > 0.2  # the eager expert moved over first
