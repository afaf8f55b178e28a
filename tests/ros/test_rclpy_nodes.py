"""The rclpy shells without ROS 2: the module imports, running a node says what is missing, and the message
builder makes what rclpy's generated classes accept (checked against classes that enforce rclpy's setter
rules on field types taken from the .msg definitions in rosbags' typestore)."""

import array
import enum
import importlib.util
import json
import logging
import sys
import time
import types
from collections import defaultdict, deque
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from fuse_ros.data import messages as m
from fuse_ros.data.bag import typestore
from fuse_ros.ros import rclpy_nodes
from fuse_ros.ros.diagnostics import Level, Status, diagnostic_array_msg
from fuse_ros.ros.executables import parse
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams
from fuse_ros.ros.policy_core import action_chunk_from_msg, action_chunk_msg
from fuse_ros.ros.rclpy_nodes import common, policy_node, sim_bridge

LAUNCH = Path(__file__).resolve().parents[2] / "launch"
ROSIDL_NAMES = {"float32": "float", "float64": "double", "byte": "octet", "char": "uint8"}
INTEGERS = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}


def rosidl_type(node) -> str:
    """A rosbags field description as rclpy's get_fields_and_field_types() spells it."""
    kind, desc = node
    if kind.name == "BASE":
        return ROSIDL_NAMES.get(desc[0], desc[0])
    if kind.name == "NAME":
        return desc.replace("/msg/", "/")
    inner, size = desc
    return f"sequence<{rosidl_type(inner)}>" if kind.name == "SEQUENCE" else f"{rosidl_type(inner)}[{size}]"


def rclpy_like(msgtype: str) -> type:
    """A message class with rclpy's field types and the checks its setters make on them."""
    types = {name: rosidl_type(node) for name, node in typestore().fielddefs[msgtype][1]}

    class Message:
        @classmethod
        def get_fields_and_field_types(cls):
            return dict(types)

        def __init__(self, **values):
            for name, value in values.items():
                kind = types[name]
                element = kind.removeprefix("sequence<").removesuffix(">")
                if kind.startswith("sequence<") and element in common.TYPECODES:
                    assert isinstance(value, array.array) and value.typecode == common.TYPECODES[element]
                elif kind == "octet":
                    assert isinstance(value, bytes) and len(value) == 1
                elif kind in INTEGERS:
                    assert type(value) is int or type(value) is bool, (name, type(value))
                elif kind in ("float", "double"):
                    assert type(value) in (int, float), (name, type(value))
                setattr(self, name, value)

    return Message


def test_builder_makes_what_rclpy_accepts_and_the_decoders_read_back():
    build = common.message_builder(rclpy_like)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (4, 5, 3), dtype=np.uint8)
    stamp = np.int64(3 * 10**9 + 7)  # a numpy stamp must still become Python ints
    msg = m.image_msg(build, image, stamp, "cam_optical_frame")
    assert np.array_equal(m.image_from_msg(msg), image) and m.stamp_ns(msg) == stamp

    points = rng.normal(size=(6, 4)).astype(np.float32)
    assert np.array_equal(m.cloud_from_msg(m.cloud_msg(build, points, 0, "base_link")), points)
    joints = np.arange(7, dtype=np.float32)
    assert np.array_equal(
        m.joint_state_from_msg(m.joint_state_msg(build, joints, list("abcdefg"), 0, "")), joints
    )
    chunk = rng.normal(size=(3, 7)).astype(np.float32)
    decoded, decoded_stamp = action_chunk_from_msg(action_chunk_msg(build, chunk, 123))
    assert np.array_equal(decoded, chunk) and decoded_stamp == 123
    audio = rng.normal(size=160).astype(np.float32)
    assert np.array_equal(
        m.audio_from_msg(m.audio_msg(build, audio, 0, "audio_link"), m.AudioFormat(16000)), audio
    )

    status = Status(Level.ERROR, "fuse_policy: audio", "no data", "audio", {"valid": "false"})
    diagnostics = diagnostic_array_msg(build, [status], 5)
    assert (
        diagnostics.status[0].level == bytes([Level.ERROR]) and diagnostics.status[0].values[0].key == "valid"
    )


def test_module_imports_without_ros_and_says_what_is_missing():
    if importlib.util.find_spec("rclpy") is not None:
        pytest.skip("rclpy is installed")
    invocation = parse([], SimBridgeParams, "fuse_sim_bridge", "fuse_sim_bridge")
    with pytest.raises(common.RosUnavailable, match="rclpy is not installed: source a ROS 2 setup"):
        rclpy_nodes.run_sim_bridge(invocation, ["fuse_sim_bridge"])
    invocation = parse([], PolicyNodeParams, "fuse_policy", "fuse_policy_node")
    with pytest.raises(common.RosUnavailable, match="or use --transport dds"):
        rclpy_nodes.run_policy_node(invocation, ["fuse_policy_node"])
    with pytest.raises(common.RosUnavailable, match="audio_common_msgs is not installed"):
        common.import_message(m.AUDIO)


