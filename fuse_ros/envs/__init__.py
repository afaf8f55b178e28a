"""Gymnasium simulators. Importing this module registers `fuse/Manipulation-v0` and `fuse/Driving-v0`.

A *task* is a named way to run one of them (`make("occluded_grasp")`); every simulator also provides a
scripted expert (`make_expert(env)`) that uses privileged state to make demonstrations.
"""

from __future__ import annotations

from typing import Protocol

import gymnasium as gym
import numpy as np

MANIPULATION_ID = "fuse/Manipulation-v0"
DRIVING_ID = "fuse/Driving-v0"

gym.register(MANIPULATION_ID, entry_point="fuse_ros.envs.manipulation:ManipulationEnv")
gym.register(DRIVING_ID, entry_point="fuse_ros.envs.driving:DrivingEnv")

# task name -> (environment id, keyword arguments)
TASKS: dict[str, tuple[str, dict]] = {
    "grasp": (MANIPULATION_ID, {"task": "grasp"}),
    "occluded_grasp": (MANIPULATION_ID, {"task": "occluded_grasp"}),
    "button": (MANIPULATION_ID, {"task": "button"}),
    "compositional": (MANIPULATION_ID, {"task": "compositional"}),
    "driving": (DRIVING_ID, {}),
}


class Expert(Protocol):
    """A scripted demonstrator: `reset()` at each episode start, then one action per observation."""

    def reset(self) -> None: ...

    def act(self, obs: dict) -> np.ndarray: ...


def make(task: str, /, **kwargs) -> gym.Env:
    """Create the environment for a task name; extra kwargs override the task's defaults (the driving
    simulator takes its own `task`, e.g. make("driving", task="lane_keep"))."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(TASKS)}")
    env_id, defaults = TASKS[task]
    return gym.make(env_id, **{**defaults, **kwargs})


def make_expert(env: gym.Env) -> Expert:
    """The scripted expert of the simulator underneath `env` (wrappers are looked through)."""
    return env.unwrapped.make_expert()
