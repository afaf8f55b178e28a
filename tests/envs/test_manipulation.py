"""The manipulation simulator honours gymnasium's contract, the Observation contract and its seeds."""

import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from fuse_ros.envs import TASKS, make
from fuse_ros.envs.manipulation import Episode, Layout, ManipulationEnv, PlacedObject
from fuse_ros.envs.manipulation.objects import CATALOGS, ObjectKind
from fuse_ros.instructions import EMPTY, SIMPLE, Instructions, combinations
from fuse_ros.observation import INSTRUCTION_CHARSET, Kind

MANIPULATION_TASKS = [name for name, (env_id, _) in TASKS.items() if env_id == "fuse/Manipulation-v0"]


@pytest.mark.parametrize("task", MANIPULATION_TASKS)
def test_check_env_passes(task):
    env = make(task, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.filterwarnings("error")
        warnings.filterwarnings("ignore", message=".*infinity")  # audio and proprio are unbounded floats
        check_env(env.unwrapped, skip_render_check=False)
    env.close()


def _rollout(env, seed, steps=25):
    obs, info = env.reset(seed=seed)
    expert = env.unwrapped.make_expert()
    expert.reset()
    frames, rewards = [obs], []
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(expert.act(obs))
        frames.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return info, frames, rewards


def test_same_seed_same_episode_and_other_seed_another():
    env_a, env_b = ManipulationEnv("compositional"), ManipulationEnv("compositional")
    info_a, frames_a, rewards_a = _rollout(env_a, seed=11)
    info_b, frames_b, rewards_b = _rollout(env_b, seed=11)
    assert info_a["instructions"] == info_b["instructions"] and info_a["variant"] == info_b["variant"]
    assert rewards_a == rewards_b and len(frames_a) == len(frames_b)
    for a, b in zip(frames_a, frames_b, strict=True):
        for name in a:
            assert np.array_equal(a[name], b[name]), name
    assert any(f["audio"].std() > 0.01 for f in frames_a)  # something was heard, not just the noise floor
    _, frames_c, _ = _rollout(env_a, seed=12, steps=0)
    assert not np.array_equal(frames_c[0]["image_primary"], frames_a[0]["image_primary"])


def test_observations_fit_the_contract_and_actions_move_the_gripper():
    env = ManipulationEnv("grasp", image_size=48, tactile_size=(24, 20))
    spec = env.observation_spec
    assert spec.names(Kind.IMAGE) == ["image_primary", "image_wrist"]
    assert spec.names(Kind.TACTILE) == ["tactile_left", "tactile_right"]
    assert spec["audio"].shape == (16000,) and spec["audio"].sample_rate == 16000
    obs, info = env.reset(seed=0)
    assert obs["tactile_left"].shape == (24, 20, 3) and obs["image_wrist"].shape == (48, 48, 3)
    observation = spec.observation_from_gym(obs, stamp=0.0)
    assert all(observation.valid_mask().values())
    start = obs["proprio"][:3].copy()
    for _ in range(3):
        obs, *_, info = env.step(np.array([1, 0, -1, 0, 0, 0, -1], np.float32))
    moved = obs["proprio"][:3] - start
    assert moved[0] > 0.05 and moved[2] < -0.05 and abs(moved[1]) < 0.01
    assert info["success"] is False


def test_without_cameras_the_images_leave_the_spec():
    env = ManipulationEnv("button", cameras=False)
    obs, _ = env.reset(seed=1)
    assert "image_primary" not in obs and "image_wrist" not in env.observation_spec.modalities
    assert obs in env.observation_space
    reading = env.observation_spec.observation_from_gym(obs, stamp=0.0)
    assert set(reading.valid_mask()) == {"tactile_left", "tactile_right", "audio", "proprio"}


def test_instructions_follow_the_schema():
    env = ManipulationEnv("grasp", cameras=False)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        instructions: Instructions = info["instructions"]
        assert set(instructions.variants) == {SIMPLE, EMPTY, *combinations(("visual", "tactile", "audio"))}
        assert instructions.valid[info["variant"]]
        assert (obs["instruction"] == "") == (info["variant"] == EMPTY)
        assert set(obs["instruction"]) <= INSTRUCTION_CHARSET
        for variant, texts in instructions.variants.items():
            assert len(texts) >= (0 if variant == EMPTY or not instructions.valid[variant] else 5)
        assert {"visual", "tactile", "audio", "visual+tactile+audio"} <= set(instructions.descriptions)
        layout, target = env.episode.layout, env.episode.target
        twin = any(
            o.colour == layout.objects[target].colour and o.kind.shape == layout.objects[target].kind.shape
            for i, o in enumerate(layout.objects)
            if i != target
        )
        assert instructions.valid["visual"] == (not twin)


def test_buttons_cannot_be_named_by_touch_and_a_fixed_variant_is_honoured():
    env = ManipulationEnv("button", cameras=False, variant="audio")
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        assert info["variant"] == "audio" and "plays the" in obs["instruction"]
        assert not any(ok for v, ok in info["instructions"].valid.items() if "tactile" in v)
    obs, info = env.reset(seed=0, options={"variant": "visual"})
    assert info["variant"] == "visual" and "button" in obs["instruction"]


def test_compositional_prompts_chain_the_button_tone_to_the_colour():
    env = ManipulationEnv("compositional", cameras=False, variant="visual+audio")
    obs, info = env.reset(seed=3)
    episode = env.episode
    cue = episode.layout.buttons[episode.cue]
    assert f"button that plays the {cue.tone}" in obs["instruction"]
    assert "with the same colour as the button" in info["instructions"].variants["visual+audio"][0]
    assert episode.layout.objects[episode.target].colour == cue.colour
    assert f"the {cue.colour.name} button plays the {cue.tone}" in info["instructions"].descriptions["audio"]


def test_unseen_split_uses_only_held_out_objects():
    train, unseen = CATALOGS["train"], CATALOGS["unseen"]
    assert not {k.noun for k in train.kinds} & {k.noun for k in unseen.kinds}
    assert not {c.name for c in train.colours} & {c.name for c in unseen.colours}
    env = ManipulationEnv("grasp", cameras=False, split="unseen")
    for seed in range(5):
        env.reset(seed=seed)
        assert all(o.kind in unseen.kinds and o.colour in unseen.colours for o in env.episode.layout.objects)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown manipulation task 'juggle'"):
        ManipulationEnv("juggle")
    with pytest.raises(ValueError, match="unknown split"):
        ManipulationEnv("grasp", split="test")
    env = ManipulationEnv("grasp", cameras=False)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be 7 finite numbers"):
        env.step(np.zeros(6))
    with pytest.raises(ValueError, match="makes variant 'tactile' valid"):
        ManipulationEnv("button", cameras=False, variant="tactile").reset(seed=0)
    with pytest.raises(ValueError, match="unknown instruction variant 'smell'"):
        env.reset(options={"variant": "smell"})
    with pytest.raises(ValueError, match="material 'cheese'"):
        ObjectKind("cheese cube", "cube", "smooth", "hard", "cheese")
    cube = PlacedObject(CATALOGS["train"].kinds[0], CATALOGS["train"].colours[0], (0.0, 0.0))
    with pytest.raises(ValueError, match="at most 3 objects of each shape"):
        env.reset(options={"episode": Episode("grasp", Layout((cube,) * 4), target=0)})
    with pytest.raises(ValueError, match="an episode of task 'grasp' cannot play"):
        ManipulationEnv("button", cameras=False).reset(
            options={"episode": Episode("grasp", Layout((cube,)), 0)}
        )
