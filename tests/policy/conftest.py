"""A small policy over all five sensor kinds, and batches for it (tiny shapes: 2 shared CPU cores)."""

import pytest
import torch

from fuse_ros.nn.tokens import TokenGroup
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec
from fuse_ros.policy import Policy, PolicyConfig

SPEC = ObservationSpec.of(
    ModalitySpec("image", Kind.IMAGE, (32, 32, 3), "uint8", 5.0),
    ModalitySpec("tactile", Kind.TACTILE, (16, 16, 3), "uint8", 5.0),
    ModalitySpec("audio", Kind.AUDIO, (2000,), "float32", 5.0, sample_rate=8000),
    ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", 5.0, max_len=256),
    ModalitySpec("proprio", Kind.PROPRIO, (7,), "float32", 5.0),
)
SMALL = {
    "width": 32,
    "depth": 2,
    "heads": 2,
    "mlp_dim": 64,
    "max_task_tokens": 8,
    "language_readouts": 3,
    "image_channels": (8, 16, 16),
    "tactile_channels": (8,),
    "audio_mels": 16,
    "audio_fft": 256,
    "audio_frames": 16,
    "audio_channels": (8, 8),
    "audio_tokens": 2,
    "audio_bands": 4,
    "lidar_grid": 8,
    "lidar_point_channels": 8,
    "lidar_channels": (8,),
    "bev_grid": 8,
    "embed_dim": 16,
    "description_tokens": 5,
    "vocab_size": 40,
    "action_dims": {"manipulation": 7, "driving": 2},
}


@pytest.fixture
def spec() -> ObservationSpec:
    return SPEC


@pytest.fixture
def make_config():
    return lambda **overrides: PolicyConfig(**{**SMALL, **overrides})


@pytest.fixture
def policy(make_config):
    torch.manual_seed(0)
    return Policy(make_config(), SPEC).eval()


@pytest.fixture
def make_batch():
    def make(batch: int = 2, steps: int = 2, points: int = 60, seed: int = 0) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        shape = (batch, steps)
        return {
            "image": torch.randint(0, 256, (*shape, 32, 32, 3), generator=g, dtype=torch.uint8),
            "tactile": torch.randint(0, 256, (*shape, 16, 16, 3), generator=g, dtype=torch.uint8),
            "audio": torch.randn(*shape, 2000, generator=g),
            "lidar": torch.randn(*shape, points, 4, generator=g) * 5,
            "lidar_count": torch.randint(1, points + 1, shape, generator=g),
            "proprio": torch.randn(*shape, 7, generator=g),
        }

    return make


@pytest.fixture
def make_task():
    def make(batch: int = 2, length: int = 6, seed: int = 0) -> TokenGroup:
        g = torch.Generator().manual_seed(seed)
        mask = torch.arange(length) < torch.randint(1, length + 1, (batch, 1), generator=g)
        return TokenGroup(torch.randn(batch, length, 384, generator=g), mask)

    return make
