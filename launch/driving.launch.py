"""Driving perception with lidar and a front camera: the policy node, and the simulator bridge unless
sim:=false.

    ros2 launch fuse_ros driving.launch.py                           # simulated driving task, ROS 2
    ros2 launch fuse_ros driving.launch.py sim:=false model:=/path/to/driving_run
    ros2 launch fuse_ros driving.launch.py transport:=dds            # same nodes over Cyclone DDS

Parameters: launch/driving.yaml. Arguments: `ros2 launch fuse_ros driving.launch.py -s`.
"""

from fuse_ros.ros.launching import launch_description

# sim:=false: our topic -> the vehicle's (Autoware-style sensing names)
ROBOT_TOPICS = {
    "/lidar/points": "/sensing/lidar/top/pointcloud",
    "/image_front/image_raw": "/sensing/camera/front/image_raw",
    "/proprio/joint_states": "/vehicle/joint_states",
    "/fuse/instruction": "/task/instruction",
    "/fuse/action": "/policy/action",
}


def generate_launch_description():
    return launch_description("driving", ROBOT_TOPICS)