# --- the shells' logic on an emulated rclpy --------------------------------------------------------
# rclpy cannot be installed here, so these run the real shells and cores on a small in-process stand-in
# for rclpy (topics, timers, lifecycle transitions, /clock): they check the shells, not rclpy.


class Bus:
    """One process's topics: publishing queues a message; `spin_once` delivers the queue in order, then
    fires every timer, like a single-threaded executor."""

    def __init__(self):
        self.subscribers = defaultdict(list)
        self.publishers = defaultdict(int)
        self.queue = deque()
        self.timers = []
        self.sent = defaultdict(list)
        self.sim_ns = 0

    def spin_once(self):
        while self.queue:
            topic, msg = self.queue.popleft()
            if topic == "/clock":
                self.sim_ns = msg.clock.sec * 10**9 + msg.clock.nanosec
            for callback in list(self.subscribers[topic]):
                callback(msg)
        for timer in list(self.timers):
            timer()


class Publisher:
    def __init__(self, bus, topic, active=True):
        self.bus, self.topic, self.active = bus, topic, active
        bus.publishers[topic] += 1

    def publish(self, msg):
        if self.active:
            self.bus.queue.append((self.topic, msg))
            self.bus.sent[self.topic].append(msg)

    def get_subscription_count(self):
        return len(self.bus.subscribers[self.topic])


def emulated_rclpy(bus):
    """The modules the shells import, as module name -> module."""
    returns = enum.Enum("TransitionCallbackReturn", "SUCCESS FAILURE ERROR")

    class Node:
        def __init__(self, name, namespace=None, parameter_overrides=()):
            self.name = name
            self.parameters = {"use_sim_time": False} | {p.name: p.value for p in parameter_overrides}

        def declare_parameter(self, name, value, descriptor=None):
            assert descriptor.dynamic_typing
            self.parameters.setdefault(name, value)

        def get_parameter(self, name):
            return types.SimpleNamespace(value=self.parameters[name])

        def get_name(self):
            return self.name

        def get_logger(self):
            return logging.getLogger(self.name)

        def get_clock(self):
            ns = bus.sim_ns if self.parameters["use_sim_time"] else time.time_ns()
            return types.SimpleNamespace(now=lambda: types.SimpleNamespace(nanoseconds=ns))

        def create_subscription(self, cls, topic, callback, qos):
            bus.subscribers[topic].append(callback)
            return topic, callback

        def destroy_subscription(self, subscription):
            topic, callback = subscription
            bus.subscribers[topic].remove(callback)

        def create_publisher(self, cls, topic, qos):
            return Publisher(bus, topic)

        def count_subscribers(self, topic):
            return len(bus.subscribers[topic])

        def count_publishers(self, topic):
            return bus.publishers[topic]

        def create_timer(self, period, callback, clock=None):
            bus.timers.append(callback)
            return callback

        def destroy_timer(self, timer):
            bus.timers.remove(timer)

        def destroy_node(self):
            pass

    class LifecycleNode(Node):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.managed = []

        def create_lifecycle_publisher(self, cls, topic, qos):
            self.managed.append(Publisher(bus, topic, active=False))
            return self.managed[-1]

        def destroy_lifecycle_publisher(self, publisher):
            self.managed.remove(publisher)
            bus.publishers[publisher.topic] -= 1

        def on_activate(self, state):
            for publisher in self.managed:
                publisher.active = True
            return returns.SUCCESS

        def on_deactivate(self, state):
            for publisher in self.managed:
                publisher.active = False
            return returns.SUCCESS

        def trigger_configure(self):
            return self.on_configure(None)

        def trigger_activate(self):
            return self.on_activate(None)

        def trigger_deactivate(self):
            return self.on_deactivate(None)

        def trigger_cleanup(self):
            return self.on_cleanup(None)

    class Future:
        def __init__(self):
            self.result = None

        def set_result(self, result):
            self.result = result

        def done(self):
            return self.result is not None

    def module(name, **attributes):
        made = types.ModuleType(name)
        made.__dict__.update(attributes)
        return made

    qos = module(
        "rclpy.qos",
        QoSProfile=lambda **kwargs: kwargs,
        ReliabilityPolicy=types.SimpleNamespace(RELIABLE="reliable", BEST_EFFORT="best_effort"),
        DurabilityPolicy=types.SimpleNamespace(TRANSIENT_LOCAL="transient_local", VOLATILE="volatile"),
        qos_profile_sensor_data={"reliability": "best_effort", "depth": 5},
    )
    modules = {
        "rclpy": module("rclpy"),
        "rclpy.lifecycle": module("rclpy.lifecycle", Node=LifecycleNode, TransitionCallbackReturn=returns),
        "rclpy.node": module("rclpy.node", Node=Node),
        "rclpy.qos": qos,
        "rclpy.clock": module("rclpy.clock", Clock=dict, ClockType=types.SimpleNamespace(STEADY_TIME=1)),
        "rclpy.parameter": module(
            "rclpy.parameter", Parameter=lambda name, value: types.SimpleNamespace(name=name, value=value)
        ),
        "rclpy.task": module("rclpy.task", Future=Future),
        "rcl_interfaces.msg": module("rcl_interfaces.msg", ParameterDescriptor=types.SimpleNamespace),
    }
    for package in (
        "builtin_interfaces",
        "std_msgs",
        "sensor_msgs",
        "audio_common_msgs",
        "diagnostic_msgs",
        "rosgraph_msgs",
    ):
        messages_module = module(f"{package}.msg")
        messages_module.__getattr__ = partial(message_class, package)
        modules[f"{package}.msg"] = messages_module
    return modules


