"""Manipulation with touch and sound: the policy node, and the simulator bridge unless sim:=false.

    ros2 launch fuse_ros manipulation.launch.py                      # simulated button task, ROS 2
    ros2 launch fuse_ros manipulation.launch.py sim:=false model:=/path/to/run backend:=tensorrt
    ros2 launch fuse_ros manipulation.launch.py transport:=dds       # same nodes over Cyclone DDS

Parameters: launch/manipulation.yaml. Arguments: `ros2 launch fuse_ros manipulation.launch.py -s`.
"""

from fuse_ros.ros.launching import launch_description

# sim:=false: our topic -> the robot's (as in fuse_ros/conf/topics/example_robot.yaml)
ROBOT_TOPICS = {
    "/image_primary/image_raw": "/camera/color/image_raw",
    "/image_wrist/image_raw": "/wrist_camera/color/image_raw",
    "/tactile_left/image_raw": "/digit/left/image_raw",
    "/tactile_right/image_raw": "/digit/right/image_raw",
    "/audio/audio": "/contact_mic/audio",
    "/audio/audio_info": "/contact_mic/audio_info",  # ROS 2 remaps exact names only
    "/proprio/joint_states": "/joint_states",
    "/fuse/instruction": "/task/instruction",
    "/fuse/action": "/policy/action",
}


def generate_launch_description():
    return launch_description("manipulation", ROBOT_TOPICS)
