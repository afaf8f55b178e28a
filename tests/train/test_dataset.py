import numpy as np
import pytest
import torch

from fuse_ros.data.episodes import DatasetError, EpisodeStore
from fuse_ros.data.stats import load_stats
from fuse_ros.nn.tokenizers.lidar import bev_cells
from fuse_ros.observation import Kind, ModalitySpec, ObservationSpec
from fuse_ros.policy.normalize import Normalizer
from fuse_ros.train.dataset import WindowDataset, collate, occupancy_grid


def windows(root, spec=None, window=2, chunk=4, **options):
    store = EpisodeStore(root)
    return WindowDataset(root, spec or store.spec, Normalizer.load(root), window, chunk, **options), store


def test_windows_pad_history_and_mask_chunks_past_the_end(dataset):
    data, store = windows(dataset, window=3, chunk=4)
    episodes = [store.load(n) for n in store.names()]
    assert len(data) == sum(e.steps for e in episodes)
    first, last = data[0], data[episodes[0].steps - 1]
    assert first["valid"]["audio"].tolist() == [False, False, True]
    assert not first["action_mask"][:2].any() and first["action_mask"][2].all()
    assert last["action_mask"][-1].tolist() == [True, False, False, False]
    stats = load_stats(dataset)["actions"]
    raw = episodes[0].actions[0]
    expected = (raw - np.array(stats.mean)) / np.maximum(stats.std, 1e-3)
    np.testing.assert_allclose(first["actions"][2, 0].numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(
        first["observations"]["image_primary"][2], episodes[0].observations["image_primary"][0]
    )


def test_the_instruction_is_the_one_the_demonstration_followed(dataset):
    data, store = windows(dataset, relabel=False)
    episode = store.load(store.names()[0])
    language = episode.instructions
    samples = [data[i] for i in range(episode.steps)]
    valid = {v for v, ok in language.valid.items() if ok}
    assert {s["variants"] for s in samples} == {episode.meta["variant"]}
    for s in samples:
        texts = language.variants.get(s["variants"], ())
        assert s["instructions"] in texts or (s["instructions"] == "" and not texts)
    assert set(samples[0]["variant_texts"]) == valid - {"empty"}
    assert samples[0]["descriptions"] == language.descriptions
    batch = collate(samples[:3])
    assert batch.actions.shape == (3, 2, 4, 7) and batch.valid["audio"].shape == (3, 2)


def test_relabelling_draws_only_variants_the_demonstration_also_shows(dataset):
    data, _ = windows(dataset, relabel=True)
    recorded = data.episodes[0].meta["variant"]
    other = "audio" if recorded == "simple" else "simple"
    steps = data.episodes[0].steps
    data.episodes[0].meta["same_plan"] = f"{recorded},{other}"  # as if the expert acted alike under both
    drawn = [data[i]["variants"] for data.epoch in range(4) for i in range(steps)]
    assert set(drawn) == {recorded, other}
    held, _ = windows(dataset, held_out=[other], relabel=True)
    held.episodes[0].meta["same_plan"] = f"{recorded},{other}"
    assert {held[i]["variants"] for i in range(steps)} == {recorded}  # zero-shot stays zero-shot


def test_episodes_without_a_recorded_variant_draw_uniformly_from_the_valid_ones(dataset):
    data, store = windows(dataset)
    episode = store.load(store.names()[0])
    data.episodes[0].meta.pop("variant")
    valid = {v for v, ok in episode.instructions.valid.items() if ok}
    drawn = {data[i]["variants"] for i in range(episode.steps)}
    assert drawn <= valid and len(drawn) >= 2


def test_a_modality_the_data_lacks_is_masked(dataset):
    store = EpisodeStore(dataset)
    lidar = ModalitySpec("lidar", Kind.LIDAR, (None, 4), "float32", 10, max_len=32)
    spec = ObservationSpec.of(store.spec["image_primary"], lidar)
    with pytest.warns(UserWarning, match="lidar"):
        data, _ = windows(dataset, spec)
    sample = data[3]
    assert not sample["valid"]["lidar"].any() and sample["valid"]["image_primary"].all()
    assert (
        sample["observations"]["lidar"].shape == (2, 32, 4)
        and sample["observations"]["lidar_count"].sum() == 0
    )


def test_nan_in_the_data_names_the_modality_and_episode(dataset, tmp_path):
    store = EpisodeStore(dataset)
    episode = store.load(store.names()[0])
    episode.observations = {k: np.array(v) for k, v in episode.observations.items()}
    episode.observations["proprio"][4, 2] = np.nan
    broken = EpisodeStore.create(tmp_path / "broken", store.spec, store.info)
    broken.write(episode, "episode_bad")
    (tmp_path / "broken" / "stats.json").write_bytes((dataset / "stats.json").read_bytes())
    data, _ = windows(tmp_path / "broken")
    data[3]  # before the NaN
    with pytest.raises(DatasetError, match=r"proprio of .*episode_bad: NaN or Inf at step 4"):
        data[4]


def test_occupancy_grid_resamples_ground_truth_into_the_policys_bev_cells():
    """A hand-made 1 m grid over +-4 m: each occupied cell lands in the 2 m cell (over +-2 m) that
    `bev_cells` gives for its centre; what lies outside the policy's extent is dropped."""
    classes = np.zeros((8, 8), np.uint8)
    classes[5, 2] = 3  # centre x = 1.5 m, y = -1.5 m
    classes[0, 7] = 1  # centre x = -3.5 m: outside +-2 m
    out = occupancy_grid(classes[None], source_extent=4.0, extent=2.0, cells=2)
    assert out.shape == (1, 2, 2) and out.dtype == np.float32
    cell, inside = bev_cells(torch.tensor([[1.5, -1.5], [-3.5, 3.5]]), 2.0, 2)
    assert inside.tolist() == [True, False]
    expected = np.zeros((2, 2), np.float32)
    expected[tuple(cell[0].tolist())] = 1.0
    assert np.array_equal(out[0], expected)
    coarse = occupancy_grid(classes, source_extent=4.0, extent=4.0, cells=2)  # 4 m cells, all inside
    assert coarse.tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_held_out_variants_are_never_acted_on_but_stay_in_the_contrastive_texts(dataset):
    full, store = windows(dataset)
    recorded = [e.meta["variant"] for e in full.episodes]
    held = WindowDataset(dataset, store.spec, Normalizer.load(dataset), held_out=[recorded[0]])
    assert len(held.episodes) == sum(v != recorded[0] for v in recorded) < len(full.episodes)
    assert all(held[i]["variants"] != recorded[0] for i in range(len(held)))
    kept = full.names.index(held.names[0])
    first = sum(e.steps for e in full.episodes[:kept])
    assert held[0]["variant_texts"] == full[first]["variant_texts"]  # the contrastive texts stay whole
    with pytest.raises(DatasetError, match="no episodes once the variants"):
        WindowDataset(dataset, store.spec, Normalizer.load(dataset), held_out=sorted(set(recorded)))
    with pytest.raises(DatasetError, match="cannot hold out \\['tactlie'\\]"):
        WindowDataset(dataset, store.spec, Normalizer.load(dataset), held_out=["tactlie"])


def test_the_blocked_path_label_needs_driving_boxes_and_speeds(dataset):
    store = EpisodeStore(dataset)  # manipulation: no boxes
    with pytest.raises(DatasetError, match=r"no object boxes and speeds .*'boxes_speed'.* this version"):
        WindowDataset(dataset, store.spec, Normalizer.load(dataset), blocked=True)
