"""The MuJoCo model of the road scene: sim/driving/scene.xml plus, built from the `Road`, the asphalt and its
painted lines, and one mocap box per actor slot. Nothing is simulated in MuJoCo: each frame the ego and the
boxes are moved kinematically, for the camera to draw (and for tests to cross-check the lidar's rays)."""

from __future__ import annotations

import mujoco
import numpy as np

from fuse_ros.paths import sim_asset

from .actors import COLOURS, Actor
from .road import Road
from .vehicle import EgoState

ASPHALT = (0.33, 0.33, 0.35, 1.0)
PAINT = (0.92, 0.92, 0.88, 1.0)
HIDDEN = (-1e4, 0.0, -10.0)  # where unused actor slots wait, far beyond the far clip plane


def _add_road(spec: mujoco.MjSpec, road: Road) -> None:
    """Asphalt (top face at z = 0) and painted lines (5 mm proud of it) as static boxes."""
    box = mujoco.mjtGeom.mjGEOM_BOX
    length, centre = (road.end - road.start) / 2, (road.end + road.start) / 2
    width, middle = (road.left_edge - road.right_edge) / 2, (road.left_edge + road.right_edge) / 2
    world = spec.worldbody
    world.add_geom(
        name="road", type=box, size=[length, width, 0.05], pos=[centre, middle, -0.05], rgba=ASPHALT
    )
    half = road.marking_width / 2
    for y in road.solid_lines():
        world.add_geom(type=box, size=[length, half, 0.005], pos=[centre, y, 0.0], rgba=PAINT)
    for y in road.dashed_lines():
        for x in np.arange(road.start, road.end, road.dash_period):
            dash = [x + road.dash_length / 2, y, 0.0]
            world.add_geom(type=box, size=[road.dash_length / 2, half, 0.005], pos=dash, rgba=PAINT)


def _quat(yaw: float) -> tuple[float, float, float, float]:
    return np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)


class WorldModel:
    def __init__(self, road: Road, slots: int):
        spec = mujoco.MjSpec.from_file(str(sim_asset("driving", "scene.xml")))
        _add_road(spec, road)
        for i in range(slots):
            body = spec.worldbody.add_body(name=f"actor{i}", mocap=True, pos=list(HIDDEN))
            body.add_geom(name=f"actor{i}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[1, 1, 1])
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.actor_geoms = [self.model.geom(f"actor{i}").id for i in range(slots)]
        self._mocap = [self.model.body(f"actor{i}").mocapid[0] for i in range(slots)]
        self._ego = self.model.body("ego").mocapid[0]

    def set_actors(self, actors: list[Actor]) -> None:
        """Size and colour the slots for a new episode; unused slots are parked out of sight."""
        if len(actors) > len(self.actor_geoms):
            raise ValueError(f"{len(actors)} actors but the driving world has {len(self.actor_geoms)} slots")
        for i, (geom, mocap) in enumerate(zip(self.actor_geoms, self._mocap, strict=True)):
            if i < len(actors):
                half = actors[i].size / 2
                self.model.geom_size[geom] = half
                self.model.geom_aabb[geom] = (0, 0, 0, *half)
                self.model.geom_rbound[geom] = np.linalg.norm(half)
                self.model.geom_rgba[geom] = (*COLOURS[actors[i].colour], 1.0)
            else:
                self.data.mocap_pos[mocap] = HIDDEN

    def update(self, ego: EgoState, actors: list[Actor]) -> None:
        """Move the ego and the actors to their current poses and recompute the model's kinematics."""
        self.data.mocap_pos[self._ego] = (ego.x, ego.y, 0.0)
        self.data.mocap_quat[self._ego] = _quat(ego.yaw)
        for mocap, actor in zip(self._mocap, actors, strict=False):
            self.data.mocap_pos[mocap] = (actor.x, actor.y, actor.size[2] / 2)
            self.data.mocap_quat[mocap] = _quat(actor.yaw)
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)
