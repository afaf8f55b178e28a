"""The rclpy shells of the two nodes: ROS parameters, subscriptions, publishers and timers around the
ROS-free cores (`PolicyCore`, `SimBridgeCore`), which do all the work. Messages are converted by
fuse_ros.data.messages through `message_builder`, which makes rclpy message objects.

rclpy and the message packages are imported only when a node is made, so this module imports anywhere;
without them, `RosUnavailable` says what is missing (the DDS transport needs no ROS 2: --transport dds).
"""

from __future__ import annotations

import array
import importlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import fields
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from fuse_ros.data import messages
from fuse_ros.data.messages import Build
from fuse_ros.ros.diagnostics import diagnostic_array_msg
from fuse_ros.ros.executables import Invocation
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams
from fuse_ros.ros.policy_core import (
    OUTPUTS,
    PolicyCore,
    PolicyOutput,
    action_chunk_from_msg,
    action_chunk_msg,
)

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


def _require(module: str) -> Any:
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
    return getattr(_require(f"{package}.msg"), name)


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
    descriptor = _require("rcl_interfaces.msg").ParameterDescriptor
    for f in fields(params):
        if f.name != "use_sim_time":  # dynamic typing: rate_hz:=10 is fine for a float, as in the YAML
            node.declare_parameter(f.name, getattr(params, f.name), descriptor(dynamic_typing=True))


def current(node: Any, params_type: type) -> Any:
    """The params dataclass from the node's ROS parameters now (they may have been set since start)."""
    return params_type.from_mapping({f.name: node.get_parameter(f.name).value for f in fields(params_type)})


# --- the nodes ---------------------------------------------------------------------------------------
# Their classes derive from rclpy's, so they are made on first use, after rclpy is imported.

NS = 10**9
CLOCK = "rosgraph_msgs/msg/Clock"
DIAGNOSTICS = "diagnostic_msgs/msg/DiagnosticArray"
SPIN_S = 0.005  # wall-clock period at which both nodes look at their clock, as the DDS shells do
CLOCK_REPEAT_S = 0.5


def _qos() -> tuple[Any, Any, Any]:
    """(sensor, latched, reliable) profiles: best effort keep-last-5 for sensors; reliable transient
    local depth 1 for the instruction and AudioInfo (a late subscriber still gets the current one);
    reliable depth 10 for the rest, as the DDS transport uses."""
    qos = _require("rclpy.qos")
    latched = qos.QoSProfile(
        depth=1, reliability=qos.ReliabilityPolicy.RELIABLE, durability=qos.DurabilityPolicy.TRANSIENT_LOCAL
    )
    reliable = qos.QoSProfile(depth=10, reliability=qos.ReliabilityPolicy.RELIABLE)
    return qos.qos_profile_sensor_data, latched, reliable


def _sensor_qos(depth: int) -> Any:
    """qos_profile_sensor_data with room for `depth` messages: a subscription must hold what arrives
    between two policy steps (ten 10 ms audio chunks per 10 Hz step)."""
    qos = _require("rclpy.qos")
    best_effort, volatile = qos.ReliabilityPolicy.BEST_EFFORT, qos.DurabilityPolicy.VOLATILE
    return qos.QoSProfile(depth=depth, reliability=best_effort, durability=volatile)


def _wall_timer(node: Any, callback: Callable[[], None]) -> Any:
    """A timer on the steady clock: it keeps firing while simulated time stands still."""
    clock = _require("rclpy.clock")
    return node.create_timer(SPIN_S, callback, clock=clock.Clock(clock_type=clock.ClockType.STEADY_TIME))


