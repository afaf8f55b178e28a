"""Real DDS traffic on loopback between our transport and a participant whose ROS 2 types are written here,
independently of fuse_ros.ros.dds.msgs, the way any ROS 2 program's IDL declares them.

The independent participant runs in its own process (this file run as a script): it reads Image and
PointCloud2 with its own types and sends each message back on `<topic>_echo` with "/echo" added to the
frame id. So one exchange proves both directions: our writer -> their reader, their writer -> our reader.
CYCLONEDDS_URI (tests/conftest.py) keeps all of it on the loopback interface; every wait is bounded.
"""

import os
import random
import select
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import int32, sequence, uint8, uint32
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

# --- the independent ROS 2 participant -------------------------------------------------------------


@dataclass
class RosTime(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
class RosHeader(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: RosTime = field(default_factory=RosTime)
    frame_id: str = ""


@dataclass
class RosImage(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: RosHeader = field(default_factory=RosHeader)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


@dataclass
class RosPointField(IdlStruct, typename="sensor_msgs::msg::dds_::PointField_"):
    name: str = ""
    offset: uint32 = 0
    datatype: uint8 = 0
    count: uint32 = 0


@dataclass
class RosPointCloud2(IdlStruct, typename="sensor_msgs::msg::dds_::PointCloud2_"):
    header: RosHeader = field(default_factory=RosHeader)
    height: uint32 = 0
    width: uint32 = 0
    fields: sequence[RosPointField] = field(default_factory=list)
    is_bigendian: bool = False
    point_step: uint32 = 0
    row_step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)
    is_dense: bool = False


def echo_peer(domain: int, prefix: str, seconds: float) -> None:
    """Echo what arrives, but like ROS 2's rmw_cyclonedds (which sends no XTypes type information)
    accept a writer only if its type name equals ours; cyclonedds alone would match on structure."""
    participant = DomainParticipant(domain)
    best_effort = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(5))
    routes = []
    for name, message_type in (("image", RosImage), ("points", RosPointCloud2)):
        reader = DataReader(participant, Topic(participant, f"rt/{prefix}/{name}", message_type), best_effort)
        writer = DataWriter(
            participant, Topic(participant, f"rt/{prefix}/{name}_echo", message_type), best_effort
        )
        routes.append((reader, writer, message_type))
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for reader, writer, message_type in routes:
            for message in reader.take(N=10):
                if not isinstance(message, message_type):
                    continue
                sender = reader.get_matched_publication_data(message.sample_info.publication_handle)
                if sender.type_name != message_type.__idl__.idl_transformed_typename:
                    print(f"refused {sender.type_name}", flush=True)
                    continue
                message.header.frame_id += "/echo"
                writer.write(message)
        time.sleep(0.005)


if __name__ == "__main__":
    echo_peer(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
    sys.exit(0)

# --- the tests (our side); the peer process above never loads fuse_ros -----------------------------

import pytest  # noqa: E402

from fuse_ros.data import messages as m  # noqa: E402
from fuse_ros.ros.dds import msgs  # noqa: E402
from fuse_ros.ros.dds.transport import RELIABLE_QOS, SENSOR_QOS, Transport, dds_topic  # noqa: E402


def test_topic_names_follow_ros2():
    assert dds_topic("/wrist/image_raw") == "rt/wrist/image_raw" == dds_topic("wrist/image_raw")


def fresh_domain() -> int:
    """A domain of its own, so parallel test runs never hear each other."""
    return random.Random(os.getpid() ^ time.time_ns()).randint(1, 230)


def wait_until(condition, timeout: float, transport: Transport | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if transport is not None:
            transport.spin_once(0.02)
        else:
            time.sleep(0.02)
    return condition()


def test_image_and_cloud_cross_to_an_independent_ros2_participant_and_back():
    domain, prefix = fresh_domain(), f"fuse_test_{uuid.uuid4().hex[:8]}"
    image = np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    cloud = np.random.default_rng(2).normal(size=(100, 4)).astype(np.float32)
    peer = subprocess.Popen(
        [sys.executable, __file__, str(domain), prefix, "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([peer.stdout], [], [], 20)
        assert ready and peer.stdout.readline().strip() == "ready", "the peer did not start"
        echoes = {}
        with Transport(domain) as transport:
            transport.advertise(f"/{prefix}/image", msgs.Image, SENSOR_QOS)
            transport.advertise(f"/{prefix}/points", msgs.PointCloud2, SENSOR_QOS)
            subscriptions = {
                name: transport.subscribe(
                    f"/{prefix}/{name}_echo", message_type, partial(echoes.setdefault, name)
                )
                for name, message_type in (("image", msgs.Image), ("points", msgs.PointCloud2))
            }
            deadline = time.monotonic() + 15
            while len(echoes) < 2 and time.monotonic() < deadline:  # best effort: resend until echoed
                transport.publish(f"/{prefix}/image", m.image_msg(msgs.build, image, 123_000_000_456, "cam"))
                transport.publish(
                    f"/{prefix}/points", m.cloud_msg(msgs.build, cloud, 124_000_000_789, "lidar")
                )
                transport.spin_once(0.05)
            assert transport.subscribers(f"/{prefix}/image") == 1
            # the other direction of ROS 2's name rule: the writer we hear carries our type's name
            for topic, subscription in subscriptions.items():
                reader = subscription.reader
                names = {
                    reader.get_matched_publication_data(h).type_name
                    for h in reader.get_matched_publications()
                }
                assert names == {subscription.message_type.__idl__.idl_transformed_typename}, topic
    finally:
        peer.terminate()
        peer_output = peer.communicate(timeout=10)[0]
    assert set(echoes) == {"image", "points"}, f"echoed back: {sorted(echoes)}; peer said: {peer_output}"
    np.testing.assert_array_equal(m.image_from_msg(echoes["image"]), image)
    assert m.stamp_ns(echoes["image"]) == 123_000_000_456 and echoes["image"].header.frame_id == "cam/echo"
    np.testing.assert_array_equal(m.cloud_from_msg(echoes["points"]), cloud)
    assert (
        m.stamp_ns(echoes["points"]) == 124_000_000_789 and echoes["points"].header.frame_id == "lidar/echo"
    )


def test_reliable_topics_in_order_qos_matching_and_close():
    domain = fresh_domain()
    with Transport(domain) as sender, Transport(domain) as receiver:
        received = []
        receiver.subscribe("/instruction", msgs.String, lambda msg: received.append(msg.data), RELIABLE_QOS)
        sender.advertise("/instruction", msgs.String)  # reliable by default
        assert wait_until(lambda: sender.subscribers("/instruction") == 1, 10)
        for text in ("pick", "place", "press"):
            sender.publish("/instruction", msgs.String(text))
        assert wait_until(lambda: len(received) == 3, 10, receiver)
        assert received == ["pick", "place", "press"]

        # the sensor-QoS trap: a reliable reader never connects to a best-effort writer
        sender.advertise("/camera", msgs.Image, SENSOR_QOS)
        default = receiver.subscribe("/camera", msgs.Image)  # best effort by default
        reliable = receiver.subscribe("/camera", msgs.Image, qos=RELIABLE_QOS)
        assert wait_until(lambda: default.matched() == 1, 10)
        time.sleep(0.3)
        assert reliable.matched() == 0
        sender.publish("/camera", m.image_msg(msgs.build, np.zeros((2, 2, 3), np.uint8), 5, "cam"))
        assert wait_until(lambda: len(default.reader.read(N=1)) == 1, 5)
        assert len(default.take()) == 1 and default.take() == []

        with pytest.raises(TypeError, match="/instruction carries String, not Image"):
            receiver.subscribe("/instruction", msgs.Image)

        receiver.close()  # endpoints go away at once: the writer sees no reader any more
        assert wait_until(lambda: sender.subscribers("/instruction") == 0, 10)
