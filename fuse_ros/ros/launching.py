"""What `ros2 launch fuse_ros <setup>.launch.py` starts, shared by the launch files in launch/.

`node_specs` decides, in plain Python, which nodes run with which parameters, remappings and arguments for
the launch arguments given (tested without ROS 2); `launch_description` turns that into launch_ros actions at
launch time. With transport:=ros the policy is a lifecycle node that the launch configures and activates;
with transport:=dds both executables run without ROS 2 (they read --ros-args themselves) and start at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

PACKAGE = "fuse_ros"
POLICY_NODE = "fuse_policy"
BRIDGE_NODE = "fuse_sim_bridge"
POLICY_EXECUTABLE = "fuse_policy_node"
BRIDGE_EXECUTABLE = "fuse_sim_bridge"
TRANSPORTS = ("ros", "dds")

# launch argument -> (default, description); an empty default keeps what the parameter file says
ARGUMENTS = {
    "sim": ("true", "true: start the sim bridge; false: real sensors, remapped to the robot's topics"),
    "transport": ("ros", "ros: rclpy lifecycle nodes; dds: the same nodes over Cyclone DDS, no ROS 2 needed"),
    "backend": ("", "inference backend: onnxruntime, torch or tensorrt (empty: as in the parameter file)"),
    "model": ("", "checkpoint folder (empty: as in the parameter file)"),
    "task": ("", "simulated task the sim bridge runs (empty: as in the parameter file)"),
    "params_file": ("", "parameter YAML (empty: the shipped launch/<setup>.yaml)"),
}


@dataclass(frozen=True)
class NodeSpec:
    """One process to start: a launch_ros Node (LifecycleNode when `lifecycle`)."""

    executable: str
    name: str
    arguments: list[str]
    parameters: list[Any]  # parameter files, then a dict of overrides
    remappings: list[tuple[str, str]] = field(default_factory=list)
    lifecycle: bool = False


def _flag(value: str, name: str) -> bool:
    if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"launch argument {name} must be true or false, got {value!r}")
    return value.lower() in ("true", "1")


def node_specs(
    setup: str, robot_topics: Mapping[str, str], args: Mapping[str, str], share: str
) -> list[NodeSpec]:
    """The nodes for launch arguments `args` (defaults: ARGUMENTS); `share`: the package's share folder."""
    args = {name: default for name, (default, _) in ARGUMENTS.items()} | dict(args)
    sim = _flag(args["sim"], "sim")
    transport = args["transport"]
    if transport not in TRANSPORTS:
        raise ValueError(f"launch argument transport must be one of {TRANSPORTS}, got {transport!r}")
    params_file = args["params_file"] or os.path.join(share, "launch", f"{setup}.yaml")
    chosen = {"backend": args["backend"], "checkpoint": args["model"]}
    policy_overrides = {k: v for k, v in chosen.items() if v} | {"use_sim_time": sim}  # sim: bridge's /clock
    policy = NodeSpec(
        executable=POLICY_EXECUTABLE,
        name=POLICY_NODE,
        arguments=["--transport", transport] + (["--managed"] if transport == "ros" else []),
        parameters=[params_file, policy_overrides],
        remappings=[] if sim else list(robot_topics.items()),
        lifecycle=transport == "ros",
    )
    if not sim:
        return [policy]
    bridge = NodeSpec(
        executable=BRIDGE_EXECUTABLE,
        name=BRIDGE_NODE,
        arguments=["--transport", transport],
        parameters=[params_file, *([{"task": args["task"]}] if args["task"] else [])],
    )
    return [bridge, policy]


def launch_description(setup: str, robot_topics: Mapping[str, str]) -> Any:
    """The LaunchDescription of a setup: its arguments, then the nodes chosen when it runs."""
    try:
        from launch.actions import DeclareLaunchArgument, OpaqueFunction
        from launch.launch_description import LaunchDescription
    except ImportError as error:
        raise ImportError(f"ROS 2 launch is not installed ({error}): source a ROS 2 setup") from error
    declared = [DeclareLaunchArgument(n, default_value=d, description=h) for n, (d, h) in ARGUMENTS.items()]
    return LaunchDescription([*declared, OpaqueFunction(function=partial(_actions, setup, robot_topics))])


def _actions(setup: str, robot_topics: Mapping[str, str], context: Any) -> list[Any]:
    """launch_ros actions for the arguments' values at launch time."""
    from ament_index_python.packages import get_package_share_directory
    from launch.substitutions import LaunchConfiguration

    args = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    share = get_package_share_directory(PACKAGE)
    actions = []
    for spec in node_specs(setup, robot_topics, args, share):
        actions += _lifecycle_actions(spec) if spec.lifecycle else [_node(spec)]
    return actions


def _node(spec: NodeSpec, node_class: Any = None) -> Any:
    from launch_ros.actions import Node

    return (node_class or Node)(
        package=PACKAGE,
        executable=spec.executable,
        name=spec.name,
        namespace="",
        arguments=spec.arguments,
        parameters=spec.parameters,
        remappings=spec.remappings,
        output="screen",
    )


def _lifecycle_actions(spec: NodeSpec) -> list[Any]:
    """The lifecycle node, a configure request at start and an activate request once it is inactive."""
    from launch.actions import EmitEvent, RegisterEventHandler
    from launch.events import matches_action
    from launch_ros.actions import LifecycleNode
    from launch_ros.event_handlers import OnStateTransition
    from launch_ros.events.lifecycle import ChangeState
    from lifecycle_msgs.msg import Transition

    node = _node(spec, LifecycleNode)

    def change(transition: int) -> Any:
        return EmitEvent(
            event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=transition)
        )

    activate = OnStateTransition(
        target_lifecycle_node=node,
        start_state="configuring",
        goal_state="inactive",
        entities=[change(Transition.TRANSITION_ACTIVATE)],
    )
    return [RegisterEventHandler(activate), node, change(Transition.TRANSITION_CONFIGURE)]
