"""The DDS message types serialise byte for byte as rosbags does (the independent reference for ROS 2
CDR), carry ROS 2's DDS type names, and read back what rosbags writes."""

from collections.abc import Callable
from functools import cache
from typing import get_args, get_type_hints

import numpy as np
import pytest
from cyclonedds.idl import IdlStruct
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from fuse_ros.data import messages as m
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec
from fuse_ros.ros.dds import msgs
from fuse_ros.ros.diagnostics import Diagnostics, diagnostic_array_msg
from fuse_ros.ros.sync import Synchronizer

# ros-drivers/audio_common, ROS 2 branch: audio_common_msgs/msg/*.msg
AUDIO_MSGS = {
    "audio_common_msgs/msg/AudioData": "uint8[] data",
    "audio_common_msgs/msg/AudioDataStamped": "std_msgs/Header header\naudio_common_msgs/AudioData audio",
    "audio_common_msgs/msg/AudioInfo": "uint8 channels\nuint32 sample_rate\nstring sample_format\n"
    "uint32 bitrate\nstring coding_format",
}
RNG = np.random.default_rng(0)
IMAGE = RNG.integers(0, 256, (5, 3, 3), dtype=np.uint8)  # odd sizes exercise CDR alignment
CLOUD = RNG.normal(size=(7, 4)).astype(np.float32)
AUDIO = RNG.uniform(-1, 1, 33).astype(np.float32)
STAMP = 1_700_000_123_456_789_012


@cache
def typestore():
    store = get_typestore(Stores.ROS2_HUMBLE)
    for name, text in AUDIO_MSGS.items():
        store.register(get_types_from_msg(text, name))
    return store


def rosbags_build(msgtype: str, **fields):
    return typestore().types[msgtype](**fields)


def _diagnostics(build):
    sync = Synchronizer(ObservationSpec.of(ModalitySpec("cam", Kind.IMAGE, (2, 2, 3), "uint8", rate_hz=30)))
    sync.add("cam", np.zeros((2, 2, 3), np.uint8), stamp=1.0, now=1.0)
    return diagnostic_array_msg(build, Diagnostics("node", 10).report(sync.states(1.05)), STAMP)


def _multi_array(build):
    dims = [
        build("std_msgs/msg/MultiArrayDimension", label="chunk", size=2, stride=6),
        build("std_msgs/msg/MultiArrayDimension", label="action", size=3, stride=3),
    ]
    layout = build("std_msgs/msg/MultiArrayLayout", dim=dims, data_offset=0)
    return build("std_msgs/msg/Float32MultiArray", layout=layout, data=np.arange(6, dtype=np.float32) / 7)


def _twist(build):
    vector = "geometry_msgs/msg/Vector3"
    return build(
        "geometry_msgs/msg/Twist",
        linear=build(vector, x=1.5, y=-0.25, z=1e-9),
        angular=build(vector, x=0.0, y=0.0, z=-0.7),
    )


