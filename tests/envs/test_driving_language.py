"""Instructions and descriptions say what each sense can know: colour from the camera, lane and distance
from the lidar, nothing visual at night or in fog."""

import re

import pytest

from fuse_ros.envs.driving import CONDITIONS, TASKS, DrivingEnv
from fuse_ros.envs.driving.actors import COLOURS
from fuse_ros.observation import INSTRUCTION_CHARSET

COLOUR_WORDS = re.compile(r"\b(" + "|".join(COLOURS) + r")\b")


@pytest.fixture(scope="module")
def env():
    return DrivingEnv(cameras=False)


def episode(env, task, condition, seed):
    _, info = env.reset(seed=seed, options={"task": task, "condition": condition})
    return info["instructions"], env


@pytest.mark.parametrize("task", TASKS)
def test_texts_fit_the_instruction_space_and_senses(env, task):
    for seed in range(8):
        for condition in CONDITIONS:
            instructions, _ = episode(env, task, condition, seed)
            texts = [t for ts in instructions.variants.values() for t in ts]
            texts += list(instructions.descriptions.values())
            for text in texts:
                assert text and len(text) <= 256 and set(text) <= INSTRUCTION_CHARSET, text
            for text in instructions.variants["lidar"] + (instructions.descriptions["lidar"],):
                assert not COLOUR_WORDS.search(text), f"the lidar cannot know colours: {text!r}"
            assert len(instructions.variants["simple"]) >= 3


def test_stop_behind_names_the_target_by_colour_or_by_place(env):
    instructions, env = episode(env, "stop_behind", "day", seed=3)
    target = env.actors[env.goal.target]
    lane = env.road.lane_name(env.goal.lane)
    assert all(f"{target.colour} car" in t for t in instructions.variants["visual"])
    assert all(lane in t and " m ahead" in t for t in instructions.variants["lidar"])
    assert all(f"{target.colour} car" in t and lane in t for t in instructions.variants["visual+lidar"])
    assert f"{target.colour} car" in instructions.descriptions["visual"]


def test_night_and_fog_leave_no_visual_instructions_and_blank_descriptions(env):
    for condition in ("night", "fog"):
        instructions, env = episode(env, "pull_over", condition, seed=2)
        assert instructions.variants["visual"] == () and instructions.variants["visual+lidar"] == ()
        assert instructions.variants["lidar"], "the lidar still finds the truck"
        visual = instructions.descriptions["visual"]
        assert visual.startswith(CONDITIONS[condition].summary) and "truck" not in visual
        assert "large vehicle" in instructions.descriptions["lidar"]
    instructions, env = episode(env, "pull_over", "day", seed=2)
    truck = env.actors[env.goal.target]
    assert f"{truck.colour} truck" in instructions.descriptions["visual"]
    assert all("truck" in t for t in instructions.variants["simple"])
