"""Command-line entry points (Hydra apps) behind the console scripts declared in setup.py.

The apps run headless: MuJoCo renders offscreen through EGL unless MUJOCO_GL says otherwise. This is set
here, before any simulator imports MuJoCo, and worker processes inherit it.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
