"""The policy node without ROS: what the rclpy lifecycle node and the DDS shell both call.

Messages in (`on_message`, any message with ROS 2 field names), an `Observation` built on time at the policy
rate (`tick`: missing or stale modalities flagged invalid and masked by the model), the action chunk, fused
embedding and generated description out, and the /diagnostics statuses (`report`). Times are seconds on the
node's clock (wall or simulated), passed in by the shell. A bad message is counted, logged and dropped.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fuse_ros.data import messages
from fuse_ros.observation import Kind, ObservationSpec
from fuse_ros.ros.chunking import Action, ChunkingConfig, Ticker
from fuse_ros.ros.diagnostics import Diagnostics, Status
from fuse_ros.ros.params import PolicyNodeParams
from fuse_ros.ros.sync import Synchronizer, Timing

log = logging.getLogger(__name__)

OUTPUTS = ("actions", "embedding", "description")  # what the node's model is exported with
EXPORT_FOLDER = "onnx_export"


def cached_export(checkpoint: Path) -> Path:
    """The checkpoint's ONNX export with all OUTPUTS, made once: `<checkpoint>/onnx_export` (under
    ~/.cache/fuse_ros when the checkpoint folder is read-only), made again when the weights changed."""
    from fuse_ros.export.manifest import ExportError, sha256
    from fuse_ros.export.onnx import export_onnx, load_exported
    from fuse_ros.policy.checkpoint import WEIGHTS_FILE

    weights = sha256(checkpoint / WEIGHTS_FILE)
    folder = checkpoint / EXPORT_FOLDER
    if not os.access(checkpoint, os.W_OK):
        folder = Path.home() / ".cache" / "fuse_ros" / f"{checkpoint.name}-{weights[:12]}"
    try:
        _, manifest = load_exported(folder)
        if manifest.sha256.get("weights") == weights and [t.name for t in manifest.outputs] == list(OUTPUTS):
            return folder
    except (ExportError, OSError, ValueError, KeyError):
        pass
    log.warning("exporting %s to ONNX once, into %s", checkpoint, folder)
    export_onnx(checkpoint, folder, outputs=OUTPUTS)
    return folder


def node_spec(spec: ObservationSpec, params: PolicyNodeParams) -> ObservationSpec:
    """The checkpoint's modalities at the rates their messages really arrive (audio: chunks per second)."""
    return ObservationSpec.of(*(replace(s, rate_hz=params.sensor_rate_hz(s.kind)) for s in spec))


def action_chunk_msg(build: messages.Build, chunk: np.ndarray, stamp_ns: int) -> Any:
    """std_msgs/Float32MultiArray of a (k, A) chunk, row 0 to execute now. The array type has no header,
    so the stamp of the observation it answers rides in the first dimension's label: "chunk@<ns>"."""
    chunk = np.asarray(chunk, np.float32)
    k, a = chunk.shape
    dims = [
        build("std_msgs/msg/MultiArrayDimension", label=f"chunk@{stamp_ns}", size=k, stride=k * a),
        build("std_msgs/msg/MultiArrayDimension", label="action", size=a, stride=a),
    ]
    layout = build("std_msgs/msg/MultiArrayLayout", dim=dims, data_offset=0)
    return build(messages.FLOAT_ARRAY, layout=layout, data=chunk.reshape(-1))


def action_chunk_from_msg(msg: Any) -> tuple[np.ndarray, int]:
    """(chunk (k, A), stamp_ns) from `action_chunk_msg`'s message; ValueError if it is not one."""
    dims = msg.layout.dim
    name, _, stamp = dims[0].label.partition("@") if len(dims) == 2 else ("", "", "")
    if name != "chunk" or not stamp.isdigit():
        raise ValueError(f"not an action chunk: dimensions {[d.label for d in dims]}")
    data = messages.float_array_from_msg(msg)
    if len(data) != dims[0].size * dims[1].size:
        raise ValueError(f"action chunk of {len(data)} numbers, expected {dims[0].size} x {dims[1].size}")
    return data.reshape(dims[0].size, dims[1].size), int(stamp)


