"""The policy node's core with the shipped checkpoint on ONNX Runtime, fed ROS messages from the sim bridge
core: the same actions as the in-process actor, missing sensors flagged and reported, bad messages
dropped, and never a non-finite action."""

import time

import numpy as np
import pytest

from fuse_ros.data import messages
from fuse_ros.data.record import record_episode
from fuse_ros.envs import make
from fuse_ros.ros.bridge_core import NS, SimBridgeCore, sample_msg
from fuse_ros.ros.dds.msgs import build
from fuse_ros.ros.diagnostics import Level
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams
from fuse_ros.ros.policy_core import PolicyCore, action_chunk_from_msg, action_chunk_msg
from fuse_ros.runtime.actor import RuntimeActor


@pytest.fixture(scope="module")
def core():
    core = PolicyCore(PolicyNodeParams(threads=1))
    core.configure()
    core.activate()
    return core


def feed(core, samples, keep=lambda sample: True):
    for s in samples:
        if keep(s):
            assert core.on_message(s.spec.name, sample_msg(build, s), s.stamp_ns / NS)


def statuses(core, now):
    core._next_report = None  # a report now, whatever the diagnostics rate
    return {s.hardware_id or "policy": s for s in core.report(now)}


def test_lockstep_steps_act_like_the_in_process_actor(core):
    """Seeds 1 and 2, eight steps each: the second episode starts after a silent gap, so the core must
    start over (fresh history and chunks) to match an actor that is reset."""
    steps, seeds = 8, (1, 2)
    actor = RuntimeActor(core.actor.runtime, core.language.encode, core.actor.executor.config)
    env = make("button")
    expected = [record_episode(env, actor, seed=s, max_steps=steps).actions for s in seeds]
    env.close()

    bridge = SimBridgeCore(SimBridgeParams(task="button", seed=seeds[0]))
    core.reset()
    described = []
    for episode in expected:
        instruction, samples = bridge.reset()
        core.on_instruction(instruction)
        feed(core, samples)
        for want in episode:
            now = bridge.time_ns / NS
            assert core.due(now) and not core.awaiting(now) and not core.holds(now, sim_time=True)
            out = core.tick(now)
            assert out.stamp == now and all(out.valid.values()) and out.action.valid
            np.testing.assert_allclose(out.action.value, want, atol=1e-5)
            assert out.chunk.shape[1] == 7 and np.array_equal(out.chunk[0], out.action.value)
            if out.embedding is not None:  # the steps that ran the model (receding horizon: every 2nd)
                assert np.isfinite(out.embedding).all() and isinstance(out.description, str)
                described.append(out.step)
            feed(core, bridge.step(out.action.value))
    assert described == [0, 2, 4, 6] * 2
    bridge.close()


def test_a_simulated_time_step_waits_for_its_data_but_not_forever(core):
    bridge = SimBridgeCore(SimBridgeParams(task="button", seed=3))
    core.reset()
    instruction, samples = bridge.reset()
    core.on_instruction(instruction)
    feed(core, samples, keep=lambda s: s.spec.name != "audio")  # the step's audio is late
    now = bridge.time_ns / NS
    assert core.awaiting(now) == ["audio"]
    assert core.holds(now, sim_time=True) and not core.holds(now, sim_time=False)
    time.sleep(core.params.max_wait_s)
    assert not core.holds(now, sim_time=True)  # gone ahead without it
    bridge.close()


def test_a_silent_sensor_is_flagged_reported_and_recovers(core):
    """Simulated time: tactile_left stops for 1 s; each step still acts, with it invalid; /diagnostics
    says ERROR once its data is older than the staleness bound, and OK again when it is back."""
    bridge = SimBridgeCore(SimBridgeParams(task="button", seed=5))
    core.reset()
    instruction, samples = bridge.reset()
    core.on_instruction(instruction)
    feed(core, samples)
    bound = core.timings["tactile_left"].max_age
    silent_from, silent_until = 0.5, 1.5

    def silent(sample):
        return silent_from < (sample.stamp_ns - bridge.episode_start_ns) / NS < silent_until

    seen = []
    for _ in range(22):
        now = (bridge.time_ns - bridge.episode_start_ns) / NS
        out = core.tick(bridge.time_ns / NS)
        status = statuses(core, bridge.time_ns / NS)["tactile_left"]
        seen.append((now, out.valid["tactile_left"], status.level, status.values["valid"]))
        assert np.isfinite(out.action.value).all() and out.action.valid
        assert all(v for name, v in out.valid.items() if name != "tactile_left")
        still = np.zeros_like(out.action.value)  # the robot holds still: the episode outlasts the test
        feed(core, bridge.step(still), keep=lambda s: s.spec.name != "tactile_left" or not silent(s))
    for now, valid, level, flag in seen:
        dead = silent_from + bound < now < silent_until
        assert valid is not dead and (level is Level.ERROR) is dead and flag == str(not dead).lower(), now
    bridge.close()


