"""The deployed loop over DDS on loopback (CYCLONEDDS_URI from tests/conftest.py), with the shipped checkpoint
on ONNX Runtime: the sim bridge and the policy node as separate processes complete episodes exactly as the
in-process evaluation does, and a sensor that goes silent is flagged, reported and recovered from."""

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from fuse_ros.data.record import record_episode
from fuse_ros.envs import make
from fuse_ros.ros.dds import msgs
from fuse_ros.ros.dds.nodes import SimBridgeNode, dds_transport
from fuse_ros.ros.dds.transport import RELIABLE_QOS
from fuse_ros.ros.diagnostics import Level
from fuse_ros.ros.loop_bench import dds_environment, node_command
from fuse_ros.ros.params import PolicyNodeParams, SimBridgeParams
from fuse_ros.ros.policy_core import action_chunk_from_msg, cached_export
from fuse_ros.runtime.actor import RuntimeActor

SEEDS = (1, 2)  # compared episode by episode (the second starts after the first, as on a robot)


def test_bridge_and_policy_processes_match_the_in_process_evaluation(tmp_path):
    out = tmp_path / "loop"
    args = ["target=loop", "transport=dds", "task=button", f"episodes={len(SEEDS)}", f"out={out}"]
    args += [f"loop.seed={SEEDS[0]}", "loop.threads=1"]
    result = subprocess.run(
        [sys.executable, "-m", "fuse_ros.cli.bench", *args], capture_output=True, text=True, timeout=600
    )
    output = result.stdout[-2000:] + result.stderr[-2000:]  # the nodes log steps that went without data
    assert result.returncode == 0, output
    loop = json.loads((out / "loop.json").read_text())

    params = PolicyNodeParams()
    export = cached_export(params.checkpoint_dir())
    actor = RuntimeActor.load("onnxruntime", params.checkpoint_dir(), export, threads=1)
    env = make("button")
    episodes = [record_episode(env, actor, seed=s) for s in SEEDS]
    env.close()

    assert loop["successes"] == [e.succeeded for e in episodes], output
    assert loop["episode_steps"] == [len(e.actions) for e in episodes], output
    assert loop["success_rate"] == np.mean([e.succeeded for e in episodes])
    latency = loop["latency_ms"]
    assert 0 < latency["p50"] <= latency["p99"] and latency["samples"] == sum(loop["episode_steps"])
    assert loop["steps_per_s"] > 0
    assert "episode 1 (seed 2)" in result.stdout and "loop: success" in result.stdout


@pytest.fixture
def policy_process(monkeypatch):
    """A policy node on the wall clock, in its own process and DDS domain (shared with this test)."""
    env = dds_environment()
    monkeypatch.setenv("ROS_DOMAIN_ID", env["ROS_DOMAIN_ID"])
    command = node_command("policy_node", {"threads": 1, "min_staleness_s": 0.25})
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield process
    if process.poll() is None:
        process.terminate()
    process.wait(10)


def stop_at(stop: threading.Event, elapsed, end: float, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while elapsed() < end and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()


def test_a_silent_sensor_is_flagged_and_recovers_while_actions_keep_coming(policy_process):
    drop, back, end = 2.0, 3.5, 5.5  # seconds after the first action
    actions, reports = [], []
    with dds_transport() as dds:
        bridge = SimBridgeNode(
            SimBridgeParams(task="button", lockstep=False, episode_gap_s=0.0),
            dds,
            publish_filter=lambda s: s.spec.name != "tactile_left" or not drop <= elapsed() < back,
        )
        dds.subscribe(
            "/fuse/action",
            msgs.Float32MultiArray,
            lambda m: actions.append((time.monotonic(), action_chunk_from_msg(m)[0])),
            RELIABLE_QOS,
        )
        dds.subscribe("/diagnostics", msgs.DiagnosticArray, lambda m: reports.append((time.monotonic(), m)))
        bridge.wait_for_policy(timeout=300)
        start = [None]

        def elapsed():
            if start[0] is None and actions:
                start[0] = actions[0][0]
            return -1.0 if start[0] is None else time.monotonic() - start[0]

        stop = threading.Event()
        threading.Thread(target=stop_at, args=(stop, elapsed, end)).start()
        bridge.run(stop)
        bridge.core.close()
    assert policy_process.poll() is None, policy_process.stdout.read()[-3000:]

    t0 = start[0]
    times = np.array([t - t0 for t, _ in actions])
    assert all(np.isfinite(a).all() for _, a in actions)
    assert np.diff(times[times < end]).max() < 0.35  # 10 Hz throughout, the silent second too
    assert ((drop < times) & (times < back)).sum() >= 0.7 * (back - drop) * 10

    def tactile_left(message):
        status = next(s for s in message.status if s.name.endswith(": tactile_left"))
        return status.level, {kv.key: kv.value for kv in status.values}

    timeline = [(t - t0, *tactile_left(m)) for t, m in reports]
    bound = 0.25 + 0.1 + 0.2  # staleness bound + one diagnostics period + delivery on a busy machine
    flagged = [t for t, level, values in timeline if t > drop and values["valid"] == "false"]
    assert flagged and flagged[0] < drop + bound, timeline
    assert all(level == Level.ERROR for t, level, values in timeline if drop + bound < t < back)
    recovered = [t for t, level, values in timeline if t > back and values["valid"] == "true"]
    assert recovered and recovered[0] < back + bound, timeline
    assert timeline[-1][2]["valid"] == "true"
    policy_process.send_signal(2)  # SIGINT: a clean shutdown
    assert policy_process.wait(20) == 0
    assert "Traceback" not in policy_process.stdout.read()
