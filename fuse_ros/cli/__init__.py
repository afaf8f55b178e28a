"""Command-line entry points (Hydra apps) behind the console scripts declared in setup.py.

The apps run headless: MuJoCo renders offscreen through EGL unless MUJOCO_GL says otherwise. This is set
here, before any simulator imports MuJoCo, and worker processes inherit it.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")


def open_groups(argv: list[str], *groups: str) -> list[str]:
    """Let `<group>.<key>=value` add keys the config does not list, e.g. `env.split=unseen` or
    `policy.depth=2` (Hydra would otherwise demand `+env.split=...`)."""
    return [f"++{arg}" if arg.startswith(tuple(f"{g}." for g in groups)) else arg for arg in argv]
