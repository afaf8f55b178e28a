"""fuse-demo, the README's main job: the shipped policy's episodes, success and a video of its senses;
with actor=expert, demonstrations too."""

import json
import re
import subprocess
import sys

import imageio_ffmpeg
import numpy as np

from fuse_ros.data.episodes import EpisodeStore
from fuse_ros.viz import COLUMNS, HEADER, TILE


def test_the_shipped_policy_acts_prints_its_success_and_is_filmed(tmp_path):
    video = tmp_path / "policy.gif"
    command = [sys.executable, "-m", "fuse_ros.cli.demo", "episodes=2", "max_steps=6", f"video.path={video}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"policy success: [0-2]/2 = ", result.stdout), result.stdout
    assert len(re.findall(r"  (success|failure): '.*press ", result.stdout)) == 2  # button by default
    assert f"video of the policy: {video} (6 steps" in result.stdout
    assert video.stat().st_size > 0


def test_demo_writes_demonstrations_and_a_video(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fuse_ros.cli.demo",
            "actor=expert",
            "task=grasp",
            f"out={out}",
            "episodes=2",
            "workers=1",
            "env.max_steps=20",
            "keep_failed=true",
            "progress=false",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["episodes"] == 2
    assert len(EpisodeStore(out)) == 2
    video = out / "demo.mp4"
    steps = re.search(rf"video of the expert: {re.escape(str(video))} \((\d+) steps", result.stdout)
    assert steps, result.stdout
    reader = imageio_ffmpeg.read_frames(str(video))
    width, height = next(reader)["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    assert len(frames) == int(steps[1]) <= 20  # one frame per step
    # 6 sensors + waveform/spectrogram split + action = 8 tiles in rows of COLUMNS
    assert frames[0].shape == (HEADER + 2 * TILE, COLUMNS * TILE, 3)
    assert frames[0].std() > 10  # pictures, not a blank canvas
