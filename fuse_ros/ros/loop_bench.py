"""`fuse-bench target=loop`: the closed loop as deployed, measured. The sim bridge and the policy node run as
separate processes (the `fuse_sim_bridge` and `fuse_policy_node` executables, `--transport dds`) on a DDS
domain of their own, confined to loopback; the bridge runs in lockstep, so success does not depend on the
machine's load, and measures sensor-to-action latency on the wall clock (from publishing the first sample
of a step to receiving the action that answers it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fuse_ros.paths import share_dir

LOOP_FILE = "loop.json"
TRANSPORTS = ("dds",)
RUN_NODE = "import sys; from fuse_ros.ros.executables import {0}; {0}(sys.argv[1:])"


@dataclass(frozen=True)
class LoopConfig:
    task: str
    episodes: int
    out: Path
    scenario: str = ""  # driving: the simulator's own task (lane_keep, ...); "": drawn per episode
    checkpoint: str = ""  # "" : the shipped model
    backend: str = "onnxruntime"
    export: str = ""
    threads: int = 0
    execute_steps: int = 2  # receding horizon: 1 runs the model at every step
    seed: int = 0
    camera_hz: float = 30.0
    tactile_hz: float = 60.0
    audio_chunk_ms: float = 10.0
    lidar_hz: float = 10.0
    timeout_s: float = 1800.0
    transport: str = "dds"

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(
                f"transport={self.transport}: the loop benchmark runs over {TRANSPORTS} (rclpy is not "
                "installed here; with ROS 2, time the nodes from `ros2 launch` instead)"
            )
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")


def dds_environment() -> dict[str, str]:
    """This process's environment with a DDS domain of its own (so concurrent runs do not answer each
    other's sensors) and, unless one is set, the shipped loopback-only DDS configuration."""
    env = dict(os.environ)
    env.setdefault("CYCLONEDDS_URI", (share_dir() / "launch" / "cyclonedds_loopback.xml").as_uri())
    env["ROS_DOMAIN_ID"] = str(100 + os.getpid() % 100)
    return env


def control_rate_hz(task: str) -> float:
    """The simulator's control rate: the policy node steps at it, as the in-process actor does."""
    from fuse_ros.data.record import control_period
    from fuse_ros.envs import make

    env = make(task)
    try:
        return 1.0 / control_period(env)
    finally:
        env.close()


def node_command(executable: str, params: dict[str, object]) -> list[str]:
    words = [f"{k}:={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items() if v != ""]
    return [sys.executable, "-c", RUN_NODE.format(executable), "--transport", "dds", *words]


def run_loop(config: LoopConfig) -> dict:
    """Start both nodes, run the episodes, write `<out>/loop.json`; returns its content."""
    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    bridge_report = out / "bridge.json"
    bridge_report.unlink(missing_ok=True)
    rates = {
        "camera_hz": config.camera_hz,
        "tactile_hz": config.tactile_hz,
        "audio_chunk_ms": config.audio_chunk_ms,
        "lidar_hz": config.lidar_hz,
    }
    policy_params = {
        "rate_hz": control_rate_hz(config.task),  # one policy step per simulator step, as in process
        "checkpoint": config.checkpoint,
        "backend": config.backend,
        "export": config.export,
        "threads": config.threads,
        "execute_steps": config.execute_steps,
        "use_sim_time": True,
        **rates,
    }
    bridge_params = {
        "task": config.task,
        "scenario": config.scenario,
        "episodes": config.episodes,
        "seed": config.seed,
        "lockstep": True,
        "report": bridge_report,
        **rates,
    }
    env = dds_environment()
    print(f"loop: {config.task}, {config.episodes} episodes, DDS domain {env['ROS_DOMAIN_ID']}", flush=True)
    start = time.monotonic()
    policy = subprocess.Popen(node_command("policy_node", policy_params), env=env)
    try:
        bridge = subprocess.Popen(node_command("sim_bridge", bridge_params), env=env)
        try:
            _wait(bridge, policy, config.timeout_s)
        finally:
            _stop(bridge)
    finally:
        _stop(policy)
    if not bridge_report.exists():
        raise RuntimeError(f"the sim bridge wrote no report ({bridge_report}); see its output above")
    summary = json.loads(bridge_report.read_text())
    steps = sum(r["steps"] for r in summary["results"])
    report = {
        "task": config.task,
        "transport": config.transport,
        "backend": config.backend,
        "execute_steps": config.execute_steps,
        "checkpoint": config.checkpoint or "(shipped)",
        "episodes": summary["episodes"],
        "success_rate": summary["success_rate"],
        "successes": [r["success"] for r in summary["results"]],
        "episode_steps": [r["steps"] for r in summary["results"]],
        "latency_ms": summary["latency_ms"],
        "policy_steps": steps,
        "steps_per_s": summary["steps_per_s"],  # closed-loop control steps per wall second (lockstep)
        "sensor_rates": rates,
        "cpus": len(os.sched_getaffinity(0)),
        "wall_s": time.monotonic() - start,
    }
    (out / LOOP_FILE).write_text(json.dumps(report, indent=2))
    latency = report["latency_ms"]
    print(
        f"loop: success {report['success_rate']:.2f} over {report['episodes']} episodes; sensor-to-action "
        f"latency p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms ({latency['samples']} steps)",
        flush=True,
    )
    print(f"loop: {out / LOOP_FILE}", flush=True)
    return report


def _wait(bridge: subprocess.Popen, policy: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while bridge.poll() is None:
        if policy.poll() is not None:
            raise RuntimeError(
                f"the policy node exited early (code {policy.returncode}); see its output above"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"the loop did not finish within {timeout:.0f} s")
        time.sleep(0.2)
    if bridge.returncode != 0:
        raise RuntimeError(f"the sim bridge failed (code {bridge.returncode}); see its output above")


def _stop(process: subprocess.Popen) -> None:
    """Interrupt (the nodes shut down cleanly on SIGINT), then kill if that does not do."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
