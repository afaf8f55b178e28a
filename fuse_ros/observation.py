"""The one data contract every part shares: simulators, datasets, bags, the model and the ROS nodes.

An `Observation` holds, per modality, an array of a declared dtype and shape, the time it was sensed and
whether it can be trusted. A missing or broken sensor is `valid=False` (its array zero-filled), never an
exception in a running system: the model masks its tokens out. Validation happens at the boundaries
(`ObservationSpec.validate`), with errors that name the modality and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import gymnasium as gym
import numpy as np


class Kind(str, Enum):
    """What a sensor is; decides its preprocessing, tokenizer, ROS message type and language group."""

    IMAGE = "image"  # RGB camera, uint8 (H, W, 3)
    TACTILE = "tactile"  # tactile image from a fingertip taxel grid, uint8 (H, W, 3)
    AUDIO = "audio"  # mono waveform, float32 (samples,)
    LIDAR = "lidar"  # point cloud x, y, z, intensity, float32 (points, 4); points vary up to a maximum
    PROPRIO = "proprio"  # joint / ego state, float32 (D,)

    @property
    def group(self) -> str:
        """The sensing group instructions and descriptions talk about ("visual", "tactile", ...)."""
        return {"image": "visual"}.get(self.value, self.value)


class ObservationError(ValueError):
    """Raised when data does not fit the contract; the message names the modality and the problem."""


@dataclass(frozen=True)
class ModalitySpec:
    """Name, kind, shape and dtype of one sensor stream. `shape[0] is None` marks a variable count
    (lidar points) bounded by `max_len`; `rate_hz` is the nominal sensor rate used for staleness."""

    name: str
    kind: Kind
    shape: tuple[int | None, ...]
    dtype: str
    rate_hz: float
    max_len: int | None = None
    sample_rate: int | None = None  # audio only: samples per second

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "shape", tuple(self.shape))
        if any(d is None for d in self.shape[1:]):
            raise ObservationError(f"{self.name}: only the first dimension may be variable, got {self.shape}")
        if self.shape and self.shape[0] is None and not self.max_len:
            raise ObservationError(f"{self.name}: a variable first dimension needs max_len")
        if self.kind is Kind.AUDIO and not self.sample_rate:
            raise ObservationError(f"{self.name}: audio needs sample_rate")
        if self.rate_hz <= 0:
            raise ObservationError(f"{self.name}: rate_hz must be > 0, got {self.rate_hz}")

    @property
    def max_shape(self) -> tuple[int, ...]:
        """The shape with the variable dimension at its maximum: what fixed-size storage holds."""
        return tuple(self.max_len if d is None else d for d in self.shape)

    def zeros(self) -> np.ndarray:
        """The placeholder for a missing reading (an empty cloud for variable-length streams)."""
        shape = tuple(0 if d is None else d for d in self.shape)
        return np.zeros(shape, self.dtype)

    def validate(self, data: np.ndarray, where: str = "") -> np.ndarray:
        """Check dtype, shape and finiteness; return the array. `where` prefixes the error message."""
        at = f"{where}{self.name}"
        if not isinstance(data, np.ndarray):
            raise ObservationError(f"{at}: expected a numpy array, got {type(data).__name__}")
        if data.dtype != np.dtype(self.dtype):
            raise ObservationError(f"{at}: expected dtype {self.dtype}, got {data.dtype}")
        if data.ndim != len(self.shape) or any(
            d is not None and d != s for d, s in zip(self.shape, data.shape, strict=False)
        ):
            raise ObservationError(f"{at}: expected shape {self.shape}, got {data.shape}")
        if self.shape and self.shape[0] is None and data.shape[0] > self.max_len:
            raise ObservationError(f"{at}: {data.shape[0]} entries exceed max_len={self.max_len}")
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            raise ObservationError(f"{at}: contains NaN or Inf")
        return data

    def space(self) -> gym.spaces.Box:
        """The gymnasium space of the fixed-size array (variable streams are padded to max_len)."""
        dtype = np.dtype(self.dtype)
        if dtype == np.uint8:
            return gym.spaces.Box(0, 255, self.max_shape, np.uint8)
        if self.kind is Kind.AUDIO:  # float audio is full scale at +-1, as in WAV and audio_common
            return gym.spaces.Box(-1.0, 1.0, self.max_shape, dtype)
        return gym.spaces.Box(-np.inf, np.inf, self.max_shape, dtype)


@dataclass
class Reading:
    """One modality's data at one time. `valid=False` means: do not trust `data` (it is zero-filled)."""

    data: np.ndarray
    stamp: float
    valid: bool = True


