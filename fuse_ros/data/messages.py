"""ROS 2 messages <-> arrays, one pair of functions per sensor kind, with no ROS import.

Messages are built through `build(msgtype, **fields)`, so the same code makes `rosbags` messages (bags,
tests) and rclpy messages (the ROS nodes). Array fields are given as numpy arrays. Decoders read message
attributes only, so they accept rosbags, rclpy and mcap_ros2 messages alike (uint8[] as ndarray or bytes).

Conventions (REP 103/105):
- images (cameras and tactile) are `rgb8`, `step = 3 * width`, in `<name>_optical_frame`;
- point clouds hold x, y, z, intensity as FLOAT32 (point_step 16, height 1, dense) in the ego frame
  `base_link` (metres, x forward, y left, z up), as the simulators produce them;
- audio is mono F32LE in `AudioDataStamped` chunks stamped at their last sample, in `<name>_link`, with an
  `AudioInfo` on `<topic>_info`;
- proprio is a `JointState` (frame `base_link`) whose positions are the proprio vector;
- actions are `Float32MultiArray`, instructions `String`.
Stamps are nanoseconds of simulator or robot time (simulated episodes start at 0, like `/clock`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fuse_ros.observation import Kind, ModalitySpec

Build = Callable[..., Any]  # build(msgtype, **fields) -> message

IMAGE = "sensor_msgs/msg/Image"
POINT_CLOUD = "sensor_msgs/msg/PointCloud2"
POINT_FIELD = "sensor_msgs/msg/PointField"
JOINT_STATE = "sensor_msgs/msg/JointState"
AUDIO = "audio_common_msgs/msg/AudioDataStamped"
AUDIO_DATA = "audio_common_msgs/msg/AudioData"
AUDIO_INFO = "audio_common_msgs/msg/AudioInfo"
FLOAT_ARRAY = "std_msgs/msg/Float32MultiArray"
STRING = "std_msgs/msg/String"

MESSAGE_TYPES = {
    Kind.IMAGE: IMAGE,
    Kind.TACTILE: IMAGE,
    Kind.AUDIO: AUDIO,
    Kind.LIDAR: POINT_CLOUD,
    Kind.PROPRIO: JOINT_STATE,
}

FLOAT32 = 7  # sensor_msgs/PointField datatype
POINT_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
CLOUD_FIELDS = ("x", "y", "z", "intensity")
IMAGE_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}
AUDIO_DTYPES = {"F32LE": ("<f4", 1.0), "S16LE": ("<i2", 1 / 32768), "S32LE": ("<i4", 1 / 2**31)}


class MessageError(ValueError):
    """A message cannot become an array of the expected kind; says what is wrong."""


def default_topic(spec: ModalitySpec) -> str:
    suffix = {Kind.AUDIO: "audio", Kind.LIDAR: "points", Kind.PROPRIO: "joint_states"}
    return f"/{spec.name}/{suffix.get(spec.kind, 'image_raw')}"


def default_frame_id(spec: ModalitySpec) -> str:
    if spec.kind in (Kind.IMAGE, Kind.TACTILE):
        return f"{spec.name}_optical_frame"
    return "base_link" if spec.kind in (Kind.LIDAR, Kind.PROPRIO) else f"{spec.name}_link"


def header(build: Build, stamp_ns: int, frame_id: str) -> Any:
    stamp = build("builtin_interfaces/msg/Time", sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return build("std_msgs/msg/Header", stamp=stamp, frame_id=frame_id)


def stamp_ns(msg: Any) -> int:
    """The header stamp of a stamped message, in nanoseconds."""
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def _bytes(data: Any) -> np.ndarray:
    return np.frombuffer(data if isinstance(data, bytes | np.ndarray) else bytes(data), np.uint8)


def image_msg(build: Build, image: np.ndarray, stamp: int, frame_id: str) -> Any:
    height, width = image.shape[:2]
    return build(
        IMAGE,
        header=header(build, stamp, frame_id),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * width,
        data=np.ascontiguousarray(image, np.uint8).reshape(-1),
    )


def image_from_msg(msg: Any) -> np.ndarray:
    """An (H, W, 3) uint8 RGB image from an 8-bit colour or mono Image."""
    channels = IMAGE_CHANNELS.get(msg.encoding)
    if channels is None:
        raise MessageError(
            f"image encoding {msg.encoding!r} not supported; use one of {list(IMAGE_CHANNELS)}"
        )
    rows = _bytes(msg.data).reshape(msg.height, msg.step)[:, : msg.width * channels]
    pixels = rows.reshape(msg.height, msg.width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[..., 2::-1] if msg.encoding.startswith("bgr") else pixels[..., :3])


def cloud_msg(build: Build, points: np.ndarray, stamp: int, frame_id: str) -> Any:
    points = np.ascontiguousarray(points, "<f4").reshape(-1, 4)
    fields = [
        build(POINT_FIELD, name=name, offset=4 * i, datatype=FLOAT32, count=1)
        for i, name in enumerate(CLOUD_FIELDS)
    ]
    return build(
        POINT_CLOUD,
        header=header(build, stamp, frame_id),
        height=1,
        width=len(points),
        fields=fields,
        is_bigendian=False,
        point_step=16,
        row_step=16 * len(points),
        data=points.view(np.uint8).reshape(-1),
        is_dense=True,
    )


def cloud_from_msg(msg: Any) -> np.ndarray:
    """(N, 4) float32 x, y, z, intensity from any PointCloud2 layout; points with a non-finite
    coordinate are dropped, a missing intensity reads as 0."""
    fields = {f.name: f for f in msg.fields}
    if missing := [name for name in CLOUD_FIELDS[:3] if name not in fields]:
        raise MessageError(f"point cloud lacks fields {missing}; has {list(fields)}")
    names = [name for name in CLOUD_FIELDS if name in fields]
    order = ">" if msg.is_bigendian else "<"
    dtype = np.dtype(
        {
            "names": names,
            "formats": [order + POINT_DTYPES[fields[n].datatype] for n in names],
            "offsets": [fields[n].offset for n in names],
            "itemsize": msg.point_step,
        }
    )
    rows = _bytes(msg.data).reshape(msg.height, msg.row_step)[:, : msg.width * msg.point_step]
    records = np.ascontiguousarray(rows).view(dtype).reshape(-1)
    points = np.zeros((len(records), 4), np.float32)
    for i, name in enumerate(names):
        points[:, i] = records[name]
    return points[np.isfinite(points[:, :3]).all(axis=1)]


@dataclass(frozen=True)
class AudioFormat:
    """What an `AudioInfo` message says about the chunks on its stream."""

    sample_rate: int
    channels: int = 1
    sample_format: str = "F32LE"

    @classmethod
    def from_msg(cls, msg: Any) -> AudioFormat:
        if msg.sample_format not in AUDIO_DTYPES:
            raise MessageError(
                f"audio sample format {msg.sample_format!r} not supported; use {list(AUDIO_DTYPES)}"
            )
        return cls(int(msg.sample_rate), int(msg.channels), msg.sample_format)


def audio_info_msg(build: Build, audio: AudioFormat) -> Any:
    bits = 8 * np.dtype(AUDIO_DTYPES[audio.sample_format][0]).itemsize
    return build(
        AUDIO_INFO,
        channels=audio.channels,
        sample_rate=audio.sample_rate,
        sample_format=audio.sample_format,
        bitrate=audio.sample_rate * audio.channels * bits,
        coding_format="wave",
    )


def audio_msg(build: Build, samples: np.ndarray, stamp: int, frame_id: str) -> Any:
    data = np.ascontiguousarray(samples, "<f4").view(np.uint8).reshape(-1)
    return build(AUDIO, header=header(build, stamp, frame_id), audio=build(AUDIO_DATA, data=data))


def audio_from_msg(msg: Any, audio: AudioFormat) -> np.ndarray:
    """Mono float32 samples of one chunk (channels are averaged)."""
    dtype, scale = AUDIO_DTYPES[audio.sample_format]
    raw = _bytes(msg.audio.data)
    samples = raw[: len(raw) // np.dtype(dtype).itemsize * np.dtype(dtype).itemsize].view(dtype)
    samples = samples.astype(np.float32) * np.float32(scale)
    return samples.reshape(-1, audio.channels).mean(axis=1, dtype=np.float32)


def joint_state_msg(build: Build, values: np.ndarray, names: Sequence[str], stamp: int, frame_id: str) -> Any:
    empty = np.zeros(0, np.float64)
    return build(
        JOINT_STATE,
        header=header(build, stamp, frame_id),
        name=list(names),
        position=np.asarray(values, np.float64),
        velocity=empty,
        effort=empty,
    )


def joint_state_from_msg(msg: Any) -> np.ndarray:
    return np.asarray(msg.position, np.float32)


def float_array_msg(build: Build, values: np.ndarray, label: str) -> Any:
    values = np.asarray(values, np.float32).reshape(-1)
    dim = build("std_msgs/msg/MultiArrayDimension", label=label, size=len(values), stride=len(values))
    layout = build("std_msgs/msg/MultiArrayLayout", dim=[dim], data_offset=0)
    return build(FLOAT_ARRAY, layout=layout, data=values)


def float_array_from_msg(msg: Any) -> np.ndarray:
    return np.asarray(msg.data, np.float32)[msg.layout.data_offset :]


def string_msg(build: Build, text: str) -> Any:
    return build(STRING, data=text)