def message_class(package, name):
    if name.startswith("__"):
        raise AttributeError(name)
    return rclpy_like(f"{package}/msg/{name}")


@pytest.fixture
def bus(monkeypatch):
    bus = Bus()
    for name, module in emulated_rclpy(bus).items():
        monkeypatch.setitem(sys.modules, name, module)
    yield bus
    policy_node.policy_node_class.cache_clear()
    sim_bridge.sim_bridge_class.cache_clear()


def test_lifecycle_policy_node_and_sim_bridge_close_the_loop(bus, tmp_path):
    params_file = str(LAUNCH / "manipulation.yaml")
    policy_args = ["--params-file", params_file, "use_sim_time:=true", "backend:=torch", "threads:=1"]
    policy = policy_node.policy_node_class()(parse(policy_args, PolicyNodeParams, "fuse_policy", "p"))
    assert bus.subscribers == {}, "nothing is connected before configure"
    ok = sys.modules["rclpy.lifecycle"].TransitionCallbackReturn.SUCCESS
    assert policy.trigger_configure() == ok and policy.trigger_activate() == ok
    assert len(bus.subscribers["/image_primary/image_raw"]) == 1 and bus.subscribers["/audio/audio_info"]
    bridge_args = ["--params-file", params_file, "episodes:=1", f"report:={tmp_path / 'bridge.json'}"]
    bridge = sim_bridge.sim_bridge_class()(parse(bridge_args, SimBridgeParams, "fuse_sim_bridge", "b"))
    diagnostics = []
    bus.subscribers["/diagnostics"].append(diagnostics.append)

    deadline = time.monotonic() + 60
    while len(bus.sent["/fuse/action"]) < 8 and time.monotonic() < deadline:
        bus.spin_once()
        time.sleep(0.001)
    actions = [action_chunk_from_msg(msg) for msg in bus.sent["/fuse/action"]]
    assert len(actions) >= 8, "the loop stalled"
    period = bridge.core.period_ns
    # lockstep: each action answers the samples of one control step, and the simulator stepped on it
    assert [stamp for _, stamp in actions] == [k * period for k in range(len(actions))]
    assert all(np.isfinite(chunk).all() and chunk.shape[1] == 7 for chunk, _ in actions)
    assert bridge.core.steps >= len(actions) - 1
    assert bus.sent["/fuse/instruction"] and not bus.sent["/fuse/embedding"], "no listener, no embedding"
    levels = {s.name.split(": ")[1]: s.level for s in diagnostics[-1].status}
    assert set(levels) == {*policy.core.spec.names(), "policy"}
    assert all(level == bytes([Level.OK]) for name, level in levels.items() if name != "policy"), levels

    assert policy.trigger_deactivate() == ok
    sent = len(bus.sent["/fuse/action"])
    for _ in range(20):
        bus.spin_once()
    assert len(bus.sent["/fuse/action"]) == sent, "a deactivated node publishes nothing"
    assert policy.trigger_cleanup() == ok and policy.core is None
    assert not bus.subscribers["/image_primary/image_raw"]
    bridge.destroy_node()
    report = json.loads((tmp_path / "bridge.json").read_text())  # as the DDS bridge writes it
    assert report["task"] == "button" and report["latency_ms"]["samples"] >= len(actions)
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["max"]
