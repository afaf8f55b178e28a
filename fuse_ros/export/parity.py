"""Parity: the exported graph in ONNX Runtime against the policy in PyTorch, on recorded simulator steps.

The torch side is the policy as trained (`torch.stft` audio front end, eager fp32); the ONNX side is the
exported file. Per output: the largest absolute difference and the cosine similarity over the batch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from fuse_ros.export.graph import InferenceGraph
from fuse_ros.export.manifest import PARITY_FILE, ExportError, Manifest
from fuse_ros.export.onnx import load_exported, load_graph
from fuse_ros.runtime.preprocess import Encoder, Preprocessor, stack_feeds

TOLERANCE = 1e-4  # fp32


def recorded_steps(
    task: str, steps: int = 6, seed: int = 0
) -> tuple[list[dict[str, np.ndarray | None]], str]:
    """Raw observations of the first `steps` steps of an expert episode (gym keys; None where a sensor
    did not report), and its instruction."""
    from fuse_ros.data.record import record_episode
    from fuse_ros.envs import make, make_expert

    env = make(task)
    try:
        episode = record_episode(env, make_expert(env), seed=seed, max_steps=steps)
    finally:
        env.close()
    observations = []
    for k in range(episode.steps):
        observation = {key: values[k] for key, values in episode.observations.items()}
        observation.update({name: None for name, valid in episode.valid.items() if not valid[k]})
        observations.append(observation)
    return observations, episode.instruction


def recorded_feeds(
    manifest: Manifest, task: str, steps: int = 6, seed: int = 0, encoder: Encoder | None = None
) -> dict[str, np.ndarray]:
    """A batch of `steps` model feeds built step by step from an expert episode, as a robot loop builds
    them (so the first row has unseen history, and lidar point counts vary from row to row)."""
    observations, instruction = recorded_steps(task, steps, seed)
    pre, rows = Preprocessor(manifest, encoder), []
    for observation in observations:
        pre.push(observation)
        rows.append(pre.feeds(instruction))
    return stack_feeds(rows, manifest)


def compare(reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray]) -> dict[str, dict]:
    """Per output: {"max_abs_err", "cosine"} of the flattened batch."""
    result = {}
    for name, expected in reference.items():
        a, b = expected.astype(np.float64).ravel(), candidate[name].astype(np.float64).ravel()
        norm = np.linalg.norm(a) * np.linalg.norm(b)
        cosine = float(a @ b / norm) if norm > 0 else float(np.array_equal(a, b))
        result[name] = {"max_abs_err": float(np.abs(a - b).max()), "cosine": cosine}
    return result


def torch_outputs(graph: InferenceGraph, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    with torch.inference_mode():
        out = graph({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in feeds.items()})
    return {name: o.numpy() for name, o in zip(graph.output_names, out, strict=True)}


def verify(
    checkpoint: str | Path,
    export: str | Path,
    task: str,
    steps: int = 6,
    encoder: Encoder | None = None,
    tolerance: float = TOLERANCE,
) -> dict[str, dict]:
    """Run both on recorded steps of `task`, write `<export>/parity.json`, raise if any output is off."""
    from fuse_ros.runtime.ort_runtime import OrtRuntime

    path, manifest = load_exported(export)
    reference = load_graph(
        checkpoint, manifest.embodiment, [t.name for t in manifest.outputs], dft_audio=False
    )
    feeds = recorded_feeds(manifest, task, steps, encoder=encoder)
    parity = compare(torch_outputs(reference, feeds), OrtRuntime(export).infer(feeds))
    (Path(export) / PARITY_FILE).write_text(json.dumps(parity, indent=2))
    for name, r in parity.items():
        print(f"parity {name}: max_abs_err {r['max_abs_err']:.3g}, cosine {r['cosine']:.8f}")
    bad = [name for name, r in parity.items() if not r["max_abs_err"] <= tolerance]
    if bad:
        raise ExportError(
            f"{path}: outputs {bad} differ from PyTorch by more than {tolerance} (see {PARITY_FILE})"
        )
    return parity
