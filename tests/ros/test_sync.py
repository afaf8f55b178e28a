"""Buffers, alignment, staleness and validity: what the policy node's observation is made of."""

import numpy as np
import pytest

from fuse_ros.observation import Kind, ModalitySpec, ObservationError, ObservationSpec
from fuse_ros.ros.sync import StampedBuffer, Synchronizer, Timing

CAMERA = ModalitySpec("camera", Kind.IMAGE, (4, 4, 3), "uint8", rate_hz=30)
LIDAR = ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", rate_hz=10, max_len=8)
AUDIO = ModalitySpec("audio", Kind.AUDIO, (8,), "float32", rate_hz=100, sample_rate=400)  # 4-sample chunks
PROPRIO = ModalitySpec("proprio", Kind.PROPRIO, (3,), "float32", rate_hz=100)
SPEC = ObservationSpec.of(CAMERA, LIDAR, AUDIO, PROPRIO)


def image(value: int) -> np.ndarray:
    return np.full((4, 4, 3), value, np.uint8)


def cloud(n: int, value: float = 1.0) -> np.ndarray:
    return np.full((n, 4), value, np.float32)


def test_default_timing_is_three_periods_but_at_least_100_ms():
    assert Timing.default(CAMERA).max_age == pytest.approx(0.1)  # 3 / 30 Hz = 0.1
    assert Timing.default(LIDAR).max_age == pytest.approx(0.3)  # 3 / 10 Hz
    assert Timing.default(PROPRIO).max_age == pytest.approx(0.1)  # 3 / 100 Hz = 0.03 -> floor
    assert Timing.default(LIDAR, periods=5, min_age=0.0).max_age == pytest.approx(0.5)
    assert Timing.default(LIDAR).timeout == pytest.approx(0.1)  # one period
    with pytest.raises(ValueError, match="max_age"):
        Timing(slop=0.1, timeout=0.1, max_age=-1)


def test_buffer_orders_by_stamp_replaces_duplicates_and_drops_oldest():
    buffer = StampedBuffer(capacity=3)
    for stamp in (0.2, 0.1, 0.3):  # out of order arrival
        buffer.add(np.array([stamp]), stamp)
    buffer.add(np.array([9.0]), 0.2)  # same stamp again replaces
    assert [buffer.reading(i).data[0] for i in range(3)] == [0.1, 9.0, 0.3]
    buffer.add(np.array([0.4]), 0.4)
    assert len(buffer) == 3 and buffer.stamp(0) == 0.2 and buffer.latest_stamp() == 0.4
    assert buffer.stamp(buffer.nearest(0.26)) == 0.3
    assert buffer.stamp(buffer.nearest(0.25)) == 0.3  # tie goes to the newer reading
    assert buffer.stamp(buffer.nearest(-5.0)) == 0.2 and buffer.stamp(buffer.nearest(5.0)) == 0.4


def test_observation_has_every_modality_missing_ones_invalid_and_zero_filled():
    sync = Synchronizer(SPEC)
    assert sync.add("camera", image(7), stamp=1.0, now=1.0)
    obs = sync.observe(now=1.01, instruction="pick")
    assert set(obs.readings) == set(SPEC.modalities) and obs.instruction == "pick"
    assert obs.valid_mask() == {"camera": True, "lidar": False, "audio": False, "proprio": False}
    assert obs.readings["camera"].data[0, 0, 0] == 7 and obs.readings["camera"].stamp == 1.0
    assert obs.readings["lidar"].data.shape == (0, 4)
    SPEC.validate(obs)  # the result is always a valid contract instance
    reasons = {s.name: s.reason for s in sync.states(now=1.01)}
    assert reasons == {"camera": "ok", "lidar": "missing", "audio": "missing", "proprio": "missing"}


def test_alignment_picks_the_reading_nearest_the_reference_within_slop():
    timings = {"lidar": Timing(slop=0.02, timeout=0.1, max_age=0.5)}
    sync = Synchronizer(SPEC, timings, reference="camera")
    sync.add("lidar", cloud(2, 1.0), stamp=1.00, now=1.0)
    sync.add("lidar", cloud(2, 2.0), stamp=1.10, now=1.1)
    sync.add("camera", image(1), stamp=1.09, now=1.12)
    obs = sync.observe(now=1.12)
    assert obs.stamp == 1.09  # the reference modality's newest stamp
    assert obs.readings["lidar"].valid and obs.readings["lidar"].stamp == 1.10
    sync.add("camera", image(2), stamp=1.05, now=1.13)  # late frame does not move the reference back
    assert sync.observe(now=1.13).stamp == 1.09
    sync.add("camera", image(3), stamp=1.16, now=1.17)  # 60 ms from the nearest scan: beyond its 20 ms slop
    obs = sync.observe(now=1.17)
    assert not obs.readings["lidar"].valid
    assert {s.name: s.reason for s in sync.states(now=1.17)}["lidar"] == "unaligned"


