"""ROS 2 side of fuse_ros, in layers: ROS-free cores the nodes call (`sync`: buffers, alignment, staleness,
validity; `chunking`: action chunk execution; `diagnostics`: health as plain data) and transports that
carry messages (`dds`: Cyclone DDS with ROS 2 naming, for machines without ROS 2). Nothing here imports rclpy.
"""
