"""Episodes as ROS 2 bags (rosbag2, MCAP storage) and back, through `rosbags` (no ROS install needed).

Export writes one bag per episode with the message types a robot would record (see `messages.py`), so
the same tools (`ros2 bag play`, Foxglove) replay simulated and real data. Ingest turns a bag recorded on a
robot into an `Episode` of the dataset: a topic mapping (topic -> modality name, or "action" /
"instruction") says which topic feeds what, and every stream is resampled onto the policy's clock by
taking the newest message at or before each step; a message older than the tolerance leaves that step's
reading `valid=False`. Audio chunks are joined into one stream and cut into each step's window.

Simulator-only facts (instructions with all variants, rewards, success, metadata) travel on
`/fuse/episode` as one JSON `String`, so an exported episode comes back whole, except for `extras`
(simulator ground truth such as boxes), which stay in the dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from fuse_ros.data import messages as m
from fuse_ros.data.episodes import Episode
from fuse_ros.data.streams import rolling_stream, windows_from_stream
from fuse_ros.instructions import Instructions
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec

ACTION, INSTRUCTION = "action", "instruction"
ACTION_TOPIC, INSTRUCTION_TOPIC, EPISODE_TOPIC = "/fuse/action", "/fuse/instruction", "/fuse/episode"

# audio_common_msgs (ROS 2 branch of ros-drivers/audio_common); rosbags' stores lack them.
AUDIO_MSG_DEFINITIONS = {
    m.AUDIO_DATA: "uint8[] data\n",
    m.AUDIO: "std_msgs/Header header\naudio_common_msgs/AudioData audio\n",
    m.AUDIO_INFO: "uint8 channels\nuint32 sample_rate\nstring sample_format\nuint32 bitrate\n"
    "string coding_format\n",
}


class BagError(ValueError):
    """A bag cannot be exported or ingested; names the bag and topic."""


@cache
def typestore() -> Typestore:
    """ROS 2 Jazzy message types plus audio_common_msgs."""
    store = get_typestore(Stores.ROS2_JAZZY)
    for name, text in AUDIO_MSG_DEFINITIONS.items():
        store.register(get_types_from_msg(text, name))
    return store


def build(msgtype: str, **fields: Any) -> Any:
    """The `messages.Build` for rosbags: a message object of the typestore."""
    return typestore().types[msgtype](**fields)


def default_topics(spec: ObservationSpec) -> dict[str, str]:
    """topic -> modality name (or "action" / "instruction"): the layout `export_bag` writes."""
    topics = {m.default_topic(s): s.name for s in spec}
    return topics | {ACTION_TOPIC: ACTION, INSTRUCTION_TOPIC: INSTRUCTION}


def _audio_chunks(windows: np.ndarray, stamps: np.ndarray, sample_rate: int) -> list[np.ndarray]:
    """What a microphone would have published: each window's new samples (all of the first window);
    whole windows if the simulator's windows do not roll."""
    rolled = rolling_stream(windows, stamps, sample_rate)
    if rolled is None:
        return list(windows)
    stream, ends = rolled
    return np.split(stream, ends[:-1])


def _messages(episode: Episode, spec: ObservationSpec, topics: Mapping[str, str]) -> Iterator[tuple]:
    """(topic, message, stamp_ns) of an episode in time order; `topics` maps names to topics."""
    stamps = np.round(np.asarray(episode.stamps, np.float64) * 1e9).astype(np.int64)
    yield topics[INSTRUCTION], m.string_msg(build, episode.instruction), stamps[0]
    streams = {}
    for spec_m in spec:
        if spec_m.name in episode.observations and spec_m.name in topics:
            streams[spec_m.name] = episode.observations[spec_m.name]
            if spec_m.kind is Kind.AUDIO:
                streams[spec_m.name] = _audio_chunks(streams[spec_m.name], episode.stamps, spec_m.sample_rate)
                info = m.audio_info_msg(build, m.AudioFormat(spec_m.sample_rate))
                yield topics[spec_m.name] + "_info", info, stamps[0]
    for k, stamp in enumerate(stamps):
        for name, data in streams.items():
            if episode.valid[name][k]:
                yield topics[name], _reading_msg(spec[name], episode, data, k, stamp), stamp
        yield topics[ACTION], m.float_array_msg(build, episode.actions[k], ACTION), stamp
    record = {
        "instructions": episode.instructions.to_json() if episode.instructions else None,
        "meta": episode.meta,
        "rewards": np.asarray(episode.rewards).tolist(),
        "success": np.asarray(episode.success).tolist(),
    }
    yield EPISODE_TOPIC, m.string_msg(build, json.dumps(record)), stamps[-1]


