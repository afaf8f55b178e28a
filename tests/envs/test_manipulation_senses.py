"""Touch and sound carry what the cameras cannot see.

Pairs of objects that look identical (same shape, same colour, same place) differ only in texture or only
in material. A nearest-centroid classifier on the tactile images (resp. the audio) tells them apart; the
same classifier on the camera images cannot do better than chance.
"""

import numpy as np
import pytest

from fuse_ros.envs.manipulation import Episode, Layout, ManipulationEnv, PlacedObject
from fuse_ros.envs.manipulation.objects import CATALOGS, ObjectKind

PAIRS = 12  # layouts; each is played once with either object


def _squeezed(env: ManipulationEnv, episode: Episode, seed: int) -> dict:
    """The observation two steps after the fingertips first feel something."""
    obs, _ = env.reset(seed=seed, options={"episode": episode, "variant": "simple"})
    blank = obs["tactile_left"].copy()
    expert = env.make_expert()
    expert.reset()
    touching = 0
    while touching < 3:
        obs, *_ = env.step(expert.act(obs))
        touching += touching > 0 or not np.array_equal(obs["tactile_left"], blank)
    return obs


def _features(obs: dict, sense: str) -> np.ndarray:
    if sense == "tactile":
        return np.concatenate([obs["tactile_left"].ravel(), obs["tactile_right"].ravel()]).astype(float)
    if sense == "audio":  # log spectrum in 200 bands
        spectrum = np.abs(np.fft.rfft(obs["audio"]))[: 16000 // 2]
        return np.log(spectrum.reshape(200, -1).mean(axis=1) + 1e-6)
    return np.concatenate([obs["image_primary"].ravel(), obs["image_wrist"].ravel()]).astype(float)


def _nearest_centroid_accuracy(features: np.ndarray, labels: np.ndarray) -> float:
    """Fit on even layouts, test on odd ones."""
    train = np.arange(len(labels)) // 2 % 2 == 0
    centroids = np.stack([features[train & (labels == c)].mean(axis=0) for c in (0, 1)])
    distances = np.linalg.norm(features[~train, None] - centroids[None], axis=-1)
    return float(np.mean(distances.argmin(axis=1) == labels[~train]))


def _accuracies(kinds: tuple[ObjectKind, ObjectKind]) -> dict[str, float]:
    env = ManipulationEnv("grasp")
    rng = np.random.default_rng(0)
    colours = CATALOGS["train"].colours
    observations, labels = [], []
    for i in range(PAIRS):
        colour = colours[int(rng.integers(len(colours)))]
        xy, yaw = tuple(rng.uniform(-0.1, 0.1, 2)), rng.uniform(-0.5, 0.5)
        for label, kind in enumerate(kinds):
            episode = Episode("grasp", Layout((PlacedObject(kind, colour, xy, yaw),)), target=0)
            observations.append(_squeezed(env, episode, seed=i))
            labels.append(label)
    labels = np.array(labels)
    return {
        sense: _nearest_centroid_accuracy(np.stack([_features(o, sense) for o in observations]), labels)
        for sense in ("camera", "tactile", "audio")
    }


# The same cube, smooth or ridged: only touch can tell. The same ball, wood or metal: only sound can tell.
TOUCH_PAIR = (
    ObjectKind("block", "cube", "smooth", "hard", "wood"),
    ObjectKind("ridged block", "cube", "ridged", "hard", "wood"),
)
SOUND_PAIR = (
    ObjectKind("wooden ball", "ball", "smooth", "hard", "wood"),
    ObjectKind("metal ball", "ball", "smooth", "hard", "metal"),
)


@pytest.mark.parametrize("kinds, informative", [(TOUCH_PAIR, "tactile"), (SOUND_PAIR, "audio")])
def test_one_sense_tells_identical_looking_objects_apart(kinds, informative):
    accuracy = _accuracies(kinds)
    assert accuracy[informative] >= 0.9, accuracy
    assert accuracy["camera"] <= 0.6, accuracy
    uninformative = "audio" if informative == "tactile" else "tactile"
    assert accuracy[uninformative] <= 0.6, accuracy
