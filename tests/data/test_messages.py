"""Array <-> message conversion, through real CDR bytes (rosbags) so field types are checked too."""

import numpy as np
import pytest

from fuse_ros.data import messages as m
from fuse_ros.data.bag import build, typestore


def cdr_round_trip(msg):
    store = typestore()
    return store.deserialize_cdr(store.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)


def test_image_is_rgb8_with_its_step_and_stamp():
    image = np.random.default_rng(0).integers(0, 256, (6, 10, 3), dtype=np.uint8)
    msg = cdr_round_trip(m.image_msg(build, image, 3_250_000_000, "cam_optical_frame"))
    assert (msg.encoding, msg.step, msg.height, msg.width) == ("rgb8", 30, 6, 10)
    assert m.stamp_ns(msg) == 3_250_000_000 and msg.header.frame_id == "cam_optical_frame"
    np.testing.assert_array_equal(m.image_from_msg(msg), image)


@pytest.mark.parametrize("encoding", ["bgr8", "bgra8", "mono8"])
def test_robot_image_encodings_and_row_padding_decode_to_rgb(encoding):
    rgb = np.random.default_rng(1).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    if encoding == "mono8":
        rgb[:] = rgb[..., :1]
    pixels = {
        "bgr8": rgb[..., ::-1],
        "bgra8": np.dstack([rgb[..., ::-1], np.full((4, 5), 255)]),
        "mono8": rgb[..., :1],
    }
    channels = m.IMAGE_CHANNELS[encoding]
    rows = np.zeros((4, 5 * channels + 3), np.uint8)  # 3 bytes of row padding, as some drivers add
    rows[:, : 5 * channels] = pixels[encoding].reshape(4, -1)
    msg = build(
        m.IMAGE,
        header=m.header(build, 0, "c"),
        height=4,
        width=5,
        encoding=encoding,
        is_bigendian=0,
        step=rows.shape[1],
        data=rows.reshape(-1),
    )
    np.testing.assert_array_equal(m.image_from_msg(cdr_round_trip(msg)), rgb)


def test_point_cloud_fields_steps_and_points():
    points = np.random.default_rng(2).uniform(-50, 50, (300, 4)).astype(np.float32)
    msg = cdr_round_trip(m.cloud_msg(build, points, 10, "lidar_link"))
    assert [(f.name, f.offset, f.datatype, f.count) for f in msg.fields] == [
        ("x", 0, 7, 1),
        ("y", 4, 7, 1),
        ("z", 8, 7, 1),
        ("intensity", 12, 7, 1),
    ]
    assert (msg.point_step, msg.row_step, msg.height, msg.width, msg.is_dense) == (16, 4800, 1, 300, True)
    np.testing.assert_array_equal(m.cloud_from_msg(msg), points)


def test_point_cloud_of_another_layout_decodes_and_drops_nan_points():
    """A driver's organised cloud: float64 xyz, extra ring field, no intensity, NaN for no return."""
    rng = np.random.default_rng(3)
    dtype = np.dtype(
        {
            "names": ["x", "y", "z", "ring"],
            "formats": ["<f8", "<f8", "<f8", "<u2"],
            "offsets": [0, 8, 16, 24],
            "itemsize": 32,
        }
    )
    cloud = np.zeros((2, 3), dtype)
    for axis in "xyz":
        cloud[axis] = rng.uniform(-5, 5, (2, 3))
    cloud["x"][1, 2] = np.nan
    fields = [
        build(m.POINT_FIELD, name=n, offset=o, datatype=d, count=1)
        for n, o, d in (("x", 0, 8), ("y", 8, 8), ("z", 16, 8), ("ring", 24, 4))
    ]
    msg = build(
        m.POINT_CLOUD,
        header=m.header(build, 0, "velodyne"),
        height=2,
        width=3,
        fields=fields,
        is_bigendian=False,
        point_step=32,
        row_step=96,
        data=cloud.view(np.uint8).reshape(-1),
        is_dense=False,
    )
    points = m.cloud_from_msg(cdr_round_trip(msg))
    expected = np.stack([cloud[a].reshape(-1) for a in "xyz"], 1)[:5].astype(np.float32)
    np.testing.assert_array_equal(points[:, :3], expected)
    assert (points[:, 3] == 0).all()


def test_cloud_without_coordinates_is_an_error():
    msg = build(
        m.POINT_CLOUD,
        header=m.header(build, 0, ""),
        height=1,
        width=0,
        fields=[],
        is_bigendian=False,
        point_step=0,
        row_step=0,
        data=np.zeros(0, np.uint8),
        is_dense=True,
    )
    with pytest.raises(m.MessageError, match=r"lacks fields \['x', 'y', 'z'\]"):
        m.cloud_from_msg(msg)


def test_audio_chunks_and_info():
    samples = np.random.default_rng(4).uniform(-1, 1, 480).astype(np.float32)
    msg = cdr_round_trip(m.audio_msg(build, samples, 5, "mic_link"))
    audio = m.AudioFormat.from_msg(cdr_round_trip(m.audio_info_msg(build, m.AudioFormat(16000))))
    assert audio == m.AudioFormat(16000, 1, "F32LE")
    np.testing.assert_array_equal(m.audio_from_msg(msg, audio), samples)
    # a robot microphone: interleaved stereo S16LE
    stereo = (np.stack([samples, samples], 1) * 32767).astype("<i2")
    robot = build(
        m.AUDIO,
        header=m.header(build, 0, ""),
        audio=build(m.AUDIO_DATA, data=stereo.view(np.uint8).reshape(-1)),
    )
    decoded = m.audio_from_msg(cdr_round_trip(robot), m.AudioFormat(16000, 2, "S16LE"))
    np.testing.assert_allclose(decoded, samples, atol=1e-4)


def test_proprio_actions_and_text():
    values = np.arange(5, dtype=np.float32) / 3
    state = cdr_round_trip(m.joint_state_msg(build, values, [f"p_{i}" for i in range(5)], 0, "base_link"))
    np.testing.assert_array_equal(m.joint_state_from_msg(state), values)
    assert list(state.name) == ["p_0", "p_1", "p_2", "p_3", "p_4"]
    action = cdr_round_trip(m.float_array_msg(build, values, "action"))
    assert action.layout.dim[0].label == "action" and action.layout.dim[0].size == 5
    np.testing.assert_array_equal(m.float_array_from_msg(action), values)
    assert cdr_round_trip(m.string_msg(build, "press the red button")).data == "press the red button"