def export_bag(
    episode: Episode, spec: ObservationSpec, path: str | Path, topics: Mapping[str, str] | None = None
) -> Path:
    """Write `episode` as a rosbag2 folder (MCAP) at `path`, atomically; returns the path. `topics`
    (topic -> name, as for ingest) renames topics; names it leaves out keep their default topic."""
    path = Path(path)
    names = {name: topic for topic, name in (default_topics(spec) | dict(topics or {})).items()}
    tmp_parent = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
    tmp_parent.mkdir(parents=True)
    try:
        with Writer(tmp_parent / path.name, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
            connections: dict[str, Any] = {}
            for topic, msg, stamp in _messages(episode, spec, names):
                if topic not in connections:
                    connections[topic] = writer.add_connection(topic, msg.__msgtype__, typestore=typestore())
                writer.write(connections[topic], int(stamp), typestore().serialize_cdr(msg, msg.__msgtype__))
        os.rename(tmp_parent / path.name, path)
    finally:
        shutil.rmtree(tmp_parent, ignore_errors=True)
    return path


def _reading_msg(spec_m: ModalitySpec, episode: Episode, data: Any, k: int, stamp: int) -> Any:
    """The message of one modality at step k (`data`: its stacked readings, or audio chunks)."""
    frame = m.default_frame_id(spec_m)
    if spec_m.kind in (Kind.IMAGE, Kind.TACTILE):
        return m.image_msg(build, data[k], stamp, frame)
    if spec_m.kind is Kind.AUDIO:
        return m.audio_msg(build, data[k], stamp, frame)
    if spec_m.kind is Kind.LIDAR:
        count = int(episode.observations[f"{spec_m.name}_count"][k])
        return m.cloud_msg(build, data[k][:count], stamp, frame)
    names = [f"{spec_m.name}_{i}" for i in range(data.shape[1])]
    return m.joint_state_msg(build, data[k], names, stamp, frame)


def _read(path: Path, topics: Mapping[str, str], spec: ObservationSpec) -> dict[str, list]:
    """topic -> [(stamp_ns, message)] sorted by stamp, for the mapped topics, audio info and the
    episode record. Stamps are header stamps where messages have one, else the bag's log time."""
    audio_info = {
        t + "_info" for t, n in topics.items() if n in spec.modalities and spec[n].kind is Kind.AUDIO
    }
    wanted = set(topics) | audio_info | {EPISODE_TOPIC}
    received: dict[str, list] = {}
    try:
        with AnyReader([path], default_typestore=typestore()) as reader:
            connections = [c for c in reader.connections if c.topic in wanted]
            for connection in connections:
                name = topics.get(connection.topic)
                expected = m.MESSAGE_TYPES[spec[name].kind] if name in spec.modalities else None
                expected = {ACTION: m.FLOAT_ARRAY, INSTRUCTION: m.STRING}.get(name, expected)
                if expected and connection.msgtype != expected:
                    found = connection.msgtype
                    raise BagError(
                        f"{path}: topic {connection.topic} ({name}) carries {found}, expected {expected}"
                    )
            for connection, log_ns, raw in reader.messages(connections=connections):
                msg = reader.deserialize(raw, connection.msgtype)
                stamp = m.stamp_ns(msg) if hasattr(msg, "header") else log_ns
                received.setdefault(connection.topic, []).append((stamp, msg))
    except (AnyReaderError, OSError) as err:
        raise BagError(f"{path}: cannot read bag: {err}") from None
    return {topic: sorted(items, key=lambda item: item[0]) for topic, items in received.items()}


def _newest(stamps: np.ndarray, clock: np.ndarray, tolerance_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per clock tick, the index of the newest message at or before it, and whether it is fresh."""
    index = np.searchsorted(stamps, clock, side="right") - 1
    valid = (index >= 0) & (clock - stamps[np.maximum(index, 0)] <= tolerance_ns)
    return index, valid


def _audio_format(received: dict[str, list], topic: str, spec_m: ModalitySpec, path: Path) -> m.AudioFormat:
    """The format from the stream's AudioInfo (default: mono F32LE at the modality's rate)."""
    info = received.get(f"{topic}_info")
    audio = m.AudioFormat.from_msg(info[0][1]) if info else m.AudioFormat(spec_m.sample_rate)
    if audio.sample_rate != spec_m.sample_rate:
        raise BagError(
            f"{path}: {topic} is sampled at {audio.sample_rate} Hz; {spec_m.name} needs {spec_m.sample_rate}"
        )
    return audio


def _resampled(
    spec_m: ModalitySpec,
    items: list,
    clock: np.ndarray,
    tolerance_ns: int,
    where: str,
    audio: m.AudioFormat | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stacked readings (steps, *max_shape), counts (steps,), valid (steps,)) of one modality."""
    out = np.zeros((len(clock), *spec_m.max_shape), spec_m.dtype)
    counts = np.zeros(len(clock), np.int64)
    if not items:
        return out, counts, np.zeros(len(clock), bool)
    index, valid = _newest(np.array([s for s, _ in items], np.int64), clock, tolerance_ns)
    if spec_m.kind is Kind.AUDIO:
        chunks = [m.audio_from_msg(msg, audio) for _, msg in items]
        ends = np.cumsum([len(c) for c in chunks])
        last_end = np.where(index >= 0, ends[np.maximum(index, 0)], 0)
        windows = windows_from_stream(np.concatenate(chunks), last_end, spec_m.shape[0])
        out[valid] = windows[valid]
        return out, counts, valid
    for k in np.flatnonzero(valid):
        msg = items[index[k]][1]
        if spec_m.kind in (Kind.IMAGE, Kind.TACTILE):
            data = m.image_from_msg(msg)
            if data.shape != spec_m.shape:  # a robot camera at another resolution: fit the dataset
                data = cv2.resize(data, spec_m.shape[1::-1], interpolation=cv2.INTER_AREA)
        elif spec_m.kind is Kind.LIDAR:
            data = m.cloud_from_msg(msg)
        else:
            data = m.joint_state_from_msg(msg)
        data = spec_m.validate(data.astype(spec_m.dtype, copy=False), f"{where} at {clock[k] / 1e9:.3f} s: ")
        out[k, : len(data)] = data
        counts[k] = len(data)
    return out, counts, valid


def _clock(action_stamps: np.ndarray, rate_hz: float | None) -> np.ndarray:
    """Policy steps (ns) from the first to the last action at `rate_hz` (default: the actions' rate)."""
    period = 1e9 / rate_hz if rate_hz else float(np.median(np.diff(action_stamps)))
    steps = int(np.floor((action_stamps[-1] - action_stamps[0]) / period + 1e-6)) + 1
    return action_stamps[0] + np.round(np.arange(steps) * period).astype(np.int64)


def ingest_bag(
    path: str | Path,
    spec: ObservationSpec,
    topics: Mapping[str, str] | None = None,
    rate_hz: float | None = None,
    tolerance_s: float = 0.1,
    success: bool = True,
) -> Episode:
    """An episode from a rosbag2 bag (folder or .mcap file). `topics` maps topic -> modality name or
    "action" / "instruction" (default: the layout `export_bag` writes). Steps run from the first to the
    last action at `rate_hz` (default: the action topic's median rate). Without an episode record,
    rewards are 0 and the episode counts as successful at its last step if `success`."""
    path = Path(path)
    topics = dict(topics or default_topics(spec))
    known = {*spec.modalities, ACTION, INSTRUCTION}
    if unknown := sorted(set(topics.values()) - known):
        raise BagError(f"{path}: topic mapping names unknown modalities {unknown}; known: {sorted(known)}")
    received = _read(path, topics, spec)
    by_name = {name: topic for topic, name in topics.items()}
    action_items = received.get(by_name.get(ACTION, ""), [])
    if len(action_items) < 2:
        raise BagError(f"{path}: need >= 2 messages on the action topic {by_name.get(ACTION)!r}")
    action_stamps = np.array([s for s, _ in action_items], np.int64)
    clock, tolerance_ns = _clock(action_stamps, rate_hz), int(tolerance_s * 1e9)
    index, fresh = _newest(action_stamps, clock, tolerance_ns)
    if not fresh.all():
        gap = clock[np.flatnonzero(~fresh)[0]] / 1e9
        raise BagError(f"{path}: no action within {tolerance_s} s before t={gap:.3f} s; split the bag there")

    observations, valid = {}, {}
    for spec_m in spec:
        topic = by_name.get(spec_m.name, "")
        audio = _audio_format(received, topic, spec_m, path) if spec_m.kind is Kind.AUDIO else None
        items, where = received.get(topic, []), f"{path} {topic}"
        data, counts, valid[spec_m.name] = _resampled(spec_m, items, clock, tolerance_ns, where, audio)
        observations[spec_m.name] = data
        if spec_m.max_len is not None:
            observations[f"{spec_m.name}_count"] = counts

    texts = received.get(by_name.get(INSTRUCTION, ""), [])
    instruction = texts[0][1].data if texts else ""
    record = json.loads(received[EPISODE_TOPIC][-1][1].data) if EPISODE_TOPIC in received else {}
    done = np.arange(len(clock)) == len(clock) - 1 if success else np.zeros(len(clock), bool)
    rewards = np.asarray(record.get("rewards", np.zeros(len(clock))), np.float32)
    success_steps = np.asarray(record.get("success", done), bool)
    if not len(rewards) == len(success_steps) == len(clock):
        raise BagError(f"{path}: episode record has {len(rewards)} steps, the action topic {len(clock)}")
    instructions = record.get("instructions")
    return Episode(
        observations=observations,
        valid=valid,
        stamps=clock / 1e9,
        actions=np.stack([m.float_array_from_msg(action_items[i][1]) for i in index]),
        rewards=rewards,
        success=success_steps,
        instruction=instruction,
        instructions=Instructions.from_json(instructions) if instructions else _plain(instruction),
        meta={**record.get("meta", {}), "source": str(path)},
    )


def _plain(instruction: str) -> Instructions | None:
    return Instructions({"simple": (instruction,)}, {}) if instruction else None