@pytest.mark.parametrize(
    "name, make_msg, error",
    [
        (
            "image_primary",
            lambda: messages.image_msg(build, np.zeros((32, 32, 3), np.uint8), 10, "f"),
            "shape",
        ),
        (
            "image_wrist",
            lambda: build(messages.IMAGE, height=64, width=64, encoding="yuv422", step=128),
            "yuv",
        ),
        (
            "tactile_left",
            lambda: build(messages.IMAGE, height=32, width=32, encoding="rgb8", step=96),
            "reshape",
        ),
        ("proprio", lambda: messages.joint_state_msg(build, np.full(7, np.nan), [], 10, "f"), "NaN"),
        ("audio", lambda: messages.audio_msg(build, np.full(160, np.inf, np.float32), 10, "f"), "NaN"),
        ("proprio", lambda: build(messages.STRING, data="not a joint state"), "position"),
    ],
)
def test_bad_messages_are_dropped_counted_and_reported(core, name, make_msg, error):
    core.reset()
    core.on_instruction("press the red button")
    before = int(statuses(core, 0.0)[name].values["rejected"])
    assert core.on_message(name, make_msg(), 0.0) is False
    status = statuses(core, 0.0)[name]
    assert int(status.values["rejected"]) == before + 1
    assert status.level is Level.ERROR and error in status.message
    out = core.tick(0.0)  # nothing usable at all: still a finite action, all modalities invalid
    assert np.isfinite(out.action.value).all() and not any(out.valid.values())


def test_no_step_without_an_instruction_or_anyone_listening(core):
    core.reset()
    core.instruction = None
    assert core.tick(0.0) is None
    core.on_instruction("")  # the empty instruction is a task too: act without language
    core.listeners = set()
    assert core.tick(0.0) is None
    core.listeners = {"actions"}
    out = core.tick(0.1)
    assert out is not None and out.embedding is None and out.description is None
    core.listeners = {"actions", "embedding", "description"}


def test_action_chunks_carry_the_stamp_they_answer():
    chunk = np.arange(21, dtype=np.float32).reshape(3, 7) / 7
    back, stamp = action_chunk_from_msg(action_chunk_msg(build, chunk, 12_300_000_001))
    np.testing.assert_array_equal(back, chunk)
    assert stamp == 12_300_000_001
    with pytest.raises(ValueError, match="not an action chunk"):
        action_chunk_from_msg(messages.float_array_msg(build, np.zeros(7), "embedding"))


def test_a_simulated_time_step_waits_for_every_live_sensor_however_late(core):
    """Data one control period old is not dead: were it so (the staleness bound of a 30 Hz camera is one
    10 Hz step), a step whose clock arrived before its images would run without cameras. The lockstep
    loop diverged from the in-process evaluation this way on a busy machine."""
    bridge = SimBridgeCore(SimBridgeParams(task="button", seed=4))
    core.reset()
    instruction, samples = bridge.reset()
    core.on_instruction(instruction)
    feed(core, samples)
    late = [name for name in core.spec.names() if name != "proprio"]
    for step in range(12):
        samples = bridge.step(core.tick(bridge.time_ns / NS).action.value)
        feed(core, samples, keep=lambda s: s.spec.name == "proprio")  # the clock came before the rest
        assert core.awaiting(bridge.time_ns / NS) == late, f"step {step}"
        feed(core, samples, keep=lambda s: s.spec.name != "proprio")
    bridge.close()
