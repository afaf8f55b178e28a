"""ROS 2 messages as Cyclone DDS types, named the way ROS 2 names them on the wire.

A DDS participant is on the ROS 2 graph when its types are `<pkg>::msg::dds_::<Msg>_` (nested ones too)
and plain final structs, which is what these are; CDR-identical to what rclpy sends (tests compare the
bytes with rosbags). Field names, order and types follow the .msg definitions of ROS 2 Humble.
No `from __future__ import annotations` here: cyclonedds resolves the field annotations at run time.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import byte, float32, float64, int32, sequence, uint8, uint32


def _dds(ros_name: str) -> str:
    """'sensor_msgs/Image' -> 'sensor_msgs.msg.dds_.Image_' (cyclonedds writes the dots as ::)."""
    package, message = ros_name.split("/")
    return f"{package}.msg.dds_.{message}_"


# builtin_interfaces, std_msgs


@dataclass
class Time(IdlStruct, typename=_dds("builtin_interfaces/Time")):
    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
class Header(IdlStruct, typename=_dds("std_msgs/Header")):
    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class String(IdlStruct, typename=_dds("std_msgs/String")):
    data: str = ""


@dataclass
class MultiArrayDimension(IdlStruct, typename=_dds("std_msgs/MultiArrayDimension")):
    label: str = ""
    size: uint32 = 0
    stride: uint32 = 0


@dataclass
class MultiArrayLayout(IdlStruct, typename=_dds("std_msgs/MultiArrayLayout")):
    dim: sequence[MultiArrayDimension] = field(default_factory=list)
    data_offset: uint32 = 0


@dataclass
class Float32MultiArray(IdlStruct, typename=_dds("std_msgs/Float32MultiArray")):
    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: sequence[float32] = field(default_factory=list)


# sensor_msgs


@dataclass
class Image(IdlStruct, typename=_dds("sensor_msgs/Image")):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)  # bytes are accepted when writing


@dataclass
class PointField(IdlStruct, typename=_dds("sensor_msgs/PointField")):
    name: str = ""
    offset: uint32 = 0
    datatype: uint8 = 0
    count: uint32 = 0


@dataclass
class PointCloud2(IdlStruct, typename=_dds("sensor_msgs/PointCloud2")):
    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    fields: sequence[PointField] = field(default_factory=list)
    is_bigendian: bool = False
    point_step: uint32 = 0
    row_step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)
    is_dense: bool = False


@dataclass
class JointState(IdlStruct, typename=_dds("sensor_msgs/JointState")):
    header: Header = field(default_factory=Header)
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)


# audio_common_msgs (ros-drivers/audio_common)


@dataclass
class AudioData(IdlStruct, typename=_dds("audio_common_msgs/AudioData")):
    data: sequence[uint8] = field(default_factory=list)


@dataclass
class AudioDataStamped(IdlStruct, typename=_dds("audio_common_msgs/AudioDataStamped")):
    header: Header = field(default_factory=Header)
    audio: AudioData = field(default_factory=AudioData)


@dataclass
class AudioInfo(IdlStruct, typename=_dds("audio_common_msgs/AudioInfo")):
    channels: uint8 = 0
    sample_rate: uint32 = 0
    sample_format: str = ""  # e.g. S16LE, F32LE
    bitrate: uint32 = 0
    coding_format: str = ""  # e.g. wave


# diagnostic_msgs


@dataclass
class KeyValue(IdlStruct, typename=_dds("diagnostic_msgs/KeyValue")):
    key: str = ""
    value: str = ""


@dataclass
class DiagnosticStatus(IdlStruct, typename=_dds("diagnostic_msgs/DiagnosticStatus")):
    level: byte = 0  # fuse_ros.ros.diagnostics.Level
    name: str = ""
    message: str = ""
    hardware_id: str = ""
    values: sequence[KeyValue] = field(default_factory=list)


@dataclass
class DiagnosticArray(IdlStruct, typename=_dds("diagnostic_msgs/DiagnosticArray")):
    header: Header = field(default_factory=Header)
    status: sequence[DiagnosticStatus] = field(default_factory=list)


# geometry_msgs


@dataclass
class Vector3(IdlStruct, typename=_dds("geometry_msgs/Vector3")):
    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
class Twist(IdlStruct, typename=_dds("geometry_msgs/Twist")):
    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


# rosgraph_msgs


@dataclass
class Clock(IdlStruct, typename=_dds("rosgraph_msgs/Clock")):
    clock: Time = field(default_factory=Time)


def ros_name(message_type: type[IdlStruct]) -> str:
    """'sensor_msgs/msg/Image' for `Image`: the name rosbags, rclpy and the ros2 CLI use."""
    package, msg, _, name = message_type.__idl_typename__.split(".")
    return f"{package}/{msg}/{name.removesuffix('_')}"


TYPES: dict[str, type[IdlStruct]] = {
    ros_name(t): t
    for t in (
        Time, Header, String, MultiArrayDimension, MultiArrayLayout, Float32MultiArray,
        Image, PointField, PointCloud2, JointState, AudioData, AudioDataStamped, AudioInfo,
        KeyValue, DiagnosticStatus, DiagnosticArray, Vector3, Twist, Clock,
    )
}  # fmt: skip


def build(msgtype: str, **fields: Any) -> IdlStruct:
    """`fuse_ros.data.messages.Build` for DDS, so the sensor conversions there make DDS messages too.
    Arrays become what cyclonedds serialises: bytes for uint8[] (fast), lists of numbers otherwise."""
    try:
        message_type = TYPES[msgtype]
    except KeyError:
        raise ValueError(f"no DDS type for {msgtype!r}; known: {sorted(TYPES)}") from None
    return message_type(**{name: _plain(value) for name, value in fields.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tobytes() if value.dtype == np.uint8 else value.tolist()
    return value
