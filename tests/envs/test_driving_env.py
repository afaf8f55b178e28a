"""The driving environment honours the shared contract: spaces, observations, info, seeding, errors."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from fuse_ros.envs import make, make_expert
from fuse_ros.envs.driving import CONDITIONS, MAX_OBJECTS, TASKS, DrivingEnv
from fuse_ros.envs.driving.geometry import path_blocked
from fuse_ros.instructions import Instructions
from fuse_ros.observation import Kind


@pytest.fixture(scope="module")
def env():
    env = DrivingEnv(image_size=32)
    yield env
    env.close()


def test_check_env_passes(env):
    check_env(env, skip_render_check=True)
    blind = DrivingEnv(cameras=False)
    check_env(blind, skip_render_check=True)
    assert "image_front" not in blind.observation_space.spaces


def test_registered_task_makes_the_env_and_its_expert():
    env = make("driving", cameras=False)
    assert isinstance(env.unwrapped, DrivingEnv)
    obs, _ = env.reset(seed=0)
    action = make_expert(env).act(obs)
    assert env.action_space.contains(action)
    env.close()
    lane_keep = make("driving", task="lane_keep", cameras=False)  # the simulator's own `task` passes through
    assert {lane_keep.reset(seed=s)[1]["task"] for s in range(4)} == {"lane_keep"}


def test_spaces_and_observation_contract(env):
    spec = env.observation_spec
    assert spec["lidar"].kind is Kind.LIDAR and spec["lidar"].shape == (None, 4)
    assert spec["lidar"].max_len == env.lidar.config.beams * env.lidar.config.steps
    assert spec["image_front"].shape == (32, 32, 3) and spec["image_front"].dtype == "uint8"
    assert spec["proprio"].kind is Kind.PROPRIO
    assert env.action_space == gym.spaces.Box(-1, 1, (2,), np.float32)
    obs, _ = env.reset(seed=1)
    for _ in range(3):
        assert env.observation_space.contains(obs)
        observation = spec.observation_from_gym(obs, stamp=0.5)
        cloud = observation.readings["lidar"].data
        assert cloud.shape == (obs["lidar_count"], 4) and cloud.dtype == np.float32
        assert not obs["lidar"][obs["lidar_count"] :].any(), "padding beyond the count is zero"
        assert observation.instruction == obs["instruction"]
        obs, *_ = env.step(env.action_space.sample())


def test_info_carries_language_condition_and_ground_truth(env):
    for seed in range(6):
        obs, info = env.reset(seed=seed)
        assert info["task"] in TASKS and info["condition"] in CONDITIONS
        instructions = info["instructions"]
        assert isinstance(instructions, Instructions)
        assert set(instructions.variants) == {"simple", "empty", "visual", "lidar", "visual+lidar"}
        assert instructions.valid["lidar"] and instructions.valid["simple"]
        camera_works = CONDITIONS[info["condition"]].visual_ok
        assert instructions.valid["visual"] == instructions.valid["visual+lidar"] == camera_works
        texts = instructions.variants[info["variant"]] or ("",)  # "empty": no language
        assert instructions.valid[info["variant"]] and obs["instruction"] in texts
        assert {"visual", "lidar", "visual+lidar"} <= set(instructions.descriptions)
        assert Instructions.from_json(instructions.to_json()) == instructions
        obs, _, _, _, info = env.step(np.zeros(2, np.float32))
        assert isinstance(info["success"], bool) and isinstance(info["collision"], bool)
        boxes, count = info["boxes"], info["boxes_count"]
        assert boxes.shape == (MAX_OBJECTS, 8) and count == len(env.actors)
        assert not boxes[count:].any() and set(boxes[:count, 7]) <= {1, 2, 3, 4}
        speeds = info["boxes_speed"]
        assert speeds.shape == (MAX_OBJECTS,) and not speeds[count:].any()
        assert speeds[:count].tolist() == pytest.approx([a.speed for a in env.actors])
        bev = info["bev"]
        assert bev.dtype == np.uint8 and bev.shape == (64, 64)
        # each object near the ego covers the grid cell under its centre with its class
        for box in boxes[:count]:
            i, j = np.floor((box[:2] + env.bev_extent) / env.bev_resolution).astype(int)
            if 0 <= i < 64 and 0 <= j < 64:
                assert bev[i, j] == box[7] or bev[i, j] in boxes[:count, 7]
        assert (bev > 0).sum() >= sum(np.abs(b[:2]).max() < 30 for b in boxes[:count])


def test_same_seed_same_episode_and_same_scene_across_conditions():
    runs = []
    for condition in ("day", "night", "day"):
        env = DrivingEnv(task="stop_behind", condition=condition, image_size=32)
        obs, info = env.reset(seed=11)
        trace = [obs]
        expert = env.make_expert()
        for _ in range(5):
            obs, *_ = env.step(expert.act(obs))
            trace.append(obs)
        runs.append((trace, [a.box() for a in env.actors], info["instructions"]))
        env.close()
    (day, day_boxes, day_text), (night, night_boxes, _), (again, _, again_text) = runs
    for a, b in zip(day, again, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert day_text == again_text
    np.testing.assert_array_equal(day_boxes, night_boxes)  # the scene does not depend on the condition
    assert not np.array_equal(day[-1]["image_front"], night[-1]["image_front"])
    other = DrivingEnv(task="stop_behind", cameras=False)
    assert not np.array_equal(other.reset(seed=12)[0]["lidar"], day[0]["lidar"])


def test_reset_options_fix_task_condition_and_variant():
    env = DrivingEnv(cameras=False)
    for task in TASKS:
        _, info = env.reset(seed=3, options={"task": task, "condition": "fog", "variant": "lidar"})
        assert (info["task"], info["condition"], info["variant"]) == (task, "fog", "lidar")
    with pytest.raises(ValueError, match="not valid"):
        env.reset(seed=3, options={"condition": "night", "variant": "visual"})
    command = DrivingEnv(task="command", cameras=False)
    assert {command.reset(seed=s)[1]["task"] for s in range(12)} == {
        "change_lane",
        "stop_behind",
        "pull_over",
    }


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown task 'fly'"):
        DrivingEnv(task="fly")
    with pytest.raises(ValueError, match="unknown condition 'rain'"):
        DrivingEnv(condition="rain")
    with pytest.raises(ValueError, match="image_size"):
        DrivingEnv(image_size=0)
    with pytest.raises(ValueError, match="lidar needs beams"):
        DrivingEnv(cameras=False, lidar={"beams": 0})
    env = DrivingEnv(cameras=False)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be 2 finite numbers"):
        env.step(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="action must be 2 finite numbers"):
        env.step(np.zeros(3))


def test_the_path_is_blocked_by_a_stopped_object_centred_5_to_40_m_ahead_within_half_a_lane():
    boxes, speeds = np.zeros((MAX_OBJECTS, 8), np.float32), np.zeros(MAX_OBJECTS, np.float32)
    assert not path_blocked(boxes, 0, speeds)
    cases = {(20.0, 0.5): True, (39.0, -1.7): True, (20.0, 2.5): False, (3.0, 0.0): False, (45.0, 0.0): False}
    for (x, y), blocked in cases.items():
        boxes[0, :2] = x, y
        assert path_blocked(boxes, 1, speeds) == blocked, (x, y)
    boxes[1, :2] = 20.0, 0.0  # a row past the count is not an object
    boxes[0, :2] = 45.0, 0.0
    assert not path_blocked(boxes, 1, speeds) and path_blocked(boxes, 2, speeds)
    speeds[1] = 8.0  # traffic in the path is followed, not driven around
    assert not path_blocked(boxes, 2, speeds)
