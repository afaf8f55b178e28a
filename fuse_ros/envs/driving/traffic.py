"""Other road users: each keeps its lane and follows whatever is ahead of it (the ego included) with the
Intelligent Driver Model, so queues form and nobody rear-ends a stopped obstacle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .actors import Actor
from .geometry import extents


@dataclass(frozen=True)
class IDM:
    """Intelligent Driver Model (Treiber et al. 2000): acceleration from speed, gap and closing speed."""

    max_accel: float = 1.5  # m/s^2
    comfort_brake: float = 2.0  # m/s^2
    min_gap: float = 2.5  # m, bumper to bumper when stopped
    headway: float = 1.2  # s
    max_brake: float = 9.0  # m/s^2, physical limit
    exponent: float = 4.0

    def accel(self, speed: float, desired: float, gap: float, closing: float) -> float:
        """Acceleration for a follower at `speed` with `gap` metres to a leader it closes on at `closing` m/s
        (gap = inf: no leader)."""
        free = 1.0 - (speed / max(desired, 0.1)) ** self.exponent
        wanted = self.min_gap + max(
            0.0, speed * self.headway + speed * closing / (2 * np.sqrt(self.max_accel * self.comfort_brake))
        )
        interaction = (wanted / max(gap, 0.1)) ** 2 if np.isfinite(gap) else 0.0
        return float(np.clip(self.max_accel * (free - interaction), -self.max_brake, self.max_accel))


def leader(
    index: int, boxes: np.ndarray, half: np.ndarray, speeds: np.ndarray, margin: float = 0.3
) -> tuple[float, float]:
    """(gap, leader speed) of the nearest box ahead of box `index` along +x that overlaps its lateral band;
    (inf, 0) if none. `boxes` (K, 7) world boxes, `half` (K, 2) their extents, `speeds` (K,) along +x."""
    me = boxes[index]
    ahead = (boxes[:, 0] > me[0]) & (np.abs(boxes[:, 1] - me[1]) < half[:, 1] + half[index, 1] + margin)
    ahead[index] = False
    if not ahead.any():
        return np.inf, 0.0
    gaps = boxes[ahead, 0] - half[ahead, 0] - (me[0] + half[index, 0])
    nearest = int(np.argmin(gaps))
    return float(gaps[nearest]), float(speeds[ahead][nearest])


def step_traffic(actors: list[Actor], ego_box: np.ndarray, ego_speed: float, dt: float, idm: IDM) -> None:
    """Advance every moving actor by dt along its lane (in place). All accelerations are computed from the
    same snapshot before anyone moves."""
    boxes = np.array([a.box() for a in actors] + [ego_box])
    speeds = np.array([a.speed for a in actors] + [ego_speed * np.cos(ego_box[6])])
    half = extents(boxes)
    accels = {}
    for i, actor in enumerate(actors):
        if not actor.static:
            gap, lead_speed = leader(i, boxes, half, speeds)
            accels[i] = idm.accel(actor.speed, actor.desired_speed, gap, actor.speed - lead_speed)
    for i, accel in accels.items():
        actor = actors[i]
        speed = max(0.0, actor.speed + accel * dt)
        actor.x += (actor.speed + speed) / 2 * dt
        actor.speed = speed
