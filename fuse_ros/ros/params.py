"""The parameters of the two nodes, as plain dataclasses: the rclpy shells declare one ROS parameter per
field (same name, same default), and the DDS executables take the same keys from YAML or `key:=value`.

Every field is a bool, int, float or str so that it maps onto a ROS 2 parameter type one to one.
`use_sim_time` is ROS 2's own parameter: rclpy nodes have it already (do not declare it again); the DDS
shell reads it like any other field and then takes its time from /clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from fuse_ros.observation import Kind, ModalitySpec
from fuse_ros.paths import models_dir

BACKENDS = ("torch", "onnxruntime", "tensorrt")  # fuse_ros.runtime.BACKENDS, whose import pulls in torch
CHUNKING_MODES = ("receding", "ensemble")
DEFAULT_MODEL = "fuse_tiny_manipulation"

P = TypeVar("P", bound="_Params")


@dataclass(frozen=True)
class _Params:
    @classmethod
    def from_mapping(cls: type[P], values: Mapping[str, Any]) -> P:
        """Build from YAML / CLI values; an unknown key is an error naming the known ones."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown parameters {unknown}; known: {sorted(known)}")
        return cls(**{name: _coerce(cls, name, known[name].type, v) for name, v in values.items()})

    def _check(self, name: str, ok: bool, requirement: str) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}.{name} {requirement}, got {getattr(self, name)!r}")


def _coerce(cls: type, name: str, annotation: str, value: Any) -> Any:
    """Accept what YAML and `key:=value` give (an int for a float, "true" for a bool); refuse the rest."""
    kind = {"bool": bool, "int": int, "float": float, "str": str}[annotation]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if kind is bool and text in ("true", "false"):
            return text == "true"
        if kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    raise ValueError(f"{cls.__name__}.{name} must be of type {annotation}, got {value!r}")


@dataclass(frozen=True)
class Topics(_Params):
    """Topic names and frames both nodes share. Sensor topics default to `default_topic(spec)` (e.g.
    /image_primary/image_raw) and frames to `default_frame_id(spec)` (e.g. image_primary_optical_frame);
    `sensor_topics` and `frame_ids` override some: "image_primary=/cam/front/image_raw,..."."""

    sensor_topics: str = ""
    frame_ids: str = ""
    instruction_topic: str = "/fuse/instruction"
    action_topic: str = "/fuse/action"
    clock_topic: str = "/clock"

    def __post_init__(self) -> None:
        self.topic_overrides(), self.frame_overrides()  # validate the format
        for name in ("instruction_topic", "action_topic", "clock_topic"):
            self._check(name, getattr(self, name).startswith("/"), "must be an absolute topic name")

    def _overrides(self, name: str, topics: bool) -> dict[str, str]:
        pairs = [p.strip() for p in getattr(self, name).split(",") if p.strip()]
        bad = [p for p in pairs if p.count("=") != 1 or topics != p.split("=")[1].startswith("/")]
        self._check(name, not bad, "must read 'name=/topic,...'" if topics else "must read 'name=frame,...'")
        return dict(p.split("=") for p in pairs)

    def topic_overrides(self) -> dict[str, str]:
        return self._overrides("sensor_topics", topics=True)

    def frame_overrides(self) -> dict[str, str]:
        return self._overrides("frame_ids", topics=False)

    def sensor_topic(self, spec: ModalitySpec) -> str:
        from fuse_ros.data.messages import default_topic

        return self.topic_overrides().get(spec.name) or default_topic(spec)

    def frame_id(self, spec: ModalitySpec) -> str:
        from fuse_ros.data.messages import default_frame_id

        return self.frame_overrides().get(spec.name) or default_frame_id(spec)


@dataclass(frozen=True)
class SensorRates(Topics):
    """Sensor rates: what the bridge publishes at, and what the policy node expects (staleness bounds,
    rate diagnostics); the checkpoint's nominal rates are the control rate and are not used for these."""

    camera_hz: float = 30.0
    tactile_hz: float = 60.0
    audio_chunk_ms: float = 10.0
    lidar_hz: float = 10.0
    proprio_hz: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("camera_hz", "tactile_hz", "audio_chunk_ms", "lidar_hz", "proprio_hz"):
            self._check(name, getattr(self, name) > 0, "must be > 0")

    def sensor_rate_hz(self, kind: Kind) -> float:
        """Messages per second of a sensor of this kind (audio: chunks per second)."""
        return {
            Kind.IMAGE: self.camera_hz,
            Kind.TACTILE: self.tactile_hz,
            Kind.AUDIO: 1e3 / self.audio_chunk_ms,
            Kind.LIDAR: self.lidar_hz,
            Kind.PROPRIO: self.proprio_hz,
        }[Kind(kind)]


