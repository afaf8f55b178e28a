"""The sim bridge core on the real manipulation simulator: sensor samples at their own rates, stamped on
simulated time, carrying what the simulator observed, and audio chunks that join back into its window."""

import numpy as np
import pytest

from fuse_ros.data.messages import default_frame_id
from fuse_ros.envs import make
from fuse_ros.ros.bridge_core import NS, SimBridgeCore, sample_msg
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams
from fuse_ros.ros.policy_core import node_spec
from fuse_ros.ros.sync import Synchronizer

STEP_NS = NS // 10  # manipulation runs at 10 Hz


@pytest.fixture(scope="module")
def bridge():
    core = SimBridgeCore(SimBridgeParams(task="button", seed=4, episode_gap_s=1.05))
    yield core
    core.close()


def by_name(samples):
    grouped = {}
    for s in samples:
        grouped.setdefault(s.spec.name, []).append(s)
    return grouped


def test_samples_follow_the_sensor_rates_and_carry_the_simulators_observation(bridge):
    env = make("button")
    obs, _ = env.reset(seed=4)
    instruction, first = bridge.reset()
    assert instruction == obs["instruction"]
    assert {s.stamp_ns for s in first} == {bridge.episode_start_ns}  # one sample per sensor at the start
    assert len(first) == len(bridge.spec.modalities)
    action = np.array([0.5, -0.3, -1.0, 0, 0, 0.2, 1.0], np.float32)
    previous = obs
    for step in range(1, 4):
        obs = env.step(action)[0]
        samples = bridge.step(action)
        stamps = [s.stamp_ns for s in samples]
        assert stamps == sorted(stamps)
        grouped = by_name(samples)
        counts = {name: len(group) for name, group in grouped.items()}
        assert counts == {
            "image_primary": 3,
            "image_wrist": 3,
            "tactile_left": 6,
            "tactile_right": 6,
            "audio": 10,
            "proprio": 1,
        }
        t1 = bridge.episode_start_ns + step * STEP_NS
        for name, group in grouped.items():
            assert group[-1].stamp_ns == t1 and all(t1 - STEP_NS < s.stamp_ns <= t1 for s in group)
            if name != "audio":
                np.testing.assert_array_equal(group[-1].data, obs[name])  # the step's observation
                for held in group[:-1]:  # before it: sample and hold of the previous one
                    np.testing.assert_array_equal(held.data, previous[name])
        previous = obs
    env.close()


def test_audio_chunks_join_back_into_the_simulators_waveform(bridge):
    spec = node_spec(bridge.spec, PolicyNodeParams())
    sync = Synchronizer(spec, reference="image_primary")
    env = make("button")
    obs, _ = env.reset(seed=bridge.params.seed + bridge.episode + 1)
    _, samples = bridge.reset()
    rng = np.random.default_rng(0)
    for _ in range(6):
        for s in samples:
            assert sync.add(s.spec.name, s.data, s.stamp_ns / NS, s.stamp_ns / NS)
        now = bridge.time_ns / NS
        heard = sync.observe(now).readings["audio"]
        assert heard.valid and heard.stamp == now
        np.testing.assert_array_equal(heard.data, obs["audio"])
        action = rng.uniform(-1, 1, 7).astype(np.float32)
        obs = env.step(action)[0]
        samples = bridge.step(action)
    assert np.abs(obs["audio"]).max() > 0  # something was heard, so the comparison means something
    env.close()


def test_episodes_continue_the_clock_after_a_gap_and_are_recorded(bridge):
    bridge.reset()
    end = bridge.time_ns
    while not bridge.done:
        bridge.step(np.zeros(7, np.float32))
    result = bridge.results[-1]
    assert result.seed == bridge.params.seed + bridge.episode and result.steps >= 1
    with pytest.raises(RuntimeError, match="episode is over"):
        bridge.step(np.zeros(7, np.float32))
    _, samples = bridge.reset()
    gap = samples[0].stamp_ns - (end + result.steps * STEP_NS)
    assert gap == 11 * STEP_NS  # 1.05 s rounded up to whole control steps
    with pytest.raises(ValueError, match="finite"):
        bridge.step(np.full(7, np.nan, np.float32))
    with pytest.raises(ValueError, match=r"\(7,\)"):
        bridge.step(np.zeros(3, np.float32))


def test_audio_chunks_must_tile_a_control_step():
    with pytest.raises(ValueError, match=r"audio_chunk_ms=7\.0"):
        SimBridgeCore(SimBridgeParams(task="button", audio_chunk_ms=7.0))


def test_messages_carry_the_stamp_and_the_configured_frame(bridge):
    from fuse_ros.ros.dds.msgs import build

    _, samples = bridge.reset()
    params = SimBridgeParams(frame_ids="image_primary=front_cam_optical")
    for sample in samples:
        msg = sample_msg(build, sample, params.frame_id(sample.spec))
        assert msg.header.stamp.sec * NS + msg.header.stamp.nanosec == sample.stamp_ns
        expected = (
            "front_cam_optical" if sample.spec.name == "image_primary" else default_frame_id(sample.spec)
        )
        assert msg.header.frame_id == expected
