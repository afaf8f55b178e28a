"""`fuse/Driving-v0`: an ego car on a three-lane road among traffic and obstacles, seen by a spinning lidar
and a front camera, under day, night, fog or low-sun glare, doing a task given in language.

Each reset draws a task and a condition (unless fixed by the constructor or `options`), a scene, and the
episode's instructions. Observations follow `observation_spec`; `info` carries success, collision and ground
truth (object boxes in the ego frame and a bird's-eye-view grid) at every step.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

import gymnasium as gym
import numpy as np

from fuse_ros.instructions import Instructions
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

from .camera import FrontCamera
from .conditions import CONDITIONS, Condition
from .expert import DrivingExpert
from .geometry import bev_grid, footprint, footprints_overlap, rotation, to_frame
from .language import instructions, sightings
from .lidar import Lidar, LidarConfig, Scan
from .road import Road
from .tasks import COMMANDS, TASKS, TIME_LIMITS, goal_reached, make_scenario
from .traffic import IDM, step_traffic
from .vehicle import VehicleLimits, step_vehicle
from .world import WorldModel

PROPRIO = ("speed", "steering_angle", "acceleration", "yaw_rate")  # m/s, rad, m/s^2, rad/s
PHYSICS_DT = 0.05  # s: vehicle and traffic integration step
MAX_OBJECTS = 12  # actor slots: rows of the ground-truth box array


class DrivingEnv(gym.Env):
    """Arguments:
        task: None (each episode draws one of TASKS), "command" (one of COMMANDS) or a task name.
        condition: None (drawn per episode) or one of CONDITIONS.
        image_size: side of the square front camera image. cameras=False drops the camera (no OpenGL).
        lidar: a LidarConfig or its fields as a dict (default 16 beams x 512 azimuth steps, 60 m).
        control_hz: steps per second; the vehicles are integrated at 20 Hz within a step.
        bev_extent, bev_resolution: half-size and cell size (m) of the ground-truth grid.
        variant: fix the instruction variant in the observation (default: drawn from the valid ones;
            "empty" gives an empty instruction).

    Observations follow `observation_spec`. Lidar points are in the ego frame (x forward, y left, z up,
    origin on the road under the ego's centre), zero-padded to max_len, with `lidar_count`.
    Info at every step: task, condition, success, collision, off_road, boxes (MAX_OBJECTS, 8): x, y, z,
    length, width, height, yaw, class id in the ego frame, zero rows from boxes_count on; boxes_speed
    (MAX_OBJECTS,): each actor's speed (m/s); bev: (G, G)
    uint8 class ids (geometry.bev_grid) over +-bev_extent metres (also given). At reset also
    `instructions` and `variant`.
    Reward: metres of progress / 10, +10 on success, -10 on a collision or leaving the road.
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 5}

    def __init__(
        self,
        task: str | None = None,
        condition: str | None = None,
        image_size: int = 64,
        cameras: bool = True,
        lidar: LidarConfig | dict | None = None,
        control_hz: float = 5.0,
        bev_extent: float = 32.0,
        bev_resolution: float = 1.0,
        variant: str | None = None,
        render_mode: str | None = None,
    ):
        self.tasks = _choices("task", task, TASKS, {"command": COMMANDS})
        self.conditions = _choices("condition", condition, tuple(CONDITIONS), {})
        if cameras and not 8 <= image_size <= 1024:
            raise ValueError(f"DrivingEnv: image_size must be 8..1024 pixels, got {image_size}")
        if render_mode not in (None, "rgb_array") or (render_mode and not cameras):
            raise ValueError(f"render_mode {render_mode!r} needs cameras=True and is 'rgb_array' or None")
        self.render_mode = render_mode
        self.variant = variant
        self.road, self.limits, self.traffic_model = Road(), VehicleLimits(), IDM()
        self.lidar = Lidar(LidarConfig(**lidar) if isinstance(lidar, dict) else lidar or LidarConfig())
        self.dt = 1.0 / control_hz
        self.substeps = max(1, math.ceil(self.dt / PHYSICS_DT - 1e-9))
        self.bev_extent, self.bev_resolution = bev_extent, bev_resolution
        self.world = WorldModel(self.road, MAX_OBJECTS) if cameras else None
        self.camera = FrontCamera(self.world, image_size) if cameras else None
        specs = [
            ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", control_hz, self.lidar.config.max_points)
        ]
        if cameras:
            specs.append(
                ModalitySpec("image_front", Kind.IMAGE, (image_size, image_size, 3), "uint8", control_hz)
            )
        specs.append(ModalitySpec("proprio", Kind.PROPRIO, (len(PROPRIO),), "float32", control_hz))
        self.observation_spec = ObservationSpec.of(*specs)
        self.observation_space = self.observation_spec.gym_space()
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.image: np.ndarray | None = None
        self.scan: Scan | None = None

    # --- episode ------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        rng = self.np_random
        # draw both even when fixed, so that one seed gives one scene whatever the task or condition
        task, name = _draw(rng, self.tasks), _draw(rng, self.conditions)
        task, name = options.get("task", task), options.get("condition", name)
        if task not in TASKS or name not in CONDITIONS:
            raise ValueError(
                f"reset options: task {task!r} / condition {name!r} unknown; see TASKS, CONDITIONS"
            )
        self.condition: Condition = CONDITIONS[name]
        self.scenario = make_scenario(task, self.road, rng)
        self.ego, self.actors, self.goal = self.scenario.ego, self.scenario.actors, self.scenario.goal
        self.max_steps = round(TIME_LIMITS[task] / self.dt)
        self.sun = self.condition.sun_direction(rng)
        self._lidar_rng, self._camera_rng = (np.random.default_rng(s) for s in rng.integers(2**63, size=2))
        if self.world is not None:
            self.world.set_actors(self.actors)
        self.steps = 0
        obs, info = self._sense()
        self.instructions = self._instructions()
        valid = [v for v, ok in self.instructions.valid.items() if ok]
        variant = options.get("variant") or self.variant or str(rng.choice(valid))
        obs["instruction"] = self.instruction = self.instructions.sample(rng, variant)
        info.update(
            instructions=self.instructions, variant=variant, success=False, collision=False, off_road=False
        )
        if self.scenario.path:  # lane_keep: whether the ego must move over (where seeing pays)
            info["path"] = self.scenario.path
        return obs, info

    def step(self, action):
        action = np.asarray(action, np.float64)
        if action.shape != (2,) or not np.isfinite(action).all():
            raise ValueError(
                f"DrivingEnv.step: action must be 2 finite numbers [steer, accel], got {action!r}"
            )
        start_x, dt = self.ego.x, self.dt / self.substeps
        collision = off_road = False
        for _ in range(self.substeps):
            self.ego = step_vehicle(self.ego, action, dt, self.limits)
            step_traffic(self.actors, self.ego.box(self.limits), self.ego.speed, dt, self.traffic_model)
            collision, off_road = self._collided(), self._off_road()
            if collision or off_road:
                break
        self.steps += 1
        success = not (collision or off_road) and bool(
            goal_reached(self.goal, self.ego, self.actors, self.road, self.limits)
        )
        reward = (self.ego.x - start_x) / 10.0 + 10.0 * success - 10.0 * (collision or off_road)
        obs, info = self._sense()
        obs["instruction"] = self.instruction
        info.update(success=success, collision=collision, off_road=off_road)
        terminated = success or collision or off_road
        return obs, reward, terminated, self.steps >= self.max_steps and not terminated, info

    def set_ego(self, **state: float) -> tuple[dict, dict]:
        """Move the ego (any EgoState fields: x, y, yaw, speed, ...) without simulating, and sense again:
        for probing the sensors at chosen poses. Returns the new observation and info."""
        self.ego = replace(self.ego, **state)
        obs, info = self._sense()
        obs["instruction"] = self.instruction
        return obs, info

    def make_expert(self, eager: bool = False) -> DrivingExpert:
        return DrivingExpert(self, eager)

    def render(self):
        return None if self.image is None else self.image.copy()

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None

    # --- world --------------------------------------------------------------------------------------
    def _collided(self) -> bool:
        me = self.ego.box(self.limits)
        return any(
            abs(a.x - me[0]) < 12 and abs(a.y - me[1]) < 5 and footprints_overlap(me, a.box())
            for a in self.actors
        )

    def _off_road(self) -> bool:
        y = footprint(self.ego.box(self.limits))[:, 1]
        return bool(y.min() < self.road.right_edge or y.max() > self.road.left_edge)

    def boxes(self) -> np.ndarray:
        """(K, 7) actor boxes in the ego frame, in actor order."""
        world = np.array([a.box() for a in self.actors]).reshape(-1, 7)
        return to_frame(world, self.ego.x, self.ego.y, self.ego.yaw)

    # --- sensing ------------------------------------------------------------------------------------
    def scan_lidar(self) -> Scan:
        """A lidar scan of the scene as it is now (labels: lidar.GROUND or actor index + 1)."""

        def road_surface(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            world = xy @ rotation(self.ego.yaw).T + (self.ego.x, self.ego.y)
            return self.road.surface(world[:, 0], world[:, 1])

        reflectivity = np.array([a.cls.reflectivity for a in self.actors])
        effects = self.condition.lidar
        return self.lidar.scan(self.boxes(), reflectivity, road_surface, self._lidar_rng, effects)

    def _sun(self) -> np.ndarray:
        """The unit direction to the sun in the ego frame."""
        return np.append(rotation(self.ego.yaw).T @ self.sun[:2], self.sun[2])

    def _sense(self) -> tuple[dict, dict]:
        """The observation (without the instruction) and the ground-truth part of info."""
        self.scan = self.scan_lidar()
        cloud = np.zeros((self.lidar.config.max_points, 4), np.float32)
        cloud[: len(self.scan.points)] = self.scan.points
        obs = {"lidar": cloud, "lidar_count": np.array(len(self.scan.points), np.int64)}
        if self.camera is not None:
            self.world.update(self.ego, self.actors)
            rgb, distance = self.camera.render()
            sun = self._sun()
            self.image = self.condition.degrade(rgb, distance, self.camera.view, sun, self._camera_rng)
            obs["image_front"] = self.image
        ego = self.ego
        obs["proprio"] = np.array([ego.speed, ego.steer, ego.accel, ego.yaw_rate], np.float32)
        boxes, classes = self.boxes(), np.array([a.cls.id for a in self.actors])
        truth = np.zeros((MAX_OBJECTS, 8), np.float32)
        truth[: len(boxes), :7], truth[: len(boxes), 7] = boxes, classes
        speeds = np.zeros(MAX_OBJECTS, np.float32)
        speeds[: len(boxes)] = [a.speed for a in self.actors]
        info = {
            "task": self.goal.task,
            "condition": self.condition.name,
            "boxes": truth,
            "boxes_count": len(boxes),
            "boxes_speed": speeds,
            "bev": bev_grid(boxes, classes, self.bev_extent, self.bev_resolution),
            "bev_extent": self.bev_extent,  # metres: the grid spans [-extent, extent) in x and y
        }
        return obs, info

    def _instructions(self) -> Instructions:
        """The episode's instructions, from what the first scan and the camera's condition let through."""
        returns = np.bincount(self.scan.labels, minlength=len(self.actors) + 1)[1:]
        sun = self._sun()
        seen = sightings(
            self.actors,
            self.boxes(),
            returns,
            lambda position: self.condition.camera_sees(position, sun),
            self.road,
            self.limits.length,
        )
        return instructions(self.scenario, seen, self.condition, self.road, self.lidar.config.max_range)


def _draw(rng: np.random.Generator, names: tuple[str, ...]) -> str:
    """One of `names`, using exactly one random number however many there are."""
    return names[int(rng.random() * len(names))]


def _choices(what: str, value: str | None, names: tuple[str, ...], groups: dict[str, tuple[str, ...]]):
    """The names an episode may draw from: all of them (None), a group, or one name."""
    if value is None:
        return names
    if value in groups:
        return groups[value]
    if value not in names:
        raise ValueError(f"DrivingEnv: unknown {what} {value!r}; choose one of {[*names, *groups]} or None")
    return (value,)
