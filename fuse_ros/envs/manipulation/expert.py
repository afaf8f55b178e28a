"""The scripted expert: knows the target (privileged state) but acts on what the instruction reveals.

Like a person, it goes straight for the target when the instruction lets it be seen, and otherwise touches
(squeezes) or presses the look-alike candidates one by one until it meets the target. It probes in a fixed
order, from the robot's right to its left, as a methodical teleoperator would: demonstrations
of one situation then agree on what to do next, which a regressed policy needs (random orders average out),
and what happens at each probe (hold or let go) depends only on what is felt or heard there.
So demonstrations of a "pick the soft one" instruction contain the probing that makes touch informative.
Its script is a generator: each `act` advances it by one control step.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .env import MAX_MOVE, MAX_TURN
from .plan import plan
from .scene import BUTTON_TRAVEL
from .tasks import HOLD_STEPS

OPEN, CLOSED = -1.0, 1.0
HOVER = 0.24  # palm height for travelling (the fingertips clear the bin walls)
PAD_BELOW_PALM = 0.076  # the pad centre sits this far below the palm
TIP_BELOW_PALM = 0.095  # the fingertips sit this far below the palm
BUTTON_TOP = 0.04  # a button cap's top at rest
SQUEEZE_STEPS = 4
TOLERANCE = 0.006  # m


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


class ManipulationExpert:
    """`reset()` at each episode start (after env.reset), then `act(obs)` once per step."""

    def __init__(self, env) -> None:
        self.env = env
        self._script: Iterator[np.ndarray] | None = None
        self._grip = OPEN

    def reset(self) -> None:
        self._script, self._grip = self._demonstrate(), OPEN

    def act(self, obs: dict) -> np.ndarray:
        """The next action of the script; once it is done, keep still with the same grip."""
        if self._script is None:
            self.reset()
        action = next(self._script, None)
        if action is None:
            action = self._action(self._commanded(), self._grip)
        self._grip = float(action[6])
        return action

    def _demonstrate(self) -> Iterator[np.ndarray]:
        episode = self.env.episode
        decided = plan(episode, self.env.variant)
        if episode.target_is_button:
            *taps, target = decided.probes
            for k in taps:
                yield from self._press(k, hold=False)
            yield from self._press(target, hold=True)
            return
        for k in decided.cue_presses:
            yield from self._press(k, hold=False)
        *squeezes, target = decided.probes
        for i in squeezes:
            yield from self._grasp(i, lift=False)
        yield from self._grasp(target, lift=True)

    # --- moving -------------------------------------------------------------------------------
    def _commanded(self) -> np.ndarray:
        """The commanded pose as (x, y, z, yaw)."""
        command = self.env.command
        return np.r_[command[:3], command[5]]

    def _action(self, goal: np.ndarray, grip: float) -> np.ndarray:
        commanded = self.env.command
        action = np.zeros(7, np.float32)
        action[:3] = np.clip((goal[:3] - commanded[:3]) / MAX_MOVE, -1, 1)
        action[3:5] = np.clip(-commanded[3:5] / MAX_TURN, -1, 1)  # keep the gripper level
        action[5] = np.clip(_wrap(goal[3] - commanded[5]) / MAX_TURN, -1, 1)
        action[6] = grip
        return action

    def _move(self, goal: np.ndarray, grip: float, limit: int = 30) -> Iterator[np.ndarray]:
        """Step towards `goal` (x, y, z, yaw) until the gripper is there."""
        for _ in range(limit):
            pose = self.env.scene.gripper_pose
            if np.abs(goal[:3] - pose[:3]).max() < TOLERANCE and abs(_wrap(goal[3] - pose[3])) < 0.05:
                return
            yield self._action(goal, grip)

    def _stay(self, goal: np.ndarray, grip: float, steps: int) -> Iterator[np.ndarray]:
        for _ in range(steps):
            yield self._action(goal, grip)

    def _yaw_for(self, index: int) -> float:
        """The grasp yaw nearest the home yaw (0) that lines the fingers up with the object's faces
        (in the dark the faces are not seen: home yaw)."""
        layout = self.env.episode.layout
        if layout.dark or layout.objects[index].kind.shape != "cube":
            return 0.0
        quarter = np.pi / 2
        return (self.env.scene.object_yaw(index) + quarter / 2) % quarter - quarter / 2

    def _grasp(self, index: int, lift: bool) -> Iterator[np.ndarray]:
        """Squeeze object `index`; lift it if it is the target, else let go and rise."""
        scene = self.env.scene
        x, y, z = scene.object_pos(index)
        yaw = self._yaw_for(index)
        yield from self._move(np.array([x, y, HOVER, yaw]), OPEN)
        x, y, z = scene.object_pos(index)
        grasp = np.array([x, y, z + PAD_BELOW_PALM, yaw])
        yield from self._move(grasp, OPEN)
        yield from self._stay(grasp, CLOSED, SQUEEZE_STEPS)
        if lift:
            yield from self._move(np.r_[grasp[:2], HOVER, yaw], CLOSED)
            yield from self._stay(np.r_[grasp[:2], HOVER, yaw], CLOSED, 100)
        else:
            yield from self._stay(grasp, OPEN, 2)
            yield from self._move(np.r_[grasp[:2], HOVER, yaw], OPEN)

    def _press(self, index: int, hold: bool) -> Iterator[np.ndarray]:
        """Press button `index` with the closed fingers: a short tap, or a hold that chooses it."""
        x, y = self.env.episode.layout.buttons[index].xy
        yaw = self._commanded()[3]
        above = np.array([x, y, HOVER, yaw])
        down = np.array([x, y, BUTTON_TOP - BUTTON_TRAVEL - 0.003 + TIP_BELOW_PALM, yaw])
        yield from self._move(above, CLOSED)
        yield from self._move(down, CLOSED, limit=8)
        yield from self._stay(down, CLOSED, HOLD_STEPS + 2 if hold else 1)
        yield from self._move(above, CLOSED)
