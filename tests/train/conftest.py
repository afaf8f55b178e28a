"""A small real dataset (button task, made by the real generator) and a tiny policy to train on it."""

from pathlib import Path

import pytest

from fuse_ros.data.generate import GenerateConfig, generate

TINY = {
    "width": 32,
    "depth": 1,
    "heads": 2,
    "mlp_dim": 64,
    "language_readouts": 2,
    "image_channels": [8, 8, 8, 8],
    "tactile_channels": [8],
    "audio_mels": 16,
    "audio_frames": 16,
    "audio_channels": [8],
    "audio_tokens": 2,
    "embed_dim": 16,
    "description_tokens": 12,
}


def make_dataset(out: Path, task: str = "button", episodes: int = 2, max_steps: int = 10) -> Path:
    config = GenerateConfig(task, episodes, out, workers=1, keep_failed=True, max_steps=max_steps)
    generate(config, progress=False)
    return out


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "button")


@pytest.fixture
def tiny() -> dict:
    return dict(TINY)
