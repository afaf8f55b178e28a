"""What both rclpy shells share: importing rclpy and message classes on demand (with a clear error
without ROS 2), building rclpy messages from numpy data, ROS parameters from the params dataclasses, and
the QoS profiles and timer both nodes use."""

from __future__ import annotations

import array
import importlib
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np

from fuse_ros.data.messages import Build

# rosidl sequence element type -> array.array typecode (rclpy keeps numeric sequences as array.array)
TYPECODES = {
    "int8": "b",
    "uint8": "B",
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float": "f",
    "double": "d",
}


class RosUnavailable(ImportError):
    """rclpy or a ROS 2 message package is not importable."""


def require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if module.startswith("rclpy"):
            raise RosUnavailable(
                "rclpy is not installed: source a ROS 2 setup or use --transport dds"
            ) from error
        package = module.split(".")[0]
        raise RosUnavailable(
            f"ROS 2 message package {package} is not installed (apt install ros-$ROS_DISTRO-"
            f"{package.replace('_', '-')}), or use --transport dds"
        ) from error


def import_message(msgtype: str) -> type:
    """'sensor_msgs/msg/Image' -> the rclpy message class."""
    package, _, name = msgtype.split("/")
    return getattr(require(f"{package}.msg"), name)


def message_builder(resolve: Callable[[str], type] = import_message) -> Build:
    """A `build(msgtype, **fields)` making rclpy messages: numpy arrays become the array.array rclpy
    stores numeric sequences as (its fast path: no per-element checks), numpy scalars become Python
    numbers, and ints given for `byte` fields (DiagnosticStatus.level) become one byte."""
    cache: dict[str, tuple[type, dict[str, str]]] = {}

    def build(msgtype: str, **values: Any) -> Any:
        if msgtype not in cache:
            cls = resolve(msgtype)
            cache[msgtype] = cls, cls.get_fields_and_field_types()
        cls, types = cache[msgtype]
        return cls(**{name: _field(types.get(name, ""), value) for name, value in values.items()})

    return build


def _field(rosidl_type: str, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        element = rosidl_type.removeprefix("sequence<").split(",")[0].rstrip(">")
        code = TYPECODES.get(element)
        if code is None:
            return value.tolist()
        return array.array(code, np.ascontiguousarray(value, np.dtype(code)).tobytes())
    if isinstance(value, np.generic):
        value = value.item()
    if rosidl_type == "octet" and isinstance(value, int):
        return bytes([value])
    return value


def declare(node: Any, params: Any) -> None:
    """One ROS parameter per params field, defaulting to the value parsed from the command line
    (use_sim_time is rclpy's own); `current` validates them."""
    descriptor = require("rcl_interfaces.msg").ParameterDescriptor
    for f in fields(params):
        if f.name != "use_sim_time":  # dynamic typing: rate_hz:=10 is fine for a float, as in the YAML
            node.declare_parameter(f.name, getattr(params, f.name), descriptor(dynamic_typing=True))


def current(node: Any, params_type: type) -> Any:
    """The params dataclass from the node's ROS parameters now (they may have been set since start)."""
    return params_type.from_mapping({f.name: node.get_parameter(f.name).value for f in fields(params_type)})


NS = 10**9
CLOCK = "rosgraph_msgs/msg/Clock"
DIAGNOSTICS = "diagnostic_msgs/msg/DiagnosticArray"
SPIN_S = 0.005  # wall-clock period at which both nodes look at their clock, as the DDS shells do
CLOCK_REPEAT_S = 0.5


def qos_profiles() -> tuple[Any, Any, Any]:
    """(sensor, latched, reliable) profiles: best effort keep-last-5 for sensors; reliable transient
    local depth 1 for the instruction and AudioInfo (a late subscriber still gets the current one);
    reliable depth 10 for the rest, as the DDS transport uses."""
    qos = require("rclpy.qos")
    latched = qos.QoSProfile(
        depth=1, reliability=qos.ReliabilityPolicy.RELIABLE, durability=qos.DurabilityPolicy.TRANSIENT_LOCAL
    )
    reliable = qos.QoSProfile(depth=10, reliability=qos.ReliabilityPolicy.RELIABLE)
    return qos.qos_profile_sensor_data, latched, reliable


def sensor_qos(depth: int) -> Any:
    """qos_profile_sensor_data with room for `depth` messages: a subscription must hold what arrives
    between two policy steps (ten 10 ms audio chunks per 10 Hz step)."""
    qos = require("rclpy.qos")
    best_effort, volatile = qos.ReliabilityPolicy.BEST_EFFORT, qos.DurabilityPolicy.VOLATILE
    return qos.QoSProfile(depth=depth, reliability=best_effort, durability=volatile)


def wall_timer(node: Any, callback: Callable[[], None]) -> Any:
    """A timer on the steady clock: it keeps firing while simulated time stands still."""
    clock = require("rclpy.clock")
    return node.create_timer(SPIN_S, callback, clock=clock.Clock(clock_type=clock.ClockType.STEADY_TIME))
