"""ROS 2 wire compatibility without ROS 2: message types named as ROS 2 names them (`msgs`) and a small
publish/subscribe transport over Cyclone DDS (`transport`). Set CYCLONEDDS_URI before importing this."""
