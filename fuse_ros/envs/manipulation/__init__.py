"""Multisensory manipulation: a MuJoCo table where touch and sound matter (`fuse/Manipulation-v0`)."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # cameras render offscreen; set MUJOCO_GL to override

from .env import ManipulationEnv, observation_spec
from .expert import ManipulationExpert
from .scene import Layout, PlacedButton, PlacedObject
from .tasks import TASK_NAMES, Episode

__all__ = [
    "TASK_NAMES",
    "Episode",
    "Layout",
    "ManipulationEnv",
    "ManipulationExpert",
    "PlacedButton",
    "PlacedObject",
    "observation_spec",
]