def test_pending_waits_for_an_aligned_reading_at_most_the_timeout():
    tight = Timing(slop=0.001, timeout=0.05, max_age=0.3)
    spec = ObservationSpec.of(CAMERA, LIDAR)
    sync = Synchronizer(spec, {"lidar": tight}, reference="camera")
    assert sync.pending(now=1.0) == []  # no reference yet: nothing to wait for
    sync.add("camera", image(1), stamp=1.0, now=1.01)
    assert sync.pending(now=1.01) == ["lidar"]
    assert sync.pending(now=1.049) == ["lidar"]
    assert sync.pending(now=1.051) == []  # timed out: publish without it
    sync.add("lidar", cloud(3), stamp=1.0, now=1.02)
    assert sync.pending(now=1.02) == [] and sync.observe(now=1.02).readings["lidar"].valid


def test_stale_within_the_bound_then_recovers_after_a_dropout():
    sync = Synchronizer(SPEC, reference="camera")
    step = 1 / 30
    for k in range(10):  # 30 Hz camera, 100 Hz proprio up to t = 0.3
        sync.add("camera", image(k), stamp=k * step, now=k * step + 0.005)
    for k in range(31):
        sync.add("proprio", np.full(3, k, np.float32), stamp=k / 100, now=k / 100 + 0.002)
    assert sync.observe(now=0.31).readings["proprio"].valid
    # proprio stops at 0.30: valid through its 100 ms bound, invalid right after, at every policy tick
    bound = Timing.default(PROPRIO).max_age
    valid = {}
    for tick in np.arange(0.31, 0.6, 0.01):
        sync.add("camera", image(1), stamp=tick - 0.005, now=tick)  # the camera keeps going
        valid[round(tick, 2)] = sync.observe(now=tick).readings["proprio"].valid
    assert all(v for t, v in valid.items() if t - 0.30 <= bound - 0.01)
    assert not any(v for t, v in valid.items() if t - 0.30 > bound + 0.01)
    state = {s.name: s for s in sync.states(now=0.59)}["proprio"]
    assert state.reason == "stale" and state.age == pytest.approx(0.29)
    assert {s.name: s for s in sync.states(now=1.31)}["proprio"].rate_hz == 0.0  # one window of silence
    # the sensor comes back: valid again at the next observation
    sync.add("proprio", np.full(3, 99, np.float32), stamp=0.6, now=0.601)
    sync.add("camera", image(2), stamp=0.6, now=0.601)
    obs = sync.observe(now=0.602)
    assert obs.readings["proprio"].valid and obs.readings["proprio"].data[0] == 99


def test_stale_reference_falls_back_to_now():
    sync = Synchronizer(SPEC, reference="camera")
    sync.add("camera", image(1), stamp=1.0, now=1.0)
    sync.add("proprio", np.zeros(3, np.float32), stamp=2.0, now=2.0)
    obs = sync.observe(now=2.01)
    assert obs.stamp == 2.01 and not obs.readings["camera"].valid and obs.readings["proprio"].valid


def test_audio_chunks_join_into_the_spec_window_zero_padded_at_start():
    sync = Synchronizer(SPEC)
    sync.add("audio", np.array([1, 2, 3, 4], np.float32), stamp=0.01, now=0.01)
    first = sync.observe(now=0.011).readings["audio"]
    np.testing.assert_array_equal(first.data, [0, 0, 0, 0, 1, 2, 3, 4])
    sync.add("audio", np.array([5, 6, 7, 8], np.float32), stamp=0.02, now=0.02)
    sync.add("audio", np.array([9, 10], np.float32), stamp=0.03, now=0.03)
    window = sync.observe(now=0.031).readings["audio"]
    np.testing.assert_array_equal(window.data, [3, 4, 5, 6, 7, 8, 9, 10])
    assert window.stamp == 0.03 and window.valid
    SPEC.validate(sync.observe(now=0.031))


def test_bad_messages_are_dropped_and_counted_not_raised():
    sync = Synchronizer(SPEC)
    assert not sync.add("camera", np.zeros((4, 4, 3), np.float32), stamp=1.0, now=1.0)
    assert not sync.add("lidar", cloud(9), stamp=1.0, now=1.0)  # more than max_len points
    assert not sync.add("audio", np.array([np.nan], np.float32), stamp=1.0, now=1.0)
    assert not sync.add("proprio", np.zeros(3, np.float32), stamp=float("nan"), now=1.0)
    states = {s.name: s for s in sync.states(now=1.0)}
    assert states["camera"].rejected == 1 and "expected dtype uint8" in states["camera"].error
    assert "exceed max_len" in states["lidar"].error and "NaN" in states["audio"].error
    assert not any(s.valid for s in states.values())
    with pytest.raises(ObservationError, match="unknown modality 'radar'"):
        sync.add("radar", cloud(1), stamp=1.0, now=1.0)
    with pytest.raises(ObservationError, match="radar"):
        Synchronizer(SPEC, reference="radar")


def test_rate_is_measured_from_arrivals():
    sync = Synchronizer(SPEC)
    for k in range(31):
        sync.add("camera", image(0), stamp=k / 30, now=k / 30)
    state = {s.name: s for s in sync.states(now=1.0)}["camera"]
    assert state.rate_hz == pytest.approx(30, rel=0.05) and state.received == 31
