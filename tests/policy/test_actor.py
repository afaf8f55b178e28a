"""PolicyActor in the real simulator: history window, normalisation round trip, the non-finite guard."""

import shutil

import numpy as np
import pytest
import torch

from fuse_ros.data.record import record_episode
from fuse_ros.envs import make
from fuse_ros.policy import Policy, PolicyConfig, save_policy
from fuse_ros.policy.actor import PolicyActor
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
    return root / "run"


def test_the_actor_runs_a_simulated_episode_with_finite_bounded_actions(checkpoint):
    actor = PolicyActor.load(checkpoint)
    episode = record_episode(make("button"), actor, seed=3, max_steps=6)
    assert episode.steps == 6 and np.isfinite(episode.actions).all()
    assert len(actor.history) == actor.policy.config.window  # the window filled up and stayed at its size
    actor.reset()
    obs, _ = make("button").reset(seed=4)
    action = actor.act(obs)  # the first of the chunk predicted on this one-step history, de-normalised
    chunk = actor._predict(obs["instruction"])
    np.testing.assert_allclose(
        action, actor.normalizer.denormalize("actions", chunk)[0], rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(action, chunk[0])  # statistics were applied


def test_a_non_finite_prediction_never_reaches_the_robot(checkpoint):
    actor = PolicyActor.load(checkpoint)
    env = make("button")
    obs, _ = env.reset(seed=0)
    first = actor.act(obs)
    with torch.no_grad():
        actor.policy.action_heads["manipulation"].net[-1].bias.fill_(float("nan"))
    later = [actor.act(obs) for _ in range(4)]
    assert np.isfinite(first).all() and all(np.isfinite(a).all() for a in later)
    assert actor.executor.rejected >= 1


def test_dropping_an_unknown_sensor_is_an_error(checkpoint):
    with pytest.raises(ValueError, match="cannot drop \\['sonar'\\]"):
        PolicyActor.load(checkpoint, drop=["sonar"])
