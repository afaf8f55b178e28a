"""Episodes as ROS 2 bags: what is written (read back by rosbags and, independently, by mcap_ros2),
the round trip back to an episode, and ingest of a bag recorded the way a robot records."""

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer

from fuse_ros.data import messages as m
from fuse_ros.data.bag import BagError, build, default_topics, export_bag, ingest_bag, typestore
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

EXPECTED_TYPES = {
    "/image_primary/image_raw": m.IMAGE,
    "/tactile_left/image_raw": m.IMAGE,
    "/audio/audio": m.AUDIO,
    "/audio/audio_info": m.AUDIO_INFO,
    "/lidar/points": m.POINT_CLOUD,
    "/proprio/joint_states": m.JOINT_STATE,
    "/fuse/action": m.FLOAT_ARRAY,
    "/fuse/instruction": m.STRING,
    "/fuse/episode": m.STRING,
}


def read_with_rosbags(path):
    with AnyReader([path]) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        messages = {}
        for connection, _, raw in reader.messages():
            messages.setdefault(connection.topic, []).append(reader.deserialize(raw, connection.msgtype))
    return types, messages


def test_synthetic_episode_bag_has_ros_types_and_values(tmp_path, spec, episode, same_episode):
    bag = export_bag(episode, spec, tmp_path / "episode_bag")
    assert sorted(p.name for p in bag.iterdir()) == ["episode_bag.mcap", "metadata.yaml"]
    types, messages = read_with_rosbags(bag)
    assert types == EXPECTED_TYPES
    clouds = messages["/lidar/points"]
    for k, cloud in enumerate(clouds):
        count = episode.observations["lidar_count"][k]
        assert (cloud.width, cloud.row_step, cloud.point_step) == (count, 16 * count, 16)
        np.testing.assert_array_equal(m.cloud_from_msg(cloud), episode.observations["lidar"][k, :count])
    chunks = [len(msg.audio.data) // 4 for msg in messages["/audio/audio"]]
    assert chunks == [1600] + [320] * (episode.steps - 1)  # a microphone stream, not repeated windows
    np.testing.assert_array_equal(m.stamp_ns(messages["/proprio/joint_states"][3]), 600_000_000)

    decoded = {}
    with open(bag / "episode_bag.mcap", "rb") as f:
        for schema, channel, _, msg in make_reader(
            f, decoder_factories=[DecoderFactory()]
        ).iter_decoded_messages():
            decoded.setdefault(channel.topic, []).append((schema.name, msg))
    assert {topic: items[0][0] for topic, items in decoded.items()} == EXPECTED_TYPES
    for k, (_, msg) in enumerate(decoded["/tactile_left/image_raw"]):
        np.testing.assert_array_equal(m.image_from_msg(msg), episode.observations["tactile_left"][k])
    for k, (_, msg) in enumerate(decoded["/lidar/points"]):
        count = episode.observations["lidar_count"][k]
        np.testing.assert_array_equal(m.cloud_from_msg(msg), episode.observations["lidar"][k, :count])

    same_episode(episode, ingest_bag(bag, spec), extras=False)


def test_invalid_readings_are_not_published_and_come_back_invalid(tmp_path, spec, episode, same_episode):
    episode.valid["image_primary"][[2, 5]] = False
    episode.observations["image_primary"][[2, 5]] = 0
    bag = export_bag(episode, spec, tmp_path / "bag")
    assert len(read_with_rosbags(bag)[1]["/image_primary/image_raw"]) == episode.steps - 2
    same_episode(episode, ingest_bag(bag, spec, tolerance_s=0.05), extras=False)


ROBOT_SPEC = ObservationSpec.of(
    ModalitySpec("image_primary", Kind.IMAGE, (8, 8, 3), "uint8", 20.0),
    ModalitySpec("audio", Kind.AUDIO, (1600,), "float32", 40.0, sample_rate=16000),
    ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", 10.0, max_len=100),
    ModalitySpec("proprio", Kind.PROPRIO, (5,), "float32", 50.0),
)
ROBOT_TOPICS = {
    "/cam/color": "image_primary",
    "/mic/audio": "audio",
    "/joint_states": "proprio",
    "/cmd": "action",
    "/say": "instruction",
}
S = 10**9


def record_robot_bag(path):
    """Sensors at their own rates: a bgr8 16x12 camera at 20 Hz that drops out from 1.0 s to 1.6 s,
    400-sample S16LE microphone chunks, joint states at 50 Hz, commands at 5 Hz from 0.4 s to 2.4 s."""
    store = typestore()
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {}

        def write(topic, msg, t):
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msg.__msgtype__, typestore=store)
            writer.write(connections[topic], t, store.serialize_cdr(msg, msg.__msgtype__))

        write("/mic/audio_info", m.audio_info_msg(build, m.AudioFormat(16000, 1, "S16LE")), 0)
        write("/say", m.string_msg(build, "put the cup down"), 0)
        for t in range(0, 3 * S, S // 200):
            if t % (S // 20) == 0 and not S <= t < 1.6 * S:
                frame = np.full((12, 16, 3), (t // (S // 20), 0, 200), np.uint8)[..., ::-1]
                msg = m.image_msg(build, np.ascontiguousarray(frame), t, "cam")
                msg.encoding = "bgr8"
                write("/cam/color", msg, t)
            if t % (S // 40) == 0 and t > 0:  # the chunk of samples that ended at t
                first = (t - S // 40) * 16000 // S
                samples = (np.arange(first, first + 400) % 32768).astype("<i2")
                write(
                    "/mic/audio",
                    build(
                        m.AUDIO,
                        header=m.header(build, t, "mic"),
                        audio=build(m.AUDIO_DATA, data=samples.view(np.uint8)),
                    ),
                    t,
                )
            if t % (S // 50) == 0:
                write(
                    "/joint_states",
                    m.joint_state_msg(build, np.arange(1, 6) * t / S, list("abcde"), t, ""),
                    t,
                )
            if t % (S // 5) == 0 and 0.4 * S <= t <= 2.4 * S:
                write("/cmd", m.float_array_msg(build, np.full(7, t / S), "action"), t)
    return path


def test_robot_bag_is_resampled_onto_the_policy_clock(tmp_path):
    episode = ingest_bag(record_robot_bag(tmp_path / "robot"), ROBOT_SPEC, ROBOT_TOPICS, tolerance_s=0.1)
    t = np.round(np.arange(0.4, 2.41, 0.2), 6)
    assert episode.steps == len(t) == 11
    np.testing.assert_allclose(episode.stamps, t, atol=1e-9)
    np.testing.assert_allclose(episode.actions[:, 0], t, rtol=1e-6)

    # camera: newest frame at or before each step, invalid while it was silent for > 0.1 s
    np.testing.assert_array_equal(episode.valid["image_primary"], ~((t > 1.05) & (t < 1.6)))
    frame_index = np.floor(t * 20 + 1e-6)
    valid = episode.valid["image_primary"]
    assert episode.observations["image_primary"].shape == (11, 8, 8, 3)
    pixels = episode.observations["image_primary"][valid, 3, 3].astype(int)  # resized by area: +-1
    np.testing.assert_allclose(pixels[:, 0], frame_index[valid], atol=1)
    np.testing.assert_allclose(pixels[:, 2], 200, atol=1)

    # audio: the last 1600 samples heard by each step, int16 scaled to [-1, 1)
    assert episode.valid["audio"].all()
    last_sample = np.round(t * 16000).astype(int) - 1
    windows = episode.observations["audio"]
    np.testing.assert_allclose(windows[:, -1], last_sample % 32768 / 32768, atol=1e-7)
    np.testing.assert_allclose(windows[:, 0], (last_sample - 1599) % 32768 / 32768, atol=1e-7)

    np.testing.assert_allclose(episode.observations["proprio"], t[:, None] * np.arange(1, 6), rtol=1e-6)
    assert not episode.valid["lidar"].any() and not episode.observations["lidar_count"].any()
    assert episode.instruction == "put the cup down"
    assert episode.success.tolist() == [False] * 10 + [True]


def test_bad_mappings_and_types_name_the_topic(tmp_path):
    bag = record_robot_bag(tmp_path / "robot")
    with pytest.raises(BagError, match=r"unknown modalities \['camera'\]"):
        ingest_bag(bag, ROBOT_SPEC, {"/cam/color": "camera"})
    with pytest.raises(BagError, match=r"/joint_states \(audio\) carries sensor_msgs/msg/JointState"):
        ingest_bag(bag, ROBOT_SPEC, {**ROBOT_TOPICS, "/joint_states": "audio"})
    with pytest.raises(BagError, match="action topic"):
        ingest_bag(bag, ROBOT_SPEC, default_topics(ROBOT_SPEC))


def record(task, steps, seed=2):
    from fuse_ros.data.record import record_episode
    from fuse_ros.envs import make, make_expert

    env = make(task)
    try:
        return env.unwrapped.observation_spec, record_episode(env, make_expert(env), seed, max_steps=steps)
    finally:
        env.close()


def test_simulator_episode_as_a_bag(tmp_path, same_episode):
    spec, episode = record("grasp", 10)
    bag = export_bag(episode, spec, tmp_path / "grasp")
    types, messages = read_with_rosbags(bag)
    expected = {m.default_topic(s): m.MESSAGE_TYPES[s.kind] for s in spec}
    assert types == expected | {
        "/audio/audio_info": m.AUDIO_INFO,
        "/fuse/action": m.FLOAT_ARRAY,
        "/fuse/instruction": m.STRING,
        "/fuse/episode": m.STRING,
    }
    for name in spec.names():
        assert len(messages[m.default_topic(spec[name])]) == episode.steps, name
    for k in range(episode.steps):
        image = messages["/image_primary/image_raw"][k]
        assert (image.encoding, image.step, image.header.frame_id) == (
            "rgb8",
            3 * image.width,
            "image_primary_optical_frame",
        )
        np.testing.assert_array_equal(m.image_from_msg(image), episode.observations["image_primary"][k])
        np.testing.assert_array_equal(
            m.image_from_msg(messages["/tactile_right/image_raw"][k]),
            episode.observations["tactile_right"][k],
        )
        np.testing.assert_array_equal(
            m.joint_state_from_msg(messages["/proprio/joint_states"][k]), episode.observations["proprio"][k]
        )
        np.testing.assert_array_equal(messages["/fuse/action"][k].data, episode.actions[k])
    assert messages["/fuse/instruction"][0].data == episode.instruction
    info = messages["/audio/audio_info"][0]
    assert (info.sample_rate, info.channels, info.sample_format) == (spec["audio"].sample_rate, 1, "F32LE")

    with open(bag / "grasp.mcap", "rb") as f:
        decoded = list(make_reader(f, decoder_factories=[DecoderFactory()]).iter_decoded_messages())
    assert {channel.topic: schema.name for schema, channel, _, _ in decoded} == types
    wrist = [msg for _, channel, _, msg in decoded if channel.topic == "/image_wrist/image_raw"]
    for k, msg in enumerate(wrist):
        np.testing.assert_array_equal(m.image_from_msg(msg), episode.observations["image_wrist"][k])

    same_episode(episode, ingest_bag(bag, spec), extras=False)


def test_driving_point_clouds_decode_to_the_same_points(tmp_path):
    spec, episode = record("driving", 3)
    lidar = spec.names(Kind.LIDAR)[0]
    bag = export_bag(episode, spec, tmp_path / "driving")
    clouds = read_with_rosbags(bag)[1][m.default_topic(spec[lidar])]
    with open(bag / "driving.mcap", "rb") as f:
        decoded = [
            msg
            for _, channel, _, msg in make_reader(
                f, decoder_factories=[DecoderFactory()]
            ).iter_decoded_messages()
            if channel.topic == m.default_topic(spec[lidar])
        ]
    for k in range(episode.steps):
        count = episode.observations[f"{lidar}_count"][k]
        points = episode.observations[lidar][k, :count]
        assert count > 100
        for cloud in (clouds[k], decoded[k]):
            assert [(f.name, f.offset, f.datatype) for f in cloud.fields] == [
                ("x", 0, 7),
                ("y", 4, 7),
                ("z", 8, 7),
                ("intensity", 12, 7),
            ]
            assert (cloud.point_step, cloud.row_step, cloud.width, cloud.height) == (16, 16 * count, count, 1)
            np.testing.assert_array_equal(m.cloud_from_msg(cloud), points)
