"""The ego vehicle: a kinematic bicycle model driven by normalised [steer, acceleration] actions."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class VehicleLimits:
    """Physical limits an action in [-1, 1] is scaled to, and the ego's size."""

    wheelbase: float = 2.8
    max_steer: float = 0.5  # rad, at the front wheels
    max_steer_rate: float = 1.2  # rad/s: steering follows its command no faster than this
    max_accel: float = 3.0  # m/s^2 at action +1
    max_brake: float = 7.0  # m/s^2 at action -1
    max_speed: float = 25.0  # m/s; the model does not reverse
    length: float = 4.6
    width: float = 1.9
    height: float = 1.5


@dataclass(frozen=True)
class EgoState:
    x: float
    y: float
    yaw: float
    speed: float
    steer: float = 0.0  # front wheel angle, rad
    accel: float = 0.0  # applied longitudinal acceleration, m/s^2
    yaw_rate: float = 0.0

    def box(self, limits: VehicleLimits) -> np.ndarray:
        """(7,) world box: centre x, y, z, length, width, height, yaw."""
        return np.array(
            [self.x, self.y, limits.height / 2, limits.length, limits.width, limits.height, self.yaw]
        )


def scale_action(action: np.ndarray, limits: VehicleLimits) -> tuple[float, float]:
    """[steer, accel] in [-1, 1] -> (steering angle command rad, acceleration m/s^2)."""
    steer, accel = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
    return steer * limits.max_steer, accel * (limits.max_accel if accel >= 0 else limits.max_brake)


def step_vehicle(state: EgoState, action: np.ndarray, dt: float, limits: VehicleLimits) -> EgoState:
    """Advance the bicycle model (reference point at the vehicle's centre) by dt seconds."""
    steer_cmd, accel = scale_action(action, limits)
    max_change = limits.max_steer_rate * dt
    steer = state.steer + float(np.clip(steer_cmd - state.steer, -max_change, max_change))
    speed = float(np.clip(state.speed + accel * dt, 0.0, limits.max_speed))
    applied = (speed - state.speed) / dt
    mean_speed = (speed + state.speed) / 2
    slip = math.atan(0.5 * math.tan(steer))  # centre of mass halfway between the axles
    yaw_rate = mean_speed / (limits.wheelbase / 2) * math.sin(slip)
    heading = state.yaw + 0.5 * yaw_rate * dt + slip
    return replace(
        state,
        x=state.x + mean_speed * math.cos(heading) * dt,
        y=state.y + mean_speed * math.sin(heading) * dt,
        yaw=state.yaw + yaw_rate * dt,
        speed=speed,
        steer=steer,
        accel=applied,
        yaw_rate=yaw_rate,
    )
