"""The on-disk episode store: a folder per dataset, a folder per episode, a `.npy` file per array.

Why this format:
- `.npy` files open with `np.load(mmap_mode="r")`: a loader reads only the pages it touches, and any tool
  (numpy, a shell) can inspect an episode without this package. No extra dependency, no chunk tuning.
- A folder per episode makes writes atomic: the episode is written into a hidden temporary folder, flushed,
  then renamed into place. Readers never see half an episode; an interrupted run leaves only complete ones
  (and a hidden temporary folder, removed when a dataset is next created there).
- Each episode's `manifest.json` records every file's size and CRC32, so a truncated or corrupted file is
  reported with its path and episode instead of surfacing as garbage during training.
- Audio's rolling windows and lidar's padded clouds are stored compactly (see `streams.py`), losslessly.

Layout::

    <root>/dataset.json                  format version, observation spec, how the data was made
    <root>/stats.json                    normalisation statistics (stats.py)
    <root>/episodes/<name>/manifest.json steps, instruction(s), metadata, arrays and their files
    <root>/episodes/<name>/*.npy         observations.<key>, valid.<modality>, actions, rewards, ...
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fuse_ros.data.streams import pack_ragged, rolling_stream, unpack_ragged, windows_from_stream
from fuse_ros.instructions import Instructions
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

FORMAT = 1
EPISODES = "episodes"
TMP_PREFIX = ".tmp-"


class DatasetError(ValueError):
    """A dataset or episode cannot be read; the message names the file and the episode."""


@dataclass
class Episode:
    """One run of an actor, step-major: step k holds what the actor saw, what it did and what followed."""

    observations: dict[str, np.ndarray]  # gym observation keys (incl. "<name>_count"), stacked: (T, ...)
    valid: dict[str, np.ndarray]  # modality -> (T,) bool; False: do not trust that step's reading
    stamps: np.ndarray  # (T,) float64 seconds of simulator or robot time
    actions: np.ndarray  # (T, A) float32
    rewards: np.ndarray  # (T,) float32
    success: np.ndarray  # (T,) bool, the simulator's verdict after each step
    instruction: str = ""
    instructions: Instructions | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # other per-step arrays (ground truth)
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-able facts: task, seed, variant, ...

    @property
    def steps(self) -> int:
        return len(self.actions)

    @property
    def succeeded(self) -> bool:
        return bool(np.any(self.success))

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array under a flat key ("observations/audio", "actions", ...): what the store writes."""
        flat = {
            "stamps": self.stamps,
            "actions": self.actions,
            "rewards": self.rewards,
            "success": self.success,
        }
        for group in ("observations", "valid", "extras"):
            flat |= {f"{group}/{key}": value for key, value in getattr(self, group).items()}
        return flat


def spec_to_json(spec: ObservationSpec) -> list[dict[str, Any]]:
    return [asdict(m) | {"kind": m.kind.value, "shape": list(m.shape)} for m in spec]


def spec_from_json(items: list[dict[str, Any]]) -> ObservationSpec:
    return ObservationSpec.of(*(ModalitySpec(**item) for item in items))


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never a partial one."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _encode(episode: Episode, spec: ObservationSpec) -> tuple[dict, dict[str, np.ndarray]]:
    """(manifest "arrays" entries, file name -> array to save), choosing the compact form per array."""
    entries: dict[str, dict] = {}
    files: dict[str, np.ndarray] = {}
    for key, array in episode.arrays().items():
        array = np.asarray(array)
        base = key.replace("/", ".")
        group, _, name = key.partition("/")
        entry: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
        counts = episode.observations.get(f"{name}_count") if group == "observations" else None
        modality = spec.modalities.get(name) if group == "observations" else None
        packed = None
        if modality is not None and modality.kind is Kind.AUDIO and array.ndim == 2:
            packed = rolling_stream(array, episode.stamps, modality.sample_rate)
        if counts is not None:
            entry["codec"] = "ragged"
            files[f"{base}.rows.npy"] = pack_ragged(array, counts)
        elif packed is not None:
            entry["codec"] = "rolling"
            files[f"{base}.stream.npy"], files[f"{base}.ends.npy"] = packed
        else:
            entry["codec"] = "plain"
            files[f"{base}.npy"] = array
        entries[key] = entry
    return entries, files