@dataclass(frozen=True)
class PolicyNodeParams(SensorRates):
    """The policy node. checkpoint: a fuse-train run folder, or a model name under models/.
    export: the fuse-export folder for onnxruntime/tensorrt; "" exports once into a cache folder."""

    checkpoint: str = DEFAULT_MODEL
    backend: str = "onnxruntime"
    export: str = ""
    threads: int = 0  # CPU threads for the backend; 0: all this process may use
    rate_hz: float = 10.0  # policy steps per second
    chunking: str = "receding"  # or "ensemble" (temporal ensembling)
    execute_steps: int = 2  # receding horizon: steps run from one chunk before predicting again
    staleness_periods: float = 3.0  # a modality is stale after max(this many periods, min_staleness_s)
    min_staleness_s: float = 0.1
    reference: str = ""  # modality whose stamps define the observation time; "": the first camera
    instruction: str = ""  # "": wait for one on instruction_topic
    reset_after_s: float = 1.0  # no sensor data for this long: start over (new episode, restarted robot)
    max_wait_s: float = 0.1  # with use_sim_time: how long (wall) a due step waits for its sensors' data
    diagnostics_hz: float = 10.0
    use_sim_time: bool = False
    embedding_topic: str = "/fuse/embedding"
    description_topic: str = "/fuse/description"
    diagnostics_topic: str = "/diagnostics"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check("checkpoint", bool(self.checkpoint), "must name a checkpoint folder or model")
        self._check("backend", self.backend in BACKENDS, f"must be one of {BACKENDS}")
        self._check("chunking", self.chunking in CHUNKING_MODES, f"must be one of {CHUNKING_MODES}")
        self._check("threads", self.threads >= 0, "must be >= 0")
        self._check("execute_steps", self.execute_steps >= 1, "must be >= 1")
        for name in ("rate_hz", "diagnostics_hz", "staleness_periods"):
            self._check(name, getattr(self, name) > 0, "must be > 0")
        for name in ("min_staleness_s", "reset_after_s", "max_wait_s"):
            self._check(name, getattr(self, name) >= 0, "must be >= 0")
        for name in ("embedding_topic", "description_topic", "diagnostics_topic"):
            self._check(name, getattr(self, name).startswith("/"), "must be an absolute topic name")

    def checkpoint_dir(self) -> Path:
        """The checkpoint folder: the path itself if it exists, else the model of that name in models/."""
        path = Path(self.checkpoint).expanduser()
        if path.is_dir():
            return path
        shipped = models_dir() / self.checkpoint
        if shipped.is_dir():
            return shipped
        raise FileNotFoundError(f"checkpoint {self.checkpoint!r}: no such folder, nor {shipped}")


@dataclass(frozen=True)
class SimBridgeParams(SensorRates):
    """The simulator bridge. lockstep: the sim waits for the action answering its latest observation
    (stamps are simulated time, /clock is published; results do not depend on machine load); otherwise
    it runs in real time, stamped with the wall clock, applying the latest action it has."""

    task: str = "button"
    scenario: str = ""  # driving: one of the simulator's own tasks (lane_keep, ...); "": drawn per episode
    seed: int = 0
    episodes: int = 0  # 0: run until stopped
    lockstep: bool = True
    action_timeout_s: float = 10.0  # lockstep: give up on an episode after waiting this long (wall)
    episode_gap_s: float = 2.0  # simulated time between episodes, with nothing published
    report: str = ""  # when done, write the run's summary (success, latency) here as JSON

    def __post_init__(self) -> None:
        super().__post_init__()
        from fuse_ros.envs import TASKS

        self._check("task", self.task in TASKS, f"must be one of {sorted(TASKS)}")
        if self.scenario:
            from fuse_ros.envs.driving import TASKS as SCENARIOS

            ok = self.task == "driving" and self.scenario in SCENARIOS
            self._check("scenario", ok, f"needs task 'driving' and one of {sorted(SCENARIOS)}")
        self._check("episodes", self.episodes >= 0, "must be >= 0")
        self._check("action_timeout_s", self.action_timeout_s > 0, "must be > 0")
        self._check("episode_gap_s", self.episode_gap_s >= 0, "must be >= 0")
