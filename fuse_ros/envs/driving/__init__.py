"""Driving perception simulator: lidar point clouds, a front camera, ground truth and language commands.

`DrivingEnv` is registered as `fuse/Driving-v0`; see env.py for the observation and info contract.
"""

import os

os.environ.setdefault(
    "MUJOCO_GL", "egl"
)  # headless camera unless the user chose a backend; before mujoco loads

from .conditions import CONDITIONS, Condition
from .env import MAX_OBJECTS, PROPRIO, DrivingEnv
from .expert import DrivingExpert
from .lidar import GROUND, Lidar, LidarConfig, LidarEffects, Scan
from .tasks import COMMANDS, TASKS

__all__ = [
    "COMMANDS",
    "CONDITIONS",
    "GROUND",
    "MAX_OBJECTS",
    "PROPRIO",
    "TASKS",
    "Condition",
    "DrivingEnv",
    "DrivingExpert",
    "Lidar",
    "LidarConfig",
    "LidarEffects",
    "Scan",
]
