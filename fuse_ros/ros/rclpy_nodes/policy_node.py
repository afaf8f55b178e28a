"""The policy as an rclpy lifecycle node around `PolicyCore`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from fuse_ros.data import messages
from fuse_ros.ros.diagnostics import diagnostic_array_msg
from fuse_ros.ros.executables import Invocation
from fuse_ros.ros.params import PolicyNodeParams
from fuse_ros.ros.policy_core import OUTPUTS, PolicyCore, PolicyOutput, action_chunk_msg
from fuse_ros.ros.rclpy_nodes.common import (
    CLOCK,
    DIAGNOSTICS,
    NS,
    current,
    declare,
    import_message,
    message_builder,
    qos_profiles,
    require,
    sensor_qos,
    wall_timer,
)

# The class derives from rclpy's, so it is made on first use, after rclpy is imported.


@cache
def policy_node_class() -> type:
    lifecycle = require("rclpy.lifecycle")
    parameter = require("rclpy.parameter")
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
            self.timer = wall_timer(self, self._on_timer)
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
            sensor_data, latched, reliable = qos_profiles()
            p, core = self.params, self.core
            for spec in core.spec:
                topic = p.sensor_topic(spec)
                on_sensor = partial(self._on_sensor, spec.name)
                qos = sensor_qos(core.queue_depth(spec.name))
                self._subscribe(messages.MESSAGE_TYPES[spec.kind], topic, on_sensor, qos)
                if spec.name in core.audio:
                    on_info = partial(core.on_audio_info, spec.name)
                    self._subscribe(messages.AUDIO_INFO, f"{topic}_info", on_info, latched)
            self._subscribe(messages.STRING, p.instruction_topic, self._on_instruction, latched)
            if p.use_sim_time:
                self._subscribe(CLOCK, p.clock_topic, self._on_clock, sensor_data)
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
