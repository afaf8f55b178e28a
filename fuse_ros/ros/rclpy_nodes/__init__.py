"""The rclpy shells of the two nodes: ROS parameters, subscriptions, publishers and timers around the
ROS-free cores (`PolicyCore`, `SimBridgeCore`), which do all the work. `policy_node` and `sim_bridge`
hold the node classes, `common` what they share; messages are converted by fuse_ros.data.messages
through `common.message_builder`, which makes rclpy message objects.

rclpy and the message packages are imported only when a node is made, so this package imports anywhere;
without them, `RosUnavailable` says what is missing (the DDS transport needs no ROS 2: --transport dds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fuse_ros.ros.executables import Invocation
from fuse_ros.ros.rclpy_nodes.common import require
from fuse_ros.ros.rclpy_nodes.policy_node import policy_node_class
from fuse_ros.ros.rclpy_nodes.sim_bridge import sim_bridge_class


def _spin(node_class: type, invocation: Invocation, argv: list[str], start: Callable[[Any], None]) -> None:
    """rclpy.init with the command line (rclpy reads --ros-args itself), make the node, `start` it, spin
    until it is finished (if it can be) or interrupted."""
    rclpy = require("rclpy")
    executors = require("rclpy.executors")
    rclpy.init(args=argv)
    node = None
    try:
        node = node_class(invocation)
        start(node)
        finished = getattr(node, "finished", None)
        if finished is None:
            rclpy.spin(node)
        else:
            rclpy.spin_until_future_complete(node, finished)
    except (KeyboardInterrupt, executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def run_policy_node(invocation: Invocation, argv: list[str]) -> None:
    """The lifecycle policy node; without --managed it configures and activates itself."""
    node_class = policy_node_class()
    ok = require("rclpy.lifecycle").TransitionCallbackReturn.SUCCESS

    def start(node: Any) -> None:
        if invocation.managed:
            return
        if node.trigger_configure() != ok or node.trigger_activate() != ok:
            raise node.error or RuntimeError(f"{invocation.node_name}: a lifecycle transition failed")

    _spin(node_class, invocation, argv, start)


def run_sim_bridge(invocation: Invocation, argv: list[str]) -> None:
    """The sim bridge node, until `episodes` episodes are done (0: until interrupted)."""
    _spin(sim_bridge_class(), invocation, argv, lambda node: None)
