"""Run an actor in a simulator for one episode and keep what a dataset needs.

The actor is anything with `reset()` and `act(obs)`: today the scripted expert, later a trained policy.
Step k of the recorded `Episode` holds observation k, the action taken on it and the reward and success
that followed. Numeric `info` entries that come with every observation, such as the driving
simulator's ground-truth boxes and bird's-eye-view grid, are kept as `extras`, aligned with the
observation they came with; strings of the reset `info` (variant, condition, ...) go to `meta`.
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np

from fuse_ros.data.episodes import Episode
from fuse_ros.envs import Expert as Actor  # anything with reset() and act(obs)
from fuse_ros.instructions import Instructions

SAFE_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def control_period(env: gym.Env) -> float:
    """Seconds between two actions, from the simulator (`dt`, else its `render_fps`)."""
    base = env.unwrapped
    if getattr(base, "dt", None):
        return float(base.dt)
    fps = base.metadata.get("render_fps")
    if not fps:
        raise ValueError(f"{type(base).__name__} has neither `dt` nor metadata['render_fps']")
    return 1.0 / float(fps)


def _extras(infos: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Numeric `info` entries that every step has, with one shape, stacked (e.g. boxes, BEV grids)."""
    extras = {}
    for key in infos[0]:
        values = [np.asarray(info.get(key)) for info in infos]
        numeric = all(v.dtype.kind in "biuf" for v in values) and len({v.shape for v in values}) == 1
        if key != "success" and SAFE_KEY.match(key) and numeric:
            extras[key] = np.stack(values)
    return extras


def ending(success: list[bool], terminated: bool, info: dict) -> str:
    """How an episode ended: "success"; "collision" or "off_road" (driving); "failed" (the simulator
    ended it otherwise: a wrong button held, a wrong object lifted); or "timeout" (it ran out of steps)."""
    if any(success):
        return "success"
    if not terminated:
        return "timeout"
    return next((key for key in ("collision", "off_road") if info.get(key)), "failed")


def record_episode(
    env: gym.Env,
    actor: Actor,
    seed: int,
    max_steps: int | None = None,
    options: dict | None = None,
    action_noise: float = 0.0,
    driver: Actor | None = None,
) -> Episode:
    """Run one episode (until terminated, truncated or `max_steps`) and return it; `options` go to
    env.reset (e.g. {"variant": "audio"}). With `action_noise` (a std in action units) the simulator
    executes the actor's action plus Gaussian noise while the actor's own action is recorded, as in
    DART (Laskey et al., 2017): the data then holds states beside the expert's path, labelled with how
    the expert gets back, which a policy needs once its own small errors have carried it there.
    With a `driver`, the simulator executes the driver's action (plus the noise) instead, and the
    actor's is still recorded: an eager expert's labels along a later-deciding driver's path show what
    to do in the states a policy reaches when it decides late."""
    spec = env.unwrapped.observation_spec
    obs, info = env.reset(seed=seed, options=options)
    actor.reset()
    if driver is not None:
        driver.reset()
    reset_info, instruction = info, str(obs.get("instruction", ""))
    keys = [key for key in obs if key != "instruction"]
    frames: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    actions, rewards, success, infos = [], [], [], []
    noise, space = np.random.default_rng(seed), env.action_space
    done = terminated = False
    while not done and (max_steps is None or len(actions) < max_steps):
        for key in keys:
            frames[key].append(np.array(obs[key]))  # copy: simulators may reuse their buffers
        infos.append(info)
        action = np.asarray(actor.act(obs), np.float32)
        executed = action if driver is None else np.asarray(driver.act(obs), np.float32)
        if action_noise:
            executed = np.clip(
                executed + noise.normal(0.0, action_noise, action.shape), space.low, space.high
            )
        obs, reward, terminated, truncated, info = env.step(executed.astype(np.float32))
        actions.append(action)
        rewards.append(reward)
        success.append(bool(info.get("success", False)))
        done = terminated or truncated
    steps = len(actions)
    observations = {key: np.stack(values) for key, values in frames.items()}
    valid = {name: np.full(steps, name in observations) for name in spec.names()}
    for m in spec:  # a modality the simulator did not provide is stored as missing (zeros, invalid)
        observations.setdefault(m.name, np.zeros((steps, *m.max_shape), m.dtype))
        if m.max_len is not None:
            observations.setdefault(f"{m.name}_count", np.zeros(steps, np.int64))
    instructions = reset_info.get("instructions")
    meta = {k: v for k, v in reset_info.items() if isinstance(v, str)}
    end = ending(success, terminated, info)
    return Episode(
        observations=observations,
        valid=valid,
        stamps=np.arange(steps) * control_period(env),
        actions=np.stack(actions),
        rewards=np.asarray(rewards, np.float32),
        success=np.asarray(success, bool),
        instruction=instruction,
        instructions=instructions if isinstance(instructions, Instructions) else None,
        extras=_extras(infos),
        meta=meta | {"seed": int(seed), "steps": steps, "success": any(success), "end": end},
    )
