"""A small hand-made spec and episode with every sensor kind, for tests of storage and conversion."""

import numpy as np
import pytest

from fuse_ros.data.episodes import Episode
from fuse_ros.instructions import Instructions
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

STEPS, WINDOW, HOP, MAX_POINTS = 12, 1600, 320, 50


@pytest.fixture
def spec() -> ObservationSpec:
    return ObservationSpec.of(
        ModalitySpec("image_primary", Kind.IMAGE, (8, 8, 3), "uint8", 5.0),
        ModalitySpec("tactile_left", Kind.TACTILE, (6, 4, 3), "uint8", 5.0),
        ModalitySpec("audio", Kind.AUDIO, (WINDOW,), "float32", 5.0, sample_rate=HOP * 5),
        ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", 5.0, max_len=MAX_POINTS),
        ModalitySpec("proprio", Kind.PROPRIO, (5,), "float32", 5.0),
    )


@pytest.fixture
def episode() -> Episode:
    """Rolling audio windows (as a microphone hears them) and lidar clouds of varying size."""
    rng = np.random.default_rng(0)
    stream = rng.standard_normal(WINDOW + HOP * STEPS).astype(np.float32)
    audio = np.stack([stream[HOP * k : HOP * k + WINDOW] for k in range(STEPS)])
    counts = rng.integers(0, MAX_POINTS, STEPS)
    lidar = np.zeros((STEPS, MAX_POINTS, 4), np.float32)
    for k, count in enumerate(counts):
        lidar[k, :count] = rng.uniform(-20, 20, (count, 4))
    observations = {
        "image_primary": rng.integers(0, 256, (STEPS, 8, 8, 3), dtype=np.uint8),
        "tactile_left": rng.integers(0, 256, (STEPS, 6, 4, 3), dtype=np.uint8),
        "audio": audio,
        "lidar": lidar,
        "lidar_count": counts,
        "proprio": rng.standard_normal((STEPS, 5)).astype(np.float32),
    }
    instructions = Instructions({"simple": ("pick up the cube", "grab the cube")}, {"visual": "a red cube"})
    return Episode(
        observations=observations,
        valid={
            name: np.ones(STEPS, bool)
            for name in ("image_primary", "tactile_left", "audio", "lidar", "proprio")
        },
        stamps=np.arange(STEPS) * 0.2,
        actions=rng.uniform(-1, 1, (STEPS, 7)).astype(np.float32),
        rewards=rng.random(STEPS).astype(np.float32),
        success=np.arange(STEPS) == STEPS - 1,
        instruction="pick up the cube",
        instructions=instructions,
        extras={"boxes": rng.random((STEPS, 3, 7)).astype(np.float32)},
        meta={"seed": 7, "variant": "visual"},
    )


def assert_same_episode(a: Episode, b: Episode, extras: bool = True) -> None:
    """Every array equal (stamps to the nanosecond; extras only if asked), and the same language."""
    arrays_a, arrays_b = a.arrays(), b.arrays()
    if not extras:
        arrays_a = {k: v for k, v in arrays_a.items() if not k.startswith("extras/")}
    assert sorted(arrays_a) == sorted(arrays_b)
    for key, value in arrays_a.items():
        if key == "stamps":
            np.testing.assert_allclose(arrays_b[key], value, rtol=0, atol=1e-9)
        else:
            np.testing.assert_array_equal(arrays_b[key], value, err_msg=key)
            assert np.asarray(arrays_b[key]).dtype == np.asarray(value).dtype, key
    assert (a.instruction, a.instructions) == (b.instruction, b.instructions)


@pytest.fixture
def same_episode():
    return assert_same_episode
