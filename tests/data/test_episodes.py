import json

import numpy as np
import pytest

from fuse_ros.data.episodes import DatasetError, EpisodeStore


@pytest.fixture
def store(tmp_path, spec):
    return EpisodeStore.create(tmp_path / "ds", spec, {"task": "test"})


def test_episode_round_trips_memory_mapped_and_compact(store, episode, same_episode):
    size = store.write(episode, "episode_000000")
    reopened = EpisodeStore(store.root)
    assert reopened.names() == ["episode_000000"]
    assert reopened.spec == store.spec and reopened.info["task"] == "test"
    loaded = reopened.load("episode_000000")
    same_episode(episode, loaded)
    assert loaded.meta == episode.meta
    assert isinstance(loaded.observations["image_primary"], np.memmap)
    # rolling audio windows and padded clouds are stored without their redundancy
    stacked = sum(np.asarray(a).nbytes for a in episode.arrays().values())
    assert size < 0.5 * stacked
    files = {p.name for p in (store.root / "episodes" / "episode_000000").iterdir()}
    assert {"observations.audio.stream.npy", "observations.lidar.rows.npy"} <= files


def test_a_failed_write_leaves_no_episode(store, episode, monkeypatch):
    calls = []

    def failing_save(file, array, allow_pickle):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return original(file, array, allow_pickle=allow_pickle)

    original = np.save
    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        store.write(episode, "episode_000001")
    assert store.names() == []
    assert list((store.root / "episodes").iterdir()) == []


def test_an_interrupted_write_is_invisible_and_cleaned_on_create(store, episode, spec):
    store.write(episode, "episode_000000")
    partial = store.root / "episodes" / ".tmp-episode_000001-dead"  # what a killed writer leaves
    partial.mkdir()
    (partial / "actions.npy").write_bytes(b"\x93NUMPY")
    assert store.names() == ["episode_000000"]
    EpisodeStore.create(store.root, spec, {}, overwrite=True)
    assert not partial.exists()


def test_truncated_file_is_reported_with_file_and_episode(store, episode):
    store.write(episode, "episode_000004")
    path = store.root / "episodes" / "episode_000004" / "observations.image_primary.npy"
    path.write_bytes(path.read_bytes()[:-10])
    for verify in (True, False):
        with pytest.raises(
            DatasetError, match=r"observations\.image_primary\.npy: truncated.*episode_000004"
        ):
            store.load("episode_000004", verify=verify)


def test_corrupt_file_is_reported_by_its_checksum(store, episode):
    store.write(episode, "episode_000002")
    path = store.root / "episodes" / "episode_000002" / "actions.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"actions\.npy: corrupt.*episode_000002"):
        store.load("episode_000002")


def test_broken_manifest_and_missing_dataset_are_named(store, episode, tmp_path):
    store.write(episode, "episode_000003")
    manifest = store.root / "episodes" / "episode_000003" / "manifest.json"
    manifest.write_text(manifest.read_text()[:50])
    with pytest.raises(DatasetError, match=r"manifest\.json: unreadable manifest.*episode_000003"):
        store.load("episode_000003")
    with pytest.raises(DatasetError, match="not a dataset"):
        EpisodeStore(tmp_path / "nowhere")


def test_existing_dataset_is_kept_unless_overwritten(store, episode, spec):
    store.write(episode, "episode_000000")
    with pytest.raises(DatasetError, match="a dataset exists"):
        EpisodeStore.create(store.root, spec, {})
    with pytest.raises(DatasetError, match="exists already"):
        store.write(episode, "episode_000000")
    assert len(EpisodeStore.create(store.root, spec, {}, overwrite=True)) == 0


def test_manifest_is_small_and_readable(store, episode):
    store.write(episode, "episode_000000")
    manifest = json.loads((store.root / "episodes" / "episode_000000" / "manifest.json").read_text())
    assert manifest["steps"] == episode.steps
    assert manifest["arrays"]["observations/audio"]["codec"] == "rolling"
    assert all({"bytes", "crc32"} <= set(f) for f in manifest["files"].values())
