"""fuse_ros: multi-sensor robot policies (vision, touch, audio, lidar) from simulation to ROS 2."""

__version__ = "0.1.0"