@cache
def _policy_node_class() -> type:
    lifecycle = _require("rclpy.lifecycle")
    parameter = _require("rclpy.parameter")
    ok, failure = lifecycle.TransitionCallbackReturn.SUCCESS, lifecycle.TransitionCallbackReturn.FAILURE

    class PolicyNode(lifecycle.Node):
        """The policy as a ROS 2 lifecycle node: configure loads the checkpoint and builds the backend
        (exporting once if needed), activate warms it up and starts the steps, deactivate pauses them,
        cleanup frees everything. A step runs only while someone subscribes to one of its outputs."""

        def __init__(self, invocation: Invocation):
            use_sim_time = parameter.Parameter("use_sim_time", value=invocation.params.use_sim_time)
            super().__init__(
                invocation.node_name,
                namespace=invocation.namespace or None,
                parameter_overrides=[use_sim_time],
            )
            declare(self, invocation.params)
            self.build = message_builder()
            self.core: PolicyCore | None = None
            self.error: Exception | None = None  # why the last transition failed
            self.inputs: list[Any] = []
            self.outputs: dict[str, Any] = {}  # output name -> lifecycle publisher ("diagnostics" too)
            self.timer: Any = None
            self.sim_time: float | None = None  # the last /clock (use_sim_time), None before the first

        # lifecycle transitions; rclpy turns an exception into a silent ERROR, so they log it instead
        def on_configure(self, state: Any) -> Any:
            try:
                params = current(self, PolicyNodeParams)
                core = PolicyCore(params, self.get_name())
                core.configure()
            except Exception as error:
                return self._failed("configure", error)
            self.params, self.core = params, core
            self._connect()
            return ok

        def on_activate(self, state: Any) -> Any:
            try:
                self.core.activate()
            except Exception as error:
                return self._failed("activate", error)
            self.timer = _wall_timer(self, self._on_timer)
            return super().on_activate(state)  # enables the lifecycle publishers

        def on_deactivate(self, state: Any) -> Any:
            self._stop_timer()
            self.core.deactivate()
            return super().on_deactivate(state)

        def on_cleanup(self, state: Any) -> Any:
            self._disconnect()
            return ok

        def on_shutdown(self, state: Any) -> Any:
            self._stop_timer()
            self._disconnect()
            return ok

        def _failed(self, transition: str, error: Exception) -> Any:
            self.get_logger().error(f"{transition} failed: {error}")
            self.error = error
            return failure

        def _stop_timer(self) -> None:
            if self.timer is not None:
                self.destroy_timer(self.timer)
                self.timer = None

        def _connect(self) -> None:
            sensor_qos, latched, reliable = _qos()
            p, core = self.params, self.core
            for spec in core.spec:
                topic = p.sensor_topic(spec)
                on_sensor = partial(self._on_sensor, spec.name)
                qos = _sensor_qos(core.queue_depth(spec.name))
                self._subscribe(messages.MESSAGE_TYPES[spec.kind], topic, on_sensor, qos)
                if spec.name in core.audio:
                    on_info = partial(core.on_audio_info, spec.name)
                    self._subscribe(messages.AUDIO_INFO, f"{topic}_info", on_info, latched)
            self._subscribe(messages.STRING, p.instruction_topic, self._on_instruction, latched)
            if p.use_sim_time:
                self._subscribe(CLOCK, p.clock_topic, self._on_clock, sensor_qos)
            outputs = {
                "actions": (messages.FLOAT_ARRAY, p.action_topic),
                "embedding": (messages.FLOAT_ARRAY, p.embedding_topic),
                "description": (messages.STRING, p.description_topic),
                "diagnostics": (DIAGNOSTICS, p.diagnostics_topic),
            }
            for name, (msgtype, topic) in outputs.items():
                self.outputs[name] = self.create_lifecycle_publisher(import_message(msgtype), topic, reliable)

        def _subscribe(self, msgtype: str, topic: str, callback: Callable, qos: Any) -> None:
            self.inputs.append(self.create_subscription(import_message(msgtype), topic, callback, qos))

        def _disconnect(self) -> None:
            for subscription in self.inputs:
                self.destroy_subscription(subscription)
            for publisher in self.outputs.values():
                self.destroy_lifecycle_publisher(publisher)
            self.inputs, self.outputs, self.sim_time = [], {}, None
            if self.core is not None:
                self.core.cleanup()
                self.core = None

        # data and steps
        def _now(self) -> float | None:
            """Seconds on the sensors' clock: /clock under use_sim_time (None before the first one, as
            rclpy's 0 cannot tell "no clock yet" from a simulation starting at 0), else the system's."""
            if self.params.use_sim_time:
                return self.sim_time
            return self.get_clock().now().nanoseconds / NS

        def _on_clock(self, msg: Any) -> None:
            t = msg.clock.sec + msg.clock.nanosec / NS
            if self.sim_time is not None and t < self.sim_time:  # the simulation restarted
                self.core.reset()
            self.sim_time = t

        def _on_instruction(self, msg: Any) -> None:
            self.core.on_instruction(msg.data)

        def _on_sensor(self, name: str, msg: Any) -> None:
            now = self._now()
            self.core.on_message(name, msg, messages.stamp_ns(msg) / NS if now is None else now)

        def _on_timer(self) -> None:
            """What the DDS shell's loop does each turn: run the step when due (under simulated time,
            after waiting up to max_wait_s for data stamped at it), then /diagnostics when due."""
            t, core = self._now(), self.core
            if t is None:
                return
            if core.due(t):
                if core.holds(t, self.params.use_sim_time):
                    return
                core.listeners = {n for n in OUTPUTS if self.outputs[n].get_subscription_count()}
                output = core.tick(t)
                if output is not None:
                    self._publish(output)
            diagnostics = self.outputs["diagnostics"]
            if diagnostics.get_subscription_count() and (statuses := core.report(t)) is not None:
                diagnostics.publish(diagnostic_array_msg(self.build, statuses, round(t * NS)))

        def _publish(self, output: PolicyOutput) -> None:
            build = self.build
            stamp = round(output.stamp * NS)
            self.outputs["actions"].publish(action_chunk_msg(build, output.chunk, stamp))
            if output.embedding is not None:
                embedding = messages.float_array_msg(build, output.embedding, "embedding")
                self.outputs["embedding"].publish(embedding)
            if output.description is not None:
                self.outputs["description"].publish(messages.string_msg(build, output.description))

    return PolicyNode


