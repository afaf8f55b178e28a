"""RuntimeActor in the real simulator: history window, normalisation, dropped sensors, instruction
override and the non-finite guard (torch backend; tests/export/test_runtime_actor.py compares backends)."""

import dataclasses
import shutil

import numpy as np
import pytest
import torch

from fuse_ros.data.record import record_episode
from fuse_ros.envs import make
from fuse_ros.policy import Policy, PolicyConfig, save_policy
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.runtime.actor import RuntimeActor
from tests.train.conftest import TINY, make_dataset


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("actor")
    data = make_dataset(root / "data", episodes=1, max_steps=4)
    env = make("button")
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(**{**TINY, "vocab_size": 8}), env.unwrapped.observation_spec)
    env.close()
    save_policy(policy, root / "run")
    shutil.copy(data / "stats.json", root / "run" / "stats.json")
    shutil.copytree(root / "run", root / "raw")  # the same, but actions leave normalised
    stats = Normalizer.load(root / "run").stats
    identity = dataclasses.replace(stats["actions"], mean=[0.0] * 7, std=[1.0] * 7)
    Normalizer({**stats, "actions": identity}).save(root / "raw")
    return root / "run"


def first_action(actor: RuntimeActor, seed: int = 4, **obs_changes) -> np.ndarray:
    obs, _ = make("button").reset(seed=seed)
    actor.reset()
    return actor.act({**obs, **obs_changes})


def test_the_actor_runs_a_simulated_episode_with_finite_bounded_actions(checkpoint):
    actor = RuntimeActor.load("torch", checkpoint)
    episode = record_episode(make("button"), actor, seed=3, max_steps=6)
    assert episode.steps == 6 and np.isfinite(episode.actions).all()
    assert len(actor.preprocessor.history) == 2  # the window filled up and stayed at its size


def test_actions_leave_in_the_units_of_the_demonstrations(checkpoint):
    """The same weights and proprio statistics, with and without the action statistics."""
    normalised = first_action(RuntimeActor.load("torch", checkpoint.parent / "raw"))
    action = first_action(RuntimeActor.load("torch", checkpoint))
    stats = Normalizer.load(checkpoint)
    assert not np.allclose(action, normalised)
    np.testing.assert_allclose(action, stats.denormalize("actions", normalised), rtol=1e-4, atol=1e-5)


def test_a_dropped_sensor_and_a_replaced_instruction_change_what_the_policy_sees(checkpoint):
    actor = RuntimeActor.load("torch", checkpoint)
    plain = first_action(actor)
    deaf = actor.with_drop(["audio"])
    loud = {"audio": np.full(make("button").unwrapped.observation_spec["audio"].shape, 0.5, np.float32)}
    assert not np.allclose(first_action(actor, **loud), plain)  # audio matters to this policy...
    np.testing.assert_allclose(first_action(deaf, **loud), first_action(deaf))  # ...but not once dropped
    said = "press the button that sounds low"
    told = RuntimeActor.load("torch", checkpoint, instruction=said)
    assert not np.allclose(first_action(told), plain)
    np.testing.assert_allclose(first_action(told), first_action(actor, instruction=said))


def test_a_non_finite_prediction_never_reaches_the_robot(checkpoint):
    actor = RuntimeActor.load("torch", checkpoint)
    env = make("button")
    obs, _ = env.reset(seed=0)
    first = actor.act(obs)
    with torch.no_grad():
        actor.runtime.module.policy.action_heads["manipulation"].net[-1].bias.fill_(float("nan"))
    later = [actor.act(obs) for _ in range(4)]
    assert np.isfinite(first).all() and all(np.isfinite(a).all() for a in later)
    assert actor.executor.rejected >= 1


def test_dropping_an_unknown_sensor_is_an_error(checkpoint):
    with pytest.raises(ValueError, match="cannot drop \\['sonar'\\]"):
        RuntimeActor.load("torch", checkpoint, drop=["sonar"])