@dataclass(frozen=True)
class ObservationSpec:
    """The modalities a robot or simulator provides, keyed by name."""

    modalities: Mapping[str, ModalitySpec]

    @classmethod
    def of(cls, *specs: ModalitySpec) -> ObservationSpec:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ObservationError(f"duplicate modality names in {names}")
        return cls({s.name: s for s in specs})

    def __getitem__(self, name: str) -> ModalitySpec:
        try:
            return self.modalities[name]
        except KeyError:
            raise ObservationError(f"unknown modality {name!r}; known: {sorted(self.modalities)}") from None

    def __iter__(self):
        return iter(self.modalities.values())

    def names(self, kind: Kind | None = None) -> list[str]:
        return [s.name for s in self if kind is None or s.kind is Kind(kind)]

    def modalities_for(self, combination: str) -> list[str]:
        """The modalities behind an instruction variant's sensing groups, e.g. "tactile+audio"."""
        groups = set(combination.split("+"))
        return [s.name for s in self if s.kind.group in groups]

    def gym_space(self, instruction_length: int = 256) -> gym.spaces.Dict:
        """The Dict space simulators expose: one Box per modality, `<name>_count` for variable streams,
        and the instruction as Text."""
        spaces: dict[str, gym.spaces.Space] = {}
        for spec in self:
            spaces[spec.name] = spec.space()
            if spec.max_len is not None:
                spaces[f"{spec.name}_count"] = gym.spaces.Box(0, spec.max_len, (), np.int64)
        # min_length=0: the "empty" instruction variant (no language) is a valid observation.
        spaces["instruction"] = gym.spaces.Text(instruction_length, min_length=0, charset=INSTRUCTION_CHARSET)
        return gym.spaces.Dict(spaces)

    def validate(self, obs: Observation, where: str = "") -> Observation:
        """Check every valid reading against its spec; a modality the spec lacks is an error."""
        for name, reading in obs.readings.items():
            spec = self[name]
            if reading.valid:
                spec.validate(reading.data, where)
            if not np.isfinite(reading.stamp):
                raise ObservationError(f"{where}{name}: stamp is not finite ({reading.stamp})")
        return obs

    def observation_from_gym(self, obs: Mapping[str, object], stamp: float) -> Observation:
        """Turn a simulator's observation dict into the contract, trimming padded streams."""
        readings = {}
        for spec in self:
            if spec.name not in obs:
                readings[spec.name] = Reading(spec.zeros(), stamp, valid=False)
                continue
            data = np.asarray(obs[spec.name])
            if spec.max_len is not None:
                data = data[: int(obs[f"{spec.name}_count"])]
            readings[spec.name] = Reading(spec.validate(data, "gym observation "), stamp)
        return Observation(readings, str(obs.get("instruction", "")), stamp)


# Characters an instruction may use (gymnasium's Text space needs an explicit set).
INSTRUCTION_CHARSET = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'-+()/%"
)


@dataclass
class Observation:
    """Everything the policy sees at one control step."""

    readings: dict[str, Reading]
    instruction: str = ""
    stamp: float = 0.0

    def valid_mask(self) -> dict[str, bool]:
        return {name: r.valid for name, r in self.readings.items()}

    def invalidate(self, name: str, spec: ModalitySpec) -> None:
        """Mark a modality missing (dropped sensor, failed conversion) without losing the others."""
        self.readings[name] = Reading(spec.zeros(), self.stamp, valid=False)