@cache
def _sim_bridge_class() -> type:
    rclpy_node = _require("rclpy.node")
    rclpy_task = _require("rclpy.task")
    from fuse_ros.ros.bridge_core import INSTRUCTION_LEAD_S, LoopLog, Sample, SimBridgeCore, sample_msg

    class SimBridgeNode(rclpy_node.Node):
        """A simulator as a robot: publishes its sensors at their rates with sim stamps and frames, and
        applies the actions it receives. lockstep: each control step waits for the action answering the
        latest samples (then /clock moves on); otherwise samples go out at their wall-clock stamps and
        each step applies the newest action. `finished` completes after `episodes` episodes; the run's
        summary is written to `report` when the node is destroyed."""

        def __init__(self, invocation: Invocation):
            super().__init__(invocation.node_name, namespace=invocation.namespace or None)
            declare(self, invocation.params)
            self.params = p = current(self, SimBridgeParams)
            self.build = message_builder()
            self.core = SimBridgeCore(p)
            self.log, self.episode_start = LoopLog(), 0.0
            self.finished = rclpy_task.Future()
            sensor_qos, latched, reliable = _qos()
            self.sensors = {}
            self.topics = {spec.name: p.sensor_topic(spec) for spec in self.core.spec}
            for spec in self.core.spec:
                topic = self.topics[spec.name]
                msgtype = import_message(messages.MESSAGE_TYPES[spec.kind])
                self.sensors[spec.name] = self.create_publisher(msgtype, topic, sensor_qos)
                if spec.name in self.core.audio_chunk:
                    info = self.create_publisher(
                        import_message(messages.AUDIO_INFO), f"{topic}_info", latched
                    )
                    info.publish(messages.audio_info_msg(self.build, messages.AudioFormat(spec.sample_rate)))
            self.instruction_pub = self.create_publisher(
                import_message(messages.STRING), p.instruction_topic, latched
            )
            self.clock_pub = self.create_publisher(import_message(CLOCK), p.clock_topic, reliable)
            self.create_subscription(
                import_message(messages.FLOAT_ARRAY), p.action_topic, self._on_action, reliable
            )
            self.action: np.ndarray | None = None
            # samples to publish (real time: once the wall clock reaches their stamps)
            self.queue: deque[Sample] = deque()
            self.awaiting = False  # lockstep: the step's samples are out, its action is not in yet
            # monotonic times: give up on the action; publish the samples; send /clock again
            self.deadline = self.release_at = self.clock_again = 0.0
            self.started = False
            self.timer = _wall_timer(self, self._on_timer)

        def destroy_node(self) -> None:
            if self.params.report:
                summary = self.log.summary(self.params.task, self.core.results)
                Path(self.params.report).write_text(json.dumps(summary, indent=2))
            self.core.close()
            super().destroy_node()

        def _on_timer(self) -> None:
            p = self.params
            if not self.started:  # the first episode waits for a policy node listening to everything
                topics = [
                    *self.topics.values(),
                    p.instruction_topic,
                    *([p.clock_topic] if p.lockstep else []),
                ]
                if all(map(self.count_subscribers, topics)) and self.count_publishers(p.action_topic):
                    self.started = True
                    self._start_episode()
                return
            if time.monotonic() < self.release_at:
                return
            if not p.lockstep:
                self._flush()
                if not self.queue:
                    self._advance(self.action)
            elif self.queue:
                self._flush()
            elif self.awaiting and time.monotonic() > self.deadline:
                wait = f"no action within {p.action_timeout_s:.1f} s"
                self.get_logger().error(f"episode {self.core.episode}: {wait}: ended as failed")
                self.awaiting = False
                self.core.abort()
                self._end_episode()
            elif self.awaiting and time.monotonic() > self.clock_again:  # a best-effort reader may lose it
                self._publish_clock()

        def _on_action(self, msg: Any) -> None:
            try:
                chunk, stamp = action_chunk_from_msg(msg)
            except ValueError as error:
                self.get_logger().warning(f"dropped an action message: {error}")
                return
            self.action = chunk[0]
            self.log.answered(stamp)
            if self.params.lockstep and self.awaiting and stamp > self.core.time_ns - self.core.period_ns:
                self._advance(self.action)

        def _start_episode(self) -> None:
            instruction, samples = self.core.reset(None if self.params.lockstep else time.time_ns())
            self.instruction_pub.publish(messages.string_msg(self.build, instruction))
            self.queue.extend(samples)
            self.release_at = time.monotonic() + INSTRUCTION_LEAD_S  # ahead of the data it applies to
            self.log.published.clear()
            self.episode_start = self.release_at

        def _advance(self, action: np.ndarray | None) -> None:
            """One control step with `action` (none yet, or malformed: hold still)."""
            self.awaiting = False
            still = np.zeros(self.core.env.action_space.shape, np.float32)
            try:
                samples = self.core.step(still if action is None else action)
            except ValueError as error:
                self.get_logger().warning(f"episode {self.core.episode}: {error}; holding still")
                samples = self.core.step(still)
            if self.core.done:
                self._end_episode()
                return
            self.queue.extend(samples)
            if self.params.lockstep:
                self._flush()

        def _flush(self) -> None:
            """Publish the queued samples that are due (lockstep: all of them, then /clock)."""
            now = time.time_ns()
            while self.queue and (self.params.lockstep or self.queue[0].stamp_ns <= now):
                sample = self.queue.popleft()
                self.sensors[sample.spec.name].publish(
                    sample_msg(self.build, sample, self.params.frame_id(sample.spec))
                )
                self.log.sent(sample.stamp_ns)
            if self.params.lockstep:  # the step's data is out: time moves on, the action is awaited
                self._publish_clock()
                self.awaiting, self.deadline = True, time.monotonic() + self.params.action_timeout_s

        def _publish_clock(self) -> None:
            t = self.core.time_ns
            stamp = self.build("builtin_interfaces/msg/Time", sec=t // NS, nanosec=t % NS)
            self.clock_pub.publish(self.build(CLOCK, clock=stamp))
            self.clock_again = time.monotonic() + CLOCK_REPEAT_S

        def _end_episode(self) -> None:
            results = self.core.results
            self.log.running_s += time.monotonic() - self.episode_start
            self.get_logger().info(self.log.progress(results[-1]))
            if self.params.episodes and len(results) >= self.params.episodes:
                self.destroy_timer(self.timer)
                self.finished.set_result(results)
            else:
                self._start_episode()

    return SimBridgeNode


# --- entry points (fuse_ros.ros.executables) ------------------------------------------------------


def _spin(node_class: type, invocation: Invocation, argv: list[str], start: Callable[[Any], None]) -> None:
    """rclpy.init with the command line (rclpy reads --ros-args itself), make the node, `start` it, spin
    until it is finished (if it can be) or interrupted."""
    rclpy = _require("rclpy")
    executors = _require("rclpy.executors")
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
    node_class = _policy_node_class()
    ok = _require("rclpy.lifecycle").TransitionCallbackReturn.SUCCESS

    def start(node: Any) -> None:
        if invocation.managed:
            return
        if node.trigger_configure() != ok or node.trigger_activate() != ok:
            raise node.error or RuntimeError(f"{invocation.node_name}: a lifecycle transition failed")

    _spin(node_class, invocation, argv, start)


def run_sim_bridge(invocation: Invocation, argv: list[str]) -> None:
    """The sim bridge node, until `episodes` episodes are done (0: until interrupted)."""
    _spin(_sim_bridge_class(), invocation, argv, lambda node: None)
