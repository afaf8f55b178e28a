"""The scripted expert solves every task, and probes when the instruction leaves the target ambiguous."""

import dataclasses

import numpy as np
import pytest

from fuse_ros.envs import make, make_expert
from fuse_ros.envs.manipulation import ManipulationEnv
from fuse_ros.envs.manipulation.expert import ManipulationExpert

EPISODES = 20


def _run(env, expert, seed: int, options: dict | None = None) -> tuple[bool, int]:
    obs, _ = env.reset(seed=seed, options=options)
    expert.reset()
    for step in range(1, 1000):
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        if terminated or truncated:
            return info["success"], step
    raise AssertionError("the environment never ended the episode")


@pytest.mark.parametrize("task", ["grasp", "occluded_grasp", "button", "compositional"])
def test_expert_success_rate(task):
    env = make(task, cameras=False)
    expert = make_expert(env)
    successes = [_run(env, expert, seed)[0] for seed in range(1000, 1000 + EPISODES)]
    assert np.mean(successes) >= 0.95, f"{task}: expert success {np.mean(successes):.2f}"


def test_expert_probes_only_when_the_target_cannot_be_seen():
    """An audio-only prompt over identical buttons makes the expert tap several; a visual one does not."""
    env = ManipulationEnv("button", cameras=False)
    expert = env.make_expert()
    lengths = {}
    for variant in ("visual", "audio"):
        lengths[variant] = [_run(env, expert, seed, {"variant": variant})[1] for seed in range(8)]
    assert max(lengths["visual"]) < 25 < max(lengths["audio"])


def test_expert_solves_unseen_objects():
    env = ManipulationEnv("grasp", cameras=False, split="unseen")
    expert = env.make_expert()
    assert all(_run(env, expert, seed)[0] for seed in range(5))


def test_expert_in_the_dark_probes_the_bin_in_a_fixed_order():
    """In the dark nothing is seen, whatever the instruction names: the expert squeezes the bin's objects
    right to left (never the one outside it) and decides by what it feels there."""
    env = ManipulationEnv("occluded_grasp", cameras=False)
    expert = env.make_expert()
    for seed, variant in enumerate(("visual", "tactile", "simple", "visual+audio") * 2):
        obs, _ = env.reset(seed=seed, options={"variant": variant})
        expert.reset()
        squeezed = []
        for _ in range(env.max_steps):
            action = expert.act(obs)
            if action[6] > 0 and (not squeezed or np.hypot(*(obs["proprio"][:2] - squeezed[-1])) > 0.03):
                squeezed.append(obs["proprio"][:2].copy())
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert info["success"], f"seed {seed}, {variant}: the expert failed"
        assert np.allclose(squeezed[0], (-0.045, 0.0), atol=0.012), f"first squeeze at {squeezed[0]}"
        target_x = env.episode.layout.objects[env.episode.target].xy[0]
        assert len(squeezed) == (1 if target_x < 0 else 2), f"seed {seed}: squeezed at {squeezed}"


def _actions(env, expert, episode, variant: str) -> np.ndarray:
    obs, _ = env.reset(seed=0, options={"episode": episode, "variant": variant})
    expert.reset()
    actions = []
    for _ in range(env.max_steps):
        actions.append(expert.act(obs))
        obs, _, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            break
    return np.array(actions)


@pytest.mark.parametrize("task", ["button", "grasp", "occluded_grasp"])
def test_same_plan_lists_the_variants_under_which_the_expert_acts_alike(task):
    """The demonstration may be relabelled with exactly these: the expert's actions coincide under them
    and differ under some other variant the episode has (in the dark bin every variant is alike)."""
    env = ManipulationEnv(task, cameras=False)
    expert = env.make_expert()
    differing = 0
    for seed in range(6):
        _, info = env.reset(seed=seed)
        episode, recorded, alike = env.episode, info["variant"], info["same_plan"].split(",")
        if recorded == "empty":
            assert info["same_plan"] == ""
            continue
        assert recorded in alike
        reference = _actions(env, expert, episode, recorded)
        for variant in [v for v, ok in env.instructions.valid.items() if ok and v != "empty"]:
            actions = _actions(env, expert, episode, variant)
            same = actions.shape == reference.shape and np.allclose(actions, reference)
            assert same == (variant in alike), f"seed {seed}: {recorded} vs {variant}"
            differing += not same
    assert (differing == 0) == (task == "occluded_grasp")


class _Mistaken:
    """The simulator as seen by an expert who believes another object is the target."""

    def __init__(self, env: ManipulationEnv, target: int):
        self._env, self.episode = env, dataclasses.replace(env.episode, target=target)

    def __getattr__(self, name):
        return getattr(self._env, name)


@pytest.mark.parametrize("task", ["occluded_grasp", "grasp"])
def test_lifting_the_wrong_object_ends_the_episode_as_failed(task):
    """Choosing is final, as with buttons: lifting each object in turn until the episode ends is no
    way to succeed without sensing which one is the target."""
    env = ManipulationEnv(task, cameras=False)
    for seed in range(3):
        obs, _ = env.reset(seed=seed, options={"variant": "visual"})
        objects, target = env.episode.layout.objects, env.episode.target
        others = [i for i in range(len(objects)) if i != target]  # the nearest: in the bin with the target
        wrong = min(others, key=lambda i: np.hypot(*np.subtract(objects[i].xy, objects[target].xy)))
        expert = ManipulationExpert(_Mistaken(env, wrong))
        for _ in range(env.max_steps):
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
            if terminated or truncated:
                break
        assert terminated and not info["success"], f"seed {seed}: lifting object {wrong} did not fail"
        assert env.scene.object_pos(wrong)[2] > env.scene.object_pos(env.episode.target)[2]
