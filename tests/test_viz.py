"""The video frame composer, on a real simulator episode."""

import cv2
import numpy as np
import pytest

from fuse_ros.data.record import record_episode
from fuse_ros.envs import make, make_expert
from fuse_ros.viz import HEADER, TILE, EpisodeRenderer, write_video


@pytest.fixture(scope="module")
def recorded():
    env = make("button")
    try:
        return env.unwrapped.observation_spec, record_episode(env, make_expert(env), seed=3, max_steps=15)
    finally:
        env.close()


def tile(frame, index, columns=4):
    row, column = divmod(index, columns)
    return frame[HEADER + row * TILE : HEADER + (row + 1) * TILE, column * TILE : (column + 1) * TILE]


def test_frames_show_each_sensor_in_its_tile(recorded, tmp_path):
    spec, episode = recorded
    frames = list(EpisodeRenderer(spec, episode, "button"))
    assert len(frames) == episode.steps
    k = episode.steps - 1
    camera = cv2.resize(
        episode.observations["image_primary"][k], (TILE, TILE), interpolation=cv2.INTER_NEAREST
    )
    shown = tile(frames[k], spec.names().index("image_primary"))
    assert np.mean(shown[24:] == camera[24:]) > 0.99  # all but the label strip
    audio_tiles = [tile(frames[k], spec.names().index("audio") + i) for i in (0, 1)]
    assert all(t.std() > 5 for t in audio_tiles)  # waveform and spectrogram drawn

    episode.valid["image_wrist"][k] = False
    blank = tile(EpisodeRenderer(spec, episode).frame(k), spec.names().index("image_wrist"))
    assert np.median(blank) == 40  # the grey "no data" tile

    for suffix in ("mp4", "gif"):
        path = write_video(frames, tmp_path / f"episode.{suffix}", fps=10)
        assert path.stat().st_size > 1000