def _decode(key: str, entry: dict, arrays: dict[str, np.ndarray], load) -> np.ndarray:
    """One array from its files; `load(file_name)` opens a file (memory-mapped) and checks it."""
    base = key.replace("/", ".")
    shape = tuple(entry["shape"])
    if entry["codec"] == "plain":
        return load(f"{base}.npy")
    if entry["codec"] == "rolling":
        return windows_from_stream(load(f"{base}.stream.npy"), load(f"{base}.ends.npy"), shape[1])
    if entry["codec"] == "ragged":
        counts = arrays[key + "_count"]
        return unpack_ragged(load(f"{base}.rows.npy"), counts, shape[1])
    raise DatasetError(f"unknown codec {entry['codec']!r} for {key}")


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def _load_checked(path: Path, expected: dict[str, int], verify: bool, where: str) -> np.ndarray:
    """A memory-mapped array whose size (and, if `verify`, CRC32) matches its manifest entry."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing {where}")
    size = path.stat().st_size
    if size != expected["bytes"]:
        raise DatasetError(f"{path}: truncated or resized ({size} of {expected['bytes']} bytes) {where}")
    if verify and _crc32(path) != expected["crc32"]:
        raise DatasetError(f"{path}: corrupt (checksum mismatch) {where}")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise DatasetError(f"{path}: unreadable array {where}: {err}") from None


class EpisodeStore:
    """A dataset folder: create it, write episodes into it atomically, list and load them."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        header = self.root / "dataset.json"
        try:
            self.info: dict[str, Any] = json.loads(header.read_text())
            self.spec = spec_from_json(self.info["spec"])
        except FileNotFoundError:
            raise DatasetError(f"{self.root}: not a dataset (no dataset.json)") from None
        except (ValueError, KeyError, TypeError) as err:
            raise DatasetError(f"{header}: unreadable dataset header ({err})") from None
        if self.info.get("format") != FORMAT:
            raise DatasetError(f"{header}: format {self.info.get('format')}, expected {FORMAT}")

    @classmethod
    def create(
        cls, root: str | Path, spec: ObservationSpec, info: dict[str, Any], overwrite: bool = False
    ) -> EpisodeStore:
        """A new, empty dataset. An existing one is an error unless `overwrite` (then it is removed)."""
        root = Path(root)
        if (root / "dataset.json").exists() or (root / EPISODES).exists():
            if not overwrite:
                raise DatasetError(f"{root}: a dataset exists there; choose another folder or overwrite it")
            for name in ("dataset.json", "stats.json", EPISODES):
                path = root / name
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        (root / EPISODES).mkdir(parents=True, exist_ok=True)
        write_json_atomic(root / "dataset.json", {**info, "format": FORMAT, "spec": spec_to_json(spec)})
        return cls(root)

    def names(self) -> list[str]:
        """Complete episodes, sorted (temporary folders of unfinished writes are not listed)."""
        folder = self.root / EPISODES
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def __len__(self) -> int:
        return len(self.names())

    def __iter__(self) -> Iterator[Episode]:
        return (self.load(name) for name in self.names())

    def write(self, episode: Episode, name: str) -> int:
        """Write an episode atomically under `name`; returns its size in bytes."""
        entries, arrays = _encode(episode, self.spec)
        final = self.root / EPISODES / name
        if final.exists():
            raise DatasetError(f"{final}: episode exists already")
        tmp = final.with_name(f"{TMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
        try:
            files = {}
            for file_name, array in arrays.items():
                buffer = io.BytesIO()
                np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
                data = buffer.getbuffer()
                with open(tmp / file_name, "wb") as f:
                    f.write(data)
                    os.fsync(f.fileno())
                files[file_name] = {"bytes": len(data), "crc32": zlib.crc32(data)}
            manifest = {
                "format": FORMAT,
                "steps": episode.steps,
                "instruction": episode.instruction,
                "instructions": episode.instructions.to_json() if episode.instructions else None,
                "meta": episode.meta,
                "arrays": entries,
                "files": files,
            }
            write_json_atomic(tmp / "manifest.json", manifest)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return sum(f["bytes"] for f in files.values()) + (final / "manifest.json").stat().st_size

    def load(self, name: str, verify: bool = True) -> Episode:
        """Load an episode, memory-mapping its files; sizes are always checked, checksums if `verify`."""
        folder = self.root / EPISODES / name
        where = f"(episode {name} of {self.root})"
        manifest_path = folder / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text())
            files, entries = manifest["files"], manifest["arrays"]
        except FileNotFoundError:
            raise DatasetError(f"{manifest_path}: missing {where}") from None
        except (ValueError, KeyError, TypeError) as err:
            raise DatasetError(f"{manifest_path}: unreadable manifest {where}: {err}") from None

        def load_file(file_name: str) -> np.ndarray:
            if file_name not in files:
                raise DatasetError(f"{folder / file_name}: not in the manifest {where}")
            return _load_checked(folder / file_name, files[file_name], verify, where)

        arrays: dict[str, np.ndarray] = {}
        for key, entry in sorted(entries.items(), key=lambda item: item[1]["codec"] != "plain"):
            arrays[key] = _decode(key, entry, arrays, load_file)
            if list(arrays[key].shape) != entry["shape"]:
                raise DatasetError(
                    f"{folder}: {key} has shape {arrays[key].shape}, manifest says {entry['shape']} {where}"
                )
        groups: dict[str, Any] = {"observations": {}, "valid": {}, "extras": {}}
        instructions = manifest.get("instructions")
        try:
            for key, array in arrays.items():
                group, _, sub = key.partition("/")
                if sub:
                    groups[group][sub] = array
                else:
                    groups[key] = array
            return Episode(
                **groups,
                instruction=manifest.get("instruction", ""),
                instructions=Instructions.from_json(instructions) if instructions else None,
                meta=manifest.get("meta", {}),
            )
        except (KeyError, TypeError) as err:
            raise DatasetError(f"{manifest_path}: arrays do not make an episode ({err}) {where}") from None
