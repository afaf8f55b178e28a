"""The lidar's geometry: returns lie on what they hit, nothing is seen through an object, and the analytic
ray caster agrees with MuJoCo's own ray casting on the rendered world."""

import mujoco
import numpy as np
import pytest

from fuse_ros.envs.driving import GROUND, DrivingEnv, Lidar, LidarConfig, LidarEffects
from fuse_ros.envs.driving.actors import CAR, PEDESTRIAN, TRUCK, Actor
from fuse_ros.envs.driving.geometry import rotation, to_frame
from fuse_ros.envs.driving.road import ASPHALT_REFLECTIVITY, Road
from fuse_ros.envs.driving.vehicle import EgoState
from fuse_ros.envs.driving.world import WorldModel

ROAD = Road()


def box(x, y, length, width, height, yaw=0.0):
    return np.array([x, y, height / 2, length, width, height, yaw])


def surface_distance(points: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of ego-frame points (N, 3) from the surface of box b (inside or out)."""
    c, s = np.cos(b[6]), np.sin(b[6])
    rel = points - b[:3]
    local = np.stack([c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1], rel[:, 2]], 1)
    excess = np.abs(local) - b[3:6] / 2
    outside = np.linalg.norm(np.maximum(excess, 0), axis=1)
    return np.where((excess <= 0).all(1), -excess.max(1), outside)


def flat_ground(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.full(len(xy), 0.12), np.zeros(len(xy), bool)


@pytest.mark.parametrize("noisy", [False, True])
def test_returns_lie_on_the_box_they_hit_or_on_the_road(noisy):
    config = LidarConfig(beams=32, steps=1024) if noisy else LidarConfig(32, 1024, noise_std=0.0, dropout=0.0)
    boxes = np.stack(
        [
            box(12, 0.5, 4.6, 1.9, 1.5, 0.3),
            box(-9, -3.5, 10, 2.5, 3.5),
            box(20, 4, 0.5, 0.6, 1.8),
            box(-10, 0.2, 4.5, 1.8, 1.5, -0.2),  # right behind: straddles azimuth +-180 degrees
        ]
    )
    scan = Lidar(config).scan(boxes, np.full(4, 0.5), flat_ground, np.random.default_rng(0), LidarEffects())
    bound = config.noise_bound + 1e-4 if noisy else 1e-4
    on_ground = scan.labels == GROUND
    assert np.abs(scan.points[on_ground, 2]).max() <= bound
    for k, b in enumerate(boxes):
        hits = scan.points[scan.labels == k + 1, :3]
        assert len(hits) > 20, f"box {k} drew only {len(hits)} returns"
        assert np.abs(surface_distance(hits, b)).max() <= bound
    ranges = np.linalg.norm(scan.points[:, :3] - (0, 0, config.height), axis=1)
    assert ranges.min() >= config.min_range and ranges.max() <= config.max_range
    assert scan.points.dtype == np.float32 and ((scan.points[:, 3] >= 0) & (scan.points[:, 3] <= 1)).all()


@pytest.mark.parametrize("condition", ["day", "fog"])
def test_env_returns_lie_on_the_ground_truth_boxes(condition):
    """The env's points and the boxes in its info share the ego frame: every object return lies on its
    box's surface, every road return on the plane z = 0, within the noise bound."""
    env = DrivingEnv(condition=condition, cameras=False)
    bound = env.lidar.config.noise_bound + 1e-4
    for seed in range(4):
        obs, info = env.reset(seed=seed)
        expert = env.make_expert()
        for _ in range(6):
            obs, _, _, _, info = env.step(expert.act(obs))
        points, labels = obs["lidar"][: obs["lidar_count"], :3], env.scan.labels
        assert np.abs(points[labels == GROUND, 2]).max() <= bound
        for k, box in enumerate(info["boxes"][: info["boxes_count"], :7]):
            assert np.abs(surface_distance(points[labels == k + 1], box)).max(initial=0) <= bound


def test_an_object_fully_behind_another_draws_no_returns():
    lidar = Lidar(LidarConfig(beams=32, steps=1024, dropout=0.0))
    truck, hidden, aside = box(15, 0, 10, 2.5, 3.5), box(26, 0, 0.5, 0.6, 1.7), box(26, 5, 4.5, 1.8, 1.5)
    scan = lidar.scan(
        np.stack([truck, hidden, aside]), np.full(3, 0.5), flat_ground, np.random.default_rng(1)
    )
    counts = np.bincount(scan.labels, minlength=4)
    assert counts[2] == 0, "the pedestrian behind the truck must be fully occluded"
    assert counts[1] > 100 and counts[3] > 20
    alone = lidar.scan(hidden[None], np.full(1, 0.5), flat_ground, np.random.default_rng(1))
    assert (alone.labels == 1).sum() > 5, "without the truck the pedestrian is seen"
    # nearer objects of the same size draw more returns
    near, far = box(10, -3.5, 4.5, 1.8, 1.5), box(30, 3.5, 4.5, 1.8, 1.5)
    counts = np.bincount(
        lidar.scan(np.stack([near, far]), np.full(2, 0.5), flat_ground, np.random.default_rng(2)).labels
    )
    assert counts[1] > 3 * counts[2] > 0


def test_ray_casting_matches_mujoco_rays():
    """Cast the same scan with mj_ray on the camera's MuJoCo world: same object, same range. (Not
    mj_multiRay: its per-geom angular culling, built from box corners, drops grazing hits near the bottom
    edge of a nearby box in MuJoCo 4.0; mj_ray tests every geom.)"""
    rng = np.random.default_rng(3)
    actors = [
        Actor.draw(CAR, rng, 14, 0.0, 0),
        Actor.draw(TRUCK, rng, 25, 3.5, 1),
        Actor.draw(PEDESTRIAN, rng, 9, -3.2, -1),
        Actor.draw(CAR, rng, -12, 7.0, 2),
        Actor.draw(CAR, rng, -9, 0.0, 0),  # right behind: straddles azimuth +-180 degrees
    ]
    actors[0].yaw = 0.2
    ego = EgoState(x=3.0, y=0.4, yaw=0.05, speed=0.0)
    world = WorldModel(ROAD, 6)
    world.set_actors(actors)
    world.update(ego, actors)
    lidar = Lidar(LidarConfig(beams=24, steps=360))
    dist, target, _ = lidar.cast(to_frame(np.array([a.box() for a in actors]), ego.x, ego.y, ego.yaw))
    target, dist = target.ravel(), dist.ravel()
    c, s = np.cos(ego.yaw), np.sin(ego.yaw)
    directions = lidar.directions.reshape(-1, 3) @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
    origin = np.array([ego.x, ego.y, lidar.config.height])
    slot = {g: k + 1 for k, g in enumerate(world.actor_geoms)}
    geom = np.zeros(1, np.int32)
    mj_dist, mj_target = np.zeros(len(directions)), np.zeros(len(directions), int)
    for i, direction in enumerate(directions):
        mj_dist[i] = mujoco.mj_ray(world.model, world.data, origin, direction, None, 1, -1, geom)
        mj_target[i] = slot.get(int(geom[0]), GROUND if geom[0] >= 0 else -1)
    in_range = (mj_dist >= 0) & (mj_dist <= lidar.config.max_range)
    objects = (target > 0) | ((mj_target > 0) & in_range)
    assert objects.sum() > 200
    np.testing.assert_array_equal(target[objects], mj_target[objects])
    np.testing.assert_allclose(dist[objects], mj_dist[objects], atol=1e-6)
    # road returns: MuJoCo's road and paint lie within 5 mm of the plane z = 0 (the verge 2 cm below)
    ground = target == GROUND
    assert (mj_target[ground] == GROUND).all()
    z = origin[2] + directions[ground, 2] * mj_dist[ground]
    assert np.abs(z).max() <= 0.02 + 1e-9


def test_fog_thins_and_dims_returns_but_keeps_objects():
    env = DrivingEnv(task="stop_behind", condition="day", cameras=False)
    counts = {}
    for condition in ("day", "fog"):
        obs, _ = env.reset(seed=4, options={"condition": condition})
        obs, _ = env.set_ego(x=env.actors[0].rear - 20.0, y=env.road.lane_y(env.actors[0].lane), yaw=0.0)
        labels = env.scan.labels
        counts[condition] = (len(labels), (labels == 1).sum(), obs["lidar"][: obs["lidar_count"], 3].mean())
    (n_day, car_day, i_day), (n_fog, car_fog, i_fog) = counts["day"], counts["fog"]
    assert 0.6 * n_day < n_fog < 0.97 * n_day
    assert car_fog >= 0.6 * car_day > 0
    assert i_fog < i_day


def test_lane_markings_return_brighter_than_asphalt_even_where_the_beam_grazes_the_road():
    """Paint is retroreflective: 25 m ahead the beam meets the road at 4 degrees, and a diffuse line
    would return 0.05, lost beside the asphalt; the lidar's lane keeping at night rests on these returns."""
    env = DrivingEnv(task="lane_keep", condition="day", cameras=False)
    obs, _ = env.reset(seed=5)
    points = obs["lidar"][: obs["lidar_count"]]
    road = points[env.scan.labels == GROUND]
    world = road[:, :2] @ rotation(env.ego.yaw).T + (env.ego.x, env.ego.y)
    reflectivity, painted = ROAD.surface(world[:, 0], world[:, 1])
    asphalt = reflectivity == ASPHALT_REFLECTIVITY
    distance = np.hypot(road[:, 0], road[:, 1])
    for ahead in (distance < 15, (distance > 15) & (distance < 40)):
        line, plain = road[painted & ahead, 3], road[asphalt & ahead, 3]
        assert len(line) > 3 and line.mean() > 0.5 > 5 * plain.mean()
