"""Policy checkpoints: a folder with config.json (architecture + observation spec) and model.safetensors.

Safetensors only: loading a checkpoint never runs code. `load_policy` rebuilds a saved policy exactly;
`load_weights(..., strict=False)` is FuSe's fine-tuning start: it copies every weight whose name and
shape match onto a policy with new sensors and reports what was loaded, new, dropped or reshaped; the
generation head's rows follow their words, so fine-tuning descriptions with other words keep the shared ones.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from fuse_ros.observation import ModalitySpec, ObservationError, ObservationSpec
from fuse_ros.policy.config import PolicyConfig
from fuse_ros.policy.model import Policy

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "fuse_ros.policy/1"
VOCABULARY = "generation.token_ids"  # one text-encoder token id per row of the rows below
VOCABULARY_ROWS = ("generation.logits.weight", "generation.logits.bias")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the reason."""


def spec_to_json(spec: ObservationSpec) -> list[dict]:
    return [{**asdict(s), "kind": s.kind.value, "shape": list(s.shape)} for s in spec]


def spec_from_json(items: list[dict]) -> ObservationSpec:
    return ObservationSpec.of(*(ModalitySpec(**{**item, "shape": tuple(item["shape"])}) for item in items))


def save_policy(policy: Policy, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write config.json and model.safetensors (floating tensors cast to `dtype` if given, e.g. fp16)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        name: (t.to(dtype) if dtype is not None and t.is_floating_point() else t).detach().cpu().contiguous()
        for name, t in policy.state_dict().items()
    }
    save_file(tensors, folder / WEIGHTS_FILE, metadata={"format": "pt", "fuse_ros": FORMAT})
    config = {"format": FORMAT, "policy": policy.config.to_dict(), "observation": spec_to_json(policy.spec)}
    tmp = folder / f"{CONFIG_FILE}.tmp"
    tmp.write_text(json.dumps(config, indent=2))
    os.replace(tmp, folder / CONFIG_FILE)
    return folder


def read_config(folder: str | Path) -> tuple[PolicyConfig, ObservationSpec]:
    path = Path(folder) / CONFIG_FILE
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: cannot read the policy config ({e})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a fuse_ros policy config (expected format {FORMAT!r})")
    try:
        return PolicyConfig.from_dict(raw["policy"]), spec_from_json(raw["observation"])
    except (KeyError, TypeError, ValueError, ObservationError) as e:
        raise CheckpointError(f"{path}: invalid policy config ({e})") from None


def read_weights(folder: str | Path) -> dict[str, Tensor]:
    path = Path(folder) / WEIGHTS_FILE
    try:
        return load_file(path)
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None


@dataclass
class LoadReport:
    """Which tensors a load copied (`loaded`), left at their fresh initialisation (`new`: not in the
    checkpoint; `mismatched`: same name, other shape) or ignored (`dropped`: not in this policy)."""

    source: str
    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    # where the generation vocabularies differ: (words whose rows came from the checkpoint, words in all)
    words: tuple[int, int] | None = None

    def __str__(self) -> str:
        def grouped(names: list[str]) -> str:
            counts = Counter(".".join(n.split(".")[:2]) for n in names)
            return ", ".join(f"{k} ({v})" for k, v in sorted(counts.items())) or "none"

        lines = [
            f"loaded {len(self.loaded)} tensors from {self.source}",
            f"  new (freshly initialised): {grouped(self.new)}",
            f"  dropped (not in this policy): {grouped(self.dropped)}",
            f"  shape mismatch (kept fresh): {', '.join(self.mismatched) or 'none'}",
        ]
        if self.words:
            lines.append(
                f"  generation vocabulary: {self.words[0]} of {self.words[1]} words from the checkpoint"
            )
        return "\n".join(lines)


def load_weights(policy: Policy, folder: str | Path, strict: bool = True) -> LoadReport:
    """Copy a checkpoint's weights into `policy`. strict: the checkpoint must have been saved from the
    same architecture and observation spec (resume, evaluation); otherwise copy what matches (FuSe)."""
    if strict:
        _require_same_architecture(policy, folder)
    weights = read_weights(folder)
    state = policy.state_dict()
    report = LoadReport(str(folder))
    report.dropped = sorted(set(weights) - set(state))
    if not strict:
        report.words = _align_vocabulary(weights, state)
    for name, target in state.items():
        if name not in weights:
            report.new.append(name)
        elif weights[name].shape != target.shape:
            shapes = f"checkpoint {tuple(weights[name].shape)}, model {tuple(target.shape)}"
            report.mismatched.append(f"{name}: {shapes}")
        else:
            report.loaded.append(name)
    if strict and (report.new or report.dropped or report.mismatched):
        raise CheckpointError(f"{Path(folder) / WEIGHTS_FILE} does not fit its {CONFIG_FILE}:\n{report}")
    with torch.no_grad():
        for name in report.loaded:
            state[name].copy_(weights[name])
    return report


def _align_vocabulary(weights: dict[str, Tensor], state: dict[str, Tensor]) -> tuple[int, int] | None:
    """Re-index the checkpoint's generation rows onto the policy's vocabulary (in place): a word both know
    keeps its trained row, a new word its fresh one. Returns (words kept, words in all) if they differ."""
    if (
        VOCABULARY not in weights
        or VOCABULARY not in state
        or torch.equal(weights[VOCABULARY], state[VOCABULARY])
    ):
        return None
    if any(
        name not in weights or weights[name].shape[1:] != state[name].shape[1:] for name in VOCABULARY_ROWS
    ):
        return None  # another width: nothing to keep (reported as a shape mismatch)
    old, new = weights[VOCABULARY], state[VOCABULARY].cpu()
    shared = torch.isin(new, old)
    old_rows = torch.searchsorted(old, new[shared])  # vocabularies are stored sorted
    for name in VOCABULARY_ROWS:
        aligned = state[name].detach().cpu().clone()
        aligned[shared] = weights[name][old_rows].to(aligned.dtype)
        weights[name] = aligned
    weights[VOCABULARY] = new
    return int(shared.sum()), len(new)


def _require_same_architecture(policy: Policy, folder: str | Path) -> None:
    config, spec = read_config(folder)
    diff = [
        f"{k}: checkpoint {a!r}, policy {b!r}"
        for k, (a, b) in config.architecture_diff(policy.config).items()
    ]
    saved, built = ({m["name"]: {**m, "rate_hz": 0} for m in spec_to_json(s)} for s in (spec, policy.spec))
    changed = sorted(n for n in saved.keys() | built.keys() if saved.get(n) != built.get(n))
    if changed:
        diff.append(f"observation modalities {changed} differ")
    if diff:
        raise CheckpointError(
            f"{folder}: saved from another policy architecture; differences: {'; '.join(diff)}. "
            "Use load_weights(..., strict=False) to copy the matching weights."
        )


def load_policy(folder: str | Path, device: str | torch.device = "cpu") -> Policy:
    """Rebuild a saved policy from its config.json and load its weights exactly."""
    config, spec = read_config(folder)
    policy = Policy(config, spec).to(device)
    load_weights(policy, folder, strict=True)
    return policy.eval()
