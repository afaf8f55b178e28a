"""Environment steps per second on one core, with the expert acting, without cameras and with two.

    python -m fuse_ros.envs.manipulation.benchmark [--steps 600] [--image-size 64]

Prints, per task, steps/s measured on the wall clock and on this process's CPU time (the latter is the
fair figure on a shared machine). The process is pinned to one core and renders in software with one
thread (llvmpipe) unless a GPU EGL device is present.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("LP_NUM_THREADS", "1")  # software rendering on one core (read at context creation)

import cv2

from .env import ManipulationEnv
from .tasks import TASK_NAMES


def steps_per_second(task: str, cameras: bool, steps: int, image_size: int) -> tuple[float, float]:
    """(wall-clock, CPU-time) steps per second over `steps` expert-driven steps (resets excluded)."""
    env = ManipulationEnv(task, cameras=cameras, image_size=image_size)
    expert = env.make_expert()
    env.reset(seed=0)  # warm up (renderer creation)
    wall = cpu = 0.0
    done, seed = 0, 0
    while done < steps:
        obs, _ = env.reset(seed=seed)
        expert.reset()
        seed += 1
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(min(env.max_steps, steps - done)):
            obs, _, terminated, truncated, _ = env.step(expert.act(obs))
            done += 1
            if terminated or truncated:
                break
        wall += time.perf_counter() - start_wall
        cpu += time.process_time() - start_cpu
    env.close()
    return steps / wall, steps / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600, help="steps per task and setting")
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    size = args.image_size
    print(f"steps/s on one core (wall / cpu), {args.steps} expert steps per cell")
    print(f"{'task':<16}{'no cameras':>20}{f'2 cameras {size}x{size}':>24}")
    for task in TASK_NAMES:
        blind = steps_per_second(task, False, args.steps, size)
        seeing = steps_per_second(task, True, args.steps, size)
        print(f"{task:<16}{blind[0]:>10.0f} / {blind[1]:<7.0f}{seeing[0]:>12.0f} / {seeing[1]:<7.0f}")


if __name__ == "__main__":
    main()