# one message per DDS type (nested types are covered inside their parents too)
SAMPLES: dict[str, Callable] = {
    "builtin_interfaces/msg/Time": lambda b: b("builtin_interfaces/msg/Time", sec=-3, nanosec=999_999_999),
    "std_msgs/msg/Header": lambda b: m.header(b, STAMP, "base_link"),
    "std_msgs/msg/String": lambda b: m.string_msg(b, "pick up the foam cube, then press the button"),
    "std_msgs/msg/MultiArrayDimension": lambda b: b(
        "std_msgs/msg/MultiArrayDimension", label="x", size=4, stride=4
    ),
    "std_msgs/msg/MultiArrayLayout": lambda b: b("std_msgs/msg/MultiArrayLayout", dim=[], data_offset=3),
    "std_msgs/msg/Float32MultiArray": _multi_array,
    "sensor_msgs/msg/Image": lambda b: m.image_msg(b, IMAGE, STAMP, "wrist_optical_frame"),
    "sensor_msgs/msg/PointField": lambda b: b(
        "sensor_msgs/msg/PointField", name="intensity", offset=12, datatype=7, count=1
    ),
    "sensor_msgs/msg/PointCloud2": lambda b: m.cloud_msg(b, CLOUD, STAMP, "lidar_link"),
    "sensor_msgs/msg/JointState": lambda b: m.joint_state_msg(b, CLOUD[0], list("abcd"), STAMP, "base"),
    "audio_common_msgs/msg/AudioData": lambda b: b("audio_common_msgs/msg/AudioData", data=IMAGE.reshape(-1)),
    "audio_common_msgs/msg/AudioDataStamped": lambda b: m.audio_msg(b, AUDIO, STAMP, "mic_link"),
    "audio_common_msgs/msg/AudioInfo": lambda b: m.audio_info_msg(b, m.AudioFormat(16000, 2, "S16LE")),
    "diagnostic_msgs/msg/KeyValue": lambda b: b("diagnostic_msgs/msg/KeyValue", key="age_s", value="0.125"),
    "diagnostic_msgs/msg/DiagnosticStatus": lambda b: _diagnostics(b).status[1],
    "diagnostic_msgs/msg/DiagnosticArray": _diagnostics,
    "geometry_msgs/msg/Vector3": lambda b: b("geometry_msgs/msg/Vector3", x=1.0, y=2.0, z=3.0),
    "geometry_msgs/msg/Twist": _twist,
    "rosgraph_msgs/msg/Clock": lambda b: b(
        "rosgraph_msgs/msg/Clock", clock=b("builtin_interfaces/msg/Time", sec=12, nanosec=500_000_000)
    ),
}


def test_every_dds_type_has_a_sample_and_ros2_dds_naming():
    assert set(SAMPLES) == set(msgs.TYPES)
    nested = set()
    for name, message_type in msgs.TYPES.items():
        package, _, msg = name.split("/")
        assert message_type.__idl__.idl_transformed_typename == f"{package}::msg::dds_::{msg}_"
        for field_type in get_type_hints(message_type).values():  # nested types are ROS-named ones too
            for inner in (field_type, *get_args(field_type)):  # a struct or a sequence of structs
                if isinstance(inner, type) and issubclass(inner, IdlStruct):
                    assert inner in msgs.TYPES.values(), f"{name} nests {inner}"
                    nested.add(inner.__name__)
    assert nested == {"Time", "Header", "MultiArrayDimension", "MultiArrayLayout", "PointField", "AudioData",
                      "KeyValue", "DiagnosticStatus", "Vector3"}  # fmt: skip


@pytest.mark.parametrize("msgtype", sorted(SAMPLES))
def test_cdr_bytes_equal_rosbags(msgtype):
    ours = SAMPLES[msgtype](msgs.build)
    assert isinstance(ours, msgs.TYPES[msgtype])
    reference = bytes(typestore().serialize_cdr(SAMPLES[msgtype](rosbags_build), msgtype))
    data = ours.serialize()
    assert data[:4] == b"\x00\x01\x00\x00"  # CDR little endian, plain (final) encapsulation
    assert data == reference
    assert msgs.TYPES[msgtype].deserialize(reference).serialize() == reference  # and it reads them back


def from_rosbags(msgtype: str):
    """The sample as a ROS 2 publisher sends it (rosbags' CDR), received with our DDS type."""
    data = bytes(typestore().serialize_cdr(SAMPLES[msgtype](rosbags_build), msgtype))
    return msgs.TYPES[msgtype].deserialize(data)


def test_sensor_arrays_survive_rosbags_bytes_read_with_dds_types():
    image = from_rosbags("sensor_msgs/msg/Image")
    np.testing.assert_array_equal(m.image_from_msg(image), IMAGE)
    assert m.stamp_ns(image) == STAMP and image.header.frame_id == "wrist_optical_frame"
    np.testing.assert_array_equal(m.cloud_from_msg(from_rosbags("sensor_msgs/msg/PointCloud2")), CLOUD)
    audio = from_rosbags("audio_common_msgs/msg/AudioDataStamped")
    np.testing.assert_array_equal(m.audio_from_msg(audio, m.AudioFormat(16000)), AUDIO)
    np.testing.assert_array_equal(
        m.joint_state_from_msg(from_rosbags("sensor_msgs/msg/JointState")), CLOUD[0]
    )
