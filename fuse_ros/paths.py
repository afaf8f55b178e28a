"""Where the package's data folders (sim/, models/, launch/) are, installed or in a source checkout."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

PACKAGE = "fuse_ros"


@cache
def share_dir() -> Path:
    """The folder holding sim/, models/ and launch/: the source checkout when running from one (editable
    installs, tests), else share/fuse_ros under the install prefix (pip or colcon)."""
    checkout = Path(__file__).resolve().parent.parent
    candidates = [checkout, Path(sys.prefix) / "share" / PACKAGE]
    try:  # under ROS 2 the ament index knows where colcon installed the package
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory(PACKAGE)))
    except (ImportError, LookupError):
        pass
    for folder in candidates:
        if (folder / "sim").is_dir():
            return folder
    raise FileNotFoundError(f"cannot find fuse_ros data folders (sim/, models/) in {candidates}")


def sim_asset(*parts: str) -> Path:
    """A file under sim/, e.g. sim_asset("manipulation", "scene.xml"); a clear error if it is missing."""
    path = share_dir().joinpath("sim", *parts)
    if not path.exists():
        raise FileNotFoundError(f"simulation asset not found: {path}")
    return path


def models_dir() -> Path:
    return share_dir() / "models"
