"""A gymnasium simulator as a robot: the rclpy sim bridge node around `SimBridgeCore`."""

from __future__ import annotations

import json
import time
from collections import deque
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from fuse_ros.data import messages
from fuse_ros.ros.executables import Invocation
from fuse_ros.ros.params import SimBridgeParams
from fuse_ros.ros.policy_core import action_chunk_from_msg
from fuse_ros.ros.rclpy_nodes.common import (
    CLOCK,
    CLOCK_REPEAT_S,
    NS,
    current,
    declare,
    import_message,
    message_builder,
    qos_profiles,
    require,
    wall_timer,
)

# The class derives from rclpy's, so it is made on first use, after rclpy is imported.


@cache
def sim_bridge_class() -> type:
    rclpy_node = require("rclpy.node")
    rclpy_task = require("rclpy.task")
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
            self.log = LoopLog()
            self.finished = rclpy_task.Future()
            sensor_data, latched, reliable = qos_profiles()
            self.sensors = {}
            self.topics = {spec.name: p.sensor_topic(spec) for spec in self.core.spec}
            for spec in self.core.spec:
                topic = self.topics[spec.name]
                msgtype = import_message(messages.MESSAGE_TYPES[spec.kind])
                self.sensors[spec.name] = self.create_publisher(msgtype, topic, sensor_data)
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
            self.timer = wall_timer(self, self._on_timer)

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
            self.log.start_episode(at=self.release_at)

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
            self.log.end_episode()
            self.get_logger().info(self.log.progress(results[-1]))
            if self.params.episodes and len(results) >= self.params.episodes:
                self.destroy_timer(self.timer)
                self.finished.set_result(results)
            else:
                self._start_episode()

    return SimBridgeNode
