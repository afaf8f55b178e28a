"""Test-wide environment: offscreen rendering, and DDS confined to loopback before anything imports it."""

import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["CYCLONEDDS_URI"] = (
    Path(__file__).resolve().parent.parent / "launch" / "cyclonedds_loopback.xml"
).as_uri()
