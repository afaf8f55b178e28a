"""ROS 2 side of fuse_ros, in layers (Autoware's library + thin node split):

- ROS-free cores: `sync` (buffers, alignment, staleness, validity), `chunking` (action chunk execution),
  `diagnostics` (health as plain data), `policy_core` and `bridge_core` (what the policy node and the sim
  bridge do), `params` (their parameters);
- shells that only carry messages: `rclpy_nodes` (ROS 2; rclpy is imported only when a node is built) and
  `dds` (Cyclone DDS with ROS 2 naming, for machines without ROS 2); `executables` picks one per
  `--transport`, and `launching` builds the launch files' nodes.
"""
