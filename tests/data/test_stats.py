import numpy as np
import pytest

from fuse_ros.data.stats import NormStats, compute_stats, load_stats, save_stats


def test_statistics_per_dimension_over_valid_steps(spec, episode, tmp_path):
    second = type(episode)(**{**episode.__dict__})
    second.actions = episode.actions * 3 + 1
    second.valid = {**episode.valid, "proprio": np.arange(episode.steps) % 2 == 0}
    stats = compute_stats([episode, second], spec)
    assert set(stats) == {"actions", "proprio"}

    actions = np.concatenate([episode.actions, second.actions]).astype(np.float64)
    np.testing.assert_allclose(stats["actions"].mean, actions.mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats["actions"].std, actions.std(0), rtol=1e-6)
    np.testing.assert_allclose(stats["actions"].q99, np.quantile(actions, 0.99, axis=0), rtol=1e-6)
    assert stats["actions"].count == 2 * episode.steps

    proprio = np.concatenate([episode.observations["proprio"], episode.observations["proprio"][::2]])
    np.testing.assert_allclose(stats["proprio"].min, proprio.min(0), rtol=1e-6)
    assert stats["proprio"].count == len(proprio)

    save_stats(stats, tmp_path)
    assert load_stats(tmp_path) == stats


def test_missing_or_empty_statistics_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"stats\.json"):
        load_stats(tmp_path)
    with pytest.raises(ValueError, match="no steps"):
        NormStats.of(np.zeros((0, 3)))
