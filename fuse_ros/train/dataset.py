"""Training windows over an episode store: what one FuSe training sample is.

A sample is step t of an episode with its history: observations and valid masks of steps t-W+1..t
(steps before the episode began are padded and marked invalid, as Octo does), and for each of those
steps the chunk of the next `chunk` actions (entries past the episode's end are masked). Actions and
proprioception are normalised with the dataset's statistics. The instruction is the one the
demonstration followed (a rephrasing of its recorded variant): the expert acts on what its instruction
reveals (it goes straight for a target it can see, probes one it can only feel), so pairing its actions
with just any other variant would ask the policy to know what it cannot; with `relabel` it is paired with
any variant under which the expert would have done the same (in the dark bin, all of them). Episodes without a
recorded variant draw one uniformly. The canonical texts of all valid variants and the sensed
descriptions come along for the contrastive and generation losses, which is how the other variants
get grounded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from fuse_ros.data.episodes import DatasetError, Episode, EpisodeStore
from fuse_ros.envs.driving.geometry import path_blocked
from fuse_ros.instructions import EMPTY, SIMPLE, Instructions
from fuse_ros.observation import Kind, ObservationSpec
from fuse_ros.policy.normalize import Normalizer

BOX_EXTRAS = frozenset({"boxes", "boxes_count", "boxes_speed"})  # what the blocked-path label is made from


@dataclass
class Batch:
    """A collated batch: tensors (B, W, ...) for the policy, and the language of each row."""

    observations: dict[str, Tensor]  # modality (+ "<lidar>_count") -> (B, W, ...)
    valid: dict[str, Tensor]  # modality -> (B, W) bool
    actions: Tensor  # (B, W, chunk, A) normalised
    action_mask: Tensor  # (B, W, chunk) bool: a real action of a real step
    instructions: list[str]  # the sampled instruction ("" = no language)
    variants: list[str]  # which variant each instruction is
    variant_texts: list[dict[str, str]]  # valid variant -> canonical text (empty variant left out)
    descriptions: list[dict[str, str]]  # sensing combination -> what was sensed
    episodes: list[str]
    occupancy: Tensor | None = None  # (B, W, G, G) 0/1 at the policy's BEV grid (driving ground truth)
    blocked: Tensor | None = None  # (B, W) 0/1: something in the ego's path ahead (driving ground truth)

    def to(self, device: torch.device | str) -> Batch:
        self.observations = {k: v.to(device) for k, v in self.observations.items()}
        self.valid = {k: v.to(device) for k, v in self.valid.items()}
        self.actions, self.action_mask = self.actions.to(device), self.action_mask.to(device)
        if self.occupancy is not None:
            self.occupancy = self.occupancy.to(device)
        if self.blocked is not None:
            self.blocked = self.blocked.to(device)
        return self


def collate(samples: Sequence[dict]) -> Batch:
    stack = lambda key: {k: torch.stack([s[key][k] for s in samples]) for k in samples[0][key]}  # noqa: E731
    return Batch(
        observations=stack("observations"),
        valid=stack("valid"),
        actions=torch.stack([s["actions"] for s in samples]),
        action_mask=torch.stack([s["action_mask"] for s in samples]),
        **{key: [s[key] for s in samples] for key in ("instructions", "variants")},
        **{key: [s[key] for s in samples] for key in ("variant_texts", "descriptions", "episodes")},
        occupancy=torch.stack([s["occupancy"] for s in samples]) if "occupancy" in samples[0] else None,
        blocked=torch.stack([s["blocked"] for s in samples]) if "blocked" in samples[0] else None,
    )


def occupancy_grid(classes: np.ndarray, source_extent: float, extent: float, cells: int) -> np.ndarray:
    """Ground-truth class grids (..., S, S) over +-source_extent metres -> 0/1 occupancy (..., cells,
    cells) over +-extent, in `fuse_ros.nn.tokenizers.bev_cells`' convention (rows x, columns y): a cell
    is occupied when a source cell centred inside it is."""
    size = classes.shape[-1]
    centres = -source_extent + (np.arange(size) + 0.5) * (2.0 * source_extent / size)
    index = np.floor((centres + extent) * (cells / (2.0 * extent))).astype(int)
    inside = (index >= 0) & (index < cells)
    pick = np.zeros((cells, size), np.float32)  # pick[k, i] = 1: source row/column i falls in cell k
    pick[index[inside], np.flatnonzero(inside)] = 1.0
    return (pick @ (classes > 0).astype(np.float32) @ pick.T > 0).astype(np.float32)


def _language(episode: Episode) -> Instructions:
    if episode.instructions is not None:
        return episode.instructions
    return Instructions({SIMPLE: (episode.instruction or "",)}, {})


class WindowDataset(Dataset):
    """Every step of every episode in `root`, as a window for a policy over `spec`'s modalities.

    A modality of `spec` the data lacks is zero-filled and masked invalid (with a warning), so a
    multisensory policy trains on vision-only data; modalities the data has beyond `spec` are ignored.
    `bev` = (extent, cells): each window also carries the occupancy ground truth at that grid.
    `blocked`: each window also carries whether an object blocks the ego's path ahead, per step.
    `held_out`: instruction variants never acted on: their episodes are left out, while their texts stay
    in every other episode's contrastive targets (FuSe's zero-shot test, e.g. ("tactile", "audio")).
    `relabel`: act on a variant drawn uniformly from those whose demonstration is the recorded one
    (the episode's "same_plan", held-out variants left out), as FuSe conditions its action loss on
    any valid variant."""

    def __init__(
        self,
        root: str | Path,
        spec: ObservationSpec,
        normalizer: Normalizer,
        window: int = 2,
        chunk: int = 4,
        seed: int = 0,
        p_rephrase: float = 0.5,
        bev: tuple[float, int] | None = None,
        held_out: Sequence[str] = (),
        blocked: bool = False,
        relabel: bool = False,
    ):
        if window < 2 or chunk < 1:
            raise ValueError(f"window must be >= 2 and chunk >= 1, got window={window}, chunk={chunk}")
        self.store = EpisodeStore(root)
        self.spec, self.normalizer = spec, normalizer
        self.window, self.chunk, self.seed, self.p_rephrase = window, chunk, seed, p_rephrase
        self.bev, self.blocked, self.relabel = bev, blocked, relabel
        self.epoch = 0  # set by the trainer so variants are redrawn every epoch
        self.missing = [m.name for m in spec if m.name not in self.store.spec.modalities]
        for m in spec:
            if m.name in self.store.spec.modalities and self.store.spec[m.name].shape != m.shape:
                got = self.store.spec[m.name].shape
                raise DatasetError(
                    f"{self.store.root}: modality {m.name} has shape {got}, expected {m.shape}"
                )
        if self.missing:
            warnings.warn(
                f"{self.store.root}: no {self.missing} in the data; masked as missing", stacklevel=2
            )
        self.held_out = frozenset(held_out)
        self.names, self.episodes, known = [], [], set()
        for name in self.store.names():
            episode = self.store.load(name)  # memory-mapped, checksums checked
            known |= set(_language(episode).variants)
            if episode.meta.get("variant") not in self.held_out:
                self.names.append(name)
                self.episodes.append(episode)
        if self.held_out - known:
            raise DatasetError(
                f"{self.store.root}: cannot hold out {sorted(self.held_out - known)}; its instruction "
                f"variants are {sorted(known)}"
            )
        if not self.names:
            left = f" once the variants {sorted(self.held_out)} are held out" if self.held_out else ""
            raise DatasetError(f"{self.store.root}: the dataset has no episodes{left}")
        self.index = [(e, t) for e, episode in enumerate(self.episodes) for t in range(episode.steps)]
        if bev and not all({"bev", "bev_extent"} <= set(e.extras) for e in self.episodes):
            raise DatasetError(
                f"{self.store.root}: no BEV ground truth ('bev' and 'bev_extent' per step) for the "
                "occupancy loss: generate driving data with this version of fuse-generate"
            )
        if blocked and not all(set(e.extras) >= BOX_EXTRAS for e in self.episodes):
            raise DatasetError(
                f"{self.store.root}: no object boxes and speeds ({sorted(BOX_EXTRAS)} per step) for "
                "the blocked-path loss: it needs driving data made by this version of fuse-generate"
            )

    def __len__(self) -> int:
        return len(self.index)

    @property
    def action_dim(self) -> int:
        return self.episodes[0].actions.shape[1]

    def __getitem__(self, i: int) -> dict:
        e, t = self.index[i]
        episode, name = self.episodes[e], self.names[e]
        where = f"{self.store.root}/episodes/{name}"
        steps = np.arange(t - self.window + 1, t + 1)  # (W,)
        real = steps >= 0
        rows = np.maximum(steps, 0)
        observations, valid = {}, {}
        for m in self.spec:
            if m.name in self.missing:
                observations[m.name] = np.zeros((self.window, *m.max_shape), m.dtype)
                valid[m.name] = np.zeros(self.window, bool)
            else:
                observations[m.name] = np.asarray(episode.observations[m.name][rows])
                valid[m.name] = np.asarray(episode.valid[m.name][rows], bool) & real
                self._check_finite(observations[m.name], valid[m.name], f"{m.name} of {where}", steps)
            if m.kind is Kind.PROPRIO and m.name in self.normalizer:
                observations[m.name] = self.normalizer.normalize(m.name, observations[m.name])
            if m.max_len is not None:
                counts = episode.observations.get(f"{m.name}_count") if m.name not in self.missing else None
                observations[f"{m.name}_count"] = (
                    np.zeros(self.window, np.int64) if counts is None else counts[rows]
                )
        future = rows[:, None] + np.arange(self.chunk)  # (W, chunk)
        action_mask = real[:, None] & (future < episode.steps)
        actions = np.asarray(episode.actions)[np.minimum(future, episode.steps - 1)]  # (W, chunk, A)
        self._check_finite(actions, action_mask.any(1), f"actions of {where}", steps)
        language = _language(episode)
        rng = np.random.default_rng((self.seed, self.epoch, i))
        variant = episode.meta.get("variant")
        if not language.valid.get(variant, False):
            allowed = [v for v, ok in language.valid.items() if ok and v not in self.held_out]
            variant = str(rng.choice(allowed or [v for v, ok in language.valid.items() if ok]))
        elif self.relabel and episode.meta.get("same_plan"):
            alike = [v for v in episode.meta["same_plan"].split(",") if v not in self.held_out]
            variant = str(rng.choice(alike)) if alike else variant
        sample = {
            "observations": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in observations.items()},
            "valid": {k: torch.from_numpy(v) for k, v in valid.items()},
            "actions": torch.from_numpy(self.normalizer.normalize("actions", actions)),
            "action_mask": torch.from_numpy(action_mask),
            "instructions": language.sample(rng, variant, self.p_rephrase),
            "variants": variant,
            "variant_texts": {v: texts[0] for v, texts in language.variants.items() if texts and v != EMPTY},
            "descriptions": dict(language.descriptions),
            "episodes": name,
        }
        if self.bev:
            extent, cells = self.bev
            source = float(episode.extras["bev_extent"][0])
            sample["occupancy"] = torch.from_numpy(
                occupancy_grid(np.asarray(episode.extras["bev"][rows]), source, extent, cells)
            )
        if self.blocked:
            boxes, counts, speeds = (episode.extras[key] for key in ("boxes", "boxes_count", "boxes_speed"))
            blocked = [path_blocked(boxes[r], int(counts[r]), speeds[r]) for r in rows]
            sample["blocked"] = torch.tensor(blocked, dtype=torch.float32)
        return sample

    @staticmethod
    def _check_finite(x: np.ndarray, valid: np.ndarray, what: str, steps: np.ndarray) -> None:
        if not np.issubdtype(x.dtype, np.floating):
            return
        bad = valid & ~np.isfinite(x.reshape(len(x), -1)).all(1)
        if bad.any():
            raise DatasetError(f"{what}: NaN or Inf at step {int(steps[bad.argmax()])}")