@dataclass(frozen=True)
class PolicyOutput:
    """One policy step. `chunk` (k, A): this step's action, then the newest prediction's later actions."""

    step: int
    stamp: float  # the observation's reference time (the sensors' clock)
    action: Action
    chunk: np.ndarray
    valid: dict[str, bool]
    embedding: np.ndarray | None  # (E,), when the model ran this step and someone listens
    description: str | None
    processing_s: float


class PolicyCore:
    """Lifecycle: configure (load, export once, build) -> activate (warm up) -> ticks -> deactivate ->
    cleanup. `listeners` names the outputs someone subscribes to; the shell keeps it current, and a step
    with nobody listening to anything is skipped."""

    def __init__(self, params: PolicyNodeParams, node: str = "fuse_policy"):
        self.params, self.node = params, node
        self.state = "unconfigured"
        self.listeners = set(OUTPUTS)
        self.instruction: str | None = params.instruction or None
        self.decode_errors: dict[str, tuple[int, str]] = {}
        self._waiting: tuple[float, float] | None = None  # (step time, since when: monotonic)

    # --- lifecycle ------------------------------------------------------------------------------
    def configure(self) -> None:
        import torch

        from fuse_ros.nn.language import LanguageEncoder
        from fuse_ros.policy import load_policy
        from fuse_ros.policy.checkpoint import spec_from_json
        from fuse_ros.runtime import load_runtime
        from fuse_ros.runtime.actor import RuntimeActor

        p = self.params
        checkpoint = p.checkpoint_dir()
        # torch runs the language encoder here (and the torch backend, which sets its own threads): on a
        # small shared machine one thread encodes an instruction in ~25 ms where two took ~500 ms
        torch.set_num_threads(1)
        if p.backend == "torch":
            runtime = load_runtime(p.backend, checkpoint, threads=p.threads or None, outputs=OUTPUTS)
        else:
            export = Path(p.export) if p.export else cached_export(checkpoint)
            options = {"threads": p.threads or None} if p.backend == "onnxruntime" else {}
            runtime = load_runtime(p.backend, checkpoint, export, **options)
        self.language = LanguageEncoder(int(runtime.manifest.policy["max_task_tokens"]))
        chunking = ChunkingConfig(p.chunking, execute_steps=p.execute_steps)
        self.actor = RuntimeActor(runtime, self.language.encode, chunking)
        self.generation = load_policy(checkpoint).generation  # class -> token id, for descriptions
        self.spec = node_spec(spec_from_json(runtime.manifest.observation), p)
        cameras = self.spec.names(Kind.IMAGE)
        self.reference = p.reference or (cameras[0] if cameras else None)
        self.timings = {s.name: Timing.default(s, p.staleness_periods, p.min_staleness_s) for s in self.spec}
        self.audio = {s.name: messages.AudioFormat(s.sample_rate) for s in self.spec if s.kind is Kind.AUDIO}
        self.reset()
        self.state = "inactive"
        log.info("%s: %s on %s, modalities %s", self.node, checkpoint, runtime.name, self.spec.names())

    def activate(self) -> None:
        """Warm up (first calls allocate), then start from a clean history."""
        self.actor.preprocessor.task("warm up the language encoder")
        self.actor.runtime.warm_up(self.actor.preprocessor.feeds(self.instruction or ""))
        self.reset()
        self.state = "active"

    def deactivate(self) -> None:
        self.state = "inactive"

    def cleanup(self) -> None:
        del self.actor, self.generation, self.language
        self.state = "unconfigured"

    def reset(self) -> None:
        """Forget buffered data, history and chunks (a new episode, or the sensors came back from an
        outage); the instruction stays."""
        self.sync = Synchronizer(self.spec, self.timings, self.reference)
        self.diagnostics = Diagnostics(self.node, self.params.rate_hz)
        self.actor.reset()
        self.ticker: Ticker | None = None
        self.newest: float | None = None
        self._prediction: tuple[int, np.ndarray] | None = None
        self._next_report: float | None = None

    # --- input ----------------------------------------------------------------------------------
    def queue_depth(self, name: str) -> int:
        """Messages a subscription must hold between two policy steps without losing any (10 ms audio
        chunks come ten to a 10 Hz step, and a joined waveform window must not miss one)."""
        return max(5, math.ceil(2 * self.spec[name].rate_hz / self.params.rate_hz))

    def on_instruction(self, text: str) -> None:
        """A new task; its text is encoded now, not in the first policy step after it."""
        self.actor.preprocessor.task(text)
        self.instruction = text

    def on_audio_info(self, name: str, msg: Any) -> None:
        try:
            audio = messages.AudioFormat.from_msg(msg)
            if audio.sample_rate != self.spec[name].sample_rate:
                raise messages.MessageError(
                    f"sample rate {audio.sample_rate} Hz, the model needs {self.spec[name].sample_rate}"
                )
            self.audio[name] = audio
        except ValueError as error:
            self._reject(name, error)

    def on_message(self, name: str, msg: Any, now: float) -> bool:
        """Convert and buffer one sensor message; False (counted, logged) when it does not fit."""
        kind = self.spec[name].kind
        try:
            if kind is Kind.AUDIO:
                data = messages.audio_from_msg(msg, self.audio[name])
            elif kind is Kind.LIDAR:
                data = messages.cloud_from_msg(msg)
            elif kind is Kind.PROPRIO:
                data = messages.joint_state_from_msg(msg)
            else:
                data = messages.image_from_msg(msg)
            stamp = messages.stamp_ns(msg) / 1e9  # as simulators divide their ns
        except (ValueError, TypeError, AttributeError) as error:
            self._reject(name, error)
            return False
        return self.on_sensor(name, data, stamp, now)

    def on_sensor(self, name: str, data: np.ndarray, stamp: float, now: float) -> bool:
        """Buffer one reading stamped `stamp` that arrived at `now`. Data newer than everything held by
        more than reset_after_s means the sensors were all silent that long: start over first."""
        if self.newest is not None and stamp > self.newest + self.params.reset_after_s:
            log.info("%s: no sensor data for %.2f s: starting over", self.node, stamp - self.newest)
            self.reset()
        if self.sync.add(name, data, stamp, now):
            self.newest = max(stamp, self.newest if self.newest is not None else stamp)
            return True
        state = next(s for s in self.sync.states(now) if s.name == name)
        if state.rejected % 100 == 1:  # the first, then every 100th: a broken sensor must not flood the log
            log.warning("%s: dropped %d %s message(s): %s", self.node, state.rejected, name, state.error)
        return False

    def _reject(self, name: str, error: Exception) -> None:
        count, _ = self.decode_errors.get(name, (0, ""))
        self.decode_errors[name] = (count + 1, str(error))
        if count % 100 == 0:
            log.warning("%s: dropped a %s message (%d so far): %s", self.node, name, count + 1, error)

    # --- policy steps -----------------------------------------------------------------------------
    def due(self, now: float) -> bool:
        """Whether a policy step is due at `now` (the first one is due at once)."""
        return self.ticker is None or self.ticker.due(now)

    def awaiting(self, now: float) -> list[str]:
        """Modalities with nothing stamped at or after `now` yet, leaving out dead ones unless all are (a
        simulation between episodes): what a simulated-time step may wait for, so that it sees the same
        data as an in-process evaluation. Dead means stale already at the previous step: a sensor whose
        newest data is one step old is merely late (one step is a 30 Hz camera's whole staleness bound)."""
        before = {s.name: s.reason != "stale" for s in self.sync.states(now - 1.0 / self.params.rate_hz)}
        states = self.sync.states(now)
        alive = [s for s in states if before[s.name]] or states
        return [s.name for s in alive if s.age is None or s.age > 1e-6]

    def holds(self, now: float, sim_time: bool) -> bool:
        """Under simulated time, whether the step due at `now` should wait (up to max_wait_s of wall time)
        for data stamped at it: both shells ask this before `tick`."""
        awaiting = self.awaiting(now) if sim_time else []
        if not awaiting:
            return False
        if self._waiting is None or self._waiting[0] != now:
            self._waiting = (now, time.monotonic())
        if time.monotonic() - self._waiting[1] < self.params.max_wait_s:
            return True
        log.warning("%s: step at %.3f s went ahead without %s", self.node, now, awaiting)
        return False

    def tick(self, now: float) -> PolicyOutput | None:
        """Run the policy step due at `now`, if any (None: not due, not active, no instruction yet, or
        nobody listening). The action is always finite (a fallback when the model fails)."""
        if self.state != "active" or self.instruction is None or not self.listeners:
            return None
        if self.ticker is None:
            self.ticker = Ticker(self.params.rate_hz, now)
        step = self.ticker.poll(now)
        if step is None:
            return None
        start = time.perf_counter()
        obs = self.sync.observe(now, self.instruction)
        readings = {name: r.data if r.valid else None for name, r in obs.readings.items()}
        readings.update({f"{s.name}_count": len(obs.readings[s.name].data) for s in self.spec if s.max_len})
        readings["instruction"] = self.instruction
        try:
            action, outputs = self.actor.act_step(readings, step)
        except Exception as error:  # a failing backend must not stop the robot: hold and report
            log.error("%s: policy step %d failed: %s", self.node, step, error)
            action, outputs = self.actor.executor.act(step), None
        embedding = description = None
        if outputs is not None:
            if np.isfinite(outputs["actions"][0]).all():
                self._prediction = (step, outputs["actions"][0].astype(np.float32))
            embedding = self._embedding(outputs)
            description = self._description(outputs)
        processing = time.perf_counter() - start
        self.diagnostics.record_step(obs, action, processing, now + processing)
        return PolicyOutput(
            step, obs.stamp, action, self._chunk(action), obs.valid_mask(), embedding, description, processing
        )

    def _chunk(self, action: Action) -> np.ndarray:
        if self._prediction is None or not action.valid:
            return action.value[None]
        predicted_at, chunk = self._prediction
        return np.vstack([action.value[None], chunk[action.step - predicted_at + 1 :]])

    def _embedding(self, outputs: dict[str, np.ndarray]) -> np.ndarray | None:
        if "embedding" not in self.listeners or "embedding" not in outputs:
            return None
        embedding = outputs["embedding"][0].astype(np.float32)
        return embedding if np.isfinite(embedding).all() else None

    def _description(self, outputs: dict[str, np.ndarray]) -> str | None:
        if "description" not in self.listeners or "description" not in outputs:
            return None
        import torch

        logits = outputs["description"]
        if not np.isfinite(logits).all():
            return None
        return self.language.decode(self.generation.predict(torch.from_numpy(logits)))[0]

    # --- diagnostics ------------------------------------------------------------------------------
    def report(self, now: float) -> list[Status] | None:
        """The /diagnostics statuses when one is due (diagnostics_hz), else None."""
        if self.state == "unconfigured" or (self._next_report is not None and now < self._next_report):
            return None
        self._next_report = now + 1.0 / self.params.diagnostics_hz
        states = self.sync.states(now)
        for i, state in enumerate(states):
            if state.name in self.decode_errors:
                count, error = self.decode_errors[state.name]
                states[i] = replace(state, rejected=state.rejected + count, error=state.error or error)
        return self.diagnostics.report(states)
