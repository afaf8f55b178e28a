"""Diagnostics levels and figures, from real synchronizer states and executor actions."""

import numpy as np
import pytest

from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec
from fuse_ros.ros.chunking import ChunkExecutor
from fuse_ros.ros.dds.msgs import DiagnosticArray, build
from fuse_ros.ros.diagnostics import Diagnostics, Level, diagnostic_array_msg
from fuse_ros.ros.sync import Synchronizer

CAMERA = ModalitySpec("camera", Kind.IMAGE, (2, 2, 3), "uint8", rate_hz=30)
LIDAR = ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", rate_hz=10, max_len=4)
SPEC = ObservationSpec.of(CAMERA, LIDAR)


def feed(sync: Synchronizer, name: str, rate: float, start: float, stop: float) -> None:
    data = np.zeros((2, 2, 3), np.uint8) if name == "camera" else np.zeros((1, 4), np.float32)
    for t in np.arange(start, stop, 1 / rate):
        sync.add(name, data, stamp=t, now=t + 0.002)


def levels(diagnostics: Diagnostics, sync: Synchronizer, now: float) -> dict[str, Level]:
    return {s.name: s.level for s in diagnostics.report(sync.states(now))}


def test_healthy_slow_and_dead_sensors_grade_ok_warn_error():
    sync = Synchronizer(SPEC)
    diagnostics = Diagnostics("policy_node", policy_rate_hz=10)
    feed(sync, "camera", 30, 0.0, 2.0)
    feed(sync, "lidar", 10, 0.0, 2.0)
    assert levels(diagnostics, sync, 2.0) == {
        "policy_node: camera": Level.OK,
        "policy_node: lidar": Level.OK,
        "policy_node: policy": Level.OK,
    }
    feed(sync, "lidar", 4, 2.0, 4.0)  # alive (age < 300 ms) but at 4 Hz of 10
    feed(sync, "camera", 30, 2.0, 3.5)  # dies at 3.5 s
    report = {s.name: s for s in diagnostics.report(sync.states(4.0))}
    assert report["policy_node: lidar"].level is Level.WARN
    assert "expected 10.0 Hz" in report["policy_node: lidar"].message
    camera = report["policy_node: camera"]
    assert camera.level is Level.ERROR and camera.hardware_id == "camera"
    assert "bound 0.100 s" in camera.message and camera.values["valid"] == "false"
    assert camera.values["reason"] == "stale" and float(camera.values["age_s"]) > 0.4


def test_dropout_is_an_error_within_the_staleness_bound():
    sync = Synchronizer(SPEC)
    diagnostics = Diagnostics("n", policy_rate_hz=10)
    feed(sync, "camera", 30, 0.0, 1.0)
    feed(sync, "lidar", 10, 0.0, 2.0)
    last = max(t for t in np.arange(0.0, 1.0, 1 / 30))
    first_error = next(
        t for t in np.arange(1.0, 2.0, 0.005) if levels(diagnostics, sync, t)["n: camera"] == 2
    )
    assert first_error - last <= 0.1 + 0.005


def test_rejected_messages_explain_the_error():
    sync = Synchronizer(SPEC)
    sync.add("camera", np.zeros((3, 3, 3), np.uint8), stamp=0.0, now=0.0)
    status = Diagnostics("n", 10).report(sync.states(0.01))[0]
    assert status.level is Level.ERROR and "no data; last message rejected" in status.message
    assert "expected shape (2, 2, 3)" in status.message and status.values["rejected"] == "1"


def test_policy_status_tracks_fallbacks_overruns_and_latency():
    sync = Synchronizer(SPEC)
    feed(sync, "camera", 30, 0.0, 1.0)
    feed(sync, "lidar", 10, 0.0, 1.0)
    diagnostics = Diagnostics("n", policy_rate_hz=10)
    executor = ChunkExecutor(action_dim=2, chunk_size=4)
    obs = sync.observe(now=1.0)
    newest = max(r.stamp for r in obs.readings.values())
    executor.add(np.ones((4, 2), np.float32), step=0)
    diagnostics.record_step(obs, executor.act(0), processing_s=0.02, published_at=1.03)
    status = diagnostics.policy_status()
    assert status.level is Level.OK
    assert float(status.values["sensor_to_action_p50_ms"]) == pytest.approx((1.03 - newest) * 1e3, abs=0.01)
    assert status.values["processing_time_p50_ms"] == "20.00"
    executor.add(np.full((4, 2), np.nan, np.float32), step=1)
    diagnostics.record_step(obs, executor.act(1), processing_s=0.02, published_at=1.13)
    assert diagnostics.policy_status().level is Level.WARN  # this step's prediction was non-finite
    for step in range(2, 6):  # the policy stops producing: fallbacks once the chunk runs out
        diagnostics.record_step(obs, executor.act(step), processing_s=0.2, published_at=1.0 + step / 10)
    status = diagnostics.policy_status()
    assert status.level is Level.ERROR and "fallback action (no chunk)" in status.message
    assert status.values["fallbacks"] == "2" and status.values["steps"] == "6"
    executor.add(np.ones((4, 2), np.float32), step=6)
    diagnostics.record_step(obs, executor.act(6), processing_s=0.2, published_at=1.6)
    status = diagnostics.policy_status()  # processing p50 200 ms > 100 ms period
    assert status.level is Level.WARN and "> period 100.0 ms" in status.message


def test_diagnostic_array_message_carries_every_status():
    sync = Synchronizer(SPEC)
    feed(sync, "camera", 30, 0.0, 1.0)
    statuses = Diagnostics("n", 10).report(sync.states(1.0))
    msg = diagnostic_array_msg(build, statuses, stamp_ns=1_500_000_000)
    assert isinstance(msg, DiagnosticArray) and msg.header.stamp.sec == 1 and msg.header.stamp.nanosec == 5e8
    assert [s.level for s in msg.status] == [s.level.value for s in statuses] == [0, 2, 0]
    camera = msg.status[0]
    assert camera.name == "n: camera" and {kv.key: kv.value for kv in camera.values} == statuses[0].values
    roundtrip = DiagnosticArray.deserialize(msg.serialize())
    assert roundtrip == msg
