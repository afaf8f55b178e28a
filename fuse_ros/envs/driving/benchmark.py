"""Speed of the driving simulator: one lidar scan's ray casting, and env steps per second.

    python -m fuse_ros.envs.driving.benchmark [--scans 200] [--steps 600]

Runs in this process on one core (the numpy work here is single-threaded).
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

from .env import DrivingEnv
from .lidar import LidarConfig
from .world import WorldModel

FULL_SCAN = {"beams": 32, "steps": 1024}


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def ray_casting(repeats: int) -> None:
    """Time a 32 x 1024 scan of a busy scene, against mujoco.mj_multiRay on the same world."""
    env = DrivingEnv(task="lane_keep", condition="day", cameras=False, lidar=FULL_SCAN)
    env.reset(seed=7)
    boxes = env.boxes()
    lidar = env.lidar
    cast = _median_ms(lambda: lidar.cast(boxes), repeats)
    scan = _median_ms(env.scan_lidar, repeats)
    points = len(env.scan_lidar().points)

    world = WorldModel(env.road, len(env.actors))
    world.set_actors(env.actors)
    world.update(env.ego, env.actors)
    n = lidar.config.max_points
    directions = np.ascontiguousarray(lidar.directions.reshape(-1, 3)).ravel()  # ego heads along +x here
    origin = np.array([env.ego.x, env.ego.y, lidar.config.height])
    geom, dist = np.zeros(n, np.int32), np.zeros(n)

    def multiray():
        mujoco.mj_multiRay(
            world.model, world.data, origin, directions, None, 1, -1, geom, dist, None, n, 60.0
        )

    mj = _median_ms(multiray, max(10, repeats // 4))
    print(f"lidar 32 x 1024 ({n} rays, {len(env.actors)} actors, {points} returns):")
    print(f"  ray casting {cast:.2f} ms | full scan with noise and intensity {scan:.2f} ms")
    print(f"  (mujoco.mj_multiRay on the same world: {mj:.2f} ms)")


def steps_per_second(steps: int, **kwargs) -> tuple[float, float]:
    """(env.step calls per second, and with the expert choosing the actions) over `steps` steps."""
    env = DrivingEnv(**kwargs)
    in_step = 0.0
    done, seed = 0, 0
    start = time.perf_counter()
    while done < steps:
        obs, _ = env.reset(seed=seed)
        expert = env.make_expert()
        seed += 1
        while done < steps:
            action = expert.act(obs)
            tick = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(action)
            in_step += time.perf_counter() - tick
            done += 1
            if terminated or truncated:
                break
    total = time.perf_counter() - start
    env.close()
    return steps / in_step, steps / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=200, help="repeats of the scan timing")
    parser.add_argument("--steps", type=int, default=600, help="env steps per configuration")
    args = parser.parse_args()
    ray_casting(args.scans)
    default = LidarConfig()
    setups = {
        f"no camera, lidar {default.beams} x {default.steps}": {"cameras": False},
        f"camera 64x64 + lidar {default.beams} x {default.steps} (default)": {},
        "camera 64x64 + lidar 32 x 1024": {"lidar": FULL_SCAN},
    }
    print(f"env steps/s over {args.steps} steps (all tasks and conditions; with the expert in brackets):")
    for name, kwargs in setups.items():
        env_rate, loop_rate = steps_per_second(args.steps, **kwargs)
        print(f"  {name}: {env_rate:.0f} ({loop_rate:.0f})")


if __name__ == "__main__":
    main()
