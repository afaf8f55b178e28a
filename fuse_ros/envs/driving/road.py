"""The road: a straight multi-lane carriageway along world +x with a paved shoulder on the right.

Lane 0 is the rightmost lane and sits at y = 0; lanes count up to the left (world y points left, as in ROS).
The shoulder (lane index -1) lies right of lane 0. The road surface is the plane z = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHOULDER = -1

# surface reflectivity seen by the lidar (retro-reflective paint is bright, asphalt dark)
ASPHALT_REFLECTIVITY = 0.12
MARKING_REFLECTIVITY = 0.65
VERGE_REFLECTIVITY = 0.3


@dataclass(frozen=True)
class Road:
    lanes: int = 3
    lane_width: float = 3.5
    shoulder_width: float = 3.0
    marking_width: float = 0.15
    dash_length: float = 3.0
    dash_period: float = 12.0
    start: float = -80.0  # world x where the modelled road begins and ends
    end: float = 420.0

    def lane_y(self, lane: int) -> float:
        """Centre line of a lane; SHOULDER gives the shoulder's centre."""
        if lane == SHOULDER:
            return -(self.lane_width + self.shoulder_width) / 2
        if not 0 <= lane < self.lanes:
            raise ValueError(f"lane {lane} does not exist on a {self.lanes}-lane road")
        return lane * self.lane_width

    @property
    def right_edge(self) -> float:
        return -self.lane_width / 2 - self.shoulder_width

    @property
    def left_edge(self) -> float:
        return (self.lanes - 0.5) * self.lane_width

    def lane_at(self, y: float) -> int:
        """The lane (or SHOULDER) containing lateral position y; off-road counts as the nearest."""
        if y < -self.lane_width / 2:
            return SHOULDER
        return int(np.clip(np.floor(y / self.lane_width + 0.5), 0, self.lanes - 1))

    def lane_name(self, lane: int) -> str:
        if lane == SHOULDER:
            return "shoulder"
        names = {1: ["only"], 2: ["right", "left"], 3: ["right", "middle", "left"]}.get(self.lanes)
        return f"{names[lane]} lane" if names else f"lane {lane + 1} from the right"

    def dashed_lines(self) -> list[float]:
        """Lateral positions of the dashed lines between lanes."""
        return [(i + 0.5) * self.lane_width for i in range(self.lanes - 1)]

    def solid_lines(self) -> list[float]:
        """Lateral positions of the solid lines: the shoulder line and both road edges."""
        return [self.right_edge, -self.lane_width / 2, self.left_edge]

    def surface(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lidar reflectivity of the ground at world points (x, y) (asphalt, painted lines or the verge) and
        whether it is retroreflective (the painted lines)."""
        half = self.marking_width / 2
        painted = np.zeros(y.shape, bool)
        for line in self.solid_lines():
            painted |= np.abs(y - line) < half
        dash = np.mod(x, self.dash_period) < self.dash_length
        for line in self.dashed_lines():
            painted |= dash & (np.abs(y - line) < half)
        out = np.where(
            (y >= self.right_edge) & (y <= self.left_edge), ASPHALT_REFLECTIVITY, VERGE_REFLECTIVITY
        )
        out[painted] = MARKING_REFLECTIVITY
        return out, painted
