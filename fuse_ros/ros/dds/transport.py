"""A minimal ROS 2-compatible publish/subscribe over Cyclone DDS, for machines without ROS 2.

Topics are `rt/<name>` as ROS 2 maps them, types come from `fuse_ros.ros.dds.msgs`, so `ros2 topic echo`
on a ROS 2 machine in the same domain sees what is published here. Callbacks run in the caller's thread
inside `spin_once`, like an rclpy executor, never on DDS's receive threads.

QoS: sensor streams are best effort, keep last 5 (rclpy's qos_profile_sensor_data); everything else is
reliable, keep last 10 (rclpy's default). Subscriptions default to best effort because a best-effort reader
connects to both kinds of writer, while a reliable reader never connects to a best-effort one.
Confine DDS to this machine with CYCLONEDDS_URI (launch/cyclonedds_loopback.xml) before importing this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

SENSOR_QOS = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(5), Policy.Durability.Volatile)
RELIABLE_QOS = Qos(
    Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
    Policy.History.KeepLast(10),
    Policy.Durability.Volatile,
)


def dds_topic(name: str) -> str:
    """'/camera/image_raw' -> 'rt/camera/image_raw': the DDS topic ROS 2 uses for a ROS topic."""
    return "rt/" + name.lstrip("/")


class Subscription:
    """One topic's reader; `take()` returns what has arrived since the last take, oldest first."""

    def __init__(self, reader: DataReader, message_type: type[IdlStruct], callback: Callable | None):
        self.reader = reader
        self.message_type = message_type
        self.callback = callback
        self.condition = ReadCondition(reader, SampleState.NotRead | ViewState.Any | InstanceState.Any)

    def take(self, max_messages: int = 64) -> list[Any]:
        samples = self.reader.take(N=max_messages)
        return [s for s in samples if isinstance(s, self.message_type)]  # drop writer-gone notices

    def matched(self) -> int:
        """How many writers this reader is connected to."""
        return len(self.reader.get_matched_publications())


class Transport:
    """A DDS participant with ROS 2 naming: publish by topic name, subscribe with a callback or take."""

    def __init__(self, domain_id: int = 0):
        self.participant = DomainParticipant(domain_id)
        self._topics: dict[str, Topic] = {}
        self._writers: dict[str, DataWriter] = {}
        self._subscriptions: list[Subscription] = []
        self._waitset = WaitSet(self.participant)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _topic(self, name: str, message_type: type[IdlStruct]) -> Topic:
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = Topic(self.participant, dds_topic(name), message_type)
        elif topic.data_type is not message_type:
            raise TypeError(f"topic {name} carries {topic.data_type.__name__}, not {message_type.__name__}")
        return topic

    def advertise(self, topic: str, message_type: type[IdlStruct], qos: Qos = RELIABLE_QOS) -> DataWriter:
        """Create the topic's writer now (so readers can match before the first message); once per topic."""
        if topic in self._writers:
            raise ValueError(f"topic {topic} is already advertised")
        writer = self._writers[topic] = DataWriter(self.participant, self._topic(topic, message_type), qos)
        return writer

    def publish(self, topic: str, message: IdlStruct) -> None:
        """Send a message; a topic not advertised yet gets a reliable writer."""
        writer = self._writers.get(topic) or self.advertise(topic, type(message))
        writer.write(message)

    def subscribers(self, topic: str) -> int:
        """How many readers the topic's writer is connected to (0 if not advertised): skip work at 0."""
        writer = self._writers.get(topic)
        return len(writer.get_matched_subscriptions()) if writer is not None else 0

    def subscribe(
        self,
        topic: str,
        message_type: type[IdlStruct],
        callback: Callable[[Any], None] | None = None,
        qos: Qos = SENSOR_QOS,
    ) -> Subscription:
        """Read a topic; `callback(message)` runs in `spin_once`, else call `take()` on the result."""
        reader = DataReader(self.participant, self._topic(topic, message_type), qos)
        subscription = Subscription(reader, message_type, callback)
        self._subscriptions.append(subscription)
        if callback is not None:
            self._waitset.attach(subscription.condition)
        return subscription

    def spin_once(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for data, run the callbacks of what arrived; returns how many."""
        if not self._waitset.wait(duration(seconds=timeout)):
            return 0
        handled = 0
        for subscription in self._subscriptions:
            if subscription.callback is not None:
                for message in subscription.take():
                    subscription.callback(message)
                    handled += 1
        return handled

    def close(self) -> None:
        """Delete every DDS entity of this participant (children first); remote readers unmatch at once."""
        for subscription in self._subscriptions:
            self._waitset.detach(subscription.condition)
        self._subscriptions.clear()
        self._writers.clear()
        self._topics.clear()
        self._waitset = self.participant = None
