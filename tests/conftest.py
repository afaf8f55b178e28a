"""Test-wide environment: offscreen rendering, one torch thread, and DDS confined to loopback, all set
before anything imports MuJoCo, torch or cyclonedds."""

import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["CYCLONEDDS_URI"] = (
    Path(__file__).resolve().parent.parent / "launch" / "cyclonedds_loopback.xml"
).as_uri()

import torch

# The suite runs many small models on a shared 2-core machine; intra-op threads only add contention.
torch.set_num_threads(1)
