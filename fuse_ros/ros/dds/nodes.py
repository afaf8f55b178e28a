"""The policy node and the sim bridge over Cyclone DDS: thin shells over `PolicyCore` and `SimBridgeCore`
for machines without ROS 2, on the ROS 2 graph (same topics, types and QoS as the rclpy nodes).

DDS must be configured on purpose: both refuse to start while CYCLONEDDS_URI is unset, rather than
silently join whatever network DDS would pick (launch/cyclonedds_loopback.xml keeps traffic on this
machine). The domain is ROS_DOMAIN_ID, as in ROS 2. Callbacks run in the node's own loop (`spin_once`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from cyclonedds.qos import Policy, Qos

from fuse_ros.data import messages
from fuse_ros.paths import share_dir
from fuse_ros.ros.bridge_core import (
    INSTRUCTION_LEAD_S,
    NS,
    EpisodeResult,
    LoopLog,
    Sample,
    SimBridgeCore,
    sample_msg,
)
from fuse_ros.ros.dds.msgs import TYPES, build
from fuse_ros.ros.dds.transport import RELIABLE_QOS, SENSOR_QOS, Transport
from fuse_ros.ros.diagnostics import diagnostic_array_msg
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams
from fuse_ros.ros.policy_core import PolicyCore, PolicyOutput, action_chunk_from_msg, action_chunk_msg

log = logging.getLogger(__name__)

CLOCK = "rosgraph_msgs/msg/Clock"
DIAGNOSTICS = "diagnostic_msgs/msg/DiagnosticArray"
# the instruction and audio formats are latched topics: a node that starts late still gets the current one
LATCHED_QOS = Qos(
    Policy.Reliability.Reliable(0), Policy.History.KeepLast(1), Policy.Durability.TransientLocal
)
SPIN_S = 0.005  # longest wait for data before a shell looks at its clock again
# lockstep: the instruction is sent this long (wall) ahead of an episode's first samples; a policy node
# under load that has not encoded it by then would start the episode on the previous one's
CLOCK_REPEAT_S = 0.5  # lockstep: /clock is sent again this often while the bridge waits for an action


def dds_transport() -> Transport:
    """A Transport on ROS_DOMAIN_ID, once CYCLONEDDS_URI says where DDS may talk."""
    if not os.environ.get("CYCLONEDDS_URI"):
        loopback = share_dir() / "launch" / "cyclonedds_loopback.xml"
        raise OSError(
            "CYCLONEDDS_URI is not set: choose the network DDS may use, e.g. this machine only with "
            f"export CYCLONEDDS_URI=file://{loopback}"
        )
    return Transport(int(os.environ.get("ROS_DOMAIN_ID", "0")))


class SimClock:
    """The time on /clock; `jumped_back` is set when it goes backwards (the simulation restarted)."""

    def __init__(self) -> None:
        self.time: float | None = None
        self.jumped_back = False

    def on_clock(self, msg: Any) -> None:
        t = (msg.clock.sec * NS + msg.clock.nanosec) / NS
        if self.time is not None and t < self.time:
            self.jumped_back = True
        self.time = t


# --- policy node ----------------------------------------------------------------------------------


class PolicyNode:
    """Subscriptions and publishers of a configured `PolicyCore` on `dds`; `spin_once` runs callbacks,
    the policy step when due (with simulated time, after waiting up to max_wait_s for the data stamped
    at it) and /diagnostics when due."""

    def __init__(self, core: PolicyCore, dds: Transport):
        self.core, self.dds, p = core, dds, core.params
        self.clock = SimClock() if p.use_sim_time else None
        self.outputs = {
            "actions": p.action_topic,
            "embedding": p.embedding_topic,
            "description": p.description_topic,
        }
        for spec in core.spec:
            topic = p.sensor_topic(spec)
            qos = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(core.queue_depth(spec.name)))
            dds.subscribe(topic, TYPES[messages.MESSAGE_TYPES[spec.kind]], self._on_sensor(spec.name), qos)
            if spec.name in core.audio:
                on_info = partial(core.on_audio_info, spec.name)
                dds.subscribe(f"{topic}_info", TYPES[messages.AUDIO_INFO], on_info, LATCHED_QOS)
        on_instruction = lambda msg: core.on_instruction(msg.data)  # noqa: E731
        dds.subscribe(p.instruction_topic, TYPES[messages.STRING], on_instruction, LATCHED_QOS)
        if self.clock is not None:
            dds.subscribe(p.clock_topic, TYPES[CLOCK], self.clock.on_clock)
        dds.advertise(p.action_topic, TYPES[messages.FLOAT_ARRAY], RELIABLE_QOS)
        dds.advertise(p.embedding_topic, TYPES[messages.FLOAT_ARRAY], RELIABLE_QOS)
        dds.advertise(p.description_topic, TYPES[messages.STRING], RELIABLE_QOS)
        dds.advertise(p.diagnostics_topic, TYPES[DIAGNOSTICS], RELIABLE_QOS)

    def now(self) -> float | None:
        return time.time() if self.clock is None else self.clock.time

    def _on_sensor(self, name: str) -> Callable[[Any], None]:
        def on_message(msg: Any) -> None:
            now = self.now()
            self.core.on_message(name, msg, messages.stamp_ns(msg) / NS if now is None else now)

        return on_message

    def spin_once(self) -> None:
        self.dds.spin_once(SPIN_S)
        now = self.now()
        if now is None:
            return
        if self.clock is not None and self.clock.jumped_back:
            self.clock.jumped_back = False
            self.core.reset()
        if self.core.due(now) and not self.core.holds(now, sim_time=self.clock is not None):
            self.core.listeners = {
                name for name, topic in self.outputs.items() if self.dds.subscribers(topic)
            }
            output = self.core.tick(now)
            if output is not None:
                self._publish(output)
        statuses = self.core.report(now)
        if statuses is not None:
            self.dds.publish(
                self.core.params.diagnostics_topic, diagnostic_array_msg(build, statuses, round(now * NS))
            )

    def _publish(self, output: PolicyOutput) -> None:
        p = self.core.params
        self.dds.publish(p.action_topic, action_chunk_msg(build, output.chunk, round(output.stamp * NS)))
        if output.embedding is not None:
            self.dds.publish(
                p.embedding_topic, messages.float_array_msg(build, output.embedding, "embedding")
            )
        if output.description is not None:
            self.dds.publish(p.description_topic, messages.string_msg(build, output.description))


def run_policy_node(
    params: PolicyNodeParams, stop: threading.Event | None = None, node: str = "fuse_policy"
) -> None:
    """Configure, activate and serve until `stop` is set (or the process is interrupted)."""
    stop = stop or threading.Event()
    core = PolicyCore(params, node)
    core.configure()
    core.activate()
    with dds_transport() as dds:
        policy = PolicyNode(core, dds)
        log.info("%s: serving on DDS (%s)", node, "simulated time" if params.use_sim_time else "wall clock")
        while not stop.is_set():
            policy.spin_once()
    core.deactivate()
    core.cleanup()


# --- sim bridge -------------------------------------------------------------------------------------


class SimBridgeNode:
    """Publishes a `SimBridgeCore`'s samples and applies the actions it receives over `dds`.

    lockstep: the sim waits for the action answering its latest observation (stamped after the previous
    control step), then steps; `/clock` follows. Otherwise samples go out at their wall-clock stamps and
    each step applies the newest action. `publish_filter(sample)` False withholds a sample (fault
    injection: a dead sensor). Latency: from publishing the first sample stamped like an action's
    observation to receiving that action (wall clock, this process)."""

    def __init__(
        self, params: SimBridgeParams, dds: Transport, publish_filter: Callable[[Sample], bool] | None = None
    ):
        self.params, self.dds, self.filter = params, dds, publish_filter
        self.core = SimBridgeCore(params)
        self.topics = {s.name: params.sensor_topic(s) for s in self.core.spec}
        for spec in self.core.spec:
            dds.advertise(self.topics[spec.name], TYPES[messages.MESSAGE_TYPES[spec.kind]], SENSOR_QOS)
            if spec.name in self.core.audio_chunk:
                writer = dds.advertise(
                    f"{self.topics[spec.name]}_info", TYPES[messages.AUDIO_INFO], LATCHED_QOS
                )
                writer.write(messages.audio_info_msg(build, messages.AudioFormat(spec.sample_rate)))
        dds.advertise(params.instruction_topic, TYPES[messages.STRING], LATCHED_QOS)
        dds.advertise(params.clock_topic, TYPES[CLOCK], RELIABLE_QOS)
        self.actions = dds.subscribe(
            params.action_topic, TYPES[messages.FLOAT_ARRAY], self._on_action, RELIABLE_QOS
        )
        self.action: np.ndarray | None = None
        self.action_stamp = -(2**62)  # stamp of the observation `action` answers
        self.log = LoopLog()

    def _on_action(self, msg: Any) -> None:
        try:
            chunk, stamp = action_chunk_from_msg(msg)
        except ValueError as error:
            log.warning("dropped an action message: %s", error)
            return
        self.log.answered(stamp)
        self.action, self.action_stamp = chunk[0], stamp

    def wait_for_policy(self, timeout: float) -> None:
        """Until a policy node reads every topic published here and publishes actions (best-effort data
        sent before a reader matched is lost, and in lockstep a lost /clock would stall both)."""
        deadline = time.monotonic() + timeout
        topics = [*self.topics.values(), self.params.instruction_topic]
        if self.params.lockstep:
            topics.append(self.params.clock_topic)
        while not (all(self.dds.subscribers(t) for t in topics) and self.actions.matched()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no policy node on {self.params.action_topic} after {timeout:.0f} s")
            self.dds.spin_once(0.1)

    def _publish(self, samples: list[Sample]) -> None:
        for sample in samples:
            if not self.params.lockstep:
                while (wait := (sample.stamp_ns - time.time_ns()) / NS) > 0:
                    self.dds.spin_once(min(wait, SPIN_S))
            if self.filter is not None and not self.filter(sample):
                continue
            self.dds.publish(
                self.topics[sample.spec.name], sample_msg(build, sample, self.params.frame_id(sample.spec))
            )
            self.log.sent(sample.stamp_ns)
        if self.params.lockstep and not self.core.done:  # the step's data is out: time moves on
            self._publish_clock()

    def _publish_clock(self) -> None:
        t = self.core.time_ns
        clock = build("builtin_interfaces/msg/Time", sec=t // NS, nanosec=t % NS)
        self.dds.publish(self.params.clock_topic, build("rosgraph_msgs/msg/Clock", clock=clock))

    def _await_action(self) -> np.ndarray | None:
        """lockstep: the action computed from this step's samples, or None after action_timeout_s.
        /clock is sent again now and then meanwhile: a best-effort reader may have lost it."""
        answered_after = self.core.time_ns - self.core.period_ns
        deadline = time.monotonic() + self.params.action_timeout_s
        repeat = time.monotonic() + CLOCK_REPEAT_S
        while self.action_stamp <= answered_after:
            if time.monotonic() > deadline:
                return None
            if time.monotonic() > repeat:
                self._publish_clock()
                repeat += CLOCK_REPEAT_S
            self.dds.spin_once(SPIN_S)
        return self.action

    def _spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.dds.spin_once(min(left, SPIN_S))

    def run_episode(self, stop: threading.Event) -> EpisodeResult | None:
        """One episode; None if `stop` ended it early."""
        instruction, samples = self.core.reset(None if self.params.lockstep else time.time_ns())
        self.dds.publish(self.params.instruction_topic, messages.string_msg(build, instruction))
        if self.params.lockstep:
            self._spin_for(INSTRUCTION_LEAD_S)  # the instruction goes ahead of the data it applies to
        self._publish(samples)
        hold = np.zeros(self.core.env.action_space.shape, np.float32)
        while not self.core.done:
            if stop.is_set():
                return None
            action = self._await_action() if self.params.lockstep else self.action
            if action is None and self.params.lockstep:
                timeout = self.params.action_timeout_s
                log.error("episode %d: no action within %.1f s: ended as failed", self.core.episode, timeout)
                self.core.abort()
                break
            try:
                samples = self.core.step(hold if action is None else action)
            except ValueError as error:  # a malformed action: hold still this step
                log.warning("episode %d: %s; holding still", self.core.episode, error)
                samples = self.core.step(hold)
            self._publish(samples)
        return self.core.results[-1]

    def run(self, stop: threading.Event) -> None:
        """`params.episodes` episodes (0: until `stop`), printing one line per episode."""
        episodes = self.params.episodes
        while not stop.is_set() and (episodes == 0 or len(self.core.results) < episodes):
            self.log.start_episode()
            result = self.run_episode(stop)
            self.log.end_episode()
            if result is not None:
                print(self.log.progress(result), flush=True)

    def report(self) -> dict:
        return self.log.summary(self.params.task, self.core.results)


def run_sim_bridge(
    params: SimBridgeParams, stop: threading.Event | None = None, policy_timeout: float = 300.0
) -> dict:
    """Run `params.episodes` episodes (0: until `stop`), printing one line per episode; the summary
    (success, per-episode results, latency) is returned and written to `params.report` as JSON."""
    stop = stop or threading.Event()
    with dds_transport() as dds:
        bridge = SimBridgeNode(params, dds)
        try:
            bridge.wait_for_policy(policy_timeout)
            bridge.run(stop)
        finally:
            summary = bridge.report()
            if params.report:
                Path(params.report).write_text(json.dumps(summary, indent=2))
            bridge.core.close()
    return summary
