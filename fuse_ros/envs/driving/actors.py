"""Everything on the road besides the ego vehicle: one box per actor, with a class, a colour and a motion.

Class ids start at 1 so that 0 can mean "nothing" in ground-truth grids and padded box rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ObjectClass:
    id: int
    name: str  # what the camera (and the language) calls it
    shape_name: str  # what the lidar can tell from its shape alone
    length: tuple[float, float]  # size ranges in metres
    width: tuple[float, float]
    height: tuple[float, float]
    reflectivity: float  # lidar return strength of its surface
    colours: tuple[str, ...]


COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.8, 0.08, 0.08),
    "blue": (0.1, 0.25, 0.85),
    "green": (0.1, 0.6, 0.15),
    "yellow": (0.95, 0.8, 0.1),
    "white": (0.93, 0.93, 0.93),
    "black": (0.06, 0.06, 0.07),
    "orange": (1.0, 0.45, 0.05),
}
CAR_COLOURS = ("red", "blue", "green", "yellow", "white", "black")

CAR = ObjectClass(1, "car", "car-sized object", (4.2, 4.9), (1.75, 1.95), (1.4, 1.6), 0.5, CAR_COLOURS)
TRUCK = ObjectClass(
    2, "truck", "large vehicle", (8.0, 11.0), (2.4, 2.55), (3.2, 3.8), 0.6, ("white", "blue", "red", "orange")
)
PEDESTRIAN = ObjectClass(
    3, "pedestrian", "person-sized object", (0.45, 0.55), (0.55, 0.65), (1.6, 1.85), 0.35, CAR_COLOURS
)
BARRIER = ObjectClass(4, "barrier", "low barrier", (0.4, 0.5), (2.6, 3.0), (1.0, 1.1), 0.9, ("orange",))
CLASSES: dict[int, ObjectClass] = {c.id: c for c in (CAR, TRUCK, PEDESTRIAN, BARRIER)}


@dataclass
class Actor:
    """One road user or obstacle. `lane` is where it drives (road.SHOULDER for the shoulder); a static
    actor never moves, the others follow their lane with the car-following model."""

    cls: ObjectClass
    colour: str
    size: np.ndarray  # (3,) length, width, height
    x: float
    y: float
    lane: int
    speed: float = 0.0
    desired_speed: float = 0.0
    static: bool = True
    yaw: float = 0.0

    @classmethod
    def draw(
        cls,
        kind: ObjectClass,
        rng: np.random.Generator,
        x: float,
        y: float,
        lane: int,
        colour: str | None = None,
    ) -> Actor:
        """An actor of class `kind` with a random size (and colour unless given), standing still."""
        size = np.array([rng.uniform(*kind.length), rng.uniform(*kind.width), rng.uniform(*kind.height)])
        return cls(kind, colour or str(rng.choice(kind.colours)), size, x, y, lane)

    def drive(self, speed: float, desired_speed: float | None = None) -> Actor:
        """Make this actor a moving road user (returns self, for chaining)."""
        self.static = False
        self.speed = speed
        self.desired_speed = speed if desired_speed is None else desired_speed
        return self

    @property
    def rear(self) -> float:
        return self.x - self.size[0] / 2

    @property
    def front(self) -> float:
        return self.x + self.size[0] / 2

    def box(self) -> np.ndarray:
        """(7,) world box: centre x, y, z, length, width, height, yaw."""
        return np.array([self.x, self.y, self.size[2] / 2, *self.size, self.yaw])

    def description(self) -> str:
        """What a camera would call it: "red car", "pedestrian in blue"."""
        if self.cls is PEDESTRIAN:
            return f"pedestrian in {self.colour}"
        return f"{self.colour} {self.cls.name}"

    @property
    def stance(self) -> str:
        """How it is placed, for descriptions: "is moving", "is stopped", "is standing"."""
        if not self.static:
            return "is moving"
        return "is stopped" if self.cls in (CAR, TRUCK) else "is standing"
